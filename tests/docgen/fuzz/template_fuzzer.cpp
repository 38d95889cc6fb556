// libFuzzer target for templates from users. The first byte picks the input's role:
//  even: the rest is a whole package (zip) given to Template::loadBytes;
//  odd:  the rest is word/document.xml of an otherwise valid DOCX.
// Whatever loads without problems is rendered with fixed data, and every rendered XML part must
// parse again: a crash, a sanitizer report or ill-formed output is a finding.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <libxml/parser.h>
#include <nlohmann/json.hpp>

#include "server/archive/zip_reader.h"
#include "server/archive/zip_writer.h"
#include "server/docgen/template.h"

namespace {

std::string docxWith(const std::string& document) {
  sendflow::archive::ZipWriter zip(1);
  (void)zip.add("[Content_Types].xml",
                "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>");
  (void)zip.add("word/document.xml", document);
  auto bytes = zip.close();
  return bytes.isOk() ? *bytes : std::string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  sendflow::docgen::TemplateOptions options;
  options.limits.max_total_size = 8u << 20;
  auto t =
      sendflow::docgen::Template::loadBytes((data[0] & 1) ? docxWith(rest) : rest, "fuzz", options);
  if (!t.isOk() || !t->problems().empty()) return 0;
  static const nlohmann::json kData = {
      {"name", "A & <B> \xF0\x9F\x98\x80"},
      {"flag", true},
      {"x", nullptr},
      {"rows", {{{"n", 1}, {"name", "one\ntwo"}}, {{"n", 2}}}},
      {"items", {"- a", "b"}},
      {"date", "2026-03-04"},
      {"rate", 0.5},
      {"c", {{"categories", {"a", "b"}}, {"series", {{{"name", "s"}, {"values", {1, 2}}}}}}}};
  auto out = t->render(kData);
  if (!out.isOk()) return 0;
  auto reader = sendflow::archive::ZipReader::openBuffer(*out, "rendered");
  if (!reader.isOk()) std::abort();
  for (const auto& entry : reader->entries()) {
    if (entry.name.size() < 4 || entry.name.compare(entry.name.size() - 4, 4, ".xml") != 0)
      continue;
    auto part = reader->read(entry.name);
    if (!part.isOk()) std::abort();
    xmlDocPtr doc = xmlReadMemory(part->data(), static_cast<int>(part->size()), "part", nullptr,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == nullptr) std::abort();  // rendered output must always be well-formed
    xmlFreeDoc(doc);
  }
  return 0;
}
