#pragma once
// The durable workflow runtime: starts instances of loaded definitions and moves them forward,
// one transition at a time, keeping everything in a store::Store.
//
// Transitions. Every change to an instance (a start, a completed task, an action's result, a
// timer firing, a child workflow ending) is one store transaction that also holds the jobs,
// tasks, outbox mails and history rows it causes, so after a crash the store is either before or
// after the transition, never in between. The execution state (which step each branch, iteration
// and nested block is at, and what it waits for) is kept with the instance.
//
// Actions run at least once at the handler boundary and exactly once in effect: reaching an
// action step commits a job; the handler runs outside the transaction; its result and the
// effects it asks for commit together with the step's completion, and only if the step is still
// waiting for that job. A crash between the handler and that commit runs the handler again with
// the same idempotency key (action_registry.h). By default the thread that commits a job runs it
// right away under a lease; a job whose lease expires (its process died) is run by a worker.
//
// Expressions see the instance data, the variables of enclosing for-each iterations (the item,
// `index`, and what the iteration's steps stored), and `now` / `today` from the injected Clock.
// Inside a for-each body, steps store their results in the iteration; when the for-each ends the
// iterations' values (with the item under its `as` name) are collected, in item order, into a
// list under the for-each's `into`.
// `end` ends the instance with its status, except `end` with status "completed" inside a
// parallel branch or a for-each body, which ends only that branch or iteration.
//
// Versions: deploy() stores each definition's source; a changed file becomes a new version.
// New instances start on the latest version; running ones stay on theirs (reloaded from the
// stored source through the DefinitionParser after a restart).
//
// Thread-safety: all public methods are safe to call from many threads at once.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/core/clock.h"
#include "server/core/status.h"
#include "server/engine/action_registry.h"
#include "server/engine/definition.h"
#include "server/store/store.h"

namespace sendflow::engine {

struct RuntimeOptions {
  // Owner name written into job leases; empty: a random one per Runtime.
  std::string node_id;
  // How long a claimed job is reserved for the claiming thread before others may run it.
  std::chrono::milliseconds lease{std::chrono::minutes(5)};
  // Run a job right after the transition that created it, in the same thread.
  bool run_jobs_inline = true;
  // Retry delays for actions whose step sets no backoff / max backoff.
  std::chrono::milliseconds default_backoff{std::chrono::seconds(10)};
  std::chrono::milliseconds default_max_backoff{std::chrono::minutes(10)};
  // The service's address as people reach it ("https://sendflow.council.example"); reminder
  // and escalation mails link to the task page under it. Empty: no link.
  std::string public_url;
};

// Parses a stored definition source back into a Definition (DefinitionLoader::loadString in app
// wiring). `label` names it in errors.
using DefinitionParser = std::function<core::StatusOr<std::shared_ptr<const Definition>>(
    const std::string& source, const std::string& label)>;

// Told, inside the transaction that creates a human task or approval (after its row is
// written), so what it writes (approval links, the approvers' mails) commits or rolls back
// with the task. `context` is what the step's expressions see (instance data and the for-each
// iteration's variables). An error rolls the transition back.
class TaskListener {
 public:
  virtual ~TaskListener() = default;
  virtual core::Status taskCreated(store::Transaction& tx, const store::TaskRecord& task,
                                   const Step& step, const nlohmann::json& context) = 0;
};

// Runs inside the transaction that changes a task, before the change, with the task as read
// in that transaction: a non-OK Status refuses the change and rolls back (an authorisation
// check that must not race with another change, or an approval link used up with the task).
using TaskGuard = std::function<core::Status(store::Transaction&, const store::TaskRecord&)>;

struct TaskChangeOptions {
  TaskGuard guard;                                  // optional
  nlohmann::json audit = nlohmann::json::object();  // merged into the history row's detail
};

struct StartResult {
  std::string instance_id;
  bool created = false;  // false: the business key named an existing instance
};

// What must commit with a start (an API's idempotency key) and who asked for it.
struct StartOptions {
  // Runs first, inside the start's transaction. A value ends the start with that result and
  // nothing written by the runtime (a replay); an error rolls back and is returned. Optional.
  std::function<core::StatusOr<std::optional<StartResult>>(store::Transaction&)> before;
  // Runs inside the transaction after the start (also when the business key named an existing
  // instance: see StartResult::created); an error rolls the start back. Optional.
  std::function<core::Status(store::Transaction&, const StartResult&)> after;
  nlohmann::json audit = nlohmann::json::object();  // merged into the instance.started detail
};

class Runtime {
 public:
  // `store`, `actions` and `clock` must outlive the Runtime.
  Runtime(store::Store& store, const ActionRegistry& actions, const core::Clock& clock,
          RuntimeOptions options = {});
  ~Runtime();

  void setDefinitionParser(DefinitionParser parser);

