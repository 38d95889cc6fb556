#pragma once
// Limits on what a connector accepts from the intranet: a maximum document size and the content
// types sendflow can read. Items outside them are reported as ItemProblems at listing time and
// refused while downloading. Value type; thread-safe for reading.

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "connectors/connector/document_source.h"
#include "server/core/status.h"

namespace sendflow::connectors {

struct ContentLimits {
  std::int64_t max_bytes = 256LL * 1024 * 1024;
  // Accepted MIME types; empty accepts any.
  std::vector<std::string> content_types = {
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      "application/vnd.oasis.opendocument.text", "application/pdf"};

  // OK, or kResourceExhausted (too large) / kInvalidArgument (type not accepted) naming the item.
  core::Status check(const Item& item) const;
  bool acceptsType(const std::string& content_type) const;

  // The number of bytes left in `content` from its current position, which stays where it was.
  // kInvalidArgument when the stream cannot seek, kResourceExhausted above max_bytes; messages
  // start with `what` ("webdav connector: publish plan.docx").
  core::StatusOr<std::int64_t> publishLength(std::istream& content, const std::string& what) const;
};

// The MIME type for a file name's extension ("application/octet-stream" when unknown).
std::string contentTypeForName(const std::string& name);

}  // namespace sendflow::connectors
