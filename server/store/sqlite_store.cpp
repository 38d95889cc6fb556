#include "server/store/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <utility>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>

#include "server/core/private_files.h"

namespace sendflow::store {
namespace {

using Poco::Int64;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;
using Poco::Data::Keywords::bind;

// Schema versions, applied in order; never edit a shipped one, append a new one.
const std::vector<std::vector<std::string>>& migrations() {
  static const std::vector<std::vector<std::string>> kMigrations = {
      {
          // 1: the engine's tables.
          "CREATE TABLE definitions (id TEXT NOT NULL, version INTEGER NOT NULL, source TEXT NOT "
          "NULL, sha256 TEXT NOT NULL, source_file TEXT NOT NULL, created_at BIGINT NOT NULL, "
          "PRIMARY KEY (id, version))",
          "CREATE TABLE instances (id TEXT PRIMARY KEY, definition_id TEXT NOT NULL, "
          "definition_version INTEGER NOT NULL, business_key TEXT NOT NULL, status TEXT NOT NULL, "
          "data TEXT NOT NULL, state TEXT NOT NULL, parent_id TEXT NOT NULL, revision BIGINT NOT "
          "NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
          "CREATE UNIQUE INDEX instances_business_key ON instances (definition_id, business_key) "
          "WHERE business_key <> ''",
          "CREATE INDEX instances_status ON instances (status, created_at)",
          "CREATE TABLE tasks (id TEXT PRIMARY KEY, instance_id TEXT NOT NULL, step_id TEXT NOT "
          "NULL, frame TEXT NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL, assignee TEXT NOT "
          "NULL, role TEXT NOT NULL, status TEXT NOT NULL, result TEXT NOT NULL, completed_by TEXT "
          "NOT NULL, due_at BIGINT NOT NULL, created_at BIGINT NOT NULL, completed_at BIGINT NOT "
          "NULL)",
          "CREATE INDEX tasks_status ON tasks (status, created_at)",
          "CREATE INDEX tasks_instance ON tasks (instance_id)",
          "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, "
          "kind TEXT NOT NULL, task_id TEXT NOT NULL, payload TEXT NOT NULL, due_at BIGINT NOT "
          "NULL, attempts INTEGER NOT NULL, lease_owner TEXT NOT NULL, lease_until BIGINT NOT "
          "NULL, created_at BIGINT NOT NULL)",
          "CREATE INDEX jobs_due ON jobs (due_at)",
          "CREATE INDEX jobs_instance ON jobs (instance_id)",
          "CREATE INDEX jobs_task ON jobs (task_id)",
          "CREATE TABLE incidents (id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT "
          "NULL, step_id TEXT NOT NULL, job_kind TEXT NOT NULL, payload TEXT NOT NULL, message "
          "TEXT NOT NULL, resolved INTEGER NOT NULL, created_at BIGINT NOT NULL)",
          "CREATE TABLE history (id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, "
          "at BIGINT NOT NULL, actor TEXT NOT NULL, event TEXT NOT NULL, step_id TEXT NOT NULL, "
          "detail TEXT NOT NULL, data_before TEXT NOT NULL, data_after TEXT NOT NULL)",
          "CREATE INDEX history_instance ON history (instance_id, id)",
          "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, "
          "recipient TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT "
          "NULL, attempts INTEGER NOT NULL, created_at BIGINT NOT NULL, sent_at BIGINT NOT NULL)",
          "CREATE INDEX outbox_status ON outbox (status, id)",
          "CREATE TABLE schedules (schedule_key TEXT PRIMARY KEY, last_fired BIGINT NOT NULL)",
      },
      {
          // 2: the service: what tasks are about, mail retries and HTML, users, approval links,
          // idempotency keys, generated documents, small state values.
          "ALTER TABLE tasks ADD COLUMN subject TEXT NOT NULL DEFAULT '{}'",
          "CREATE INDEX tasks_assignee ON tasks (assignee, status)",
          "CREATE INDEX tasks_role ON tasks (role, status)",
          "CREATE INDEX tasks_completed_by ON tasks (completed_by)",
          "ALTER TABLE outbox ADD COLUMN html_body TEXT NOT NULL DEFAULT ''",
          "ALTER TABLE outbox ADD COLUMN last_error TEXT NOT NULL DEFAULT ''",
          "ALTER TABLE outbox ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0",
          "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, "
          "roles TEXT NOT NULL, source TEXT NOT NULL, updated_at BIGINT NOT NULL)",
          "CREATE TABLE approval_tokens (token_hash TEXT PRIMARY KEY, task_id TEXT NOT NULL, "
          "approver TEXT NOT NULL, decision TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at "
          "BIGINT NOT NULL, used_at BIGINT NOT NULL, used_from TEXT NOT NULL)",
          "CREATE INDEX approval_tokens_task ON approval_tokens (task_id)",
          "CREATE TABLE idempotency_keys (principal TEXT NOT NULL, idem_key TEXT NOT NULL, "
          "request_sha256 TEXT NOT NULL, instance_id TEXT NOT NULL, created_at BIGINT NOT NULL, "
          "PRIMARY KEY (principal, idem_key))",
          "CREATE TABLE documents (id TEXT PRIMARY KEY, instance_id TEXT NOT NULL, step_id TEXT "
          "NOT "
          "NULL, name TEXT NOT NULL, path TEXT NOT NULL, media_type TEXT NOT NULL, size BIGINT NOT "
          "NULL, created_at BIGINT NOT NULL)",
          "CREATE INDEX documents_instance ON documents (instance_id, created_at)",
          "CREATE TABLE state_values (state_key TEXT PRIMARY KEY, value TEXT NOT NULL)",
      },
      {
          // 3: browser sessions signed out before their cookie expired.
          "CREATE TABLE revoked_sessions (session_id TEXT PRIMARY KEY, expires_at BIGINT NOT "
          "NULL)",
          "CREATE INDEX revoked_sessions_expiry ON revoked_sessions (expires_at)",
      },
  };
  return kMigrations;
}

Int64 ms(TimePoint t) { return static_cast<Int64>(t.time_since_epoch().count()); }
TimePoint fromMs(Int64 v) { return TimePoint(std::chrono::milliseconds(v)); }
std::optional<TimePoint> optionalTime(Int64 v) {
  if (v == 0) return std::nullopt;
  return fromMs(v);
}
Int64 msOrZero(const std::optional<TimePoint>& t) { return t ? ms(*t) : 0; }

std::string text(const RecordSet& rs, std::size_t col, std::size_t row) {
  const auto& v = rs.value(col, row);
  return v.isEmpty() ? std::string() : v.convert<std::string>();
}
Int64 integer(const RecordSet& rs, std::size_t col, std::size_t row) {
  const auto& v = rs.value(col, row);
  return v.isEmpty() ? 0 : v.convert<Int64>();
}

core::Status fromException(const std::string& what, const Poco::Exception& e) {
  if (dynamic_cast<const Poco::Data::SQLite::DBLockedException*>(&e) != nullptr ||
      dynamic_cast<const Poco::Data::SQLite::TableLockedException*>(&e) != nullptr) {
    return core::unavailable("sqlite: " + what + ": database is busy: " + e.displayText());
  }
  if (dynamic_cast<const Poco::Data::SQLite::ConstraintViolationException*>(&e) != nullptr) {
    return core::alreadyExists("sqlite: " + what + ": " + e.displayText());
  }
  return core::internalError("sqlite: " + what + ": " + e.displayText());
}

// Runs `body`, turning Poco and standard exceptions into a Status that names `what`.
template <typename F>
auto guarded(const std::string& what, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Poco::Exception& e) {
    return fromException(what, e);
  } catch (const std::exception& e) {
    return core::internalError("sqlite: " + what + ": " + e.what());
  }
}

const char* kInstanceColumns =
    "id, definition_id, definition_version, business_key, status, data, state, parent_id, "
    "revision, created_at, updated_at";
const char* kTaskColumns =
    "id, instance_id, step_id, frame, kind, title, assignee, role, status, result, completed_by, "
    "due_at, created_at, completed_at, subject";
const char* kOutboxColumns =
    "id, instance_id, recipient, subject, body, status, attempts, created_at, sent_at, html_body, "
    "last_error, next_attempt_at";
const char* kTokenColumns =
    "token_hash, task_id, approver, decision, created_at, expires_at, used_at, used_from";
const char* kDocumentColumns = "id, instance_id, step_id, name, path, media_type, size, created_at";
const char* kJobColumns =
    "id, instance_id, kind, task_id, payload, due_at, attempts, lease_owner, lease_until, "
    "created_at";

InstanceRecord instanceRow(const RecordSet& rs, std::size_t r) {
  InstanceRecord i;
  i.id = text(rs, 0, r);
  i.definition_id = text(rs, 1, r);
  i.definition_version = static_cast<int>(integer(rs, 2, r));
  i.business_key = text(rs, 3, r);
  i.status = text(rs, 4, r);
  i.data_json = text(rs, 5, r);
  i.state_json = text(rs, 6, r);
  i.parent_id = text(rs, 7, r);
  i.revision = integer(rs, 8, r);
  i.created_at = fromMs(integer(rs, 9, r));
  i.updated_at = fromMs(integer(rs, 10, r));
  return i;
}

TaskRecord taskRow(const RecordSet& rs, std::size_t r) {
  TaskRecord t;
  t.id = text(rs, 0, r);
  t.instance_id = text(rs, 1, r);
  t.step_id = text(rs, 2, r);
  t.frame = text(rs, 3, r);
  t.kind = text(rs, 4, r);
  t.title = text(rs, 5, r);
  t.assignee = text(rs, 6, r);
  t.role = text(rs, 7, r);
  t.status = text(rs, 8, r);
  t.result_json = text(rs, 9, r);
  t.completed_by = text(rs, 10, r);
  t.due_at = optionalTime(integer(rs, 11, r));
  t.created_at = fromMs(integer(rs, 12, r));
  t.completed_at = optionalTime(integer(rs, 13, r));
  t.subject_json = text(rs, 14, r);
  if (t.subject_json.empty()) t.subject_json = "{}";
  return t;
}

JobRecord jobRow(const RecordSet& rs, std::size_t r) {
  JobRecord j;
  j.id = integer(rs, 0, r);
  j.instance_id = text(rs, 1, r);
  j.kind = text(rs, 2, r);
  j.task_id = text(rs, 3, r);
  j.payload_json = text(rs, 4, r);
  j.due_at = fromMs(integer(rs, 5, r));
  j.attempts = static_cast<int>(integer(rs, 6, r));
  j.lease_owner = text(rs, 7, r);
  j.lease_until = fromMs(integer(rs, 8, r));
  j.created_at = fromMs(integer(rs, 9, r));
  return j;
}

OutboxRecord outboxRow(const RecordSet& rs, std::size_t r) {
  OutboxRecord o;
  o.id = integer(rs, 0, r);
  o.instance_id = text(rs, 1, r);
  o.recipient = text(rs, 2, r);
  o.subject = text(rs, 3, r);
  o.body = text(rs, 4, r);
  o.status = text(rs, 5, r);
  o.attempts = static_cast<int>(integer(rs, 6, r));
  o.created_at = fromMs(integer(rs, 7, r));
  o.sent_at = optionalTime(integer(rs, 8, r));
  o.html_body = text(rs, 9, r);
  o.last_error = text(rs, 10, r);
  o.next_attempt_at = fromMs(integer(rs, 11, r));
  return o;
}

class SqliteTransaction final : public Transaction {
 public:
  explicit SqliteTransaction(Session& session) : s_(session) {}

