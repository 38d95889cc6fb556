// The sample library's documents open in LibreOffice: one DOCX plan and one ODT plan are
// converted to text with `soffice --headless --convert-to txt` and read back.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/sampledata/library_writer.h"

namespace sendflow::sampledata {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(LibreOfficeOpenTest, ConvertsADocxAndAnOdtPlanToText) {
  ASSERT_EQ(std::system("command -v soffice >/dev/null 2>&1"), 0)
      << "soffice is not installed; scripts/install-deps --test installs LibreOffice";
  const fs::path dir = fs::temp_directory_path() / "sendflow-sampledata-libreoffice";
  fs::remove_all(dir);
  LibraryOptions options;
  options.plans = 12;
  options.seed = 4;
  options.plan.related_documents = false;
  auto summary = writeLibrary(dir.string(), options);
  ASSERT_TRUE(summary.isOk()) << summary.status().toString();
  std::string docx, odt;
  for (const auto& record : summary->plan_records) {
    if (record.path.ends_with(".docx") && docx.empty()) docx = record.path;
    if (record.path.ends_with(".odt") && odt.empty()) odt = record.path;
  }
  ASSERT_FALSE(docx.empty());
  ASSERT_FALSE(odt.empty());
  const fs::path out = dir / "txt";
  // A private profile, so a LibreOffice the user has open does not swallow the conversion.
  const std::string command = "soffice -env:UserInstallation=file://" + (dir / "profile").string() +
                              " --headless --convert-to txt:Text --outdir '" + out.string() +
                              "' '" + docx + "' '" + odt + "' >'" + (dir / "soffice.log").string() +
                              "' 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << slurp(dir / "soffice.log");
  for (const std::string& source : {docx, odt}) {
    const fs::path text = out / (fs::path(source).stem().string() + ".txt");
    ASSERT_TRUE(fs::exists(text)) << source << "\n" << slurp(dir / "soffice.log");
    const std::string content = slurp(text);
    EXPECT_NE(content.find("Education, Health and Care Plan"), std::string::npos) << source;
    EXPECT_NE(content.find("Special educational provision"), std::string::npos) << source;
    EXPECT_NE(content.find("Advice and information"), std::string::npos) << source;
    EXPECT_NE(content.find(fs::path(source).stem().string()), std::string::npos) << source;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sendflow::sampledata
