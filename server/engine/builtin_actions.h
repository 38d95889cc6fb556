#pragma once
// The actions every sendflow ships (see action_registry.h for the contract):
//   noop.record     stores its params as its result (tests, the benchmark, placeholders). With
//                   an audit file configured, it also appends its idempotency key to that file
//                   once per key, de-duplicating re-runs: the crash test counts those lines.
//   sample.select   a seeded random sample from `items`, `per_stratum` per value of the field
//                   `stratify_by` (e.g. locality), or `size` in all when not stratified. The
//                   seed is `seed` when given, else derived from the idempotency key, and is
//                   returned with the sample so the audit can be reproduced. Deterministic for a
//                   seed: strata in name order, items in input order, a portable Fisher-Yates.
//   mail.send       puts a mail (`to` a string or a list, `subject`, `body`) in the outbox, in
//                   the same transaction as the step's completion.
//   workflow.start  starts `workflow` with `input`, idempotent on `key` (default: the step's
//                   idempotency key), in the same transaction.
// All four are pure (kInTransaction: they run inside the transition that reaches them), except
// noop.record with an audit file, which runs as a job like any action with an outside effect.
// Later issues register document.render, documents.pull, documents.publish, prescreen.plans
// from app wiring with ActionRegistry::add.

#include <string>
#include <string_view>
#include <vector>

#include "server/engine/action_registry.h"

namespace sendflow::engine {

struct BuiltinActionOptions {
  std::string audit_file;  // empty: noop.record audits nothing
};

// Registers the built-in actions; kAlreadyExists if one of their names is taken.
core::Status registerBuiltinActions(ActionRegistry& registry,
                                    const BuiltinActionOptions& options = {});

// The keys in the text of a noop.record audit file, in file order: one per line ended by a
// newline. A last line without its newline (torn by a crash mid-write) is not a key; empty lines
// are skipped.
std::vector<std::string> auditFileKeys(std::string_view text);

// sample.select's selection, exposed for tests and reports. `params` as described above.
core::StatusOr<nlohmann::json> selectSample(const nlohmann::json& params, unsigned long long seed);

}  // namespace sendflow::engine
