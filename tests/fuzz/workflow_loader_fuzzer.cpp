// Feeds arbitrary bytes to DefinitionLoader::loadString: it must report problems, never crash,
// hang or leak, and a file it accepts must have no problems.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/engine/definition_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  sendflow::engine::LoaderOptions options;
  options.known_actions = {"noop.record", "sample.select"};
  const sendflow::engine::LoadResult result =
      sendflow::engine::DefinitionLoader::loadString(text, "fuzz.xml", options);
  if (result.isOk() != result.problems.empty()) std::abort();
  return 0;
}
