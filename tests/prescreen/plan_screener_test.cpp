// Pre-screening of the fixture plans in tests/fixtures/plans (written by make_fixtures.py with
// python-docx and hand-written ODF, independently of sendflow's own writer).
#include "server/prescreen/plan_screener.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "server/prescreen/prescreen_run.h"

namespace sendflow::prescreen {
namespace {

std::string fixture(const std::string& name) {
  return std::string(SENDFLOW_SOURCE_DIR) + "/tests/fixtures/plans/" + name;
}

class PlanScreenerTest : public ::testing::Test {
 protected:
  PlanReport screen(const std::string& name) {
    PlanMetadata metadata;
    auto sidecar = readSidecar(fixture(name));
    EXPECT_TRUE(sidecar.isOk()) << sidecar.status().toString();
    if (sidecar.isOk() && sidecar->has_value()) metadata = **sidecar;
    return prescreener_.screenFile(fixture(name), metadata);
  }
  static std::vector<const Finding*> of(const PlanReport& report, FindingKind kind) {
    std::vector<const Finding*> out;
    for (const Finding& f : report.findings) {
      if (f.kind == kind) out.push_back(&f);
    }
    return out;
  }
  static std::string describe(const PlanReport& report) {
    std::ostringstream out;
    for (const Finding& f : report.findings) {
      out << findingKindId(f.kind) << " @ " << f.location << ": " << f.detail << "\n";
    }
    return out.str();
  }

