#pragma once
// How pre-screening reports are written for people (plain text) and for programs (JSON). The JSON
// shape is documented in docs/prescreen.md; tests hold it to that. Pure functions, thread-safe.

#include <iosfwd>
#include <nlohmann/json.hpp>

#include "server/prescreen/plan_screener.h"
#include "server/prescreen/prescreen_run.h"

namespace sendflow::prescreen {

// {"document", "plan_ref", "format", "readable", "year_group", "sections_found": [...],
//  "findings": [{"kind", "section", "location", "quote", "phrase", "detail"}], "notes": [...]}
nlohmann::json reportToJson(const PlanReport& report);
// {"documents", "screened", "skipped", "unreadable", "findings", "findings_by_kind": {...}}
nlohmann::json summaryToJson(const RunSummary& summary);

// The document, then one indented line per finding: kind, location, detail and the quote.
void writeTextReport(const PlanReport& report, std::ostream& out);
void writeTextSummary(const RunSummary& summary, std::ostream& out);

}  // namespace sendflow::prescreen
