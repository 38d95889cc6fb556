// The runtime interprets every StepKind of definition.h.
#include <set>

#include <gtest/gtest.h>

#include "tests/engine/runtime_test_support.h"

namespace sendflow::engine::testing {
namespace {

using RuntimeStepsTest = RuntimeFixture;

TEST_F(RuntimeStepsTest, ActionTaskActionRunsToCompletion) {
  Step t = task("review");
  t.form.fields.push_back(field("grade", FieldType::kText, true));
  deploy(workflow("three-step", {action("first", "noop.record", {{"n", "1"}}), t,
                                 action("second", "noop.record", {{"grade", "review.grade"}})}));
  const std::string id = start("three-step");
  EXPECT_EQ(status(id), "running");
  EXPECT_EQ(data(id)["first"], (json{{"n", 1}}));
  auto tasks = openTasks(id);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].step_id, "review");
  EXPECT_EQ(tasks[0].role, "auditor");
  complete(tasks[0].id, {{"grade", "Good"}});
  EXPECT_EQ(status(id), "completed");
  EXPECT_EQ(data(id)["second"], (json{{"grade", "Good"}}));
  EXPECT_TRUE(openTasks(id).empty());
  EXPECT_TRUE(jobs(id).empty());
  EXPECT_EQ(events(id), (std::vector<std::string>{"instance.started", "action.completed:first",
                                                  "task.created:review", "task.completed:review",
                                                  "action.completed:second", "instance.ended"}));
}

TEST_F(RuntimeStepsTest, SetAndDecisionJumpOnInstanceData) {
  Step decide = step("route", StepKind::kDecision);
  decide.branches.push_back({E("x > 2"), "big", {}});
  decide.otherwise = "small";
  Step big = set("big", {{"y", "'big'"}});
  big.next = "done";
  Step small = set("small", {{"y", "'small'"}});
  Step done = step("done", StepKind::kEnd);
  deploy(workflow("route", {set("double", {{"x", "x * 2"}}), decide, big, small, done}));
  EXPECT_EQ(data(start("route", {{"x", 2}}))["y"], "big");
  EXPECT_EQ(data(start("route", {{"x", 1}}))["y"], "small");
}

TEST_F(RuntimeStepsTest, DecisionTableWritesItsResult) {
  auto table = std::make_shared<DecisionTable>();
  table->id = "overall";
  table->hit_policy = HitPolicy::kFirst;
  table->input_labels = {"grade"};
  table->inputs = {E("grade")};
  table->outputs = {"overall"};
  TypeEnvironment env = {{"grade", ValueType::kString}};
  auto inadequate = Expression::compileUnaryTest("'Inadequate'", ValueType::kString, env, {});
  ASSERT_TRUE(inadequate.isOk()) << inadequate.status().toString();
  table->rules.push_back({{*inadequate}, {E("'Inadequate'")}, {}});
  table->rules.push_back({{nullptr}, {E("'Good'")}, {}});
  Step s = step("judge", StepKind::kDecisionTable);
  s.table = table;
  s.into = "overall";
  deploy(workflow("judge", {s}));
  EXPECT_EQ(data(start("judge", {{"grade", "Inadequate"}}))["overall"], "Inadequate");
  EXPECT_EQ(data(start("judge", {{"grade", "Good"}}))["overall"], "Good");
}

TEST_F(RuntimeStepsTest, ParallelWaitsForEveryBranch) {
  Step par = step("audit", StepKind::kParallel);
  par.branches_blocks.push_back(Block{{task("health", "health")}});
  par.branches_blocks.push_back(Block{{task("education", "education")}});
  deploy(workflow("par", {par, set("after", {{"y", "'joined'"}})}));
  const std::string id = start("par");
  auto tasks = openTasks(id);
  ASSERT_EQ(tasks.size(), 2u);
  complete(tasks[0].id, json::object());
  EXPECT_EQ(status(id), "running");
  EXPECT_FALSE(data(id).contains("y"));
  complete(tasks[1].id, json::object());
  EXPECT_EQ(status(id), "completed");
  EXPECT_EQ(data(id)["y"], "joined");
}

