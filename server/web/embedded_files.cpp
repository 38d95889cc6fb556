#include "server/web/embedded_files.h"

namespace sendflow::web {

const EmbeddedFile* embeddedFile(std::string_view name) {
  for (const EmbeddedFile& file : embeddedFiles()) {
    if (file.name == name) return &file;
  }
  return nullptr;
}

}  // namespace sendflow::web
