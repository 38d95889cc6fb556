#include "server/prescreen/plan_screener.h"

#include <array>
#include <cstdio>
#include <fstream>

#include "server/prescreen/document_stream.h"
#include "server/prescreen/section_heading.h"

namespace sendflow::prescreen {
namespace {

constexpr int kSectionE = 4;
constexpr int kSectionF = 5;
constexpr int kSectionK = 10;
constexpr std::size_t kMaxQuote = 240;

std::string sectionName(int section) { return std::string(1, kSectionLetters[section]); }

std::string lower(std::string_view s) {
  std::string out(s.size(), ' ');
  for (std::size_t i = 0; i < s.size(); ++i) {
    out[i] = static_cast<char>(lowerAscii(static_cast<unsigned char>(s[i])));
  }
  return out;
}

// The sentence of `text` around [offset, offset + length), shortened to kMaxQuote bytes.
std::string sentenceAround(std::string_view text, std::size_t offset, std::size_t length) {
  std::size_t begin = offset;
  while (begin > 0) {
    const char c = text[begin - 1];
    if ((c == '.' || c == '!' || c == '?' || c == ';') && begin < text.size() &&
        text[begin] == ' ') {
      break;
    }
    --begin;
  }
  while (begin < offset && text[begin] == ' ') ++begin;
  std::size_t end = offset + length;
  while (end < text.size()) {
    const char c = text[end++];
    if ((c == '.' || c == '!' || c == '?' || c == ';') &&
        (end == text.size() || text[end] == ' ')) {
      break;
    }
  }
  std::string quote(text.substr(begin, end - begin));
  if (quote.size() > kMaxQuote) {
    const std::size_t rel = offset - begin;
    const std::size_t from = rel > kMaxQuote / 2 ? rel - kMaxQuote / 2 : 0;
    std::size_t cut = std::min(kMaxQuote, quote.size() - from);
    while (from + cut < quote.size() && cut > 0 &&
           (static_cast<unsigned char>(quote[from + cut]) & 0xC0) == 0x80) {
      --cut;  // do not split a UTF-8 sequence
    }
    std::size_t start = from;
    while (start < quote.size() && (static_cast<unsigned char>(quote[start]) & 0xC0) == 0x80) {
      ++start;
    }
    quote = (start > 0 ? "..." : "") + quote.substr(start, cut - (start - from)) +
            (from + cut < quote.size() ? "..." : "");
  }
  return quote;
}

std::string shorten(std::string_view text) {
  if (text.size() <= kMaxQuote) return std::string(text);
  return sentenceAround(text, 0, 0);
}

int countWords(std::string_view s) {
  int words = 0;
  bool in_word = false;
  for (char c : s) {
    const bool w = c != ' ';
    if (w && !in_word) ++words;
    in_word = w;
  }
  return words;
}

std::string weeksAndDays(long days) {
  const long weeks = days / 7;
  const long rest = days % 7;
  std::string out = std::to_string(weeks) + (weeks == 1 ? " week" : " weeks");
  if (rest != 0) out += " " + std::to_string(rest) + (rest == 1 ? " day" : " days");
  return out;
}

const PhraseMatcher& pfaCues() {
  static const PhraseMatcher kCues(
      {"preparation for adulthood", "preparing for adulthood", "pfa", "employment", "paid work",
       "employability", "independent living", "live independently", "living independently",
       "friends, relationships and community", "community inclusion", "community participation",
       "good health", "adult life", "adulthood", "supported internship", "further education",
       "college"});
  return kCues;
}

// Where a paragraph or table row sits, formatted only when a finding needs it.
struct Where {
  int section = 0;
  int table = 0;  // within the section; 0 for a paragraph
  int row = 0;
  int cell = 0;       // 0 for a whole row
  int paragraph = 0;  // within the section, outside tables

  std::string describe() const {
    std::string out = "Section " + sectionName(section);
    if (table == 0) return out + ", paragraph " + std::to_string(paragraph);
    out += ", table " + std::to_string(table) + ", row " + std::to_string(row);
    if (cell > 0) out += ", cell " + std::to_string(cell);
    return out;
  }
};

struct AdviceEntry {
  Date date;
  Where where;
  std::string quote;
};

// Receives the paragraphs of one plan in order and keeps only what the rules need.
class PlanScreener final : public BlockSink {
 public:
  PlanScreener(const ScreeningRules& rules, const PhraseMatcher& vague, PlanReport& report)
      : rules_(rules), vague_(vague), report_(report) {}

