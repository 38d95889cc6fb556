#pragma once
// Builders for runtime tests: definitions written in code (the XML loader has its own tests),
// an in-memory SQLite store, a ManualClock and the built-in actions plus a few test actions.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/core/clock.h"
#include "server/engine/action_registry.h"
#include "server/engine/builtin_actions.h"
#include "server/engine/definition.h"
#include "server/engine/runtime.h"
#include "server/store/sqlite_store.h"

namespace sendflow::engine::testing {

using nlohmann::json;

inline core::TimePoint at(const std::string& iso) {
  core::TimePoint t;
  EXPECT_TRUE(core::parseIso8601(iso, t)) << iso;
  return t;
}

// Compiles `text` with every name the tests use visible as untyped data.
inline std::shared_ptr<const Expression> E(const std::string& text) {
  TypeEnvironment env = {{"now", ValueType::kDateTime},
                         {"today", ValueType::kDate},
                         {"completed", ValueType::kNumber},
                         {"total", ValueType::kNumber}};
  for (const char* name : {"x", "y", "grade", "plans", "item", "index", "meeting", "who", "items",
                           "first", "second", "child", "flag", "review", "plan", "n", "sample"}) {
    env.emplace(name, ValueType::kAny);
  }
  auto compiled = Expression::compile(text, env, SourceLocation{"test.xml", 1, 1});
  EXPECT_TRUE(compiled.isOk()) << text << ": " << compiled.status().toString();
  return compiled.isOk() ? *compiled : nullptr;
}

inline Step step(std::string id, StepKind kind) {
  Step s;
  s.id = std::move(id);
  s.kind = kind;
  return s;
}
inline Step action(std::string id, std::string name,
                   std::vector<std::pair<std::string, std::string>> params = {}) {
  Step s = step(std::move(id), StepKind::kAction);
  s.action = std::move(name);
  for (auto& [k, v] : params) s.params[k] = E(v);
  return s;
}
inline Step task(std::string id, std::string role = "auditor") {
  Step s = step(std::move(id), StepKind::kTask);
  s.role = std::move(role);
  return s;
}
inline Step set(std::string id, std::vector<std::pair<std::string, std::string>> assignments) {
  Step s = step(std::move(id), StepKind::kSet);
  for (auto& [k, v] : assignments) s.assignments.emplace_back(k, E(v));
  return s;
}
inline FormField field(std::string name, FieldType type, bool required) {
  FormField f;
  f.name = std::move(name);
  f.type = type;
  f.required = required;
  return f;
}

inline std::shared_ptr<Definition> workflow(std::string id, std::vector<Step> steps) {
  auto d = std::make_shared<Definition>();
  d->id = std::move(id);
  d->version = 1;
  d->body.steps = std::move(steps);
  return d;
}

class RuntimeFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(":memory:");
    ASSERT_TRUE(opened.isOk()) << opened.status().toString();
    store_ = std::move(*opened);
    ASSERT_TRUE(registerBuiltinActions(actions_).isOk());
    // Fails with kUnavailable while flaky_failures_ > 0.
    ASSERT_TRUE(actions_
                    .add("test.flaky",
                         [this](const json& params, ActionContext& ctx) -> core::StatusOr<json> {
                           ++flaky_calls_;
                           if (flaky_failures_ > 0) {
                             --flaky_failures_;
                             return core::unavailable("document library is down");
                           }
                           return json{{"attempt", ctx.attempt}, {"key", ctx.idempotency_key}};
                         })
                    .isOk());
    ASSERT_TRUE(actions_
                    .add("test.broken",
                         [](const json&, ActionContext&) -> core::StatusOr<json> {
                           return core::invalidArgument("plan 42 has no section F");
                         })
                    .isOk());
    RuntimeOptions options;
    options.node_id = "test-node";
    runtime_ = std::make_unique<Runtime>(*store_, actions_, clock_, options);
  }

  void deploy(const std::shared_ptr<Definition>& d, const std::string& source = "") {
    auto v = runtime_->deploy(d, source.empty() ? "<source of " + d->id + ">" : source);
    ASSERT_TRUE(v.isOk()) << v.status().toString();
  }

  std::string start(const std::string& id, json input = json::object(), std::string key = "") {
    auto r = runtime_->start(id, input, key, "qa-lead");
    EXPECT_TRUE(r.isOk()) << r.status().toString();
    return r.isOk() ? r->instance_id : "";
  }

  store::InstanceRecord instance(const std::string& id) {
    store::InstanceRecord out;
    EXPECT_TRUE(store_
                    ->transact([&](store::Transaction& tx) -> core::Status {
                      SENDFLOW_ASSIGN_OR_RETURN(auto i, tx.instance(id));
                      if (!i) return core::notFound(id);
                      out = *i;
                      return core::Status::ok();
                    })
                    .isOk());
    return out;
  }
  json data(const std::string& id) { return json::parse(instance(id).data_json); }
  std::string status(const std::string& id) { return instance(id).status; }

  std::vector<store::TaskRecord> openTasks(const std::string& instance_id = "") {
    std::vector<store::TaskRecord> out;
    EXPECT_TRUE(store_
                    ->transact([&](store::Transaction& tx) -> core::Status {
                      SENDFLOW_ASSIGN_OR_RETURN(out, tx.listTasks("open", instance_id, 0));
                      return core::Status::ok();
                    })
                    .isOk());
    return out;
  }
  std::vector<store::JobRecord> jobs(const std::string& instance_id = "") {
    std::vector<store::JobRecord> out;
    EXPECT_TRUE(store_
                    ->transact([&](store::Transaction& tx) -> core::Status {
                      SENDFLOW_ASSIGN_OR_RETURN(out, tx.listJobs(instance_id));
                      return core::Status::ok();
                    })
                    .isOk());
    return out;
  }
  std::vector<store::HistoryRecord> history(const std::string& instance_id) {
    std::vector<store::HistoryRecord> out;
    EXPECT_TRUE(store_
                    ->transact([&](store::Transaction& tx) -> core::Status {
                      SENDFLOW_ASSIGN_OR_RETURN(out, tx.listHistory(instance_id));
                      return core::Status::ok();
                    })
                    .isOk());
    return out;
  }
  std::vector<std::string> events(const std::string& instance_id) {
    std::vector<std::string> out;
    for (const auto& h : history(instance_id)) {
      out.push_back(h.event + (h.step_id.empty() ? "" : ":" + h.step_id));
    }
    return out;
  }
  std::vector<store::OutboxRecord> outbox() {
    std::vector<store::OutboxRecord> out;
    EXPECT_TRUE(store_
                    ->transact([&](store::Transaction& tx) -> core::Status {
                      SENDFLOW_ASSIGN_OR_RETURN(out, tx.listOutbox());
                      return core::Status::ok();
                    })
                    .isOk());
    return out;
  }
  std::vector<store::IncidentRecord> incidents() {
    std::vector<store::IncidentRecord> out;
    EXPECT_TRUE(store_
                    ->transact([&](store::Transaction& tx) -> core::Status {
                      SENDFLOW_ASSIGN_OR_RETURN(out, tx.listIncidents(true));
                      return core::Status::ok();
                    })
                    .isOk());
    return out;
  }
  void complete(const std::string& task_id, json data) {
    auto st = runtime_->completeTask(task_id, data, "auditor-1");
    ASSERT_TRUE(st.isOk()) << st.toString();
  }

  core::ManualClock clock_{at("2026-11-02T09:00:00Z")};  // a Monday
  std::unique_ptr<store::SqliteStore> store_;
  ActionRegistry actions_;
  std::unique_ptr<Runtime> runtime_;
  std::atomic<int> flaky_failures_{0};
  std::atomic<int> flaky_calls_{0};
};

}  // namespace sendflow::engine::testing
