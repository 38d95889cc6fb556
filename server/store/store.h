#pragma once
// The durable store of the workflow engine: definitions, instances with their execution state,
// human tasks, jobs (actions to run, timers, reminders, escalations), incidents, the
// append-only history, the mail outbox and schedule bookkeeping.
//
// The seam is small: a Store runs a unit of work in one transaction (`transact`), and the
// unit of work talks to a Transaction. Everything one workflow transition writes goes through
// one Transaction, so it commits or rolls back as a whole. The store is a dumb persistence layer:
// JSON travels as text and times as milliseconds since the Unix epoch (UTC), so the SQL stays
// portable to PostgreSQL.
//
// Errors: kNotFound only where documented; kConflict when an optimistic update lost a race
// (the caller retries the whole transition); kUnavailable when the database is busy or locked;
// kInternal for anything else the database reports (the message names the table).
// Thread-safety: a Store is safe to use from many threads; a Transaction is used only by the
// thread inside `transact`, and only during that call.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "server/core/clock.h"
#include "server/core/status.h"

namespace sendflow::store {

using core::TimePoint;

struct DefinitionRecord {
  std::string id;
  int version = 0;
  std::string source;  // the file's text, so old versions can be reloaded after a restart
  std::string sha256;
  std::string source_file;
  TimePoint created_at;
};

struct InstanceRecord {
  std::string id;
  std::string definition_id;
  int definition_version = 0;
  std::string business_key;  // unique per definition when not empty
  std::string status;        // running | waiting | completed | cancelled | failed | incident
  std::string data_json = "{}";
  std::string state_json = "{}";  // the runtime's execution state (frames, waits)
  std::string parent_id;          // the instance that started this one as a sub-workflow
  long long revision = 0;         // bumped by every update; see Transaction::updateInstance
  TimePoint created_at;
  TimePoint updated_at;
};

struct InstanceFilter {
  std::string definition_id;  // empty: any
  std::string status;         // empty: any
  int limit = 0;              // 0: no limit
};

struct TaskRecord {
  std::string id;
  std::string instance_id;
  std::string step_id;
  std::string frame;  // the runtime's frame id waiting on this task
  std::string kind;   // task | approval
  std::string title;
  std::string assignee;  // a user id, or empty: the role's queue
  std::string role;
  std::string status;  // open | completed | cancelled
  std::string result_json;
  // What the task is about: the for-each item it was created for (a sampled plan, with its
  // reference, caseworker and contributors), or "{}" when it is not inside a for-each.
  std::string subject_json = "{}";
  std::string completed_by;
  std::optional<TimePoint> due_at;
  TimePoint created_at;
  std::optional<TimePoint> completed_at;
};

struct JobRecord {
  long long id = 0;  // assigned by insertJob
  std::string instance_id;
  std::string kind;     // action | timer | reminder | escalation | resume
  std::string task_id;  // reminders and escalations: the task they belong to
  std::string payload_json = "{}";
  TimePoint due_at;
  int attempts = 0;
  std::string lease_owner;  // empty: not leased
  TimePoint lease_until;
  TimePoint created_at;
};

struct IncidentRecord {
  long long id = 0;
  std::string instance_id;
  std::string step_id;
  std::string job_kind;
  std::string payload_json = "{}";  // what is needed to retry
  std::string message;
  bool resolved = false;
  TimePoint created_at;
};

struct HistoryRecord {
  long long id = 0;
  std::string instance_id;
  TimePoint at;
  std::string actor;  // a user id, or "system", "scheduler", "worker"
  std::string event;  // started, step.completed, task.created, task.completed, ...
  std::string step_id;
  std::string detail_json = "{}";
  std::string data_before_json;  // empty when the transition did not change instance data
  std::string data_after_json;
};

struct OutboxRecord {
  long long id = 0;
  std::string instance_id;
  std::string recipient;  // an address, a user id, or "role:<role>"
  std::string subject;
  std::string body;                // plain text
  std::string html_body;           // empty: the mailer makes HTML from the text
  std::string status = "pending";  // pending | sent | failed (gave up)
  int attempts = 0;
  std::string last_error;
  TimePoint next_attempt_at;  // a pending mail is not sent before this
  TimePoint created_at;
  std::optional<TimePoint> sent_at;
};

// A person the service knows: from the configured directory file or from their last sign-in.
// Mail to "role:<role>" goes to every user with that role; approval links go to each approver.
struct UserRecord {
  std::string id;
  std::string name;
  std::string email;
  std::string roles_json = "[]";  // sendflow role ids
  std::string source;             // directory | sign-in
  TimePoint updated_at;
};

// One single-use approval link: bound to one task, one approver and one decision. Only the
// SHA-256 of the token is stored.
struct ApprovalTokenRecord {
  std::string token_hash;  // hex SHA-256 of the token in the link
  std::string task_id;
  std::string approver;  // user id
  std::string decision;  // approve | reject
  TimePoint created_at;
  TimePoint expires_at;
  std::optional<TimePoint> used_at;
  std::string used_from;  // the client address of the deciding request
};

// A start request's Idempotency-Key, remembered per caller.
struct IdempotencyRecord {
  std::string principal;
  std::string key;
  std::string request_sha256;  // of the request body: the same key with another body is refused
  std::string instance_id;
  TimePoint created_at;
};

// A document an instance produced (document.render).
struct DocumentRecord {
  std::string id;
  std::string instance_id;
  std::string step_id;
  std::string name;  // file name shown to people
  std::string path;  // where the service keeps it
  std::string media_type;
  long long size = 0;
  TimePoint created_at;
};

// One unit of work. Every method reports database failures as described at the top.
class Transaction {
 public:
  virtual ~Transaction() = default;

