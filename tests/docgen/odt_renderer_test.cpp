#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "server/docgen/template.h"
#include "tests/docgen/package_builder.h"

namespace sendflow::docgen {
namespace {

using nlohmann::json;
using testing::kOdtNs;
using testing::makeOdt;
using testing::readPart;
using testing::XmlView;

std::string para(const std::string& inner, const std::string& style = "Standard") {
  return "<text:p text:style-name=\"" + style + "\">" + inner + "</text:p>";
}
std::string cell(const std::string& inner) {
  return "<table:table-cell office:value-type=\"string\">" + para(inner) + "</table:table-cell>";
}

class OdtRendererTest : public ::testing::Test {
 protected:
  std::string render(const std::string& body, const json& data,
                     std::map<std::string, std::string> parts = {}) {
    auto t = Template::loadBytes(makeOdt(body, std::move(parts)), "test.odt");
    EXPECT_TRUE(t.isOk()) << t.status().toString();
    if (!t.isOk()) return "";
    EXPECT_EQ(t->format(), DocumentFormat::kOdt);
    for (const auto& problem : t->problems()) ADD_FAILURE() << problem.toString();
    auto out = t->render(data);
    EXPECT_TRUE(out.isOk()) << out.status().toString();
    if (!out.isOk()) return "";
    last_ = *out;
    const std::string xml = readPart(*out, "content.xml");
    EXPECT_TRUE(XmlView(xml).wellFormed()) << xml;
    return xml;
  }
  std::string last_;
};

TEST_F(OdtRendererTest, MergesTagSplitAcrossSpans) {
  const std::string xml = render(para("Theme: <text:span text:style-name=\"T1\">{{th</text:span>"
                                      "<text:bookmark text:name=\"b\"/>eme}} done"),
                                 {{"theme", "Transition"}});
  XmlView v(xml);
  EXPECT_EQ(v.text("//text:p"), "Theme: Transition done");
  EXPECT_EQ(v.count("//text:span[@text:style-name='T1' and .='Transition']"), 1);
}

TEST_F(OdtRendererTest, InlineSectionEndingInsideASpanIsSplitCleanly) {
  const std::string body = para(
      "Grades: {{#grades}}{{.}}<text:span text:style-name=\"T1\">, {{/grades}}end</text:span>");
  for (const json& grades : {json::array(), json{"Good", "RI"}}) {
    const std::string xml = render(body, {{"grades", grades}});
    ASSERT_TRUE(XmlView(xml).wellFormed()) << xml;
    EXPECT_EQ(XmlView(xml).text("//text:p"),
              grades.empty() ? "Grades: end" : "Grades: Good, RI, end");
  }
}

TEST_F(OdtRendererTest, RepeatsTableRowForEachItem) {
  const std::string body =
      "<table:table table:name=\"M\"><table:table-column/>"
      "<table:table-row>" +
      cell("Moderator") + cell("Service") +
      "</table:table-row>"
      "<table:table-row>" +
      cell("{{#moderators}}{{name}}") + cell("{{service}}{{/moderators}}") +
      "</table:table-row></table:table>";
  XmlView v(render(
      body, {{"moderators",
              {{{"name", "A"}, {"service", "Health"}}, {{"name", "B"}, {"service", "Care"}}}}}));
  EXPECT_EQ(v.count("//table:table-row"), 3);
  EXPECT_EQ(v.texts("//table:table-row[3]/table:table-cell"),
            (std::vector<std::string>{"B", "Care"}));
}

TEST_F(OdtRendererTest, FalseConditionRemovesParagraphsAndListItems) {
  const std::string body = para("Intro") + para("{{#worries}}") + para("Worry: {{.}}") +
                           para("{{/worries}}") + "<text:list><text:list-item>" +
                           para("{{#extra}}") +
                           "</text:list-item>"
                           "<text:list-item>" +
                           para("Extra") + "</text:list-item><text:list-item>" +
                           para("{{/extra}}") + "</text:list-item></text:list>" + para("End");
  XmlView none(render(body, {{"worries", json::array()}, {"extra", false}}));
  EXPECT_EQ(none.texts("//text:p"), (std::vector<std::string>{"Intro", "End"}));
  EXPECT_EQ(none.count("//text:list-item"), 0);
  XmlView some(render(body, {{"worries", {"delay", "voice"}}, {"extra", true}}));
  EXPECT_EQ(some.texts("//text:p"),
            (std::vector<std::string>{"Intro", "Worry: delay", "Worry: voice", "Extra", "End"}));
  EXPECT_EQ(some.count("//text:list-item"), 1);
}

TEST_F(OdtRendererTest, LineBreaksTabsAndSpacesAreOdtElements) {
  XmlView v(render(para("{{note}}!"), {{"note", "one\ntwo\tthree   four"}}));
  EXPECT_EQ(v.count("//text:line-break"), 1);
  EXPECT_EQ(v.count("//text:tab"), 1);
  EXPECT_EQ(v.count("//text:s[@text:c='2']"), 1);
}

TEST_F(OdtRendererTest, ListValueBecomesRealList) {
  XmlView v(render(para("{{themes}}"), {{"themes", {"Voice", "Outcomes"}}}));
  EXPECT_EQ(v.count("//text:list[@text:style-name='SfBullets']/text:list-item"), 2);
  EXPECT_EQ(v.count("//*[local-name()='list-style' and @*[local-name()='name']='SfBullets']"), 1);
  EXPECT_EQ(v.texts("//text:list-item"), (std::vector<std::string>{"Voice", "Outcomes"}));
}

TEST_F(OdtRendererTest, FillsStylesHeadersFootersAndMeta) {
  const std::string styles = std::string("<?xml version=\"1.0\"?><office:document-styles ") +
                             kOdtNs +
                             "><office:master-styles><style:master-page style:name=\"Standard\">"
                             "<style:footer>" +
                             para("{{marking}}") +
                             "</style:footer></style:master-page></office:master-styles>"
                             "</office:document-styles>";
  const std::string meta =
      std::string("<?xml version=\"1.0\"?><office:document-meta ") + kOdtNs +
      "><office:meta><dc:title>{{title}}</dc:title></office:meta></office:document-meta>";
  render(para("x"), {{"marking", "OFFICIAL-SENSITIVE"}, {"title", "Moderation <overview>"}},
         {{"styles.xml", styles}, {"meta.xml", meta}});
  EXPECT_EQ(XmlView(readPart(last_, "styles.xml")).text("//text:p"), "OFFICIAL-SENSITIVE");
  EXPECT_EQ(XmlView(readPart(last_, "meta.xml")).text("//dc:title"), "Moderation <overview>");
}

TEST_F(OdtRendererTest, PictureAndChartAreEmbeddedWithManifestEntries) {
  const json data = {{"logo",
                      "data:image/"
                      "png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+"
                      "M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="},
                     {"trend",
                      {{"type", "line"},
                       {"categories", {"Q1", "Q2"}},
                       {"series", {{{"name", "Good or better %"}, {"values", {72, 81}}}}},
                       {"target", {{"label", "Target"}, {"value", 80}}}}}};
  XmlView v(render(para("{{image logo}} {{chart trend}}"), data));
  EXPECT_EQ(v.count("//draw:frame/draw:image"), 1);
  EXPECT_EQ(v.count("//draw:frame/draw:object"), 1);
  const std::string manifest = readPart(last_, "META-INF/manifest.xml");
  EXPECT_NE(manifest.find("Pictures/sf_image1.png"), std::string::npos);
  EXPECT_NE(manifest.find("application/vnd.oasis.opendocument.chart"), std::string::npos);
  XmlView chart(readPart(last_, "Object sf2/content.xml"));
  ASSERT_TRUE(chart.wellFormed());
  EXPECT_EQ(chart.count("//chart:chart[@chart:class='chart:line']"), 1);
  EXPECT_EQ(chart.count("//chart:series"), 2);
  EXPECT_EQ(readPart(last_, "mimetype"), "application/vnd.oasis.opendocument.text");
}

TEST_F(OdtRendererTest, PageBreakAddsABreakingParagraph) {
  XmlView v(render(para("Part one{{page-break}}"), json::object()));
  EXPECT_EQ(v.count("//text:p[@text:style-name='SfPageBreak']"), 1);
  EXPECT_EQ(v.count("//*[local-name()='style' and @*[local-name()='name']='SfPageBreak']"), 1);
}

TEST_F(OdtRendererTest, TableOfContentsListsTheRenderedHeadings) {
  const std::string body =
      para("{{toc}}") + "<text:h text:outline-level=\"1\">Findings</text:h>" + para("{{#themes}}") +
      "<text:h text:outline-level=\"2\">Theme: {{.}}</text:h>" + para("{{/themes}}");
  XmlView v(render(body, {{"themes", {"Voice", "Transition & PfA"}}}));
  EXPECT_EQ(v.count("//text:table-of-content"), 1);
  EXPECT_EQ(v.texts("//text:index-body/text:p"),
            (std::vector<std::string>{"Findings", "Theme: Voice", "Theme: Transition & PfA"}));
  EXPECT_EQ(v.count("//text:index-body/text:p[@text:style-name='Contents_20_2']"), 2);
}

TEST_F(OdtRendererTest, MimetypeStaysFirstAndStored) {
  render(para("{{x}}"), {{"x", 1}});
  ASSERT_GT(last_.size(), 60u);
  EXPECT_EQ(last_.substr(30, 8), "mimetype");
  EXPECT_EQ(last_[8], 0);  // compression method 0: stored
}

TEST_F(OdtRendererTest, DottedNamesInvertedSectionsAndFormatters) {
  const std::string body = para(
      "{{council.name}}: {{#plans}}{{ref}} due {{due | date:\"d MMM yyyy\"}}; {{/plans}}"
      "{{^plans}}no plans{{/plans}} {{rate | percent:1}}");
  XmlView v(render(body, {{"council", {{"name", "Dorset"}}},
                          {"plans", {{{"ref", "P1"}, {"due", "2027-01-05"}}}},
                          {"rate", 0.9}}));
  EXPECT_EQ(v.text("//text:p"), "Dorset: P1 due 5 Jan 2027;  90.0%");
  XmlView none(render(body, {{"council", {{"name", "Dorset"}}}, {"rate", 0.5}}));
  EXPECT_EQ(none.text("//text:p"), "Dorset: no plans 50.0%");
}

TEST_F(OdtRendererTest, SectionAroundATableRepeatsTheTable) {
  const std::string body = para("{{#localities}}") + para("Locality: {{name}}") +
                           "<table:table table:name=\"T\"><table:table-column/><table:table-row>" +
                           cell("Plans: {{plans}}") + "</table:table-row></table:table>" +
                           para("{{/localities}}");
  XmlView v(render(
      body,
      {{"localities", {{{"name", "North"}, {"plans", 4}}, {{"name", "South"}, {"plans", 6}}}}}));
  EXPECT_EQ(v.count("//table:table"), 2);
  EXPECT_EQ(v.texts("//office:text/text:p"),
            (std::vector<std::string>{"Locality: North", "Locality: South"}));
  EXPECT_EQ(v.texts("//table:table-cell"), (std::vector<std::string>{"Plans: 4", "Plans: 6"}));
}

TEST_F(OdtRendererTest, FootnotesAreFilled) {
  const std::string body = para(
      "Finding<text:note text:id=\"n1\" text:note-class=\"footnote\">"
      "<text:note-citation>1</text:note-citation><text:note-body>" +
      para("Source: {{source}}") + "</text:note-body></text:note>");
  XmlView v(render(body, {{"source", "Audit tool v2"}}));
  EXPECT_EQ(v.text("//text:note-body"), "Source: Audit tool v2");
}

TEST_F(OdtRendererTest, PartialsAreIncludedFromTheTemplateFolder) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("sendflow-odt-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "sign-off.odt", std::ios::binary)
      << makeOdt(para("Approved by {{approver}}"));
  std::ofstream(dir / "main.odt", std::ios::binary)
      << makeOdt(para("Body") + para("{{> sign-off}}"));
  auto t = Template::load(dir / "main.odt");
  ASSERT_TRUE(t.isOk()) << t.status().toString();
  ASSERT_TRUE(t->problems().empty()) << t->problems().front().toString();
  auto out = t->render({{"approver", "Head of SEND"}});
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  EXPECT_EQ(XmlView(readPart(*out, "content.xml")).texts("//text:p"),
            (std::vector<std::string>{"Body", "Approved by Head of SEND"}));
  std::filesystem::remove_all(dir);
}

TEST_F(OdtRendererTest, PictureFromAFileInTheTemplateFolder) {
  const auto dir = std::filesystem::path(SENDFLOW_SOURCE_DIR) / "templates";
  TemplateOptions options;
  options.resource_dir = dir;
  auto t = Template::loadBytes(makeOdt(para("{{image logo}}")), "test.odt", options);
  ASSERT_TRUE(t.isOk());
  auto out = t->render({{"logo", {{"path", "example-logo.png"}, {"width_mm", 40}}}});
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  XmlView v(readPart(*out, "content.xml"));
  EXPECT_EQ(v.count("//draw:frame[@*[local-name()='width']='40.00mm' and "
                    "@*[local-name()='height']='10.67mm']"),
            1);
  EXPECT_EQ(readPart(*out, "Pictures/sf_image1.png").substr(1, 3), "PNG");
}

}  // namespace
}  // namespace sendflow::docgen
