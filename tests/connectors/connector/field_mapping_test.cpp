#include "connectors/connector/field_mapping.h"

#include <gtest/gtest.h>

namespace sendflow::connectors {
namespace {

TEST(FieldMappingTest, ReadsTheSampleLibrarySidecarColumns) {
  const auto columns = nlohmann::json::parse(R"({"Locality": "North", "DateFinalised": "2026-10-02",
      "Caseworker": "cw-014", "Contributors": ["ep-003", "hv-010"], "YearGroup": 9,
      "Setting": "Mainstream primary", "RequestDate": "2026-05-11", "DocumentType": "EHC plan",
      "ReviewDue": null})");
  auto m = FieldMapping().read(columns);
  ASSERT_TRUE(m.isOk()) << m.status().toString();
  EXPECT_EQ(m->locality, "North");
  EXPECT_EQ(m->finalised_date, "2026-10-02");
  EXPECT_EQ(m->caseworker, "cw-014");
  EXPECT_EQ(m->contributors, (std::vector<std::string>{"ep-003", "hv-010"}));
  EXPECT_EQ(m->year_group, "9");
  EXPECT_EQ(m->review_date, "");
  EXPECT_EQ(m->document_type, "EHC plan");
}

TEST(FieldMappingTest, ReadsSharePointPersonShapesAndUtcDates) {
  const auto verbose = nlohmann::json::parse(R"({
      "Caseworker": {"__metadata": {"type": "SP.Data.UserInfoItem"}, "Title": "cw-014"},
      "Contributors": {"results": [{"Title": "ep-003"}, {"Title": "hv-010"}]},
      "DateFinalised": "2026-10-02T00:00:00Z", "YearGroup": 9.0})");
  auto m = FieldMapping().read(verbose);
  ASSERT_TRUE(m.isOk()) << m.status().toString();
  EXPECT_EQ(m->caseworker, "cw-014");
  EXPECT_EQ(m->contributors, (std::vector<std::string>{"ep-003", "hv-010"}));
  EXPECT_EQ(m->finalised_date, "2026-10-02");
  EXPECT_EQ(m->year_group, "9");

  const auto graph = nlohmann::json::parse(R"({
      "Caseworker": [{"LookupId": 7, "LookupValue": "cw-001", "Email": ""}],
      "Contributors": "ep-003; hv-010", "YearGroup": "Reception"})");
  m = FieldMapping().read(graph);
  ASSERT_TRUE(m.isOk()) << m.status().toString();
  EXPECT_EQ(m->caseworker, "cw-001");
  EXPECT_EQ(m->contributors, (std::vector<std::string>{"ep-003", "hv-010"}));
  EXPECT_EQ(m->year_group, "R");
}

TEST(FieldMappingTest, BadValuesNameTheColumnAndTheValue) {
  auto m = FieldMapping().read(nlohmann::json::parse(R"({"DateFinalised": "02/10/2026"})"));
  ASSERT_FALSE(m.isOk());
  EXPECT_EQ(m.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("'DateFinalised'"), std::string::npos);
  EXPECT_NE(m.status().message().find("02/10/2026"), std::string::npos);

  m = FieldMapping().read(nlohmann::json::parse(R"({"YearGroup": 19})"));
  ASSERT_FALSE(m.isOk());
  EXPECT_NE(m.status().message().find("year group"), std::string::npos) << m.status().toString();

  m = FieldMapping().read(nlohmann::json::parse(R"({"Caseworker": {"__deferred": {"uri": "x"}}})"));
  ASSERT_FALSE(m.isOk());
  EXPECT_NE(m.status().message().find("not expanded"), std::string::npos) << m.status().toString();
}

TEST(FieldMappingTest, ConfigurationRenamesColumnsAndRejectsUnknownFields) {
  auto mapping = FieldMapping::fromConfig(
      {{"locality", "Area"}, {"finalised_date", "Final issued"}}, "council.properties");
  ASSERT_TRUE(mapping.isOk());
  auto m = mapping->read(nlohmann::json::parse(R"({"Area": "West", "Final issued": "2026-01-05",
                                                  "Locality": "ignored"})"));
  ASSERT_TRUE(m.isOk());
  EXPECT_EQ(m->locality, "West");
  EXPECT_EQ(m->finalised_date, "2026-01-05");

  auto bad = FieldMapping::fromConfig({{"postcode", "PostCode"}}, "council.properties");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(
      bad.status().message().find("council.properties: connector.fields.postcode: unknown field"),
      std::string::npos)
      << bad.status().toString();
}

TEST(FieldMappingTest, WriteIsTheInverseOfRead) {
  DocumentMetadata m;
  m.locality = "South";
  m.finalised_date = "2026-03-04";
  m.contributors = {"ep-001", "sw-002"};
  m.year_group = "R";
  m.document_type = "Audit report";
  const FieldMapping mapping;
  auto back = mapping.read(mapping.write(m));
  ASSERT_TRUE(back.isOk());
  EXPECT_EQ(*back, m);
  EXPECT_FALSE(mapping.write(m).contains("Caseworker"));  // empty fields are left out
}

}  // namespace
}  // namespace sendflow::connectors
