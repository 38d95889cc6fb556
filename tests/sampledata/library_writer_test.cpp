#include "server/sampledata/library_writer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "server/archive/zip_reader.h"
#include "server/prescreen/plan_screener.h"
#include "server/prescreen/prescreen_run.h"

namespace sendflow::sampledata {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The documents of a library as name -> (main XML part + sidecar), to compare libraries without
// comparing zip bytes (which carry timestamps).
std::map<std::string, std::string> contentOf(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    const std::string rel = fs::relative(entry.path(), root).string();
    if (rel.ends_with(".meta.json")) {
      out[rel] = slurp(entry.path());
      continue;
    }
    auto zip = archive::ZipReader::openFile(entry.path().string());
    EXPECT_TRUE(zip.isOk()) << rel;
    if (!zip.isOk()) continue;
    auto part = zip->read(rel.ends_with(".odt") ? "content.xml" : "word/document.xml");
    EXPECT_TRUE(part.isOk()) << rel;
    if (part.isOk()) out[rel] = *part;
  }
  return out;
}

// `text` matches `shape`, where '9' stands for a digit, 'a' for a lower-case letter and any other
// character for itself; a trailing '*' after 'a' repeats it 1-4 times ("a*-999" is "ep-031").
bool hasShape(const std::string& text, const std::string& shape) {
  std::size_t t = 0;
  for (std::size_t s = 0; s < shape.size(); ++s) {
    const char want = shape[s];
    if (want == 'a' && s + 1 < shape.size() && shape[s + 1] == '*') {
      std::size_t n = 0;
      while (t < text.size() && std::islower(static_cast<unsigned char>(text[t])) != 0) ++t, ++n;
      if (n < 1 || n > 4) return false;
      ++s;
      continue;
    }
    if (t >= text.size()) return false;
    const char got = text[t++];
    if (want == '9'
            ? std::isdigit(static_cast<unsigned char>(got)) == 0
            : (want == 'a' ? std::islower(static_cast<unsigned char>(got)) == 0 : got != want)) {
      return false;
    }
  }
  return t == text.size();
}

class LibraryWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           (std::string("sendflow-sampledata-") +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(LibraryWriterTest, WritesTheAgreedLayout) {
  LibraryOptions options;
  options.plans = 30;
  options.seed = 11;
  auto summary = writeLibrary(dir_.string(), options);
  ASSERT_TRUE(summary.isOk()) << summary.status().toString();
  EXPECT_EQ(summary->root, (dir_ / "SEND Library").string());
  EXPECT_EQ(summary->plans, 30);
  EXPECT_EQ(summary->docx + summary->odt, 30);
  EXPECT_GT(summary->odt, 0);
  EXPECT_GT(summary->docx, 0);
  EXPECT_EQ(summary->advice, 90);  // EP, health and social care advice for each plan
  EXPECT_GT(summary->annual_reviews, 0);
  std::map<std::string, int> per_folder;
  for (const auto& entry : fs::recursive_directory_iterator(dir_ / "SEND Library")) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    ++per_folder[entry.path().parent_path().filename().string()];
    if (!name.ends_with(".meta.json")) {
      EXPECT_TRUE(fs::exists(entry.path().string() + ".meta.json")) << name;
      EXPECT_TRUE(name.ends_with(".docx") || name.ends_with(".odt")) << name;
    }
  }
  EXPECT_EQ(per_folder["EHC Plans"], 60);
  EXPECT_EQ(per_folder["Advice"], 180);
  EXPECT_EQ(per_folder["Annual Reviews"], 2 * summary->annual_reviews);
}