  // Definitions: each (id, version) is stored once.
  virtual core::StatusOr<std::optional<DefinitionRecord>> latestDefinition(
      const std::string& id) = 0;
  virtual core::StatusOr<std::optional<DefinitionRecord>> definition(const std::string& id,
                                                                     int version) = 0;
  virtual core::Status insertDefinition(const DefinitionRecord& record) = 0;

  // Instances. insertInstance fails with kAlreadyExists when the business key is taken.
  virtual core::Status insertInstance(const InstanceRecord& record) = 0;
  virtual core::StatusOr<std::optional<InstanceRecord>> instance(const std::string& id) = 0;
  virtual core::StatusOr<std::optional<InstanceRecord>> instanceByKey(
      const std::string& definition_id, const std::string& business_key) = 0;
  // Writes `record` if its stored revision is still `record.revision`, then stores
  // revision + 1 (and sets record.revision to it). Otherwise kConflict.
  virtual core::Status updateInstance(InstanceRecord& record) = 0;
  virtual core::StatusOr<std::vector<InstanceRecord>> listInstances(
      const InstanceFilter& filter) = 0;
  // The instances named (unknown ids are skipped), in no particular order. Without `with_data`
  // their data_json and state_json are "{}" (for listings that need only the workflow).
  virtual core::StatusOr<std::vector<InstanceRecord>> instancesById(
      const std::vector<std::string>& ids, bool with_data) = 0;
  virtual core::StatusOr<long long> countInstances(const InstanceFilter& filter) = 0;

  // Tasks.
  virtual core::Status insertTask(const TaskRecord& record) = 0;
  virtual core::StatusOr<std::optional<TaskRecord>> task(const std::string& id) = 0;
  virtual core::Status updateTask(const TaskRecord& record) = 0;
  // Tasks with `status` (empty: any), optionally of one instance, oldest first.
  virtual core::StatusOr<std::vector<TaskRecord>> listTasks(const std::string& status,
                                                            const std::string& instance_id,
                                                            int limit) = 0;

  // The open tasks `user` may act on: assigned to them, or unassigned in the queue of one of
  // `roles`; oldest first.
  virtual core::StatusOr<std::vector<TaskRecord>> listOpenTasksFor(
      const std::string& user, const std::vector<std::string>& roles, int limit) = 0;
  // Every task assigned to or completed by `user` (any status), oldest first.
  virtual core::StatusOr<std::vector<TaskRecord>> listTasksOfUser(const std::string& user,
                                                                  int limit) = 0;

  // Jobs. insertJob sets record.id.
  virtual core::Status insertJob(JobRecord& record) = 0;
  virtual core::StatusOr<std::optional<JobRecord>> job(long long id) = 0;
  virtual core::Status updateJob(const JobRecord& record) = 0;
  virtual core::Status deleteJob(long long id) = 0;
  virtual core::Status deleteJobsOfTask(const std::string& task_id) = 0;
  virtual core::StatusOr<std::vector<JobRecord>> listJobs(const std::string& instance_id) = 0;
  // Leases up to `limit` jobs due at `now` whose lease is free or expired to `owner` until
  // `lease_until`, and returns them (earliest due first).
  virtual core::StatusOr<std::vector<JobRecord>> claimDueJobs(TimePoint now,
                                                              const std::string& owner,
                                                              TimePoint lease_until, int limit) = 0;
  // Frees every lease (the single-process SQLite store does this at start-up: any lease then
  // belongs to a process that died). Returns how many were freed.
  virtual core::StatusOr<long long> releaseAllLeases() = 0;
  // The earliest due time of any job, if there is one.
  virtual core::StatusOr<std::optional<TimePoint>> nextJobDue() = 0;

  // Incidents.
  virtual core::Status insertIncident(IncidentRecord& record) = 0;
  virtual core::StatusOr<std::optional<IncidentRecord>> incident(long long id) = 0;
  virtual core::Status resolveIncident(long long id) = 0;
  virtual core::StatusOr<std::vector<IncidentRecord>> listIncidents(bool include_resolved) = 0;

  // History: append-only.
  virtual core::Status appendHistory(HistoryRecord& record) = 0;
  virtual core::StatusOr<std::vector<HistoryRecord>> listHistory(
      const std::string& instance_id) = 0;

