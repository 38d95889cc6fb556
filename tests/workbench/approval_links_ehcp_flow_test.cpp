// The shipped EHC plan audit (workflows/ehcp-audit.xml) wired as `sendflow serve` wires it, with
// approval links listening: the approval of a moderation mails each head of service a link to
// approve and one to reject, and following the approve link as that manager moves the plan on.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <sstream>

#include "server/app/engine_services.h"
#include "server/sampledata/library_writer.h"
#include "server/workbench/approval_links.h"

namespace sendflow::workbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ApprovalLinksEhcpFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sendflow-approval-flow-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    sampledata::LibraryOptions library;
    library.plans = 24;
    library.seed = 3;
    library.jobs = 1;
    ASSERT_TRUE(sampledata::writeLibrary((dir_ / "intranet").string(), library).isOk());
    const std::string source = SENDFLOW_SOURCE_DIR;
    app::Settings settings =
        app::Settings::fromMap({{"store.sqlite.path", (dir_ / "sendflow.db").string()},
                                {"workflows.dir", source + "/workflows"},
                                {"templates.dir", source + "/templates"},
                                {"documents.dir", (dir_ / "documents").string()},
                                {"mail.outbox.dir", (dir_ / "outbox").string()},
                                {"council.name", "Sample Council"},
                                {"connector.type", "folder"},
                                {"connector.folder.root", (dir_ / "intranet").string()},
                                {"connector.library", "SEND Library"}},
                               "test.properties");
    std::ostringstream problems;
    auto services = app::openEngine(settings, /*load_definitions=*/true, problems);
    ASSERT_TRUE(services.isOk()) << services.status().toString();
    services_ = std::move(*services);
    ApprovalLinkOptions options;
    options.public_url = "https://sendflow.council.example";
    links_ = std::make_unique<ApprovalLinks>(*services_->runtime, options, *services_->clock);
    services_->runtime->setTaskListener(links_.get());
    const core::Status users = services_->store->transact([&](store::Transaction& tx) {
      for (const auto& [id, name, role] :
           std::vector<std::tuple<std::string, std::string, std::string>>{
               {"mgr-001", "Morgan Grey", "manager"},
               {"mgr-002", "Mina Gill", "manager"},
               {"mod-001", "Molly Dean", "moderator"}}) {
        store::UserRecord u;
        u.id = id;
        u.name = name;
        u.email = id + "@council.example";
        u.roles_json = json::array({role}).dump();
        u.source = "directory";
        u.updated_at = services_->clock->now();
        SENDFLOW_RETURN_IF_ERROR(tx.upsertUser(u));
      }
      return core::Status::ok();
    });
    ASSERT_TRUE(users.isOk()) << users.toString();
  }
  void TearDown() override {
    if (services_) services_->runtime->setTaskListener(nullptr);
    links_.reset();
    services_.reset();
    fs::remove_all(dir_);
  }

  std::vector<store::TaskRecord> openTasks(const std::string& instance) {
    std::vector<store::TaskRecord> tasks;
    const core::Status status = services_->store->transact([&](store::Transaction& tx) {
      SENDFLOW_ASSIGN_OR_RETURN(tasks, tx.listTasks("open", instance, 0));
      return core::Status::ok();
    });
    EXPECT_TRUE(status.isOk()) << status.toString();
    return tasks;
  }
  std::vector<store::OutboxRecord> approvalMails() {
    std::vector<store::OutboxRecord> all, out;
    const core::Status status = services_->store->transact([&](store::Transaction& tx) {
      SENDFLOW_ASSIGN_OR_RETURN(all, tx.listOutbox());
      return core::Status::ok();
    });
    EXPECT_TRUE(status.isOk()) << status.toString();
    for (auto& m : all) {
      if (m.subject.rfind("Approval needed: ", 0) == 0) out.push_back(std::move(m));
    }
    return out;
  }

  fs::path dir_;
  std::unique_ptr<app::EngineServices> services_;
  std::unique_ptr<ApprovalLinks> links_;
};

