#include "server/workbench/workbench.h"

#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <set>

#include "server/core/json_text.h"
#include "server/core/utf8.h"

namespace sendflow::workbench {

namespace {

using nlohmann::json;

const char* const kOversightRoles[] = {"admin", "qa-lead", "manager"};

// A stored task subject, history detail or instance data as an object ({} when it holds
// something else, such as the plain text item of a for-each); kInternal when it is damaged.
core::StatusOr<json> storedObject(const std::string& text, const std::string& what) {
  SENDFLOW_ASSIGN_OR_RETURN(json parsed, core::parseStoredJson(text, what, json::object()));
  return parsed.is_object() ? parsed : json::object();
}

std::vector<std::string> rolesOf(const auth::Principal& who) {
  return std::vector<std::string>(who.roles.begin(), who.roles.end());
}

std::string sha256Hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0f];
  }
  return out;
}

// Whether `value` (text, or a list of texts) names `user`.
bool names(const json& value, const std::string& user) {
  if (value.is_string()) return value.get<std::string>() == user;
  if (value.is_array()) {
    for (const json& v : value) {
      if (v.is_string() && v.get<std::string>() == user) return true;
    }
  }
  return false;
}

// Header values are the client's bytes and history is JSON: only valid UTF-8 goes in.
json originAudit(const auth::Principal& who, const RequestOrigin& origin) {
  using core::validUtf8;
  json out = json::object();
  if (!origin.channel.empty()) out["channel"] = validUtf8(origin.channel);
  if (!origin.client_address.empty()) out["client_address"] = validUtf8(origin.client_address);
  if (!origin.user_agent.empty()) out["user_agent"] = validUtf8(origin.user_agent.substr(0, 300));
  if (!origin.request_id.empty()) out["request_id"] = validUtf8(origin.request_id);
  if (!who.via.empty()) out["via"] = validUtf8(who.via);
  return json{{"origin", out}};
}

core::Status checkIdempotencyKey(const std::string& key) {
  if (key.size() > 200) {
    return core::invalidArgument("Idempotency-Key: longer than 200 characters");
  }
  for (unsigned char c : key) {
    if (c < 0x21 || c > 0x7e) {
      return core::invalidArgument("Idempotency-Key: only visible ASCII characters are allowed");
    }
  }
  return core::Status::ok();
}

// A business key names a cycle in lists, pages and mails, and is stored as text: a control
// character (a NUL that ends the text when it is read back, a line break) would make it show as
// another key.
core::Status checkBusinessKey(const std::string& key) {
  for (unsigned char c : key) {
    if (c < 0x20 || c == 0x7f) {
      return core::invalidArgument(
          "business_key: must not contain control characters (line breaks, tabs, NUL)");
    }
  }
  return core::Status::ok();
}

bool isOpen(const store::TaskRecord& task) { return task.status == "open"; }

// What the conflict checks of the queue tasks among `tasks` need: every task of their instances
// (conflictOf looks for another step on the same subject completed by the user in the same
// instance). Read by instance, an index lookup of a few rows each, rather than every task the
// user ever had, which for a busy auditor is thousands of rows on every page.
core::Status readConflictTasks(store::Transaction& tx, const std::string& user,
                               const std::vector<store::TaskRecord>& tasks,
                               std::vector<store::TaskRecord>& out) {
  std::set<std::string> instances;
  for (const store::TaskRecord& task : tasks) {
    if (isOpen(task) && task.assignee.empty() && !user.empty()) {
      instances.insert(task.instance_id);
    }
  }
  for (const std::string& instance_id : instances) {
    SENDFLOW_ASSIGN_OR_RETURN(auto of_instance, tx.listTasks("", instance_id, 0));
    for (store::TaskRecord& t : of_instance) out.push_back(std::move(t));
  }
  return core::Status::ok();
}

}  // namespace

Workbench::Workbench(engine::Runtime& runtime, Directory& directory, const core::Clock& clock,
                     WorkbenchOptions options)
    : runtime_(runtime), directory_(directory), clock_(clock), options_(std::move(options)) {
  if (options_.default_limit < 1) options_.default_limit = 1;
  if (options_.max_limit < options_.default_limit) options_.max_limit = options_.default_limit;
}

