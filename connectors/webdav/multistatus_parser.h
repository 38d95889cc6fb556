#pragma once
// Parses a WebDAV 207 Multi-Status body (RFC 4918) from PROPFIND into resources. Untrusted input:
// libxml2 reads it with no network access, no entity substitution and no DTD (a document with a
// DOCTYPE is refused). Only properties inside a propstat whose status is 200 are taken.
// Stateless; thread-safe.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "server/core/clock.h"
#include "server/core/status.h"

namespace sendflow::connectors {

struct DavResource {
  std::string href;  // percent-decoded path (scheme and host removed when the href is a URL)
  bool is_collection = false;
  std::int64_t size = -1;
  std::string content_type;
  core::TimePoint last_modified{};
  bool has_last_modified = false;
  std::string etag;
  // Properties in `property_namespace`, by local name, as text.
  std::map<std::string, std::string> properties;
};

// kInvalidArgument naming `what` (the request) and libxml2's line and message for bad XML.
core::StatusOr<std::vector<DavResource>> parseMultistatus(const std::string& xml,
                                                          const std::string& property_namespace,
                                                          const std::string& what);

// A column name as an XML local name: characters not allowed in a name become '_'.
std::string propertyLocalName(const std::string& column);

// Escapes &, <, >, " and ' for XML text and attributes.
std::string xmlEscape(const std::string& text);

}  // namespace sendflow::connectors