  // Makes `definition` available and the one new instances of its id start on. `source` is the
  // file's text; when its SHA-256 differs from the latest stored version, a new version is
  // stored (the file's own version number if higher, else latest + 1). Returns the version.
  core::StatusOr<int> deploy(std::shared_ptr<const Definition> definition,
                             const std::string& source);
  // The latest deployed version of every definition id.
  std::vector<std::shared_ptr<const Definition>> definitions() const;
  // Version `version` of `id` (an instance's pinned version), reloaded from the store through
  // the DefinitionParser when it is not in memory. kNotFound when it is not stored. Opens a
  // transaction of its own: not to be called inside one.
  core::StatusOr<std::shared_ptr<const Definition>> definition(const std::string& id, int version);

  // Starts `workflow_id` with `input` (checked against the declared inputs; defaults applied).
  // With a non-empty business key, a second start with the same key returns the first instance
  // (created = false) and changes nothing. kNotFound for an unknown workflow, kInvalidArgument
  // naming every bad input.
  core::StatusOr<StartResult> start(const std::string& workflow_id, const nlohmann::json& input,
                                    const std::string& business_key, const std::string& actor);
  // The same with hooks that commit with the start; its jobs run inline as above. A hook may
  // run more than once when the transaction is retried after a conflict.
  core::StatusOr<StartResult> start(const std::string& workflow_id, const nlohmann::json& input,
                                    const std::string& business_key, const std::string& actor,
                                    const StartOptions& options);
  // The same inside the caller's transaction (the scheduler uses this so the start and its
  // bookkeeping commit together). Jobs it creates are left for the workers.
  core::StatusOr<StartResult> startInTransaction(store::Transaction& tx,
                                                 const std::string& workflow_id,
                                                 const nlohmann::json& input,
                                                 const std::string& business_key,
                                                 const std::string& actor);

  // Completes an open task or approval with `data`, validated against its form (an approval's
  // form is {"decision": "approve" | "reject", "comment": text}). Invalid data gives
  // kInvalidArgument naming every bad field and changes nothing; kNotFound for an unknown task;
  // kConflict when it is no longer open.
  core::Status completeTask(const std::string& task_id, const nlohmann::json& data,
                            const std::string& actor, const TaskChangeOptions& options = {});

  // Gives an open task to `assignee` (empty: back to its role's queue), with a
  // "task.assigned" history row. kNotFound for an unknown task; kConflict when it is not open.
  core::Status assignTask(const std::string& task_id, const std::string& assignee,
                          const std::string& actor, const TaskChangeOptions& options = {});

  // The listener is told of every task created from now on; nullptr for none. Not owned.
  void setTaskListener(TaskListener* listener);

  // Claims up to `limit` due jobs whose lease is free and runs them. Returns how many ran.
  core::StatusOr<int> runDueJobs(int limit);
  // Runs due jobs until none is left (jobs due later stay). Returns how many ran.
  core::StatusOr<int> runUntilIdle();

  // Creates a new job for the step an incident stopped, and marks the incident resolved.
  core::Status retryIncident(long long incident_id, const std::string& actor);

  // Frees every job lease; for the single-process SQLite store at start-up.
  core::StatusOr<long long> releaseLeases();

  store::Store& store() { return store_; }
  const core::Clock& clock() const { return clock_; }
  const std::string& nodeId() const { return options_.node_id; }

  struct Transition;

 private:
  core::StatusOr<std::shared_ptr<const Definition>> latest(const std::string& id) const;
  core::StatusOr<std::shared_ptr<const Definition>> pinned(store::Transaction& tx,
                                                           const std::string& id, int version);
  core::StatusOr<StartResult> startWithin(store::Transaction& tx, const std::string& workflow_id,
                                          const nlohmann::json& input,
                                          const std::string& business_key, const std::string& actor,
                                          const std::string& parent_id,
                                          const std::string& parent_frame, bool lease_jobs,
                                          std::vector<store::JobRecord>& leased,
                                          const nlohmann::json* audit = nullptr);
  core::Status runJob(const store::JobRecord& job);
  core::Status runAction(const store::JobRecord& job);
  core::Status applyJob(const store::JobRecord& job, const nlohmann::json* action_result,
                        ActionContext* action_context, const core::Status& action_status);
  // Runs `work` as one transaction, retrying on kConflict, then runs the jobs it leased inline.
  core::Status transition(
      const std::function<core::Status(store::Transaction&, std::vector<store::JobRecord>&)>& work);
  core::Status drain(std::vector<store::JobRecord> jobs);
  core::Status advanceInstance(Transition& t);
  friend struct Interpreter;

  store::Store& store_;
  const ActionRegistry& actions_;
  const core::Clock& clock_;
  RuntimeOptions options_;
  mutable std::mutex mutex_;
  DefinitionParser parser_;                // guarded by mutex_
  TaskListener* task_listener_ = nullptr;  // set before serving; read without the lock
  std::map<std::string, std::shared_ptr<const Definition>> latest_;  // guarded by mutex_
  std::map<std::pair<std::string, int>, std::shared_ptr<const Definition>> versions_;  // ditto
};

}  // namespace sendflow::engine
