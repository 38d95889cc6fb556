// Crash safety: 400 instances of a workflow with actions, a parallel block with a timer, a
// for-each and a human task are driven by a process (crash_driver) that is killed with SIGKILL
// at random moments, 35 times, and restarted; the last run finishes the work. Afterwards every
// instance must have ended exactly as in a run without kills: same final data, same number of
// history entries per step (no transition lost or repeated), and every action's effect in the
// audit file exactly once (noop.record writes each idempotency key once; a step run again
// under a new key, or lost, shows up as an extra or missing line).
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/engine/builtin_actions.h"
#include "server/store/sqlite_store.h"

extern char** environ;

namespace sendflow {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr int kInstances = 400;
constexpr int kKills = 35;

struct Outcome {
  std::string status;
  json data;
  std::map<std::string, int> history;  // "event:step" -> count
  std::set<std::string> audit;         // "<business key>:<frame path>/<step>#<visit>"
};

pid_t spawnDriver(const fs::path& dir, const std::string& name) {
  const std::string driver = std::string(SENDFLOW_BINARY_DIR) + "/tests/integration/crash_driver";
  const std::string store = (dir / (name + ".db")).string();
  const std::string workflows =
      std::string(SENDFLOW_SOURCE_DIR) + "/tests/integration/crash_workflows";
  const std::string audit = (dir / (name + ".audit")).string();
  const std::string count = std::to_string(kInstances);
  std::vector<char*> argv = {const_cast<char*>(driver.c_str()),    const_cast<char*>(store.c_str()),
                             const_cast<char*>(workflows.c_str()), const_cast<char*>(audit.c_str()),
                             const_cast<char*>(count.c_str()),     nullptr};
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, driver.c_str(), nullptr, nullptr, argv.data(), environ), 0) << driver;
  return pid;
}

int waitExit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::map<std::string, Outcome> outcomes(const fs::path& dir, const std::string& name) {
  std::map<std::string, Outcome> out;
  std::map<std::string, std::string> key_of;  // instance id -> business key
  auto store = store::SqliteStore::open((dir / (name + ".db")).string());
  EXPECT_TRUE(store.isOk()) << store.status().toString();
  if (!store.isOk()) return out;
  EXPECT_TRUE((*store)
                  ->transact([&](store::Transaction& tx) -> core::Status {
                    SENDFLOW_ASSIGN_OR_RETURN(auto all, tx.listInstances({}));
                    for (const auto& i : all) {
                      Outcome& o = out[i.business_key];
                      o.status = i.status;
                      o.data = json::parse(i.data_json);
                      key_of[i.id] = i.business_key;
                      SENDFLOW_ASSIGN_OR_RETURN(auto history, tx.listHistory(i.id));
                      for (const auto& h : history) o.history[h.event + ":" + h.step_id]++;
                    }
                    return core::Status::ok();
                  })
                  .isOk());
  // Through the engine's own reader: a line torn by a kill mid-write is not a key.
  std::ifstream audit(dir / (name + ".audit"), std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(audit)), std::istreambuf_iterator<char>());
  std::set<std::string> seen;
  for (const std::string& line : engine::auditFileKeys(text)) {
    EXPECT_TRUE(seen.insert(line).second) << "action effect recorded twice: " << line;
    const std::string instance = line.substr(0, line.find(':'));
    EXPECT_TRUE(key_of.count(instance)) << "audit line of an unknown instance: " << line;
    out[key_of[instance]].audit.insert(key_of[instance] + line.substr(line.find(':')));
  }
  return out;
}

TEST(CrashSafetyTest, SigkillAtRandomMomentsNeitherLosesNorRepeatsAStep) {
  char tmpl[] = "/tmp/sendflow-crash-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;

  // The reference: the same work without kills.
  ASSERT_EQ(waitExit(spawnDriver(dir, "reference")), 0);

  std::mt19937 random(20261122);
  std::uniform_int_distribution<int> delay_ms(10, 160);
  int killed_mid_run = 0;
  for (int k = 0; k < kKills; ++k) {
    const pid_t pid = spawnDriver(dir, "crashed");
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ++killed_mid_run;
    } else {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "driver failed on its own";
    }
  }
  ASSERT_EQ(waitExit(spawnDriver(dir, "crashed")), 0);
  std::cout << "killed " << killed_mid_run << " of " << kKills << " runs mid-way\n";
  EXPECT_GE(killed_mid_run, 30);

  const auto expected = outcomes(dir, "reference");
  const auto actual = outcomes(dir, "crashed");
  ASSERT_EQ(expected.size(), static_cast<std::size_t>(kInstances));
  ASSERT_EQ(actual.size(), expected.size());
  for (const auto& [key, want] : expected) {
    ASSERT_TRUE(actual.count(key)) << key;
    const Outcome& got = actual.at(key);
    EXPECT_EQ(want.status, "completed") << key;
    EXPECT_EQ(got.status, want.status) << key;
    EXPECT_EQ(got.data, want.data) << key;
    EXPECT_EQ(got.history, want.history) << key;
    EXPECT_EQ(got.audit, want.audit) << key;
    // Every action of the workflow left its effect: open, 2 pulls, 1-3 plans, close.
    EXPECT_EQ(want.audit.size(), 4u + want.data["plans"].size()) << key;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sendflow