bool Workbench::canStart(const auth::Principal& who) {
  return who.hasAnyRole({"admin", "qa-lead", "automation"});
}

bool Workbench::isOversight(const auth::Principal& who) {
  for (const char* role : kOversightRoles) {
    if (who.hasRole(role)) return true;
  }
  return false;
}

int Workbench::effectiveLimit(int limit) const {
  if (limit <= 0) return options_.default_limit;
  return std::min(limit, options_.max_limit);
}

// ---- Visibility and conflicts ----------------------------------------------------------------

core::StatusOr<bool> Workbench::startedBy(store::Transaction& tx, const std::string& instance_id,
                                          const std::string& user) const {
  SENDFLOW_ASSIGN_OR_RETURN(auto rows, tx.listHistory(instance_id));
  for (const store::HistoryRecord& row : rows) {
    if (row.event == "instance.started") return row.actor == user;
  }
  return false;
}

core::StatusOr<bool> Workbench::canSeeInstance(store::Transaction& tx, const auth::Principal& who,
                                               const std::string& instance_id) const {
  if (isOversight(who)) return true;
  SENDFLOW_ASSIGN_OR_RETURN(auto tasks, tx.listTasks("", instance_id, 0));
  for (const store::TaskRecord& task : tasks) {
    if (task.assignee == who.id || task.completed_by == who.id) return true;
  }
  if (who.hasRole("automation")) return startedBy(tx, instance_id, who.id);
  return false;
}

core::StatusOr<bool> Workbench::seesInstanceData(store::Transaction& tx, const auth::Principal& who,
                                                 const std::string& instance_id) const {
  if (isOversight(who)) return true;
  if (who.hasRole("automation")) return startedBy(tx, instance_id, who.id);
  return false;
}

core::Status Workbench::conflictOf(const store::TaskRecord& task, const std::string& user_id,
                                   const std::vector<store::TaskRecord>& tasks_of_user) const {
  SENDFLOW_ASSIGN_OR_RETURN(const json subject,
                            storedObject(task.subject_json, "task " + task.id + ": subject"));
  for (const std::string& field : options_.conflict_fields) {
    auto it = subject.find(field);
    if (it != subject.end() && names(*it, user_id)) {
      return core::permissionDenied(user_id + " is named in the " + field +
                                    " of what the task is about, so may not be given it");
    }
  }
  for (const store::TaskRecord& other : tasks_of_user) {
    if (other.completed_by != user_id || other.instance_id != task.instance_id ||
        other.step_id == task.step_id || other.id == task.id) {
      continue;
    }
    SENDFLOW_ASSIGN_OR_RETURN(const json other_subject,
                              storedObject(other.subject_json, "task " + other.id + ": subject"));
    if (other_subject == subject) {
      return core::permissionDenied(user_id + " completed '" + other.title +
                                    "' on the same subject, so may not also be given '" +
                                    task.title + "'");
    }
  }
  return core::Status::ok();
}

core::Status Workbench::conflictOf(store::Transaction& tx, const store::TaskRecord& task,
                                   const std::string& user_id) const {
  SENDFLOW_ASSIGN_OR_RETURN(auto tasks, tx.listTasks("", task.instance_id, 0));
  return conflictOf(task, user_id, tasks);
}

core::Status Workbench::assignableIn(store::Transaction& tx, const store::TaskRecord& task,
                                     const std::string& user_id) const {
  SENDFLOW_ASSIGN_OR_RETURN(auto person, Directory::find(tx, user_id));
  if (!person) return core::permissionDenied("no user '" + user_id + "' is known");
  if (!task.role.empty() &&
      std::find(person->roles.begin(), person->roles.end(), task.role) == person->roles.end()) {
    return core::permissionDenied(user_id + " does not have the role '" + task.role + "'");
  }
  return conflictOf(tx, task, user_id);
}

core::Status Workbench::assignable(const store::TaskRecord& task,
                                   const std::string& user_id) const {
  return runtime_.store().read(
      [&](store::Transaction& tx) { return assignableIn(tx, task, user_id); });
}