  core::StatusOr<std::optional<DefinitionRecord>> latestDefinition(const std::string& id) override {
    return selectDefinition(
        "SELECT id, version, source, sha256, source_file, created_at FROM definitions WHERE id = ? "
        "ORDER BY version DESC LIMIT 1",
        id, 0);
  }
  core::StatusOr<std::optional<DefinitionRecord>> definition(const std::string& id,
                                                             int version) override {
    return selectDefinition(
        "SELECT id, version, source, sha256, source_file, created_at FROM definitions WHERE id = ? "
        "AND version = ?",
        id, version);
  }
  core::Status insertDefinition(const DefinitionRecord& d) override {
    return guarded("definitions", [&]() -> core::Status {
      s_ << "INSERT INTO definitions (id, version, source, sha256, source_file, created_at) VALUES "
            "(?, ?, ?, ?, ?, ?)",
          bind(d.id), bind(d.version), bind(d.source), bind(d.sha256), bind(d.source_file),
          bind(ms(d.created_at)), Poco::Data::Keywords::now;
      return core::Status::ok();
    });
  }

  core::Status insertInstance(const InstanceRecord& i) override {
    return guarded("instances", [&]() -> core::Status {
      try {
        s_ << "INSERT INTO instances (id, definition_id, definition_version, business_key, status, "
              "data, state, parent_id, revision, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, "
              "?, ?, ?, ?, ?)",
            bind(i.id), bind(i.definition_id), bind(i.definition_version), bind(i.business_key),
            bind(i.status), bind(i.data_json), bind(i.state_json), bind(i.parent_id),
            bind(static_cast<Int64>(i.revision)), bind(ms(i.created_at)), bind(ms(i.updated_at)),
            Poco::Data::Keywords::now;
      } catch (const Poco::Data::SQLite::ConstraintViolationException&) {
        return core::alreadyExists("instance of '" + i.definition_id + "' with business key '" +
                                   i.business_key + "' already exists");
      }
      return core::Status::ok();
    });
  }
  core::StatusOr<std::optional<InstanceRecord>> instance(const std::string& id) override {
    return guarded("instances", [&]() -> core::StatusOr<std::optional<InstanceRecord>> {
      Statement st(s_);
      st << "SELECT " << kInstanceColumns << " FROM instances WHERE id = ?", bind(id);
      st.execute();
      RecordSet rs(st);
      if (rs.rowCount() == 0) return std::optional<InstanceRecord>();
      return std::optional<InstanceRecord>(instanceRow(rs, 0));
    });
  }
  core::StatusOr<std::optional<InstanceRecord>> instanceByKey(const std::string& definition_id,
                                                              const std::string& key) override {
    return guarded("instances", [&]() -> core::StatusOr<std::optional<InstanceRecord>> {
      Statement st(s_);
      st << "SELECT " << kInstanceColumns
         << " FROM instances WHERE definition_id = ? AND business_key = ? AND business_key <> ''",
          bind(definition_id), bind(key);
      st.execute();
      RecordSet rs(st);
      if (rs.rowCount() == 0) return std::optional<InstanceRecord>();
      return std::optional<InstanceRecord>(instanceRow(rs, 0));
    });
  }
  core::Status updateInstance(InstanceRecord& i) override {
    return guarded("instances", [&]() -> core::Status {
      Statement st(s_);
      st << "UPDATE instances SET status = ?, data = ?, state = ?, revision = ?, updated_at = ? "
            "WHERE id = ? AND revision = ?",
          bind(i.status), bind(i.data_json), bind(i.state_json),
          bind(static_cast<Int64>(i.revision + 1)), bind(ms(i.updated_at)), bind(i.id),
          bind(static_cast<Int64>(i.revision));
      const std::size_t changed = st.execute();
      if (changed != 1) {
        return core::conflict("instance " + i.id + " changed under this transition (revision " +
                              std::to_string(i.revision) + ")");
      }
      ++i.revision;
      return core::Status::ok();
    });
  }
  core::StatusOr<std::vector<InstanceRecord>> listInstances(const InstanceFilter& f) override {
    return guarded("instances", [&]() -> core::StatusOr<std::vector<InstanceRecord>> {
      Statement st(s_);
      st << "SELECT " << kInstanceColumns << " FROM instances WHERE 1 = 1";
      if (!f.definition_id.empty()) st << " AND definition_id = ?", bind(f.definition_id);
      if (!f.status.empty()) st << " AND status = ?", bind(f.status);
      st << " ORDER BY created_at, id LIMIT ?",
          bind(static_cast<Int64>(f.limit > 0 ? f.limit : -1));
      st.execute();
      RecordSet rs(st);
      std::vector<InstanceRecord> out;
      out.reserve(rs.rowCount());
      for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(instanceRow(rs, r));
      return out;
    });
  }
  core::StatusOr<long long> countInstances(const InstanceFilter& f) override {
    return guarded("instances", [&]() -> core::StatusOr<long long> {
      Statement st(s_);
      st << "SELECT COUNT(*) FROM instances WHERE 1 = 1";
      if (!f.definition_id.empty()) st << " AND definition_id = ?", bind(f.definition_id);
      if (!f.status.empty()) st << " AND status = ?", bind(f.status);
      st.execute();
      RecordSet rs(st);
      return static_cast<long long>(integer(rs, 0, 0));
    });
  }

