// Idempotent starts, version pinning, retries and incidents, reminders and escalations,
// schedules, history, the outbox and the built-in actions.
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "server/engine/definition_loader.h"
#include "server/engine/runtime_workers.h"
#include "server/engine/scheduler.h"
#include "server/mail/folder_mailer.h"
#include "server/mail/outbox_dispatcher.h"
#include "tests/engine/runtime_test_support.h"

namespace sendflow::engine::testing {
namespace {

using RuntimeDurabilityTest = RuntimeFixture;

TEST_F(RuntimeDurabilityTest, StartIsIdempotentOnTheBusinessKey) {
  deploy(workflow("audit", {task("review")}));
  auto first = runtime_->start("audit", json::object(), "ehcp-2026-11", "qa-lead");
  auto second = runtime_->start("audit", {{"x", 1}}, "ehcp-2026-11", "qa-lead");
  ASSERT_TRUE(first.isOk() && second.isOk());
  EXPECT_TRUE(first->created);
  EXPECT_FALSE(second->created);
  EXPECT_EQ(first->instance_id, second->instance_id);
  EXPECT_EQ(openTasks().size(), 1u);
  EXPECT_FALSE(data(first->instance_id).contains("x"));
  auto other = runtime_->start("audit", json::object(), "ehcp-2026-12", "qa-lead");
  ASSERT_TRUE(other.isOk());
  EXPECT_NE(other->instance_id, first->instance_id);
}

TEST_F(RuntimeDurabilityTest, InputsAreCheckedAndEveryProblemNamed) {
  auto d = workflow("inputs", {});
  d->inputs.push_back({"meeting", ValueType::kDate, true, std::nullopt, "", {}});
  d->inputs.push_back({"size", ValueType::kNumber, true, std::nullopt, "", {}});
  d->inputs.push_back({"locality", ValueType::kString, false, json("all"), "", {}});
  deploy(d);
  auto bad = runtime_->start("inputs", {{"meeting", "next week"}}, "", "qa-lead");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("meeting"), std::string::npos);
  EXPECT_NE(bad.status().message().find("size: required"), std::string::npos);
  const std::string id = start("inputs", {{"meeting", "2026-11-20"}, {"size", 12}});
  EXPECT_EQ(data(id)["locality"], "all");
  EXPECT_EQ(runtime_->start("nope", json::object(), "", "x").status().code(),
            core::StatusCode::kNotFound);
}

// Stored data read back goes through core::parseStoredJson: a damaged row is a clear error
// naming the instance, never a crash and never a silent reset to {} that the next save keeps.
TEST_F(RuntimeDurabilityTest, DamagedStoredDataIsAnErrorNamingTheInstance) {
  deploy(workflow("audit", {task("review")}));
  const std::string id = start("audit", {{"theme", "Transition"}});
  const std::string task_id = openTasks(id).at(0).id;
  ASSERT_TRUE(store_
                  ->transact([&](store::Transaction& tx) -> core::Status {
                    SENDFLOW_ASSIGN_OR_RETURN(auto i, tx.instance(id));
                    i->data_json = "{\"theme\": \"Transition\", ";  // cut short
                    return tx.updateInstance(*i);
                  })
                  .isOk());
  const core::Status st = runtime_->completeTask(task_id, json::object(), "aud-001");
  EXPECT_EQ(st.code(), core::StatusCode::kInternal);
  EXPECT_NE(
      st.message().find("instance " + id + ": data: stored JSON is damaged: line 1, column 25: "),
      std::string::npos)
      << st.message();
  EXPECT_EQ(openTasks(id).size(), 1u);  // nothing moved on
  EXPECT_EQ(instance(id).data_json, "{\"theme\": \"Transition\", ");
}

TEST_F(RuntimeDurabilityTest, InstancesStayOnTheVersionTheyStartedWith) {
  deploy(workflow("versioned", {task("review"), set("mark", {{"y", "'v1'"}})}), "<v1/>");
  const std::string old_id = start("versioned");
  deploy(workflow("versioned", {task("review"), set("mark", {{"y", "'v2'"}})}), "<v2/>");
  deploy(workflow("versioned", {task("review"), set("mark", {{"y", "'v2'"}})}), "<v2/>");
  const std::string new_id = start("versioned");
  EXPECT_EQ(instance(old_id).definition_version, 1);
  EXPECT_EQ(instance(new_id).definition_version, 2);  // the same source again adds no version
  for (const auto& t : openTasks()) complete(t.id, json::object());
  EXPECT_EQ(data(old_id)["y"], "v1");
  EXPECT_EQ(data(new_id)["y"], "v2");
}

TEST_F(RuntimeDurabilityTest, OldVersionsAreReloadedThroughTheParserAfterARestart) {
  deploy(workflow("versioned", {task("review"), set("mark", {{"y", "'v1'"}})}), "<v1/>");
  const std::string old_id = start("versioned");
  // A new process: only the latest version is loaded from the folder.
  Runtime restarted(*store_, actions_, clock_);
  ASSERT_TRUE(
      restarted
          .deploy(workflow("versioned", {task("review"), set("mark", {{"y", "'v2'"}})}), "<v2/>")
          .isOk());
  std::vector<std::string> parsed;
  restarted.setDefinitionParser(
      [&](const std::string& source,
          const std::string& label) -> core::StatusOr<std::shared_ptr<const Definition>> {
        parsed.push_back(source);
        return std::shared_ptr<const Definition>(
            workflow("versioned", {task("review"), set("mark", {{"y", "'v1 reloaded'"}})}));
      });
  auto tasks = openTasks(old_id);
  ASSERT_EQ(tasks.size(), 1u);
  ASSERT_TRUE(restarted.completeTask(tasks[0].id, json::object(), "auditor").isOk());
  EXPECT_EQ(parsed, std::vector<std::string>{"<v1/>"});
  EXPECT_EQ(data(old_id)["y"], "v1 reloaded");
}

TEST_F(RuntimeDurabilityTest, RetryableFailuresBackOffThenRaiseAnIncident) {
  Step flaky = action("pull", "test.flaky");
  flaky.max_attempts = 3;
  flaky.backoff = E("'PT10S'");
  flaky.max_backoff = E("'PT15S'");
  deploy(workflow("retry", {flaky}));
  flaky_failures_ = 100;
  const std::string id = start("retry");
  EXPECT_EQ(flaky_calls_, 1);
  auto pending = jobs(id);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].attempts, 1);
  // Equal jitter: between half the delay and the delay.
  EXPECT_GE(pending[0].due_at, clock_.now() + std::chrono::seconds(5));
  EXPECT_LE(pending[0].due_at, clock_.now() + std::chrono::seconds(10));
  EXPECT_EQ(*runtime_->runDueJobs(10), 0);
  clock_.advance(std::chrono::seconds(10));
  EXPECT_EQ(*runtime_->runDueJobs(10), 1);
  pending = jobs(id);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].attempts, 2);
  // 20 s capped at 15 s.
  EXPECT_LE(pending[0].due_at, clock_.now() + std::chrono::seconds(15));
  EXPECT_GE(pending[0].due_at, clock_.now() + std::chrono::milliseconds(7500));
  clock_.advance(std::chrono::seconds(15));
  EXPECT_EQ(*runtime_->runDueJobs(10), 1);
  EXPECT_EQ(flaky_calls_, 3);
  EXPECT_EQ(status(id), "incident");
  EXPECT_TRUE(jobs(id).empty());
  auto all = incidents();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_NE(all[0].message.find("3 attempt(s)"), std::string::npos) << all[0].message;
  EXPECT_NE(all[0].message.find("document library is down"), std::string::npos);

  flaky_failures_ = 0;
  ASSERT_TRUE(runtime_->retryIncident(all[0].id, "qa-lead").isOk());
  EXPECT_EQ(status(id), "completed");
  EXPECT_EQ(data(id)["pull"]["attempt"], 1);
  EXPECT_TRUE(incidents()[0].resolved);
}

