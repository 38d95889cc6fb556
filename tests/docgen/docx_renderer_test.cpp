#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/archive/zip_writer.h"
#include "server/docgen/template.h"
#include "tests/docgen/package_builder.h"

namespace sendflow::docgen {
namespace {

using nlohmann::json;
using testing::makeDocx;
using testing::p;
using testing::r;
using testing::readPart;
using testing::row;
using testing::XmlView;

// A 1x1 PNG.
constexpr const char* kPixelPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+"
    "M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

class DocxRendererTest : public ::testing::Test {
 protected:
  // Renders `body` with `data` and returns word/document.xml.
  std::string render(const std::string& body, const json& data,
                     std::map<std::string, std::string> parts = {}) {
    auto t = Template::loadBytes(makeDocx(body, std::move(parts)), "test.docx");
    EXPECT_TRUE(t.isOk()) << t.status().toString();
    if (!t.isOk()) return "";
    for (const auto& problem : t->problems()) ADD_FAILURE() << problem.toString();
    auto out = t->render(data);
    EXPECT_TRUE(out.isOk()) << out.status().toString();
    if (!out.isOk()) return "";
    last_ = *out;
    std::string xml = readPart(*out, "word/document.xml");
    EXPECT_TRUE(XmlView(xml).wellFormed()) << xml;
    return xml;
  }
  std::vector<std::string> paragraphs(const std::string& xml) {
    return XmlView(xml).texts("//w:body/w:p");
  }
  std::string last_;
};

TEST_F(DocxRendererTest, MergesTagSplitAcrossRunsProofingMarksAndBookmarks) {
  const std::string body =
      p(r("Dear {", "<w:b/>") + "<w:proofErr w:type=\"spellStart\"/>" +
        "<w:r w:rsidR=\"00A1\"><w:t>{par</w:t></w:r><w:bookmarkStart w:id=\"0\" w:name=\"x\"/>" +
        "<w:ins w:id=\"7\" w:author=\"QA\"><w:r><w:t>ent.na</w:t></w:r></w:ins>" +
        "<w:bookmarkEnd w:id=\"0\"/>" + r("me}}", "<w:i/>") + r(", thank you."));
  const std::string xml = render(body, {{"parent", {{"name", "Ms Ayesha Khan"}}}});
  EXPECT_EQ(paragraphs(xml), std::vector<std::string>{"Dear Ms Ayesha Khan, thank you."});
  // The formatting of the run where the tag starts (bold) applies to the value.
  EXPECT_EQ(XmlView(xml).count("//w:r[w:rPr/w:b and contains(w:t, 'Ayesha')]"), 1);
  EXPECT_EQ(XmlView(xml).count("//w:r[w:rPr/w:i and contains(w:t, 'Ayesha')]"), 0);
}

TEST_F(DocxRendererTest, RepeatsTableRowForEachItem) {
  const std::string body = "<w:tbl>" + row({"Moderator", "Service area"}) +
                           row({"{{#moderators}}{{name}}", "{{service}}{{/moderators}}"}) +
                           "</w:tbl>";
  const json data = {{"moderators",
                      {{{"name", "J. Patel"}, {"service", "Health"}},
                       {{"name", "R. Osei"}, {"service", "Education"}},
                       {{"name", "S. Byrne"}, {"service", "Social care"}}}}};
  const std::string xml = render(body, data);
  XmlView v(xml);
  EXPECT_EQ(v.count("//w:tr"), 4);
  EXPECT_EQ(v.texts("//w:tr[3]/w:tc"), (std::vector<std::string>{"R. Osei", "Education"}));
}

TEST_F(DocxRendererTest, RepeatsRowWhenSectionIsInsideOneCell) {
  const std::string body = "<w:tbl>" + row({"{{#grades}}{{.}}{{/grades}}"}) + "</w:tbl>";
  XmlView v(render(body, {{"grades", {"Good", "Outstanding"}}}));
  EXPECT_EQ(v.texts("//w:tr"), (std::vector<std::string>{"Good", "Outstanding"}));
}

TEST_F(DocxRendererTest, EmptyListRemovesTheRowEntirely) {
  const std::string body =
      "<w:tbl>" + row({"Header"}) + row({"{{#actions}}{{title}}{{/actions}}"}) + "</w:tbl>";
  XmlView v(render(body, {{"actions", json::array()}}));
  EXPECT_EQ(v.count("//w:tr"), 1);
}

TEST_F(DocxRendererTest, InlineSectionRepeatsWithinTheParagraph) {
  const std::string xml =
      render(p(r("Grades: {{#grades}}{{.}}; {{/grades}}end")), {{"grades", {"Good", "RI"}}});
  EXPECT_EQ(paragraphs(xml), std::vector<std::string>{"Grades: Good; RI; end"});
}

TEST_F(DocxRendererTest, InlineSectionAcrossRunsStaysWellFormed) {
  const std::string body = p(r("Plan {{#urgent}}", "<w:b/>") + r("URGENT: ", "<w:i/>") +
                             r("review by {{due}}{{/urgent}}.", "<w:u w:val=\"single\"/>"));
  EXPECT_EQ(paragraphs(render(body, {{"urgent", false}})), std::vector<std::string>{"Plan ."});
  const std::string xml = render(body, {{"urgent", {{{"due", "May"}}, {{"due", "June"}}}}});
  EXPECT_EQ(paragraphs(xml),
            std::vector<std::string>{"Plan URGENT: review by MayURGENT: review by June."});
  EXPECT_EQ(XmlView(xml).count("//w:r[w:rPr/w:i]"), 2);
}

TEST_F(DocxRendererTest, InlineSectionFromInsideAHyperlinkToOutsideIsSplitCleanly) {
  const std::string body = "<w:p><w:hyperlink r:id=\"rId9\">" +
                           r("See {{#links}}", "<w:u w:val=\"single\"/>") + "</w:hyperlink>" +
                           r("{{title}}; {{/links}}done") + "</w:p>";
  for (const json& links : {json::array(), json{{{"title", "A"}}, {{"title", "B"}}}}) {
    const std::string xml = render(body, {{"links", links}});
    ASSERT_TRUE(XmlView(xml).wellFormed()) << xml;
    EXPECT_EQ(paragraphs(xml),
              std::vector<std::string>{links.empty() ? "See done" : "See A; B; done"});
  }
}

TEST_F(DocxRendererTest, SectionFromBodyIntoATextBoxIsReported) {
  const std::string body = "<w:p>" + r("{{#x}}") + "<w:r><w:drawing><w:txbxContent>" +
                           p(r("{{/x}}")) + "</w:txbxContent></w:drawing></w:r></w:p>";
  auto t = Template::loadBytes(makeDocx(body), "test.docx");
  ASSERT_TRUE(t.isOk());
  ASSERT_EQ(t->problems().size(), 1u);
  EXPECT_NE(t->problems()[0].message.find("must both be inside the text box"), std::string::npos)
      << t->problems()[0].toString();
}

TEST_F(DocxRendererTest, FalseConditionRemovesParagraphsWithoutEmptyLeftovers) {
  const std::string body = p(r("Intro")) + p(r("{{#concerns}}")) + p(r("Concern: {{text}}")) +
                           p(r("{{/concerns}}")) + p(r("End"));
  EXPECT_EQ(paragraphs(render(body, {{"concerns", false}})),
            (std::vector<std::string>{"Intro", "End"}));
  EXPECT_EQ(paragraphs(render(body, {{"concerns", {{{"text", "a"}}, {{"text", "b"}}}}})),
            (std::vector<std::string>{"Intro", "Concern: a", "Concern: b", "End"}));
}

TEST_F(DocxRendererTest, SectionAroundATableRepeatsTheTable) {
  const std::string body = p(r("{{#schools}}")) + p(r("School: {{name}}")) + "<w:tbl>" +
                           row({"Pupils", "{{pupils}}"}) + "</w:tbl>" + p(r("{{/schools}}"));
  XmlView v(render(
      body, {{"schools", {{{"name", "A"}, {"pupils", 3}}, {{"name", "B"}, {"pupils", 5}}}}}));
  EXPECT_EQ(v.count("//w:tbl"), 2);
  EXPECT_EQ(v.texts("//w:body/w:p"), (std::vector<std::string>{"School: A", "School: B"}));
  EXPECT_EQ(v.texts("//w:tbl/w:tr/w:tc[2]"), (std::vector<std::string>{"3", "5"}));
}

TEST_F(DocxRendererTest, SectionAcrossListItemsRepeatsEachListItem) {
  const std::string item =
      "<w:pPr><w:numPr><w:ilvl w:val=\"0\"/><w:numId w:val=\"1\"/></w:numPr></w:pPr>";
  const std::string body =
      "<w:p>" + item + r("{{#themes}}{{title}} ({{agency}}){{/themes}}") + "</w:p>";
  XmlView v(render(body, {{"themes",
                           {{{"title", "Voice"}, {"agency", "Health"}},
                            {{"title", "Outcomes"}, {"agency", "Education"}}}}}));
  EXPECT_EQ(v.texts("//w:body/w:p"),
            (std::vector<std::string>{"Voice (Health)", "Outcomes (Education)"}));
  EXPECT_EQ(v.count("//w:body/w:p/w:pPr/w:numPr"), 2);
}

TEST_F(DocxRendererTest, InvertedSectionShowsWhenValueIsMissingOrEmpty) {
  const std::string body = p(r("{{^actions}}No actions.{{/actions}}"));
  EXPECT_EQ(paragraphs(render(body, json::object())), std::vector<std::string>{"No actions."});
  EXPECT_EQ(paragraphs(render(body, {{"actions", {1}}})), std::vector<std::string>{""});
}

TEST_F(DocxRendererTest, DottedNamesAndOuterContextAreResolved) {
  const std::string body = p(r("{{#plans}}{{child.initials}} in {{council.name}}; {{/plans}}"));
  const json data = {
      {"council", {{"name", "Torbay"}}},
      {"plans", {{{"child", {{"initials", "A.B."}}}}, {{"child", {{"initials", "C.D."}}}}}}};
  EXPECT_EQ(paragraphs(render(body, data)),
            std::vector<std::string>{"A.B. in Torbay; C.D. in Torbay; "});
}

TEST_F(DocxRendererTest, UserTextComesOutAsWritten) {
  const std::string text =
      "Parent & carer said: <\"it's better\"> \xF0\x9F\x98\x80 "
      "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7";
  EXPECT_EQ(paragraphs(render(p(r("{{voice}}")), {{"voice", text}})),
            std::vector<std::string>{text});
}

TEST_F(DocxRendererTest, DataCannotInjectMarkup) {
  const std::string attack = "</w:t></w:r></w:p><w:p><w:r><w:t>injected";
  const std::string xml = render(p(r("x {{v}} y")), {{"v", attack}});
  EXPECT_EQ(XmlView(xml).count("//w:body/w:p"), 1);
  EXPECT_EQ(paragraphs(xml), std::vector<std::string>{"x " + attack + " y"});
}

TEST_F(DocxRendererTest, NewlinesBecomeBreaksAndControlCharactersAreRemoved) {
  const std::string xml =
      render(p(r("Note: {{note}}!")), {{"note", "first\r\nsecond\x01\x0b\tend"}});
  XmlView v(xml);
  EXPECT_EQ(v.count("//w:br"), 1);
  EXPECT_EQ(v.count("//w:tab"), 1);
  EXPECT_EQ(paragraphs(xml), std::vector<std::string>{"Note: firstsecondend!"});
}

TEST_F(DocxRendererTest, ListValueAloneInParagraphBecomesRealList) {
  const std::string styles =
      "<?xml version=\"1.0\"?><w:styles xmlns:w=\"http://schemas.openxmlformats.org/"
      "wordprocessingml/2006/main\"><w:style w:type=\"paragraph\" w:styleId=\"ListBullet\">"
      "<w:name w:val=\"List Bullet\"/></w:style></w:styles>";
  const std::string body = p(r("Themes:")) + p(r("{{themes}}", "<w:b/>")) + p(r("After"));
  XmlView v(render(body, {{"themes", "- Voice of the child\n- SMART outcomes\n"}},
                   {{"word/styles.xml", styles}}));
  EXPECT_EQ(v.texts("//w:body/w:p"),
            (std::vector<std::string>{"Themes:", "Voice of the child", "SMART outcomes", "After"}));
  EXPECT_EQ(v.count("//w:p[w:pPr/w:pStyle/@w:val='ListBullet']"), 2);
  EXPECT_EQ(v.count("//w:p[w:pPr/w:pStyle/@w:val='ListBullet']/w:r/w:rPr/w:b"), 2);
  // Text that is not a list stays one paragraph.
  XmlView plain(render(body, {{"themes", "Just one line"}}, {{"word/styles.xml", styles}}));
  EXPECT_EQ(plain.count("//w:body/w:p"), 3);
}

TEST_F(DocxRendererTest, FillsHeadersFootersFootnotesTextBoxesAndProperties) {
  const std::string w = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"";
  std::map<std::string, std::string> parts = {
      {"word/header1.xml", "<w:hdr " + w + ">" + p(r("{{council}} SEND QA")) + "</w:hdr>"},
      {"word/footer1.xml", "<w:ftr " + w + ">" + p(r("{{marking}}")) + "</w:ftr>"},
      {"word/footnotes.xml", "<w:footnotes " + w + "><w:footnote w:id=\"1\">" +
                                 p(r("Source: {{source}}")) + "</w:footnote></w:footnotes>"},
      {"docProps/core.xml",
       "<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/"
       "core-properties\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:title>{{title}}"
       "</dc:title></cp:coreProperties>"},
  };
  const std::string textbox =
      "<w:p><w:r><w:drawing><wp:anchor xmlns:wp=\"http://schemas.openxmlformats.org/drawingml/"
      "2006/wordprocessingDrawing\"><w:txbxContent>" +
      p(r("Box: {{theme}}")) + "</w:txbxContent></wp:anchor></w:drawing></w:r></w:p>";
  const json data = {{"council", "Torbay"},
                     {"marking", "OFFICIAL-SENSITIVE"},
                     {"source", "Audit"},
                     {"title", "Briefing & note"},
                     {"theme", "EHCPs"}};
  const std::string xml = render(textbox, data, parts);
  EXPECT_EQ(XmlView(xml).text("//w:txbxContent"), "Box: EHCPs");
  EXPECT_EQ(XmlView(readPart(last_, "word/header1.xml")).text(), "Torbay SEND QA");
  EXPECT_EQ(XmlView(readPart(last_, "word/footer1.xml")).text(), "OFFICIAL-SENSITIVE");
  EXPECT_EQ(XmlView(readPart(last_, "word/footnotes.xml")).text(), "Source: Audit");
  EXPECT_EQ(XmlView(readPart(last_, "docProps/core.xml")).text("//dc:title"), "Briefing & note");
}

TEST_F(DocxRendererTest, FormatsDatesNumbersAndPercentagesTheUkWay) {
  const std::string body = p(
      r("{{finalised | date:\"d MMMM yyyy\"}}|{{finalised | date:\"dddd d MMM yy\"}}|"
        "{{plans | number}}|{{rate | percent:1}}|{{cost | currency}}|{{missing | default:\"n/a\"}}|"
        "{{agreed | yesno}}"));
  const json data = {{"finalised", "2026-03-04"},
                     {"plans", 12345},
                     {"rate", 0.8333},
                     {"cost", 1234.5},
                     {"agreed", true}};
  EXPECT_EQ(paragraphs(render(body, data)),
            std::vector<std::string>{"4 March 2026|Wednesday 4 Mar 26|12,345|83.3%|\xC2\xA3"
                                     "1,234.50|n/a|Yes"});
}

TEST_F(DocxRendererTest, PageBreakAndTableOfContentsUpdateOnOpen) {
  const std::string settings =
      "<?xml version=\"1.0\"?><w:settings xmlns:w=\"http://schemas.openxmlformats.org/"
      "wordprocessingml/2006/main\"><w:zoom w:percent=\"100\"/></w:settings>";
  const std::string xml = render(p(r("{{toc}}")) + p(r("Before{{page-break}}After")),
                                 json::object(), {{"word/settings.xml", settings}});
  XmlView v(xml);
  EXPECT_EQ(v.count("//w:br[@w:type='page']"), 1);
  EXPECT_EQ(v.count("//w:instrText[contains(., 'TOC')]"), 1);
  EXPECT_EQ(XmlView(readPart(last_, "word/settings.xml")).count("//w:updateFields[@w:val='true']"),
            1);
}

TEST_F(DocxRendererTest, PictureFromBase64IsEmbedded) {
  const std::string xml =
      render(p(r("Logo: {{image logo}}")),
             {{"logo", {{"data", kPixelPng}, {"width_mm", 30}, {"description", "Council logo"}}}});
  XmlView v(xml);
  EXPECT_EQ(v.count("//w:drawing"), 1);
  EXPECT_EQ(readPart(last_, "word/media/sf_image1.png").substr(1, 3), "PNG");
  EXPECT_NE(readPart(last_, "word/_rels/document.xml.rels").find("media/sf_image1.png"),
            std::string::npos);
  EXPECT_NE(readPart(last_, "[Content_Types].xml").find("Extension=\"png\""), std::string::npos);
}

TEST_F(DocxRendererTest, PictureThatIsNotAnImageIsReportedWithItsTag) {
  auto t = Template::loadBytes(makeDocx(p(r("{{image logo}}"))), "test.docx");
  ASSERT_TRUE(t.isOk());
  auto out = t->render({{"logo", {{"data", "aGVsbG8gd29ybGQ="}}}});
  ASSERT_FALSE(out.isOk());
  EXPECT_NE(out.status().message().find("{{image logo}}"), std::string::npos);
  EXPECT_NE(out.status().message().find("not a PNG"), std::string::npos);
}

TEST_F(DocxRendererTest, NativeChartsAreWrittenAsChartParts) {
  const json chart = {{"type", "stacked-bar"},
                      {"title", "Audit grades by month"},
                      {"categories", {"Jan", "Feb", "Mar"}},
                      {"series",
                       {{{"name", "Good or better"}, {"values", {8, 9, 11}}},
                        {{"name", "RI or inadequate"}, {"values", {4, 3, 1}}}}},
                      {"target", {{"label", "Target 80%"}, {"value", 10}}}};
  const std::string xml = render(p(r("{{chart grades}}")), {{"grades", chart}});
  EXPECT_EQ(XmlView(xml).count("//c:chart"), 1);
  XmlView part(readPart(last_, "word/charts/sf_chart1.xml"));
  ASSERT_TRUE(part.wellFormed());
  EXPECT_EQ(part.count("//c:barChart/c:grouping[@val='stacked']"), 1);
  EXPECT_EQ(part.count("//c:barChart/c:ser"), 2);
  EXPECT_EQ(part.count("//c:lineChart/c:ser"), 1);
  EXPECT_EQ(part.text("//c:lineChart/c:ser/c:tx//c:v"), "Target 80%");
  EXPECT_NE(readPart(last_, "[Content_Types].xml").find("/word/charts/sf_chart1.xml"),
            std::string::npos);
  // The numbers are embedded as a workbook so that Word's "Edit Data" opens them.
  EXPECT_EQ(part.count("//c:externalData"), 1);
  EXPECT_NE(
      readPart(last_, "word/charts/_rels/sf_chart1.xml.rels").find("../embeddings/sf_chart1.xlsx"),
      std::string::npos);
  const std::string workbook = readPart(last_, "word/embeddings/sf_chart1.xlsx");
  EXPECT_NE(readPart(workbook, "xl/worksheets/sheet1.xml").find("RI or inadequate"),
            std::string::npos);
  EXPECT_NE(readPart(last_, "word/_rels/document.xml.rels").find("charts/sf_chart1.xml"),
            std::string::npos);
}

TEST_F(DocxRendererTest, UnchangedPartsAreCopiedWithoutRecompressing) {
  const std::string styles(20000, ' ');
  const std::string package =
      makeDocx(p(r("{{x}}")), {{"word/styles.xml", "<a>" + styles + "</a>"}});
  auto t = Template::loadBytes(package, "test.docx");
  ASSERT_TRUE(t.isOk());
  auto out = t->render({{"x", "1"}});
  ASSERT_TRUE(out.isOk());
  auto in_reader = archive::ZipReader::openBuffer(package, "in");
  auto out_reader = archive::ZipReader::openBuffer(*out, "out");
  auto a = archive::readRawEntry(*in_reader, "word/styles.xml");
  auto b = archive::readRawEntry(*out_reader, "word/styles.xml");
  ASSERT_TRUE(a.isOk() && b.isOk());
  EXPECT_EQ(a->compressed, b->compressed);
  EXPECT_EQ(a->crc32, b->crc32);
}

TEST_F(DocxRendererTest, RendersConcurrentlyFromOneTemplate) {
  auto t = Template::loadBytes(makeDocx("<w:tbl>" + row({"{{#rows}}{{n}}{{/rows}}"}) + "</w:tbl>"),
                               "test.docx");
  ASSERT_TRUE(t.isOk());
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 25; ++i) {
        json data = {{"rows", json::array()}};
        for (int n = 0; n <= k + i; ++n) data["rows"].push_back({{"n", n}});
        auto out = t->render(data);
        if (!out.isOk() ||
            XmlView(readPart(*out, "word/document.xml")).count("//w:tr") != k + i + 1) {
          ++bad[k];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad, std::vector<int>(4, 0));
}

TEST_F(DocxRendererTest, PartialsAreIncludedFromTheTemplateFolder) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("sendflow-docgen-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "signature.docx", std::ios::binary)
      << makeDocx(p(r("Signed: {{lead}}")) + p(r("{{role}}")));
  std::ofstream(dir / "main.docx", std::ios::binary)
      << makeDocx(p(r("Body")) + p(r("{{> signature}}")) + p(r("End")));
  auto t = Template::load(dir / "main.docx");
  ASSERT_TRUE(t.isOk()) << t.status().toString();
  ASSERT_TRUE(t->problems().empty()) << t->problems().front().toString();
  auto out = t->render({{"lead", "K. Ward"}, {"role", "Lead auditor"}});
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  EXPECT_EQ(XmlView(readPart(*out, "word/document.xml")).texts("//w:body/w:p"),
            (std::vector<std::string>{"Body", "Signed: K. Ward", "Lead auditor", "End"}));
  std::filesystem::remove_all(dir);
}

TEST_F(DocxRendererTest, CheckReportsEveryProblemWithPartAndCell) {
  const std::string body = p(r("{{#moderators}}")) + "<w:tbl>" + row({"x", "{{/actions}}"}) +
                           row({"{{#open}}", "{{name"}) + "</w:tbl>" + p(r("{{> nowhere}}")) +
                           p(r("{{x | bogus}}"));
  auto t = Template::loadBytes(makeDocx(body), "test.docx");
  ASSERT_TRUE(t.isOk()) << t.status().toString();
  std::string all;
  for (const auto& problem : t->problems()) all += problem.toString() + "\n";
  EXPECT_GE(t->problems().size(), 5u) << all;
  EXPECT_NE(all.find("word/document.xml, table 1, row 1, cell 2, paragraph 1"), std::string::npos)
      << all;
  EXPECT_NE(all.find("{{#moderators}} is opened here but never closed"), std::string::npos) << all;
  EXPECT_NE(all.find("{{#open}} is opened here but never closed"), std::string::npos) << all;
  EXPECT_NE(all.find("not closed with }}"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown partial 'nowhere'"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown formatter 'bogus'"), std::string::npos) << all;
  EXPECT_FALSE(t->render(json::object()).isOk());
}

}  // namespace
}  // namespace sendflow::docgen
