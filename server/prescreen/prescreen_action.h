#pragma once
// The JSON face of pre-screening, for the workflow action `prescreen.plans`. App wiring registers
// it with the engine's ActionRegistry (this module does not depend on the engine):
//
//   registry.add("prescreen.plans", [&](const nlohmann::json& params, engine::ActionContext&) {
//     return prescreen::runPrescreenAction(prescreener, params);
//   });
//
// params (either or both lists):
//   "paths":  ["folder or file", ...]   sidecar NAME.meta.json metadata is read when present
//   "items":  [{"path": "...", "metadata": {"plan_ref", "document_type", "year_group",
//               "request_date": "YYYY-MM-DD", "finalised_date": "YYYY-MM-DD"}}, ...]
//             items a connector pulled, with metadata already mapped to sendflow's names
//   "include_clean": false   also list plans with no findings (default false)
//   "jobs": 2                worker threads (default 1: the runtime already runs actions in
//                            parallel)
// result: {"summary": {...}, "reports": [...]}: the shapes of report_format.h.
//
// Errors: kInvalidArgument naming the parameter or item at fault, kNotFound for a path that does
// not exist. A document that cannot be read is a finding in the result, never an error, so an
// audit run goes on with the other plans. Safe to call from several threads at once.

#include <nlohmann/json.hpp>

#include "server/core/status.h"
#include "server/prescreen/plan_screener.h"

namespace sendflow::prescreen {

core::StatusOr<nlohmann::json> runPrescreenAction(const Prescreener& prescreener,
                                                  const nlohmann::json& params);

}  // namespace sendflow::prescreen
