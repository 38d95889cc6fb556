#pragma once
// Pictures and native charts made from data while a template renders: the markup that goes in
// the part, and the new package entries, relationships and manifest lines they need. One
// RenderedMedia belongs to one render() call; nothing here is shared.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/core/status.h"
#include "server/docgen/template.h"

namespace sendflow::docgen {

struct MediaPart {
  std::string name;  // "word/media/sf_image1.png", "Object sf1/content.xml"
  std::string bytes;
  bool store = false;  // already compressed (PNG, JPEG): do not deflate again
};

struct RenderedMedia {
  std::vector<MediaPart> parts;
  // DOCX: relationships to add, by the part that refers to them: {id, type, target}.
  std::map<std::string, std::vector<std::array<std::string, 3>>> relationships;
  std::map<std::string, std::string> content_defaults;        // DOCX: extension -> content type
  std::map<std::string, std::string> content_overrides;       // DOCX: "/word/charts/x.xml" -> type
  std::vector<std::pair<std::string, std::string>> manifest;  // ODT: path -> media type
  int next_id = 1;
};

// Appends the markup for a picture to `out` (inside a DOCX <w:t> or ODT paragraph text).
// `value` is a data URI, base64 text, a path inside `resource_dir`, or an object
// {"data"|"path", "width_mm", "height_mm", "description"}. A missing or null value renders
// nothing. kInvalidArgument names `where` for bad data.
core::Status renderImage(const nlohmann::json* value, const std::string& where,
                         const std::string& part, DocumentFormat format,
                         const std::filesystem::path& resource_dir, RenderedMedia& media,
                         std::string& out);

// Appends a native chart: {"type": "bar"|"stacked-bar"|"line", "title", "categories": [...],
// "series": [{"name", "values": [...]}], "target": {"label", "value"}, "width_mm",
// "height_mm"}. A missing or null value renders nothing.
core::Status renderChart(const nlohmann::json* value, const std::string& where,
                         const std::string& part, DocumentFormat format, RenderedMedia& media,
                         std::string& out);

// Decodes base64 (whitespace ignored); false when it is not base64.
bool decodeBase64(std::string_view text, std::string& out);

}  // namespace sendflow::docgen
