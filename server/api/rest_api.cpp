#include "server/api/rest_api.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "server/core/json_text.h"

namespace sendflow::api {

namespace {

using http::Request;
using http::Response;
using nlohmann::json;
using workbench::TaskView;
using workbench::Workbench;

constexpr const char kPrefix[] = "/api/v1";
const char* const kInstanceStatuses[] = {"running",   "waiting", "completed",
                                         "cancelled", "failed",  "incident"};

// ---- Requests --------------------------------------------------------------------------------

Response errorResponse(int http_status, const std::string& code, const std::string& message,
                       const std::string& request_id) {
  return Response::json(
      http_status, {{"error", {{"code", code}, {"message", message}, {"request_id", request_id}}}});
}

// The request's body as a JSON object ({} when empty), or the response that refuses it.
std::optional<Response> readBody(const Request& req, json& body) {
  if (req.body.empty()) {
    body = json::object();
    return std::nullopt;
  }
  std::string type = req.header("Content-Type");
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::string media = type.substr(0, type.find(';'));
  const auto trimmed_end = media.find_last_not_of(" \t");
  if (media.substr(0, trimmed_end == std::string::npos ? 0 : trimmed_end + 1) !=
      "application/json") {
    return errorResponse(415, "unsupported_media_type",
                         "Content-Type: the body must be sent as application/json", req.request_id);
  }
  // Depth, duplicate keys, numbers out of range and bytes that are not UTF-8 are refused here,
  // before anything copies or dumps the value.
  auto parsed = core::parseJsonText(req.body);
  if (!parsed.isOk()) {
    return Response::json(400,
                          http::errorBody(parsed.status().withContext("body"), req.request_id));
  }
  body = std::move(parsed).value();
  if (!body.is_object()) {
    return Response::error(core::invalidArgument("body: must be a JSON object"), req.request_id);
  }
  return std::nullopt;
}

// Collects "name: problem" entries and gives one kInvalidArgument naming them all.
class Problems {
 public:
  void add(const std::string& field, const std::string& problem) {
    text_ += (text_.empty() ? "" : "; ") + field + ": " + problem;
  }
  core::Status status() const {
    return text_.empty() ? core::Status::ok() : core::invalidArgument(text_);
  }

 private:
  std::string text_;
};

// Reads optional text member `name` of `body`.
std::string textMember(const json& body, const std::string& name, Problems& problems,
                       bool required = false) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) problems.add(name, "required");
    return "";
  }
  if (!it->is_string()) {
    problems.add(name, "must be text");
    return "";
  }
  if (required && it->get<std::string>().empty()) problems.add(name, "required");
  return it->get<std::string>();
}

void refuseUnknownMembers(const json& body, std::initializer_list<const char*> known,
                          Problems& problems) {
  for (const auto& [name, value] : body.items()) {
    if (std::none_of(known.begin(), known.end(), [&](const char* k) { return name == k; })) {
      problems.add(name, "not a member of this request");
    }
  }
}

// The `limit` query parameter: 0 when absent (the workbench's default).
core::StatusOr<int> limitParam(const Request& req) {
  const std::string text = req.queryParam("limit");
  if (text.empty()) return 0;
  if (text.size() > 9 || !std::all_of(text.begin(), text.end(), ::isdigit) || std::stoi(text) < 1) {
    return core::invalidArgument("limit: must be a whole number of 1 or more");
  }
  return std::stoi(text);
}

workbench::RequestOrigin originOf(const Request& req) {
  return workbench::RequestOrigin{req.client_address, req.header("User-Agent"), req.request_id,
                                  "api"};
}

// ---- Views -----------------------------------------------------------------------------------