  core::StatusOr<std::vector<InstanceRecord>> instancesById(const std::vector<std::string>& ids,
                                                            bool with_data) override {
    return guarded("instances", [&]() -> core::StatusOr<std::vector<InstanceRecord>> {
      std::vector<InstanceRecord> out;
      // In chunks, to stay far below SQLite's limit on bound parameters.
      for (std::size_t from = 0; from < ids.size(); from += 200) {
        const std::size_t to = std::min(ids.size(), from + 200);
        Statement st(s_);
        st << "SELECT "
           << (with_data ? kInstanceColumns
                         : "id, definition_id, definition_version, business_key, status, '{}', "
                           "'{}', parent_id, revision, created_at, updated_at")
           << " FROM instances WHERE id IN (";
        for (std::size_t i = from; i < to; ++i) st << (i > from ? ", ?" : "?"), bind(ids[i]);
        st << ")";
        st.execute();
        RecordSet rs(st);
        for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(instanceRow(rs, r));
      }
      return out;
    });
  }

  core::Status insertTask(const TaskRecord& t) override {
    return guarded("tasks", [&]() -> core::Status {
      s_ << "INSERT INTO tasks (" << kTaskColumns
         << ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          bind(t.id), bind(t.instance_id), bind(t.step_id), bind(t.frame), bind(t.kind),
          bind(t.title), bind(t.assignee), bind(t.role), bind(t.status), bind(t.result_json),
          bind(t.completed_by), bind(msOrZero(t.due_at)), bind(ms(t.created_at)),
          bind(msOrZero(t.completed_at)), bind(t.subject_json), Poco::Data::Keywords::now;
      return core::Status::ok();
    });
  }
  core::StatusOr<std::optional<TaskRecord>> task(const std::string& id) override {
    return guarded("tasks", [&]() -> core::StatusOr<std::optional<TaskRecord>> {
      Statement st(s_);
      st << "SELECT " << kTaskColumns << " FROM tasks WHERE id = ?", bind(id);
      st.execute();
      RecordSet rs(st);
      if (rs.rowCount() == 0) return std::optional<TaskRecord>();
      return std::optional<TaskRecord>(taskRow(rs, 0));
    });
  }
  core::Status updateTask(const TaskRecord& t) override {
    return guarded("tasks", [&]() -> core::Status {
      Statement st(s_);
      st << "UPDATE tasks SET assignee = ?, role = ?, status = ?, result = ?, completed_by = ?, "
            "due_at = ?, completed_at = ? WHERE id = ?",
          bind(t.assignee), bind(t.role), bind(t.status), bind(t.result_json), bind(t.completed_by),
          bind(msOrZero(t.due_at)), bind(msOrZero(t.completed_at)), bind(t.id);
      if (st.execute() != 1) return core::notFound("task " + t.id + " does not exist");
      return core::Status::ok();
    });
  }
  core::StatusOr<std::vector<TaskRecord>> listTasks(const std::string& status,
                                                    const std::string& instance_id,
                                                    int limit) override {
    return guarded("tasks", [&]() -> core::StatusOr<std::vector<TaskRecord>> {
      // Only the conditions given, so that the indexes serve them.
      Statement st(s_);
      st << "SELECT " << kTaskColumns << " FROM tasks WHERE 1 = 1";
      if (!status.empty()) st << " AND status = ?", bind(status);
      if (!instance_id.empty()) st << " AND instance_id = ?", bind(instance_id);
      st << " ORDER BY created_at, id LIMIT ?", bind(static_cast<Int64>(limit > 0 ? limit : -1));
      st.execute();
      RecordSet rs(st);
      std::vector<TaskRecord> out;
      out.reserve(rs.rowCount());
      for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(taskRow(rs, r));
      return out;
    });
  }

  core::StatusOr<std::vector<TaskRecord>> listOpenTasksFor(const std::string& user,
                                                           const std::vector<std::string>& roles,
                                                           int limit) override {
    return guarded("tasks", [&]() -> core::StatusOr<std::vector<TaskRecord>> {
      // Two index lookups (tasks_assignee: the user's own tasks, then the unassigned ones of
      // their roles) instead of one OR, which SQLite answers by walking every open task.
      Statement st(s_);
      // INDEXED BY: left to itself the planner walks tasks_status for the ORDER BY.
      st << "SELECT " << kTaskColumns
         << " FROM tasks INDEXED BY tasks_assignee WHERE assignee = ? AND status = 'open'",
          bind(user);
      if (!roles.empty()) {
        st << " UNION ALL SELECT " << kTaskColumns
           << " FROM tasks INDEXED BY tasks_assignee WHERE assignee = '' AND status = 'open' AND "
              "role IN (";
        for (std::size_t i = 0; i < roles.size(); ++i) st << (i ? ", ?" : "?"), bind(roles[i]);
        st << ")";
      }
      st << " ORDER BY created_at, id LIMIT ?", bind(static_cast<Int64>(limit > 0 ? limit : -1));
      return selectTasks(st);
    });
  }
  core::StatusOr<std::vector<TaskRecord>> listTasksOfUser(const std::string& user,
                                                          int limit) override {
    return guarded("tasks", [&]() -> core::StatusOr<std::vector<TaskRecord>> {
      Statement st(s_);
      st << "SELECT " << kTaskColumns
         << " FROM tasks WHERE assignee = ? OR completed_by = ? ORDER BY created_at, id LIMIT ?",
          bind(user), bind(user), bind(static_cast<Int64>(limit > 0 ? limit : -1));
      return selectTasks(st);
    });
  }

