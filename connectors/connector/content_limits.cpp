#include "connectors/connector/content_limits.h"

#include <algorithm>
#include <cctype>

namespace sendflow::connectors {

bool ContentLimits::acceptsType(const std::string& content_type) const {
  if (content_types.empty()) return true;
  const std::string base = content_type.substr(0, content_type.find(';'));
  return std::find(content_types.begin(), content_types.end(), base) != content_types.end();
}

core::Status ContentLimits::check(const Item& item) const {
  if (item.size > max_bytes) {
    return core::resourceExhausted(item.path + ": " + std::to_string(item.size) +
                                   " bytes is more than the limit of " + std::to_string(max_bytes) +
                                   " (connector.limits.max_bytes)");
  }
  if (!acceptsType(item.content_type)) {
    return core::invalidArgument(item.path + ": content type '" + item.content_type +
                                 "' is not accepted (connector.limits.content_types)");
  }
  return core::Status::ok();
}

std::string contentTypeForName(const std::string& name) {
  const auto dot = name.rfind('.');
  std::string ext = dot == std::string::npos ? "" : name.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == "docx")
    return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
  if (ext == "odt") return "application/vnd.oasis.opendocument.text";
  if (ext == "pdf") return "application/pdf";
  if (ext == "xlsx") return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  if (ext == "doc") return "application/msword";
  if (ext == "txt") return "text/plain";
  if (ext == "json") return "application/json";
  if (ext == "html" || ext == "htm") return "text/html";
  return "application/octet-stream";
}

core::StatusOr<std::int64_t> ContentLimits::publishLength(std::istream& content,
                                                          const std::string& what) const {
  const std::streampos begin = content.tellg();
  content.seekg(0, std::ios::end);
  const std::streampos end = content.tellg();
  content.seekg(begin);
  if (begin == std::streampos(-1) || end == std::streampos(-1)) {
    return core::invalidArgument(what + ": the content stream must be seekable");
  }
  const std::int64_t length = static_cast<std::int64_t>(end - begin);
  if (length > max_bytes) {
    return core::resourceExhausted(what + ": " + std::to_string(length) +
                                   " bytes is more than connector.limits.max_bytes");
  }
  return length;
}

}  // namespace sendflow::connectors
