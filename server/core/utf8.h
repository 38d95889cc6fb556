#pragma once
// Checking and repairing UTF-8 (RFC 3629): shortest forms only, no surrogates (U+D800 to
// U+DFFF), nothing above U+10FFFF. Text from clients (form fields, query parameters, headers)
// is checked here before it becomes JSON or goes into a page; JSON strings parsed by
// core::parseJsonText are valid already. Thread-safe (pure functions).

#include <string>
#include <string_view>

namespace sendflow::core {

// True when every byte of `text` belongs to a well-formed UTF-8 sequence (empty text is valid).
bool isValidUtf8(std::string_view text);

// `text` with each ill-formed sequence (its maximal subpart, at least one byte) replaced by
// U+FFFD, Unicode's recommended practice. Valid text comes back unchanged.
std::string validUtf8(std::string_view text);

}  // namespace sendflow::core
