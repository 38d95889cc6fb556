#include "server/engine/runtime.h"

#include "server/core/json_text.h"
#include "server/engine/calendar.h"

#include <algorithm>
#include <deque>
#include <random>

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>

namespace sendflow::engine {

using nlohmann::json;
using store::JobRecord;
using store::Transaction;

namespace {

// A random (version 4) UUID. The generator is per thread and seeded from the OS once, which
// keeps ids unguessable enough for ids (they are not secrets) without a syscall per id.
std::string newId() {
  thread_local std::mt19937_64 random{[] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }()};
  unsigned char b[16];
  const unsigned long long hi = random(), lo = random();
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<unsigned char>(hi >> (8 * i));
    b[8 + i] = static_cast<unsigned char>(lo >> (8 * i));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0x0f];
  }
  return out;
}

std::string sha256Hex(const std::string& text) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(text);
  return Poco::DigestEngine::digestToHex(engine.digest());
}

std::chrono::milliseconds backoffDelay(int attempt, std::chrono::milliseconds base,
                                       std::chrono::milliseconds cap) {
  // Capped exponential: base, 2*base, 4*base, ... up to cap; then "equal jitter": half fixed,
  // half random, so retries of many instances do not hit a recovering peer at once.
  long long delay = base.count();
  for (int i = 1; i < attempt && delay < cap.count(); ++i) delay *= 2;
  delay = std::min(delay, static_cast<long long>(cap.count()));
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_int_distribution<long long> jitter(0, std::max(0LL, delay / 2));
  return std::chrono::milliseconds(delay - delay / 2 + jitter(random));
}

core::StatusOr<json> jobPayload(const JobRecord& job) {
  return core::parseStoredJson(job.payload_json, "job " + std::to_string(job.id) + ": payload",
                               json::object());
}

bool retryable(core::StatusCode code) {
  return code == core::StatusCode::kUnavailable || code == core::StatusCode::kDeadlineExceeded;
}

// Checks `input` against the declared inputs, applies defaults; names every problem.
core::StatusOr<json> checkInputs(const Definition& def, const json& input) {
  if (!input.is_object()) {
    return core::invalidArgument("the input of workflow '" + def.id + "' must be a JSON object");
  }
  json data = input;
  std::vector<std::string> problems;
  for (const InputDecl& decl : def.inputs) {
    if (!data.contains(decl.name)) {
      if (decl.default_value) {
        data[decl.name] = *decl.default_value;
      } else if (decl.required) {
        problems.push_back(decl.name + ": required");
      }
      continue;
    }
    const std::string problem = decl.problemWith(data[decl.name]);
    if (!problem.empty()) problems.push_back(decl.name + ": " + problem);
  }
  if (!problems.empty()) {
    std::string message = "workflow '" + def.id + "' inputs: ";
    for (std::size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    return core::invalidArgument(message);
  }
  return data;
}

}  // namespace

// The state of one transition of one instance, inside a store transaction.
struct Runtime::Transition {
  Runtime& rt;
  Transaction& tx;
  store::InstanceRecord rec;
  std::shared_ptr<const Definition> def;
  json data;
  json state;
  std::string actor;
  core::TimePoint now;
  bool lease_jobs;
  std::vector<JobRecord>& leased;
  std::deque<std::string> runnable;  // frames to run
  bool ended = false;

  // A transition of the stored instance `inst`, resumed from its data and execution state;
  // kInternal when the stored data or state is damaged (the instance is left as it is).
  static core::StatusOr<Transition> resume(Runtime& rt, Transaction& tx,
                                           const store::InstanceRecord& inst,
                                           std::shared_ptr<const Definition> def, std::string actor,
                                           core::TimePoint now, bool lease_jobs,
                                           std::vector<JobRecord>& leased) {
    SENDFLOW_ASSIGN_OR_RETURN(
        json data,
        core::parseStoredJson(inst.data_json, "instance " + inst.id + ": data", json::object()));
    SENDFLOW_ASSIGN_OR_RETURN(
        json state,
        core::parseStoredJson(inst.state_json, "instance " + inst.id + ": state", json::object()));
    return Transition{rt,
                      tx,
                      inst,
                      std::move(def),
                      std::move(data),
                      std::move(state),
                      std::move(actor),
                      now,
                      lease_jobs,
                      leased,
                      {},
                      false};
  }
};

// The interpreter of definition.h's steps over the execution state:
//   state = {"frames": {id: frame}, "next": n, "parent_frame": id-in-parent}
//   frame = {"parent": id | "", "owner": step id of the parallel/for-each that made it,
//            "branch": i, "path": "...", "step": current step id ("" = block done),
//            "wait": null | {"kind": job|task|join|each|child|incident, ...},
//            "visits": {step id: n}, "locals": {...} (for-each iterations only)}
struct Interpreter {
  using T = Runtime::Transition;

  static json& frames(T& t) { return t.state["frames"]; }
  static json& frame(T& t, const std::string& id) { return t.state["frames"][id]; }

  static const Block& blockOf(const Definition& def, const json& f) {
    const std::string owner = f.value("owner", "");
    if (owner.empty()) return def.body;
    const Step* step = def.findStep(owner);
    if (step->kind == StepKind::kParallel) return step->branches_blocks.at(f.value("branch", 0));
    return step->body;
  }

  static std::string following(const Block& block, const std::string& id) {
    for (std::size_t i = 0; i < block.steps.size(); ++i) {
      if (block.steps[i].id == id) return i + 1 < block.steps.size() ? block.steps[i + 1].id : "";
    }
    return "";
  }

  static std::string newFrame(T& t, const std::string& parent, const std::string& owner, int branch,
                              const std::string& path, const Block& block) {
    const long long n = t.state.value("next", 1LL);
    t.state["next"] = n + 1;
    const std::string id = std::to_string(n);
    json f = {{"parent", parent}, {"owner", owner},  {"branch", branch},        {"path", path},
              {"step", ""},       {"wait", nullptr}, {"visits", json::object()}};
    frames(t)[id] = std::move(f);
    if (!block.steps.empty()) enter(t, id, block.steps.front().id);
    t.runnable.push_back(id);
    return id;
  }

  static void enter(T& t, const std::string& fid, const std::string& step) {
    json& f = frame(t, fid);
    f["step"] = step;
    if (!step.empty()) f["visits"][step] = f["visits"].value(step, 0) + 1;
  }

  static std::string visitKey(T& t, const std::string& fid, const std::string& step) {
    json& f = frame(t, fid);
    return t.rec.id + ":" + f.value("path", "") + "/" + step + "#" +
           std::to_string(f["visits"].value(step, 1));
  }

  // Moves the frame past `step` to `jump`, its `next`, or the following step.
  static void moveOn(T& t, const std::string& fid, const Step& step, const std::string& jump) {
    json& f = frame(t, fid);
    f["wait"] = nullptr;
    std::string target = !jump.empty() ? jump : step.next;
    if (target.empty()) target = following(blockOf(*t.def, f), step.id);
    enter(t, fid, target);
    t.runnable.push_back(fid);
  }