TEST_F(LibraryWriterTest, SidecarsCarryExactlyTheCouncilsColumns) {
  ASSERT_TRUE(hasShape("ep-031", "a*-999") && hasShape("2026-01-31", "9999-99-99"));
  ASSERT_FALSE(hasShape("ep031", "a*-999") || hasShape("abcde-031", "a*-999") ||
               hasShape("2026-1-31", "9999-99-99") || hasShape("SF-2026-0042", "SF-2099-99999"));
  LibraryOptions options;
  options.plans = 25;
  ASSERT_TRUE(writeLibrary(dir_.string(), options).isOk());
  const std::vector<std::string> columns = {
      "Caseworker", "Contributors", "DateFinalised", "DocumentType", "Locality",
      "PlanRef",    "RequestDate",  "ReviewDue",     "Setting",      "YearGroup"};
  const auto& six = localities();
  ASSERT_EQ(six.size(), 6u);
  std::map<std::string, int> types;
  for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
    if (!entry.path().string().ends_with(".meta.json")) continue;
    const auto json = nlohmann::json::parse(slurp(entry.path()));
    std::vector<std::string> keys;
    for (const auto& [key, value] : json.items()) keys.push_back(key);
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(keys, columns) << entry.path();
    EXPECT_NE(std::find(six.begin(), six.end(), json["Locality"]), six.end());
    EXPECT_TRUE(hasShape(json["DateFinalised"].get<std::string>(), "9999-99-99"));
    EXPECT_TRUE(hasShape(json["RequestDate"].get<std::string>(), "9999-99-99"));
    EXPECT_TRUE(hasShape(json["PlanRef"].get<std::string>(), "SF-2099-99999"));
    EXPECT_TRUE(hasShape(json["Caseworker"].get<std::string>(), "cw-999"));
    ASSERT_TRUE(json["Contributors"].is_array());
    for (const auto& id : json["Contributors"]) {
      EXPECT_TRUE(hasShape(id.get<std::string>(), "a*-999")) << id;
    }
    ASSERT_TRUE(json["YearGroup"].is_number_integer());
    EXPECT_GE(json["YearGroup"].get<int>(), 0);
    EXPECT_LE(json["YearGroup"].get<int>(), 14);
    ++types[json["DocumentType"].get<std::string>()];
  }
  EXPECT_EQ(types["EHC plan"], 25);
  EXPECT_EQ(types["EP advice"], 25);
  EXPECT_EQ(types["Health advice"], 25);
  EXPECT_EQ(types["Social care advice"], 25);
  EXPECT_GT(types["Annual review"], 0);
}

TEST_F(LibraryWriterTest, TheSameSeedGivesTheSameLibraryWhateverTheThreads) {
  LibraryOptions options;
  options.plans = 40;
  options.seed = 2026;
  options.jobs = 1;
  ASSERT_TRUE(writeLibrary((dir_ / "one").string(), options).isOk());
  options.jobs = 3;
  ASSERT_TRUE(writeLibrary((dir_ / "two").string(), options).isOk());
  const auto one = contentOf(dir_ / "one");
  EXPECT_EQ(one.size(), contentOf(dir_ / "two").size());
  EXPECT_TRUE(one == contentOf(dir_ / "two"));
  options.seed = 2027;
  ASSERT_TRUE(writeLibrary((dir_ / "three").string(), options).isOk());
  EXPECT_FALSE(one == contentOf(dir_ / "three"));
}

TEST_F(LibraryWriterTest, FlawsComeAtTheRatesAsked) {
  PlanOptions options;
  options.related_documents = false;
  const int n = 4000;
  int missing = 0, unlabelled = 0, vague = 0, untimed = 0, late_advice = 0, late_final = 0;
  int pfa_missing = 0, from_year9 = 0, odt = 0;
  for (int i = 0; i < n; ++i) {
    const SyntheticPlan plan = generatePlan(99, i, options);
    missing += plan.flaws.missing_section != 0;
    unlabelled += plan.flaws.unlabelled_section != 0;
    vague += !plan.flaws.vague_phrases.empty();
    untimed += plan.flaws.outcomes_without_time_frame > 0;
    late_advice += plan.flaws.advice_outside_window > 0;
    late_final += plan.flaws.final_late;
    odt += plan.plan.odt;
    if (plan.plan.metadata.year_group >= 9) {
      ++from_year9;
      pfa_missing += plan.flaws.pfa_missing;
    } else {
      EXPECT_FALSE(plan.flaws.pfa_missing);
    }
  }
  const auto rate = [&](int count, int of) { return static_cast<double>(count) / of; };
  const FlawRates& r = options.rates;
  EXPECT_NEAR(rate(missing, n), r.missing_section, 0.03);
  EXPECT_NEAR(rate(unlabelled, n), r.unlabelled_section, 0.03);
  EXPECT_NEAR(rate(vague, n), r.vague_provision, 0.03);
  EXPECT_NEAR(rate(untimed, n), r.outcome_no_time_frame, 0.03);
  EXPECT_NEAR(rate(late_advice, n), r.advice_outside_window, 0.03);
  EXPECT_NEAR(rate(late_final, n), r.final_late, 0.03);
  EXPECT_NEAR(rate(pfa_missing, from_year9), r.missing_pfa, 0.04);
  EXPECT_NEAR(rate(odt, n), options.odt_share, 0.03);

  PlanOptions none;
  none.rates = FlawRates{0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 200; ++i) {
    const PlanFlaws f = generatePlan(99, i, none).flaws;
    EXPECT_TRUE(f.missing_section == 0 && f.unlabelled_section == 0 && f.vague_phrases.empty() &&
                f.outcomes_without_time_frame == 0 && !f.pfa_missing &&
                f.advice_outside_window == 0 && !f.final_late);
  }
}

