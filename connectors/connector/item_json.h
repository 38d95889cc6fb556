#pragma once
// An intranet document as workflows see it: one flat JSON object (id, name, path, etag,
// modified, the mapped metadata fields, and plan_ref from the PlanRef column when present), the
// shape documents.pull gives and webhook rules read, so sample.select can stratify by `locality`.
// Thread-safe (a pure function).

#include <nlohmann/json.hpp>

#include "connectors/connector/document_source.h"

namespace sendflow::connectors {

nlohmann::json itemToWorkflowJson(const Item& item);

}  // namespace sendflow::connectors