  static json context(T& t, const std::string& fid) {
    json ctx = t.data;
    std::vector<const json*> chain;
    for (std::string id = fid; !id.empty();) {
      const json& f = frame(t, id);
      chain.push_back(&f);
      id = f.value("parent", "");
    }
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      if ((*it)->contains("locals")) {
        for (const auto& [k, v] : (**it)["locals"].items()) ctx[k] = v;
      }
    }
    ctx["now"] = core::formatIso8601(t.now);
    ctx["today"] = core::formatIso8601(t.now).substr(0, 10);
    return ctx;
  }

  static void write(T& t, const std::string& fid, const std::string& name, json value) {
    for (std::string id = fid; !id.empty();) {
      json& f = frame(t, id);
      if (f.contains("locals")) {
        f["locals"][name] = std::move(value);
        return;
      }
      id = f.value("parent", "");
    }
    t.data[name] = std::move(value);
  }

  static std::string into(const Step& step) { return step.into.empty() ? step.id : step.into; }

  static core::Status history(T& t, const std::string& event, const std::string& step, json detail,
                              const json* before) {
    store::HistoryRecord h;
    h.instance_id = t.rec.id;
    h.at = t.now;
    h.actor = t.actor;
    h.event = event;
    h.step_id = step;
    h.detail_json = detail.is_null() ? "{}" : detail.dump();
    if (before != nullptr && *before != t.data) {
      h.data_before_json = before->dump();
      h.data_after_json = t.data.dump();
    }
    return t.tx.appendHistory(h);
  }

  static core::StatusOr<long long> createJob(T& t, const std::string& instance_id,
                                             const std::string& kind, json payload,
                                             core::TimePoint due, const std::string& task_id,
                                             int attempts = 0) {
    JobRecord j;
    j.attempts = attempts;
    j.instance_id = instance_id;
    j.kind = kind;
    j.task_id = task_id;
    j.payload_json = payload.dump();
    j.due_at = due;
    j.created_at = t.now;
    j.lease_until = core::TimePoint{};
    const bool lease = t.lease_jobs && due <= t.now;
    if (lease) {
      j.lease_owner = t.rt.options_.node_id;
      j.lease_until = t.now + t.rt.options_.lease;
    }
    SENDFLOW_RETURN_IF_ERROR(t.tx.insertJob(j));
    if (lease) t.leased.push_back(j);
    return j.id;
  }

  static core::StatusOr<json> eval(const std::shared_ptr<const Expression>& e, const json& ctx) {
    if (!e) return json();
    return e->evaluate(ctx);
  }

  static core::StatusOr<Duration> duration(const std::shared_ptr<const Expression>& e,
                                           const json& ctx, Duration fallback) {
    if (!e) return fallback;
    SENDFLOW_ASSIGN_OR_RETURN(json v, e->evaluate(ctx));
    Duration d;
    if (!v.is_string() || !parseDuration(v.get<std::string>(), d)) {
      return core::invalidArgument(e->where().toString() + ": '" + e->text() +
                                   "' is not a duration (got " + v.dump() + ")");
    }
    return d;
  }

  // A retry delay: a fixed duration (weeks, days, hours, ...), not months or working days.
  static core::StatusOr<std::chrono::milliseconds> fixedDuration(
      const std::shared_ptr<const Expression>& e, const json& ctx,
      std::chrono::milliseconds fallback) {
    SENDFLOW_ASSIGN_OR_RETURN(Duration d, duration(e, ctx, Duration{0, 0, fallback.count()}));
    if (!d.isFixed()) {
      return core::invalidArgument(e->where().toString() + ": '" + e->text() +
                                   "' must be a fixed duration (weeks, days, hours), not months or "
                                   "working days");
    }
    return std::chrono::milliseconds(d.millis);
  }

  static core::TimePoint shift(core::TimePoint t, const Duration& d, bool backwards) {
    Duration by = d;
    if (backwards) by = Duration{-d.months, -d.working_days, -d.millis};
    return addDuration(t, by, *WorkingCalendar::defaultCalendar());
  }

  static core::StatusOr<core::TimePoint> instant(const std::shared_ptr<const Expression>& e,
                                                 const json& ctx) {
    SENDFLOW_ASSIGN_OR_RETURN(json v, e->evaluate(ctx));
    core::TimePoint tp;
    if (!v.is_string() || !core::parseIso8601(v.get<std::string>(), tp)) {
      return core::invalidArgument(e->where().toString() + ": '" + e->text() +
                                   "' is not a date or date-time (got " + v.dump() + ")");
    }
    return tp;
  }

  // Stops the frame at `step` with an incident a person resolves (then retryIncident).
  static core::Status raiseIncident(T& t, const std::string& fid, const Step& step,
                                    const std::string& job_kind, json payload,
                                    const std::string& message) {
    store::IncidentRecord incident;
    incident.instance_id = t.rec.id;
    incident.step_id = step.id;
    incident.job_kind = job_kind;
    incident.payload_json = payload.dump();
    incident.message = message;
    incident.created_at = t.now;
    SENDFLOW_RETURN_IF_ERROR(t.tx.insertIncident(incident));
    frame(t, fid)["wait"] = {{"kind", "incident"}, {"incident", incident.id}};
    return history(t, "incident.raised", step.id, {{"incident", incident.id}, {"message", message}},
                   nullptr);
  }

  // Runs every runnable frame until each waits or ends.
  static core::Status drive(T& t) {
    while (!t.runnable.empty() && !t.ended) {
      const std::string fid = t.runnable.front();
      t.runnable.pop_front();
      SENDFLOW_RETURN_IF_ERROR(runFrame(t, fid));
    }
    return core::Status::ok();
  }

  static core::Status runFrame(T& t, const std::string& fid) {
    while (!t.ended) {
      if (!frames(t).contains(fid)) return core::Status::ok();
      json& f = frame(t, fid);
      if (!f["wait"].is_null()) return core::Status::ok();
      const std::string sid = f.value("step", "");
      if (sid.empty()) return finishFrame(t, fid);
      const Step* step = t.def->findStep(sid);
      if (step == nullptr) {
        return core::internalError("workflow '" + t.def->id + "' has no step '" + sid + "'");
      }
      core::Status st = execute(t, fid, *step);
      if (!st.isOk()) {
        if (st.code() == core::StatusCode::kInternal ||
            st.code() == core::StatusCode::kUnavailable) {
          return st;  // the store failed: roll the transition back
        }
        // The definition or the data is wrong (an expression error, a for-each over a
        // non-list, a missing sub-workflow): stop here with an incident a person can act on.
        SENDFLOW_RETURN_IF_ERROR(raiseIncident(
            t, fid, *step, "step", {{"frame", fid}, {"step", step->id}},
            std::string(stepKindName(step->kind)) + " '" + step->id + "': " + st.message()));
      }
    }
    return core::Status::ok();
  }

  static core::Status execute(T& t, const std::string& fid, const Step& step) {
    switch (step.kind) {
      case StepKind::kSet: {
        const json before = t.data;
        json ctx = context(t, fid);
        json assigned = json::object();
        for (const auto& [name, expr] : step.assignments) {
          SENDFLOW_ASSIGN_OR_RETURN(json v, eval(expr, ctx));
          ctx[name] = v;
          assigned[name] = v;
          write(t, fid, name, std::move(v));
        }
        SENDFLOW_RETURN_IF_ERROR(
            history(t, "step.completed", step.id, {{"set", assigned}}, &before));
        moveOn(t, fid, step, "");
        return core::Status::ok();
      }
      case StepKind::kDecision: {
        const json ctx = context(t, fid);
        std::string jump;
        bool matched = false;
        for (const DecisionBranch& b : step.branches) {
          SENDFLOW_ASSIGN_OR_RETURN(json v, eval(b.condition, ctx));
          if (v.is_boolean() && v.get<bool>()) {
            jump = b.next;
            matched = true;
            break;
          }
        }
        if (!matched) jump = step.otherwise;
        SENDFLOW_RETURN_IF_ERROR(history(t, "decision.taken", step.id, {{"next", jump}}, nullptr));
        moveOn(t, fid, step, jump);
        return core::Status::ok();
      }
      case StepKind::kDecisionTable: {
        if (!step.table) return core::invalidArgument("has no decision table");
        const json before = t.data;
        SENDFLOW_ASSIGN_OR_RETURN(json result, step.table->evaluate(context(t, fid)));
        write(t, fid, into(step), result);
        SENDFLOW_RETURN_IF_ERROR(
            history(t, "step.completed", step.id, {{"result", result}}, &before));
        moveOn(t, fid, step, "");
        return core::Status::ok();
      }
      case StepKind::kAction:
        return scheduleAction(t, fid, step);
      case StepKind::kTask:
      case StepKind::kApproval:
        return createTask(t, fid, step);
      case StepKind::kTimer: {
        const json ctx = context(t, fid);
        core::TimePoint due = t.now;
        if (step.until) {
          SENDFLOW_ASSIGN_OR_RETURN(due, instant(step.until, ctx));
        } else {
          SENDFLOW_ASSIGN_OR_RETURN(Duration d, duration(step.after, ctx, Duration{}));
          due = shift(t.now, d, false);
        }
        SENDFLOW_ASSIGN_OR_RETURN(
            long long job,
            createJob(t, t.rec.id, "timer", {{"frame", fid}, {"step", step.id}}, due, ""));
        frame(t, fid)["wait"] = {{"kind", "job"}, {"job", job}};
        return history(t, "timer.started", step.id, {{"due", core::formatIso8601(due)}}, nullptr);
      }
      case StepKind::kParallel: {
        if (step.branches_blocks.empty()) {
          moveOn(t, fid, step, "");
          return core::Status::ok();
        }
        const std::string base = frame(t, fid).value("path", "") + "/" + step.id + "#" +
                                 std::to_string(frame(t, fid)["visits"].value(step.id, 1));
        frame(t, fid)["wait"] = {{"kind", "join"},
                                 {"pending", static_cast<int>(step.branches_blocks.size())}};
        for (std::size_t i = 0; i < step.branches_blocks.size(); ++i) {
          newFrame(t, fid, step.id, static_cast<int>(i), base + "." + std::to_string(i),
                   step.branches_blocks[i]);
        }
        return history(t, "parallel.started", step.id, {{"branches", step.branches_blocks.size()}},
                       nullptr);
      }
      case StepKind::kForEach: {
        SENDFLOW_ASSIGN_OR_RETURN(json items, eval(step.items, context(t, fid)));
        if (!items.is_array()) {
          return core::invalidArgument("items '" + (step.items ? step.items->text() : "") +
                                       "' is not a list (got " + items.dump() + ")");
        }
        if (items.empty()) {
          const json before = t.data;
          write(t, fid, into(step), json::array());
          SENDFLOW_RETURN_IF_ERROR(
              history(t, "foreach.completed", step.id, {{"total", 0}}, &before));
          moveOn(t, fid, step, "");
          return core::Status::ok();
        }
        const std::string base = frame(t, fid).value("path", "") + "/" + step.id + "#" +
                                 std::to_string(frame(t, fid)["visits"].value(step.id, 1));
        const int total = static_cast<int>(items.size());
        frame(t, fid)["wait"] = {
            {"kind", "each"}, {"total", total}, {"completed", 0}, {"results", json::array()}};
        json& results = frame(t, fid)["wait"]["results"];
        for (int i = 0; i < total; ++i) results.push_back(nullptr);
        for (int i = 0; i < total; ++i) {
          const std::string child =
              newFrame(t, fid, step.id, 0, base + "[" + std::to_string(i) + "]", step.body);
          frame(t, child)["locals"] = {{step.item_name, items[i]}, {"index", i}};
        }
        return history(t, "foreach.started", step.id, {{"total", total}}, nullptr);
      }
      case StepKind::kSubWorkflow: {
        const json ctx = context(t, fid);
        json input = json::object();
        for (const auto& [name, expr] : step.inputs) {
          SENDFLOW_ASSIGN_OR_RETURN(input[name], eval(expr, ctx));
        }
        const std::string key = visitKey(t, fid, step.id);
        SENDFLOW_ASSIGN_OR_RETURN(
            StartResult child, t.rt.startWithin(t.tx, step.workflow, input, key, t.actor, t.rec.id,
                                                fid, t.lease_jobs, t.leased));
        frame(t, fid)["wait"] = {{"kind", "child"}, {"instance", child.instance_id}};
        return history(t, "subworkflow.started", step.id,
                       {{"instance", child.instance_id}, {"workflow", step.workflow}}, nullptr);
      }
      case StepKind::kEnd: {
        if (step.end_status == "completed" && !frame(t, fid).value("parent", "").empty()) {
          SENDFLOW_RETURN_IF_ERROR(history(t, "branch.ended", step.id, nullptr, nullptr));
          frame(t, fid)["step"] = "";
          return finishFrame(t, fid);
        }
        return endInstance(t, step.end_status, step.id);
      }
    }
    return core::internalError("unknown step kind");
  }

  static core::Status scheduleAction(T& t, const std::string& fid, const Step& step) {
    const json ctx = context(t, fid);
    json params = json::object();
    for (const auto& [name, expr] : step.params) {
      SENDFLOW_ASSIGN_OR_RETURN(params[name], eval(expr, ctx));
    }
    SENDFLOW_ASSIGN_OR_RETURN(auto backoff,
                              fixedDuration(step.backoff, ctx, t.rt.options_.default_backoff));
    SENDFLOW_ASSIGN_OR_RETURN(
        auto cap, fixedDuration(step.max_backoff, ctx, t.rt.options_.default_max_backoff));
    json payload = {{"frame", fid},
                    {"step", step.id},
                    {"action", step.action},
                    {"workflow", t.def->id},
                    {"key", visitKey(t, fid, step.id)},
                    {"params", params},
                    {"max_attempts", std::max(1, step.max_attempts)},
                    {"backoff_ms", backoff.count()},
                    {"max_backoff_ms", cap.count()}};
    const RegisteredAction* action = t.rt.actions_.find(step.action);
    core::TimePoint due = t.now;
    int attempts = 0;
    if (action != nullptr && action->mode == ActionMode::kInTransaction) {
      // A pure action: run it here, so that its result commits with this transition.
      ActionContext actx;
      actx.instance_id = t.rec.id;
      actx.workflow_id = t.def->id;
      actx.step_id = step.id;
      actx.idempotency_key = payload["key"].get<std::string>();
      actx.now = t.now;
      core::StatusOr<json> result = core::internalError("not run");
      try {
        result = action->handler(params, actx);
      } catch (const std::exception& e) {
        result = core::internalError("action '" + step.action + "' threw: " + e.what());
      }
      if (result.isOk()) {
        const json before = t.data;
        write(t, fid, into(step), *result);
        SENDFLOW_RETURN_IF_ERROR(applyEffects(t, fid, step, actx));
        SENDFLOW_RETURN_IF_ERROR(history(
            t, "action.completed", step.id,
            {{"action", step.action}, {"attempt", 1}, {"key", actx.idempotency_key}}, &before));
        moveOn(t, fid, step, "");
        return core::Status::ok();
      }
      if (!retryable(result.status().code()) || step.max_attempts <= 1) {
        return raiseIncident(t, fid, step, "action", payload,
                             "action '" + step.action +
                                 "' failed after 1 attempt(s): " + result.status().toString());
      }
      // Retry as a job, after the backoff.
      attempts = 1;
      due = t.now + backoffDelay(1, backoff, cap);
    }
    SENDFLOW_ASSIGN_OR_RETURN(long long job,
                              createJob(t, t.rec.id, "action", payload, due, "", attempts));
    frame(t, fid)["wait"] = {{"kind", "job"}, {"job", job}};
    return core::Status::ok();
  }

  // Commits what an action asked for through its context: outbox mails and workflow starts
  // (whose ids are added to the action's result when it is an object).
  static core::Status applyEffects(T& t, const std::string& fid, const Step& step,
                                   const ActionContext& actx) {
    for (const MailMessage& m : actx.mails) {
      store::OutboxRecord mail;
      mail.instance_id = t.rec.id;
      mail.recipient = m.to;
      mail.subject = m.subject;
      mail.body = m.body;
      mail.created_at = t.now;
      SENDFLOW_RETURN_IF_ERROR(t.tx.insertOutbox(mail));
    }
    for (const DocumentOutput& d : actx.documents) {
      store::DocumentRecord doc;
      doc.id = d.id;
      doc.instance_id = t.rec.id;
      doc.step_id = step.id;
      doc.name = d.name;
      doc.path = d.path;
      doc.media_type = d.media_type;
      doc.size = d.size;
      doc.created_at = t.now;
      SENDFLOW_RETURN_IF_ERROR(t.tx.insertDocument(doc));
    }
    if (actx.starts.empty()) return core::Status::ok();
    json started = json::array();
    for (const StartRequest& s : actx.starts) {
      SENDFLOW_ASSIGN_OR_RETURN(
          StartResult r, t.rt.startWithin(t.tx, s.workflow_id, s.input, s.business_key, t.actor, "",
                                          "", t.lease_jobs, t.leased));
      started.push_back(r.instance_id);
    }
    // Read back where the result went (an iteration's locals or the instance data).
    for (std::string id = fid; !id.empty();) {
      json& f = frame(t, id);
      if (f.contains("locals")) {
        json& stored = f["locals"][into(step)];
        if (stored.is_object()) stored["instances"] = started;
        return core::Status::ok();
      }
      id = f.value("parent", "");
    }
    json& stored = t.data[into(step)];
    if (stored.is_object()) stored["instances"] = started;
    return core::Status::ok();
  }

  static core::Status createTask(T& t, const std::string& fid, const Step& step) {
    const json ctx = context(t, fid);
    store::TaskRecord task;
    task.id = newId();
    task.instance_id = t.rec.id;
    task.step_id = step.id;
    task.frame = fid;
    task.kind = step.kind == StepKind::kApproval ? "approval" : "task";
    task.title = step.title.empty() ? step.id : step.title;
    task.role = step.role;
    task.status = "open";
    task.created_at = t.now;
    if (step.assignee) {
      SENDFLOW_ASSIGN_OR_RETURN(json who, eval(step.assignee, ctx));
      if (who.is_string()) task.assignee = who.get<std::string>();
    }
    if (step.due) {
      SENDFLOW_ASSIGN_OR_RETURN(task.due_at, instant(step.due, ctx));
    }
    // What the task is about: the item of the innermost for-each around it.
    for (std::string id = fid; !id.empty();) {
      const json& f = frame(t, id);
      if (f.contains("locals")) {
        const Step* owner = t.def->findStep(f.value("owner", ""));
        if (owner != nullptr && f["locals"].contains(owner->item_name)) {
          task.subject_json = f["locals"][owner->item_name].dump();
        }
        break;
      }
      id = f.value("parent", "");
    }
    SENDFLOW_RETURN_IF_ERROR(t.tx.insertTask(task));
    if (t.rt.task_listener_ != nullptr) {
      SENDFLOW_RETURN_IF_ERROR(t.rt.task_listener_->taskCreated(t.tx, task, step, ctx));
    }
    frame(t, fid)["wait"] = {{"kind", "task"}, {"task", task.id}};
    const std::string recipient = !task.assignee.empty() ? task.assignee : "role:" + task.role;
    if (task.due_at) {
      for (const Reminder& r : step.reminders) {
        SENDFLOW_ASSIGN_OR_RETURN(Duration before, duration(r.before, ctx, Duration{}));
        SENDFLOW_RETURN_IF_ERROR(createJob(t, t.rec.id, "reminder",
                                           {{"task", task.id}, {"to", recipient}},
                                           shift(*task.due_at, before, true), task.id)
                                     .status());
      }
      for (const Escalation& e : step.escalations) {
        SENDFLOW_ASSIGN_OR_RETURN(Duration after, duration(e.after, ctx, Duration{}));
        std::string to;
        if (e.to) {
          SENDFLOW_ASSIGN_OR_RETURN(json who, eval(e.to, ctx));
          if (who.is_string()) to = who.get<std::string>();
        }
        SENDFLOW_RETURN_IF_ERROR(
            createJob(
                t, t.rec.id, "escalation",
                {{"task", task.id}, {"to", to}, {"to_role", e.to_role}, {"reassign", e.reassign}},
                shift(*task.due_at, after, false), task.id)
                .status());
      }
    }
    return history(t, "task.created", step.id,
                   {{"task", task.id},
                    {"assignee", task.assignee},
                    {"role", task.role},
                    {"due", task.due_at ? core::formatIso8601(*task.due_at) : ""}},
                   nullptr);
  }

  static core::Status cancelWait(T& t, const json& f) {
    const json& w = f["wait"];
    if (!w.is_object()) return core::Status::ok();
    const std::string kind = w.value("kind", "");
    if (kind == "task") {
      SENDFLOW_ASSIGN_OR_RETURN(auto task, t.tx.task(w.value("task", "")));
      if (task && task->status == "open") {
        task->status = "cancelled";
        task->completed_at = t.now;
        SENDFLOW_RETURN_IF_ERROR(t.tx.updateTask(*task));
      }
      return t.tx.deleteJobsOfTask(w.value("task", ""));
    }
    if (kind == "job") return t.tx.deleteJob(w.value("job", 0LL));
    if (kind == "child") {
      // The sub-workflow is no longer awaited: cancel it (and, through it, its own children).
      SENDFLOW_ASSIGN_OR_RETURN(auto child, t.tx.instance(w.value("instance", "")));
      if (!child || (child->status != "running" && child->status != "incident")) {
        return core::Status::ok();
      }
      SENDFLOW_ASSIGN_OR_RETURN(auto def,
                                t.rt.pinned(t.tx, child->definition_id, child->definition_version));
      SENDFLOW_ASSIGN_OR_RETURN(Runtime::Transition c,
                                Runtime::Transition::resume(t.rt, t.tx, *child, def, t.actor, t.now,
                                                            t.lease_jobs, t.leased));
      SENDFLOW_RETURN_IF_ERROR(endInstance(c, "cancelled", "", /*notify_parent=*/false));
      return save(c, false);
    }
    return core::Status::ok();
  }

  // Cancels every frame below `fid` (not `fid` itself).
  static core::Status cancelChildren(T& t, const std::string& fid) {
    std::vector<std::string> children;
    for (const auto& [id, f] : frames(t).items()) {
      if (f.value("parent", "") == fid) children.push_back(id);
    }
    for (const std::string& child : children) {
      SENDFLOW_RETURN_IF_ERROR(cancelChildren(t, child));
      SENDFLOW_RETURN_IF_ERROR(cancelWait(t, frame(t, child)));
      frames(t).erase(child);
    }
    return core::Status::ok();
  }

  static core::Status finishFrame(T& t, const std::string& fid) {
    const json f = frame(t, fid);
    const std::string parent = f.value("parent", "");
    if (parent.empty()) return endInstance(t, "completed", "");
    frames(t).erase(fid);
    json& p = frame(t, parent);
    json& w = p["wait"];
    const Step* owner = t.def->findStep(f.value("owner", ""));
    if (w.value("kind", "") == "join") {
      w["pending"] = w.value("pending", 1) - 1;
      if (w.value("pending", 0) <= 0) {
        SENDFLOW_RETURN_IF_ERROR(history(t, "parallel.completed", owner->id, nullptr, nullptr));
        moveOn(t, parent, *owner, "");
      }
      return core::Status::ok();
    }
    if (w.value("kind", "") == "each") {
      json result = f.value("locals", json::object());
      const int index = result.value("index", 0);
      // The item stays in its iteration's result (under the `as` name), so what comes after
      // the for-each (a report, a moderation overview) can say which plan each result is for.
      result.erase("index");
      w["results"][index] = result;
      w["completed"] = w.value("completed", 0) + 1;
      const int completed = w.value("completed", 0);
      const int total = w.value("total", 0);
      bool done = completed >= total;
      if (!done && owner->completion) {
        json ctx = context(t, parent);
        ctx["completed"] = completed;
        ctx["total"] = total;
        SENDFLOW_ASSIGN_OR_RETURN(json v, eval(owner->completion, ctx));
        done = v.is_boolean() && v.get<bool>();
      }
      if (!done) return core::Status::ok();
      SENDFLOW_RETURN_IF_ERROR(cancelChildren(t, parent));
      json collected = json::array();
      for (const json& r : frame(t, parent)["wait"]["results"]) {
        if (!r.is_null()) collected.push_back(r);
      }
      const json before = t.data;
      write(t, parent, into(*owner), collected);
      SENDFLOW_RETURN_IF_ERROR(history(t, "foreach.completed", owner->id,
                                       {{"completed", completed}, {"total", total}}, &before));
      moveOn(t, parent, *owner, "");
    }
    return core::Status::ok();
  }

  static core::Status endInstance(T& t, const std::string& status, const std::string& step,
                                  bool notify_parent = true) {
    for (const auto& [id, f] : frames(t).items()) SENDFLOW_RETURN_IF_ERROR(cancelWait(t, f));
    frames(t) = json::object();
    t.rec.status = status;
    t.ended = true;
    SENDFLOW_RETURN_IF_ERROR(history(t, "instance.ended", step, {{"status", status}}, nullptr));
    if (notify_parent && !t.rec.parent_id.empty()) {
      SENDFLOW_RETURN_IF_ERROR(createJob(t, t.rec.parent_id, "resume",
                                         {{"frame", t.state.value("parent_frame", "")},
                                          {"child", t.rec.id},
                                          {"status", status},
                                          {"data", t.data}},
                                         t.now, "")
                                   .status());
    }
    return core::Status::ok();
  }

  static std::string statusOf(T& t) {
    if (t.ended) return t.rec.status;
    for (const auto& [id, f] : frames(t).items()) {
      if (f["wait"].is_object() && f["wait"].value("kind", "") == "incident") return "incident";
    }
    return "running";
  }

  // Writes the instance back (or inserts it when `insert`).
  static core::Status save(T& t, bool insert) {
    t.rec.status = statusOf(t);
    t.rec.data_json = t.data.dump();
    t.rec.state_json = t.state.dump();
    t.rec.updated_at = t.now;
    if (insert) return t.tx.insertInstance(t.rec);
    return t.tx.updateInstance(t.rec);
  }
};

