// The sendflow side of `bench/run engine`.
//   engine_bench run STORE WORKFLOW_XML N [normal|full]
//       runs the workflow N times, one instance after another: start (its first action runs
//       inline), find the open task, complete it (the last action runs inline). Every transition
//       is its own committed SQLite transaction (WAL). Prints one JSON line.
//   engine_bench fill STORE WORKFLOW_XML N
//       starts N instances and leaves them waiting on their human task. Prints one JSON line.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "server/engine/builtin_actions.h"
#include "server/engine/definition_loader.h"
#include "server/engine/runtime.h"
#include "server/store/sqlite_store.h"

namespace {

using namespace sendflow;
using nlohmann::json;

int failed(const core::Status& st) {
  std::cerr << "engine_bench: " << st.toString() << "\n";
  return 3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: engine_bench run|fill STORE WORKFLOW_XML N [normal|full]\n";
    return 2;
  }
  const std::string mode = argv[1];
  const int n = std::stoi(argv[4]);
  store::SqliteOptions sqlite;
  if (argc > 5 && std::string(argv[5]) == "full") sqlite.synchronous = store::SqliteSync::kFull;
  auto store = store::SqliteStore::open(argv[2], sqlite);
  if (!store.isOk()) return failed(store.status());
  engine::ActionRegistry actions;
  if (auto st = engine::registerBuiltinActions(actions); !st.isOk()) return failed(st);
  core::SystemClock clock;
  engine::Runtime runtime(**store, actions, clock);
  engine::LoadResult loaded = engine::DefinitionLoader::loadFile(argv[3]);
  if (!loaded.isOk()) return failed(loaded.status());
  std::ifstream in(argv[3]);
  std::stringstream text;
  text << in.rdbuf();
  if (auto v = runtime.deploy(loaded.definition, text.str()); !v.isOk()) return failed(v.status());
  const std::string id = loaded.definition->id;
  const json confirmation = {{"confirmed", true}};

  auto one = [&](int i, bool finish) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(
        auto started,
        runtime.start(id, {{"reference", "bench-" + std::to_string(i)}}, "", "bench"));
    if (!finish) return core::Status::ok();
    std::vector<store::TaskRecord> tasks;
    SENDFLOW_RETURN_IF_ERROR((*store)->transact([&](store::Transaction& tx) -> core::Status {
      SENDFLOW_ASSIGN_OR_RETURN(tasks, tx.listTasks("open", started.instance_id, 1));
      return core::Status::ok();
    }));
    if (tasks.size() != 1)
      return core::internalError("instance " + started.instance_id + " has no open task");
    return runtime.completeTask(tasks[0].id, confirmation, "bench");
  };

  const bool finish = mode == "run";
  if (finish) {
    for (int i = 0; i < std::min(200, n); ++i) {  // warm-up
      if (auto st = one(i, true); !st.isOk()) return failed(st);
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    if (auto st = one(i, finish); !st.isOk()) return failed(st);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  long long completed = 0;
  if (auto st = (*store)->transact([&](store::Transaction& tx) -> core::Status {
        SENDFLOW_ASSIGN_OR_RETURN(completed, tx.countInstances({id, "completed", 0}));
        return core::Status::ok();
      });
      !st.isOk()) {
    return failed(st);
  }
  if (finish && completed < n) return failed(core::internalError("not every instance completed"));
  std::cout << json{{"engine", "sendflow"},
                    {"mode", mode},
                    {"instances", n},
                    {"seconds", seconds},
                    {"instances_per_s", n / seconds},
                    {"synchronous",
                     sqlite.synchronous == store::SqliteSync::kFull ? "full" : "normal"}}
                   .dump()
            << "\n";
  return 0;
}
