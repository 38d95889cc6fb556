#pragma once
// One synthetic, anonymised EHC plan of the sample intranet library, with the documents that
// surround it (annual review paperwork, professionals' advice) and the record of the flaws it was
// given on purpose. Everything is a pure function of (seed, index): the same inputs give the same
// plan on every machine, whatever the thread that builds it. No real names: children get
// pseudonymous first names, professionals ids such as "ep-031".
//
// Thread-safe (no shared state).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "server/sampledata/word_document.h"

namespace sendflow::sampledata {

// The share of plans given each flaw (0..1). Flaws are drawn independently.
struct FlawRates {
  double missing_section = 0.10;        // one of B, C, D, G, H, I, J left out
  double unlabelled_section = 0.05;     // one heading written as its title alone
  double vague_provision = 0.40;        // one to three vague sentences in section F
  double outcome_no_time_frame = 0.30;  // one or two outcomes with no time frame
  double missing_pfa = 0.35;  // of plans from Year 9: no preparation-for-adulthood outcome
  double advice_outside_window =
      0.20;                  // one advice dated too late (or too long before the request)
  double final_late = 0.50;  // finalised after 20 weeks (England 2024: 53.6%)
};

// The council's columns of a document's sidecar metadata.
struct DocumentMetadata {
  std::string locality;
  std::string date_finalised;  // YYYY-MM-DD
  std::string request_date;
  std::string review_due;  // "" when not applicable
  std::string caseworker;  // "cw-014"
  std::vector<std::string> contributors;
  int year_group = 0;  // Reception 0 .. 14
  std::string setting;
  std::string document_type;  // "EHC plan", "Annual review", "EP advice", ...
  std::string plan_ref;       // "SF-2026-00042"
};

// What was done to the plan on purpose, so tests and benchmarks know what pre-screening should
// find.
struct PlanFlaws {
  char missing_section = 0;                // 'C' ..., 0 when none
  char unlabelled_section = 0;             // 0 when none
  std::vector<std::string> vague_phrases;  // each inserted occurrence, in order
  int outcomes_without_time_frame = 0;
  bool pfa_missing = false;
  int advice_outside_window = 0;
  bool final_late = false;
};

struct SyntheticDocument {
  std::string folder;     // "EHC Plans", "Annual Reviews", "Advice"
  std::string file_name;  // "SF-2026-00042.docx"
  bool odt = false;
  WordDocument content;
  DocumentMetadata metadata;
};

struct SyntheticPlan {
  SyntheticDocument plan;
  PlanFlaws flaws;
  std::vector<SyntheticDocument> related;  // annual review and advice documents
};

struct PlanOptions {
  FlawRates rates;
  // Every date in the library falls before this day (final plans at least 40 days before it), so
  // a library written "as of" today has plans finalised in recent months to audit. The default is
  // fixed so that a library never depends on the clock unless asked to.
  std::chrono::sys_days as_of = std::chrono::sys_days(std::chrono::year{2026} / 9 / 1);
  double odt_share = 0.35;  // the rest are .docx
  bool related_documents = true;
};

// The plan number `index` (0-based) of the library drawn from `seed`.
SyntheticPlan generatePlan(std::uint64_t seed, int index, const PlanOptions& options);

// The six localities of the synthetic council.
const std::vector<std::string>& localities();

}  // namespace sendflow::sampledata