  core::Status insertJob(JobRecord& j) override {
    return guarded("jobs", [&]() -> core::Status {
      s_ << "INSERT INTO jobs (instance_id, kind, task_id, payload, due_at, attempts, lease_owner, "
            "lease_until, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
          bind(j.instance_id), bind(j.kind), bind(j.task_id), bind(j.payload_json),
          bind(ms(j.due_at)), bind(j.attempts), bind(j.lease_owner), bind(ms(j.lease_until)),
          bind(ms(j.created_at)), Poco::Data::Keywords::now;
      j.id = lastRowId();
      return core::Status::ok();
    });
  }
  core::StatusOr<std::optional<JobRecord>> job(long long id) override {
    return guarded("jobs", [&]() -> core::StatusOr<std::optional<JobRecord>> {
      Statement st(s_);
      st << "SELECT " << kJobColumns << " FROM jobs WHERE id = ?", bind(static_cast<Int64>(id));
      st.execute();
      RecordSet rs(st);
      if (rs.rowCount() == 0) return std::optional<JobRecord>();
      return std::optional<JobRecord>(jobRow(rs, 0));
    });
  }
  core::Status updateJob(const JobRecord& j) override {
    return guarded("jobs", [&]() -> core::Status {
      Statement st(s_);
      st << "UPDATE jobs SET payload = ?, due_at = ?, attempts = ?, lease_owner = ?, lease_until = "
            "? WHERE id = ?",
          bind(j.payload_json), bind(ms(j.due_at)), bind(j.attempts), bind(j.lease_owner),
          bind(ms(j.lease_until)), bind(static_cast<Int64>(j.id));
      if (st.execute() != 1)
        return core::notFound("job " + std::to_string(j.id) + " does not exist");
      return core::Status::ok();
    });
  }
  core::Status deleteJob(long long id) override {
    return guarded("jobs", [&]() -> core::Status {
      s_ << "DELETE FROM jobs WHERE id = ?", bind(static_cast<Int64>(id)),
          Poco::Data::Keywords::now;
      return core::Status::ok();
    });
  }
  core::Status deleteJobsOfTask(const std::string& task_id) override {
    return guarded("jobs", [&]() -> core::Status {
      s_ << "DELETE FROM jobs WHERE task_id = ?", bind(task_id), Poco::Data::Keywords::now;
      return core::Status::ok();
    });
  }
  core::StatusOr<std::vector<JobRecord>> listJobs(const std::string& instance_id) override {
    return guarded("jobs", [&]() -> core::StatusOr<std::vector<JobRecord>> {
      Statement st(s_);
      st << "SELECT " << kJobColumns << " FROM jobs";
      if (!instance_id.empty()) st << " WHERE instance_id = ?", bind(instance_id);
      st << " ORDER BY due_at, id";
      st.execute();
      RecordSet rs(st);
      std::vector<JobRecord> out;
      for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(jobRow(rs, r));
      return out;
    });
  }
  core::StatusOr<std::vector<JobRecord>> claimDueJobs(TimePoint now, const std::string& owner,
                                                      TimePoint lease_until, int limit) override {
    return guarded("jobs", [&]() -> core::StatusOr<std::vector<JobRecord>> {
      Statement st(s_);
      st << "SELECT " << kJobColumns
         << " FROM jobs WHERE due_at <= ? AND (lease_owner = '' OR lease_until <= ?) ORDER BY "
            "due_at, id LIMIT ?",
          bind(ms(now)), bind(ms(now)), bind(static_cast<Int64>(limit));
      st.execute();
      RecordSet rs(st);
      std::vector<JobRecord> out;
      for (std::size_t r = 0; r < rs.rowCount(); ++r) {
        JobRecord j = jobRow(rs, r);
        j.lease_owner = owner;
        j.lease_until = lease_until;
        s_ << "UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE id = ?", bind(owner),
            bind(ms(lease_until)), bind(static_cast<Int64>(j.id)), Poco::Data::Keywords::now;
        out.push_back(std::move(j));
      }
      return out;
    });
  }
  core::StatusOr<long long> releaseAllLeases() override {
    return guarded("jobs", [&]() -> core::StatusOr<long long> {
      Statement st(s_);
      st << "UPDATE jobs SET lease_owner = '', lease_until = 0 WHERE lease_owner <> ''";
      return static_cast<long long>(st.execute());
    });
  }
  core::StatusOr<std::optional<TimePoint>> nextJobDue() override {
    return guarded("jobs", [&]() -> core::StatusOr<std::optional<TimePoint>> {
      Statement st(s_);
      st << "SELECT due_at FROM jobs ORDER BY due_at LIMIT 1";
      st.execute();
      RecordSet rs(st);
      if (rs.rowCount() == 0) return std::optional<TimePoint>();
      return std::optional<TimePoint>(fromMs(integer(rs, 0, 0)));
    });
  }

  core::Status insertIncident(IncidentRecord& i) override {
    return guarded("incidents", [&]() -> core::Status {
      s_ << "INSERT INTO incidents (instance_id, step_id, job_kind, payload, message, resolved, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
          bind(i.instance_id), bind(i.step_id), bind(i.job_kind), bind(i.payload_json),
          bind(i.message), bind(i.resolved ? 1 : 0), bind(ms(i.created_at)),
          Poco::Data::Keywords::now;
      i.id = lastRowId();
      return core::Status::ok();
    });
  }
  core::StatusOr<std::optional<IncidentRecord>> incident(long long id) override {
    return guarded("incidents", [&]() -> core::StatusOr<std::optional<IncidentRecord>> {
      auto all = selectIncidents("WHERE id = ?", id);
      if (all.empty()) return std::optional<IncidentRecord>();
      return std::optional<IncidentRecord>(all.front());
    });
  }
  core::Status resolveIncident(long long id) override {
    return guarded("incidents", [&]() -> core::Status {
      Statement st(s_);
      st << "UPDATE incidents SET resolved = 1 WHERE id = ?", bind(static_cast<Int64>(id));
      if (st.execute() != 1)
        return core::notFound("incident " + std::to_string(id) + " does not exist");
      return core::Status::ok();
    });
  }
  core::StatusOr<std::vector<IncidentRecord>> listIncidents(bool include_resolved) override {
    return guarded("incidents", [&]() -> core::StatusOr<std::vector<IncidentRecord>> {
      return selectIncidents(include_resolved ? "WHERE ? >= 0" : "WHERE resolved = 0 AND ? >= 0",
                             0);
    });
  }

