// The runtime's hooks for the service layer: what a task is about (its subject), the listener
// told inside the creating transaction, guarded and audited completion, and assignment.
#include "tests/engine/runtime_test_support.h"

namespace sendflow::engine::testing {
namespace {

class RuntimeTaskHooksTest : public RuntimeFixture {};

// Records what it is told; fails when asked to, which must roll the transition back.
class RecordingListener final : public TaskListener {
 public:
  core::Status taskCreated(store::Transaction& tx, const store::TaskRecord& task, const Step& step,
                           const json& context) override {
    if (fail) return core::unavailable("directory is down");
    seen.push_back(task.id + ":" + step.id + ":" + context.value("plan", json::object()).dump());
    store::OutboxRecord mail;
    mail.instance_id = task.instance_id;
    mail.recipient = "mgr@council.example";
    mail.subject = "new " + task.kind;
    mail.created_at = task.created_at;
    return tx.insertOutbox(mail);
  }
  bool fail = false;
  std::vector<std::string> seen;
};

Step auditPerPlan() {
  Step each = step("audits", StepKind::kForEach);
  each.items = E("plans");
  each.item_name = "plan";
  each.body.steps.push_back(task("audit"));
  return each;
}

TEST_F(RuntimeTaskHooksTest, ATaskInsideAForEachCarriesItsItemAsSubject) {
  deploy(workflow("each", {auditPerPlan()}));
  const json plans = {{{"ref", "SF-1"}, {"contributors", {"ep-052"}}}, {{"ref", "SF-2"}}};
  const std::string id = start("each", {{"plans", plans}});
  std::vector<json> subjects;
  for (const auto& t : openTasks(id)) subjects.push_back(json::parse(t.subject_json));
  ASSERT_EQ(subjects.size(), 2u);
  // Both created in one transition, so their order is not defined.
  if (subjects[0] != plans[0]) std::swap(subjects[0], subjects[1]);
  EXPECT_EQ(subjects[0], plans[0]);
  EXPECT_EQ(subjects[1], plans[1]);
}

TEST_F(RuntimeTaskHooksTest, ATaskOutsideAForEachHasAnEmptySubject) {
  deploy(workflow("plain", {task("review")}));
  const std::string id = start("plain");
  ASSERT_EQ(openTasks(id).size(), 1u);
  EXPECT_EQ(openTasks(id)[0].subject_json, "{}");
}

TEST_F(RuntimeTaskHooksTest, TheListenerWritesInTheCreatingTransaction) {
  RecordingListener listener;
  runtime_->setTaskListener(&listener);
  deploy(workflow("each", {auditPerPlan()}));
  const std::string id = start("each", {{"plans", {{{"ref", "SF-1"}}}}});
  ASSERT_EQ(listener.seen.size(), 1u);
  EXPECT_NE(listener.seen[0].find(":audit:{\"ref\":\"SF-1\"}"), std::string::npos);
  EXPECT_EQ(outbox().size(), 1u);
  EXPECT_EQ(openTasks(id).size(), 1u);
}

TEST_F(RuntimeTaskHooksTest, AFailingListenerRollsTheTransitionBack) {
  RecordingListener listener;
  listener.fail = true;
  runtime_->setTaskListener(&listener);
  deploy(workflow("plain", {task("review")}));
  auto started = runtime_->start("plain", json::object(), "", "qa-lead");
  EXPECT_FALSE(started.isOk());
  EXPECT_TRUE(openTasks().empty());
  EXPECT_TRUE(outbox().empty());
}

TEST_F(RuntimeTaskHooksTest, AGuardRefusingCompletionChangesNothing) {
  Step review = task("review");
  review.form.fields.push_back(field("grade", FieldType::kGrade, true));
  deploy(workflow("plain", {review}));
  const std::string id = start("plain");
  const std::string task_id = openTasks(id)[0].id;
  const std::string before = status(id);
  TaskChangeOptions refuse;
  refuse.guard = [](store::Transaction& tx, const store::TaskRecord& t) -> core::Status {
    store::OutboxRecord mail;  // written, then rolled back with the refusal
    mail.instance_id = t.instance_id;
    mail.recipient = "x@council.example";
    SENDFLOW_RETURN_IF_ERROR(tx.insertOutbox(mail));
    return core::permissionDenied("not yours");
  };
  const core::Status st = runtime_->completeTask(task_id, {{"grade", "Good"}}, "aud-2", refuse);
  EXPECT_EQ(st.code(), core::StatusCode::kPermissionDenied);
  EXPECT_EQ(openTasks(id).size(), 1u);
  EXPECT_TRUE(outbox().empty());
  EXPECT_EQ(status(id), before);
  EXPECT_EQ(history(id).back().event, "task.created");
}

TEST_F(RuntimeTaskHooksTest, AuditDetailGoesIntoTheCompletionHistory) {
  deploy(workflow("plain", {task("review")}));
  const std::string id = start("plain");
  TaskChangeOptions options;
  options.guard = [](store::Transaction&, const store::TaskRecord& t) {
    return t.status == "open" ? core::Status::ok() : core::conflict("closed");
  };
  options.audit = {{"via", "email-link"}, {"client", "10.1.2.3"}};
  ASSERT_TRUE(
      runtime_->completeTask(openTasks(id)[0].id, json::object(), "mgr-001", options).isOk());
  bool found = false;
  for (const auto& h : history(id)) {
    if (h.event != "task.completed") continue;
    found = true;
    EXPECT_EQ(h.actor, "mgr-001");
    const json detail = json::parse(h.detail_json);
    EXPECT_EQ(detail["via"], "email-link");
    EXPECT_EQ(detail["client"], "10.1.2.3");
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(status(id), "completed");
}

TEST_F(RuntimeTaskHooksTest, AssignTaskRecordsWhoGaveItToWhom) {
  deploy(workflow("plain", {task("review")}));
  const std::string id = start("plain");
  const std::string task_id = openTasks(id)[0].id;
  ASSERT_TRUE(runtime_->assignTask(task_id, "aud-001", "qa-001").isOk());
  EXPECT_EQ(openTasks(id)[0].assignee, "aud-001");
  TaskChangeOptions refuse;
  refuse.guard = [](store::Transaction&, const store::TaskRecord&) {
    return core::permissionDenied("contributed to the plan");
  };
  EXPECT_EQ(runtime_->assignTask(task_id, "ep-052", "qa-001", refuse).code(),
            core::StatusCode::kPermissionDenied);
  EXPECT_EQ(openTasks(id)[0].assignee, "aud-001");
  ASSERT_TRUE(runtime_->assignTask(task_id, "", "qa-001").isOk());
  EXPECT_EQ(openTasks(id)[0].assignee, "");
  EXPECT_EQ(runtime_->assignTask("no-such-task", "x", "qa-001").code(),
            core::StatusCode::kNotFound);
  int assigned = 0;
  for (const auto& h : history(id)) {
    if (h.event == "task.assigned") {
      ++assigned;
      EXPECT_EQ(h.actor, "qa-001");
    }
  }
  EXPECT_EQ(assigned, 2);
  complete(task_id, json::object());
  EXPECT_EQ(runtime_->assignTask(task_id, "aud-001", "qa-001").code(), core::StatusCode::kConflict);
}

TEST_F(RuntimeTaskHooksTest, AnActionsDocumentsAreRecordedWithTheStep) {
  ASSERT_TRUE(actions_
                  .add("test.render",
                       [](const json&, ActionContext& ctx) -> core::StatusOr<json> {
                         ctx.documents.push_back({"doc-" + ctx.step_id, "briefing.docx",
                                                  "var/briefing.docx", "application/octet-stream",
                                                  42});
                         return json{{"ok", true}};
                       })
                  .isOk());
  deploy(workflow("render", {action("render", "test.render")}));
  const std::string id = start("render");
  EXPECT_EQ(status(id), "completed");
  std::vector<store::DocumentRecord> docs;
  ASSERT_TRUE(store_
                  ->transact([&](store::Transaction& tx) -> core::Status {
                    SENDFLOW_ASSIGN_OR_RETURN(docs, tx.listDocuments(id));
                    return core::Status::ok();
                  })
                  .isOk());
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].id, "doc-render");
  EXPECT_EQ(docs[0].step_id, "render");
  EXPECT_EQ(docs[0].size, 42);
}

TEST_F(RuntimeTaskHooksTest, RemindersNameThePlanAndLinkToTheTask) {
  RuntimeOptions options;
  options.node_id = "test-node";
  options.public_url = "https://sendflow.council.example";
  runtime_ = std::make_unique<Runtime>(*store_, actions_, clock_, options);
  Step each = auditPerPlan();
  Step& audit = each.body.steps[0];
  audit.assignee = E("'aud-001'");
  audit.due = E("'2026-11-10T09:00:00Z'");
  audit.reminders.push_back({E("'P1D'"), {}});
  deploy(workflow("each", {each}));
  clock_.set(at("2026-11-02T09:00:00Z"));
  const std::string id = start("each", {{"plans", {{{"plan_ref", "SF-2024-00004"}}}}});
  const std::string task_id = openTasks(id)[0].id;
  clock_.set(at("2026-11-09T09:00:00Z"));
  ASSERT_EQ(*runtime_->runDueJobs(10), 1);
  ASSERT_EQ(outbox().size(), 1u);
  const store::OutboxRecord mail = outbox()[0];
  EXPECT_EQ(mail.recipient, "aud-001");
  EXPECT_NE(mail.subject.find("(plan SF-2024-00004)"), std::string::npos) << mail.subject;
  EXPECT_NE(mail.body.find("https://sendflow.council.example/tasks/" + task_id), std::string::npos)
      << mail.body;
}

}  // namespace
}  // namespace sendflow::engine::testing
