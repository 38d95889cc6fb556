#pragma once
// The web part's templates and assets, embedded into the binary at build time (CMake runs
// embed_files.cmake over server/web/templates and server/web/assets), so a deployment is one
// executable. Names are paths relative to server/web: "templates/layout.mustache",
// "assets/sendflow.css".
//
// Immutable; thread-safe.

#include <span>
#include <string_view>

namespace sendflow::web {

struct EmbeddedFile {
  std::string_view name;
  std::string_view content;
  std::string_view sha256;  // hex SHA-256 of the content
};

// Every embedded file, in the order CMake listed them.
std::span<const EmbeddedFile> embeddedFiles();

// The file called `name`, or nullptr.
const EmbeddedFile* embeddedFile(std::string_view name);

}  // namespace sendflow::web
