// The workbench's authorisation rules on a real runtime and SQLite store: who sees what, who may
// claim, complete and reassign, the conflicts that keep people off plans they wrote or steps
// they already did, claim races, idempotent starts and form errors naming the fields.

#include "server/workbench/workbench.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>

#include "tests/workbench/workbench_fixture.h"

namespace sendflow::workbench::testing {
namespace {

using core::StatusCode;

class WorkbenchTest : public WorkbenchFixture {};

std::vector<std::string> stepsAndPlans(const std::vector<TaskView>& views) {
  std::vector<std::string> out;
  for (const TaskView& v : views)
    out.push_back(v.task.step_id + ":" + v.subject.value("plan_ref", ""));
  std::sort(out.begin(), out.end());  // tasks made in one transition share their creation time
  return out;
}

TEST_F(WorkbenchTest, AuditorsSeeTheirRoleQueueExceptPlansTheyContributedTo) {
  startReview();
  auto aud = workbench_->myTasks(principal("aud-001"), 0);
  ASSERT_TRUE(aud.isOk()) << aud.status().toString();
  EXPECT_EQ(stepsAndPlans(*aud), (std::vector<std::string>{"audit:SF-1", "audit:SF-2"}));
  EXPECT_TRUE(aud->front().can_claim);
  EXPECT_TRUE(aud->front().can_complete);
  EXPECT_FALSE(aud->front().can_reassign);
  ASSERT_NE(aud->front().step, nullptr);
  EXPECT_EQ(aud->front().step->form.fields.size(), 3u);
  EXPECT_EQ(aud->front().workflow_title, "Plan review");

  auto ep = workbench_->myTasks(principal("ep-052"), 0);
  ASSERT_TRUE(ep.isOk());
  EXPECT_EQ(stepsAndPlans(*ep), (std::vector<std::string>{"audit:SF-2"}));

  auto mod = workbench_->myTasks(principal("mod-001"), 0);
  ASSERT_TRUE(mod.isOk());
  EXPECT_TRUE(mod->empty());

  // Nobody but oversight sees the instance before they have a task in it.
  auto seen_by_qa = workbench_->instances(principal("qa-001"), {});
  ASSERT_TRUE(seen_by_qa.isOk());
  ASSERT_EQ(seen_by_qa->size(), 1u);
  EXPECT_NE(seen_by_qa->front().data_json, "{}");
  EXPECT_EQ(seen_by_qa->front().state_json, "{}");
  auto seen_by_aud = workbench_->instances(principal("aud-001"), {});
  ASSERT_TRUE(seen_by_aud.isOk());
  EXPECT_TRUE(seen_by_aud->empty());
  const std::string id = seen_by_qa->front().id;
  EXPECT_EQ(workbench_->instance(principal("aud-001"), id).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(workbench_->instance(principal("mgr-001"), id).isOk());

  // Once they claimed a task they see the instance, but not the other plans' data.
  const store::TaskRecord t = openTask("audit", "SF-2");
  ASSERT_TRUE(workbench_->claim(principal("aud-001"), t.id, origin()).isOk());
  seen_by_aud = workbench_->instances(principal("aud-001"), {});
  ASSERT_TRUE(seen_by_aud.isOk());
  ASSERT_EQ(seen_by_aud->size(), 1u);
  EXPECT_EQ(seen_by_aud->front().data_json, "{}");
  auto view = workbench_->instance(principal("aud-001"), id);
  ASSERT_TRUE(view.isOk());
  ASSERT_EQ(view->tasks.size(), 2u);  // their claimed task and the other queue task
  // The other auditor no longer sees the claimed task.
  EXPECT_EQ(workbench_->task(principal("aud-002"), t.id).status().code(), StatusCode::kNotFound);
  auto aud2 = workbench_->myTasks(principal("aud-002"), 0);
  ASSERT_TRUE(aud2.isOk());
  EXPECT_EQ(stepsAndPlans(*aud2), (std::vector<std::string>{"audit:SF-1"}));
}

TEST_F(WorkbenchTest, AContributorCanNeitherClaimNorBeGivenThePlan) {
  startReview();
  const store::TaskRecord sf1 = openTask("audit", "SF-1");
  EXPECT_EQ(workbench_->claim(principal("ep-052"), sf1.id, origin()).code(), StatusCode::kNotFound);
  EXPECT_EQ(workbench_->complete(principal("ep-052"), sf1.id, {{"grade", "Good"}}, origin()).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(workbench_->task(principal("ep-052"), sf1.id).status().code(), StatusCode::kNotFound);

  const core::Status to_contributor =
      workbench_->reassign(principal("qa-001"), sf1.id, "ep-052", origin());
  EXPECT_EQ(to_contributor.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(to_contributor.message().find("assignee: ep-052 is named in the contributors"),
            std::string::npos)
      << to_contributor.message();
  EXPECT_EQ(workbench_->assignable(sf1, "ep-052").code(), StatusCode::kPermissionDenied);

  const core::Status wrong_role =
      workbench_->reassign(principal("qa-001"), sf1.id, "mod-001", origin());
  EXPECT_EQ(wrong_role.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_role.message().find("role 'auditor'"), std::string::npos) << wrong_role.message();
  EXPECT_EQ(workbench_->reassign(principal("qa-001"), sf1.id, "nobody", origin()).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(taskRecord(sf1.id).assignee.empty());

  // Only admin and qa-lead reassign; a manager sees the task but may not.
  EXPECT_EQ(workbench_->reassign(principal("mgr-001"), sf1.id, "aud-002", origin()).code(),
            StatusCode::kPermissionDenied);
  ASSERT_TRUE(workbench_->reassign(principal("adm-001"), sf1.id, "aud-002", origin()).isOk());
  EXPECT_EQ(taskRecord(sf1.id).assignee, "aud-002");
  bool logged = false;
  for (const auto& h : history(sf1.instance_id)) {
    if (h.event != "task.assigned") continue;
    const json detail = json::parse(h.detail_json);
    EXPECT_EQ(h.actor, "adm-001");
    EXPECT_EQ(detail["to"], "aud-002");
    EXPECT_EQ(detail["origin"]["client_address"], "127.0.0.1");
    EXPECT_EQ(detail["origin"]["channel"], "api");
    logged = true;
  }
  EXPECT_TRUE(logged);
}

TEST_F(WorkbenchTest, TheAuditorOfAPlanCannotTakeItsModeration) {
  startReview();
  audit("am-001", "SF-1");
  const store::TaskRecord moderation = openTask("moderate", "SF-1");
  EXPECT_EQ(workbench_->claim(principal("am-001"), moderation.id, origin()).code(),
            StatusCode::kNotFound);
  auto mine = workbench_->myTasks(principal("am-001"), 0);
  ASSERT_TRUE(mine.isOk());
  for (const TaskView& v : *mine) EXPECT_NE(v.task.id, moderation.id);
  const core::Status given = workbench_->assignable(moderation, "am-001");
  EXPECT_EQ(given.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(given.message().find("completed 'Audit the plan'"), std::string::npos)
      << given.message();
  EXPECT_EQ(workbench_->reassign(principal("qa-001"), moderation.id, "am-001", origin()).code(),
            StatusCode::kInvalidArgument);
  // Another moderator may; the moderation queue shows it to them and to oversight.
  auto queue = workbench_->moderationQueue(principal("mod-001"));
  ASSERT_TRUE(queue.isOk());
  ASSERT_EQ(queue->size(), 1u);
  EXPECT_TRUE(queue->front().can_claim);
  auto am_queue = workbench_->moderationQueue(principal("am-001"));
  ASSERT_TRUE(am_queue.isOk());
  EXPECT_TRUE(am_queue->empty());
  EXPECT_EQ(workbench_->moderationQueue(principal("aud-001")).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(workbench_->claim(principal("mod-001"), moderation.id, origin()).isOk());
}

TEST_F(WorkbenchTest, TheSameModeratorRedoesASentBackModeration) {
  startReview(json::array({twoPlans()[0]}));
  audit("aud-001", "SF-1", "Inadequate");
  const store::TaskRecord first = openTask("moderate", "SF-1");
  ASSERT_TRUE(workbench_->claim(principal("mod-001"), first.id, origin()).isOk());
  ASSERT_TRUE(workbench_
                  ->complete(principal("mod-001"), first.id,
                             {{"moderated_grade", "Requires Improvement"}}, origin())
                  .isOk());
  // The moderator cannot approve their own moderation even with the manager role.
  const store::TaskRecord approval = openTask("approve", "SF-1");
  EXPECT_EQ(approval.kind, "approval");
  auto approvals = workbench_->myTasks(principal("mgr-001"), 0);
  ASSERT_TRUE(approvals.isOk());
  ASSERT_EQ(approvals->size(), 1u);
  EXPECT_EQ(approvals->front().task.kind, "approval");
  ASSERT_TRUE(workbench_
                  ->complete(principal("mgr-001"), approval.id,
                             {{"decision", "reject"}, {"comment", "Quantify the provision."}},
                             origin())
                  .isOk());
  const store::TaskRecord again = openTask("moderate", "SF-1");
  EXPECT_NE(again.id, first.id);
  auto task = workbench_->task(principal("mod-001"), again.id);
  ASSERT_TRUE(task.isOk()) << task.status().toString();
  EXPECT_TRUE(task->can_claim);
  ASSERT_TRUE(
      workbench_->complete(principal("mod-001"), again.id, {{"moderated_grade", "Good"}}, origin())
          .isOk());
  // The manager who rejected the first approval may approve the second.
  const store::TaskRecord second_approval = openTask("approve", "SF-1");
  ASSERT_TRUE(
      workbench_
          ->complete(principal("mgr-001"), second_approval.id, {{"decision", "approve"}}, origin())
          .isOk());
  auto dashboard = workbench_->dashboard(principal("qa-001"));
  ASSERT_TRUE(dashboard.isOk());
  EXPECT_EQ(dashboard->instances_completed, 1);
  ASSERT_EQ(dashboard->grades.size(), 4u);
  EXPECT_EQ(dashboard->grades[1], (std::pair<std::string, long long>{"Good", 1}));
}

TEST_F(WorkbenchTest, OfTwoClaimsAtOnceOneWins) {
  for (int round = 0; round < 4; ++round) {
    startReview(json::array({twoPlans()[1]}));
    const store::TaskRecord t = openTask("audit", "SF-2");
    std::atomic<int> ready{0};
    core::Status a, b;
    std::thread first([&] {
      ++ready;
      while (ready < 2) {
      }
      a = workbench_->claim(principal("aud-001"), t.id, origin());
    });
    std::thread second([&] {
      ++ready;
      while (ready < 2) {
      }
      b = workbench_->claim(principal("aud-002"), t.id, origin());
    });
    first.join();
    second.join();
    EXPECT_NE(a.isOk(), b.isOk()) << a.toString() << " / " << b.toString();
    const core::Status& lost = a.isOk() ? b : a;
    // The loser either saw it claimed inside the transaction (409) or no longer saw it (404).
    EXPECT_TRUE(lost.code() == StatusCode::kConflict || lost.code() == StatusCode::kNotFound)
        << lost.toString();
    EXPECT_EQ(taskRecord(t.id).assignee, a.isOk() ? "aud-001" : "aud-002");
    ASSERT_TRUE(workbench_
                    ->complete(principal(a.isOk() ? "aud-001" : "aud-002"), t.id,
                               {{"grade", "Good"}}, origin())
                    .isOk());
  }
}

TEST_F(WorkbenchTest, CompletingIsForTheAssigneeOnly) {
  startReview();
  const store::TaskRecord sf1 = openTask("audit", "SF-1");
  ASSERT_TRUE(workbench_->claim(principal("aud-001"), sf1.id, origin()).isOk());
  EXPECT_TRUE(workbench_->claim(principal("aud-001"), sf1.id, origin()).isOk());  // no change
  EXPECT_EQ(
      workbench_->complete(principal("aud-002"), sf1.id, {{"grade", "Good"}}, origin()).code(),
      StatusCode::kNotFound);
  const core::Status by_admin =
      workbench_->complete(principal("adm-001"), sf1.id, {{"grade", "Good"}}, origin());
  EXPECT_EQ(by_admin.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(by_admin.message().find("assigned to aud-001"), std::string::npos);
  EXPECT_EQ(workbench_->claim(principal("adm-001"), sf1.id, origin()).code(),
            StatusCode::kConflict);
  ASSERT_TRUE(
      workbench_->complete(principal("aud-001"), sf1.id, {{"grade", "Good"}}, origin()).isOk());
  const core::Status again =
      workbench_->complete(principal("aud-001"), sf1.id, {{"grade", "Good"}}, origin());
  EXPECT_EQ(again.code(), StatusCode::kConflict);
  EXPECT_NE(again.message().find("already completed"), std::string::npos) << again.message();

  // A queue task is claimed and completed in one step.
  const store::TaskRecord sf2 = openTask("audit", "SF-2");
  ASSERT_TRUE(
      workbench_->complete(principal("aud-002"), sf2.id, {{"grade", "Good"}}, origin()).isOk());
  EXPECT_EQ(taskRecord(sf2.id).completed_by, "aud-002");
  // The moderation the audit led to is the moderator's.
  EXPECT_EQ(workbench_
                ->complete(principal("mod-001"), openTask("moderate", "SF-1").id,
                           {{"moderated_grade", "Good"}}, origin())
                .code(),
            core::StatusCode::kOk);
}

TEST_F(WorkbenchTest, FormErrorsNameEveryBadFieldAndChangeNothing) {
  startReview();
  const store::TaskRecord t = openTask("audit", "SF-1");
  const core::Status missing =
      workbench_->complete(principal("aud-001"), t.id, {{"grade", "Inadequate"}}, origin());
  EXPECT_EQ(missing.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.message().find("reason"), std::string::npos) << missing.message();
  const core::Status several =
      workbench_->complete(principal("aud-001"), t.id,
                           {{"grade", "Superb"}, {"auditors", 12}, {"colour", "red"}}, origin());
  EXPECT_EQ(several.code(), StatusCode::kInvalidArgument);
  for (const char* field : {"grade", "auditors", "colour"}) {
    EXPECT_NE(several.message().find(std::string(field) + ":"), std::string::npos)
        << several.message();
  }
  const store::TaskRecord after = taskRecord(t.id);
  EXPECT_EQ(after.status, "open");
  EXPECT_TRUE(after.assignee.empty());
}

TEST_F(WorkbenchTest, IdempotentStartsReplayOrConflict) {
  const json input = {{"plans", twoPlans()}};
  auto first = workbench_->start(principal("ci-key"), "plan-review", input, "", "k-1", origin());
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  EXPECT_TRUE(first->created);
  EXPECT_FALSE(first->replayed);
  auto replay = workbench_->start(principal("ci-key"), "plan-review", input, "", "k-1", origin());
  ASSERT_TRUE(replay.isOk()) << replay.status().toString();
  EXPECT_EQ(replay->instance_id, first->instance_id);
  EXPECT_TRUE(replay->replayed);
  EXPECT_FALSE(replay->created);
  const json other = {{"plans", json::array({twoPlans()[0]})}};
  auto clash = workbench_->start(principal("ci-key"), "plan-review", other, "", "k-1", origin());
  EXPECT_EQ(clash.status().code(), StatusCode::kConflict);
  // Keys are per caller.
  auto someone_else =
      workbench_->start(principal("other-key"), "plan-review", input, "", "k-1", origin());
  ASSERT_TRUE(someone_else.isOk());
  EXPECT_NE(someone_else->instance_id, first->instance_id);
  EXPECT_EQ(read<std::vector<store::InstanceRecord>>([](store::Transaction& tx) {
              return tx.listInstances({});
            }).size(),
            2u);
  // Automation sees what it started, with its data, and nothing else.
  auto mine = workbench_->instances(principal("ci-key"), {});
  ASSERT_TRUE(mine.isOk());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ(mine->front().id, first->instance_id);
  EXPECT_NE(mine->front().data_json, "{}");
  EXPECT_EQ(workbench_->instance(principal("ci-key"), someone_else->instance_id).status().code(),
            StatusCode::kNotFound);
  // The start's history row says who and from where.
  const auto rows = history(first->instance_id);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front().event, "instance.started");
  EXPECT_EQ(rows.front().actor, "ci-key");
  EXPECT_EQ(json::parse(rows.front().detail_json)["origin"]["request_id"], "req-1");
  // A bad key is the caller's mistake.
  EXPECT_EQ(workbench_->start(principal("ci-key"), "plan-review", input, "", "bad key", origin())
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST_F(WorkbenchTest, OnlyAdminQaLeadAndAutomationStart) {
  const json input = {{"plans", twoPlans()}};
  for (const char* who : {"aud-001", "mod-001", "mgr-001"}) {
    EXPECT_EQ(
        workbench_->start(principal(who), "plan-review", input, "", "", origin()).status().code(),
        StatusCode::kPermissionDenied)
        << who;
  }
  EXPECT_EQ(
      workbench_->start(principal("adm-001"), "no-such", input, "", "", origin()).status().code(),
      StatusCode::kNotFound);
  auto bad =
      workbench_->start(principal("adm-001"), "plan-review", {{"plans", "SF-1"}}, "", "", origin());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("plans"), std::string::npos) << bad.status().message();
  auto defs = workbench_->definitions(principal("aud-001"));
  ASSERT_EQ(defs.size(), 1u);
  EXPECT_FALSE(defs.front().can_start);
  EXPECT_TRUE(workbench_->definitions(principal("qa-001")).front().can_start);
  // The same business key returns the first instance.
  auto a = workbench_->start(principal("adm-001"), "plan-review", input, "2026-03", "", origin());
  auto b = workbench_->start(principal("adm-001"), "plan-review", input, "2026-03", "", origin());
  ASSERT_TRUE(a.isOk() && b.isOk());
  EXPECT_EQ(a->instance_id, b->instance_id);
  EXPECT_FALSE(b->created);
}

TEST_F(WorkbenchTest, AuditorsReadOnlyTheHistoryOfTheirOwnTasks) {
  const std::string id = startReview();
  const std::string sf2 = openTask("audit", "SF-2").id;
  ASSERT_TRUE(workbench_->claim(principal("aud-002"), sf2, origin()).isOk());
  audit("aud-001", "SF-1");
  auto rows = workbench_->history(principal("aud-001"), id);
  ASSERT_TRUE(rows.isOk()) << rows.status().toString();
  bool saw_completion = false;
  for (const auto& row : *rows) {
    EXPECT_TRUE(row.data_before_json.empty());
    EXPECT_TRUE(row.data_after_json.empty());
    EXPECT_EQ(row.detail_json.find(sf2), std::string::npos) << row.detail_json;
    if (row.event == "task.completed") saw_completion = true;
  }
  EXPECT_TRUE(saw_completion);
  auto all = workbench_->history(principal("qa-001"), id);
  ASSERT_TRUE(all.isOk());
  EXPECT_GT(all->size(), rows->size());
  EXPECT_EQ(workbench_->history(principal("mod-001"), id).status().code(), StatusCode::kNotFound);
  auto capped = workbench_->history(principal("qa-001"), id, 2);
  ASSERT_TRUE(capped.isOk());
  EXPECT_EQ(capped->size(), 2u);
}

TEST_F(WorkbenchTest, DocumentsFollowTheirInstance) {
  const std::string id = startReview();
  store::DocumentRecord doc{
      "doc-1",
      id,
      "briefing",
      "briefing.docx",
      (dir_ / "b.docx").string(),
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      10,
      clock_.now()};
  ASSERT_TRUE(
      store_->transact([&](store::Transaction& tx) { return tx.insertDocument(doc); }).isOk());
  EXPECT_TRUE(workbench_->document(principal("mgr-001"), "doc-1").isOk());
  EXPECT_EQ(workbench_->document(principal("aud-001"), "doc-1").status().code(),
            StatusCode::kNotFound);
  auto listed = workbench_->documents(principal("aud-001"), "");
  ASSERT_TRUE(listed.isOk());
  EXPECT_TRUE(listed->empty());
  audit("aud-001", "SF-1");
  listed = workbench_->documents(principal("aud-001"), "");
  ASSERT_TRUE(listed.isOk());
  EXPECT_EQ(listed->size(), 1u);
  EXPECT_EQ(workbench_->documents(principal("aud-001"), "nope").status().code(),
            StatusCode::kNotFound);
}

TEST_F(WorkbenchTest, TheDashboardCountsWhatTheCallerSees) {
  startReview();
  clock_.advance(std::chrono::hours(24 * 6));  // past the audits' due date
  auto qa = workbench_->dashboard(principal("qa-001"));
  ASSERT_TRUE(qa.isOk());
  EXPECT_EQ(qa->instances_running, 1);
  EXPECT_EQ(qa->open_tasks, 2);
  EXPECT_EQ(qa->overdue_tasks, 2);
  EXPECT_EQ(qa->my_open_tasks, 0);
  EXPECT_EQ(qa->overdue.size(), 2u);
  EXPECT_TRUE(qa->overdue.front().overdue);
  auto ep = workbench_->dashboard(principal("ep-052"));
  ASSERT_TRUE(ep.isOk());
  EXPECT_EQ(ep->instances_running, 0);
  EXPECT_EQ(ep->open_tasks, 1);
  EXPECT_EQ(ep->my_open_tasks, 1);
  EXPECT_EQ(ep->overdue.size(), 1u);
}

TEST_F(WorkbenchTest, ListingsAreLimited) {
  startReview(json::array({twoPlans()[0], twoPlans()[1], twoPlans()[1]}));
  auto two = workbench_->myTasks(principal("aud-001"), 2);
  ASSERT_TRUE(two.isOk());
  EXPECT_EQ(two->size(), 2u);
  auto capped = workbench_->myTasks(principal("aud-001"), 100000);
  ASSERT_TRUE(capped.isOk());
  EXPECT_EQ(capped->size(), 3u);
}

class DirectoryTest : public WorkbenchFixture {};

TEST_F(DirectoryTest, LoadsTheUsersFileAndResolvesRecipients) {
  auto mgr = directory_->find("mgr-001");
  ASSERT_TRUE(mgr.isOk());
  ASSERT_TRUE(mgr->has_value());
  EXPECT_EQ((*mgr)->roles, std::vector<std::string>{"manager"});
  auto auditors = directory_->resolveRecipients("role:auditor");
  ASSERT_TRUE(auditors.isOk());
  EXPECT_EQ(auditors->size(), 4u);  // aud-001, aud-002, ep-052 and am-001
  EXPECT_EQ(*directory_->resolveRecipients("qa-001"),
            std::vector<std::string>{"priya.shah@council.example"});
  EXPECT_EQ(*directory_->resolveRecipients("x@y.example"), std::vector<std::string>{"x@y.example"});
  EXPECT_EQ(directory_->resolveRecipients("role:panel-chair").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(directory_->resolveRecipients("nobody").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(DirectoryTest, ABadEntryIsNamedAndNothingIsWritten) {
  const std::string path = (dir_ / "users.json").string();
  std::ofstream(path) << R"([{"id": "new-1", "roles": ["auditor"]}, {"name": "No id"}])";
  const core::Status st = directory_->loadFile(path);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("entry 2: 'id' is missing"), std::string::npos) << st.message();
  EXPECT_FALSE(directory_->find("new-1")->has_value());
  std::ofstream(path) << "[{";
  EXPECT_EQ(directory_->loadFile(path).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(directory_->loadFile((dir_ / "none.json").string()).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(DirectoryTest, SignInsAreWrittenOnlyWhenSomethingChangedOrAnHourPassed) {
  auth::Principal who = principal("aud-009");
  const auto updated = [&] {
    return read<std::optional<store::UserRecord>>(
               [&](store::Transaction& tx) { return tx.user("aud-009"); })
        ->updated_at;
  };
  ASSERT_TRUE(directory_->recordSignIn(who).isOk());
  const core::TimePoint first = updated();
  clock_.advance(std::chrono::minutes(10));
  ASSERT_TRUE(directory_->recordSignIn(who).isOk());
  EXPECT_EQ(updated(), first);
  who.roles.insert("moderator");
  ASSERT_TRUE(directory_->recordSignIn(who).isOk());
  EXPECT_GT(updated(), first);
  EXPECT_EQ((*directory_->find("aud-009"))->roles, std::vector<std::string>{"moderator"});
  const core::TimePoint second = updated();
  clock_.advance(std::chrono::minutes(61));
  ASSERT_TRUE(directory_->recordSignIn(who).isOk());
  EXPECT_GT(updated(), second);
  EXPECT_EQ(directory_->recordSignIn(auth::Principal{}).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sendflow::workbench::testing
