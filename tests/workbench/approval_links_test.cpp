// Email approval links on a temporary SQLite store: the mail each approver gets, the hashed
// single-use tokens, inspecting without change, deciding in the task's transaction, binding to
// the approver, expiry, and a rolled-back transition leaving nothing behind.

#include "server/workbench/approval_links.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

#include "server/core/clock.h"
#include "server/engine/action_registry.h"
#include "server/engine/builtin_actions.h"
#include "server/engine/definition_loader.h"
#include "server/engine/runtime.h"
#include "server/store/sqlite_store.h"

namespace sendflow::workbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

core::TimePoint at(const std::string& iso) {
  core::TimePoint t;
  EXPECT_TRUE(core::parseIso8601(iso, t)) << iso;
  return t;
}

// One moderation and its approval per plan: the shape of the shipped audit's for-each body.
const char kWorkflow[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:sendflow:workflow:1" id="moderation-approval" version="1"
          title="Moderation approval">
  <roles>
    <role id="moderator" title="Moderator"/>
    <role id="manager" title="Head of service"/>
  </roles>
  <inputs>
    <input name="plans" type="list"/>
    <input name="approver" type="string" default=""/>
  </inputs>
  <steps>
    <foreach id="each" title="Each plan" items="plans" as="plan">
      <set id="grade" title="Take the auditor's grade">
        <assign name="overall_grade" expr="plan.grade"/>
      </set>
      <task id="moderate" title="Moderate the audit" role="moderator">
        <form>
          <field name="moderated_grade" type="grade" required="true" label="Moderated grade"/>
        </form>
      </task>
      <approval id="approve" title="Approve the moderation outcome" role="manager"
                due="today + 3 days" on-reject="moderate">
        <description>Approve the moderated grade and actions, or send them back to the
          moderator.</description>
      </approval>
    </foreach>
  </steps>
</workflow>
)";

// The same approval without a due date, assigned to one person by input.
const char kUndatedWorkflow[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:sendflow:workflow:1" id="undated-approval" version="1"
          title="Undated approval">
  <roles>
    <role id="manager" title="Head of service"/>
  </roles>
  <inputs>
    <input name="approver" type="string"/>
  </inputs>
  <steps>
    <approval id="sign_off" title="Sign off the findings" role="manager" assignee="approver">
      <description>Sign off the term's findings.</description>
    </approval>
  </steps>
</workflow>
)";

struct Link {
  std::string approve;
  std::string reject;
};

// The approve and reject tokens in a mail body.
Link linksIn(const std::string& body) {
  Link out;
  static const std::regex kApprove("To approve, open:\\n\\S+/approvals/([A-Za-z0-9_-]+)");
  static const std::regex kReject(
      "To reject and send it back, open:\\n\\S+/approvals/([A-Za-z0-9_-]+)");
  std::smatch m;
  if (std::regex_search(body, m, kApprove)) out.approve = m[1];
  if (std::regex_search(body, m, kReject)) out.reject = m[1];
  return out;
}

// Fails every taskCreated after the wrapped listener wrote its part.
class FailingAfter final : public engine::TaskListener {
 public:
  explicit FailingAfter(engine::TaskListener& inner) : inner_(inner) {}
  core::Status taskCreated(store::Transaction& tx, const store::TaskRecord& task,
                           const engine::Step& step, const json& context) override {
    SENDFLOW_RETURN_IF_ERROR(inner_.taskCreated(tx, task, step, context));
    return task.kind == "approval" ? core::unavailable("the mail relay is down (test)")
                                   : core::Status::ok();
  }

 private:
  engine::TaskListener& inner_;
};

class ApprovalLinksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sendflow-approval-links-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto opened = store::SqliteStore::open((dir_ / "sendflow.db").string());
    ASSERT_TRUE(opened.isOk()) << opened.status().toString();
    store_ = std::move(*opened);
    ASSERT_TRUE(engine::registerBuiltinActions(actions_).isOk());
    runtime_ = std::make_unique<engine::Runtime>(*store_, actions_, clock_);
    for (const char* text : {kWorkflow, kUndatedWorkflow}) {
      auto loaded = engine::DefinitionLoader::loadString(text, "test.xml");
      ASSERT_TRUE(loaded.isOk()) << loaded.status().toString();
      ASSERT_TRUE(runtime_->deploy(loaded.definition, text).isOk());
    }
    ApprovalLinkOptions options;
    options.public_url = "https://sendflow.council.example/";
    links_ = std::make_unique<ApprovalLinks>(*runtime_, options, clock_);
    runtime_->setTaskListener(links_.get());

    addUser("mgr-001", "Morgan Grey", "mgr-001@council.example", {"manager"});
    addUser("mgr-002", "Mina Gill", "mgr-002@council.example", {"manager", "qa-lead"});
    addUser("mgr-003", "Max Green", "", {"manager"});  // no address: no mail
    addUser("mod-001", "Molly Dean", "mod-001@council.example", {"moderator"});
    addUser("aud-001", "Ada Ford", "aud-001@council.example", {"auditor"});
  }
  void TearDown() override {
    runtime_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  void addUser(const std::string& id, const std::string& name, const std::string& email,
               const std::vector<std::string>& roles) {
    store::UserRecord u;
    u.id = id;
    u.name = name;
    u.email = email;
    u.roles_json = json(roles).dump();
    u.source = "directory";
    u.updated_at = clock_.now();
    ASSERT_TRUE(store_->transact([&](store::Transaction& tx) { return tx.upsertUser(u); }).isOk());
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
  std::vector<store::OutboxRecord> outbox() {
    return read<std::vector<store::OutboxRecord>>(
        [](store::Transaction& tx) { return tx.listOutbox(); });
  }
  std::vector<store::TaskRecord> tasks(const std::string& status) {
    return read<std::vector<store::TaskRecord>>(
        [&](store::Transaction& tx) { return tx.listTasks(status, "", 0); });
  }
  std::optional<store::TaskRecord> task(const std::string& id) {
    return read<std::optional<store::TaskRecord>>(
        [&](store::Transaction& tx) { return tx.task(id); });
  }
  std::vector<store::ApprovalTokenRecord> tokens(const std::string& task_id) {
    return read<std::vector<store::ApprovalTokenRecord>>(
        [&](store::Transaction& tx) { return tx.listApprovalTokens(task_id); });
  }
  std::vector<store::HistoryRecord> history(const std::string& instance) {
    return read<std::vector<store::HistoryRecord>>(
        [&](store::Transaction& tx) { return tx.listHistory(instance); });
  }

  // Starts the moderation workflow for one plan and completes the moderation as mod-001;
  // returns the open approval task.
  store::TaskRecord startToApproval(const std::string& moderator = "mod-001",
                                    const std::string& contributor = "ep-052") {
    auto started = runtime_->start("moderation-approval",
                                   {{"plans", json::array({{{"plan_ref", "SF-2024-00004"},
                                                            {"grade", "Inadequate"},
                                                            {"caseworker", "cw-014"},
                                                            {"contributors", {contributor}},
                                                            {"year_group", "9"}}})}},
                                   "", "qa-001");
    EXPECT_TRUE(started.isOk()) << started.status().toString();
    instance_ = started.isOk() ? started->instance_id : "";
    auto open = tasks("open");
    EXPECT_EQ(open.size(), 1u);
    if (open.size() != 1u) return {};
    EXPECT_EQ(open[0].step_id, "moderate");
    const core::Status done = runtime_->completeTask(
        open[0].id, {{"moderated_grade", "Requires Improvement"}}, moderator);
    EXPECT_TRUE(done.isOk()) << done.toString();
    open = tasks("open");
    EXPECT_EQ(open.size(), 1u);
    if (open.size() != 1u) return {};
    EXPECT_EQ(open[0].kind, "approval");
    return open[0];
  }

  // The mail to `address`, if exactly one was queued.
  std::optional<store::OutboxRecord> mailTo(const std::string& address) {
    std::optional<store::OutboxRecord> found;
    int count = 0;
    for (const auto& m : outbox()) {
      if (m.recipient == address) {
        found = m;
        ++count;
      }
    }
    EXPECT_LE(count, 1) << "more than one mail to " << address;
    return found;
  }

  auth::Principal principal(const std::string& id, std::set<std::string> roles = {"manager"}) {
    auth::Principal p;
    p.id = id;
    p.name = id;
    p.roles = std::move(roles);
    p.via = "session";
    return p;
  }
  RequestOrigin origin() {
    RequestOrigin o;
    o.client_address = "192.0.2.10";
    o.user_agent = "Mozilla/5.0 (test)";
    o.request_id = "req-123";
    o.channel = "email-link";
    return o;
  }

  fs::path dir_;
  core::ManualClock clock_{at("2026-11-02T09:00:00Z")};
  std::unique_ptr<store::Store> store_;
  engine::ActionRegistry actions_;
  std::unique_ptr<engine::Runtime> runtime_;
  std::unique_ptr<ApprovalLinks> links_;
  std::string instance_;
};

TEST_F(ApprovalLinksTest, EachApproverWithAnAddressGetsOneMailWithBothLinks) {
  const store::TaskRecord approval = startToApproval();
  std::vector<store::OutboxRecord> mails = outbox();
  ASSERT_EQ(mails.size(), 2u);  // mgr-001 and mgr-002; mgr-003 has no address
  for (const char* who : {"mgr-001@council.example", "mgr-002@council.example"}) {
    auto mail = mailTo(who);
    ASSERT_TRUE(mail) << who;
    EXPECT_EQ(mail->subject,
              "Approval needed: Approve the moderation outcome \xE2\x80\x94 plan SF-2024-00004");
    EXPECT_EQ(mail->instance_id, instance_);
    const Link link = linksIn(mail->body);
    EXPECT_EQ(link.approve.size(), 43u) << mail->body;
    EXPECT_EQ(link.reject.size(), 43u) << mail->body;
    EXPECT_NE(link.approve, link.reject);
    for (const std::string& body : {mail->body, mail->html_body}) {
      EXPECT_NE(body.find("https://sendflow.council.example/approvals/" + link.approve),
                std::string::npos);
      EXPECT_NE(body.find("https://sendflow.council.example/approvals/" + link.reject),
                std::string::npos);
      EXPECT_NE(body.find("https://sendflow.council.example/tasks/" + approval.id),
                std::string::npos);
      EXPECT_NE(body.find("SF-2024-00004"), std::string::npos);
      EXPECT_NE(body.find("Requires Improvement"), std::string::npos);  // moderated grade
      EXPECT_NE(body.find("Inadequate"), std::string::npos);            // auditor's grade
      EXPECT_NE(body.find("Molly Dean"), std::string::npos);            // who moderated
      EXPECT_NE(body.find("5 November 2026"), std::string::npos);       // due date
      EXPECT_NE(body.find("Approve the moderated grade and actions, or send them back to the "
                          "moderator."),
                std::string::npos);
      EXPECT_NE(body.find("sign in with your intranet account and do nothing until you confirm"),
                std::string::npos);
      // No other child data: not the caseworker, the contributors or the year group.
      EXPECT_EQ(body.find("cw-014"), std::string::npos);
      EXPECT_EQ(body.find("ep-052"), std::string::npos);
      EXPECT_EQ(body.find("Year"), std::string::npos);
    }
    EXPECT_NE(mail->html_body.find(">Approve</a>"), std::string::npos);
    EXPECT_NE(mail->html_body.find("<html lang=\"en\">"), std::string::npos);
    EXPECT_EQ(mail->html_body.find("<img"), std::string::npos);
  }
  // Two tokens per approver with an address, bound to the task, expiring 2 days after the due.
  const auto stored = tokens(approval.id);
  ASSERT_EQ(stored.size(), 4u);
  for (const auto& t : stored) {
    EXPECT_EQ(t.task_id, approval.id);
    EXPECT_TRUE(t.approver == "mgr-001" || t.approver == "mgr-002") << t.approver;
    EXPECT_TRUE(t.decision == "approve" || t.decision == "reject");
    ASSERT_TRUE(approval.due_at);
    EXPECT_EQ(t.expires_at, *approval.due_at + std::chrono::hours(48));
    EXPECT_FALSE(t.used_at);
  }
}

TEST_F(ApprovalLinksTest, OnlyTheHashOfATokenIsStored) {
  const store::TaskRecord approval = startToApproval();
  const auto mail = mailTo("mgr-001@council.example");
  ASSERT_TRUE(mail);
  const Link link = linksIn(mail->body);
  ASSERT_FALSE(link.approve.empty());
  bool found = false;
  for (const auto& t : tokens(approval.id)) {
    EXPECT_NE(t.token_hash, link.approve);
    EXPECT_EQ(t.token_hash.size(), 64u);
    if (t.token_hash == ApprovalLinks::hashToken(link.approve)) {
      found = true;
      EXPECT_EQ(t.approver, "mgr-001");
      EXPECT_EQ(t.decision, "approve");
    }
  }
  EXPECT_TRUE(found);
  // Nor is the token anywhere in the database files (outside the outbox mail).
  for (const auto& entry : fs::directory_iterator(dir_)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::size_t from = 0, hits = 0, in_mail = 0;
    while ((from = bytes.find(link.approve, from)) != std::string::npos) {
      ++hits;
      if (from >= 11 && bytes.compare(from - 11, 11, "/approvals/") == 0) ++in_mail;
      from += link.approve.size();
    }
    EXPECT_EQ(hits, in_mail) << entry.path().filename() << " holds the token outside a mail";
  }
}

TEST_F(ApprovalLinksTest, InspectChangesNothing) {
  const store::TaskRecord approval = startToApproval();
  const Link link = linksIn(mailTo("mgr-001@council.example")->body);
  const auto tokens_before = tokens(approval.id);
  const auto history_before = history(instance_);
  for (int i = 0; i < 3; ++i) {  // a mail scanner opens the link again and again
    auto view = links_->inspect(link.approve);
    ASSERT_TRUE(view.isOk()) << view.status().toString();
    EXPECT_EQ(view->state, ApprovalLinkState::kValid);
    EXPECT_EQ(view->decision, "approve");
    EXPECT_EQ(view->approver, "mgr-001");
    EXPECT_EQ(view->task_id, approval.id);
    EXPECT_EQ(view->task_title, "Approve the moderation outcome");
    EXPECT_EQ(view->workflow_title, "Moderation approval");
    EXPECT_EQ(view->plan_reference, "SF-2024-00004");
    EXPECT_NE(view->description.find("Approve the moderated grade"), std::string::npos);
  }
  EXPECT_EQ(task(approval.id)->status, "open");
  const auto tokens_after = tokens(approval.id);
  ASSERT_EQ(tokens_after.size(), tokens_before.size());
  for (std::size_t i = 0; i < tokens_after.size(); ++i) EXPECT_FALSE(tokens_after[i].used_at);
  EXPECT_EQ(history(instance_).size(), history_before.size());

  auto unknown = links_->inspect(std::string(43, 'A'));
  ASSERT_TRUE(unknown.isOk());
  EXPECT_EQ(unknown->state, ApprovalLinkState::kUnknown);
  EXPECT_TRUE(unknown->task_id.empty());
  auto malformed = links_->inspect("../../etc/passwd");
  ASSERT_TRUE(malformed.isOk());
  EXPECT_EQ(malformed->state, ApprovalLinkState::kUnknown);
}

TEST_F(ApprovalLinksTest, DecideCompletesTheTaskAndUsesTheTokenTogether) {
  const store::TaskRecord approval = startToApproval();
  const Link link = linksIn(mailTo("mgr-001@council.example")->body);
  clock_.advance(std::chrono::hours(1));
  auto decided =
      links_->decide(principal("mgr-001"), link.approve, "Agreed with the panel.", origin());
  ASSERT_TRUE(decided.isOk()) << decided.status().toString();
  EXPECT_EQ(decided->outcome, ApprovalOutcome::kDecided);
  EXPECT_EQ(decided->decision, "approve");
  EXPECT_EQ(decided->task_id, approval.id);
  EXPECT_EQ(decided->instance_id, instance_);

  const auto done = task(approval.id);
  EXPECT_EQ(done->status, "completed");
  EXPECT_EQ(done->completed_by, "mgr-001");
  EXPECT_EQ(json::parse(done->result_json),
            json({{"decision", "approve"}, {"comment", "Agreed with the panel."}}));
  bool used = false;
  for (const auto& t : tokens(approval.id)) {
    if (t.token_hash != ApprovalLinks::hashToken(link.approve)) {
      EXPECT_FALSE(t.used_at);
      continue;
    }
    used = true;
    ASSERT_TRUE(t.used_at);
    EXPECT_EQ(*t.used_at, at("2026-11-02T10:00:00Z"));
    EXPECT_EQ(t.used_from, "192.0.2.10");
  }
  EXPECT_TRUE(used);
  int rows = 0;
  for (const auto& h : history(instance_)) {
    if (h.event != "task.completed" || h.step_id != "approve") continue;
    ++rows;
    const json detail = json::parse(h.detail_json);
    EXPECT_EQ(h.actor, "mgr-001");
    EXPECT_EQ(detail.value("via", ""), "email-link");
    EXPECT_EQ(detail.value("client", ""), "192.0.2.10");
    EXPECT_EQ(detail.value("user_agent", ""), "Mozilla/5.0 (test)");
    EXPECT_EQ(detail.value("request_id", ""), "req-123");
    EXPECT_EQ(h.detail_json.find(link.approve), std::string::npos);
  }
  EXPECT_EQ(rows, 1);
  EXPECT_EQ(links_->inspect(link.approve)->state, ApprovalLinkState::kUsed);
}

TEST_F(ApprovalLinksTest, AUserAgentThatIsNotUtf8IsRecordedReplaced) {
  startToApproval();
  const Link link = linksIn(mailTo("mgr-001@council.example")->body);
  RequestOrigin o = origin();
  o.user_agent = "Scanner\xff\xfe/1.0";
  auto decided = links_->decide(principal("mgr-001"), link.approve, "", o);
  ASSERT_TRUE(decided.isOk()) << decided.status().toString();
  EXPECT_EQ(decided->outcome, ApprovalOutcome::kDecided);
  bool found = false;
  for (const auto& h : history(instance_)) {
    if (h.event != "task.completed" || h.step_id != "approve") continue;
    found = true;
    const std::string agent = json::parse(h.detail_json).value("user_agent", "");
    EXPECT_EQ(agent.rfind("Scanner", 0), 0u) << agent;
  }
  EXPECT_TRUE(found);
}

TEST_F(ApprovalLinksTest, ASecondDecideAnswersAlreadyDecided) {
  const store::TaskRecord approval = startToApproval();
  const Link link = linksIn(mailTo("mgr-001@council.example")->body);
  ASSERT_TRUE(links_->decide(principal("mgr-001"), link.approve, "", origin()).isOk());
  const auto history_before = history(instance_);
  auto again = links_->decide(principal("mgr-001"), link.approve, "", origin());
  ASSERT_TRUE(again.isOk()) << again.status().toString();
  EXPECT_EQ(again->outcome, ApprovalOutcome::kAlreadyDecided);
  EXPECT_EQ(again->decision, "approve");
  EXPECT_EQ(history(instance_).size(), history_before.size());
}

TEST_F(ApprovalLinksTest, TheOtherDecisionOfTheSameApproverNoLongerWorks) {
  const store::TaskRecord approval = startToApproval();
  const Link mine = linksIn(mailTo("mgr-001@council.example")->body);
  const Link theirs = linksIn(mailTo("mgr-002@council.example")->body);
  ASSERT_TRUE(links_->decide(principal("mgr-001"), mine.approve, "", origin()).isOk());
  EXPECT_EQ(links_->inspect(mine.reject)->state, ApprovalLinkState::kClosed);
  EXPECT_EQ(links_->inspect(theirs.approve)->state, ApprovalLinkState::kClosed);
  auto reject = links_->decide(principal("mgr-001"), mine.reject, "", origin());
  ASSERT_TRUE(reject.isOk()) << reject.status().toString();
  EXPECT_EQ(reject->outcome, ApprovalOutcome::kAlreadyDecided);
  auto other = links_->decide(principal("mgr-002"), theirs.reject, "", origin());
  ASSERT_TRUE(other.isOk()) << other.status().toString();
  EXPECT_EQ(other->outcome, ApprovalOutcome::kAlreadyDecided);
  const auto done = task(approval.id);
  EXPECT_EQ(json::parse(done->result_json).value("decision", ""), "approve");
  for (const auto& t : tokens(approval.id)) {
    EXPECT_EQ(t.used_at.has_value(), t.token_hash == ApprovalLinks::hashToken(mine.approve));
  }
}

TEST_F(ApprovalLinksTest, AnotherSignedInUserIsRefusedAndNothingChanges) {
  const store::TaskRecord approval = startToApproval();
  const Link link = linksIn(mailTo("mgr-001@council.example")->body);
  const auto history_before = history(instance_);
  // A forwarded mail: another manager, an admin and a stranger follow mgr-001's link.
  for (const auth::Principal& who :
       {principal("mgr-002"), principal("adm-001", {"admin"}), principal("aud-001", {"auditor"})}) {
    auto decided = links_->decide(who, link.reject, "", origin());
    ASSERT_FALSE(decided.isOk()) << who.id;
    EXPECT_EQ(decided.status().code(), core::StatusCode::kPermissionDenied) << who.id;
  }
  EXPECT_EQ(task(approval.id)->status, "open");
  for (const auto& t : tokens(approval.id)) EXPECT_FALSE(t.used_at);
  EXPECT_EQ(history(instance_).size(), history_before.size());
  EXPECT_EQ(links_->inspect(link.reject)->state, ApprovalLinkState::kValid);
  // The approver it was sent to still can.
  auto decided = links_->decide(principal("mgr-001"), link.reject, "Send back", origin());
  ASSERT_TRUE(decided.isOk()) << decided.status().toString();
  EXPECT_EQ(decided->outcome, ApprovalOutcome::kDecided);
  // Rejected: back to the moderator.
  const auto open = tasks("open");
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].step_id, "moderate");
}