  void onBlock(const TextBlock& block) override {
    const bool heading_like = block.heading || block.bold ||
                              (block.table > 0 && block.cell == 1 && block.text.size() < 100);
    if (auto heading = detectSectionHeading(block.text, heading_like)) {
      const int s = heading->section;
      // A title alone after its section was seen labelled is a sub-heading, not a new section.
      if (heading->labelled || !seen_[s]) {
        flushRow();
        enterSection(s, heading->labelled);
        return;
      }
    }
    // Only sections E, F and K are read beyond their headings.
    if (current_ != kSectionE && current_ != kSectionF && current_ != kSectionK) return;
    if (block.table > 0) {
      if (block.table != last_table_) {
        last_table_ = block.table;
        ++tables_in_section_;
      }
      if (tables_in_section_ != row_table_ || block.row != row_) flushRow();
      row_table_ = tables_in_section_;
      row_ = block.row;
      if (!row_text_.empty()) row_text_ += " | ";
      row_text_ += block.text;
    } else {
      flushRow();
      ++paragraphs_in_section_;
    }
    const Where where = block.table > 0
                            ? Where{current_, tables_in_section_, block.row, block.cell, 0}
                            : Where{current_, 0, 0, 0, paragraphs_in_section_};
    if (current_ == kSectionF) checkProvision(block.text, where);
    if (current_ == kSectionE) {
      if (!pfa_seen_) notePfa(block.text);
      if (block.table == 0 && !block.heading && !block.bold) checkOutcome(block.text, where);
    }
    if (current_ == kSectionK && block.table == 0) noteAdvice(block.text, where);
  }

  void finish() {
    flushRow();
    int found = 0;
    for (int s = 0; s < kSectionCount; ++s) {
      if (seen_[s]) ++found;
    }
    if (found == 0) {
      report_.findings.push_back(
          {FindingKind::kNoSections, "", "whole document", "", "",
           "no heading of sections A to K was recognised, so nothing else could be checked; is "
           "this an EHC plan, and are its sections headed 'Section A: ...'?"});
      return;
    }
    for (int s = 0; s < kSectionCount; ++s) {
      if (!seen_[s]) {
        report_.findings.push_back(
            {FindingKind::kSectionMissing, sectionName(s), "whole document", "", "",
             "section " + sectionName(s) + " (" + sectionTitle(s) +
                 ") was not found; a plan must include every section A to K, stating 'none' or "
                 "'not applicable' where that is the case"});
      } else if (!labelled_[s]) {
        report_.findings.push_back(
            {FindingKind::kSectionUnlabelled, sectionName(s),
             "heading of section " + sectionName(s), "", "",
             "the heading '" + std::string(sectionTitle(s)) + "' is not labelled with its letter " +
                 sectionName(s) + "; families and professionals find sections by their letters"});
      }
    }
    checkPfa();
    checkAdviceWindow();
  }

 private:
  void enterSection(int s, bool labelled) {
    current_ = s;
    paragraphs_in_section_ = 0;
    tables_in_section_ = 0;
    if (!seen_[s]) {
      seen_[s] = true;
      report_.sections_found.push_back(sectionName(s));
    }
    if (labelled) labelled_[s] = true;
  }

  // Section E and K tables: a row is one outcome or one piece of advice, whatever its columns.
  void flushRow() {
    if (row_text_.empty()) return;
    const Where where{current_, row_table_, row_, 0, 0};
    if (current_ == kSectionE) checkOutcome(row_text_, where);
    if (current_ == kSectionK) noteAdvice(row_text_, where);
    row_text_.clear();
    row_table_ = 0;
    row_ = 0;
  }

  void checkProvision(std::string_view text, const Where& where) {
    matches_.clear();
    vague_.match(text, matches_);
    std::array<bool, 64> reported{};
    for (const PhraseMatch& m : matches_) {
      if (m.phrase < reported.size()) {
        if (reported[m.phrase]) continue;
        reported[m.phrase] = true;
      }
      const std::string& phrase = vague_.phrase(m.phrase);
      if (phrase == "may" && isMonthMay(text, m)) continue;
      report_.findings.push_back(
          {FindingKind::kVagueProvision, "F", where.describe(),
           sentenceAround(text, m.offset, m.length), phrase,
           "'" + phrase +
               "' does not specify the provision: state its type, who delivers it, how often and "
               "for how long"});
    }
  }