core::StatusOr<bool> Workbench::canSeeTask(store::Transaction& tx, const auth::Principal& who,
                                           const store::TaskRecord& task) const {
  if (isOversight(who)) return true;
  if (task.assignee == who.id || task.completed_by == who.id) return true;
  if (isOpen(task) && task.assignee.empty() && who.hasRole(task.role)) {
    return conflictOf(tx, task, who.id).isOk();
  }
  if (who.hasRole("automation")) return startedBy(tx, task.instance_id, who.id);
  return false;
}

core::StatusOr<store::TaskRecord> Workbench::visibleTask(const auth::Principal& who,
                                                         const std::string& task_id) const {
  store::TaskRecord out;
  SENDFLOW_RETURN_IF_ERROR(runtime_.store().read([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(auto task, tx.task(task_id));
    if (!task) return core::notFound("no task '" + task_id + "'");
    SENDFLOW_ASSIGN_OR_RETURN(bool visible, canSeeTask(tx, who, *task));
    if (!visible) return core::notFound("no task '" + task_id + "'");
    out = std::move(*task);
    return core::Status::ok();
  }));
  return out;
}

// ---- Definitions and starts ------------------------------------------------------------------

std::vector<DefinitionSummary> Workbench::definitions(const auth::Principal& who) const {
  std::vector<DefinitionSummary> out;
  for (auto& definition : runtime_.definitions()) {
    out.push_back(DefinitionSummary{definition, canStart(who)});
  }
  return out;
}

core::StatusOr<DefinitionSummary> Workbench::definition(const auth::Principal& who,
                                                        const std::string& id) const {
  for (auto& definition : runtime_.definitions()) {
    if (definition->id == id) return DefinitionSummary{definition, canStart(who)};
  }
  return core::notFound("no workflow '" + id + "'");
}

core::StatusOr<StartOutcome> Workbench::start(const auth::Principal& who,
                                              const std::string& workflow_id, const json& input,
                                              const std::string& business_key,
                                              const std::string& idempotency_key,
                                              const RequestOrigin& origin) {
  if (!canStart(who)) {
    return core::permissionDenied(
        "starting a workflow needs the admin, qa-lead or automation role");
  }
  SENDFLOW_RETURN_IF_ERROR(definition(who, workflow_id).status());
  SENDFLOW_RETURN_IF_ERROR(checkBusinessKey(business_key));
  const json given = input.is_null() ? json::object() : input;
  if (!given.is_object()) return core::invalidArgument("input: must be a JSON object");

  engine::StartOptions options;
  options.audit = originAudit(who, origin);
  bool replayed = false;
  std::string request_sha;  // outlives the hooks below, which capture it
  if (!idempotency_key.empty()) {
    SENDFLOW_RETURN_IF_ERROR(checkIdempotencyKey(idempotency_key));
    // nlohmann::json keeps object members sorted, so dump() is canonical.
    request_sha = sha256Hex(
        json{{"workflow", workflow_id}, {"input", given}, {"business_key", business_key}}.dump());
    options.before =
        [&](store::Transaction& tx) -> core::StatusOr<std::optional<engine::StartResult>> {
      replayed = false;
      SENDFLOW_ASSIGN_OR_RETURN(auto earlier, tx.idempotency(who.id, idempotency_key));
      if (!earlier) return std::optional<engine::StartResult>();
      if (earlier->request_sha256 != request_sha) {
        return core::conflict("the Idempotency-Key '" + idempotency_key +
                              "' was used with another request");
      }
      replayed = true;
      return std::optional<engine::StartResult>(engine::StartResult{earlier->instance_id, false});
    };
    options.after = [&](store::Transaction& tx, const engine::StartResult& result) {
      store::IdempotencyRecord record;
      record.principal = who.id;
      record.key = idempotency_key;
      record.request_sha256 = request_sha;
      record.instance_id = result.instance_id;
      record.created_at = clock_.now();
      return tx.insertIdempotency(record);
    };
  }
  SENDFLOW_ASSIGN_OR_RETURN(engine::StartResult result,
                            runtime_.start(workflow_id, given, business_key, who.id, options));
  return StartOutcome{result.instance_id, result.created, replayed};
}

// ---- Instances, history, documents -----------------------------------------------------------

