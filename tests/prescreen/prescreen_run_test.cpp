#include "server/prescreen/prescreen_run.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace sendflow::prescreen {
namespace {

namespace fs = std::filesystem;

std::string fixtures() { return std::string(SENDFLOW_SOURCE_DIR) + "/tests/fixtures/plans"; }

class PrescreenRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sendflow-prescreen-run-" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "b");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void copy(const std::string& name, const fs::path& to) {
    fs::copy_file(fixtures() + "/" + name, to, fs::copy_options::overwrite_existing);
  }
  void write(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  fs::path dir_;
};

TEST_F(PrescreenRunTest, CollectsDocumentsInNameOrderSkippingOtherFiles) {
  copy("good_plan.odt", dir_ / "b" / "2.odt");
  copy("good_plan.docx", dir_ / "b" / "1.DOCX");
  copy("good_plan.docx", dir_ / "a.docx");
  write(dir_ / "b" / "notes.txt", "not a plan");
  write(dir_ / "b" / "~$1.docx", "lock file");
  write(dir_ / ".hidden.docx", "hidden");
  auto documents = collectDocuments({dir_.string()});
  ASSERT_TRUE(documents.isOk());
  EXPECT_EQ(*documents,
            (std::vector<std::string>{(dir_ / "a.docx").string(), (dir_ / "b" / "1.DOCX").string(),
                                      (dir_ / "b" / "2.odt").string()}));
}

TEST_F(PrescreenRunTest, AMissingPathIsNotFound) {
  auto documents = collectDocuments({fixtures(), (dir_ / "nowhere").string()});
  ASSERT_FALSE(documents.isOk());
  EXPECT_EQ(documents.status().code(), core::StatusCode::kNotFound);
  EXPECT_NE(documents.status().message().find("nowhere: no such file or folder"),
            std::string::npos);
}

TEST_F(PrescreenRunTest, ReadsSidecarsAndNamesTheFaultyField) {
  copy("good_plan.docx", dir_ / "p.docx");
  write(dir_ / "p.docx.meta.json",
        R"({"PlanRef": "SF-2026-00001", "YearGroup": "Year 9", "RequestDate": "2026-01-05",
            "DateFinalised": null, "DocumentType": "EHC plan"})");
  auto metadata = readSidecar((dir_ / "p.docx").string());
  ASSERT_TRUE(metadata.isOk()) << metadata.status().toString();
  ASSERT_TRUE(metadata->has_value());
  EXPECT_EQ((*metadata)->plan_ref, "SF-2026-00001");
  EXPECT_EQ((*metadata)->year_group, 9);
  EXPECT_EQ(formatIsoDate(*(*metadata)->request_date), "2026-01-05");
  EXPECT_FALSE((*metadata)->date_finalised.has_value());

  write(dir_ / "p.docx.meta.json", R"({"RequestDate": "05/01/2026"})");
  auto bad_date = readSidecar((dir_ / "p.docx").string());
  ASSERT_FALSE(bad_date.isOk());
  EXPECT_NE(bad_date.status().message().find("p.docx.meta.json: RequestDate: '05/01/2026'"),
            std::string::npos);
  write(dir_ / "p.docx.meta.json", R"({"YearGroup": 19})");
  EXPECT_FALSE(readSidecar((dir_ / "p.docx").string()).isOk());
  write(dir_ / "p.docx.meta.json", "{not json");
  auto bad_json = readSidecar((dir_ / "p.docx").string());
  ASSERT_FALSE(bad_json.isOk());
  EXPECT_NE(bad_json.status().message().find("not valid JSON"), std::string::npos);
  auto none = readSidecar((dir_ / "absent.docx").string());
  ASSERT_TRUE(none.isOk());
  EXPECT_FALSE(none->has_value());
}

TEST_F(PrescreenRunTest, GoesOnPastBadDocumentsAndDeliversReportsInOrder) {
  // 40 documents: good, corrupt, flawed, a non-plan (skipped) and one with a broken sidecar.
  std::vector<std::string> documents;
  for (int i = 0; i < 8; ++i) {
    const std::string base = (dir_ / ("d" + std::to_string(i))).string();
    copy("good_plan.docx", base + "-a.docx");
    copy("corrupt.docx", base + "-b.docx");
    copy("flawed_plan.odt", base + "-c.odt");
    copy("flawed_plan.odt.meta.json", base + "-c.odt.meta.json");
    copy("good_plan.odt", base + "-d.odt");
    write(base + "-d.odt.meta.json", R"({"DocumentType": "EP advice"})");
    copy("good_plan.docx", base + "-e.docx");
    write(base + "-e.docx.meta.json", "[1, 2");
    for (const char* suffix : {"-a.docx", "-b.docx", "-c.odt", "-d.odt", "-e.docx"}) {
      documents.push_back(base + suffix);
    }
  }
  const Prescreener prescreener{ScreeningRules{}};
  for (int jobs : {1, 2, 4}) {
    std::vector<std::string> seen;
    std::size_t notes_about_sidecar = 0;
    RunOptions options;
    options.jobs = jobs;
    const RunSummary summary =
        screenDocuments(prescreener, documents, options, [&](const PlanReport& report) {
          seen.push_back(report.document);
          for (const auto& note : report.notes) {
            if (note.find("metadata ignored:") == 0 &&
                note.find("-e.docx.meta.json") != std::string::npos) {
              ++notes_about_sidecar;
            }
          }
        });
    std::vector<std::string> expected;
    for (const auto& d : documents) {
      if (d.find("-d.odt") == std::string::npos) expected.push_back(d);
    }
    EXPECT_EQ(seen, expected) << "jobs " << jobs;
    EXPECT_EQ(summary.documents, 40u);
    EXPECT_EQ(summary.skipped, 8u);
    EXPECT_EQ(summary.unreadable, 8u);
    EXPECT_EQ(summary.screened, 24u);
    EXPECT_EQ(summary.findings_by_kind.at("vague-provision"), 8u * 3);
    EXPECT_EQ(notes_about_sidecar, 8u);
  }
}

}  // namespace
}  // namespace sendflow::prescreen
