// Mail delivery through the real dispatcher and SmtpMailer to a real SMTP server
// (tests/tools/smtp_server.py, aiosmtpd) on loopback: plain delivery, STARTTLS with a login,
// STARTTLS required but not offered, an untrusted certificate, a wrong password, a login over
// plain text, 421 then success after the backoff, and a recipient refused with 550. The mails
// the server received are read back: envelope, headers, both parts, Message-ID.
#include <gtest/gtest.h>

#include "server/mail/outbox_dispatcher.h"
#include "server/mail/smtp_mailer.h"
#include "server/store/sqlite_store.h"
#include "tests/integration/smtp_server.h"
#include "tests/mail/message_reader.h"

namespace sendflow::mail {
namespace {

using sendflow::testing::SmtpServer;
using std::chrono::minutes;

class SmtpDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::SqliteStore::open(":memory:");
    ASSERT_TRUE(opened.isOk()) << opened.status().toString();
    store_ = std::move(*opened);
    options_.sender = {"sendflow@council.example", "SEND quality assurance"};
    options_.log = [this](const std::string& line) { log_.push_back(line); };
  }

  // Starts the server; a failure to start (aiosmtpd or openssl missing) fails the test.
  void startServer(const SmtpServer::Options& server_options) {
    try {
      server_ = std::make_unique<SmtpServer>(server_options);
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
  }

  SmtpOptions smtp(StartTls starttls) const {
    SmtpOptions o;
    o.host = "127.0.0.1";
    o.port = server_->port();
    o.starttls = starttls;
    o.timeout = std::chrono::seconds(10);
    o.helo_name = "sendflow.test";
    if (!server_->certificate().cert_file.empty()) o.ca_file = server_->certificate().cert_file;
    return o;
  }

  long long queue(const std::string& recipient, const std::string& subject, std::string body) {
    store::OutboxRecord r;
    r.instance_id = "inst-42";
    r.recipient = recipient;
    r.subject = subject;
    r.body = std::move(body);
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

  int dispatch(SmtpMailer& mailer) {
    OutboxDispatcher dispatcher(*store_, mailer, clock_, options_);
    auto sent = dispatcher.dispatchPending(50);
    EXPECT_TRUE(sent.isOk()) << sent.status().toString();
    return sent.isOk() ? *sent : -1;
  }

  core::ManualClock clock_{core::TimePoint(std::chrono::hours(24 * 20'000))};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<SmtpServer> server_;
  DispatcherOptions options_;
  std::vector<std::string> log_;
};

TEST_F(SmtpDeliveryTest, PlainDeliveryCarriesBothPartsAndTheStableMessageId) {
  ASSERT_NO_FATAL_FAILURE(startServer({}));
  const std::string body =
      "The moderation of Zoë's plan is ready for your approval.\n"
      "Approve or return it: https://sendflow.council.example/tasks/t-9\n\n"
      ".A line that starts with a dot.";
  const long long id = queue("manager@council.example", "Modération: approval needed", body);
  SmtpMailer mailer(smtp(StartTls::kOff));
  EXPECT_EQ(dispatch(mailer), 1);
  EXPECT_EQ(record(id).status, "sent");

  const auto received = server_->received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].mail_from, "sendflow@council.example");
  EXPECT_EQ(received[0].rcpt_tos, std::vector<std::string>{"manager@council.example"});
  EXPECT_FALSE(received[0].tls);
  const auto m = testing::readMessage(received[0].eml);
  EXPECT_EQ(m.header("Message-ID"), "<outbox-" + std::to_string(id) + "@council.example>");
  EXPECT_EQ(m.header("To"), "manager@council.example");
  EXPECT_EQ(testing::decodeWords(testing::rawHeader(received[0].eml, "Subject")),
            "Modération: approval needed");
  EXPECT_EQ(testing::decodeWords(testing::rawHeader(received[0].eml, "From")),
            "SEND quality assurance <sendflow@council.example>");
  EXPECT_EQ(m.header("Auto-Submitted"), "auto-generated");
  EXPECT_FALSE(m.header("Date").empty());
  ASSERT_EQ(m.parts.size(), 2u);
  EXPECT_EQ(m.parts[0].content_type, "text/plain; charset=utf-8");
  std::string text = m.parts[0].text;
  std::string lf;
  for (char c : text) {
    if (c != '\r') lf += c;
  }
  EXPECT_EQ(lf, body);  // the leading dot survived SMTP's dot-stuffing
  EXPECT_EQ(m.parts[1].content_type, "text/html; charset=utf-8");
  EXPECT_NE(m.parts[1].text.find("<a href=\"https://sendflow.council.example/tasks/t-9\">"),
            std::string::npos)
      << m.parts[1].text;
  EXPECT_NE(m.parts[1].text.find("Zoë&#39;s plan"), std::string::npos);
}

TEST_F(SmtpDeliveryTest, ABatchGoesOverOneConnection) {
  ASSERT_NO_FATAL_FAILURE(startServer({}));
  for (int i = 0; i < 3; ++i) {
    queue("lead" + std::to_string(i) + "@council.example", "Reminder " + std::to_string(i), "x");
  }
  SmtpMailer mailer(smtp(StartTls::kOff));
  EXPECT_EQ(dispatch(mailer), 3);
  const auto received = server_->received();
  ASSERT_EQ(received.size(), 3u);
  EXPECT_NE(received[0].peer_port, 0);
  EXPECT_EQ(received[1].peer_port, received[0].peer_port);
  EXPECT_EQ(received[2].peer_port, received[0].peer_port);
}

TEST_F(SmtpDeliveryTest, StartTlsRequiredWithALogin) {
  SmtpServer::Options server;
  server.starttls = true;
  server.require_starttls = true;
  server.auth = "qa-relay:correct-horse-battery";
  ASSERT_NO_FATAL_FAILURE(startServer(server));
  const long long id = queue("lead@council.example", "Escalation", "Overdue by 3 working days.");
  SmtpOptions o = smtp(StartTls::kRequired);
  o.username = "qa-relay";
  o.password = "correct-horse-battery";
  SmtpMailer mailer(o);
  EXPECT_EQ(dispatch(mailer), 1);
  EXPECT_EQ(record(id).status, "sent") << record(id).last_error;
  const auto received = server_->received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_TRUE(received[0].tls);
  EXPECT_EQ(received[0].user, "qa-relay");
  EXPECT_EQ(testing::readMessage(received[0].eml).header("Message-ID"),
            "<outbox-" + std::to_string(id) + "@council.example>");
}

TEST_F(SmtpDeliveryTest, AuthLoginWhenTheRelayOffersNoPlain) {
  SmtpServer::Options server;
  server.starttls = true;
  server.auth = "qa-relay:correct-horse-battery";
  server.auth_login_only = true;
  ASSERT_NO_FATAL_FAILURE(startServer(server));
  const long long id = queue("lead@council.example", "Escalation", "x");
  SmtpOptions o = smtp(StartTls::kRequired);
  o.username = "qa-relay";
  o.password = "correct-horse-battery";
  SmtpMailer mailer(o);
  EXPECT_EQ(dispatch(mailer), 1);
  EXPECT_EQ(record(id).status, "sent") << record(id).last_error;
  ASSERT_EQ(server_->received().size(), 1u);
  EXPECT_EQ(server_->received()[0].user, "qa-relay");

  o.password = "wrong";
  SmtpMailer wrong(o);
  queue("lead@council.example", "Escalation", "y");
  EXPECT_EQ(dispatch(wrong), 0);
  EXPECT_EQ(server_->received().size(), 1u);
}

TEST_F(SmtpDeliveryTest, StartTlsRequiredButNotOfferedSendsNothing) {
  ASSERT_NO_FATAL_FAILURE(startServer({}));
  const long long id = queue("lead@council.example", "Escalation", "x");
  SmtpMailer mailer(smtp(StartTls::kRequired));
  EXPECT_EQ(dispatch(mailer), 0);
  const store::OutboxRecord r = record(id);
  EXPECT_EQ(r.status, "pending");
  EXPECT_EQ(r.attempts, 1);
  EXPECT_NE(r.last_error.find("does not offer STARTTLS"), std::string::npos) << r.last_error;
  EXPECT_TRUE(server_->received().empty());
  ASSERT_EQ(log_.size(), 1u);
}

TEST_F(SmtpDeliveryTest, AnUntrustedCertificateIsRefused) {
  SmtpServer::Options server;
  server.starttls = true;
  ASSERT_NO_FATAL_FAILURE(startServer(server));
  const long long id = queue("lead@council.example", "Escalation", "x");
  SmtpOptions o = smtp(StartTls::kRequired);
  o.ca_file.clear();  // the system's CAs do not know the test certificate
  SmtpMailer mailer(o);
  EXPECT_EQ(dispatch(mailer), 0);
  EXPECT_EQ(record(id).status, "pending");
  EXPECT_NE(record(id).last_error.find("TLS"), std::string::npos) << record(id).last_error;
  EXPECT_TRUE(server_->received().empty());

  o.verify_peer = false;  // explicitly not checked: goes
  SmtpMailer unverified(o);
  clock_.advance(minutes(2));
  EXPECT_EQ(dispatch(unverified), 1);
  ASSERT_EQ(server_->received().size(), 1u);
  EXPECT_TRUE(server_->received()[0].tls);
}

TEST_F(SmtpDeliveryTest, AWrongPasswordIsRecordedAndNothingSent) {
  SmtpServer::Options server;
  server.starttls = true;
  server.auth = "qa-relay:right";
  ASSERT_NO_FATAL_FAILURE(startServer(server));
  const long long id = queue("lead@council.example", "Escalation", "x");
  SmtpOptions o = smtp(StartTls::kRequired);
  o.username = "qa-relay";
  o.password = "wrong-password-123";
  SmtpMailer mailer(o);
  EXPECT_EQ(dispatch(mailer), 0);
  const store::OutboxRecord r = record(id);
  EXPECT_EQ(r.status, "pending");
  EXPECT_EQ(r.attempts, 1);
  EXPECT_NE(r.last_error.find("refused the login of 'qa-relay'"), std::string::npos)
      << r.last_error;
  EXPECT_NE(r.last_error.find("535"), std::string::npos) << r.last_error;
  EXPECT_EQ(r.last_error.find("wrong-password-123"), std::string::npos);
  EXPECT_TRUE(server_->received().empty());
}

TEST_F(SmtpDeliveryTest, ALoginOverPlainTextNeedsAllowPlainAuth) {
  SmtpServer::Options server;
  server.auth = "qa-relay:right";
  ASSERT_NO_FATAL_FAILURE(startServer(server));
  const long long id = queue("lead@council.example", "Escalation", "x");
  SmtpOptions o = smtp(StartTls::kOptional);  // the server offers no STARTTLS
  o.username = "qa-relay";
  o.password = "right";
  SmtpMailer refusing(o);
  EXPECT_EQ(dispatch(refusing), 0);
  EXPECT_NE(record(id).last_error.find("without TLS"), std::string::npos) << record(id).last_error;
  EXPECT_TRUE(server_->received().empty());

  o.allow_plain_auth = true;
  SmtpMailer allowed(o);
  clock_.advance(minutes(2));
  EXPECT_EQ(dispatch(allowed), 1);
  ASSERT_EQ(server_->received().size(), 1u);
  EXPECT_EQ(server_->received()[0].user, "qa-relay");
  EXPECT_FALSE(server_->received()[0].tls);
}

TEST_F(SmtpDeliveryTest, A421IsRetriedAfterTheBackoffAndThenDelivered) {
  SmtpServer::Options server;
  server.fail_first = 1;
  ASSERT_NO_FATAL_FAILURE(startServer(server));
  options_.retry = {minutes(1), minutes(10), 5};
  const long long id = queue("lead@council.example", "Reminder", "Your audit is due.");
  SmtpMailer mailer(smtp(StartTls::kOff));
  EXPECT_EQ(dispatch(mailer), 0);
  store::OutboxRecord r = record(id);
  EXPECT_EQ(r.status, "pending");
  EXPECT_EQ(r.attempts, 1);
  EXPECT_NE(r.last_error.find("421"), std::string::npos) << r.last_error;
  EXPECT_GT(r.next_attempt_at, clock_.now());
  EXPECT_LE(r.next_attempt_at, clock_.now() + minutes(1));

  EXPECT_EQ(dispatch(mailer), 0);  // not due yet: not tried
  EXPECT_EQ(record(id).attempts, 1);

  clock_.set(r.next_attempt_at);
  EXPECT_EQ(dispatch(mailer), 1);
  r = record(id);
  EXPECT_EQ(r.status, "sent");
  EXPECT_EQ(r.attempts, 2);
  const auto received = server_->received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(testing::readMessage(received[0].eml).header("Message-ID"),
            "<outbox-" + std::to_string(id) + "@council.example>");
}

TEST_F(SmtpDeliveryTest, ARecipientRefusedWith550IsDeadWithTheReply) {
  SmtpServer::Options server;
  server.reject = {"left.council@council.example"};
  ASSERT_NO_FATAL_FAILURE(startServer(server));
  const long long gone = queue("left.council@council.example", "Reminder", "x");
  const long long fine = queue("lead@council.example", "Reminder", "y");
  SmtpMailer mailer(smtp(StartTls::kOff));
  EXPECT_EQ(dispatch(mailer), 1);
  const store::OutboxRecord r = record(gone);
  EXPECT_EQ(r.status, "failed");
  EXPECT_NE(r.last_error.find("<left.council@council.example>"), std::string::npos) << r.last_error;
  EXPECT_NE(r.last_error.find("550"), std::string::npos) << r.last_error;
  EXPECT_EQ(record(fine).status, "sent");
  const auto received = server_->received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].rcpt_tos, std::vector<std::string>{"lead@council.example"});
  clock_.advance(std::chrono::hours(2));
  EXPECT_EQ(dispatch(mailer), 0);  // dead: never tried again
  EXPECT_EQ(record(gone).attempts, 1);
}

}  // namespace
}  // namespace sendflow::mail