  core::Status appendHistory(HistoryRecord& h) override {
    return guarded("history", [&]() -> core::Status {
      s_ << "INSERT INTO history (instance_id, at, actor, event, step_id, detail, data_before, "
            "data_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          bind(h.instance_id), bind(ms(h.at)), bind(h.actor), bind(h.event), bind(h.step_id),
          bind(h.detail_json), bind(h.data_before_json), bind(h.data_after_json),
          Poco::Data::Keywords::now;
      h.id = lastRowId();
      return core::Status::ok();
    });
  }
  core::StatusOr<std::vector<HistoryRecord>> listHistory(const std::string& instance_id) override {
    return guarded("history", [&]() -> core::StatusOr<std::vector<HistoryRecord>> {
      Statement st(s_);
      st << "SELECT id, instance_id, at, actor, event, step_id, detail, data_before, data_after "
            "FROM history WHERE instance_id = ? ORDER BY id",
          bind(instance_id);
      st.execute();
      RecordSet rs(st);
      std::vector<HistoryRecord> out;
      for (std::size_t r = 0; r < rs.rowCount(); ++r) {
        HistoryRecord h;
        h.id = integer(rs, 0, r);
        h.instance_id = text(rs, 1, r);
        h.at = fromMs(integer(rs, 2, r));
        h.actor = text(rs, 3, r);
        h.event = text(rs, 4, r);
        h.step_id = text(rs, 5, r);
        h.detail_json = text(rs, 6, r);
        h.data_before_json = text(rs, 7, r);
        h.data_after_json = text(rs, 8, r);
        out.push_back(std::move(h));
      }
      return out;
    });
  }

  core::Status insertOutbox(OutboxRecord& o) override {
    return guarded("outbox", [&]() -> core::Status {
      s_ << "INSERT INTO outbox (instance_id, recipient, subject, body, status, attempts, "
            "created_at, sent_at, html_body, last_error, next_attempt_at) VALUES (?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?)",
          bind(o.instance_id), bind(o.recipient), bind(o.subject), bind(o.body), bind(o.status),
          bind(o.attempts), bind(ms(o.created_at)), bind(msOrZero(o.sent_at)), bind(o.html_body),
          bind(o.last_error), bind(ms(o.next_attempt_at)), Poco::Data::Keywords::now;
      o.id = lastRowId();
      return core::Status::ok();
    });
  }
  core::StatusOr<std::vector<OutboxRecord>> pendingOutbox(TimePoint now, int limit) override {
    return guarded("outbox", [&]() -> core::StatusOr<std::vector<OutboxRecord>> {
      Statement st(s_);
      st << "SELECT " << kOutboxColumns
         << " FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
          bind(ms(now)), bind(static_cast<Int64>(limit > 0 ? limit : -1));
      return selectOutbox(st);
    });
  }
  core::Status markOutboxSent(long long id, TimePoint at) override {
    return guarded("outbox", [&]() -> core::Status {
      s_ << "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ?",
          bind(ms(at)), bind(static_cast<Int64>(id)), Poco::Data::Keywords::now;
      return core::Status::ok();
    });
  }
  core::Status markOutboxFailed(long long id, TimePoint next_attempt_at,
                                const std::string& error) override {
    return guarded("outbox", [&]() -> core::Status {
      s_ << "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
            "WHERE id = ?",
          bind(ms(next_attempt_at)), bind(error), bind(static_cast<Int64>(id)),
          Poco::Data::Keywords::now;
      return core::Status::ok();
    });
  }
  core::Status rewriteOutboxBodies(long long id, const std::string& body,
                                   const std::string& html_body) override {
    return guarded("outbox", [&]() -> core::Status {
      s_ << "UPDATE outbox SET body = ?, html_body = ? WHERE id = ?", bind(body), bind(html_body),
          bind(static_cast<Int64>(id)), Poco::Data::Keywords::now;
      return core::Status::ok();
    });
  }
  core::Status markOutboxDead(long long id, const std::string& error) override {
    return guarded("outbox", [&]() -> core::Status {
      s_ << "UPDATE outbox SET attempts = attempts + 1, status = 'failed', last_error = ? "
            "WHERE id = ?",
          bind(error), bind(static_cast<Int64>(id)), Poco::Data::Keywords::now;
      return core::Status::ok();
    });
  }
  core::StatusOr<std::vector<OutboxRecord>> listOutbox() override {
    return guarded("outbox", [&]() -> core::StatusOr<std::vector<OutboxRecord>> {
      Statement st(s_);
      st << "SELECT " << kOutboxColumns << " FROM outbox ORDER BY id";
      return selectOutbox(st);
    });
  }

  core::Status upsertUser(const UserRecord& u) override {
    return guarded("users", [&]() -> core::Status {
      Statement st(s_);
      st << "UPDATE users SET name = ?, email = ?, roles = ?, source = ?, updated_at = ? WHERE "
            "id = ?",
          bind(u.name), bind(u.email), bind(u.roles_json), bind(u.source), bind(ms(u.updated_at)),
          bind(u.id);
      if (st.execute() == 0) {
        s_ << "INSERT INTO users (id, name, email, roles, source, updated_at) VALUES (?, ?, ?, ?, "
              "?, ?)",
            bind(u.id), bind(u.name), bind(u.email), bind(u.roles_json), bind(u.source),
            bind(ms(u.updated_at)), Poco::Data::Keywords::now;
      }
      return core::Status::ok();
    });
  }
  core::StatusOr<std::optional<UserRecord>> user(const std::string& id) override {
    return guarded("users", [&]() -> core::StatusOr<std::optional<UserRecord>> {
      Statement st(s_);
      st << "SELECT id, name, email, roles, source, updated_at FROM users WHERE id = ?", bind(id);
      auto all = selectUsers(st);
      if (all.empty()) return std::optional<UserRecord>();
      return std::optional<UserRecord>(std::move(all.front()));
    });
  }
  core::StatusOr<std::vector<UserRecord>> listUsers() override {
    return guarded("users", [&]() -> core::StatusOr<std::vector<UserRecord>> {
      Statement st(s_);
      st << "SELECT id, name, email, roles, source, updated_at FROM users ORDER BY id";
      return selectUsers(st);
    });
  }

  core::Status insertApprovalToken(const ApprovalTokenRecord& a) override {
    return guarded("approval_tokens", [&]() -> core::Status {
      s_ << "INSERT INTO approval_tokens (token_hash, task_id, approver, decision, created_at, "
            "expires_at, used_at, used_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          bind(a.token_hash), bind(a.task_id), bind(a.approver), bind(a.decision),
          bind(ms(a.created_at)), bind(ms(a.expires_at)), bind(msOrZero(a.used_at)),
          bind(a.used_from), Poco::Data::Keywords::now;
      return core::Status::ok();
    });
  }
  core::StatusOr<std::optional<ApprovalTokenRecord>> approvalToken(
      const std::string& token_hash) override {
    return guarded("approval_tokens", [&]() -> core::StatusOr<std::optional<ApprovalTokenRecord>> {
      Statement st(s_);
      st << "SELECT " << kTokenColumns << " FROM approval_tokens WHERE token_hash = ?",
          bind(token_hash);
      auto all = selectTokens(st);
      if (all.empty()) return std::optional<ApprovalTokenRecord>();
      return std::optional<ApprovalTokenRecord>(std::move(all.front()));
    });
  }
  core::Status markApprovalTokenUsed(const std::string& token_hash, TimePoint at,
                                     const std::string& from) override {
    return guarded("approval_tokens", [&]() -> core::Status {
      Statement st(s_);
      st << "UPDATE approval_tokens SET used_at = ?, used_from = ? WHERE token_hash = ? AND "
            "used_at = 0",
          bind(ms(at)), bind(from), bind(token_hash);
      if (st.execute() != 1) return core::conflict("the approval link was used already");
      return core::Status::ok();
    });
  }
  core::StatusOr<std::vector<ApprovalTokenRecord>> listApprovalTokens(
      const std::string& task_id) override {
    return guarded("approval_tokens", [&]() -> core::StatusOr<std::vector<ApprovalTokenRecord>> {
      Statement st(s_);
      st << "SELECT " << kTokenColumns
         << " FROM approval_tokens WHERE task_id = ? ORDER BY approver, decision",
          bind(task_id);
      return selectTokens(st);
    });
  }

