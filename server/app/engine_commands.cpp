// Commands of the engine area; see cli.h for the conventions.
//   start WORKFLOW_ID [--input FILE.json] [--key KEY]   prints the instance id
//   instances [--json] [--status S]                     lists instances
//   tasks [--json] [--all]                              lists open (or all) tasks
//   complete TASK_ID --data FILE.json [--as USER]       completes a task
//   run-due                                             runs due jobs, schedules and mails, then
//                                                       exits
//   serve [--port N]                                    the service (service.h), until SIGTERM
//                                                       or SIGINT
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "server/app/cli.h"
#include "server/app/engine_services.h"
#include "server/app/service.h"
#include "server/core/json_text.h"

namespace sendflow::app {
namespace {

using nlohmann::json;

int fail(CommandContext& ctx, const std::string& command, const core::Status& st) {
  ctx.err << "sendflow " << command << ": " << st.message() << "\n";
  switch (st.code()) {
    case core::StatusCode::kInvalidArgument:
    case core::StatusCode::kNotFound:
    case core::StatusCode::kConflict:
    case core::StatusCode::kAlreadyExists:
      return kExitInvalidInput;
    default:
      return kExitFailure;
  }
}

core::StatusOr<json> readJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::invalidArgument(path + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = core::parseJsonText(text.str());
  if (!parsed.isOk()) return parsed.status().withContext(path + ": not valid JSON");
  return parsed;
}

std::string iso(core::TimePoint t) { return core::formatIso8601(t); }

int runStart(CommandContext& ctx) {
  std::string input_file, key;
  takeOption(ctx.args, "input", input_file);
  takeOption(ctx.args, "key", key);
  if (ctx.args.size() != 1) {
    ctx.err << "usage: sendflow start WORKFLOW_ID [--input FILE.json] [--key KEY]\n";
    return kExitUsage;
  }
  json input = json::object();
  if (!input_file.empty()) {
    auto parsed = readJsonFile(input_file);
    if (!parsed.isOk()) return fail(ctx, "start", parsed.status());
    input = *parsed;
  }
  auto engine = openEngine(ctx.settings, true, ctx.err);
  if (!engine.isOk()) return fail(ctx, "start", engine.status());
  auto started = (*engine)->runtime->start(ctx.args[0], input, key, "cli");
  if (!started.isOk()) return fail(ctx, "start", started.status());
  ctx.out << started->instance_id << "\n";
  return kExitOk;
}

int runInstances(CommandContext& ctx) {
  const bool as_json = takeFlag(ctx.args, "json");
  store::InstanceFilter filter;
  takeOption(ctx.args, "status", filter.status);
  takeOption(ctx.args, "workflow", filter.definition_id);
  auto engine = openEngine(ctx.settings, false, ctx.err);
  if (!engine.isOk()) return fail(ctx, "instances", engine.status());
  std::vector<store::InstanceRecord> all;
  core::Status st = (*engine)->store->transact([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(all, tx.listInstances(filter));
    return core::Status::ok();
  });
  if (!st.isOk()) return fail(ctx, "instances", st);
  if (as_json) {
    json out = json::array();
    for (const auto& i : all) {
      auto data = core::parseStoredJson(i.data_json, "instance " + i.id + ": data", json::object());
      if (!data.isOk()) return fail(ctx, "instances", data.status());
      out.push_back({{"id", i.id},
                     {"workflow", i.definition_id},
                     {"version", i.definition_version},
                     {"business_key", i.business_key},
                     {"status", i.status},
                     {"parent", i.parent_id},
                     {"data", std::move(data).value()},
                     {"created_at", iso(i.created_at)},
                     {"updated_at", iso(i.updated_at)}});
    }
    ctx.out << out.dump(2) << "\n";
    return kExitOk;
  }
  ctx.out << std::left << std::setw(38) << "ID" << std::setw(28) << "WORKFLOW" << std::setw(11)
          << "STATUS" << std::setw(26) << "UPDATED"
          << "KEY\n";
  for (const auto& i : all) {
    ctx.out << std::setw(38) << i.id << std::setw(28)
            << (i.definition_id + " v" + std::to_string(i.definition_version)) << std::setw(11)
            << i.status << std::setw(26) << iso(i.updated_at) << i.business_key << "\n";
  }
  return kExitOk;
}

int runTasks(CommandContext& ctx) {
  const bool as_json = takeFlag(ctx.args, "json");
  const bool all_tasks = takeFlag(ctx.args, "all");
  auto engine = openEngine(ctx.settings, false, ctx.err);
  if (!engine.isOk()) return fail(ctx, "tasks", engine.status());
  std::vector<store::TaskRecord> tasks;
  core::Status st = (*engine)->store->transact([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(tasks, tx.listTasks(all_tasks ? "" : "open", "", 0));
    return core::Status::ok();
  });
  if (!st.isOk()) return fail(ctx, "tasks", st);
  if (as_json) {
    json out = json::array();
    for (const auto& t : tasks) {
      auto result = core::parseStoredJson(t.result_json, "task " + t.id + ": result");
      if (!result.isOk()) return fail(ctx, "tasks", result.status());
      out.push_back({{"id", t.id},
                     {"instance", t.instance_id},
                     {"step", t.step_id},
                     {"kind", t.kind},
                     {"title", t.title},
                     {"assignee", t.assignee},
                     {"role", t.role},
                     {"status", t.status},
                     {"due", t.due_at ? json(iso(*t.due_at)) : json()},
                     {"created_at", iso(t.created_at)},
                     {"result", std::move(result).value()}});
    }
    ctx.out << out.dump(2) << "\n";
    return kExitOk;
  }
  ctx.out << std::left << std::setw(38) << "ID" << std::setw(24) << "STEP" << std::setw(10)
          << "KIND" << std::setw(24) << "ASSIGNEE" << std::setw(12) << "DUE"
          << "INSTANCE\n";
  for (const auto& t : tasks) {
    ctx.out << std::setw(38) << t.id << std::setw(24) << t.step_id << std::setw(10) << t.kind
            << std::setw(24) << (t.assignee.empty() ? "role:" + t.role : t.assignee)
            << std::setw(12) << (t.due_at ? iso(*t.due_at).substr(0, 10) : "-") << t.instance_id
            << "\n";
  }
  return kExitOk;
}

int runComplete(CommandContext& ctx) {
  std::string data_file, actor = "cli";
  const bool has_data = takeOption(ctx.args, "data", data_file);
  takeOption(ctx.args, "as", actor);
  if (ctx.args.size() != 1 || !has_data) {
    ctx.err << "usage: sendflow complete TASK_ID --data FILE.json [--as USER]\n";
    return kExitUsage;
  }
  auto data = readJsonFile(data_file);
  if (!data.isOk()) return fail(ctx, "complete", data.status());
  auto engine = openEngine(ctx.settings, true, ctx.err);
  if (!engine.isOk()) return fail(ctx, "complete", engine.status());
  core::Status st = (*engine)->runtime->completeTask(ctx.args[0], *data, actor);
  if (!st.isOk()) return fail(ctx, "complete", st.withContext("task " + ctx.args[0]));
  return kExitOk;
}

int runIncidents(CommandContext& ctx) {
  const bool as_json = takeFlag(ctx.args, "json");
  const bool all = takeFlag(ctx.args, "all");
  auto engine = openEngine(ctx.settings, false, ctx.err);
  if (!engine.isOk()) return fail(ctx, "incidents", engine.status());
  std::vector<store::IncidentRecord> incidents;
  core::Status st = (*engine)->store->transact([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(incidents, tx.listIncidents(all));
    return core::Status::ok();
  });
  if (!st.isOk()) return fail(ctx, "incidents", st);
  if (as_json) {
    json out = json::array();
    for (const auto& i : incidents) {
      out.push_back({{"id", i.id},
                     {"instance", i.instance_id},
                     {"step", i.step_id},
                     {"kind", i.job_kind},
                     {"message", i.message},
                     {"resolved", i.resolved},
                     {"created_at", iso(i.created_at)}});
    }
    ctx.out << out.dump(2) << "\n";
    return kExitOk;
  }
  for (const auto& i : incidents) {
    ctx.out << i.id << "  " << i.instance_id << "  " << i.step_id << "  "
            << (i.resolved ? "resolved" : "open") << "  " << i.message << "\n";
  }
  return kExitOk;
}

int runRetry(CommandContext& ctx) {
  std::string actor = "cli";
  takeOption(ctx.args, "as", actor);
  long long id = 0;
  try {
    if (ctx.args.size() != 1) throw std::invalid_argument("arguments");
    id = std::stoll(ctx.args[0]);
  } catch (const std::exception&) {
    ctx.err << "usage: sendflow retry INCIDENT_ID [--as USER]\n";
    return kExitUsage;
  }
  auto engine = openEngine(ctx.settings, true, ctx.err);
  if (!engine.isOk()) return fail(ctx, "retry", engine.status());
  core::Status st = (*engine)->runtime->retryIncident(id, actor);
  if (!st.isOk()) return fail(ctx, "retry", st);
  return kExitOk;
}

int runDue(CommandContext& ctx) {
  auto engine = openEngine(ctx.settings, true, ctx.err);
  if (!engine.isOk()) return fail(ctx, "run-due", engine.status());
  EngineServices& e = **engine;
  // The SQLite store is used by one process: a lease left in it belongs to a dead process.
  auto released = e.runtime->releaseLeases();
  if (!released.isOk()) return fail(ctx, "run-due", released.status());
  auto started = e.scheduler->tick();
  if (!started.isOk()) ctx.err << "sendflow run-due: " << started.status().message() << "\n";
  auto ran = e.runtime->runUntilIdle();
  if (!ran.isOk()) return fail(ctx, "run-due", ran.status());
  auto sent = e.outbox->dispatchPending(1000);
  if (!sent.isOk()) return fail(ctx, "run-due", sent.status());
  ctx.out << "started " << (started.isOk() ? *started : 0) << " scheduled, ran " << *ran
          << " jobs, sent " << *sent << " mails\n";
  return kExitOk;
}

}  // namespace

void registerEngineCommands(CommandTable& table) {
  table.push_back({"start", "start WORKFLOW_ID [--input FILE.json] [--key KEY]",
                   "start a workflow instance (idempotent on KEY); prints its id", runStart});
  table.push_back({"instances", "instances [--json] [--status S] [--workflow ID]",
                   "list workflow instances", runInstances});
  table.push_back(
      {"tasks", "tasks [--json] [--all]", "list open human tasks and approvals", runTasks});
  table.push_back({"complete", "complete TASK_ID --data FILE.json [--as USER]",
                   "complete a task; form errors name every bad field and change nothing",
                   runComplete});
  table.push_back({"incidents", "incidents [--json] [--all]",
                   "list incidents (actions whose retries ran out, steps that failed)",
                   runIncidents});
  table.push_back({"retry", "retry INCIDENT_ID [--as USER]",
                   "run the step an incident stopped again", runRetry});
  table.push_back({"run-due", "run-due",
                   "run due jobs, scheduled starts and pending mails once, then exit", runDue});
  table.push_back({"serve", "serve [--port N]",
                   "run the service (REST API, web pages, approval links, webhooks, scheduler, "
                   "workers, /healthz, /readyz, /metrics) until SIGTERM or SIGINT",
                   runServeCommand});
}

}  // namespace sendflow::app