  // "May" the month: "May 2026", "12 May", "by May".
  static bool isMonthMay(std::string_view text, const PhraseMatch& m) {
    std::size_t after = m.offset + m.length;
    while (after < text.size() && text[after] == ' ') ++after;
    const bool number_after = after < text.size() && text[after] >= '0' && text[after] <= '9';
    std::size_t before = m.offset;
    while (before > 0 && text[before - 1] == ' ') --before;
    const bool number_before = before > 0 && text[before - 1] >= '0' && text[before - 1] <= '9';
    const bool capital = text[m.offset] == 'M';
    return capital && (number_after || number_before);
  }

  void checkOutcome(std::string_view text, const Where& where) {
    if (countWords(text) < rules_.min_outcome_words) return;
    const std::string l = lower(text);
    const bool outcome = l.find(" will ") != std::string::npos || l.starts_with("will ") ||
                         l.starts_with("to ") || l.starts_with("outcome");
    if (!outcome || hasTimeFrame(text)) return;
    report_.findings.push_back(
        {FindingKind::kOutcomeNoTimeFrame, "E", where.describe(), shorten(text), "",
         "the outcome does not say by when it should be achieved (for example 'by the end of "
         "Year 6', 'by July 2027' or 'within 12 months'), so progress cannot be reviewed"});
  }

  void notePfa(std::string_view text) {
    matches_.clear();
    pfaCues().match(text, matches_);
    if (!matches_.empty()) pfa_seen_ = true;
  }

  void checkPfa() {
    const auto& year = report_.metadata.year_group;
    if (!year) {
      report_.notes.push_back(
          "the metadata gives no year group, so preparation-for-adulthood outcomes were not "
          "checked");
      return;
    }
    if (*year < rules_.pfa_from_year_group || !seen_[kSectionE] || pfa_seen_) return;
    report_.findings.push_back(
        {FindingKind::kPfaOutcomesMissing, "E", "Section E", "", "",
         "the young person is in Year " + std::to_string(*year) +
             " (metadata) but section E has no preparation-for-adulthood outcome (employment, "
             "independent living, community participation, health); these are expected from Year " +
             std::to_string(rules_.pfa_from_year_group)});
  }

  void noteAdvice(std::string_view text, const Where& where) {
    const std::vector<DateMention> dates = findDates(text);
    if (dates.empty()) return;
    const std::string l = lower(text);
    const bool request =
        l.find("request") != std::string::npos &&
        (l.find("advice") != std::string::npos || l.find("information") != std::string::npos);
    if (request && !request_for_advice_) {
      request_for_advice_ = dates.front().date;
      return;
    }
    if (request) return;
    advice_.push_back({dates.front().date, where, shorten(text)});
  }

  void checkAdviceWindow() {
    if (advice_.empty()) return;
    std::optional<Date> reference = request_for_advice_;
    std::string basis = "advice was requested on ";
    if (!reference && report_.metadata.request_date) {
      reference =
          *report_.metadata.request_date + std::chrono::days(rules_.assessment_decision_days);
      basis = "advice would have been requested (the decision to assess, " +
              weeksAndDays(rules_.assessment_decision_days) +
              " after the request for assessment in the metadata) on ";
    }
    if (!reference) {
      report_.notes.push_back(
          "section K does not say when advice was requested and the metadata has no request "
          "date, so the advice window was not checked");
      return;
    }
    for (const AdviceEntry& advice : advice_) {
      const long days = (advice.date - *reference).count();
      std::string detail;
      if (days > rules_.advice_window_days) {
        detail = "the advice is dated " + formatIsoDate(advice.date) + ", " + weeksAndDays(days) +
                 " after " + basis + formatIsoDate(*reference) + "; it is due within " +
                 weeksAndDays(rules_.advice_window_days);
      } else if (-days > rules_.advice_stale_days) {
        detail = "the advice is dated " + formatIsoDate(advice.date) + ", " + weeksAndDays(-days) +
                 " before " + basis + formatIsoDate(*reference) + "; advice older than " +
                 weeksAndDays(rules_.advice_stale_days) +
                 " was reused rather than sought for this assessment";
      } else {
        continue;
      }
      report_.findings.push_back({FindingKind::kAdviceOutsideWindow, "K", advice.where.describe(),
                                  advice.quote, "", std::move(detail)});
    }
  }

  const ScreeningRules& rules_;
  const PhraseMatcher& vague_;
  PlanReport& report_;