TEST_F(ApprovalLinksEhcpFlowTest, TheModerationApprovalMailsEachManagerLinksThatDecide) {
  engine::Runtime& runtime = *services_->runtime;
  auto started =
      runtime.start("ehcp-audit", {{"per_locality", 1}, {"lookback", "P3650D"}}, "", "qa-001");
  ASSERT_TRUE(started.isOk()) << started.status().toString();
  const std::string instance = started->instance_id;
  ASSERT_TRUE(runtime.runUntilIdle().isOk());

  // The first audit finds an Inadequate standard, so it goes to moderation.
  auto tasks = openTasks(instance);
  ASSERT_FALSE(tasks.empty());
  ASSERT_EQ(tasks[0].step_id, "audit");
  const json audit = {{"standard_1", "Inadequate"},
                      {"standard_2", "Good"},
                      {"standard_3", "Good"},
                      {"standard_4", "Good"},
                      {"standard_5", "Good"},
                      {"evidence", "Read the plan and advice."},
                      {"concerns", "The child's views are missing."}};
  ASSERT_TRUE(runtime.completeTask(tasks[0].id, audit, "aud-001").isOk());
  ASSERT_TRUE(runtime.runUntilIdle().isOk());
  EXPECT_TRUE(approvalMails().empty());

  std::string moderation;
  for (const auto& t : openTasks(instance)) {
    if (t.step_id == "moderate") moderation = t.id;
  }
  ASSERT_FALSE(moderation.empty());
  ASSERT_TRUE(runtime
                  .completeTask(moderation,
                                {{"moderated_grade", "Requires Improvement"},
                                 {"agreement", "Partly agree"},
                                 {"findings", "The views are in the advice, not the plan."}},
                                "mod-001")
                  .isOk());
  ASSERT_TRUE(runtime.runUntilIdle().isOk());

  std::string approval;
  json subject;
  for (const auto& t : openTasks(instance)) {
    if (t.step_id != "approve_moderation") continue;
    approval = t.id;
    subject = json::parse(t.subject_json);
  }
  ASSERT_FALSE(approval.empty());
  const std::string plan_ref = subject.value("plan_ref", "");
  ASSERT_FALSE(plan_ref.empty()) << subject.dump();

  const auto mails = approvalMails();
  ASSERT_EQ(mails.size(), 2u);
  std::string mgr1_approve;
  for (const auto& mail : mails) {
    EXPECT_TRUE(mail.recipient == "mgr-001@council.example" ||
                mail.recipient == "mgr-002@council.example")
        << mail.recipient;
    EXPECT_EQ(mail.subject,
              "Approval needed: Approve the moderation outcome \xE2\x80\x94 plan " + plan_ref);
    EXPECT_NE(mail.body.find("Moderated grade: Requires Improvement"), std::string::npos)
        << mail.body;
    EXPECT_NE(mail.body.find("Auditor's overall grade: Inadequate"), std::string::npos);
    EXPECT_NE(mail.body.find("Moderated by: Molly Dean"), std::string::npos);
    EXPECT_NE(mail.body.find("Workflow: Monthly EHC plan audit"), std::string::npos);
    EXPECT_NE(mail.body.find("https://sendflow.council.example/tasks/" + approval),
              std::string::npos);
    static const std::regex kApprove(
        "To approve, open:\\nhttps://sendflow\\.council\\.example/approvals/([A-Za-z0-9_-]{43})");
    static const std::regex kReject(
        "To reject and send it back, open:\\nhttps://sendflow\\.council\\.example/approvals/"
        "([A-Za-z0-9_-]{43})");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(mail.body, m, kApprove)) << mail.body;
    if (mail.recipient == "mgr-001@council.example") mgr1_approve = m[1];
    EXPECT_TRUE(std::regex_search(mail.body, m, kReject)) << mail.body;
    EXPECT_NE(mail.html_body.find(">Approve</a>"), std::string::npos);
  }
  ASSERT_FALSE(mgr1_approve.empty());

  auth::Principal manager;
  manager.id = "mgr-001";
  manager.roles = {"manager"};
  RequestOrigin origin;
  origin.client_address = "198.51.100.7";
  auto decided = links_->decide(manager, mgr1_approve, "", origin);
  ASSERT_TRUE(decided.isOk()) << decided.status().toString();
  EXPECT_EQ(decided->outcome, ApprovalOutcome::kDecided);
  ASSERT_TRUE(runtime.runUntilIdle().isOk());
  for (const auto& t : openTasks(instance)) EXPECT_NE(t.id, approval);
}

}  // namespace
}  // namespace sendflow::workbench