  Prescreener prescreener_{ScreeningRules{}};
};

TEST_F(PlanScreenerTest, WellWrittenPlansHaveNoFindings) {
  for (const char* name : {"good_plan.docx", "good_plan.odt"}) {
    const PlanReport report = screen(name);
    EXPECT_TRUE(report.readable) << name;
    EXPECT_TRUE(report.findings.empty()) << name << "\n" << describe(report);
    EXPECT_EQ(report.sections_found,
              (std::vector<std::string>{"A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K"}))
        << name;
  }
}

TEST_F(PlanScreenerTest, ReadsHeadingsInStylesBoldParagraphsAndTables) {
  // good_plan.docx heads B with a bold paragraph ("B – ..."), C in a table cell and the rest
  // with Word heading styles; good_plan.odt uses text:h, bold paragraph styles ("C. Health
  // needs") and a paragraph style inheriting from a heading style.
  EXPECT_EQ(screen("good_plan.docx").format, "docx");
  EXPECT_EQ(screen("good_plan.odt").format, "odt");
}

TEST_F(PlanScreenerTest, FindsMissingAndUnlabelledSections) {
  const PlanReport docx = screen("flawed_plan.docx");
  ASSERT_EQ(of(docx, FindingKind::kSectionMissing).size(), 1u) << describe(docx);
  EXPECT_EQ(of(docx, FindingKind::kSectionMissing)[0]->section, "G");
  ASSERT_EQ(of(docx, FindingKind::kSectionUnlabelled).size(), 1u);
  EXPECT_EQ(of(docx, FindingKind::kSectionUnlabelled)[0]->section, "J");

  const PlanReport odt = screen("flawed_plan.odt");
  ASSERT_EQ(of(odt, FindingKind::kSectionMissing).size(), 1u) << describe(odt);
  EXPECT_EQ(of(odt, FindingKind::kSectionMissing)[0]->section, "C");
}

TEST_F(PlanScreenerTest, QuotesVagueProvisionWithItsLocation) {
  const PlanReport docx = screen("flawed_plan.docx");
  const auto vague = of(docx, FindingKind::kVagueProvision);
  std::vector<std::string> phrases;
  for (const Finding* f : vague) phrases.push_back(f->phrase);
  EXPECT_EQ(phrases,
            (std::vector<std::string>{"access to", "as required", "regular", "opportunities"}));
  ASSERT_FALSE(vague.empty());
  EXPECT_EQ(vague[0]->quote, "Sam will have access to speech and language therapy as required.");
  EXPECT_EQ(vague[0]->location, "Section F, paragraph 1");
  EXPECT_EQ(vague[0]->section, "F");

  const PlanReport odt = screen("flawed_plan.odt");
  phrases.clear();
  for (const Finding* f : of(odt, FindingKind::kVagueProvision)) phrases.push_back(f->phrase);
  // "May 2025" is a month, not the modal verb: only the verb "may" is flagged, once.
  EXPECT_EQ(phrases, (std::vector<std::string>{"should", "up to", "may"}));
}

TEST_F(PlanScreenerTest, FindsOutcomesWithNoTimeFrameInParagraphsAndTables) {
  const PlanReport docx = screen("flawed_plan.docx");
  ASSERT_EQ(of(docx, FindingKind::kOutcomeNoTimeFrame).size(), 1u) << describe(docx);
  EXPECT_EQ(of(docx, FindingKind::kOutcomeNoTimeFrame)[0]->quote,
            "Sam will improve his reading and writing skills.");
  const PlanReport odt = screen("flawed_plan.odt");
  ASSERT_EQ(of(odt, FindingKind::kOutcomeNoTimeFrame).size(), 1u) << describe(odt);
  EXPECT_EQ(of(odt, FindingKind::kOutcomeNoTimeFrame)[0]->location, "Section E, table 1, row 2");
}

TEST_F(PlanScreenerTest, FindsMissingPreparationForAdulthoodFromYearNine) {
  EXPECT_EQ(of(screen("flawed_plan.docx"), FindingKind::kPfaOutcomesMissing).size(), 1u);
  EXPECT_EQ(of(screen("flawed_plan.odt"), FindingKind::kPfaOutcomesMissing).size(), 1u);

  // The same plan for a Year 8 pupil: not expected yet.
  PlanMetadata year8;
  year8.year_group = 8;
  const PlanReport report = prescreener_.screenFile(fixture("flawed_plan.docx"), year8);
  EXPECT_TRUE(of(report, FindingKind::kPfaOutcomesMissing).empty());
}

TEST_F(PlanScreenerTest, FindsAdviceOutsideTheSixWeekWindowEitherSide) {
  const PlanReport late = screen("flawed_plan.docx");
  const auto docx = of(late, FindingKind::kAdviceOutsideWindow);
  ASSERT_EQ(docx.size(), 1u) << describe(late);
  EXPECT_NE(docx[0]->detail.find("2025-04-14, 14 weeks after advice was requested on 2025-01-06"),
            std::string::npos)
      << docx[0]->detail;
  const PlanReport stale = screen("flawed_plan.odt");
  const auto odt = of(stale, FindingKind::kAdviceOutsideWindow);
  ASSERT_EQ(odt.size(), 1u) << describe(stale);
  EXPECT_NE(odt[0]->detail.find("before advice was requested on 2024-09-01"), std::string::npos);
}

TEST_F(PlanScreenerTest, FindsAFinalPlanLaterThanTwentyWeeks) {
  const PlanReport report = screen("flawed_plan.docx");
  const auto late = of(report, FindingKind::kFinalPlanLate);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_NE(late[0]->detail.find("31 weeks after the request for assessment on 2024-11-25"),
            std::string::npos)
      << late[0]->detail;
  EXPECT_TRUE(
      of(screen("flawed_plan.odt"), FindingKind::kFinalPlanLate).empty());  // 18 weeks 6 days
}

TEST_F(PlanScreenerTest, StatutoryWindowsAreRules) {
  ScreeningRules rules;
  rules.final_plan_days = 7 * 32;
  rules.advice_window_days = 7 * 15;
  rules.pfa_from_year_group = 12;
  rules.vague_phrases = {"sit near"};
  const Prescreener lenient(rules);
  auto sidecar = readSidecar(fixture("flawed_plan.docx"));
  ASSERT_TRUE(sidecar.isOk() && sidecar->has_value());
  const PlanReport report = lenient.screenFile(fixture("flawed_plan.docx"), **sidecar);
  EXPECT_TRUE(of(report, FindingKind::kFinalPlanLate).empty());
  EXPECT_TRUE(of(report, FindingKind::kAdviceOutsideWindow).empty());
  EXPECT_TRUE(of(report, FindingKind::kPfaOutcomesMissing).empty());
  EXPECT_TRUE(of(report, FindingKind::kVagueProvision).empty());
  auto odt_sidecar = readSidecar(fixture("flawed_plan.odt"));
  const PlanReport odt = lenient.screenFile(fixture("flawed_plan.odt"), **odt_sidecar);
  ASSERT_EQ(of(odt, FindingKind::kVagueProvision).size(), 1u);
  EXPECT_EQ(of(odt, FindingKind::kVagueProvision)[0]->phrase, "sit near");
}

TEST_F(PlanScreenerTest, UnreadableDocumentsGiveOneFindingNamingTheFile) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"corrupt.docx", "not a valid zip package"},
      {"encrypted.docx", "password-protected"},
      {"encrypted.odt", "password-protected"},
      {"malformed_xml.docx", "'word/document.xml' line 1 is not well-formed XML"},
      {"not_a_document.docx", "neither a Word (.docx) nor an OpenDocument (.odt)"},
  };
  for (const auto& [name, words] : cases) {
    const PlanReport report = prescreener_.screenFile(fixture(name), {});
    EXPECT_FALSE(report.readable) << name;
    ASSERT_EQ(report.findings.size(), 1u) << name;
    EXPECT_EQ(report.findings[0].kind, FindingKind::kUnreadable);
    EXPECT_NE(report.findings[0].detail.find(fixture(name)), std::string::npos)
        << report.findings[0].detail;
    EXPECT_NE(report.findings[0].detail.find(words), std::string::npos)
        << report.findings[0].detail;
  }
}