Runtime::Runtime(store::Store& store, const ActionRegistry& actions, const core::Clock& clock,
                 RuntimeOptions options)
    : store_(store), actions_(actions), clock_(clock), options_(std::move(options)) {
  if (options_.node_id.empty()) options_.node_id = "node-" + newId().substr(0, 8);
}

Runtime::~Runtime() = default;

void Runtime::setDefinitionParser(DefinitionParser parser) {
  std::lock_guard<std::mutex> lock(mutex_);
  parser_ = std::move(parser);
}

core::StatusOr<int> Runtime::deploy(std::shared_ptr<const Definition> definition,
                                    const std::string& source) {
  if (!definition || definition->id.empty()) {
    return core::invalidArgument("a definition without an id cannot be deployed");
  }
  const std::string sha = sha256Hex(source);
  int version = 0;
  core::Status st = store_.transact([&](Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(auto latest, tx.latestDefinition(definition->id));
    if (latest && latest->sha256 == sha) {
      version = latest->version;
      return core::Status::ok();
    }
    version = latest ? std::max(latest->version + 1, definition->version) : definition->version;
    if (version < 1) version = 1;
    store::DefinitionRecord record{definition->id,          version,     source, sha,
                                   definition->source_file, clock_.now()};
    return tx.insertDefinition(record);
  });
  SENDFLOW_RETURN_IF_ERROR(st);
  auto copy = std::make_shared<Definition>(*definition);
  copy->version = version;
  copy->source_sha256 = sha;
  std::lock_guard<std::mutex> lock(mutex_);
  latest_[copy->id] = copy;
  versions_[{copy->id, version}] = copy;
  return version;
}