core::StatusOr<std::vector<store::InstanceRecord>> Workbench::instances(
    const auth::Principal& who, const InstanceQuery& query) const {
  const int limit = effectiveLimit(query.limit);
  std::vector<store::InstanceRecord> out;
  SENDFLOW_RETURN_IF_ERROR(runtime_.store().read([&](store::Transaction& tx) -> core::Status {
    store::InstanceFilter filter{query.workflow_id, query.status, limit};
    if (isOversight(who)) {
      SENDFLOW_ASSIGN_OR_RETURN(out, tx.listInstances(filter));
    } else {
      std::set<std::string> ids;
      SENDFLOW_ASSIGN_OR_RETURN(auto mine, tx.listTasksOfUser(who.id, 0));
      for (const store::TaskRecord& task : mine) ids.insert(task.instance_id);
      std::vector<store::InstanceRecord> found;
      for (const std::string& id : ids) {
        SENDFLOW_ASSIGN_OR_RETURN(auto instance, tx.instance(id));
        if (instance) found.push_back(std::move(*instance));
      }
      if (who.hasRole("automation")) {
        filter.limit = 0;
        SENDFLOW_ASSIGN_OR_RETURN(auto all, tx.listInstances(filter));
        for (store::InstanceRecord& instance : all) {
          if (ids.count(instance.id) > 0) continue;
          SENDFLOW_ASSIGN_OR_RETURN(bool started, startedBy(tx, instance.id, who.id));
          if (started) found.push_back(std::move(instance));
        }
      }
      for (store::InstanceRecord& instance : found) {
        if (!query.workflow_id.empty() && instance.definition_id != query.workflow_id) continue;
        if (!query.status.empty() && instance.status != query.status) continue;
        out.push_back(std::move(instance));
      }
      std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
      });
      if (out.size() > static_cast<std::size_t>(limit)) out.resize(limit);
    }
    for (store::InstanceRecord& instance : out) {
      instance.state_json = "{}";
      SENDFLOW_ASSIGN_OR_RETURN(bool data, seesInstanceData(tx, who, instance.id));
      if (!data) instance.data_json = "{}";
    }
    return core::Status::ok();
  }));
  return out;
}

core::StatusOr<InstanceView> Workbench::instance(const auth::Principal& who,
                                                 const std::string& id) const {
  InstanceView view;
  SENDFLOW_RETURN_IF_ERROR(runtime_.store().read([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(auto instance, tx.instance(id));
    if (!instance) return core::notFound("no instance '" + id + "'");
    SENDFLOW_ASSIGN_OR_RETURN(bool visible, canSeeInstance(tx, who, id));
    if (!visible) return core::notFound("no instance '" + id + "'");
    view.instance = std::move(*instance);
    view.instance.state_json = "{}";
    SENDFLOW_ASSIGN_OR_RETURN(bool data, seesInstanceData(tx, who, id));
    if (!data) view.instance.data_json = "{}";
    SENDFLOW_ASSIGN_OR_RETURN(auto tasks, tx.listTasks("", id, 0));
    for (store::TaskRecord& task : tasks) {
      SENDFLOW_ASSIGN_OR_RETURN(bool seen, canSeeTask(tx, who, task));
      if (seen) view.tasks.push_back(std::move(task));
    }
    return core::Status::ok();
  }));
  auto definition =
      runtime_.definition(view.instance.definition_id, view.instance.definition_version);
  view.workflow_title = definition.isOk() ? (*definition)->title : view.instance.definition_id;
  return view;
}

