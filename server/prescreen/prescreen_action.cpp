#include "server/prescreen/prescreen_action.h"

#include "server/prescreen/prescreen_run.h"
#include "server/prescreen/report_format.h"

namespace sendflow::prescreen {
namespace {

core::StatusOr<std::vector<std::string>> stringList(const nlohmann::json& params, const char* key) {
  std::vector<std::string> out;
  auto it = params.find(key);
  if (it == params.end()) return out;
  if (!it->is_array()) {
    return core::invalidArgument(std::string("prescreen.plans: '") + key +
                                 "' must be a list of paths");
  }
  for (std::size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_string() || (*it)[i].get<std::string>().empty()) {
      return core::invalidArgument(std::string("prescreen.plans: ") + key + "[" +
                                   std::to_string(i) + "] must be a non-empty string");
    }
    out.push_back((*it)[i].get<std::string>());
  }
  return out;
}

// The metadata of an item, from sendflow's field names (already mapped by the connector).
core::StatusOr<PlanMetadata> itemMetadata(const nlohmann::json& item, const std::string& label) {
  auto it = item.find("metadata");
  if (it == item.end() || it->is_null()) return PlanMetadata{};
  if (!it->is_object()) return core::invalidArgument(label + ": 'metadata' must be an object");
  SidecarColumns names;
  names.plan_ref = "plan_ref";
  names.document_type = "document_type";
  names.year_group = "year_group";
  names.request_date = "request_date";
  names.date_finalised = "finalised_date";
  return metadataFromJson(it->dump(), label + ": metadata", names);
}

}  // namespace

core::StatusOr<nlohmann::json> runPrescreenAction(const Prescreener& prescreener,
                                                  const nlohmann::json& params) {
  if (!params.is_object()) {
    return core::invalidArgument("prescreen.plans: params must be an object");
  }
  SENDFLOW_ASSIGN_OR_RETURN(const std::vector<std::string> paths, stringList(params, "paths"));
  bool include_clean = false;
  if (auto it = params.find("include_clean"); it != params.end()) {
    if (!it->is_boolean()) {
      return core::invalidArgument("prescreen.plans: 'include_clean' must be true or false");
    }
    include_clean = it->get<bool>();
  }
  long long jobs = 1;
  if (auto it = params.find("jobs"); it != params.end()) {
    jobs = it->is_number_integer() ? it->get<long long>() : 0;
    if (jobs < 1 || jobs > 64) {
      return core::invalidArgument("prescreen.plans: 'jobs' must be a whole number from 1 to 64");
    }
  }

  nlohmann::json reports = nlohmann::json::array();
  auto keep = [&](const PlanReport& report) {
    if (include_clean || !report.findings.empty()) reports.push_back(reportToJson(report));
  };
  RunSummary total;
  auto add = [&](const RunSummary& s) {
    total.documents += s.documents;
    total.screened += s.screened;
    total.skipped += s.skipped;
    total.unreadable += s.unreadable;
    total.findings += s.findings;
    for (const auto& [kind, n] : s.findings_by_kind) total.findings_by_kind[kind] += n;
  };

  if (!paths.empty()) {
    SENDFLOW_ASSIGN_OR_RETURN(const std::vector<std::string> documents, collectDocuments(paths));
    RunOptions options;
    options.jobs = static_cast<int>(jobs);
    add(screenDocuments(prescreener, documents, options, keep));
  }

  if (auto items = params.find("items"); items != params.end()) {
    if (!items->is_array()) {
      return core::invalidArgument("prescreen.plans: 'items' must be a list");
    }
    // Validate every item first, so a bad parameter fails the step before any work is done.
    std::vector<std::pair<std::string, PlanMetadata>> work;
    for (std::size_t i = 0; i < items->size(); ++i) {
      const nlohmann::json& item = (*items)[i];
      const std::string label = "prescreen.plans: items[" + std::to_string(i) + "]";
      if (!item.is_object() || !item.contains("path") || !item["path"].is_string()) {
        return core::invalidArgument(label + ": needs a \"path\" string");
      }
      SENDFLOW_ASSIGN_OR_RETURN(PlanMetadata metadata, itemMetadata(item, label));
      work.emplace_back(item["path"].get<std::string>(), std::move(metadata));
    }
    RunSummary s;
    s.documents = work.size();
    for (const auto& [path, metadata] : work) {
      if (!metadata.document_type.empty() && metadata.document_type != kPlanDocumentType) {
        ++s.skipped;
        continue;
      }
      const PlanReport report = prescreener.screenFile(path, metadata);
      ++(report.readable ? s.screened : s.unreadable);
      s.findings += report.findings.size();
      for (const Finding& f : report.findings) ++s.findings_by_kind[findingKindId(f.kind)];
      keep(report);
    }
    add(s);
  }
  return nlohmann::json{{"summary", summaryToJson(total)}, {"reports", std::move(reports)}};
}

}  // namespace sendflow::prescreen