  core::StatusOr<std::optional<IdempotencyRecord>> idempotency(const std::string& principal,
                                                               const std::string& key) override {
    return guarded("idempotency_keys", [&]() -> core::StatusOr<std::optional<IdempotencyRecord>> {
      Statement st(s_);
      st << "SELECT principal, idem_key, request_sha256, instance_id, created_at FROM "
            "idempotency_keys WHERE principal = ? AND idem_key = ?",
          bind(principal), bind(key);
      st.execute();
      RecordSet rs(st);
      if (rs.rowCount() == 0) return std::optional<IdempotencyRecord>();
      IdempotencyRecord i;
      i.principal = text(rs, 0, 0);
      i.key = text(rs, 1, 0);
      i.request_sha256 = text(rs, 2, 0);
      i.instance_id = text(rs, 3, 0);
      i.created_at = fromMs(integer(rs, 4, 0));
      return std::optional<IdempotencyRecord>(std::move(i));
    });
  }
  core::Status insertIdempotency(const IdempotencyRecord& i) override {
    return guarded("idempotency_keys", [&]() -> core::Status {
      s_ << "INSERT INTO idempotency_keys (principal, idem_key, request_sha256, instance_id, "
            "created_at) VALUES (?, ?, ?, ?, ?)",
          bind(i.principal), bind(i.key), bind(i.request_sha256), bind(i.instance_id),
          bind(ms(i.created_at)), Poco::Data::Keywords::now;
      return core::Status::ok();
    });
  }

  core::Status insertDocument(const DocumentRecord& d) override {
    return guarded("documents", [&]() -> core::Status {
      s_ << "INSERT INTO documents (id, instance_id, step_id, name, path, media_type, size, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          bind(d.id), bind(d.instance_id), bind(d.step_id), bind(d.name), bind(d.path),
          bind(d.media_type), bind(static_cast<Int64>(d.size)), bind(ms(d.created_at)),
          Poco::Data::Keywords::now;
      return core::Status::ok();
    });
  }
  core::StatusOr<std::optional<DocumentRecord>> document(const std::string& id) override {
    return guarded("documents", [&]() -> core::StatusOr<std::optional<DocumentRecord>> {
      Statement st(s_);
      st << "SELECT " << kDocumentColumns << " FROM documents WHERE id = ?", bind(id);
      auto all = selectDocuments(st);
      if (all.empty()) return std::optional<DocumentRecord>();
      return std::optional<DocumentRecord>(std::move(all.front()));
    });
  }
  core::StatusOr<std::vector<DocumentRecord>> listDocuments(
      const std::string& instance_id) override {
    return guarded("documents", [&]() -> core::StatusOr<std::vector<DocumentRecord>> {
      Statement st(s_);
      if (instance_id.empty()) {
        st << "SELECT " << kDocumentColumns << " FROM documents ORDER BY created_at DESC, id";
      } else {
        st << "SELECT " << kDocumentColumns
           << " FROM documents WHERE instance_id = ? ORDER BY created_at, id",
            bind(instance_id);
      }
      return selectDocuments(st);
    });
  }

  core::StatusOr<std::optional<std::string>> stateValue(const std::string& key) override {
    return guarded("state_values", [&]() -> core::StatusOr<std::optional<std::string>> {
      Statement st(s_);
      st << "SELECT value FROM state_values WHERE state_key = ?", bind(key);
      st.execute();
      RecordSet rs(st);
      if (rs.rowCount() == 0) return std::optional<std::string>();
      return std::optional<std::string>(text(rs, 0, 0));
    });
  }
  core::Status setStateValue(const std::string& key, const std::string& value) override {
    return guarded("state_values", [&]() -> core::Status {
      Statement st(s_);
      st << "UPDATE state_values SET value = ? WHERE state_key = ?", bind(value), bind(key);
      if (st.execute() == 0) {
        s_ << "INSERT INTO state_values (state_key, value) VALUES (?, ?)", bind(key), bind(value),
            Poco::Data::Keywords::now;
      }
      return core::Status::ok();
    });
  }

  core::Status insertRevokedSession(const std::string& session_id, TimePoint expires_at) override {
    return guarded("revoked_sessions", [&]() -> core::Status {
      s_ << "INSERT INTO revoked_sessions (session_id, expires_at) VALUES (?, ?) ON CONFLICT "
            "(session_id) DO NOTHING",
          bind(session_id), bind(ms(expires_at)), Poco::Data::Keywords::now;
      return core::Status::ok();
    });
  }
  core::StatusOr<bool> sessionRevoked(const std::string& session_id) override {
    return guarded("revoked_sessions", [&]() -> core::StatusOr<bool> {
      Statement st(s_);
      st << "SELECT 1 FROM revoked_sessions WHERE session_id = ?", bind(session_id);
      st.execute();
      RecordSet rs(st);
      return rs.rowCount() != 0;
    });
  }
  core::StatusOr<long long> purgeRevokedSessions(TimePoint now) override {
    return guarded("revoked_sessions", [&]() -> core::StatusOr<long long> {
      Statement st(s_);
      st << "DELETE FROM revoked_sessions WHERE expires_at <= ?", bind(ms(now));
      return static_cast<long long>(st.execute());
    });
  }

  core::StatusOr<std::optional<TimePoint>> scheduleLastFired(const std::string& key) override {
    return guarded("schedules", [&]() -> core::StatusOr<std::optional<TimePoint>> {
      Statement st(s_);
      st << "SELECT last_fired FROM schedules WHERE schedule_key = ?", bind(key);
      st.execute();
      RecordSet rs(st);
      if (rs.rowCount() == 0) return std::optional<TimePoint>();
      return std::optional<TimePoint>(fromMs(integer(rs, 0, 0)));
    });
  }
  core::Status setScheduleLastFired(const std::string& key, TimePoint fired) override {
    return guarded("schedules", [&]() -> core::Status {
      Statement st(s_);
      st << "UPDATE schedules SET last_fired = ? WHERE schedule_key = ?", bind(ms(fired)),
          bind(key);
      if (st.execute() == 0) {
        s_ << "INSERT INTO schedules (schedule_key, last_fired) VALUES (?, ?)", bind(key),
            bind(ms(fired)), Poco::Data::Keywords::now;
      }
      return core::Status::ok();
    });
  }