core::StatusOr<std::vector<store::HistoryRecord>> Workbench::history(const auth::Principal& who,
                                                                     const std::string& instance_id,
                                                                     int limit) const {
  const std::size_t cap = static_cast<std::size_t>(effectiveLimit(limit));
  std::vector<store::HistoryRecord> out;
  SENDFLOW_RETURN_IF_ERROR(runtime_.store().read([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(auto instance, tx.instance(instance_id));
    if (!instance) return core::notFound("no instance '" + instance_id + "'");
    SENDFLOW_ASSIGN_OR_RETURN(bool visible, canSeeInstance(tx, who, instance_id));
    if (!visible) return core::notFound("no instance '" + instance_id + "'");
    SENDFLOW_ASSIGN_OR_RETURN(bool whole, seesInstanceData(tx, who, instance_id));
    SENDFLOW_ASSIGN_OR_RETURN(auto rows, tx.listHistory(instance_id));
    std::set<std::string> seen_tasks;
    if (!whole) {
      SENDFLOW_ASSIGN_OR_RETURN(auto tasks, tx.listTasks("", instance_id, 0));
      for (const store::TaskRecord& task : tasks) {
        SENDFLOW_ASSIGN_OR_RETURN(bool seen, canSeeTask(tx, who, task));
        if (seen) seen_tasks.insert(task.id);
      }
    }
    for (store::HistoryRecord& row : rows) {
      if (out.size() >= cap) break;
      if (!whole) {
        SENDFLOW_ASSIGN_OR_RETURN(
            const json detail,
            storedObject(row.detail_json, "history entry " + std::to_string(row.id) + ": detail"));
        const bool own_event = row.event.rfind("instance.", 0) == 0;
        const bool about_seen_task = detail.contains("task") && detail["task"].is_string() &&
                                     seen_tasks.count(detail["task"].get<std::string>()) > 0;
        if (!own_event && !about_seen_task) continue;
        row.data_before_json.clear();
        row.data_after_json.clear();
      }
      out.push_back(std::move(row));
    }
    return core::Status::ok();
  }));
  return out;
}

core::StatusOr<std::vector<store::DocumentRecord>> Workbench::documents(
    const auth::Principal& who, const std::string& instance_id, int limit) const {
  const std::size_t cap = static_cast<std::size_t>(effectiveLimit(limit));
  std::vector<store::DocumentRecord> out;
  SENDFLOW_RETURN_IF_ERROR(runtime_.store().read([&](store::Transaction& tx) -> core::Status {
    if (!instance_id.empty()) {
      SENDFLOW_ASSIGN_OR_RETURN(auto instance, tx.instance(instance_id));
      if (!instance) return core::notFound("no instance '" + instance_id + "'");
      SENDFLOW_ASSIGN_OR_RETURN(bool visible, canSeeInstance(tx, who, instance_id));
      if (!visible) return core::notFound("no instance '" + instance_id + "'");
      SENDFLOW_ASSIGN_OR_RETURN(out, tx.listDocuments(instance_id));
    } else {
      SENDFLOW_ASSIGN_OR_RETURN(auto all, tx.listDocuments(""));
      std::map<std::string, bool> visible_instances;
      for (store::DocumentRecord& document : all) {
        if (out.size() >= cap) break;
        auto it = visible_instances.find(document.instance_id);
        if (it == visible_instances.end()) {
          SENDFLOW_ASSIGN_OR_RETURN(bool visible, canSeeInstance(tx, who, document.instance_id));
          it = visible_instances.emplace(document.instance_id, visible).first;
        }
        if (it->second) out.push_back(std::move(document));
      }
    }
    if (out.size() > cap) out.resize(cap);
    return core::Status::ok();
  }));
  return out;
}

core::StatusOr<store::DocumentRecord> Workbench::document(const auth::Principal& who,
                                                          const std::string& document_id) const {
  store::DocumentRecord out;
  SENDFLOW_RETURN_IF_ERROR(runtime_.store().read([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(auto document, tx.document(document_id));
    if (!document) return core::notFound("no document '" + document_id + "'");
    SENDFLOW_ASSIGN_OR_RETURN(bool visible, canSeeInstance(tx, who, document->instance_id));
    if (!visible) return core::notFound("no document '" + document_id + "'");
    out = std::move(*document);
    return core::Status::ok();
  }));
  return out;
}

// ---- Tasks -----------------------------------------------------------------------------------

core::Status Workbench::readViewInputs(store::Transaction& tx, const auth::Principal& who,
                                       const std::vector<store::TaskRecord>& tasks,
                                       bool read_tasks_of_user, ViewInputs& inputs) const {
  // The views need only each instance's workflow and version: one light query for them all.
  std::vector<std::string> wanted;
  for (const store::TaskRecord& task : tasks) {
    if (inputs.instances.count(task.instance_id) == 0 &&
        std::find(wanted.begin(), wanted.end(), task.instance_id) == wanted.end()) {
      wanted.push_back(task.instance_id);
    }
  }
  if (!wanted.empty()) {
    SENDFLOW_ASSIGN_OR_RETURN(auto found, tx.instancesById(wanted, /*with_data=*/false));
    for (store::InstanceRecord& instance : found) {
      const std::string id = instance.id;
      inputs.instances.emplace(id, std::move(instance));
    }
  }
  if (read_tasks_of_user) {
    SENDFLOW_RETURN_IF_ERROR(readConflictTasks(tx, who.id, tasks, inputs.tasks_of_user));
  }
  return core::Status::ok();
}

