#include "server/prescreen/prescreen_action.h"

#include <gtest/gtest.h>

namespace sendflow::prescreen {
namespace {

std::string fixture(const std::string& name) {
  return std::string(SENDFLOW_SOURCE_DIR) + "/tests/fixtures/plans/" + name;
}

class PrescreenActionTest : public ::testing::Test {
 protected:
  Prescreener prescreener_{ScreeningRules{}};
};

TEST_F(PrescreenActionTest, ScreensPathsAndListsOnlyPlansWithFindings) {
  auto result = runPrescreenAction(prescreener_, {{"paths", {fixture("")}}, {"jobs", 2}});
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ((*result)["summary"]["documents"], 10);
  EXPECT_EQ((*result)["summary"]["screened"], 5);
  EXPECT_EQ((*result)["reports"].size(), 8u);  // the two good plans are left out
  auto all = runPrescreenAction(prescreener_, {{"paths", {fixture("")}}, {"include_clean", true}});
  ASSERT_TRUE(all.isOk());
  EXPECT_EQ((*all)["reports"].size(), 10u);
}

TEST_F(PrescreenActionTest, UsesTheMetadataAConnectorMapped) {
  const nlohmann::json params = {
      {"items",
       {{{"path", fixture("good_plan.docx")},
         {"metadata",
          {{"plan_ref", "SP-1"},
           {"year_group", 10},
           {"request_date", "2024-01-01"},
           {"finalised_date", "2024-12-01"},
           {"document_type", "EHC plan"}}}},
        {{"path", fixture("good_plan.odt")}, {"metadata", {{"document_type", "EP advice"}}}}}}};
  auto result = runPrescreenAction(prescreener_, params);
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ((*result)["summary"]["skipped"], 1);
  ASSERT_EQ((*result)["reports"].size(), 1u);
  const auto& report = (*result)["reports"][0];
  EXPECT_EQ(report["plan_ref"], "SP-1");
  ASSERT_EQ(report["findings"].size(), 1u);
  EXPECT_EQ(report["findings"][0]["kind"], "final-plan-late");
}

TEST_F(PrescreenActionTest, BadParametersNameTheFieldAndBadFilesAreFindings) {
  auto bad_items = runPrescreenAction(prescreener_, {{"items", {{{"name", "x"}}}}});
  ASSERT_FALSE(bad_items.isOk());
  EXPECT_EQ(bad_items.status().message(), "prescreen.plans: items[0]: needs a \"path\" string");
  auto bad_date = runPrescreenAction(
      prescreener_,
      {{"items",
        {{{"path", fixture("good_plan.docx")}, {"metadata", {{"request_date", "soon"}}}}}}});
  ASSERT_FALSE(bad_date.isOk());
  EXPECT_NE(bad_date.status().message().find("items[0]: metadata: request_date: 'soon'"),
            std::string::npos)
      << bad_date.status().message();
  EXPECT_FALSE(runPrescreenAction(prescreener_, {{"jobs", "two"}}).isOk());
  EXPECT_EQ(runPrescreenAction(prescreener_, {{"paths", {"no/such/folder"}}}).status().code(),
            core::StatusCode::kNotFound);
  auto missing_file =
      runPrescreenAction(prescreener_, {{"items", {{{"path", fixture("gone.docx")}}}}});
  ASSERT_TRUE(missing_file.isOk());
  EXPECT_EQ((*missing_file)["summary"]["unreadable"], 1);
  EXPECT_EQ((*missing_file)["reports"][0]["findings"][0]["kind"], "unreadable");
}

}  // namespace
}  // namespace sendflow::prescreen