TEST_F(RuntimeDurabilityTest, ARetrySucceedsWithTheSameIdempotencyKey) {
  deploy(workflow("retry-once", {action("pull", "test.flaky")}));
  flaky_failures_ = 1;
  const std::string id = start("retry-once");
  clock_.advance(std::chrono::minutes(1));
  EXPECT_EQ(*runtime_->runDueJobs(10), 1);
  EXPECT_EQ(status(id), "completed");
  EXPECT_EQ(data(id)["pull"]["attempt"], 2);
  EXPECT_EQ(data(id)["pull"]["key"], id + ":/pull#1");
}

TEST_F(RuntimeDurabilityTest, NonRetryableErrorsRaiseAnIncidentAtOnce) {
  deploy(workflow("broken", {action("check", "test.broken")}));
  const std::string id = start("broken");
  EXPECT_EQ(status(id), "incident");
  ASSERT_EQ(incidents().size(), 1u);
  EXPECT_NE(incidents()[0].message.find("no section F"), std::string::npos);
}

TEST_F(RuntimeDurabilityTest, RemindersBeforeAndEscalationsAfterTheDueDate) {
  Step t = task("audit_plan", "auditor");
  t.assignee = E("who");
  t.due = E("meeting");
  t.reminders.push_back({E("'P2D'"), {}});
  Escalation e;
  e.after = E("'P1D'");
  e.to_role = "qa-lead";
  e.reassign = true;
  t.escalations.push_back(e);
  deploy(workflow("deadline", {t}));
  const std::string id =
      start("deadline", {{"who", "auditor-3"}, {"meeting", "2026-11-10T09:00:00Z"}});
  auto pending = jobs(id);
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].kind, "reminder");
  EXPECT_EQ(pending[0].due_at, at("2026-11-08T09:00:00Z"));
  EXPECT_EQ(pending[1].kind, "escalation");
  EXPECT_EQ(pending[1].due_at, at("2026-11-11T09:00:00Z"));

  clock_.set(at("2026-11-08T09:00:00Z"));
  EXPECT_EQ(*runtime_->runDueJobs(10), 1);
  ASSERT_EQ(outbox().size(), 1u);
  EXPECT_EQ(outbox()[0].recipient, "auditor-3");
  EXPECT_NE(outbox()[0].subject.find("Reminder"), std::string::npos);

  clock_.set(at("2026-11-11T09:00:00Z"));
  EXPECT_EQ(*runtime_->runDueJobs(10), 1);
  ASSERT_EQ(outbox().size(), 2u);
  EXPECT_EQ(outbox()[1].recipient, "role:qa-lead");
  auto tasks = openTasks(id);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].role, "qa-lead");
  EXPECT_EQ(tasks[0].assignee, "");
  auto ev = events(id);
  EXPECT_NE(std::find(ev.begin(), ev.end(), "task.reminded:audit_plan"), ev.end());
  EXPECT_NE(std::find(ev.begin(), ev.end(), "task.escalated:audit_plan"), ev.end());
}