TEST_F(ApprovalLinksTest, AReassignedApprovalTakesTheOtherApproversLinksAway) {
  const store::TaskRecord approval = startToApproval();
  const Link mine = linksIn(mailTo("mgr-001@council.example")->body);
  const Link theirs = linksIn(mailTo("mgr-002@council.example")->body);
  ASSERT_TRUE(runtime_->assignTask(approval.id, "mgr-002", "qa-001").isOk());
  EXPECT_EQ(links_->inspect(mine.approve)->state, ApprovalLinkState::kClosed);
  auto refused = links_->decide(principal("mgr-001"), mine.approve, "", origin());
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), core::StatusCode::kPermissionDenied);
  EXPECT_EQ(task(approval.id)->status, "open");
  EXPECT_EQ(links_->inspect(theirs.approve)->state, ApprovalLinkState::kValid);
  auto decided = links_->decide(principal("mgr-002"), theirs.approve, "", origin());
  ASSERT_TRUE(decided.isOk()) << decided.status().toString();
  EXPECT_EQ(decided->outcome, ApprovalOutcome::kDecided);
}

TEST_F(ApprovalLinksTest, AnApproverWhoLostTheRoleCannotDecide) {
  const store::TaskRecord approval = startToApproval();
  const Link link = linksIn(mailTo("mgr-001@council.example")->body);
  auto refused = links_->decide(principal("mgr-001", {"auditor"}), link.approve, "", origin());
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), core::StatusCode::kPermissionDenied);
  EXPECT_EQ(task(approval.id)->status, "open");
  for (const auto& t : tokens(approval.id)) EXPECT_FALSE(t.used_at);
}