 private:
  long long lastRowId() {
    return static_cast<long long>(
        sqlite3_last_insert_rowid(Poco::Data::SQLite::Utility::dbHandle(s_)));
  }

  core::StatusOr<std::optional<DefinitionRecord>> selectDefinition(const std::string& sql,
                                                                   const std::string& id,
                                                                   int version) {
    return guarded("definitions", [&]() -> core::StatusOr<std::optional<DefinitionRecord>> {
      Statement st(s_);
      if (version > 0) {
        st << sql, bind(id), bind(version);
      } else {
        st << sql, bind(id);
      }
      st.execute();
      RecordSet rs(st);
      if (rs.rowCount() == 0) return std::optional<DefinitionRecord>();
      DefinitionRecord d;
      d.id = text(rs, 0, 0);
      d.version = static_cast<int>(integer(rs, 1, 0));
      d.source = text(rs, 2, 0);
      d.sha256 = text(rs, 3, 0);
      d.source_file = text(rs, 4, 0);
      d.created_at = fromMs(integer(rs, 5, 0));
      return std::optional<DefinitionRecord>(std::move(d));
    });
  }

  std::vector<IncidentRecord> selectIncidents(const std::string& where, long long arg) {
    Statement st(s_);
    st << "SELECT id, instance_id, step_id, job_kind, payload, message, resolved, created_at FROM "
          "incidents "
       << where << " ORDER BY id",
        bind(static_cast<Int64>(arg));
    st.execute();
    RecordSet rs(st);
    std::vector<IncidentRecord> out;
    for (std::size_t r = 0; r < rs.rowCount(); ++r) {
      IncidentRecord i;
      i.id = integer(rs, 0, r);
      i.instance_id = text(rs, 1, r);
      i.step_id = text(rs, 2, r);
      i.job_kind = text(rs, 3, r);
      i.payload_json = text(rs, 4, r);
      i.message = text(rs, 5, r);
      i.resolved = integer(rs, 6, r) != 0;
      i.created_at = fromMs(integer(rs, 7, r));
      out.push_back(std::move(i));
    }
    return out;
  }

  static std::vector<OutboxRecord> selectOutbox(Statement& st) {
    st.execute();
    RecordSet rs(st);
    std::vector<OutboxRecord> out;
    for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(outboxRow(rs, r));
    return out;
  }
  static std::vector<TaskRecord> selectTasks(Statement& st) {
    st.execute();
    RecordSet rs(st);
    std::vector<TaskRecord> out;
    out.reserve(rs.rowCount());
    for (std::size_t r = 0; r < rs.rowCount(); ++r) out.push_back(taskRow(rs, r));
    return out;
  }
  static std::vector<UserRecord> selectUsers(Statement& st) {
    st.execute();
    RecordSet rs(st);
    std::vector<UserRecord> out;
    for (std::size_t r = 0; r < rs.rowCount(); ++r) {
      UserRecord u;
      u.id = text(rs, 0, r);
      u.name = text(rs, 1, r);
      u.email = text(rs, 2, r);
      u.roles_json = text(rs, 3, r);
      u.source = text(rs, 4, r);
      u.updated_at = fromMs(integer(rs, 5, r));
      out.push_back(std::move(u));
    }
    return out;
  }
  static std::vector<ApprovalTokenRecord> selectTokens(Statement& st) {
    st.execute();
    RecordSet rs(st);
    std::vector<ApprovalTokenRecord> out;
    for (std::size_t r = 0; r < rs.rowCount(); ++r) {
      ApprovalTokenRecord a;
      a.token_hash = text(rs, 0, r);
      a.task_id = text(rs, 1, r);
      a.approver = text(rs, 2, r);
      a.decision = text(rs, 3, r);
      a.created_at = fromMs(integer(rs, 4, r));
      a.expires_at = fromMs(integer(rs, 5, r));
      a.used_at = optionalTime(integer(rs, 6, r));
      a.used_from = text(rs, 7, r);
      out.push_back(std::move(a));
    }
    return out;
  }
  static std::vector<DocumentRecord> selectDocuments(Statement& st) {
    st.execute();
    RecordSet rs(st);
    std::vector<DocumentRecord> out;
    for (std::size_t r = 0; r < rs.rowCount(); ++r) {
      DocumentRecord d;
      d.id = text(rs, 0, r);
      d.instance_id = text(rs, 1, r);
      d.step_id = text(rs, 2, r);
      d.name = text(rs, 3, r);
      d.path = text(rs, 4, r);
      d.media_type = text(rs, 5, r);
      d.size = integer(rs, 6, r);
      d.created_at = fromMs(integer(rs, 7, r));
      out.push_back(std::move(d));
    }
    return out;
  }

  Session& s_;
};

}  // namespace

struct SqliteStore::Impl {
  explicit Impl(Session s) : session(std::move(s)) {}
  Session session;  // the writer
  // Read-only connections (empty for ":memory:", whose data one connection alone can see).
  std::vector<std::unique_ptr<Session>> readers;
  std::mutex readers_mutex;
  std::condition_variable reader_free;
  std::vector<Session*> idle_readers;  // guarded by readers_mutex
  // For releaseMemoryWhenIdle, guarded by SqliteStore::mutex_: when a transaction last changed
  // rows, and whether the caches were released since.
  std::chrono::steady_clock::time_point last_change_at = std::chrono::steady_clock::now();
  bool released = false;
};

namespace {

// ROLLBACK of the transaction open on `s`, if one is: SQLite ends it by itself on some errors
// (a full database or disk), and a ROLLBACK then would only hide the error.
void rollbackIfOpen(Session& s) {
  if (sqlite3_get_autocommit(Poco::Data::SQLite::Utility::dbHandle(s)) == 0) {
    s << "ROLLBACK", Poco::Data::Keywords::now;
  }
}

// Runs `work` in a transaction on `s`: BEGIN `begin`, then COMMIT when it returns OK, else
// ROLLBACK.
core::Status runInTransaction(Session& s, const char* begin,
                              const std::function<core::Status(Transaction&)>& work) {
  try {
    s << begin, Poco::Data::Keywords::now;
  } catch (const Poco::Exception& e) {
    return fromException("begin", e);
  }
  SqliteTransaction tx(s);
  core::Status result;
  try {
    result = work(tx);
  } catch (const std::exception& e) {
    result = core::internalError(std::string("transaction failed: ") + e.what());
  }
  try {
    if (result.isOk()) {
      s << "COMMIT", Poco::Data::Keywords::now;
    } else {
      rollbackIfOpen(s);
    }
  } catch (const Poco::Exception& e) {
    try {
      rollbackIfOpen(s);
    } catch (const Poco::Exception&) {
    }
    return fromException(result.isOk() ? "commit" : "rollback", e);
  }
  return result;
}

}  // namespace

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl, std::string path)
    : impl_(std::move(impl)), path_(std::move(path)) {}
SqliteStore::~SqliteStore() = default;

int SqliteStore::schemaVersion() { return static_cast<int>(migrations().size()); }

