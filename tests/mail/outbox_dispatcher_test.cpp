// The outbox dispatcher on an in-memory SQLite store with a ManualClock: sending, the backoff
// schedule, giving up, permanent failures, recipient resolution and the failure log.
#include "server/mail/outbox_dispatcher.h"

#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <fstream>

#include "server/mail/folder_mailer.h"
#include "server/store/sqlite_store.h"
#include "tests/mail/message_reader.h"

namespace sendflow::mail {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// A transport whose answers the test scripts; it keeps what it was given.
class ScriptedMailer final : public Mailer {
 public:
  core::Status send(const OutgoingMessage& message) override {
    sent.push_back(message);
    if (answers.empty()) return core::Status::ok();
    core::Status next = answers.front();
    answers.pop_front();
    return next;
  }
  void endBatch() override { ++batches; }

  std::deque<core::Status> answers;
  std::vector<OutgoingMessage> sent;
  int batches = 0;
};

class OutboxDispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(":memory:");
    ASSERT_TRUE(opened.isOk()) << opened.status().toString();
    store_ = std::move(*opened);
    options_.sender = {"sendflow@council.example", "SEND QA"};
    options_.jitter = [this] { return jitter_; };
    options_.log = [this](const std::string& line) { log_.push_back(line); };
  }

  long long queue(const std::string& recipient, const std::string& subject = "Reminder") {
    store::OutboxRecord r;
    r.instance_id = "inst-1";
    r.recipient = recipient;
    r.subject = subject;
    r.body = "Your review is due: https://sendflow.example/tasks/1";
    r.created_at = clock_.now();
    r.next_attempt_at = clock_.now();
    EXPECT_TRUE(
        store_->transact([&](store::Transaction& tx) { return tx.insertOutbox(r); }).isOk());
    return r.id;
  }

  store::OutboxRecord record(long long id) {
    std::vector<store::OutboxRecord> all;
    EXPECT_TRUE(store_
                    ->transact([&](store::Transaction& tx) -> core::Status {
                      SENDFLOW_ASSIGN_OR_RETURN(all, tx.listOutbox());
                      return core::Status::ok();
                    })
                    .isOk());
    for (const auto& r : all) {
      if (r.id == id) return r;
    }
    ADD_FAILURE() << "no outbox record " << id;
    return {};
  }

  OutboxDispatcher dispatcher() { return OutboxDispatcher(*store_, mailer_, clock_, options_); }

  core::ManualClock clock_{core::TimePoint(hours(24 * 20'000))};
  std::unique_ptr<store::Store> store_;
  ScriptedMailer mailer_;
  DispatcherOptions options_;
  double jitter_ = 0.999;
  std::vector<std::string> log_;
};

TEST(BackoffTest, DoublesFromTheInitialDelayUpToTheCap) {
  RetryPolicy policy;  // 1m, 1h
  const std::vector<milliseconds> full = {minutes(1),  minutes(2),  minutes(4), minutes(8),
                                          minutes(16), minutes(32), hours(1),   hours(1)};
  for (std::size_t i = 0; i < full.size(); ++i) {
    const int attempt = static_cast<int>(i) + 1;
    EXPECT_EQ(backoffDelay(policy, attempt, 1.0), full[i]) << "attempt " << attempt;
    EXPECT_EQ(backoffDelay(policy, attempt, 0.0), full[i] / 2) << "attempt " << attempt;
    const milliseconds mid = backoffDelay(policy, attempt, 0.5);
    EXPECT_GT(mid, full[i] / 2);
    EXPECT_LT(mid, full[i]);
  }
  EXPECT_EQ(backoffDelay(policy, 1000, 1.0), hours(1));  // no overflow after many attempts
}

TEST(BackoffTest, APolicyIsChecked) {
  EXPECT_TRUE(checkRetryPolicy(RetryPolicy{}).isOk());
  RetryPolicy p;
  p.max = seconds(10);
  EXPECT_NE(checkRetryPolicy(p).message().find("mail.retry.max"), std::string::npos);
  p = RetryPolicy{};
  p.attempts = 0;
  EXPECT_NE(checkRetryPolicy(p).message().find("mail.retry.attempts"), std::string::npos);
  p = RetryPolicy{};
  p.initial = milliseconds(0);
  EXPECT_NE(checkRetryPolicy(p).message().find("mail.retry.initial"), std::string::npos);
}

TEST_F(OutboxDispatcherTest, SendsPendingMailOnceAndMarksItSent) {
  const long long id = queue("lead@council.example");
  auto d = dispatcher();
  EXPECT_EQ(*d.dispatchPending(10), 1);
  EXPECT_EQ(*d.dispatchPending(10), 0);
  ASSERT_EQ(mailer_.sent.size(), 1u);
  const OutgoingMessage& m = mailer_.sent[0];
  EXPECT_EQ(m.outbox_id, id);
  EXPECT_EQ(m.envelope_from, "sendflow@council.example");
  EXPECT_EQ(m.recipients, std::vector<std::string>{"lead@council.example"});
  const auto read = testing::readMessage(m.content);
  EXPECT_EQ(read.header("Message-ID"), "<outbox-" + std::to_string(id) + "@council.example>");
  EXPECT_EQ(read.parts.size(), 2u);
  EXPECT_EQ(record(id).status, "sent");
  EXPECT_EQ(record(id).attempts, 1);
  EXPECT_EQ(mailer_.batches, 2);  // every dispatch ends its batch
  EXPECT_TRUE(log_.empty());
}

TEST_F(OutboxDispatcherTest, AnUnavailableTransportIsRetriedAfterTheBackoff) {
  options_.retry.initial = minutes(1);
  const long long id = queue("lead@council.example");
  mailer_.answers = {core::unavailable("smtp relay:25: connection refused"),
                     core::unavailable("smtp relay:25: 421 busy")};
  auto d = dispatcher();
  const core::TimePoint start = clock_.now();

  EXPECT_EQ(*d.dispatchPending(10), 0);
  store::OutboxRecord r = record(id);
  EXPECT_EQ(r.status, "pending");
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.last_error, "smtp relay:25: connection refused");
  EXPECT_GE(r.next_attempt_at, start + seconds(30));
  EXPECT_LE(r.next_attempt_at, start + minutes(1));
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_NE(log_[0].find("mail " + std::to_string(id) + " to lead@council.example: attempt 1"),
            std::string::npos)
      << log_[0];
  EXPECT_NE(log_[0].find("connection refused"), std::string::npos);

  // Not due yet: nothing is tried.
  clock_.set(r.next_attempt_at - seconds(1));
  EXPECT_EQ(*d.dispatchPending(10), 0);
  EXPECT_EQ(mailer_.sent.size(), 1u);

  // Second attempt fails too: the wait doubles.
  clock_.set(r.next_attempt_at);
  const core::TimePoint second = clock_.now();
  EXPECT_EQ(*d.dispatchPending(10), 0);
  r = record(id);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_GE(r.next_attempt_at, second + minutes(1));
  EXPECT_LE(r.next_attempt_at, second + minutes(2));

  clock_.set(r.next_attempt_at);
  EXPECT_EQ(*d.dispatchPending(10), 1);
  EXPECT_EQ(record(id).status, "sent");
  EXPECT_EQ(record(id).attempts, 3);
  EXPECT_EQ(mailer_.sent.size(), 3u);
  EXPECT_EQ(mailer_.sent[0].content, mailer_.sent[2].content);  // same Message-ID and all
}

TEST_F(OutboxDispatcherTest, GivesUpAfterTheLastAllowedAttempt) {
  options_.retry = {minutes(1), minutes(5), 3};
  const long long id = queue("lead@council.example");
  for (int i = 0; i < 5; ++i) mailer_.answers.push_back(core::unavailable("relay down"));
  auto d = dispatcher();
  for (int attempt = 1; attempt <= 3; ++attempt) {
    EXPECT_EQ(*d.dispatchPending(10), 0);
    clock_.advance(minutes(5));
  }
  const store::OutboxRecord r = record(id);
  EXPECT_EQ(r.status, "failed");
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(r.last_error, "relay down");
  EXPECT_EQ(mailer_.sent.size(), 3u);
  EXPECT_EQ(*d.dispatchPending(10), 0);  // a dead mail is not tried again
  EXPECT_EQ(mailer_.sent.size(), 3u);
  ASSERT_EQ(log_.size(), 3u);
  EXPECT_NE(log_[2].find("gave up"), std::string::npos) << log_[2];
}

TEST_F(OutboxDispatcherTest, APermanentRefusalIsDeadAtOnce) {
  const long long id = queue("gone@council.example");
  mailer_.answers = {
      core::invalidArgument("smtp relay:25: recipient refused: <gone@council.example>: 550")};
  auto d = dispatcher();
  EXPECT_EQ(*d.dispatchPending(10), 0);
  const store::OutboxRecord r = record(id);
  EXPECT_EQ(r.status, "failed");
  EXPECT_EQ(r.attempts, 1);
  EXPECT_NE(r.last_error.find("550"), std::string::npos);
}

TEST_F(OutboxDispatcherTest, OneFailureDoesNotStopTheBatch) {
  const long long a = queue("a@council.example");
  const long long b = queue("b@council.example");
  const long long c = queue("c@council.example");
  mailer_.answers = {core::Status::ok(), core::invalidArgument("550 no such user"),
                     core::Status::ok()};
  auto d = dispatcher();
  EXPECT_EQ(*d.dispatchPending(10), 2);
  EXPECT_EQ(record(a).status, "sent");
  EXPECT_EQ(record(b).status, "failed");
  EXPECT_EQ(record(c).status, "sent");
  EXPECT_EQ(mailer_.batches, 1);
}

TEST_F(OutboxDispatcherTest, ARoleIsSentAsOneMessageToEveryAddress) {
  options_.resolver = [](const std::string& r) -> core::StatusOr<std::vector<std::string>> {
    if (r == "role:manager") {
      return std::vector<std::string>{"m1@council.example", "m2@council.example",
                                      "m1@council.example"};
    }
    return resolveAddressOnly(r);
  };
  const long long id = queue("role:manager");
  auto d = dispatcher();
  EXPECT_EQ(*d.dispatchPending(10), 1);
  ASSERT_EQ(mailer_.sent.size(), 1u);
  EXPECT_EQ(mailer_.sent[0].recipients,
            (std::vector<std::string>{"m1@council.example", "m2@council.example"}));
  const auto read = testing::readMessage(mailer_.sent[0].content);
  EXPECT_EQ(read.header("To"), "m1@council.example, m2@council.example");
  EXPECT_EQ(read.header("X-Sendflow-Recipient"), "role:manager");
  EXPECT_EQ(record(id).status, "sent");
}

TEST_F(OutboxDispatcherTest, ARecipientThatResolvesToNobodyIsDeadWithTheResolversReason) {
  options_.resolver = [](const std::string& r) -> core::StatusOr<std::vector<std::string>> {
    if (r == "role:manager") {
      return core::invalidArgument("role:manager: no user with this role has an email address");
    }
    if (r == "role:empty") return std::vector<std::string>{};
    return resolveAddressOnly(r);
  };
  const long long manager = queue("role:manager");
  const long long empty = queue("role:empty");
  auto d = dispatcher();
  EXPECT_EQ(*d.dispatchPending(10), 0);
  EXPECT_TRUE(mailer_.sent.empty());
  EXPECT_EQ(record(manager).status, "failed");
  EXPECT_EQ(record(manager).last_error,
            "role:manager: no user with this role has an email address");
  EXPECT_EQ(record(empty).status, "failed");
  EXPECT_EQ(record(empty).last_error, "role:empty: resolves to no email address");
  EXPECT_EQ(log_.size(), 2u);
}

TEST_F(OutboxDispatcherTest, ADirectoryThatDoesNotAnswerIsRetried) {
  options_.resolver = [](const std::string&) -> core::StatusOr<std::vector<std::string>> {
    return core::unavailable("the store does not answer");
  };
  const long long id = queue("role:manager");
  auto d = dispatcher();
  EXPECT_EQ(*d.dispatchPending(10), 0);
  EXPECT_EQ(record(id).status, "pending");
  EXPECT_EQ(record(id).attempts, 1);
}

TEST_F(OutboxDispatcherTest, TheDefaultResolverTakesOnlyAddresses) {
  options_.resolver = nullptr;
  const long long address = queue("lead@council.example");
  const long long role = queue("role:moderator");
  const long long user = queue("u-17");
  auto d = dispatcher();
  EXPECT_EQ(*d.dispatchPending(10), 1);
  EXPECT_EQ(record(address).status, "sent");
  EXPECT_EQ(record(role).status, "failed");
  EXPECT_NE(record(role).last_error.find("role:moderator: "), std::string::npos);
  EXPECT_EQ(record(user).status, "failed");
  EXPECT_NE(record(user).last_error.find("u-17: not an email address"), std::string::npos);
}

TEST_F(OutboxDispatcherTest, AnInjectedHeaderInAStoredSubjectIsDeadNotSent) {
  const long long id = queue("lead@council.example", "Hi\r\nBcc: all@council.example");
  auto d = dispatcher();
  EXPECT_EQ(*d.dispatchPending(10), 0);
  EXPECT_TRUE(mailer_.sent.empty());
  EXPECT_EQ(record(id).status, "failed");
  EXPECT_NE(record(id).last_error.find("subject"), std::string::npos);
}

TEST_F(OutboxDispatcherTest, TheFolderMailerWritesEachMailAsAnEmlFile) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("sendflow-folder-mailer-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  FolderMailer folder((dir / "outbox").string());
  const long long id = queue("lead@council.example", "Panel on Tuesday");
  OutboxDispatcher d(*store_, folder, clock_, options_);
  EXPECT_EQ(*d.dispatchPending(10), 1);
  const auto path = dir / "outbox" / (std::to_string(id) + ".eml");
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path;
  const std::string eml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto read = testing::readMessage(eml);
  EXPECT_EQ(read.header("Subject"), "Panel on Tuesday");
  EXPECT_EQ(read.header("To"), "lead@council.example");
  ASSERT_EQ(read.parts.size(), 2u);
  EXPECT_EQ(read.parts[0].text, "Your review is due: https://sendflow.example/tasks/1");
  // Sending the same message again replaces the file; no temporary file is left behind.
  OutgoingMessage again{id, "sendflow@council.example", {"lead@council.example"}, "replaced\r\n"};
  EXPECT_TRUE(folder.send(again).isOk());
  std::ifstream in2(path, std::ios::binary);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in2)), std::istreambuf_iterator<char>()),
            "replaced\r\n");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir / "outbox"),
                          std::filesystem::directory_iterator()),
            1);
  std::filesystem::remove_all(dir);
}