TEST_F(RuntimeStepsTest, ForEachRunsOnceForEveryItemAndCollectsResults) {
  Step each = step("per_plan", StepKind::kForEach);
  each.items = E("plans");
  each.item_name = "plan";
  each.body.steps.push_back(action("record", "noop.record", {{"plan", "plan"}, {"i", "index"}}));
  each.into = "records";
  deploy(workflow("each", {each}));
  const std::string id = start("each", {{"plans", {"P1", "P2", "P3"}}});
  EXPECT_EQ(status(id), "completed");
  const json records = data(id)["records"];
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0]["record"]["plan"], "P1");
  EXPECT_EQ(records[2]["record"]["plan"], "P3");
  EXPECT_EQ(records[2]["record"]["i"], 2);
  // Each result says which item it is for.
  EXPECT_EQ(records[0]["plan"], "P1");
  EXPECT_EQ(records[2]["plan"], "P3");
  EXPECT_FALSE(records[0].contains("index"));
  // Results stay in their iteration: nothing leaks into the instance data.
  EXPECT_FALSE(data(id).contains("record"));
}

TEST_F(RuntimeStepsTest, ForEachCompletionConditionCancelsTheRest) {
  Step each = step("moderate", StepKind::kForEach);
  each.items = E("plans");
  each.completion = E("completed >= 2");
  Step grade = task("grade_plan", "moderator");
  grade.form.fields.push_back(field("grade", FieldType::kGrade, true));
  each.body.steps.push_back(grade);
  deploy(workflow("n-of-m", {each}));
  const std::string id = start("n-of-m", {{"plans", {"P1", "P2", "P3"}}});
  auto tasks = openTasks(id);
  ASSERT_EQ(tasks.size(), 3u);
  complete(tasks[0].id, {{"grade", "Good"}});
  EXPECT_EQ(openTasks(id).size(), 2u);
  complete(tasks[2].id, {{"grade", "Inadequate"}});
  EXPECT_EQ(status(id), "completed");
  EXPECT_TRUE(openTasks(id).empty());
  const json results = data(id)["moderate"];
  ASSERT_EQ(results.size(), 2u);
  std::multiset<std::string> grades;
  for (const json& r : results) grades.insert(r["grade_plan"]["grade"].get<std::string>());
  EXPECT_EQ(grades, (std::multiset<std::string>{"Good", "Inadequate"}));
  EXPECT_EQ(runtime_->completeTask(tasks[1].id, json::object(), "x").code(),
            core::StatusCode::kConflict);
}

TEST_F(RuntimeStepsTest, ForEachOverANonListRaisesAnIncident) {
  Step each = step("per_plan", StepKind::kForEach);
  each.items = E("plans");
  each.body.steps.push_back(action("record", "noop.record"));
  deploy(workflow("bad-each", {each}));
  const std::string id = start("bad-each", {{"plans", "P1"}});
  EXPECT_EQ(status(id), "incident");
  auto all = incidents();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_NE(all[0].message.find("not a list"), std::string::npos) << all[0].message;
}

TEST_F(RuntimeStepsTest, TimerWaitsForTheClock) {
  Step timer = step("cool_off", StepKind::kTimer);
  timer.after = E("'PT1H'");
  deploy(workflow("timer", {timer, set("after", {{"y", "1"}})}));
  const std::string id = start("timer");
  EXPECT_EQ(status(id), "running");
  auto ran = runtime_->runDueJobs(10);
  ASSERT_TRUE(ran.isOk());
  EXPECT_EQ(*ran, 0);
  clock_.advance(std::chrono::minutes(59));
  EXPECT_EQ(*runtime_->runDueJobs(10), 0);
  clock_.advance(std::chrono::minutes(1));
  EXPECT_EQ(*runtime_->runDueJobs(10), 1);
  EXPECT_EQ(status(id), "completed");
}

TEST_F(RuntimeStepsTest, TimerUntilADate) {
  Step timer = step("until_meeting", StepKind::kTimer);
  timer.until = E("meeting");
  deploy(workflow("until", {timer}));
  const std::string id = start("until", {{"meeting", "2026-11-05T10:00:00Z"}});
  auto pending = jobs(id);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].due_at, at("2026-11-05T10:00:00Z"));
}

