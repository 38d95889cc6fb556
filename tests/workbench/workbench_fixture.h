#pragma once
// A workbench over a temporary SQLite store for the workbench and API tests: the development
// users of config/users.json in the directory, a small plan-review workflow (an audit, a
// moderation and an approval per plan, the shape of the shipped audit's for-each body) and a
// ManualClock.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "server/auth/principal.h"
#include "server/core/clock.h"
#include "server/engine/action_registry.h"
#include "server/engine/builtin_actions.h"
#include "server/engine/definition_loader.h"
#include "server/engine/runtime.h"
#include "server/store/sqlite_store.h"
#include "server/workbench/directory.h"
#include "server/workbench/workbench.h"

namespace sendflow::workbench::testing {

using nlohmann::json;

inline core::TimePoint at(const std::string& iso) {
  core::TimePoint t;
  EXPECT_TRUE(core::parseIso8601(iso, t)) << iso;
  return t;
}

inline const char kPlanReview[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:sendflow:workflow:1" id="plan-review" version="1" title="Plan review">
  <description>Audit each plan, moderate it and approve the moderation.</description>
  <roles>
    <role id="auditor" title="Auditor"/>
    <role id="moderator" title="Moderator"/>
    <role id="manager" title="Head of service"/>
  </roles>
  <inputs>
    <input name="plans" type="list" description="The plans to review"/>
    <input name="theme" type="string" default="General quality" description="The month's theme"/>
  </inputs>
  <steps>
    <foreach id="each" title="Each plan" items="plans" as="plan">
      <task id="audit" title="Audit the plan" role="auditor" due="today + 5 days">
        <description>Grade the plan against the standards.</description>
        <form>
          <field name="grade" type="grade" required="true" label="Overall grade"/>
          <field name="reason" type="long-text" max-length="200" label="Why is it inadequate?"
                 required-if="grade == 'Inadequate'"/>
          <field name="auditors" type="integer" min="1" max="9" label="Auditors"/>
        </form>
      </task>
      <task id="moderate" title="Moderate the audit" role="moderator">
        <form>
          <field name="moderated_grade" type="grade" required="true" label="Moderated grade"/>
        </form>
      </task>
      <approval id="approve" title="Approve the moderation" role="manager" on-reject="moderate">
        <description>Approve the moderated grade or send it back.</description>
      </approval>
      <set id="record" title="Record the final grade">
        <assign name="final_grade" expr="moderate.moderated_grade"/>
      </set>
    </foreach>
  </steps>
</workflow>
)";

// Two plans: ep-052 contributed to SF-1; cw-002 is SF-2's caseworker.
inline json twoPlans() {
  return json::array(
      {{{"plan_ref", "SF-1"}, {"caseworker", "cw-001"}, {"contributors", {"ep-052"}}},
       {{"plan_ref", "SF-2"}, {"caseworker", "cw-002"}, {"contributors", {"ep-003"}}}});
}

class WorkbenchFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sendflow-workbench-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto opened = store::SqliteStore::open((dir_ / "sendflow.db").string());
    ASSERT_TRUE(opened.isOk()) << opened.status().toString();
    store_ = std::move(*opened);
    ASSERT_TRUE(engine::registerBuiltinActions(actions_).isOk());
    runtime_ = std::make_unique<engine::Runtime>(*store_, actions_, clock_);
    auto loaded = engine::DefinitionLoader::loadString(kPlanReview, "plan-review.xml");
    ASSERT_TRUE(loaded.isOk()) << loaded.status().toString();
    ASSERT_TRUE(runtime_->deploy(loaded.definition, kPlanReview).isOk());
    directory_ = std::make_unique<Directory>(*store_, clock_);
    ASSERT_TRUE(
        directory_->loadFile(std::string(SENDFLOW_SOURCE_DIR) + "/config/users.json").isOk());
    // Someone who both audits and moderates; automation keys.
    ASSERT_TRUE(directory_->recordSignIn(principal("am-001")).isOk());
    WorkbenchOptions options;
    options.default_limit = 50;
    options.max_limit = 200;
    workbench_ = std::make_unique<Workbench>(*runtime_, *directory_, clock_, options);
  }
  void TearDown() override {
    workbench_.reset();
    directory_.reset();
    runtime_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // The principals the tests act as.
  static auth::Principal principal(const std::string& id) {
    static const std::map<std::string, std::set<std::string>> kRoles = {
        {"adm-001", {"admin"}},     {"qa-001", {"qa-lead"}},
        {"mgr-001", {"manager"}},   {"aud-001", {"auditor"}},
        {"aud-002", {"auditor"}},   {"ep-052", {"auditor"}},
        {"mod-001", {"moderator"}}, {"am-001", {"auditor", "moderator"}},
        {"ci-key", {"automation"}}, {"other-key", {"automation"}}};
    auth::Principal p;
    p.id = id;
    p.name = id;
    p.email = id + "@council.example";
    auto it = kRoles.find(id);
    if (it != kRoles.end()) p.roles = it->second;
    p.via = "development";
    return p;
  }

  RequestOrigin origin() const { return RequestOrigin{"127.0.0.1", "gtest", "req-1", "api"}; }

  // Starts plan-review over twoPlans() as the QA lead.
  std::string startReview(const json& plans = twoPlans()) {
    auto started =
        workbench_->start(principal("qa-001"), "plan-review", {{"plans", plans}}, "", "", origin());
    EXPECT_TRUE(started.isOk()) << started.status().toString();
    return started.isOk() ? started->instance_id : "";
  }

  template <typename T>
  T read(const std::function<core::StatusOr<T>(store::Transaction&)>& f) {
    T out{};
    const core::Status st = store_->transact([&](store::Transaction& tx) -> core::Status {
      SENDFLOW_ASSIGN_OR_RETURN(out, f(tx));
      return core::Status::ok();
    });
    EXPECT_TRUE(st.isOk()) << st.toString();
    return out;
  }
  std::vector<store::TaskRecord> openTasks(const std::string& step_id = "") {
    auto all = read<std::vector<store::TaskRecord>>(
        [](store::Transaction& tx) { return tx.listTasks("open", "", 0); });
    std::vector<store::TaskRecord> out;
    for (auto& t : all) {
      if (step_id.empty() || t.step_id == step_id) out.push_back(t);
    }
    return out;
  }
  // The open task of `step_id` about plan `plan_ref`.
  store::TaskRecord openTask(const std::string& step_id, const std::string& plan_ref) {
    for (auto& t : openTasks(step_id)) {
      if (json::parse(t.subject_json).value("plan_ref", "") == plan_ref) return t;
    }
    ADD_FAILURE() << "no open " << step_id << " task for " << plan_ref;
    return {};
  }
  store::TaskRecord taskRecord(const std::string& id) {
    auto t =
        read<std::optional<store::TaskRecord>>([&](store::Transaction& tx) { return tx.task(id); });
    return t ? *t : store::TaskRecord{};
  }
  std::vector<store::HistoryRecord> history(const std::string& instance_id) {
    return read<std::vector<store::HistoryRecord>>(
        [&](store::Transaction& tx) { return tx.listHistory(instance_id); });
  }

  // Completes the audit of `plan_ref` as `who` with grade `grade`.
  void audit(const std::string& who, const std::string& plan_ref,
             const std::string& grade = "Good") {
    const store::TaskRecord t = openTask("audit", plan_ref);
    json data = {{"grade", grade}};
    if (grade == "Inadequate") data["reason"] = "The child's views are missing.";
    const core::Status st = workbench_->complete(principal(who), t.id, data, origin());
    ASSERT_TRUE(st.isOk()) << st.toString();
  }

  std::filesystem::path dir_;
  core::ManualClock clock_{at("2026-03-02T09:00:00Z")};
  engine::ActionRegistry actions_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<engine::Runtime> runtime_;
  std::unique_ptr<Directory> directory_;
  std::unique_ptr<Workbench> workbench_;
};

}  // namespace sendflow::workbench::testing