core::StatusOr<std::vector<TaskView>> Workbench::buildViews(const auth::Principal& who,
                                                            std::vector<store::TaskRecord> tasks,
                                                            const ViewInputs& inputs) const {
  std::map<std::pair<std::string, int>, std::shared_ptr<const engine::Definition>> definitions;
  const core::TimePoint now = clock_.now();
  const bool may_reassign = who.hasAnyRole({"admin", "qa-lead"});
  std::vector<TaskView> out;
  out.reserve(tasks.size());
  for (store::TaskRecord& task : tasks) {
    TaskView view;
    auto instance = inputs.instances.find(task.instance_id);
    if (instance != inputs.instances.end()) {
      const auto key =
          std::make_pair(instance->second.definition_id, instance->second.definition_version);
      auto known = definitions.find(key);
      if (known == definitions.end()) {
        auto loaded = runtime_.definition(key.first, key.second);
        known = definitions.emplace(key, loaded.isOk() ? *loaded : nullptr).first;
      }
      view.workflow_id = key.first;
      view.definition = known->second;
      view.workflow_title = view.definition ? view.definition->title : key.first;
      if (view.definition) view.step = view.definition->findStep(task.step_id);
    }
    SENDFLOW_ASSIGN_OR_RETURN(view.subject,
                              storedObject(task.subject_json, "task " + task.id + ": subject"));
    const bool open = isOpen(task);
    view.can_claim = open && task.assignee.empty() && who.hasRole(task.role) &&
                     conflictOf(task, who.id, inputs.tasks_of_user).isOk();
    view.can_complete = open && (task.assignee == who.id || view.can_claim);
    view.can_reassign = open && may_reassign;
    view.overdue = open && task.due_at && *task.due_at < now;
    view.task = std::move(task);
    out.push_back(std::move(view));
  }
  return out;
}

core::StatusOr<std::vector<TaskView>> Workbench::views(const auth::Principal& who,
                                                       std::vector<store::TaskRecord> tasks) const {
  ViewInputs inputs;
  SENDFLOW_RETURN_IF_ERROR(runtime_.store().read([&](store::Transaction& tx) {
    return readViewInputs(tx, who, tasks, /*read_tasks_of_user=*/true, inputs);
  }));
  return buildViews(who, std::move(tasks), inputs);
}

core::StatusOr<std::vector<TaskView>> Workbench::myTasks(const auth::Principal& who,
                                                         int limit) const {
  const std::size_t cap = static_cast<std::size_t>(effectiveLimit(limit));
  std::vector<store::TaskRecord> tasks;
  ViewInputs inputs;
  SENDFLOW_RETURN_IF_ERROR(runtime_.store().read([&](store::Transaction& tx) -> core::Status {
    // Conflicted queue tasks are dropped below: read a little more than the page.
    SENDFLOW_ASSIGN_OR_RETURN(
        auto open, tx.listOpenTasksFor(who.id, rolesOf(who), static_cast<int>(cap) + 50));
    SENDFLOW_RETURN_IF_ERROR(readConflictTasks(tx, who.id, open, inputs.tasks_of_user));
    for (store::TaskRecord& task : open) {
      if (tasks.size() >= cap) break;
      if (task.assignee != who.id && !conflictOf(task, who.id, inputs.tasks_of_user).isOk()) {
        continue;
      }
      tasks.push_back(std::move(task));
    }
    return readViewInputs(tx, who, tasks, /*read_tasks_of_user=*/false, inputs);
  }));
  return buildViews(who, std::move(tasks), inputs);
}

