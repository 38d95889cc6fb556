// libFuzzer target: a WebDAV server's PROPFIND answer is untrusted input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "connectors/webdav/multistatus_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string xml(reinterpret_cast<const char*>(data), size);
  auto resources = sendflow::connectors::parseMultistatus(xml, "urn:x-sendflow:metadata", "fuzz");
  if (resources.isOk()) {
    for (const auto& r : *resources) (void)r.properties.size();
  }
  return 0;
}