TEST_F(ApprovalLinksTest, ConflictedPeopleGetNoLinks) {
  // mgr-001 contributed to the plan; mgr-002 moderated it: neither may approve the outcome.
  const store::TaskRecord approval = startToApproval("mgr-002", "mgr-001");
  EXPECT_TRUE(outbox().empty());
  EXPECT_TRUE(tokens(approval.id).empty());
}

TEST_F(ApprovalLinksTest, UnknownAndMalformedTokensAreNotFound) {
  startToApproval();
  for (const std::string& token : {std::string(43, 'A'), std::string("short"), std::string()}) {
    auto decided = links_->decide(principal("mgr-001"), token, "", origin());
    ASSERT_FALSE(decided.isOk());
    EXPECT_EQ(decided.status().code(), core::StatusCode::kNotFound);
  }
  const Link link = linksIn(mailTo("mgr-001@council.example")->body);
  auto bad_text = links_->decide(principal("mgr-001"), link.approve, "ok \xff\xfe", origin());
  ASSERT_FALSE(bad_text.isOk());
  EXPECT_EQ(bad_text.status().code(), core::StatusCode::kInvalidArgument);
  auto long_comment =
      links_->decide(principal("mgr-001"), link.approve, std::string(4001, 'x'), origin());
  ASSERT_FALSE(long_comment.isOk());
  EXPECT_EQ(long_comment.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(long_comment.status().message().find("comment"), std::string::npos);
}

TEST_F(ApprovalLinksTest, AnExpiredLinkDecidesNothing) {
  const store::TaskRecord approval = startToApproval();
  const Link link = linksIn(mailTo("mgr-001@council.example")->body);
  ASSERT_TRUE(approval.due_at);
  // Valid until the due date plus the grace of two days...
  clock_.set(*approval.due_at + std::chrono::hours(47));
  EXPECT_EQ(links_->inspect(link.approve)->state, ApprovalLinkState::kValid);
  // ...and not after.
  clock_.set(*approval.due_at + std::chrono::hours(48));
  auto view = links_->inspect(link.approve);
  ASSERT_TRUE(view.isOk());
  EXPECT_EQ(view->state, ApprovalLinkState::kExpired);
  auto decided = links_->decide(principal("mgr-001"), link.approve, "", origin());
  ASSERT_FALSE(decided.isOk());
  EXPECT_EQ(decided.status().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_EQ(task(approval.id)->status, "open");
  for (const auto& t : tokens(approval.id)) EXPECT_FALSE(t.used_at);
}

TEST_F(ApprovalLinksTest, AnUndatedApprovalGoesToItsAssigneeAndExpiresAfterTheMaximumAge) {
  auto started = runtime_->start("undated-approval", {{"approver", "mgr-002"}}, "", "qa-001");
  ASSERT_TRUE(started.isOk()) << started.status().toString();
  const auto open = tasks("open");
  ASSERT_EQ(open.size(), 1u);
  EXPECT_FALSE(open[0].due_at);
  const auto mails = outbox();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0].recipient, "mgr-002@council.example");
  EXPECT_EQ(mails[0].subject, "Approval needed: Sign off the findings");
  EXPECT_EQ(mails[0].body.find("Due:"), std::string::npos);
  const Link link = linksIn(mails[0].body);
  for (const auto& t : tokens(open[0].id)) {
    EXPECT_EQ(t.approver, "mgr-002");
    EXPECT_EQ(t.expires_at, at("2026-11-16T09:00:00Z"));
  }
  clock_.set(at("2026-11-16T09:00:00Z"));
  EXPECT_EQ(links_->inspect(link.approve)->state, ApprovalLinkState::kExpired);
}

