// The store `bench/run http` serves: realistic numbers of instances and open tasks, made by the
// runtime itself (so every task has its frame, subject and history like in service).
//   http_seed STORE WORKFLOW_XML INSTANCES LISTER COMPLETER COMPLETER_TASKS
// starts INSTANCES instances of the workflow with 5 plans each; each plan's review task goes to
// one of 200 auditors, except one task in each of the first 50 instances, which goes to LISTER
// (the user whose task list is fetched: 50 open tasks). Then COMPLETER_TASKS / 5 more instances
// whose tasks all go to COMPLETER (the user who completes them, one per request).
// Prints one JSON line {"instances", "tasks", "lister_tasks", "completer_tasks", "seconds"}.
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
  std::cerr << "http_seed: " << st.toString() << "\n";
  return 3;
}

constexpr int kPlansPerInstance = 5;
constexpr int kListerTasks = 50;
constexpr int kAuditors = 200;

json plan(long long number, const std::string& reviewer) {
  static const char* kLocalities[] = {"North", "South", "East", "West", "Central"};
  char reference[32];
  std::snprintf(reference, sizeof reference, "EHCP-%06lld", number);
  return {{"reference", reference},
          {"reviewer", reviewer},
          {"locality", kLocalities[number % 5]},
          {"caseworker", "cw-" + std::to_string(number % 37)},
          {"contributors",
           json::array({"ep-" + std::to_string(number % 53), "sw-" + std::to_string(number % 41)})},
          {"finalised", "2026-10-01"}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: http_seed STORE WORKFLOW_XML INSTANCES LISTER COMPLETER COMPLETER_TASKS\n";
    return 2;
  }
  const int instances = std::stoi(argv[3]);
  const std::string lister = argv[4];
  const std::string completer = argv[5];
  const int completer_tasks = std::stoi(argv[6]);
  auto store = store::SqliteStore::open(argv[1], {});
  if (!store.isOk()) return failed(store.status());
  engine::ActionRegistry actions;
  if (auto st = engine::registerBuiltinActions(actions); !st.isOk()) return failed(st);
  core::SystemClock clock;
  engine::Runtime runtime(**store, actions, clock);
  engine::LoadResult loaded = engine::DefinitionLoader::loadFile(argv[2]);
  if (!loaded.isOk()) return failed(loaded.status());
  std::ifstream in(argv[2]);
  std::stringstream text;
  text << in.rdbuf();
  if (auto v = runtime.deploy(loaded.definition, text.str()); !v.isOk()) return failed(v.status());

  const auto began = std::chrono::steady_clock::now();
  long long number = 0;
  long long tasks = 0;
  auto startOne = [&](const std::vector<std::string>& reviewers) -> core::Status {
    json plans = json::array();
    for (const std::string& r : reviewers) plans.push_back(plan(++number, r));
    SENDFLOW_ASSIGN_OR_RETURN(
        auto started, runtime.start(loaded.definition->id, {{"plans", plans}}, "", "bench"));
    tasks += static_cast<long long>(reviewers.size());
    return core::Status::ok();
  };
  for (int i = 0; i < instances; ++i) {
    std::vector<std::string> reviewers;
    for (int p = 0; p < kPlansPerInstance; ++p) {
      const bool listers = i < kListerTasks && p == 0;
      reviewers.push_back(
          listers ? lister : "aud-b-" + std::to_string((i * kPlansPerInstance + p) % kAuditors));
    }
    if (auto st = startOne(reviewers); !st.isOk()) return failed(st);
  }
  for (int i = 0; i < (completer_tasks + kPlansPerInstance - 1) / kPlansPerInstance; ++i) {
    if (auto st = startOne(std::vector<std::string>(kPlansPerInstance, completer)); !st.isOk()) {
      return failed(st);
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  std::cout << json({{"instances", instances + (completer_tasks + 4) / 5},
                     {"tasks", tasks},
                     {"lister_tasks", std::min(instances, kListerTasks)},
                     {"completer_tasks", (completer_tasks + 4) / 5 * 5},
                     {"seconds", seconds}})
                   .dump()
            << "\n";
  return 0;
}
