#pragma once
// The staff's workbench: everything a signed-in person (or an API key) can see and do with
// workflows, instances, tasks, approvals and generated documents, with the authorisation rules
// applied in one place. The REST API (server/api), the web pages (server/web) and the approval
// links all go through it; none of them reads the store or calls the runtime directly for
// people's data.
//
// Authorisation (docs/security.md, "Authorisation"; tested as a matrix in
// tests/workbench/workbench_test.cpp and tests/api/api_access_matrix_test.cpp):
//   Oversight roles (admin, qa-lead, manager) see every instance, task and document.
//   Everyone else sees only instances in which a task is assigned to them or was completed by
//   them, and the tasks assigned to them or waiting in the queue of one of their roles.
//   automation (API keys) sees the instances it started.
//   Starting a workflow: admin, qa-lead, automation.
//   Claiming a queue task: a user with the task's role who is not conflicted.
//   Completing: the task's assignee (a queue task the user may claim is claimed and completed
//   in one step). Nobody completes a task assigned to someone else, not even an admin.
//   Reassigning: admin and qa-lead; the new assignee must be a known user with the task's role
//   who is not conflicted.
//   Conflicts (never assignable): a user named in the task subject's conflict fields
//   (workbench.conflict_fields, default "contributors,caseworker": the people who wrote or
//   contributed to the plan), and a user who completed a task of another step on the same
//   subject in the same instance (the auditor does not moderate their own audit, the moderator
//   does not approve their own moderation).
// What a caller may not see is reported as kNotFound, never kPermissionDenied, so ids of other
// people's work are not confirmed. kPermissionDenied is for what they can see but may not do.
//
// Thread-safety: all methods are safe to call from many threads at once.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/auth/principal.h"
#include "server/core/clock.h"
#include "server/core/status.h"
#include "server/engine/definition.h"
#include "server/engine/runtime.h"
#include "server/store/store.h"
#include "server/workbench/directory.h"

namespace sendflow::workbench {

struct WorkbenchOptions {
  // Members of a task's subject that name people who may not be assigned it.
  std::vector<std::string> conflict_fields = {"contributors", "caseworker"};
  // Page size limits for listings.
  int default_limit = 100;
  int max_limit = 1000;
};

// Where a change came from, for history ("who, when and from where").
struct RequestOrigin {
  std::string client_address;
  std::string user_agent;
  std::string request_id;
  std::string channel;  // "api" | "web" | "email-link"
};

struct DefinitionSummary {
  std::shared_ptr<const engine::Definition> definition;
  bool can_start = false;
};

struct InstanceQuery {
  std::string workflow_id;  // empty: any
  std::string status;       // empty: any
  int limit = 0;            // 0: default_limit; capped at max_limit
};

struct InstanceView {
  store::InstanceRecord instance;
  std::string workflow_title;
  std::vector<store::TaskRecord> tasks;  // the tasks of the instance the caller may see
};

struct TaskView {
  store::TaskRecord task;
  nlohmann::json subject;  // the for-each item (a plan), or {}
  std::string workflow_id;
  std::string workflow_title;
  std::shared_ptr<const engine::Definition> definition;  // keeps `step` alive
  const engine::Step* step = nullptr;                    // form, description, role
  bool can_claim = false;
  bool can_complete = false;
  bool can_reassign = false;
  bool overdue = false;
};

struct StartOutcome {
  std::string instance_id;
  bool created = false;   // false: an existing instance was returned
  bool replayed = false;  // true: the Idempotency-Key named an earlier start
};

struct Dashboard {
  long long instances_running = 0;  // running, waiting or incident
  long long instances_completed = 0;
  long long open_tasks = 0;
  long long overdue_tasks = 0;
  long long my_open_tasks = 0;
  long long awaiting_moderation = 0;
  long long awaiting_approval = 0;
  long long mail_failed = 0;
  // Final grades of the audits completed in visible instances: grade -> count, in the order of
  // engine::kQualityGrades.
  std::vector<std::pair<std::string, long long>> grades;
  std::vector<TaskView> overdue;  // the oldest overdue tasks the caller may see (up to 10)
};

class Workbench {
 public:
  // All must outlive the workbench.
  Workbench(engine::Runtime& runtime, Directory& directory, const core::Clock& clock,
            WorkbenchOptions options = {});

  // Definitions (every signed-in caller).
  std::vector<DefinitionSummary> definitions(const auth::Principal& who) const;
  core::StatusOr<DefinitionSummary> definition(const auth::Principal& who,
                                               const std::string& id) const;

  // Starts `workflow_id`. With an idempotency key, a repeat by the same caller with the same
  // body returns the first instance (replayed = true); with another body it is kConflict.
  // kPermissionDenied for roles that may not start; kNotFound for an unknown workflow;
  // kInvalidArgument naming every bad input, and for a business key with a control character.
  core::StatusOr<StartOutcome> start(const auth::Principal& who, const std::string& workflow_id,
                                     const nlohmann::json& input, const std::string& business_key,
                                     const std::string& idempotency_key,
                                     const RequestOrigin& origin);