std::vector<std::shared_ptr<const Definition>> Runtime::definitions() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<const Definition>> out;
  for (const auto& [id, def] : latest_) out.push_back(def);
  return out;
}

core::StatusOr<std::shared_ptr<const Definition>> Runtime::definition(const std::string& id,
                                                                      int version) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = versions_.find({id, version});
    if (it != versions_.end()) return it->second;
  }
  std::shared_ptr<const Definition> found;
  SENDFLOW_RETURN_IF_ERROR(store_.transact([&](Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(found, pinned(tx, id, version));
    return core::Status::ok();
  }));
  return found;
}

core::StatusOr<std::shared_ptr<const Definition>> Runtime::latest(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = latest_.find(id);
  if (it == latest_.end()) return core::notFound("no workflow '" + id + "' is loaded");
  return it->second;
}

core::StatusOr<std::shared_ptr<const Definition>> Runtime::pinned(Transaction& tx,
                                                                  const std::string& id,
                                                                  int version) {
  DefinitionParser parser;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = versions_.find({id, version});
    if (it != versions_.end()) return it->second;
    parser = parser_;
  }
  SENDFLOW_ASSIGN_OR_RETURN(auto record, tx.definition(id, version));
  if (!record)
    return core::notFound("workflow '" + id + "' version " + std::to_string(version) +
                          " is not stored");
  if (!parser) {
    return core::failedPrecondition("workflow '" + id + "' version " + std::to_string(version) +
                                    " is not loaded and no definition parser is set");
  }
  const std::string label = (record->source_file.empty() ? id : record->source_file) +
                            " (version " + std::to_string(version) + ")";
  SENDFLOW_ASSIGN_OR_RETURN(auto parsed, parser(record->source, label));
  auto copy = std::make_shared<Definition>(*parsed);
  copy->version = version;
  copy->source_sha256 = record->sha256;
  std::lock_guard<std::mutex> lock(mutex_);
  versions_[{id, version}] = copy;
  return std::shared_ptr<const Definition>(copy);
}

