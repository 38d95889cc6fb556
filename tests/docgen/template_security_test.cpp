#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/archive/zip_writer.h"
#include "server/docgen/template.h"
#include "tests/docgen/package_builder.h"

namespace sendflow::docgen {
namespace {

using testing::makeDocx;
using testing::makeOdt;
using testing::p;
using testing::r;

std::string messageOf(const std::string& package, const std::string& label = "upload.docx") {
  auto t = Template::loadBytes(package, label);
  return t.isOk() ? "(loaded)" : t.status().toString();
}

TEST(TemplateSecurityTest, RejectsWordMacros) {
  const std::string m = messageOf(makeDocx(p(r("x")), {{"word/vbaProject.bin", "macro"}}));
  EXPECT_NE(m.find("holds Word macros"), std::string::npos) << m;
}

TEST(TemplateSecurityTest, RejectsMacroEnabledContentType) {
  const std::string types =
      "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/"
      "content-types\"><Override PartName=\"/word/document.xml\" ContentType=\"application/"
      "vnd.ms-word.document.macroEnabled.main+xml\"/></Types>";
  const std::string m = messageOf(makeDocx(p(r("x")), {{"[Content_Types].xml", types}}));
  EXPECT_NE(m.find("macro-enabled"), std::string::npos) << m;
}

TEST(TemplateSecurityTest, RejectsDocmFileNames) {
  EXPECT_FALSE(formatFromFileName("plan.docm").isOk());
  EXPECT_NE(formatFromFileName("plan.docm").status().message().find("macro-enabled"),
            std::string::npos);
  EXPECT_EQ(*formatFromFileName("Plan.DOCX"), DocumentFormat::kDocx);
  EXPECT_EQ(*formatFromFileName("sheet.odt"), DocumentFormat::kOdt);
}

TEST(TemplateSecurityTest, RejectsOdfBasicAndScripts) {
  const std::string m = messageOf(
      makeOdt("<text:p>x</text:p>", {{"Basic/Standard/Module1.xml", "<x/>"}}), "upload.odt");
  EXPECT_NE(m.find("macros or scripts"), std::string::npos) << m;
}

TEST(TemplateSecurityTest, RejectsActiveXControls) {
  const std::string m = messageOf(makeDocx(p(r("x")), {{"word/activeX/activeX1.bin", "ole"}}));
  EXPECT_NE(m.find("ActiveX"), std::string::npos) << m;
}

TEST(TemplateSecurityTest, RejectsOdfEventListenersThatCallMacros) {
  const std::string body =
      "<text:p><text:a xlink:href=\"vnd.sun.star.script:Standard.Module1.Evil?language=Basic\">x"
      "</text:a></text:p>";
  const std::string m = messageOf(makeOdt(body), "upload.odt");
  EXPECT_NE(m.find("calls macros"), std::string::npos) << m;
}

TEST(TemplateSecurityTest, RejectsDoctypeAndExternalEntities) {
  const std::string doc =
      "<?xml version=\"1.0\"?><!DOCTYPE w:document [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
      "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">"
      "<w:body><w:p><w:r><w:t>&xxe;{{x}}</w:t></w:r></w:p></w:body></w:document>";
  const std::string m = messageOf(makeDocx("", {{"word/document.xml", doc}}));
  EXPECT_NE(m.find("DTD"), std::string::npos) << m;
  EXPECT_EQ(m.find("root:"), std::string::npos) << m;
}

TEST(TemplateSecurityTest, RejectsDamagedOrDtdPartsEvenWithoutTags) {
  const std::string damaged =
      messageOf(makeDocx(p(r("x")), {{"word/styles.xml", "<w:styles><oops"}}));
  EXPECT_NE(damaged.find("word/styles.xml, line 1: not well-formed XML"), std::string::npos)
      << damaged;
  const std::string dtd =
      messageOf(makeDocx(p(r("no tags here")),
                         {{"word/settings.xml", "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>"}}));
  EXPECT_NE(dtd.find("word/settings.xml: declares a DTD"), std::string::npos) << dtd;
}

TEST(TemplateSecurityTest, RejectsUndefinedEntitiesAsMalformed) {
  const std::string doc =
      "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">"
      "<w:body><w:p><w:r><w:t>&lol9;{{x}}</w:t></w:r></w:p></w:body></w:document>";
  const std::string m = messageOf(makeDocx("", {{"word/document.xml", doc}}));
  EXPECT_NE(m.find("word/document.xml, line 1: not well-formed XML"), std::string::npos) << m;
}

TEST(TemplateSecurityTest, RejectsEntriesOutsideThePackage) {
  const std::string m = messageOf(makeDocx(p(r("x")), {{"../../etc/cron.d/evil", "x"}}));
  EXPECT_NE(m.find("points outside the package"), std::string::npos) << m;
}

TEST(TemplateSecurityTest, RejectsZipBombs) {
  const std::string m =
      messageOf(makeDocx(p(r("x")), {{"word/media/bomb.bin", std::string(8u << 20, '\0')}}));
  EXPECT_NE(m.find("zip bomb"), std::string::npos) << m;
}

TEST(TemplateSecurityTest, RejectsTooManyEntries) {
  std::map<std::string, std::string> parts;
  for (int i = 0; i < 40; ++i) parts["word/x" + std::to_string(i) + ".xml"] = "<x/>";
  TemplateOptions options;
  options.limits.max_entries = 20;
  auto t = Template::loadBytes(makeDocx(p(r("x")), parts), "upload.docx", options);
  ASSERT_FALSE(t.isOk());
  EXPECT_NE(t.status().message().find("entries; at most 20"), std::string::npos);
}

TEST(TemplateSecurityTest, RejectsFilesThatAreNotDocuments) {
  EXPECT_NE(messageOf("just some text").find("not a valid zip package"), std::string::npos);
  archive::ZipWriter zip;
  ASSERT_TRUE(zip.add("readme.txt", "hello").isOk());
  EXPECT_NE(messageOf(*zip.close()).find("neither a Word"), std::string::npos);
}

TEST(TemplateSecurityTest, PicturePathsStayInsideTheTemplateFolder) {
  TemplateOptions options;
  options.resource_dir = std::filesystem::temp_directory_path();
  auto t = Template::loadBytes(makeDocx(p(r("{{image logo}}"))), "upload.docx", options);
  ASSERT_TRUE(t.isOk());
  auto out = t->render({{"logo", {{"path", "../../etc/passwd"}}}});
  ASSERT_FALSE(out.isOk());
  EXPECT_NE(out.status().message().find("outside the template's folder"), std::string::npos)
      << out.status().toString();
}

}  // namespace
}  // namespace sendflow::docgen