TEST_F(RuntimeStepsTest, ApprovalRejectGoesToOnReject) {
  Step approve = step("sign_off", StepKind::kApproval);
  approve.role = "head-of-service";
  approve.on_reject = "rework";
  Step approved = set("approved", {{"y", "'approved'"}});
  approved.next = "finish";
  Step rework = set("rework", {{"y", "'rework'"}});
  deploy(workflow("approval", {approve, approved, rework, step("finish", StepKind::kEnd)}));
  const std::string id = start("approval");
  auto tasks = openTasks(id);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].kind, "approval");
  auto bad = runtime_->completeTask(tasks[0].id, {{"decision", "maybe"}}, "hos");
  EXPECT_EQ(bad.code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("decision"), std::string::npos);
  complete(tasks[0].id, {{"decision", "reject"}, {"comment", "F is vague"}});
  EXPECT_EQ(data(id)["y"], "rework");
  EXPECT_EQ(data(id)["sign_off"]["comment"], "F is vague");
}

TEST_F(RuntimeStepsTest, SubWorkflowResumesTheParentWhenItEnds) {
  Step child_task = task("child_review");
  deploy(workflow("child", {child_task, set("child_done", {{"y", "x + 1"}})}));
  Step sub = step("run_child", StepKind::kSubWorkflow);
  sub.workflow = "child";
  sub.inputs["x"] = E("x");
  sub.into = "child";
  deploy(workflow("parent", {sub, set("after", {{"y", "child.y"}})}));
  const std::string parent = start("parent", {{"x", 41}});
  auto tasks = openTasks();
  ASSERT_EQ(tasks.size(), 1u);
  const std::string child = tasks[0].instance_id;
  EXPECT_NE(child, parent);
  EXPECT_EQ(instance(child).parent_id, parent);
  complete(tasks[0].id, json::object());
  EXPECT_EQ(status(child), "completed");
  EXPECT_EQ(status(parent), "completed");
  EXPECT_EQ(data(parent)["y"], 42);
}

TEST_F(RuntimeStepsTest, EndingTheParentCancelsARunningSubWorkflow) {
  deploy(workflow("child", {task("child_review")}));
  Step sub = step("run_child", StepKind::kSubWorkflow);
  sub.workflow = "child";
  Step wait = task("lead_decides", "qa-lead");
  Step stop = step("stop", StepKind::kEnd);
  stop.end_status = "cancelled";
  Step par = step("both", StepKind::kParallel);
  par.branches_blocks.push_back(Block{{sub}});
  par.branches_blocks.push_back(Block{{wait, stop}});
  deploy(workflow("parent", {par}));
  const std::string parent = start("parent");
  ASSERT_EQ(openTasks().size(), 2u);
  std::string child, lead_task;
  for (const auto& t : openTasks()) {
    if (t.instance_id != parent) child = t.instance_id;
    if (t.step_id == "lead_decides") lead_task = t.id;
  }
  ASSERT_FALSE(child.empty());
  complete(lead_task, json::object());
  EXPECT_EQ(status(parent), "cancelled");
  EXPECT_EQ(status(child), "cancelled");
  EXPECT_TRUE(openTasks().empty());
  EXPECT_TRUE(jobs().empty());
}

TEST_F(RuntimeStepsTest, EndStatusEndsTheInstanceAndCancelsTasks) {
  Step par = step("both", StepKind::kParallel);
  par.branches_blocks.push_back(Block{{task("waiting")}});
  Step cancel = step("stop", StepKind::kEnd);
  cancel.end_status = "cancelled";
  par.branches_blocks.push_back(Block{{cancel}});
  deploy(workflow("cancel", {par}));
  const std::string id = start("cancel");
  EXPECT_EQ(status(id), "cancelled");
  EXPECT_TRUE(openTasks(id).empty());
}

TEST_F(RuntimeStepsTest, TaskAssigneeAndDueComeFromExpressions) {
  Step t = task("audit_plan");
  t.assignee = E("who");
  t.due = E("meeting + 4 weeks");
  deploy(workflow("assign", {t}));
  const std::string id = start("assign", {{"who", "auditor-7"}, {"meeting", "2026-11-02"}});
  auto tasks = openTasks(id);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].assignee, "auditor-7");
  ASSERT_TRUE(tasks[0].due_at.has_value());
  EXPECT_EQ(core::formatIso8601(*tasks[0].due_at).substr(0, 10), "2026-11-30");
}

}  // namespace
}  // namespace sendflow::engine::testing
