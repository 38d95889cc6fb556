// The process the crash-safety test kills: it opens the store, starts N instances of
// crash-audit (idempotent on their business keys, so a restart continues where the last run
// stopped), completes their review tasks and runs due jobs until every instance has ended.
//   crash_driver STORE_PATH WORKFLOWS_DIR AUDIT_FILE INSTANCES
// Exit 0 when all instances have ended, 3 on an error (printed).
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "server/engine/builtin_actions.h"
#include "server/engine/definition_loader.h"
#include "server/engine/runtime.h"
#include "server/store/sqlite_store.h"

namespace {

using nlohmann::json;
using namespace sendflow;

int failed(const core::Status& st) {
  std::cerr << "crash_driver: " << st.toString() << "\n";
  return 3;
}

const char* gradeFor(int n) {
  static const char* kGrades[] = {"Good", "Outstanding", "Requires Improvement", "Inadequate"};
  return kGrades[n % 4];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: crash_driver STORE_PATH WORKFLOWS_DIR AUDIT_FILE INSTANCES\n";
    return 2;
  }
  const int instances = std::stoi(argv[4]);
  auto store = store::SqliteStore::open(argv[1]);
  if (!store.isOk()) return failed(store.status());
  engine::ActionRegistry actions;
  if (auto st = engine::registerBuiltinActions(actions, {argv[3]}); !st.isOk()) return failed(st);
  core::SystemClock clock;
  engine::RuntimeOptions options;
  options.lease = std::chrono::seconds(2);
  engine::Runtime runtime(**store, actions, clock, options);
  if (auto r = runtime.releaseLeases(); !r.isOk()) return failed(r.status());

  engine::DirectoryLoadResult loaded = engine::DefinitionLoader::loadDirectory(argv[2]);
  for (const auto& p : loaded.problems) std::cerr << p.toString() << "\n";
  if (!loaded.problems.empty() || loaded.definitions.empty()) {
    return failed(core::invalidArgument("the crash workflows did not load"));
  }
  for (const auto& def : loaded.definitions) {
    std::ifstream in(def->source_file);
    std::stringstream text;
    text << in.rdbuf();
    if (auto v = runtime.deploy(def, text.str()); !v.isOk()) return failed(v.status());
  }

  for (int i = 0; i < instances; ++i) {
    const std::string key = "case-" + std::to_string(i);
    json input = {{"case", key}, {"plans", json::array()}};
    for (int p = 0; p < 1 + i % 3; ++p)
      input["plans"].push_back("plan-" + std::to_string(i) + "-" + std::to_string(p));
    auto started = runtime.start("crash-audit", input, key, "driver");
    if (!started.isOk()) return failed(started.status());
  }

  while (true) {
    std::vector<store::TaskRecord> open;
    long long running = 0;
    core::Status st = (*store)->transact([&](store::Transaction& tx) -> core::Status {
      SENDFLOW_ASSIGN_OR_RETURN(open, tx.listTasks("open", "", 0));
      SENDFLOW_ASSIGN_OR_RETURN(running, tx.countInstances({"", "running", 0}));
      return core::Status::ok();
    });
    if (!st.isOk()) return failed(st);
    for (const auto& task : open) {
      std::string business_key;
      st = (*store)->transact([&](store::Transaction& tx) -> core::Status {
        SENDFLOW_ASSIGN_OR_RETURN(auto inst, tx.instance(task.instance_id));
        if (inst) business_key = inst->business_key;
        return core::Status::ok();
      });
      if (!st.isOk()) return failed(st);
      const int n = std::stoi(business_key.substr(business_key.find('-') + 1));
      st = runtime.completeTask(task.id, {{"grade", gradeFor(n)}},
                                "auditor-" + std::to_string(n % 7));
      if (!st.isOk() && st.code() != core::StatusCode::kConflict) return failed(st);
    }
    auto ran = runtime.runDueJobs(32);
    if (!ran.isOk()) return failed(ran.status());
    if (running == 0 && open.empty()) break;
    if (*ran == 0 && open.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  long long not_completed = 0;
  core::Status st = (*store)->transact([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(long long all, tx.countInstances({}));
    SENDFLOW_ASSIGN_OR_RETURN(long long done, tx.countInstances({"", "completed", 0}));
    not_completed = all - done;
    return core::Status::ok();
  });
  if (!st.isOk()) return failed(st);
  if (not_completed != 0) {
    return failed(
        core::internalError(std::to_string(not_completed) + " instances ended but not completed"));
  }
  return 0;
}