  // Outbox. insertOutbox sets record.id.
  virtual core::Status insertOutbox(OutboxRecord& record) = 0;
  // Pending mails whose next attempt is due at `now`, oldest first.
  virtual core::StatusOr<std::vector<OutboxRecord>> pendingOutbox(TimePoint now, int limit) = 0;
  virtual core::Status markOutboxSent(long long id, TimePoint at) = 0;
  // attempts + 1; stays pending until `next_attempt_at`.
  virtual core::Status markOutboxFailed(long long id, TimePoint next_attempt_at,
                                        const std::string& error) = 0;
  // Replaces a mail's stored text and HTML (single-use links are blanked once it is sent).
  virtual core::Status rewriteOutboxBodies(long long id, const std::string& body,
                                           const std::string& html_body) = 0;
  // attempts + 1; status "failed": no more attempts.
  virtual core::Status markOutboxDead(long long id, const std::string& error) = 0;
  virtual core::StatusOr<std::vector<OutboxRecord>> listOutbox() = 0;

  // Users.
  virtual core::Status upsertUser(const UserRecord& record) = 0;
  virtual core::StatusOr<std::optional<UserRecord>> user(const std::string& id) = 0;
  virtual core::StatusOr<std::vector<UserRecord>> listUsers() = 0;

  // Approval links. markApprovalTokenUsed gives kConflict when the token was used already.
  virtual core::Status insertApprovalToken(const ApprovalTokenRecord& record) = 0;
  virtual core::StatusOr<std::optional<ApprovalTokenRecord>> approvalToken(
      const std::string& token_hash) = 0;
  virtual core::Status markApprovalTokenUsed(const std::string& token_hash, TimePoint at,
                                             const std::string& from) = 0;
  virtual core::StatusOr<std::vector<ApprovalTokenRecord>> listApprovalTokens(
      const std::string& task_id) = 0;

  // Idempotency keys of starts. insertIdempotency gives kAlreadyExists for a taken key.
  virtual core::StatusOr<std::optional<IdempotencyRecord>> idempotency(const std::string& principal,
                                                                       const std::string& key) = 0;
  virtual core::Status insertIdempotency(const IdempotencyRecord& record) = 0;

  // Generated documents.
  virtual core::Status insertDocument(const DocumentRecord& record) = 0;
  virtual core::StatusOr<std::optional<DocumentRecord>> document(const std::string& id) = 0;
  virtual core::StatusOr<std::vector<DocumentRecord>> listDocuments(
      const std::string& instance_id) = 0;  // empty: all, newest first

  // Small named values the service keeps between runs (a webhook's change token, say).
  virtual core::StatusOr<std::optional<std::string>> stateValue(const std::string& key) = 0;
  virtual core::Status setStateValue(const std::string& key, const std::string& value) = 0;

  // Schedules: the last firing started for `schedule_key` ("definition/schedule").
  virtual core::StatusOr<std::optional<TimePoint>> scheduleLastFired(
      const std::string& schedule_key) = 0;
  virtual core::Status setScheduleLastFired(const std::string& schedule_key, TimePoint fired) = 0;

  // Browser sessions signed out before their cookie expires: a session id is kept until
  // `expires_at` (the cookie's own expiry, after which it is refused anyway). Revoking an id
  // twice is OK. purgeRevokedSessions deletes the rows expired at `now` and returns how many.
  virtual core::Status insertRevokedSession(const std::string& session_id,
                                            TimePoint expires_at) = 0;
  virtual core::StatusOr<bool> sessionRevoked(const std::string& session_id) = 0;
  virtual core::StatusOr<long long> purgeRevokedSessions(TimePoint now) = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  // Runs `work` in one transaction: commits when it returns OK, rolls back otherwise and
  // returns its Status. Transactions are serialized within the process.
  virtual core::Status transact(const std::function<core::Status(Transaction&)>& work) = 0;
  // Runs a unit of work that only reads: it sees one consistent committed state and may run
  // beside other reads and the writer (stores that cannot, run it as transact). Writing through
  // it is an error.
  virtual core::Status read(const std::function<core::Status(Transaction&)>& work) {
    return transact(work);
  }
  // Whether the database answers (for /readyz).
  virtual bool healthy() = 0;
  // Whether a write would succeed now (for /readyz): OK, or the reason it would not (the
  // database or its disk is full, read-only, locked). Changes nothing; cheap enough for a probe
  // every few seconds, but it waits for a write transaction that is running.
  virtual core::Status checkWritable() = 0;
  // Hands back the memory the store keeps only for speed (page caches, which grow with what was
  // written up to their bound) once nothing was written for `quiet`, so a service that went idle
  // after a burst does not keep it; the caches refill as work comes. Returns whether it released
  // anything (once per quiet spell). Cheap; meant to be called every few seconds.
  virtual bool releaseMemoryWhenIdle(std::chrono::milliseconds quiet) { return false; }
};

}  // namespace sendflow::store