TEST_F(ApprovalLinksTest, ARolledBackTransitionLeavesNoTokenAndNoMail) {
  FailingAfter failing(*links_);
  runtime_->setTaskListener(&failing);
  auto started = runtime_->start(
      "moderation-approval", {{"plans", json::array({{{"plan_ref", "SF-1"}, {"grade", "Good"}}})}},
      "", "qa-001");
  ASSERT_TRUE(started.isOk()) << started.status().toString();
  const auto open = tasks("open");
  ASSERT_EQ(open.size(), 1u);
  const core::Status refused =
      runtime_->completeTask(open[0].id, {{"moderated_grade", "Good"}}, "mod-001");
  EXPECT_EQ(refused.code(), core::StatusCode::kUnavailable) << refused.toString();
  // The moderation is still open, no approval exists, and neither do tokens or mails.
  const auto still = tasks("open");
  ASSERT_EQ(still.size(), 1u);
  EXPECT_EQ(still[0].step_id, "moderate");
  EXPECT_EQ(tasks("").size(), 1u);
  EXPECT_TRUE(outbox().empty());
  const long long token_rows =
      read<long long>([&](store::Transaction& tx) -> core::StatusOr<long long> {
        SENDFLOW_ASSIGN_OR_RETURN(auto all, tx.listTasks("", "", 0));
        long long n = 0;
        for (const auto& t : all) {
          SENDFLOW_ASSIGN_OR_RETURN(auto list, tx.listApprovalTokens(t.id));
          n += static_cast<long long>(list.size());
        }
        return n;
      });
  EXPECT_EQ(token_rows, 0);
  // The same step succeeds once the listener does: the links were what the failure undid.
  runtime_->setTaskListener(links_.get());
  ASSERT_TRUE(runtime_->completeTask(open[0].id, {{"moderated_grade", "Good"}}, "mod-001").isOk());
  EXPECT_EQ(outbox().size(), 2u);
}

}  // namespace
}  // namespace sendflow::workbench