core::StatusOr<std::vector<TaskView>> Workbench::moderationQueue(const auth::Principal& who) const {
  if (!isOversight(who) && !who.hasRole("moderator")) {
    return core::permissionDenied("the moderation queue is for moderators and oversight roles");
  }
  const std::size_t cap = static_cast<std::size_t>(options_.max_limit);
  std::vector<store::TaskRecord> tasks;
  ViewInputs inputs;
  SENDFLOW_RETURN_IF_ERROR(runtime_.store().read([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(auto open, tx.listTasks("open", "", 0));
    SENDFLOW_ASSIGN_OR_RETURN(inputs.tasks_of_user, tx.listTasksOfUser(who.id, 0));
    for (store::TaskRecord& task : open) {
      if (tasks.size() >= cap) break;
      if (task.role != "moderator") continue;
      if (!isOversight(who)) {
        const bool mine = task.assignee == who.id;
        const bool queue =
            task.assignee.empty() && conflictOf(task, who.id, inputs.tasks_of_user).isOk();
        if (!mine && !queue) continue;
      }
      tasks.push_back(std::move(task));
    }
    return readViewInputs(tx, who, tasks, /*read_tasks_of_user=*/false, inputs);
  }));
  return buildViews(who, std::move(tasks), inputs);
}

core::StatusOr<TaskView> Workbench::task(const auth::Principal& who,
                                         const std::string& task_id) const {
  SENDFLOW_ASSIGN_OR_RETURN(store::TaskRecord task, visibleTask(who, task_id));
  SENDFLOW_ASSIGN_OR_RETURN(auto views_of, views(who, {std::move(task)}));
  return std::move(views_of.front());
}

core::Status Workbench::claim(const auth::Principal& who, const std::string& task_id,
                              const RequestOrigin& origin) {
  SENDFLOW_ASSIGN_OR_RETURN(store::TaskRecord seen, visibleTask(who, task_id));
  if (!isOpen(seen)) return core::conflict("the task is already " + seen.status);
  if (seen.assignee == who.id) return core::Status::ok();  // claimed already: nothing to do
  engine::TaskChangeOptions options;
  options.audit = originAudit(who, origin);
  options.audit["claimed"] = true;
  options.guard = [&](store::Transaction& tx, const store::TaskRecord& task) -> core::Status {
    if (!task.assignee.empty()) {
      return core::conflict("the task was already claimed by " + task.assignee);
    }
    if (!who.hasRole(task.role)) {
      return core::permissionDenied("claiming this task needs the role '" + task.role + "'");
    }
    return conflictOf(tx, task, who.id);
  };
  return runtime_.assignTask(task_id, who.id, who.id, options);
}

core::Status Workbench::complete(const auth::Principal& who, const std::string& task_id,
                                 const json& data, const RequestOrigin& origin) {
  SENDFLOW_ASSIGN_OR_RETURN(store::TaskRecord seen, visibleTask(who, task_id));
  if (!isOpen(seen)) return core::conflict("the task is already " + seen.status);
  engine::TaskChangeOptions options;
  options.audit = originAudit(who, origin);
  options.guard = [&](store::Transaction& tx, const store::TaskRecord& task) -> core::Status {
    if (task.assignee == who.id) return core::Status::ok();
    if (!task.assignee.empty()) {
      return core::permissionDenied("the task is assigned to " + task.assignee +
                                    "; only they can complete it");
    }
    // A queue task is claimed and completed in one step.
    if (!who.hasRole(task.role)) {
      return core::permissionDenied("completing this task needs the role '" + task.role + "'");
    }
    return conflictOf(tx, task, who.id);
  };
  return runtime_.completeTask(task_id, data, who.id, options);
}

core::Status Workbench::reassign(const auth::Principal& who, const std::string& task_id,
                                 const std::string& assignee, const RequestOrigin& origin) {
  SENDFLOW_ASSIGN_OR_RETURN(store::TaskRecord seen, visibleTask(who, task_id));
  if (!who.hasAnyRole({"admin", "qa-lead"})) {
    return core::permissionDenied("reassigning tasks needs the admin or qa-lead role");
  }
  if (!isOpen(seen)) return core::conflict("the task is already " + seen.status);
  engine::TaskChangeOptions options;
  options.audit = originAudit(who, origin);
  options.guard = [&](store::Transaction& tx, const store::TaskRecord& task) -> core::Status {
    if (assignee.empty()) return core::Status::ok();  // back to the role's queue
    core::Status st = assignableIn(tx, task, assignee);
    if (!st.isOk()) return core::invalidArgument("assignee: " + st.message());
    return core::Status::ok();
  };
  return runtime_.assignTask(task_id, assignee, who.id, options);
}

