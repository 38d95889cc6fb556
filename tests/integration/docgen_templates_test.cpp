// The shipped templates, rendered with their example data, as a council would open them: the DOCX
// and ODT output converts to PDF in LibreOffice with the expected text (pdftotext), and the DOCX
// output reads back with python-docx. Also `sendflow render` and `sendflow template check` as a
// user runs them. One LibreOffice run converts every document, to keep the suite fast.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "server/archive/zip_writer.h"
#include "server/docgen/template.h"

namespace sendflow::docgen {
namespace {

namespace fs = std::filesystem;

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

CommandResult runCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

bool haveTool(const std::string& name) {
  return runCommand("command -v " + name + " >/dev/null").exit_code == 0;
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// pdftotext joins words with single spaces when lines are collapsed.
std::string normalise(std::string text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == ' ' || c == '\t' || c == '\f') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

class DocgenTemplatesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    work_ = fs::temp_directory_path() / ("sendflow-docgen-it-" + std::to_string(::getpid()));
    fs::remove_all(work_);
    fs::create_directories(work_ / "pdf");
    const fs::path templates = fs::path(SENDFLOW_SOURCE_DIR) / "templates";
    for (const std::string name : {"five-minute-briefing", "ehcp-moderation-overview"}) {
      const auto data = nlohmann::json::parse(readFile(templates / (name + ".example.json")));
      for (const std::string format : {"docx", "odt"}) {
        auto t = Template::load(templates / (name + "." + format));
        ASSERT_TRUE(t.isOk()) << t.status().toString();
        ASSERT_TRUE(t->problems().empty()) << t->problems().front().toString();
        auto bytes = t->render(data);
        ASSERT_TRUE(bytes.isOk()) << bytes.status().toString();
        std::ofstream(work_ / (name + "-" + format + "." + format), std::ios::binary) << *bytes;
      }
    }
    // Charts of each kind: the shipped briefing with a line chart (with a target) and a stacked
    // bar.
    const fs::path fixtures = fs::path(SENDFLOW_SOURCE_DIR) / "tests" / "fixtures" / "docgen";
    const auto chart_data = nlohmann::json::parse(readFile(fixtures / "charts.json"));
    for (const std::string format : {"docx", "odt"}) {
      auto t = Template::load(fixtures / ("charts." + format));
      ASSERT_TRUE(t.isOk()) << t.status().toString();
      auto bytes = t->render(chart_data);
      ASSERT_TRUE(bytes.isOk()) << bytes.status().toString();
      std::ofstream(work_ / ("charts-" + format + "." + format), std::ios::binary) << *bytes;
    }
    if (!haveTool("soffice")) return;
    const std::string convert = "cd " + work_.string() +
                                " && soffice -env:UserInstallation=file://" + work_.string() +
                                "/profile --headless --norestore --convert-to pdf --outdir pdf "
                                "*.docx *.odt";
    conversion_ = runCommand(convert);
  }
  static void TearDownTestSuite() { fs::remove_all(work_); }

  std::string pdfText(const std::string& stem) {
    const fs::path pdf = work_ / "pdf" / (stem + ".pdf");
    EXPECT_TRUE(fs::exists(pdf)) << "LibreOffice did not convert " << stem << ": "
                                 << conversion_.output;
    return normalise(runCommand("pdftotext -layout " + pdf.string() + " -").output);
  }
  void requireTools() {
    if (!haveTool("soffice") || !haveTool("pdftotext")) {
      // scripts/test installs them: a missing tool is a broken test machine, not a reason to pass.
      FAIL() << "LibreOffice and poppler-utils are needed (scripts/install-deps --test)";
    }
  }