json isoTime(core::TimePoint t) { return core::formatIso8601(t); }
json isoTime(const std::optional<core::TimePoint>& t) {
  return t ? json(core::formatIso8601(*t)) : json(nullptr);
}
// A JSON column of a stored record; damaged text fails the view (a 500 naming the record in the
// log), it is never shown as something else.
core::StatusOr<json> stored(const std::string& text, const std::string& what,
                            json if_empty = json::object()) {
  return core::parseStoredJson(text, what, std::move(if_empty));
}
json orNull(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

json list(json items) {
  const std::size_t n = items.size();
  return json{{"items", std::move(items)}, {"count", n}};
}

core::StatusOr<json> instanceJson(const store::InstanceRecord& i) {
  SENDFLOW_ASSIGN_OR_RETURN(json data, stored(i.data_json, "instance " + i.id + ": data"));
  return json{{"id", i.id},
              {"workflow", i.definition_id},
              {"workflow_version", i.definition_version},
              {"business_key", orNull(i.business_key)},
              {"status", i.status},
              {"parent_id", orNull(i.parent_id)},
              {"data", std::move(data)},
              {"created_at", isoTime(i.created_at)},
              {"updated_at", isoTime(i.updated_at)},
              {"links",
               {{"self", std::string(kPrefix) + "/instances/" + i.id},
                {"history", std::string(kPrefix) + "/instances/" + i.id + "/history"},
                {"documents", std::string(kPrefix) + "/instances/" + i.id + "/documents"}}}};
}

// `subject`: the task's subject already parsed (a TaskView has it), or null to parse it here.
core::StatusOr<json> taskJson(const store::TaskRecord& t, const json* subject = nullptr) {
  json stored_subject;
  if (subject == nullptr) {
    SENDFLOW_ASSIGN_OR_RETURN(stored_subject, stored(t.subject_json, "task " + t.id + ": subject"));
    subject = &stored_subject;
  }
  SENDFLOW_ASSIGN_OR_RETURN(json result,
                            stored(t.result_json, "task " + t.id + ": result", nullptr));
  json out = {{"id", t.id},
              {"instance_id", t.instance_id},
              {"step_id", t.step_id},
              {"kind", t.kind},
              {"title", t.title},
              {"role", t.role},
              {"assignee", orNull(t.assignee)},
              {"status", t.status},
              {"subject", *subject},
              {"due_at", isoTime(t.due_at)},
              {"created_at", isoTime(t.created_at)},
              {"completed_at", isoTime(t.completed_at)},
              {"completed_by", orNull(t.completed_by)},
              {"result", std::move(result)}};
  return out;
}

const char* fieldTypeName(engine::FieldType type) {
  switch (type) {
    case engine::FieldType::kText:
      return "text";
    case engine::FieldType::kLongText:
      return "long-text";
    case engine::FieldType::kNumber:
      return "number";
    case engine::FieldType::kInteger:
      return "integer";
    case engine::FieldType::kBoolean:
      return "boolean";
    case engine::FieldType::kDate:
      return "date";
    case engine::FieldType::kChoice:
      return "choice";
    case engine::FieldType::kGrade:
      return "grade";
  }
  return "text";
}

json formJson(const TaskView& view) {
  json fields = json::array();
  if (view.task.kind == "approval") {
    fields.push_back({{"name", "decision"},
                      {"type", "choice"},
                      {"label", "Decision"},
                      {"help", nullptr},
                      {"required", true},
                      {"required_if", nullptr},
                      {"choices", {"approve", "reject"}},
                      {"min", nullptr},
                      {"max", nullptr},
                      {"max_length", nullptr}});
    fields.push_back({{"name", "comment"},
                      {"type", "long-text"},
                      {"label", "Comment"},
                      {"help", nullptr},
                      {"required", false},
                      {"required_if", nullptr},
                      {"choices", json::array()},
                      {"min", nullptr},
                      {"max", nullptr},
                      {"max_length", nullptr}});
    return json{{"fields", fields}};
  }
  if (view.step == nullptr) return json{{"fields", fields}};
  for (const engine::FormField& f : view.step->form.fields) {
    json choices = json::array();
    if (f.type == engine::FieldType::kGrade) {
      for (const char* grade : engine::kQualityGrades) choices.push_back(grade);
    } else {
      for (const std::string& c : f.choices) choices.push_back(c);
    }
    fields.push_back({{"name", f.name},
                      {"type", fieldTypeName(f.type)},
                      {"label", f.label.empty() ? f.name : f.label},
                      {"help", orNull(f.help)},
                      {"required", f.required},
                      {"required_if", f.required_if ? json(f.required_if->text()) : json(nullptr)},
                      {"choices", choices},
                      {"min", f.min ? json(*f.min) : json(nullptr)},
                      {"max", f.max ? json(*f.max) : json(nullptr)},
                      {"max_length", f.max_length ? json(*f.max_length) : json(nullptr)}});
  }
  return json{{"fields", fields}};
}

core::StatusOr<json> taskViewJson(const TaskView& view, bool with_form) {
  SENDFLOW_ASSIGN_OR_RETURN(json out, taskJson(view.task, &view.subject));
  out["workflow"] = orNull(view.workflow_id);
  out["workflow_title"] = orNull(view.workflow_title);
  out["description"] = view.step != nullptr ? orNull(view.step->description) : json(nullptr);
  out["overdue"] = view.overdue;
  out["can_claim"] = view.can_claim;
  out["can_complete"] = view.can_complete;
  out["can_reassign"] = view.can_reassign;
  if (with_form) out["form"] = formJson(view);
  return out;
}

core::StatusOr<json> historyJson(const store::HistoryRecord& h) {
  const std::string what = "history entry " + std::to_string(h.id);
  SENDFLOW_ASSIGN_OR_RETURN(json detail, stored(h.detail_json, what + ": detail"));
  json out = {{"id", h.id},       {"at", isoTime(h.at)},          {"actor", h.actor},
              {"event", h.event}, {"step_id", orNull(h.step_id)}, {"detail", std::move(detail)}};
  if (!h.data_before_json.empty()) {
    SENDFLOW_ASSIGN_OR_RETURN(out["data_before"], stored(h.data_before_json, what + ": data"));
  }
  if (!h.data_after_json.empty()) {
    SENDFLOW_ASSIGN_OR_RETURN(out["data_after"], stored(h.data_after_json, what + ": data"));
  }
  return out;
}

// `view` of each record, or the first error.
template <typename Records, typename View>
core::StatusOr<json> viewsOf(const Records& records, View view) {
  json items = json::array();
  for (const auto& record : records) {
    SENDFLOW_ASSIGN_OR_RETURN(json item, view(record));
    items.push_back(std::move(item));
  }
  return items;
}

json documentJson(const store::DocumentRecord& d) {
  return json{{"id", d.id},
              {"instance_id", d.instance_id},
              {"step_id", orNull(d.step_id)},
              {"name", d.name},
              {"media_type", d.media_type},
              {"size", d.size},
              {"created_at", isoTime(d.created_at)},
              {"download", std::string(kPrefix) + "/documents/" + d.id + "/content"}};
}

json definitionJson(const workbench::DefinitionSummary& summary) {
  const engine::Definition& d = *summary.definition;
  json inputs = json::array();
  for (const engine::InputDecl& input : d.inputs) {
    inputs.push_back({{"name", input.name},
                      {"type", input.typeName()},
                      {"min", input.min ? json(*input.min) : json(nullptr)},
                      {"max", input.max ? json(*input.max) : json(nullptr)},
                      {"required", input.required && !input.default_value},
                      {"default", input.default_value ? *input.default_value : json(nullptr)},
                      {"description", orNull(input.description)}});
  }
  static const std::map<engine::Cadence, const char*> kCadences = {
      {engine::Cadence::kCron, "cron"},           {engine::Cadence::kMonthly, "monthly"},
      {engine::Cadence::kTermly, "termly"},       {engine::Cadence::kSixMonthly, "six-monthly"},
      {engine::Cadence::kQuarterly, "quarterly"}, {engine::Cadence::kAnnually, "annually"}};
  json schedules = json::array();
  for (const engine::Schedule& s : d.schedules) {
    char hhmm[16];
    std::snprintf(hhmm, sizeof hhmm, "%02d:%02d", s.minute_of_day / 60, s.minute_of_day % 60);
    schedules.push_back({{"id", s.id},
                         {"cadence", kCadences.at(s.cadence)},
                         {"cron", orNull(s.cron)},
                         {"day_of_month", s.day_of_month},
                         {"time", hhmm},
                         {"input", s.input}});
  }
  return json{{"id", d.id},
              {"version", d.version},
              {"title", d.title},
              {"description", orNull(d.description)},
              {"roles", d.roles},
              {"inputs", inputs},
              {"schedules", schedules},
              {"can_start", summary.can_start}};
}

// ---- Handlers --------------------------------------------------------------------------------

class RestApi {
 public:
  RestApi(Workbench& workbench, RestApiOptions options)
      : wb_(workbench), options_(std::move(options)) {}

  Response me(Request& req) {
    const auth::Principal& who = *req.principal;
    json roles = json::array();
    for (const std::string& r : who.roles) roles.push_back(r);
    return Response::json(200, {{"id", who.id},
                                {"name", who.name.empty() ? who.id : who.name},
                                {"email", orNull(who.email)},
                                {"roles", roles},
                                {"via", orNull(who.via)},
                                {"can_start", Workbench::canStart(who)}});
  }

  Response definitions(Request& req) {
    json items = json::array();
    for (const auto& d : wb_.definitions(*req.principal)) items.push_back(definitionJson(d));
    return Response::json(200, list(std::move(items)));
  }

  Response definition(Request& req) {
    auto found = wb_.definition(*req.principal, req.param("id"));
    if (!found.isOk()) return Response::error(found.status(), req.request_id);
    return Response::json(200, definitionJson(*found));
  }

  Response startInstance(Request& req) {
    json body;
    if (auto refused = readBody(req, body)) return *refused;
    Problems problems;
    refuseUnknownMembers(body, {"workflow", "input", "business_key"}, problems);
    const std::string workflow = textMember(body, "workflow", problems, /*required=*/true);
    const std::string business_key = textMember(body, "business_key", problems);
    json input = json::object();
    if (auto it = body.find("input"); it != body.end() && !it->is_null()) {
      if (it->is_object()) {
        input = *it;
      } else {
        problems.add("input", "must be a JSON object");
      }
    }
    if (business_key.size() > 200) problems.add("business_key", "longer than 200 characters");
    if (core::Status st = problems.status(); !st.isOk()) {
      return Response::error(st, req.request_id);
    }
    auto started = wb_.start(*req.principal, workflow, input, business_key,
                             req.header("Idempotency-Key"), originOf(req));
    if (!started.isOk()) return Response::error(started.status(), req.request_id);
    const std::string path = std::string(kPrefix) + "/instances/" + started->instance_id;
    json out = {{"id", started->instance_id},
                {"created", started->created},
                {"replayed", started->replayed}};
    auto view = wb_.instance(*req.principal, started->instance_id);
    if (view.isOk()) {
      auto instance = instanceJson(view->instance);
      if (instance.isOk()) out["instance"] = std::move(instance).value();
    }
    Response response = Response::json(started->created ? 201 : 200, out);
    response.header("Location", absolute(path));
    return response;
  }

  Response instances(Request& req) {
    Problems problems;
    workbench::InstanceQuery query;
    query.workflow_id = req.queryParam("workflow");
    query.status = req.queryParam("status");
    if (!query.status.empty() &&
        std::none_of(std::begin(kInstanceStatuses), std::end(kInstanceStatuses),
                     [&](const char* s) { return query.status == s; })) {
      problems.add("status",
                   "must be one of running, waiting, completed, cancelled, failed, incident");
    }
    auto limit = limitParam(req);
    if (!limit.isOk()) {
      problems.add("limit", "must be a whole number of 1 or more");
    } else {
      query.limit = *limit;
    }
    if (core::Status st = problems.status(); !st.isOk()) {
      return Response::error(st, req.request_id);
    }
    auto found = wb_.instances(*req.principal, query);
    if (!found.isOk()) return Response::error(found.status(), req.request_id);
    auto items = viewsOf(*found, instanceJson);
    if (!items.isOk()) return Response::error(items.status(), req.request_id);
    return Response::json(200, list(std::move(items).value()));
  }

  Response instance(Request& req) {
    auto view = wb_.instance(*req.principal, req.param("id"));
    if (!view.isOk()) return Response::error(view.status(), req.request_id);
    auto out = instanceJson(view->instance);
    auto tasks = viewsOf(view->tasks, [](const store::TaskRecord& t) { return taskJson(t); });
    if (!out.isOk()) return Response::error(out.status(), req.request_id);
    if (!tasks.isOk()) return Response::error(tasks.status(), req.request_id);
    (*out)["workflow_title"] = view->workflow_title;
    (*out)["tasks"] = std::move(tasks).value();
    return Response::json(200, *out);
  }

  Response history(Request& req) {
    auto limit = limitParam(req);
    if (!limit.isOk()) return Response::error(limit.status(), req.request_id);
    auto rows = wb_.history(*req.principal, req.param("id"), *limit);
    if (!rows.isOk()) return Response::error(rows.status(), req.request_id);
    auto items = viewsOf(*rows, historyJson);
    if (!items.isOk()) return Response::error(items.status(), req.request_id);
    return Response::json(200, list(std::move(items).value()));
  }

  Response documents(Request& req, const std::string& instance_id) {
    auto limit = limitParam(req);
    if (!limit.isOk()) return Response::error(limit.status(), req.request_id);
    auto docs = wb_.documents(*req.principal, instance_id, *limit);
    if (!docs.isOk()) return Response::error(docs.status(), req.request_id);
    json items = json::array();
    for (const auto& d : *docs) items.push_back(documentJson(d));
    return Response::json(200, list(std::move(items)));
  }

  Response document(Request& req) {
    auto doc = wb_.document(*req.principal, req.param("id"));
    if (!doc.isOk()) return Response::error(doc.status(), req.request_id);
    return Response::json(200, documentJson(*doc));
  }

  Response documentContent(Request& req) {
    auto doc = wb_.document(*req.principal, req.param("id"));
    if (!doc.isOk()) return Response::error(doc.status(), req.request_id);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(doc->path, ec)) {
      return Response::error(
          core::notFound("the file of document '" + doc->id + "' is no longer kept"),
          req.request_id);
    }
    Response response;
    response.status = 200;
    response.content_type = doc->media_type.empty() ? "application/octet-stream" : doc->media_type;
    response.file_path = doc->path;
    response.download_name = doc->name;
    return response;
  }

  Response tasks(Request& req, bool approvals_only) {
    auto limit = limitParam(req);
    if (!limit.isOk()) return Response::error(limit.status(), req.request_id);
    const int wanted = *limit;
    auto found = wb_.myTasks(*req.principal, approvals_only ? wb_.options().max_limit : wanted);
    if (!found.isOk()) return Response::error(found.status(), req.request_id);
    const std::size_t cap = static_cast<std::size_t>(
        wanted <= 0 ? wb_.options().default_limit : std::min(wanted, wb_.options().max_limit));
    json items = json::array();
    for (const TaskView& view : *found) {
      if (items.size() >= cap) break;
      if (approvals_only && view.task.kind != "approval") continue;
      auto item = taskViewJson(view, /*with_form=*/false);
      if (!item.isOk()) return Response::error(item.status(), req.request_id);
      items.push_back(std::move(item).value());
    }
    return Response::json(200, list(std::move(items)));
  }

  Response task(Request& req) {
    auto view = wb_.task(*req.principal, req.param("id"));
    if (!view.isOk()) return Response::error(view.status(), req.request_id);
    auto out = taskViewJson(*view, /*with_form=*/true);
    if (!out.isOk()) return Response::error(out.status(), req.request_id);
    return Response::json(200, *out);
  }

  Response claim(Request& req) {
    json body;
    if (auto refused = readBody(req, body)) return *refused;
    Problems problems;
    refuseUnknownMembers(body, {}, problems);
    if (core::Status st = problems.status(); !st.isOk()) {
      return Response::error(st, req.request_id);
    }
    const core::Status st = wb_.claim(*req.principal, req.param("id"), originOf(req));
    if (!st.isOk()) return Response::error(st, req.request_id);
    return task(req);
  }

  Response complete(Request& req) {
    json body;
    if (auto refused = readBody(req, body)) return *refused;
    const core::Status st = wb_.complete(*req.principal, req.param("id"), body, originOf(req));
    if (!st.isOk()) return Response::error(st, req.request_id);
    return task(req);
  }

  Response reassign(Request& req) {
    json body;
    if (auto refused = readBody(req, body)) return *refused;
    Problems problems;
    refuseUnknownMembers(body, {"assignee"}, problems);
    const std::string assignee = textMember(body, "assignee", problems);
    if (body.find("assignee") == body.end()) {
      problems.add("assignee", "required (null or \"\" puts the task back in its role's queue)");
    }
    if (core::Status st = problems.status(); !st.isOk()) {
      return Response::error(st, req.request_id);
    }
    const core::Status st = wb_.reassign(*req.principal, req.param("id"), assignee, originOf(req));
    if (!st.isOk()) return Response::error(st, req.request_id);
    return task(req);
  }

  Response decide(Request& req) {
    json body;
    if (auto refused = readBody(req, body)) return *refused;
    auto view = wb_.task(*req.principal, req.param("id"));
    if (!view.isOk()) return Response::error(view.status(), req.request_id);
    if (view->task.kind != "approval") {
      return Response::error(core::notFound("no approval '" + req.param("id") + "'"),
                             req.request_id);
    }
    const core::Status st = wb_.complete(*req.principal, req.param("id"), body, originOf(req));
    if (!st.isOk()) return Response::error(st, req.request_id);
    return task(req);
  }

  Response dashboard(Request& req) {
    auto d = wb_.dashboard(*req.principal);
    if (!d.isOk()) return Response::error(d.status(), req.request_id);
    json grades = json::array();
    for (const auto& [grade, count] : d->grades) {
      grades.push_back({{"grade", grade}, {"count", count}});
    }
    auto overdue = viewsOf(d->overdue, [](const TaskView& v) { return taskViewJson(v, false); });
    if (!overdue.isOk()) return Response::error(overdue.status(), req.request_id);
    return Response::json(200, {{"instances_running", d->instances_running},
                                {"instances_completed", d->instances_completed},
                                {"open_tasks", d->open_tasks},
                                {"overdue_tasks", d->overdue_tasks},
                                {"my_open_tasks", d->my_open_tasks},
                                {"awaiting_moderation", d->awaiting_moderation},
                                {"awaiting_approval", d->awaiting_approval},
                                {"mail_failed", d->mail_failed},
                                {"grades", grades},
                                {"overdue", std::move(overdue).value()}});
  }

 private:
  std::string absolute(const std::string& path) const {
    if (options_.public_url.empty()) return path;
    std::string base = options_.public_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base + path;
  }

  Workbench& wb_;
  RestApiOptions options_;
};

}  // namespace