core::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path,
                                                               const SqliteOptions& options) {
  static std::once_flag registered;
  std::call_once(registered, [] { Poco::Data::SQLite::Connector::registerConnector(); });
  try {
    if (path != ":memory:") {
      const core::Status folder =
          core::createPrivateFolders(std::filesystem::path(path).parent_path().string());
      if (!folder.isOk()) return folder.withContext("the folder of the store");
      // SQLite would create the file with its default mode (0644 less the umask) and gives
      // the -wal and -shm files the database's mode: make it 0600 first.
      for (const std::string& file : {path + "-wal", path + "-shm"}) {
        SENDFLOW_RETURN_IF_ERROR(core::restrictToOwner(file).withContext("the store"));
      }
      SENDFLOW_RETURN_IF_ERROR(core::ensurePrivateFile(path).withContext("the store"));
    }
    Session session("SQLite", path);
    // WAL: readers do not block the writer, and a commit is one append to the log.
    session << "PRAGMA journal_mode = WAL", Poco::Data::Keywords::now;
    session << (options.synchronous == SqliteSync::kFull ? "PRAGMA synchronous = FULL"
                                                         : "PRAGMA synchronous = NORMAL"),
        Poco::Data::Keywords::now;
    session << "PRAGMA busy_timeout = " + std::to_string(options.busy_timeout_ms),
        Poco::Data::Keywords::now;
    // A page cache that holds the working set of a council's store (SQLite's default is 2 MB,
    // so a busy service re-read the task table from the file on every listing), and reads
    // through a memory map instead of a read() per page.
    session << "PRAGMA cache_size = -65536", Poco::Data::Keywords::now;
    session << "PRAGMA mmap_size = 268435456", Poco::Data::Keywords::now;
    if (options.max_bytes > 0) {
      int page_size = 4096;
      session << "PRAGMA page_size", Poco::Data::Keywords::into(page_size),
          Poco::Data::Keywords::now;
      session << "PRAGMA max_page_count = " +
                     std::to_string(std::max<long long>(1, options.max_bytes / page_size)),
          Poco::Data::Keywords::now;
    }
    session << "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
               "applied_at BIGINT NOT NULL)",
        Poco::Data::Keywords::now;
    int current = 0;
    session << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        Poco::Data::Keywords::into(current), Poco::Data::Keywords::now;
    const auto& all = migrations();
    if (current > static_cast<int>(all.size())) {
      return core::failedPrecondition("store " + path + " has schema version " +
                                      std::to_string(current) + "; this build knows up to " +
                                      std::to_string(all.size()));
    }
    for (int v = current; v < static_cast<int>(all.size()); ++v) {
      session << "BEGIN IMMEDIATE", Poco::Data::Keywords::now;
      try {
        for (const std::string& sql : all[v]) session << sql, Poco::Data::Keywords::now;
        const Int64 applied = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
        session << "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", bind(v + 1),
            bind(applied), Poco::Data::Keywords::now;
        session << "COMMIT", Poco::Data::Keywords::now;
      } catch (...) {
        session << "ROLLBACK", Poco::Data::Keywords::now;
        throw;
      }
    }
    auto impl = std::make_unique<Impl>(std::move(session));
    if (path != ":memory:") {
      for (int i = 0; i < options.readers; ++i) {
        auto reader = std::make_unique<Session>("SQLite", path);
        *reader << "PRAGMA busy_timeout = " + std::to_string(options.busy_timeout_ms),
            Poco::Data::Keywords::now;
        *reader << "PRAGMA cache_size = -16384", Poco::Data::Keywords::now;
        *reader << "PRAGMA mmap_size = 268435456", Poco::Data::Keywords::now;
        // A write through a reader is a bug; make it fail loudly.
        *reader << "PRAGMA query_only = ON", Poco::Data::Keywords::now;
        impl->idle_readers.push_back(reader.get());
        impl->readers.push_back(std::move(reader));
      }
    }
    return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl), path));
  } catch (const Poco::Exception& e) {
    return core::unavailable("cannot open the store " + path + ": " + e.displayText());
  }
}

core::Status SqliteStore::transact(const std::function<core::Status(Transaction&)>& work) {
  std::lock_guard<std::mutex> lock(mutex_);
  sqlite3* db = Poco::Data::SQLite::Utility::dbHandle(impl_->session);
  const int changes_before = sqlite3_total_changes(db);
  core::Status result = runInTransaction(impl_->session, "BEGIN IMMEDIATE", work);
  // Workers polling for due jobs change nothing: only real writes end a quiet spell.
  if (sqlite3_total_changes(db) != changes_before) {
    impl_->last_change_at = std::chrono::steady_clock::now();
    impl_->released = false;
  }
  return result;
}

core::Status SqliteStore::read(const std::function<core::Status(Transaction&)>& work) {
  if (impl_->readers.empty()) return transact(work);
  Session* reader = nullptr;
  {
    std::unique_lock<std::mutex> lock(impl_->readers_mutex);
    impl_->reader_free.wait(lock, [&] { return !impl_->idle_readers.empty(); });
    reader = impl_->idle_readers.back();
    impl_->idle_readers.pop_back();
  }
  // A deferred transaction: one consistent snapshot of the committed data, beside the writer.
  core::Status result = runInTransaction(*reader, "BEGIN", work);
  {
    std::lock_guard<std::mutex> lock(impl_->readers_mutex);
    impl_->idle_readers.push_back(reader);
  }
  impl_->reader_free.notify_one();
  return result;
}

bool SqliteStore::healthy() {
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    int one = 0;
    impl_->session << "SELECT 1", Poco::Data::Keywords::into(one), Poco::Data::Keywords::now;
    return one == 1;
  } catch (const Poco::Exception&) {
    return false;
  }
}

bool SqliteStore::releaseMemoryWhenIdle(std::chrono::milliseconds quiet) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (impl_->released || std::chrono::steady_clock::now() - impl_->last_change_at < quiet) {
    return false;
  }
  sqlite3_db_release_memory(Poco::Data::SQLite::Utility::dbHandle(impl_->session));
  {
    // Readers in use keep theirs until the next quiet spell.
    std::lock_guard<std::mutex> readers_lock(impl_->readers_mutex);
    for (Session* reader : impl_->idle_readers) {
      sqlite3_db_release_memory(Poco::Data::SQLite::Utility::dbHandle(*reader));
    }
  }
  impl_->released = true;
  return true;
}

core::Status SqliteStore::checkWritable() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Session& s = impl_->session;
    try {
      s << "BEGIN IMMEDIATE", Poco::Data::Keywords::now;
      try {
        // A row of a few pages: a database at its size limit, or without a free page on a full
        // disk, fails here as a real write would. Nothing of it is kept.
        const std::string filler(3 * 4096, ' ');
        s << "INSERT INTO state_values (state_key, value) VALUES ('sendflow.write_probe', ?)",
            bind(filler), Poco::Data::Keywords::now;
      } catch (const Poco::Exception&) {
        rollbackIfOpen(s);
        throw;
      }
      rollbackIfOpen(s);
    } catch (const Poco::Exception& e) {
      return core::unavailable("cannot write to the store " + path_ + ": " + e.displayText());
    }
  }
  if (path_ == ":memory:") return core::Status::ok();
  const std::string folder = std::filesystem::path(path_).parent_path().string();
  return core::checkFolderWritable(folder.empty() ? "." : folder).withContext("the store");
}

}  // namespace sendflow::store