// The ground truth of the generator and the pre-screener agree plan by plan: every flaw put in is
// found, and nothing else is.
TEST_F(LibraryWriterTest, PrescreeningFindsExactlyTheFlawsEachPlanWasGiven) {
  LibraryOptions options;
  options.plans = 400;
  options.seed = 5;
  options.plan.related_documents = false;
  auto summary = writeLibrary(dir_.string(), options);
  ASSERT_TRUE(summary.isOk());
  const prescreen::Prescreener prescreener{prescreen::ScreeningRules{}};
  using prescreen::FindingKind;
  int checked = 0;
  for (const auto& record : summary->plan_records) {
    auto sidecar = prescreen::readSidecar(record.path);
    ASSERT_TRUE(sidecar.isOk() && sidecar->has_value()) << record.path;
    const prescreen::PlanReport report = prescreener.screenFile(record.path, **sidecar);
    ASSERT_TRUE(report.readable) << record.path;
    std::vector<std::string> missing, unlabelled, vague;
    int untimed = 0, pfa = 0, advice = 0, late = 0, other = 0;
    for (const auto& f : report.findings) {
      switch (f.kind) {
        case FindingKind::kSectionMissing:
          missing.push_back(f.section);
          break;
        case FindingKind::kSectionUnlabelled:
          unlabelled.push_back(f.section);
          break;
        case FindingKind::kVagueProvision:
          vague.push_back(f.phrase);
          break;
        case FindingKind::kOutcomeNoTimeFrame:
          ++untimed;
          break;
        case FindingKind::kPfaOutcomesMissing:
          ++pfa;
          break;
        case FindingKind::kAdviceOutsideWindow:
          ++advice;
          break;
        case FindingKind::kFinalPlanLate:
          ++late;
          break;
        default:
          ++other;
      }
    }
    const PlanFlaws& want = record.flaws;
    const auto letters = [](char c) {
      return c == 0 ? std::vector<std::string>{} : std::vector<std::string>{std::string(1, c)};
    };
    EXPECT_EQ(missing, letters(want.missing_section)) << record.path;
    EXPECT_EQ(unlabelled, letters(want.unlabelled_section)) << record.path;
    EXPECT_EQ(vague, want.vague_phrases) << record.path;
    EXPECT_EQ(untimed, want.outcomes_without_time_frame) << record.path;
    EXPECT_EQ(pfa, want.pfa_missing ? 1 : 0) << record.path;
    EXPECT_EQ(advice, want.advice_outside_window) << record.path;
    EXPECT_EQ(late, want.final_late ? 1 : 0) << record.path;
    EXPECT_EQ(other, 0) << record.path;
    ++checked;
  }
  EXPECT_EQ(checked, 400);
}

TEST_F(LibraryWriterTest, RejectsBadOptionsAndUnwritableFolders) {
  LibraryOptions options;
  options.plans = 0;
  EXPECT_EQ(writeLibrary(dir_.string(), options).status().code(),
            core::StatusCode::kInvalidArgument);
  options.plans = 1;
  options.library = "../escape";
  EXPECT_EQ(writeLibrary(dir_.string(), options).status().code(),
            core::StatusCode::kInvalidArgument);
  options.library = "SEND Library";
  fs::create_directories(dir_);
  std::ofstream(dir_ / "file") << "x";
  auto blocked = writeLibrary((dir_ / "file").string(), options);
  ASSERT_FALSE(blocked.isOk());
  EXPECT_EQ(blocked.status().code(), core::StatusCode::kUnavailable);
  EXPECT_NE(blocked.status().message().find("cannot create the folder"), std::string::npos);
}

}  // namespace
}  // namespace sendflow::sampledata