TEST_F(RuntimeDurabilityTest, CompletingATaskCancelsItsReminders) {
  Step t = task("audit_plan");
  t.due = E("meeting");
  t.reminders.push_back({E("'P2D'"), {}});
  deploy(workflow("deadline", {t}));
  const std::string id = start("deadline", {{"meeting", "2026-11-10T09:00:00Z"}});
  EXPECT_EQ(jobs(id).size(), 1u);
  complete(openTasks(id)[0].id, json::object());
  EXPECT_TRUE(jobs(id).empty());
}

TEST_F(RuntimeDurabilityTest, AnInvalidFormChangesNothing) {
  Step t = task("review");
  t.form.fields.push_back(field("grade", FieldType::kGrade, true));
  t.form.fields.push_back(field("score", FieldType::kInteger, true));
  deploy(workflow("form", {t}));
  const std::string id = start("form");
  const auto before = instance(id);
  const auto history_before = history(id).size();
  const std::string task_id = openTasks(id)[0].id;
  auto st = runtime_->completeTask(task_id, {{"grade", "Brilliant"}}, "auditor");
  ASSERT_EQ(st.code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("grade"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("score"), std::string::npos) << st.message();
  const auto after = instance(id);
  EXPECT_EQ(after.revision, before.revision);
  EXPECT_EQ(after.data_json, before.data_json);
  EXPECT_EQ(history(id).size(), history_before);
  EXPECT_EQ(openTasks(id).size(), 1u);
}

TEST_F(RuntimeDurabilityTest, HistoryRecordsWhoWhatWhenAndTheDataBeforeAndAfter) {
  Step review = task("review");
  review.form.fields.push_back(field("ok", FieldType::kBoolean, true));
  deploy(workflow("hist", {review, set("mark", {{"y", "x + 1"}})}));
  const std::string id = start("hist", {{"x", 1}});
  clock_.advance(std::chrono::hours(2));
  complete(openTasks(id)[0].id, {{"ok", true}});
  auto h = history(id);
  ASSERT_EQ(h.size(), 5u);
  EXPECT_EQ(h[0].event, "instance.started");
  EXPECT_EQ(h[0].actor, "qa-lead");
  EXPECT_EQ(h[0].at, at("2026-11-02T09:00:00Z"));
  EXPECT_EQ(h[2].event, "task.completed");
  EXPECT_EQ(h[2].actor, "auditor-1");
  EXPECT_EQ(h[2].at, at("2026-11-02T11:00:00Z"));
  EXPECT_EQ(json::parse(h[2].data_before_json), (json{{"x", 1}}));
  EXPECT_EQ(json::parse(h[2].data_after_json)["review"], (json{{"ok", true}}));
  EXPECT_EQ(h[3].event, "step.completed");
  EXPECT_EQ(json::parse(h[3].data_after_json)["y"], 2);
  EXPECT_EQ(h[4].event, "instance.ended");
}

TEST_F(RuntimeDurabilityTest, AMissedScheduleRunsOnceNotOncePerPeriod) {
  auto d = workflow("daily", {task("review")});
  Schedule s;
  s.id = "every-day";
  s.input = {{"x", 1}};
  d->schedules.push_back(s);
  deploy(d);
  // Every day at 09:00 UTC.
  Scheduler scheduler(*runtime_, clock_, [](const Schedule&, core::TimePoint after) {
    const auto day = std::chrono::floor<std::chrono::days>(after);
    core::TimePoint nine = day + std::chrono::hours(9);
    if (nine <= after) nine += std::chrono::days(1);
    return std::optional<core::TimePoint>(nine);
  });
  EXPECT_EQ(*scheduler.tick(), 0);         // first sight: counts from now
  clock_.set(at("2026-11-06T12:00:00Z"));  // four firings missed
  EXPECT_EQ(*scheduler.tick(), 1);
  EXPECT_EQ(*scheduler.tick(), 0);
  auto tasks = openTasks();
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(instance(tasks[0].instance_id).business_key, "every-day@2026-11-06T09:00:00.000Z");
  EXPECT_EQ(data(tasks[0].instance_id)["x"], 1);
  clock_.set(at("2026-11-07T09:00:00Z"));
  EXPECT_EQ(*scheduler.tick(), 1);
  EXPECT_EQ(openTasks().size(), 2u);
}

TEST_F(RuntimeDurabilityTest, MailSendCommitsToTheOutboxAndTheFolderMailerWritesEml) {
  deploy(workflow("mail", {action("notify", "mail.send",
                                  {{"to", "['lead@council.example', 'role:moderator']"},
                                   {"subject", "'Moderation panel'"},
                                   {"body", "'Week 4 panel.\\nBring your audits.'"}})}));
  const std::string id = start("mail");
  EXPECT_EQ(status(id), "completed");
  ASSERT_EQ(outbox().size(), 2u);
  const auto dir = std::filesystem::temp_directory_path() / ("sendflow-outbox-" + id);
  mail::FolderMailer mailer(dir.string());
  mail::DispatcherOptions options;
  options.sender.address = "sendflow@council.example";
  options.resolver = [](const std::string& to) -> core::StatusOr<std::vector<std::string>> {
    if (to == "role:moderator") return std::vector<std::string>{"moderator@council.example"};
    return mail::resolveAddressOnly(to);
  };
  mail::OutboxDispatcher dispatcher(*store_, mailer, clock_, options);
  EXPECT_EQ(*dispatcher.dispatchPending(10), 2);
  EXPECT_EQ(*dispatcher.dispatchPending(10), 0);
  std::ifstream in(dir / (std::to_string(outbox()[0].id) + ".eml"));
  std::string eml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(eml.find("To: lead@council.example\r\n"), std::string::npos) << eml;
  EXPECT_NE(eml.find("Subject: Moderation panel\r\n"), std::string::npos);
  EXPECT_NE(eml.find("\r\n\r\nWeek 4 panel.\r\nBring your audits."), std::string::npos);
  EXPECT_EQ(outbox()[0].status, "sent");
  std::filesystem::remove_all(dir);
}

TEST_F(RuntimeDurabilityTest, WorkflowStartActionStartsAnotherWorkflowOnce) {
  deploy(workflow("briefing", {task("write")}));
  deploy(workflow("cycle", {action("kick_off", "workflow.start",
                                   {{"workflow", "'briefing'"}, {"input", "plan"}})}));
  const std::string id = start("cycle", {{"plan", {{"x", 1}}}});
  EXPECT_EQ(status(id), "completed");
  auto tasks = openTasks();
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(data(tasks[0].instance_id)["x"], 1);
  EXPECT_EQ(data(id)["kick_off"]["instances"][0], tasks[0].instance_id);
}

TEST_F(RuntimeDurabilityTest, APureActionThatFailsRetriesAsAJob) {
  int failures = 1;
  ASSERT_TRUE(actions_
                  .add(
                      "test.pure_flaky",
                      [&failures](const json&, ActionContext& ctx) -> core::StatusOr<json> {
                        if (failures-- > 0) return core::unavailable("busy");
                        return json{{"attempt", ctx.attempt}};
                      },
                      ActionMode::kInTransaction)
                  .isOk());
  deploy(workflow("pure", {action("compute", "test.pure_flaky")}));
  const std::string id = start("pure");
  EXPECT_EQ(status(id), "running");
  auto pending = jobs(id);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].attempts, 1);
  clock_.advance(std::chrono::seconds(10));
  EXPECT_EQ(*runtime_->runDueJobs(10), 1);
  EXPECT_EQ(status(id), "completed");
  EXPECT_EQ(data(id)["compute"]["attempt"], 2);
}