  int current_ = -1;
  int paragraphs_in_section_ = 0;  // paragraphs outside tables
  int tables_in_section_ = 0;
  int last_table_ = 0;  // document-wide index of the last table seen
  std::array<bool, kSectionCount> seen_{};
  std::array<bool, kSectionCount> labelled_{};
  std::vector<PhraseMatch> matches_;
  std::string row_text_;
  int row_table_ = 0;
  int row_ = 0;
  bool pfa_seen_ = false;
  std::optional<Date> request_for_advice_;
  std::vector<AdviceEntry> advice_;
};

void checkFinalDeadline(const ScreeningRules& rules, PlanReport& report) {
  const PlanMetadata& m = report.metadata;
  if (!m.request_date || !m.date_finalised) {
    report.notes.push_back(
        "the metadata lacks the request date or the date finalised, so the 20-week deadline was "
        "not checked");
    return;
  }
  const long days = (*m.date_finalised - *m.request_date).count();
  if (days <= rules.final_plan_days) return;
  report.findings.push_back(
      {FindingKind::kFinalPlanLate, "", "metadata", "", "",
       "the plan was finalised on " + formatIsoDate(*m.date_finalised) + ", " + weeksAndDays(days) +
           " after the request for assessment on " + formatIsoDate(*m.request_date) +
           "; the final plan is due within " + weeksAndDays(rules.final_plan_days) +
           " (record any exception that paused the clock)"});
}

void markUnreadable(PlanReport& report, const std::string& message) {
  report.readable = false;
  report.findings.push_back({FindingKind::kUnreadable, "", "whole document", "", "", message});
}

// An encrypted Word document is an OLE compound file, not a zip package.
bool looksLikeCompoundFile(std::string_view head) {
  return head.size() >= 8 &&
         head.substr(0, 8) == std::string_view("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8);
}

}  // namespace

const char* findingKindId(FindingKind kind) {
  switch (kind) {
    case FindingKind::kUnreadable:
      return "unreadable";
    case FindingKind::kNoSections:
      return "no-sections";
    case FindingKind::kSectionMissing:
      return "section-missing";
    case FindingKind::kSectionUnlabelled:
      return "section-unlabelled";
    case FindingKind::kVagueProvision:
      return "vague-provision";
    case FindingKind::kOutcomeNoTimeFrame:
      return "outcome-no-time-frame";
    case FindingKind::kPfaOutcomesMissing:
      return "pfa-outcomes-missing";
    case FindingKind::kAdviceOutsideWindow:
      return "advice-outside-window";
    case FindingKind::kFinalPlanLate:
      return "final-plan-late";
  }
  return "unknown";
}

Prescreener::Prescreener(ScreeningRules rules)
    : rules_(std::move(rules)), vague_(rules_.vague_phrases) {
  limits_.max_total_size = 256ull << 20;  // a plan is text; anything bigger is not one
}

PlanReport Prescreener::screenPackage(const archive::ZipReader& package,
                                      const PlanMetadata& metadata) const {
  PlanReport report;
  report.document = package.label();
  report.metadata = metadata;
  auto format = detectFormat(package);
  if (!format.isOk()) {
    markUnreadable(report, format.status().message());
    return report;
  }
  report.format = documentFormatName(*format);
  PlanScreener screener(rules_, vague_, report);
  const core::Status streamed = streamDocument(package, *format, screener);
  if (!streamed.isOk()) {
    report.sections_found.clear();
    report.findings.clear();
    markUnreadable(report, streamed.message());
    return report;
  }
  screener.finish();
  checkFinalDeadline(rules_, report);
  return report;
}

PlanReport Prescreener::screenBytes(std::string bytes, const std::string& label,
                                    const PlanMetadata& metadata) const {
  if (looksLikeCompoundFile(bytes)) {
    PlanReport report;
    report.document = label;
    report.metadata = metadata;
    markUnreadable(report, label +
                               ": is password-protected (an encrypted Office document); remove "
                               "the password and upload it again");
    return report;
  }
  auto package = archive::ZipReader::openBuffer(std::move(bytes), label, limits_);
  if (!package.isOk()) {
    PlanReport report;
    report.document = label;
    report.metadata = metadata;
    markUnreadable(report, package.status().message());
    return report;
  }
  return screenPackage(*package, metadata);
}

PlanReport Prescreener::screenFile(const std::string& path, const PlanMetadata& metadata) const {
  auto package = archive::ZipReader::openFile(path, limits_);
  if (package.isOk()) return screenPackage(*package, metadata);
  PlanReport report;
  report.document = path;
  report.metadata = metadata;
  std::string message = package.status().message();
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  if (in.read(head, sizeof head) && looksLikeCompoundFile(std::string_view(head, sizeof head))) {
    message = path +
              ": is password-protected (an encrypted Office document); remove the password and "
              "upload it again";
  }
  markUnreadable(report, message);
  return report;
}

}  // namespace sendflow::prescreen
