// The `sendflow prescreen` and `sendflow sample-data` commands, run in-process.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "server/app/cli.h"
#include "server/app/settings.h"

namespace sendflow::app {
namespace {

namespace fs = std::filesystem;

struct Result {
  int code = 0;
  std::string out;
  std::string err;
};

Result run(const std::string& name, std::vector<std::string> args,
           std::map<std::string, std::string> settings = {}) {
  CommandTable table;
  registerConnectorCommands(table);
  const Settings config = Settings::fromMap(std::move(settings), "test.properties");
  std::ostringstream out, err;
  for (const Command& c : table) {
    if (c.name == name) {
      CommandContext context{config, std::move(args), out, err};
      const int code = c.run(context);
      return {code, out.str(), err.str()};
    }
  }
  ADD_FAILURE() << "no command " << name;
  return {};
}

std::string fixtures() { return std::string(SENDFLOW_SOURCE_DIR) + "/tests/fixtures/plans"; }

TEST(PrescreenCommandTest, JsonHasOneReportPerDocumentAndASummary) {
  const Result r = run("prescreen", {fixtures(), "--json", "--jobs", "2"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  ASSERT_TRUE(json["documents"].is_array());
  EXPECT_EQ(json["documents"].size(), 10u);
  const auto& summary = json["summary"];
  EXPECT_EQ(summary["documents"], 10);
  EXPECT_EQ(summary["unreadable"], 5);
  EXPECT_EQ(summary["screened"], 5);
  bool saw_flawed = false;
  for (const auto& doc : json["documents"]) {
    for (const char* key : {"document", "plan_ref", "format", "readable", "year_group",
                            "sections_found", "findings", "notes"}) {
      EXPECT_TRUE(doc.contains(key)) << key;
    }
    if (doc["plan_ref"] == "FX-0002") {
      saw_flawed = true;
      EXPECT_EQ(doc["format"], "docx");
      EXPECT_EQ(doc["year_group"], 9);
      const auto& first = doc["findings"][0];
      for (const char* key : {"kind", "section", "location", "detail"}) {
        EXPECT_TRUE(first.contains(key)) << key;
      }
      bool quoted = false;
      for (const auto& f : doc["findings"]) {
        if (f["kind"] == "vague-provision" && f["phrase"] == "as required") {
          quoted = f["quote"] == "Sam will have access to speech and language therapy as required.";
        }
      }
      EXPECT_TRUE(quoted);
    }
  }
  EXPECT_TRUE(saw_flawed);
}

TEST(PrescreenCommandTest, TextReportNamesEachDocumentAndEndsWithASummary) {
  const Result r =
      run("prescreen", {fixtures() + "/flawed_plan.odt", fixtures() + "/corrupt.docx"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("flawed_plan.odt  (FX-0004, Year 11)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  vague-provision: Section F, paragraph 1: 'should'"), std::string::npos);
  EXPECT_NE(r.out.find("      \"Jo should sit near the front of the class.\""), std::string::npos);
  EXPECT_NE(r.out.find("2 documents: 1 plans screened, 0 skipped (not EHC plans), 1 unreadable"),
            std::string::npos)
      << r.out;
}

TEST(PrescreenCommandTest, AMissingPathExitsOneAndNamesIt) {
  const Result r = run("prescreen", {fixtures(), "no/such/plans"});
  EXPECT_EQ(r.code, kExitInvalidInput);
  EXPECT_NE(r.err.find("no/such/plans: no such file or folder"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(PrescreenCommandTest, BadSettingsAndUsageAreReported) {
  const Result bad = run("prescreen", {fixtures()}, {{"prescreen.final_plan_days", "-3"}});
  EXPECT_EQ(bad.code, kExitFailure);
  EXPECT_NE(bad.err.find("test.properties: prescreen.final_plan_days"), std::string::npos)
      << bad.err;
  EXPECT_EQ(run("prescreen", {}).code, kExitUsage);
  EXPECT_EQ(run("prescreen", {fixtures(), "--jsn"}).code, kExitUsage);
}

TEST(PrescreenCommandTest, SettingsMoveTheStatutoryWindows) {
  const std::string plan = fixtures() + "/flawed_plan.docx";
  const Result strict = run("prescreen", {plan, "--json"});
  const Result lenient = run("prescreen", {plan, "--json"}, {{"prescreen.final_plan_days", "365"}});
  const auto count = [](const Result& r) {
    return nlohmann::json::parse(r.out)["summary"]["findings_by_kind"].value("final-plan-late", 0);
  };
  EXPECT_EQ(count(strict), 1);
  EXPECT_EQ(count(lenient), 0);
}

TEST(SampleDataCommandTest, WritesALibraryThatPrescreenReads) {
  const fs::path dir = fs::temp_directory_path() / "sendflow-sample-data-command-test";
  fs::remove_all(dir);
  const Result w = run("sample-data", {"--plans", "12", "--out", dir.string(), "--seed", "3"});
  ASSERT_EQ(w.code, kExitOk) << w.err;
  EXPECT_NE(w.out.find("wrote 12 EHC plans"), std::string::npos) << w.out;
  const Result r = run("prescreen", {(dir / "SEND Library").string(), "--json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["summary"]["screened"], 12);
  EXPECT_EQ(json["summary"]["unreadable"], 0);
  EXPECT_GT(json["summary"]["skipped"], 12);  // annual reviews and advice
  fs::remove_all(dir);
  EXPECT_EQ(run("sample-data", {"--plans", "0", "--out", dir.string()}).code, kExitUsage);
  EXPECT_EQ(run("sample-data", {"--plans", "5"}).code, kExitUsage);
}

}  // namespace
}  // namespace sendflow::app
