#pragma once
// Writes the synthetic sample intranet library that the folder connector reads, and that the
// service builds on its first start so a demo has something to audit:
//
//   DIR/<library>/EHC Plans/SF-2026-00042.docx (or .odt)
//   DIR/<library>/Annual Reviews/SF-2025-00017 annual review.docx
//   DIR/<library>/Advice/SF-2026-00042 EP advice.docx
//
// with a sidecar NAME.meta.json beside each document holding the council's columns: "Locality",
// "DateFinalised", "RequestDate", "ReviewDue", "Caseworker", "Contributors", "YearGroup",
// "Setting", "DocumentType", "PlanRef". Plans carry flaws at the rates asked (see FlawRates).
//
// The library is a pure function of (plans, seed, library name, rates): the same options give
// byte-identical XML parts on every run and thread count. Existing files of the same names are
// replaced; other files in DIR are left alone.

#include <cstdint>
#include <string>
#include <vector>

#include "server/core/status.h"
#include "server/sampledata/synthetic_plan.h"

namespace sendflow::sampledata {

struct LibraryOptions {
  int plans = 200;
  std::uint64_t seed = 1;
  std::string library = "SEND Library";
  PlanOptions plan;
  int jobs = 0;  // writer threads; 0 means one per core
};

// What was written, and the flaws each plan was given (in plan order).
struct LibrarySummary {
  std::string root;  // DIR/<library>
  int plans = 0;
  int annual_reviews = 0;
  int advice = 0;
  int docx = 0;
  int odt = 0;
  struct PlanRecord {
    std::string path;  // of the plan document
    std::string plan_ref;
    int year_group = 0;
    PlanFlaws flaws;
  };
  std::vector<PlanRecord> plan_records;
};

// kInvalidArgument for a plan count below 1 or above 1,000,000, or an empty library name or one
// that is not a single folder name; kUnavailable naming the path when a folder or file cannot be
// written (nothing is rolled back: the library is regenerable).
core::StatusOr<LibrarySummary> writeLibrary(const std::string& dir, const LibraryOptions& options);

// The sidecar JSON of one document (the council's column names).
std::string sidecarJson(const DocumentMetadata& metadata);

}  // namespace sendflow::sampledata