// ---- Dashboard -------------------------------------------------------------------------------

core::StatusOr<Dashboard> Workbench::dashboard(const auth::Principal& who) const {
  Dashboard out;
  std::vector<store::TaskRecord> overdue;
  std::map<std::string, long long> grades;
  const core::TimePoint now = clock_.now();
  const bool oversight = isOversight(who);
  SENDFLOW_RETURN_IF_ERROR(runtime_.store().read([&](store::Transaction& tx) -> core::Status {
    // The instances the caller sees.
    std::vector<store::InstanceRecord> instances;
    if (oversight) {
      SENDFLOW_ASSIGN_OR_RETURN(instances, tx.listInstances(store::InstanceFilter{}));
    } else {
      std::set<std::string> ids;
      SENDFLOW_ASSIGN_OR_RETURN(auto mine, tx.listTasksOfUser(who.id, 0));
      for (const store::TaskRecord& task : mine) ids.insert(task.instance_id);
      if (who.hasRole("automation")) {
        SENDFLOW_ASSIGN_OR_RETURN(auto all, tx.listInstances(store::InstanceFilter{}));
        for (const store::InstanceRecord& instance : all) {
          SENDFLOW_ASSIGN_OR_RETURN(bool started, startedBy(tx, instance.id, who.id));
          if (started) ids.insert(instance.id);
        }
      }
      for (const std::string& id : ids) {
        SENDFLOW_ASSIGN_OR_RETURN(auto instance, tx.instance(id));
        if (instance) instances.push_back(std::move(*instance));
      }
    }
    for (const store::InstanceRecord& instance : instances) {
      const std::string& s = instance.status;
      if (s == "running" || s == "waiting" || s == "incident") ++out.instances_running;
      if (s != "completed") continue;
      ++out.instances_completed;
      // Completed audits keep their final grades in a list of iterations ("audits").
      SENDFLOW_ASSIGN_OR_RETURN(
          const json data, storedObject(instance.data_json, "instance " + instance.id + ": data"));
      for (const auto& [name, value] : data.items()) {
        if (!value.is_array()) continue;
        for (const json& item : value) {
          if (item.is_object() && item.contains("final_grade") && item["final_grade"].is_string()) {
            ++grades[item["final_grade"].get<std::string>()];
          }
        }
      }
    }
    // The open tasks the caller sees.
    SENDFLOW_ASSIGN_OR_RETURN(auto tasks_of_user, tx.listTasksOfUser(who.id, 0));
    std::vector<store::TaskRecord> open;
    if (oversight) {
      SENDFLOW_ASSIGN_OR_RETURN(open, tx.listTasks("open", "", 0));
    } else {
      SENDFLOW_ASSIGN_OR_RETURN(open, tx.listOpenTasksFor(who.id, rolesOf(who), 0));
    }
    for (store::TaskRecord& task : open) {
      const bool mine =
          task.assignee == who.id || (task.assignee.empty() && who.hasRole(task.role) &&
                                      conflictOf(task, who.id, tasks_of_user).isOk());
      if (!oversight && !mine) continue;
      ++out.open_tasks;
      if (mine) ++out.my_open_tasks;
      if (task.role == "moderator") ++out.awaiting_moderation;
      if (task.kind == "approval") ++out.awaiting_approval;
      if (task.due_at && *task.due_at < now) {
        ++out.overdue_tasks;
        overdue.push_back(std::move(task));
      }
    }
    if (oversight) {
      SENDFLOW_ASSIGN_OR_RETURN(auto mails, tx.listOutbox());
      for (const store::OutboxRecord& mail : mails) {
        if (mail.status == "failed") ++out.mail_failed;
      }
    }
    return core::Status::ok();
  }));
  for (const char* grade : engine::kQualityGrades) {
    auto it = grades.find(grade);
    out.grades.emplace_back(grade, it == grades.end() ? 0 : it->second);
  }
  std::sort(overdue.begin(), overdue.end(),
            [](const auto& a, const auto& b) { return *a.due_at < *b.due_at; });
  if (overdue.size() > 10) overdue.resize(10);
  SENDFLOW_ASSIGN_OR_RETURN(out.overdue, views(who, std::move(overdue)));
  return out;
}

}  // namespace sendflow::workbench
