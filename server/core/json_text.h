#pragma once
// The one way JSON text becomes a value in sendflow: request bodies, stored rows read back,
// configuration and data files, answers from the intranet and the identity provider. Nothing
// else calls nlohmann::json::parse.
//
// Why one entry point: a value nested 100,000 deep parses (nlohmann's parser keeps its own
// stack) but copying or dumping it recurses once per level and overflows the thread's stack, so
// the depth has to be refused while parsing, everywhere. Duplicate keys are refused because
// "last one wins" lets a body say one thing to a reader and another to the service.
//
// Thread-safe (pure functions).

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "server/core/status.h"

namespace sendflow::core {

struct JsonLimits {
  // Arrays and objects inside one another: `1` is 0 deep, `[]` 1, `{"a": [1]}` 2.
  std::size_t max_depth = 64;
  // The length of the text in bytes (request bodies are held to http.max_body before this; the
  // connectors' answers to their 32 MB transport limit).
  std::size_t max_bytes = 32 * 1024 * 1024;
};

// For JSON the service wrote itself and reads back (store rows: instance data and state, task
// results, history). Deeper than the defaults because an accepted request body is stored a few
// levels down (a task's result inside instance data, inside a for-each frame of the state), and
// still far from what a thread's stack cannot take.
inline constexpr JsonLimits kStoredJsonLimits{256, 256 * 1024 * 1024};

// Parses `text` as exactly one JSON value (RFC 8259), whitespace around it allowed.
//
// Returns kInvalidArgument, never throws, for: empty text; a syntax error; text after the
// value; a string that is not valid UTF-8; a number out of the range of a double (1e400); more
// than `limits.max_depth` levels of nesting; more than `limits.max_bytes` bytes; an object with
// the same key twice, at any depth. The message names the line and column (1-based, columns in
// bytes) and, when the problem is inside the value, the path to it, in one shape:
//   "line 1, column 25: duplicate key 'workflow'"
//   "input.reference[0]: line 1, column 40: more than 64 levels of nesting"
// Callers add what the text is ("body: ", the file name) with Status::withContext.
StatusOr<nlohmann::json> parseJsonText(std::string_view text, const JsonLimits& limits = {});

// A JSON column of a stored row (instance data and state, a task's subject or result, a history
// entry's detail, a kept state value), read with kStoredJsonLimits. The service wrote the text
// itself, so text that does not parse is corruption rather than a caller's mistake: kInternal,
// the message naming `what` ("instance 6a97...: data: line 1, column 5: ..."). Empty text gives
// `if_empty` (columns that are empty until something is stored, like a task's result).
StatusOr<nlohmann::json> parseStoredJson(std::string_view text, std::string_view what,
                                         nlohmann::json if_empty = nullptr);

}  // namespace sendflow::core
