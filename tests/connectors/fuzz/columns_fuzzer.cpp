// libFuzzer target: SharePoint and Graph list-item JSON, and folder sidecars, are untrusted input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "connectors/connector/field_mapping.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json columns = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (columns.is_discarded()) return 0;
  static const sendflow::connectors::FieldMapping mapping;
  auto metadata = mapping.read(columns);
  if (metadata.isOk()) {
    auto again = mapping.read(mapping.write(*metadata));  // what we publish reads back the same
    if (!again.isOk() || !(*again == *metadata)) __builtin_trap();
  }
  (void)sendflow::connectors::columnsAsText(columns);
  return 0;
}