  // Oldest first. Instance data (data_json) is shown to oversight roles and to the automation
  // that started the instance; others get "{}" there (a monthly audit's data holds every
  // sampled plan). state_json is always "{}" outside the runtime.
  core::StatusOr<std::vector<store::InstanceRecord>> instances(const auth::Principal& who,
                                                               const InstanceQuery& query) const;
  core::StatusOr<InstanceView> instance(const auth::Principal& who, const std::string& id) const;
  // Oldest first, up to `limit` rows (0: default_limit; capped at max_limit). Callers who see
  // the instance but not all of it (an auditor in a monthly audit) get the rows about the tasks
  // they may see and the instance's own events, without the data snapshots.
  core::StatusOr<std::vector<store::HistoryRecord>> history(const auth::Principal& who,
                                                            const std::string& instance_id,
                                                            int limit = 0) const;
  // The documents of one instance, or of every visible instance when instance_id is empty
  // (newest first then), up to `limit` (0: default_limit; capped at max_limit).
  core::StatusOr<std::vector<store::DocumentRecord>> documents(const auth::Principal& who,
                                                               const std::string& instance_id,
                                                               int limit = 0) const;
  core::StatusOr<store::DocumentRecord> document(const auth::Principal& who,
                                                 const std::string& document_id) const;

  // The open tasks the caller may act on: assigned to them, or in their roles' queues and not
  // conflicted. Oldest first; approvals included (kind "approval").
  core::StatusOr<std::vector<TaskView>> myTasks(const auth::Principal& who, int limit) const;
  // Open tasks of the moderation step(s) (role moderator) for moderators and oversight roles.
  core::StatusOr<std::vector<TaskView>> moderationQueue(const auth::Principal& who) const;
  core::StatusOr<TaskView> task(const auth::Principal& who, const std::string& task_id) const;

  core::Status claim(const auth::Principal& who, const std::string& task_id,
                     const RequestOrigin& origin);
  // Validates `data` against the task's form (kInvalidArgument naming every bad field, nothing
  // changed); kConflict when the task is no longer open ("already completed").
  core::Status complete(const auth::Principal& who, const std::string& task_id,
                        const nlohmann::json& data, const RequestOrigin& origin);
  core::Status reassign(const auth::Principal& who, const std::string& task_id,
                        const std::string& assignee, const RequestOrigin& origin);

  // Whether `user_id` may be given `task` (a known user with the task's role, not conflicted);
  // kPermissionDenied with the reason when not.
  core::Status assignable(const store::TaskRecord& task, const std::string& user_id) const;

  // Whether `who` may start workflows (admin, qa-lead, automation).
  static bool canStart(const auth::Principal& who);
  // admin, qa-lead, manager: see everything.
  static bool isOversight(const auth::Principal& who);

  core::StatusOr<Dashboard> dashboard(const auth::Principal& who) const;

  engine::Runtime& runtime() { return runtime_; }
  Directory& directory() { return directory_; }
  const WorkbenchOptions& options() const { return options_; }

 private:
  int effectiveLimit(int limit) const;
  // The checks below read inside the caller's transaction.
  core::StatusOr<bool> startedBy(store::Transaction& tx, const std::string& instance_id,
                                 const std::string& user) const;
  core::StatusOr<bool> canSeeInstance(store::Transaction& tx, const auth::Principal& who,
                                      const std::string& instance_id) const;
  core::StatusOr<bool> seesInstanceData(store::Transaction& tx, const auth::Principal& who,
                                        const std::string& instance_id) const;
  core::StatusOr<bool> canSeeTask(store::Transaction& tx, const auth::Principal& who,
                                  const store::TaskRecord& task) const;
  // OK, or kPermissionDenied naming why `user_id` may never be given `task`.
  core::Status conflictOf(store::Transaction& tx, const store::TaskRecord& task,
                          const std::string& user_id) const;
  core::Status conflictOf(const store::TaskRecord& task, const std::string& user_id,
                          const std::vector<store::TaskRecord>& tasks_of_user) const;
  core::Status assignableIn(store::Transaction& tx, const store::TaskRecord& task,
                            const std::string& user_id) const;
  // Reads the task the caller may see (kNotFound otherwise).
  core::StatusOr<store::TaskRecord> visibleTask(const auth::Principal& who,
                                                const std::string& task_id) const;
  // What task views need besides the tasks: their instances and the caller's own tasks (for
  // the conflict checks).
  struct ViewInputs {
    std::map<std::string, store::InstanceRecord> instances;
    std::vector<store::TaskRecord> tasks_of_user;
  };
  core::Status readViewInputs(store::Transaction& tx, const auth::Principal& who,
                              const std::vector<store::TaskRecord>& tasks, bool read_tasks_of_user,
                              ViewInputs& inputs) const;
  // Outside any transaction (definitions may be reloaded from the store).
  // kInternal when a task's stored subject is damaged.
  core::StatusOr<std::vector<TaskView>> buildViews(const auth::Principal& who,
                                                   std::vector<store::TaskRecord> tasks,
                                                   const ViewInputs& inputs) const;
  // Reads the inputs in a transaction of its own, then builds the views.
  core::StatusOr<std::vector<TaskView>> views(const auth::Principal& who,
                                              std::vector<store::TaskRecord> tasks) const;

  engine::Runtime& runtime_;
  Directory& directory_;
  const core::Clock& clock_;
  WorkbenchOptions options_;
};

}  // namespace sendflow::workbench
