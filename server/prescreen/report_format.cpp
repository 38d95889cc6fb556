#include "server/prescreen/report_format.h"

#include <ostream>

namespace sendflow::prescreen {

nlohmann::json reportToJson(const PlanReport& report) {
  nlohmann::json findings = nlohmann::json::array();
  for (const Finding& f : report.findings) {
    nlohmann::json item = {{"kind", findingKindId(f.kind)},
                           {"section", f.section},
                           {"location", f.location},
                           {"detail", f.detail}};
    if (!f.quote.empty()) item["quote"] = f.quote;
    if (!f.phrase.empty()) item["phrase"] = f.phrase;
    findings.push_back(std::move(item));
  }
  nlohmann::json out = {{"document", report.document},
                        {"plan_ref", report.metadata.plan_ref},
                        {"format", report.format},
                        {"readable", report.readable},
                        {"sections_found", report.sections_found},
                        {"findings", std::move(findings)},
                        {"notes", report.notes}};
  out["year_group"] = report.metadata.year_group ? nlohmann::json(*report.metadata.year_group)
                                                 : nlohmann::json(nullptr);
  return out;
}

nlohmann::json summaryToJson(const RunSummary& summary) {
  return {{"documents", summary.documents}, {"screened", summary.screened},
          {"skipped", summary.skipped},     {"unreadable", summary.unreadable},
          {"findings", summary.findings},   {"findings_by_kind", summary.findings_by_kind}};
}

void writeTextReport(const PlanReport& report, std::ostream& out) {
  out << report.document;
  if (!report.metadata.plan_ref.empty()) out << "  (" << report.metadata.plan_ref;
  if (report.metadata.year_group) {
    out << (report.metadata.plan_ref.empty() ? "  (" : ", ") << "Year "
        << *report.metadata.year_group;
  }
  if (!report.metadata.plan_ref.empty() || report.metadata.year_group) out << ")";
  out << "\n";
  if (report.findings.empty()) out << "  no findings\n";
  for (const Finding& f : report.findings) {
    out << "  " << findingKindId(f.kind) << ": " << f.location << ": " << f.detail << "\n";
    if (!f.quote.empty()) out << "      \"" << f.quote << "\"\n";
  }
  for (const std::string& note : report.notes) out << "  note: " << note << "\n";
}

void writeTextSummary(const RunSummary& summary, std::ostream& out) {
  out << summary.documents << " documents: " << summary.screened << " plans screened, "
      << summary.skipped << " skipped (not EHC plans), " << summary.unreadable << " unreadable; "
      << summary.findings << " findings";
  if (!summary.findings_by_kind.empty()) {
    out << " (";
    bool first = true;
    for (const auto& [kind, count] : summary.findings_by_kind) {
      out << (first ? "" : ", ") << kind << " " << count;
      first = false;
    }
    out << ")";
  }
  out << ".\nFindings are evidence for auditors, not a grade.\n";
}

}  // namespace sendflow::prescreen