TEST_F(RuntimeDurabilityTest, RunsTheShippedThreeStepWorkflowFromXml) {
  const std::string file = std::string(SENDFLOW_SOURCE_DIR) + "/workflows/examples/three-step.xml";
  LoadResult loaded = DefinitionLoader::loadFile(file);
  ASSERT_TRUE(loaded.isOk()) << loaded.status().toString();
  std::ifstream in(file);
  std::string source((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_TRUE(runtime_->deploy(loaded.definition, source).isOk());
  const std::string id = start("three-step", {{"reference", "EHCP-0042"}});
  EXPECT_EQ(data(id)["record_start"], (json{{"stage", "start"}, {"reference", "EHCP-0042"}}));
  auto tasks = openTasks(id);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].role, "qa-lead");
  EXPECT_EQ(runtime_->completeTask(tasks[0].id, {{"confirmed", "yes"}}, "lead").code(),
            core::StatusCode::kInvalidArgument);
  complete(tasks[0].id, {{"confirmed", true}, {"note", "checked"}});
  EXPECT_EQ(status(id), "completed");
  EXPECT_EQ(data(id)["record_end"], (json{{"stage", "end"}, {"confirmed", true}}));
}

TEST_F(RuntimeDurabilityTest, WorkerThreadsRunDueTimersAndActionsOnce) {
  Step timer = step("wait", StepKind::kTimer);
  timer.after = E("'PT1H'");
  deploy(workflow("timed", {timer, action("pull", "test.flaky")}));
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(start("timed"));
  std::atomic<int> housekeeping{0};
  WorkerPool pool(*runtime_, {3, std::chrono::milliseconds(5), 4}, [&] { ++housekeeping; });
  pool.start();
  clock_.advance(std::chrono::hours(1));
  for (int spin = 0; spin < 400; ++spin) {
    bool all_done = true;
    for (const auto& id : ids) all_done = all_done && status(id) == "completed";
    if (all_done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pool.stop();
  for (const auto& id : ids) EXPECT_EQ(status(id), "completed") << id;
  EXPECT_EQ(flaky_calls_, 20);    // each action ran once, whichever thread claimed it
  EXPECT_EQ(pool.jobsRun(), 20);  // the timers; each action then ran inline in the same thread
  EXPECT_GT(housekeeping, 0);
  EXPECT_EQ(pool.lastError(), "");
}

TEST(SampleSelectTest, StratifiedSampleIsDeterministicForASeed) {
  json plans = json::array();
  for (int i = 0; i < 30; ++i) {
    plans.push_back({{"id", "P" + std::to_string(i)},
                     {"locality", i % 3 == 0   ? "North"
                                  : i % 3 == 1 ? "South"
                                               : "East"}});
  }
  plans.push_back({{"id", "P-tiny"}, {"locality", "West"}});
  const json params = {{"items", plans}, {"stratify_by", "locality"}, {"per_stratum", 2}};
  auto a = selectSample(params, 2026);
  auto b = selectSample(params, 2026);
  auto c = selectSample(params, 7);
  ASSERT_TRUE(a.isOk() && b.isOk() && c.isOk());
  EXPECT_EQ(*a, *b);
  EXPECT_NE((*a)["sample"], (*c)["sample"]);
  EXPECT_EQ((*a)["seed"], 2026);
  EXPECT_EQ((*a)["sample"].size(), 7u);  // 2 + 2 + 2 + the only West plan
  EXPECT_EQ((*a)["strata"]["West"]["selected"], 1);
  EXPECT_EQ((*a)["strata"]["North"]["available"], 10);
  std::map<std::string, int> per;
  for (const json& p : (*a)["sample"]) per[p["locality"]]++;
  EXPECT_EQ(per["North"], 2);
  EXPECT_EQ(per["South"], 2);
  EXPECT_EQ(per["East"], 2);
  EXPECT_FALSE(selectSample({{"items", "P1"}, {"size", 1}}, 1).isOk());
}

TEST_F(RuntimeDurabilityTest, SampleSelectStoresItsSeedAndRepeatsOnRetry) {
  deploy(
      workflow("sample", {action("pick", "sample.select", {{"items", "plans"}, {"size", "2"}})}));
  const std::string id = start("sample", {{"plans", {"P1", "P2", "P3", "P4", "P5"}}});
  const json picked = data(id)["pick"];
  ASSERT_TRUE(picked.contains("seed"));
  auto again = selectSample({{"items", {"P1", "P2", "P3", "P4", "P5"}}, {"size", 2}},
                            picked["seed"].get<unsigned long long>());
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ((*again)["sample"], picked["sample"]);
}

}  // namespace
}  // namespace sendflow::engine::testing