void addRestApi(http::Router& router, Workbench& workbench, const RestApiOptions& options) {
  auto api = std::make_shared<RestApi>(workbench, options);
  const std::string p = kPrefix;
  const auto route = [&](const char* method, const std::string& pattern,
                         Response (RestApi::*handler)(Request&)) {
    router.add(method, p + pattern,
               [api, handler](Request& req) { return ((*api).*handler)(req); });
  };
  router.add(
      "GET", p + "/openapi.json",
      [](Request&) {
        Response response;
        response.status = 200;
        response.content_type = "application/json";
        response.body = std::string(openApiDocument());
        return response;
      },
      http::Access::kPublic);
  route("GET", "/me", &RestApi::me);
  route("GET", "/definitions", &RestApi::definitions);
  route("GET", "/definitions/{id}", &RestApi::definition);
  route("POST", "/instances", &RestApi::startInstance);
  route("GET", "/instances", &RestApi::instances);
  route("GET", "/instances/{id}", &RestApi::instance);
  route("GET", "/instances/{id}/history", &RestApi::history);
  router.add("GET", p + "/instances/{id}/documents",
             [api](Request& req) { return api->documents(req, req.param("id")); });
  router.add("GET", p + "/tasks", [api](Request& req) { return api->tasks(req, false); });
  route("GET", "/tasks/{id}", &RestApi::task);
  route("POST", "/tasks/{id}/claim", &RestApi::claim);
  route("POST", "/tasks/{id}/complete", &RestApi::complete);
  route("POST", "/tasks/{id}/reassign", &RestApi::reassign);
  router.add("GET", p + "/approvals", [api](Request& req) { return api->tasks(req, true); });
  route("POST", "/approvals/{id}", &RestApi::decide);
  router.add("GET", p + "/documents", [api](Request& req) { return api->documents(req, ""); });
  route("GET", "/documents/{id}", &RestApi::document);
  route("GET", "/documents/{id}/content", &RestApi::documentContent);
  route("GET", "/dashboard", &RestApi::dashboard);
}

}  // namespace sendflow::api