TEST(FolderMailerTest, AFolderThatCannotBeCreatedIsUnavailable) {
  const auto file = std::filesystem::temp_directory_path() /
                    ("sendflow-not-a-folder-" + std::to_string(::getpid()));
  std::ofstream(file) << "x";
  FolderMailer folder((file / "outbox").string());
  const core::Status st = folder.send({1, "a@b.example", {"c@d.example"}, "x\r\n"});
  EXPECT_EQ(st.code(), core::StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("mail folder"), std::string::npos);
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace sendflow::mail

namespace sendflow::mail {
namespace {

TEST(RedactLinkTokensTest, BlanksTheTokenAfterEachPrefixOnly) {
  const std::string text =
      "Approve: https://s.example/approvals/AbC-12_x9 Reject: https://s.example/approvals/Zz9\n"
      "Task: https://s.example/tasks/123 and a bare /approvals/ with nothing after it";
  EXPECT_EQ(
      redactLinkTokens(text, {"/approvals/"}),
      "Approve: https://s.example/approvals/[sent] Reject: https://s.example/approvals/[sent]\n"
      "Task: https://s.example/tasks/123 and a bare /approvals/ with nothing after it");
  EXPECT_EQ(redactLinkTokens(text, {}), text);
}

TEST_F(OutboxDispatcherTest, ApprovalLinksLeaveTheOutboxOnceTheMailIsSent) {
  store::OutboxRecord r;
  r.instance_id = "inst-1";
  r.recipient = "head@council.example";
  r.subject = "Approval needed";
  r.body = "Approve: https://s.example/approvals/SECRETtoken123";
  r.html_body = "<a href=\"https://s.example/approvals/SECRETtoken123\">Approve</a>";
  r.created_at = clock_.now();
  r.next_attempt_at = clock_.now();
  ASSERT_TRUE(store_->transact([&](store::Transaction& tx) { return tx.insertOutbox(r); }).isOk());
  auto d = dispatcher();
  ASSERT_EQ(*d.dispatchPending(10), 1);
  // The recipient got the link; the store no longer has it.
  ASSERT_EQ(mailer_.sent.size(), 1u);
  EXPECT_NE(mailer_.sent[0].content.find("SECRETtoken123"), std::string::npos);
  const store::OutboxRecord stored = record(r.id);
  EXPECT_EQ(stored.status, "sent");
  EXPECT_EQ(stored.body.find("SECRETtoken123"), std::string::npos);
  EXPECT_EQ(stored.html_body.find("SECRETtoken123"), std::string::npos);
  EXPECT_NE(stored.body.find("/approvals/[sent]"), std::string::npos);
}

TEST_F(OutboxDispatcherTest, AFailedSendKeepsTheLinkForTheRetry) {
  store::OutboxRecord r;
  r.instance_id = "inst-1";
  r.recipient = "head@council.example";
  r.subject = "Approval needed";
  r.body = "Approve: https://s.example/approvals/SECRETtoken123";
  r.created_at = clock_.now();
  r.next_attempt_at = clock_.now();
  ASSERT_TRUE(store_->transact([&](store::Transaction& tx) { return tx.insertOutbox(r); }).isOk());
  mailer_.answers.push_back(core::unavailable("421 try later"));
  auto d = dispatcher();
  ASSERT_EQ(*d.dispatchPending(10), 0);
  EXPECT_NE(record(r.id).body.find("SECRETtoken123"), std::string::npos);
}

}  // namespace
}  // namespace sendflow::mail
