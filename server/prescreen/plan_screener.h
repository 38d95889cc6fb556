#pragma once
// Pre-screening of one EHC plan: reads the document into its sections A to K and reports, as
// evidence for auditors and never as a grade, what a compliance reader would flag first:
// sections missing or unlabelled, vague wording in section F (quoted, with its location), section E
// outcomes with no time frame, preparation-for-adulthood outcomes missing from Year 9, advice in
// section K outside the statutory window, and a final plan issued after the 20-week deadline.
// docs/prescreen.md states each rule for auditors.
//
// A Prescreener is built once from the rules and is then immutable: screen*() may be called from
// many threads at once. A document that cannot be read gives a report with readable = false and
// one "unreadable" finding naming the file; it never throws.

#include <optional>
#include <string>
#include <vector>

#include "server/archive/zip_reader.h"
#include "server/prescreen/phrase_matcher.h"
#include "server/prescreen/screening_rules.h"
#include "server/prescreen/text_dates.h"

namespace sendflow::prescreen {

enum class FindingKind {
  kUnreadable,           // corrupt, encrypted or not a word-processing document
  kNoSections,           // no heading of sections A to K recognised
  kSectionMissing,       // one section not found
  kSectionUnlabelled,    // a section's title without its letter
  kVagueProvision,       // section F wording that is not specific or quantified
  kOutcomeNoTimeFrame,   // a section E outcome that does not say by when
  kPfaOutcomesMissing,   // Year 9 and above, no preparation-for-adulthood outcome in section E
  kAdviceOutsideWindow,  // section K advice dated outside the window of the request for advice
  kFinalPlanLate,        // finalised later than the deadline after the request (metadata)
};
// "unreadable", "no-sections", "section-missing", "section-unlabelled", "vague-provision",
// "outcome-no-time-frame", "pfa-outcomes-missing", "advice-outside-window", "final-plan-late".
const char* findingKindId(FindingKind kind);

struct Finding {
  FindingKind kind = FindingKind::kUnreadable;
  std::string section;   // "F", or "" when the finding is about the whole plan
  std::string location;  // "Section F, paragraph 3", "Section K, table 1, row 4", "metadata"
  std::string quote;     // the words at fault, as written (a sentence at most)
  std::string phrase;    // for vague provision: the phrase matched ("as required")
  std::string detail;    // one sentence an auditor can act on
};

// What the intranet's metadata says about the plan (already mapped to sendflow's names).
struct PlanMetadata {
  std::string plan_ref;
  std::string document_type;           // "EHC plan", "Annual review", ...; "" when unknown
  std::optional<int> year_group;       // Reception = 0 .. Year 14
  std::optional<Date> request_date;    // request for an EHC needs assessment
  std::optional<Date> date_finalised;  // final plan issued
};

struct PlanReport {
  std::string document;  // the label the document was opened with (usually its path)
  std::string format;    // "docx", "odt" or "" when unreadable
  PlanMetadata metadata;
  bool readable = true;
  std::vector<std::string> sections_found;  // "A", "B", ... in order of first appearance
  std::vector<Finding> findings;
  std::vector<std::string> notes;  // checks that could not be made, and why
};

class Prescreener {
 public:
  explicit Prescreener(ScreeningRules rules);

  const ScreeningRules& rules() const { return rules_; }

  PlanReport screenFile(const std::string& path, const PlanMetadata& metadata) const;
  PlanReport screenBytes(std::string bytes, const std::string& label,
                         const PlanMetadata& metadata) const;
  PlanReport screenPackage(const archive::ZipReader& package, const PlanMetadata& metadata) const;

 private:
  ScreeningRules rules_;
  PhraseMatcher vague_;
  archive::ZipLimits limits_;
};

}  // namespace sendflow::prescreen
