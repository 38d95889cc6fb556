// Mutated templates (a deterministic stand-in for fuzzing, run under the sanitizer build too):
// whatever a template holds, load() and render() return a value or an error, never crash, and
// every part of every rendered document is well-formed XML.
#include <gtest/gtest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "server/archive/zip_reader.h"
#include "server/docgen/template.h"
#include "tests/docgen/package_builder.h"

namespace sendflow::docgen {
namespace {

using nlohmann::json;
using testing::makeDocx;
using testing::makeOdt;
using testing::XmlView;

const char* kFragments[] = {"{{",
                            "}}",
                            "{{#rows}}",
                            "{{/rows}}",
                            "{{^flag}}",
                            "{{/flag}}",
                            "{{name}}",
                            "{{.}}",
                            "{{> part}}",
                            "{{image x}}",
                            "{{chart c}}",
                            "{{toc}}",
                            "{{page-break}}",
                            "{{a | date}}",
                            "}",
                            "{",
                            "<",
                            "&amp;",
                            "</w:t>",
                            "\xF0\x9F\x98",
                            "{{#rows}}{{/flag}}",
                            "{{{name}}}",
                            "{{! c }}",
                            "\n",
                            "{{rows.0.n}}"};

void checkEveryPartWellFormed(const std::string& package) {
  auto reader = archive::ZipReader::openBuffer(package, "out");
  ASSERT_TRUE(reader.isOk()) << reader.status().toString();
  for (const auto& entry : reader->entries()) {
    const bool xml = entry.name.size() > 4 && (entry.name.substr(entry.name.size() - 4) == ".xml" ||
                                               entry.name.substr(entry.name.size() - 5) == ".rels");
    if (!xml) continue;
    auto part = reader->read(entry.name);
    ASSERT_TRUE(part.isOk());
    EXPECT_TRUE(XmlView(*part).wellFormed()) << entry.name << "\n" << *part;
  }
}

void mutateAndRender(bool docx) {
  const std::string base =
      docx ? "<w:p><w:r><w:t>Hello {{name}}</w:t></w:r><w:r><w:t>{{#rows}}x</w:t></w:r></w:p>"
             "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>{{n}}{{/rows}}</w:t></w:r></w:p></w:tc></w:tr></"
             "w:tbl>"
             "<w:p><w:r><w:t>{{^flag}}none{{/flag}}</w:t></w:r></w:p>"
           : "<text:p>Hello {{name}}<text:span>{{#rows}}x</text:span></text:p><table:table>"
             "<table:table-row><table:table-cell><text:p>{{n}}{{/rows}}</text:p></table:table-cell>"
             "</table:table-row></table:table><text:p>{{^flag}}none{{/flag}}</text:p>";
  const json data = {{"name", "A & <B>"},
                     {"flag", false},
                     {"rows", {{{"n", 1}}, {{"n", "two\nlines"}}}},
                     {"c", {{"categories", {"a"}}, {"series", {{{"values", {1}}}}}}}};
  std::mt19937 random(docx ? 1234 : 5678);
  int rendered = 0;
  for (int i = 0; i < 1000; ++i) {
    std::string body = base;
    const int edits = 1 + static_cast<int>(random() % 2);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = random() % (body.size() + 1);
      body.insert(at, kFragments[random() % (sizeof kFragments / sizeof *kFragments)]);
    }
    auto t = Template::loadBytes(docx ? makeDocx(body) : makeOdt(body), "mutant");
    if (!t.isOk() || !t->problems().empty()) continue;
    auto out = t->render(data);
    if (!out.isOk()) continue;
    ++rendered;
    checkEveryPartWellFormed(*out);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "body: " << body;
      return;
    }
  }
  EXPECT_GT(rendered, 30);  // most mutations break the XML; enough must still render
}

TEST(TemplateRobustnessTest, MutatedDocxTemplatesNeverBreakTheOutput) { mutateAndRender(true); }
TEST(TemplateRobustnessTest, MutatedOdtTemplatesNeverBreakTheOutput) { mutateAndRender(false); }

}  // namespace
}  // namespace sendflow::docgen