core::Status Runtime::transition(
    const std::function<core::Status(Transaction&, std::vector<JobRecord>&)>& work) {
  std::vector<JobRecord> leased;
  core::Status st;
  for (int attempt = 0; attempt < 5; ++attempt) {
    leased.clear();
    st = store_.transact([&](Transaction& tx) { return work(tx, leased); });
    if (st.code() != core::StatusCode::kConflict) break;
  }
  SENDFLOW_RETURN_IF_ERROR(st);
  return drain(std::move(leased));
}

core::Status Runtime::drain(std::vector<JobRecord> jobs) {
  // A failure here leaves the job in the table under its lease; a worker runs it again when the
  // lease expires, so the caller's committed transition stands.
  for (const JobRecord& job : jobs) (void)runJob(job);
  return core::Status::ok();
}

core::StatusOr<StartResult> Runtime::startWithin(Transaction& tx, const std::string& workflow_id,
                                                 const json& input, const std::string& business_key,
                                                 const std::string& actor,
                                                 const std::string& parent_id,
                                                 const std::string& parent_frame, bool lease_jobs,
                                                 std::vector<JobRecord>& leased,
                                                 const json* audit) {
  SENDFLOW_ASSIGN_OR_RETURN(auto def, latest(workflow_id));
  if (!business_key.empty()) {
    SENDFLOW_ASSIGN_OR_RETURN(auto existing, tx.instanceByKey(def->id, business_key));
    if (existing) return StartResult{existing->id, false};
  }
  SENDFLOW_ASSIGN_OR_RETURN(json data, checkInputs(*def, input));
  Transition t{*this,      tx,     {}, def,  std::move(data), json::object(), actor, clock_.now(),
               lease_jobs, leased, {}, false};
  t.rec.id = newId();
  t.rec.definition_id = def->id;
  t.rec.definition_version = def->version;
  t.rec.business_key = business_key;
  t.rec.parent_id = parent_id;
  t.rec.created_at = t.now;
  t.state = {{"frames", json::object()}, {"next", 1}};
  if (!parent_frame.empty()) t.state["parent_frame"] = parent_frame;
  const json before = json::object();
  json detail = {{"workflow", def->id}, {"version", def->version}, {"business_key", business_key}};
  if (audit != nullptr && audit->is_object()) {
    for (const auto& [k, v] : audit->items()) detail[k] = v;
  }
  SENDFLOW_RETURN_IF_ERROR(
      Interpreter::history(t, "instance.started", "", std::move(detail), &before));
  Interpreter::newFrame(t, "", "", 0, "", def->body);
  SENDFLOW_RETURN_IF_ERROR(Interpreter::drive(t));
  SENDFLOW_RETURN_IF_ERROR(Interpreter::save(t, /*insert=*/true));
  return StartResult{t.rec.id, true};
}