TEST_F(PlanScreenerTest, ADocumentWithNoSectionsSaysSo) {
  const PlanReport report = prescreener_.screenFile(fixture("no_sections.docx"), {});
  EXPECT_TRUE(report.readable);
  ASSERT_EQ(report.findings.size(), 1u);
  EXPECT_EQ(report.findings[0].kind, FindingKind::kNoSections);
}

TEST_F(PlanScreenerTest, ScreensBytesFromAConnectorLikeFiles) {
  std::ifstream in(fixture("flawed_plan.odt"), std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  const PlanReport report = prescreener_.screenBytes(bytes.str(), "intranet:FX-0004", {});
  EXPECT_EQ(report.document, "intranet:FX-0004");
  EXPECT_EQ(of(report, FindingKind::kVagueProvision).size(), 3u);
  const PlanReport garbage = prescreener_.screenBytes("not a zip", "intranet:bad", {});
  EXPECT_FALSE(garbage.readable);
  EXPECT_NE(garbage.findings[0].detail.find("intranet:bad"), std::string::npos);
}

TEST(ScreeningRulesTest, ReadsSettingsAndNamesTheBadKey) {
  auto rules = ScreeningRules::fromSection(
      {{"final_plan_days", "98"}, {"vague_phrases", "as needed, ad hoc ,"}}, "sendflow.properties");
  ASSERT_TRUE(rules.isOk()) << rules.status().toString();
  EXPECT_EQ(rules->final_plan_days, 98);
  EXPECT_EQ(rules->vague_phrases, (std::vector<std::string>{"as needed", "ad hoc"}));
  auto bad =
      ScreeningRules::fromSection({{"advice_window_days", "six weeks"}}, "sendflow.properties");
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().message(),
            "sendflow.properties: prescreen.advice_window_days: 'six weeks' is not a positive "
            "whole number");
  auto unknown = ScreeningRules::fromSection({{"final_plan_weeks", "20"}}, "f");
  ASSERT_FALSE(unknown.isOk());
  EXPECT_NE(unknown.status().message().find("prescreen.final_plan_weeks: unknown key"),
            std::string::npos);
}

}  // namespace
}  // namespace sendflow::prescreen
