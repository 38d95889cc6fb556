#include "connectors/connector/item_json.h"

namespace sendflow::connectors {

nlohmann::json itemToWorkflowJson(const Item& item) {
  const auto& m = item.metadata;
  nlohmann::json out = {{"id", item.id},
                        {"name", item.name},
                        {"path", item.path},
                        {"etag", item.etag},
                        {"modified", core::formatIso8601(item.modified)},
                        {"document_type", m.document_type},
                        {"locality", m.locality},
                        {"finalised_date", m.finalised_date},
                        {"request_date", m.request_date},
                        {"review_date", m.review_date},
                        {"caseworker", m.caseworker},
                        {"contributors", m.contributors},
                        {"year_group", m.year_group},
                        {"setting", m.setting}};
  if (auto ref = item.columns.find("PlanRef"); ref != item.columns.end()) {
    out["plan_ref"] = ref->second;
  }
  return out;
}

}  // namespace sendflow::connectors
