#include "server/app/module_actions.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "server/archive/zip_reader.h"
#include "server/sampledata/library_writer.h"

namespace sendflow::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ModuleActionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sendflow-actions-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    sampledata::LibraryOptions library;
    library.plans = 30;
    library.seed = 7;
    ASSERT_TRUE(sampledata::writeLibrary((dir_ / "intranet").string(), library).isOk());
    settings_ =
        Settings::fromMap({{"documents.dir", (dir_ / "documents").string()},
                           {"templates.dir", std::string(SENDFLOW_SOURCE_DIR) + "/templates"},
                           {"council.name", "Sample Council"},
                           {"connector.type", "folder"},
                           {"connector.folder.root", (dir_ / "intranet").string()},
                           {"connector.library", "SEND Library"}},
                          "test.properties");
    ASSERT_TRUE(registerModuleActions(registry_, settings_, {}, clock_).isOk());
    context_.instance_id = "inst-1";
    context_.step_id = "briefing";
    context_.now = clock_.now();
  }
  void TearDown() override { fs::remove_all(dir_); }

  core::StatusOr<json> run(const std::string& action, const json& params) {
    const engine::RegisteredAction* registered = registry_.find(action);
    if (registered == nullptr) return core::notFound(action);
    return registered->handler(params, context_);
  }

  fs::path dir_;
  Settings settings_ = Settings::fromMap({});
  core::ManualClock clock_{
      core::TimePoint(std::chrono::sys_days(std::chrono::year{2026} / 11 / 2))};
  engine::ActionRegistry registry_;
  engine::ActionContext context_;
};

TEST_F(ModuleActionsTest, PullKeepsOnlyTheCollectionsDocumentTypeAndDates) {
  auto all = run("documents.pull", {{"collection", "ehc-plans"}});
  ASSERT_TRUE(all.isOk()) << all.status().toString();
  EXPECT_EQ((*all)["count"], 30);
  for (const json& item : (*all)["items"]) EXPECT_EQ(item["document_type"], "EHC plan");

  auto recent =
      run("documents.pull", {{"collection", "ehc-plans"}, {"finalised_since", "2025-01-01"}});
  ASSERT_TRUE(recent.isOk());
  EXPECT_LT((*recent)["count"].get<int>(), 30);
  for (const json& item : (*recent)["items"]) {
    EXPECT_GE(item["finalised_date"].get<std::string>(), "2025-01-01");
    EXPECT_FALSE(item["locality"].get<std::string>().empty());
  }
}

TEST_F(ModuleActionsTest, PullRejectsAnUnknownCollectionByName) {
  auto result = run("documents.pull", {{"collection", "minutes"}});
  ASSERT_FALSE(result.isOk());
  EXPECT_NE(result.status().message().find("unknown collection 'minutes'"), std::string::npos);
}

TEST_F(ModuleActionsTest, PulledPlansCanBePrescreened) {
  auto pulled = run("documents.pull", {{"collection", "ehc-plans"}, {"download", true}});
  ASSERT_TRUE(pulled.isOk()) << pulled.status().toString();
  json items = json::array();
  for (const json& item : (*pulled)["items"]) {
    ASSERT_TRUE(fs::exists(item["local_path"].get<std::string>()));
    items.push_back({{"path", item["local_path"]}, {"metadata", {{"document_type", "EHC plan"}}}});
  }
  auto screened = run("prescreen.plans", {{"items", items}, {"include_clean", true}});
  ASSERT_TRUE(screened.isOk()) << screened.status().toString();
  EXPECT_EQ((*screened)["reports"].size(), 30u);
}

TEST_F(ModuleActionsTest, SummariseCountsGradesInTheirFixedOrder) {
  auto summary = run("grades.summarise", {{"audits", json::array({{{"final_grade", "Good"}},
                                                                  {{"final_grade", "Inadequate"}},
                                                                  {{"final_grade", "Good"}},
                                                                  {{"final_grade", "Outstanding"}},
                                                                  {{"other", 1}}})}});
  ASSERT_TRUE(summary.isOk());
  EXPECT_EQ((*summary)["audited"], 5);
  EXPECT_EQ((*summary)["graded"], 4);
  EXPECT_EQ((*summary)["grades"][1]["grade"], "Good");
  EXPECT_EQ((*summary)["grades"][1]["count"], 2);
  EXPECT_DOUBLE_EQ((*summary)["good_or_better_percent"].get<double>(), 75.0);
  EXPECT_EQ((*summary)["grades_chart"]["series"][0]["values"], json({1, 2, 0, 1}));
}

TEST_F(ModuleActionsTest, RenderWritesTheDocumentWithNestedDataAndTheCouncil) {
  auto rendered = run("document.render", {{"template", "five-minute-briefing"},
                                          {"theme", "Preparing for adulthood"},
                                          {"audit.plans_audited", 12},
                                          {"audit.overview", "Twelve plans & their advice"}});
  ASSERT_TRUE(rendered.isOk()) << rendered.status().toString();
  const std::string path = (*rendered)["path"];
  ASSERT_TRUE(fs::exists(path));
  auto package = archive::ZipReader::openFile(path);
  ASSERT_TRUE(package.isOk());
  auto body = package->read("word/document.xml");
  ASSERT_TRUE(body.isOk());
  EXPECT_NE(body->find("Preparing for adulthood"), std::string::npos);
  EXPECT_NE(body->find("Twelve plans &amp; their advice"), std::string::npos);
  EXPECT_NE(body->find("Sample Council"), std::string::npos);
}

TEST_F(ModuleActionsTest, PublishPutsTheRenderedReportInTheLibraryWithItsType) {
  auto rendered = run("document.render", {{"template", "five-minute-briefing"}});
  ASSERT_TRUE(rendered.isOk()) << rendered.status().toString();
  auto published = run("documents.publish", {{"document", *rendered}});
  ASSERT_TRUE(published.isOk()) << published.status().toString();
  EXPECT_EQ((*published)["document_type"], "QA report");
  const fs::path in_library =
      dir_ / "intranet" / "SEND Library" / "QA Reports" / (*rendered)["name"].get<std::string>();
  EXPECT_TRUE(fs::exists(in_library));
  EXPECT_EQ(fs::file_size(in_library), (*rendered)["size"].get<std::uintmax_t>());
}

TEST_F(ModuleActionsTest, RenderNamesAMissingTemplate) {
  auto rendered = run("document.render", {{"template", "board-pack"}});
  ASSERT_FALSE(rendered.isOk());
  EXPECT_NE(rendered.status().message().find("board-pack"), std::string::npos);
}

}  // namespace
}  // namespace sendflow::app