core::StatusOr<StartResult> Runtime::start(const std::string& workflow_id, const json& input,
                                           const std::string& business_key,
                                           const std::string& actor) {
  StartResult result;
  SENDFLOW_RETURN_IF_ERROR(transition([&](Transaction& tx, std::vector<JobRecord>& leased) {
    SENDFLOW_ASSIGN_OR_RETURN(result, startWithin(tx, workflow_id, input, business_key, actor, "",
                                                  "", options_.run_jobs_inline, leased));
    return core::Status::ok();
  }));
  return result;
}

core::StatusOr<StartResult> Runtime::start(const std::string& workflow_id, const json& input,
                                           const std::string& business_key,
                                           const std::string& actor, const StartOptions& options) {
  StartResult result;
  SENDFLOW_RETURN_IF_ERROR(transition([&](Transaction& tx, std::vector<JobRecord>& leased) {
    if (options.before) {
      SENDFLOW_ASSIGN_OR_RETURN(std::optional<StartResult> earlier, options.before(tx));
      if (earlier) {
        result = *earlier;
        return core::Status::ok();
      }
    }
    SENDFLOW_ASSIGN_OR_RETURN(result,
                              startWithin(tx, workflow_id, input, business_key, actor, "", "",
                                          options_.run_jobs_inline, leased, &options.audit));
    if (options.after) return options.after(tx, result);
    return core::Status::ok();
  }));
  return result;
}

core::StatusOr<StartResult> Runtime::startInTransaction(Transaction& tx,
                                                        const std::string& workflow_id,
                                                        const json& input,
                                                        const std::string& business_key,
                                                        const std::string& actor) {
  std::vector<JobRecord> unused;
  return startWithin(tx, workflow_id, input, business_key, actor, "", "", false, unused);
}

void Runtime::setTaskListener(TaskListener* listener) { task_listener_ = listener; }

core::Status Runtime::assignTask(const std::string& task_id, const std::string& assignee,
                                 const std::string& actor, const TaskChangeOptions& options) {
  return transition([&](Transaction& tx, std::vector<JobRecord>&) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(auto task, tx.task(task_id));
    if (!task) return core::notFound("no task '" + task_id + "'");
    if (task->status != "open") {
      return core::conflict("task '" + task_id + "' is " + task->status + ", not open");
    }
    if (options.guard) SENDFLOW_RETURN_IF_ERROR(options.guard(tx, *task));
    const std::string previous = task->assignee;
    task->assignee = assignee;
    SENDFLOW_RETURN_IF_ERROR(tx.updateTask(*task));
    json detail = {{"task", task_id}, {"from", previous}, {"to", assignee}};
    if (options.audit.is_object()) {
      for (const auto& [k, v] : options.audit.items()) detail[k] = v;
    }
    store::HistoryRecord h;
    h.instance_id = task->instance_id;
    h.at = clock_.now();
    h.actor = actor;
    h.event = "task.assigned";
    h.step_id = task->step_id;
    h.detail_json = detail.dump();
    return tx.appendHistory(h);
  });
}