  static fs::path work_;
  static CommandResult conversion_;
};
fs::path DocgenTemplatesTest::work_;
CommandResult DocgenTemplatesTest::conversion_;

TEST_F(DocgenTemplatesTest, BriefingNoteConvertsToPdfWithExpectedText) {
  requireTools();
  if (HasFailure()) return;
  for (const std::string stem : {"five-minute-briefing-docx", "five-minute-briefing-odt"}) {
    const std::string text = pdfText(stem);
    for (const char* expected :
         {"SEND Audit Briefing \xE2\x80\x93 EHCPs", "OFFICIAL-SENSITIVE", "Page 1 of",
          "What good practice did we see?", "5 October 2026 to 13 November 2026",
          "Requires Improvement 3 25%", "Quantifying provision in Section F SEND Team",
          "our son & what he wants", "Plans by overall grade",
          "Torbay Council SEND quality assurance",
          "Social care advice was missing or generic in 4 plans"}) {
      EXPECT_NE(text.find(expected), std::string::npos) << stem << " lacks: " << expected << "\n"
                                                        << text;
    }
    EXPECT_EQ(text.find("{{"), std::string::npos) << stem;
  }
}

TEST_F(DocgenTemplatesTest, ModerationSheetConvertsToPdfWithExpectedText) {
  requireTools();
  if (HasFailure()) return;
  for (const std::string stem : {"ehcp-moderation-overview-docx", "ehcp-moderation-overview-odt"}) {
    const std::string text = pdfText(stem);
    for (const char* expected :
         {"EHCP moderation overview sheet", "OFFICIAL-SENSITIVE", "Thursday 3 December 2026",
          "EHCP-2611-07", "Not agreed", "Agreement with auditors: 83% (target 90%)",
          "Auditor and moderator grades", "Training needs identified", "by 31 Jan 2027"}) {
      EXPECT_NE(text.find(expected), std::string::npos) << stem << " lacks: " << expected << "\n"
                                                        << text;
    }
    EXPECT_EQ(text.find("{{"), std::string::npos) << stem;
  }
}

TEST_F(DocgenTemplatesTest, LineAndStackedBarChartsRenderInLibreOffice) {
  requireTools();
  if (HasFailure()) return;
  for (const std::string stem : {"charts-docx", "charts-odt"}) {
    const std::string text = pdfText(stem);
    for (const char* expected : {"Audits Good or better (%)", "Target 80%", "Grades by locality",
                                 "Plans due", "Inadequate", "North", "Sep"}) {
      EXPECT_NE(text.find(expected), std::string::npos) << stem << " lacks: " << expected << "\n"
                                                        << text;
    }
  }
}

TEST_F(DocgenTemplatesTest, DocxOutputReadsBackWithPythonDocx) {
  if (runCommand("/usr/bin/python3 -c 'import docx'").exit_code != 0) {
    FAIL() << "python3-docx is needed (scripts/install-deps --test)";
  }
  const std::string script =
      "import docx, sys\n"
      "d = docx.Document(sys.argv[1])\n"
      "print('\\n'.join(p.text for p in d.paragraphs))\n"
      "for t in d.tables:\n"
      "  for r in t.rows: print(' | '.join(c.text for c in r.cells))\n"
      "print(d.core_properties.title)\n"
      "print(d.sections[0].footer.paragraphs[1].text)\n";
  std::ofstream(work_ / "read.py") << script;
  const auto briefing = runCommand("/usr/bin/python3 " + (work_ / "read.py").string() + " " +
                                   (work_ / "five-minute-briefing-docx.docx").string());
  ASSERT_EQ(briefing.exit_code, 0) << briefing.output;
  for (const char* expected :
       {"SEND Audit Briefing \xE2\x80\x93 EHCPs", "Good | 7 | 58%", "Five-minute briefing: EHCPs",
        "Torbay Council SEND quality assurance"}) {
    EXPECT_NE(briefing.output.find(expected), std::string::npos) << expected << "\n"
                                                                 << briefing.output;
  }
  const auto sheet = runCommand("/usr/bin/python3 " + (work_ / "read.py").string() + " " +
                                (work_ / "ehcp-moderation-overview-docx.docx").string());
  ASSERT_EQ(sheet.exit_code, 0) << sheet.output;
  EXPECT_NE(sheet.output.find("Designated Clinical Officer | Health"), std::string::npos)
      << sheet.output;
  EXPECT_NE(sheet.output.find("EHCP moderation overview: Transition"), std::string::npos)
      << sheet.output;
}

TEST_F(DocgenTemplatesTest, TemplateCheckListsTagsAndReportsEveryProblem) {
  const std::string sendflow = std::string(SENDFLOW_BINARY_DIR) + "/sendflow";
  const std::string templates = std::string(SENDFLOW_SOURCE_DIR) + "/templates/";
  const auto good =
      runCommand(sendflow + " template check " + templates + "five-minute-briefing.docx");
  EXPECT_EQ(good.exit_code, 0) << good.output;
  EXPECT_NE(good.output.find("{{#themes}}  word/document.xml, table 3, row 2, cell 1"),
            std::string::npos)
      << good.output;
  EXPECT_NE(good.output.find("no problems"), std::string::npos);

  // A broken template: an unclosed section, a stray close in a table cell, an unknown partial.
  const std::string body =
      "<w:p><w:r><w:t>{{#actions}}</w:t></w:r></w:p><w:tbl><w:tr><w:tc><w:p><w:r><w:t>{{/owner}}"
      "</w:t></w:r></w:p></w:tc></w:tr></w:tbl><w:p><w:r><w:t>{{> signature}}</w:t></w:r></w:p>";
  archive::ZipWriter zip;
  ASSERT_TRUE(zip.add("[Content_Types].xml",
                      "<Types xmlns=\"http://schemas.openxmlformats.org/"
                      "package/2006/content-types\"/>")
                  .isOk());
  ASSERT_TRUE(zip.add("word/document.xml",
                      "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/"
                      "2006/main\"><w:body>" +
                          body + "</w:body></w:document>")
                  .isOk());
  const fs::path broken = work_ / "broken.docx";
  std::ofstream(broken, std::ios::binary) << *zip.close();
  const auto bad = runCommand(sendflow + " template check " + broken.string());
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  for (const char* expected :
       {"3 problem(s)",
        "word/document.xml, paragraph 1 (\"{{#actions}}\"): {{#actions}} is opened here but never "
        "closed",
        "word/document.xml, table 1, row 1, cell 1, paragraph 1 (\"{{/owner}}\"): {{/owner}} does "
        "not match {{#actions}} opened at paragraph 1",
        "unknown partial 'signature'"}) {
    EXPECT_NE(bad.output.find(expected), std::string::npos) << expected << "\n" << bad.output;
  }
  const auto missing = runCommand(sendflow + " template check " + templates + "no-such.odt");
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
}

TEST_F(DocgenTemplatesTest, RenderCommandWritesTheDocument) {
  const std::string sendflow = std::string(SENDFLOW_BINARY_DIR) + "/sendflow";
  const std::string templates = std::string(SENDFLOW_SOURCE_DIR) + "/templates/";
  const fs::path out = work_ / "cli-briefing.odt";
  const auto run = runCommand(sendflow + " render " + templates + "five-minute-briefing.odt " +
                              templates + "five-minute-briefing.example.json -o " + out.string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GT(fs::file_size(out), 5000u);
  const auto wrong =
      runCommand(sendflow + " render " + templates + "five-minute-briefing.odt " + templates +
                 "five-minute-briefing.example.json -o " + (work_ / "x.docx").string());
  EXPECT_EQ(wrong.exit_code, 2) << wrong.output;
  if (!haveTool("soffice") || !haveTool("pdftotext")) return;
  // OUT.pdf: rendered, then converted through LibreOffice with a private profile.
  const fs::path pdf = work_ / "cli-sheet.pdf";
  const auto converted =
      runCommand(sendflow + " render " + templates + "ehcp-moderation-overview.docx " + templates +
                 "ehcp-moderation-overview.example.json -o " + pdf.string());
  ASSERT_EQ(converted.exit_code, 0) << converted.output;
  EXPECT_FALSE(fs::exists(work_ / "cli-sheet.docx"));
  EXPECT_NE(normalise(runCommand("pdftotext " + pdf.string() + " -").output)
                .find("Thursday 3 December 2026"),
            std::string::npos);
}

}  // namespace
}  // namespace sendflow::docgen