core::Status Runtime::completeTask(const std::string& task_id, const json& data,
                                   const std::string& actor, const TaskChangeOptions& options) {
  return transition([&](Transaction& tx, std::vector<JobRecord>& leased) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(auto task, tx.task(task_id));
    if (!task) return core::notFound("no task '" + task_id + "'");
    if (task->status != "open") {
      return core::conflict("task '" + task_id + "' is " + task->status + ", not open");
    }
    if (options.guard) SENDFLOW_RETURN_IF_ERROR(options.guard(tx, *task));
    SENDFLOW_ASSIGN_OR_RETURN(auto inst, tx.instance(task->instance_id));
    if (!inst) return core::internalError("task '" + task_id + "' has no instance");
    SENDFLOW_ASSIGN_OR_RETURN(auto def, pinned(tx, inst->definition_id, inst->definition_version));
    SENDFLOW_ASSIGN_OR_RETURN(Transition t,
                              Transition::resume(*this, tx, *inst, def, actor, clock_.now(),
                                                 options_.run_jobs_inline, leased));
    const Step* step = def->findStep(task->step_id);
    if (step == nullptr) return core::internalError("task '" + task_id + "' names no step");
    if (!Interpreter::frames(t).contains(task->frame) ||
        Interpreter::frame(t, task->frame)["wait"].value("task", "") != task_id) {
      return core::conflict("task '" + task_id + "' is no longer awaited");
    }
    const json ctx = Interpreter::context(t, task->frame);
    std::string jump;
    if (step->kind == StepKind::kApproval) {
      std::vector<std::string> problems;
      if (!data.is_object())
        return core::invalidArgument("the approval data must be a JSON object");
      const std::string decision = data.value("decision", "");
      if (decision != "approve" && decision != "reject") {
        problems.push_back("decision: must be 'approve' or 'reject'");
      }
      for (const auto& [k, v] : data.items()) {
        if (k != "decision" && k != "comment") problems.push_back(k + ": not a field of this form");
        if (k == "comment" && !v.is_string()) problems.push_back("comment: must be text");
      }
      if (!problems.empty()) {
        std::string m;
        for (std::size_t i = 0; i < problems.size(); ++i) m += (i ? "; " : "") + problems[i];
        return core::invalidArgument(m);
      }
      if (decision == "reject") jump = step->on_reject;
    } else {
      SENDFLOW_RETURN_IF_ERROR(step->form.validate(data, ctx));
    }
    const json before = t.data;
    task->status = "completed";
    task->result_json = data.dump();
    task->completed_by = actor;
    task->completed_at = t.now;
    SENDFLOW_RETURN_IF_ERROR(tx.updateTask(*task));
    SENDFLOW_RETURN_IF_ERROR(tx.deleteJobsOfTask(task_id));
    Interpreter::write(t, task->frame, Interpreter::into(*step), data);
    json detail = {{"task", task_id}, {"result", data}};
    if (options.audit.is_object()) {
      for (const auto& [k, v] : options.audit.items()) detail[k] = v;
    }
    SENDFLOW_RETURN_IF_ERROR(
        Interpreter::history(t, "task.completed", step->id, std::move(detail), &before));
    Interpreter::moveOn(t, task->frame, *step, jump);
    SENDFLOW_RETURN_IF_ERROR(Interpreter::drive(t));
    return Interpreter::save(t, false);
  });
}

core::StatusOr<int> Runtime::runDueJobs(int limit) {
  std::vector<JobRecord> claimed;
  const core::TimePoint now = clock_.now();
  SENDFLOW_RETURN_IF_ERROR(store_.transact([&](Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(claimed,
                              tx.claimDueJobs(now, options_.node_id, now + options_.lease, limit));
    return core::Status::ok();
  }));
  // One job failing (the store was busy, say) must not strand the others under their lease.
  core::Status first_error;
  for (const JobRecord& job : claimed) {
    core::Status st = runJob(job);
    if (!st.isOk() && first_error.isOk()) {
      first_error = st.withContext("job " + std::to_string(job.id) + " (" + job.kind + ")");
    }
  }
  if (!first_error.isOk()) return first_error;
  return static_cast<int>(claimed.size());
}

core::StatusOr<int> Runtime::runUntilIdle() {
  int total = 0;
  while (true) {
    SENDFLOW_ASSIGN_OR_RETURN(int n, runDueJobs(64));
    if (n == 0) return total;
    total += n;
  }
}

core::Status Runtime::runJob(const JobRecord& job) {
  if (job.kind == "action") return runAction(job);
  return applyJob(job, nullptr, nullptr, core::Status::ok());
}

core::Status Runtime::runAction(const JobRecord& job) {
  SENDFLOW_ASSIGN_OR_RETURN(const json payload, jobPayload(job));
  ActionContext ctx;
  ctx.instance_id = job.instance_id;
  ctx.workflow_id = payload.value("workflow", "");
  ctx.step_id = payload.value("step", "");
  ctx.idempotency_key = payload.value("key", "");
  ctx.attempt = job.attempts + 1;
  ctx.now = clock_.now();
  const std::string name = payload.value("action", "");
  const RegisteredAction* action = actions_.find(name);
  core::StatusOr<json> result = core::notFound("no action '" + name + "' is registered");
  if (action != nullptr) {
    try {
      result = action->handler(payload.value("params", json::object()), ctx);
    } catch (const std::exception& e) {
      result = core::internalError("action '" + name + "' threw: " + e.what());
    }
  }
  if (result.isOk()) return applyJob(job, &result.value(), &ctx, core::Status::ok());
  return applyJob(job, nullptr, &ctx, result.status());
}

core::Status Runtime::applyJob(const JobRecord& job, const json* action_result,
                               ActionContext* action_context, const core::Status& action_status) {
  SENDFLOW_ASSIGN_OR_RETURN(const json payload, jobPayload(job));
  return transition([&](Transaction& tx, std::vector<JobRecord>& leased) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(auto current, tx.job(job.id));
    if (!current) return core::Status::ok();  // already applied, or cancelled with its step
    const core::TimePoint now = clock_.now();

    if (job.kind == "reminder" || job.kind == "escalation") {
      SENDFLOW_RETURN_IF_ERROR(tx.deleteJob(job.id));
      SENDFLOW_ASSIGN_OR_RETURN(auto task, tx.task(job.task_id));
      if (!task || task->status != "open") return core::Status::ok();
      store::OutboxRecord mail;
      mail.instance_id = job.instance_id;
      mail.created_at = now;
      const std::string due = task->due_at ? core::formatIso8601(*task->due_at).substr(0, 10) : "";
      store::HistoryRecord h;
      h.instance_id = job.instance_id;
      h.at = now;
      h.actor = "scheduler";
      h.step_id = task->step_id;
      // Which plan the task is about, when it is about one.
      SENDFLOW_ASSIGN_OR_RETURN(
          const json subject,
          core::parseStoredJson(task->subject_json, "task " + task->id + ": subject",
                                json::object()));
      const std::string plan =
          subject.is_object() ? subject.value("plan_ref", subject.value("name", "")) : "";
      const std::string about = plan.empty() ? "" : " (plan " + plan + ")";
      const std::string link =
          options_.public_url.empty()
              ? ""
              : "\nOpen the task: " + options_.public_url + "/tasks/" + task->id + "\n";
      if (job.kind == "reminder") {
        mail.recipient = payload.value("to", "");
        mail.subject = "Reminder: " + task->title + about + " is due on " + due;
        mail.body = "The task '" + task->title + "'" + about + " assigned to you is due on " + due +
                    ".\n" + link;
        h.event = "task.reminded";
        h.detail_json = json{{"task", task->id}, {"to", mail.recipient}}.dump();
      } else {
        const std::string to = payload.value("to", "");
        const std::string to_role = payload.value("to_role", "");
        mail.recipient = !to.empty() ? to : "role:" + to_role;
        mail.subject = "Escalation: " + task->title + about + " was due on " + due;
        mail.body = "The task '" + task->title + "'" + about + " (assigned to " +
                    (task->assignee.empty() ? "role " + task->role : task->assignee) +
                    ") was due on " + due + " and is not done.\n" + link;
        if (payload.value("reassign", false)) {
          if (!to.empty()) task->assignee = to;
          if (!to_role.empty()) task->role = to_role;
          if (to.empty()) task->assignee.clear();
          SENDFLOW_RETURN_IF_ERROR(tx.updateTask(*task));
        }
        h.event = "task.escalated";
        h.detail_json = json{{"task", task->id},
                             {"to", mail.recipient},
                             {"reassigned", payload.value("reassign", false)}}
                            .dump();
      }
      SENDFLOW_RETURN_IF_ERROR(tx.insertOutbox(mail));
      return tx.appendHistory(h);
    }

    SENDFLOW_ASSIGN_OR_RETURN(auto inst, tx.instance(job.instance_id));
    if (!inst) return tx.deleteJob(job.id);
    SENDFLOW_ASSIGN_OR_RETURN(auto def, pinned(tx, inst->definition_id, inst->definition_version));
    SENDFLOW_ASSIGN_OR_RETURN(
        Transition t,
        Transition::resume(*this, tx, *inst, def, job.kind == "action" ? "worker" : "system", now,
                           options_.run_jobs_inline, leased));
    const std::string fid = payload.value("frame", "");
    const bool awaited =
        Interpreter::frames(t).contains(fid) && Interpreter::frame(t, fid)["wait"].is_object() &&
        (job.kind == "resume" ? Interpreter::frame(t, fid)["wait"].value("instance", "") ==
                                    payload.value("child", "")
                              : Interpreter::frame(t, fid)["wait"].value("job", 0LL) == job.id);
    if (!awaited) return tx.deleteJob(job.id);  // the step moved on (cancelled, or ended)
    const Step* step = def->findStep(Interpreter::frame(t, fid).value("step", ""));
    if (step == nullptr)
      return core::internalError("job " + std::to_string(job.id) + " names no step");
    const json before = t.data;

    if (job.kind == "action") {
      if (action_result == nullptr) {
        const int attempt = job.attempts + 1;
        const int max_attempts = payload.value("max_attempts", 3);
        if (retryable(action_status.code()) && attempt < max_attempts) {
          JobRecord retry = *current;
          retry.attempts = attempt;
          retry.due_at =
              now +
              backoffDelay(attempt, std::chrono::milliseconds(payload.value("backoff_ms", 10000LL)),
                           std::chrono::milliseconds(payload.value("max_backoff_ms", 600000LL)));
          retry.lease_owner.clear();
          retry.lease_until = core::TimePoint{};
          SENDFLOW_RETURN_IF_ERROR(tx.updateJob(retry));
          return Interpreter::history(t, "action.retry", step->id,
                                      {{"attempt", attempt},
                                       {"error", action_status.toString()},
                                       {"next_attempt", core::formatIso8601(retry.due_at)}},
                                      nullptr);
        }
        SENDFLOW_RETURN_IF_ERROR(tx.deleteJob(job.id));
        json incident_payload = payload;
        SENDFLOW_RETURN_IF_ERROR(Interpreter::raiseIncident(
            t, fid, *step, "action", incident_payload,
            "action '" + payload.value("action", "") + "' failed after " + std::to_string(attempt) +
                " attempt(s): " + action_status.toString()));
        return Interpreter::save(t, false);
      }
      Interpreter::write(t, fid, Interpreter::into(*step), *action_result);
      SENDFLOW_RETURN_IF_ERROR(Interpreter::applyEffects(t, fid, *step, *action_context));
      SENDFLOW_RETURN_IF_ERROR(tx.deleteJob(job.id));
      SENDFLOW_RETURN_IF_ERROR(Interpreter::history(t, "action.completed", step->id,
                                                    {{"action", payload.value("action", "")},
                                                     {"attempt", job.attempts + 1},
                                                     {"key", payload.value("key", "")}},
                                                    &before));
    } else if (job.kind == "timer") {
      SENDFLOW_RETURN_IF_ERROR(tx.deleteJob(job.id));
      SENDFLOW_RETURN_IF_ERROR(Interpreter::history(t, "timer.fired", step->id, nullptr, nullptr));
    } else if (job.kind == "resume") {
      SENDFLOW_RETURN_IF_ERROR(tx.deleteJob(job.id));
      Interpreter::write(t, fid, Interpreter::into(*step), payload.value("data", json::object()));
      SENDFLOW_RETURN_IF_ERROR(Interpreter::history(
          t, "subworkflow.completed", step->id,
          {{"instance", payload.value("child", "")}, {"status", payload.value("status", "")}},
          &before));
    } else {
      return core::internalError("unknown job kind '" + job.kind + "'");
    }
    Interpreter::moveOn(t, fid, *step, "");
    SENDFLOW_RETURN_IF_ERROR(Interpreter::drive(t));
    return Interpreter::save(t, false);
  });
}

core::Status Runtime::retryIncident(long long incident_id, const std::string& actor) {
  return transition([&](Transaction& tx, std::vector<JobRecord>& leased) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(auto incident, tx.incident(incident_id));
    if (!incident) return core::notFound("no incident " + std::to_string(incident_id));
    if (incident->resolved)
      return core::conflict("incident " + std::to_string(incident_id) + " is resolved");
    SENDFLOW_ASSIGN_OR_RETURN(auto inst, tx.instance(incident->instance_id));
    if (!inst)
      return core::internalError("incident " + std::to_string(incident_id) + " has no instance");
    SENDFLOW_ASSIGN_OR_RETURN(auto def, pinned(tx, inst->definition_id, inst->definition_version));
    SENDFLOW_ASSIGN_OR_RETURN(Transition t,
                              Transition::resume(*this, tx, *inst, def, actor, clock_.now(),
                                                 options_.run_jobs_inline, leased));
    std::string fid;
    for (const auto& [id, f] : Interpreter::frames(t).items()) {
      if (f["wait"].is_object() && f["wait"].value("incident", 0LL) == incident_id) fid = id;
    }
    SENDFLOW_RETURN_IF_ERROR(tx.resolveIncident(incident_id));
    if (fid.empty()) return core::Status::ok();  // the instance moved on or ended
    if (incident->job_kind == "action") {
      SENDFLOW_ASSIGN_OR_RETURN(
          json payload,
          core::parseStoredJson(incident->payload_json,
                                "incident " + std::to_string(incident_id) + ": payload",
                                json::object()));
      SENDFLOW_ASSIGN_OR_RETURN(
          long long job,
          Interpreter::createJob(t, t.rec.id, "action", std::move(payload), t.now, ""));
      Interpreter::frame(t, fid)["wait"] = {{"kind", "job"}, {"job", job}};
    } else {
      Interpreter::frame(t, fid)["wait"] = nullptr;  // run the step again
      t.runnable.push_back(fid);
    }
    SENDFLOW_RETURN_IF_ERROR(Interpreter::history(t, "incident.retried", incident->step_id,
                                                  {{"incident", incident_id}}, nullptr));
    SENDFLOW_RETURN_IF_ERROR(Interpreter::drive(t));
    return Interpreter::save(t, false);
  });
}

core::StatusOr<long long> Runtime::releaseLeases() {
  long long n = 0;
  SENDFLOW_RETURN_IF_ERROR(store_.transact([&](Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(n, tx.releaseAllLeases());
    return core::Status::ok();
  }));
  return n;
}

}  // namespace sendflow::engine
