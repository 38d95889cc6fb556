// SmtpMailer settings and the failures that need no SMTP server: a closed port, a peer that
// never answers, a relay that turns every connection away (one connection per batch).
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "server/mail/smtp_mailer.h"

namespace sendflow::mail {
namespace {

const OutgoingMessage kMessage{
    1, "sendflow@council.example", {"lead@council.example"}, "Subject: x\r\n\r\nbody\r\n"};

// Accepts connections on a loopback port and answers each with `greeting` (or nothing), then
// closes it. Counts the connections.
class TurnAwayPeer {
 public:
  explicit TurnAwayPeer(std::string greeting)
      : server_(Poco::Net::SocketAddress("127.0.0.1", 0)), greeting_(std::move(greeting)) {
    server_.setReceiveTimeout(Poco::Timespan(0, 100'000));
    thread_ = std::thread([this] {
      while (!stop_) {
        if (!server_.poll(Poco::Timespan(0, 50'000), Poco::Net::Socket::SELECT_READ)) continue;
        Poco::Net::StreamSocket client = server_.acceptConnection();
        ++connections_;
        if (greeting_.empty()) {
          held_.push_back(client);  // say nothing; keep it open
        } else {
          client.sendBytes(greeting_.data(), static_cast<int>(greeting_.size()));
          client.close();
        }
      }
    });
  }
  ~TurnAwayPeer() {
    stop_ = true;
    thread_.join();
  }
  int port() const { return server_.address().port(); }
  int connections() const { return connections_; }

 private:
  Poco::Net::ServerSocket server_;
  std::string greeting_;
  std::vector<Poco::Net::StreamSocket> held_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

SmtpOptions loopback(int port) {
  SmtpOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  o.starttls = StartTls::kOff;
  o.timeout = std::chrono::milliseconds(500);
  return o;
}

TEST(SmtpOptionsTest, StartTlsModesParse) {
  EXPECT_EQ(*parseStartTls("required"), StartTls::kRequired);
  EXPECT_EQ(*parseStartTls("optional"), StartTls::kOptional);
  EXPECT_EQ(*parseStartTls("off"), StartTls::kOff);
  EXPECT_EQ(parseStartTls("yes").status().code(), core::StatusCode::kInvalidArgument);
}

TEST(SmtpOptionsTest, BadOptionsNameTheirKey) {
  SmtpOptions o = loopback(25);
  EXPECT_TRUE(checkSmtpOptions(o).isOk());
  o.host.clear();
  EXPECT_EQ(checkSmtpOptions(o).message().rfind("mail.smtp.host:", 0), 0u);
  o = loopback(70000);
  EXPECT_EQ(checkSmtpOptions(o).message().rfind("mail.smtp.port:", 0), 0u);
  o = loopback(25);
  o.password = "secret";
  EXPECT_EQ(checkSmtpOptions(o).message().rfind("mail.smtp.username:", 0), 0u);
  o = loopback(25);
  o.ca_file = "no/such/ca.pem";
  EXPECT_EQ(checkSmtpOptions(o).message().rfind("mail.smtp.ca_file:", 0), 0u);
  o = loopback(25);
  o.timeout = std::chrono::milliseconds(0);
  EXPECT_EQ(checkSmtpOptions(o).message().rfind("mail.smtp.timeout:", 0), 0u);
}

TEST(SmtpMailerTest, AClosedPortIsUnavailable) {
  int port = 0;
  {
    Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
    port = probe.address().port();
  }
  SmtpMailer mailer(loopback(port));
  const core::Status st = mailer.send(kMessage);
  EXPECT_EQ(st.code(), core::StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("connection refused"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("127.0.0.1:" + std::to_string(port)), std::string::npos);
}

TEST(SmtpMailerTest, APeerThatNeverAnswersTimesOut) {
  TurnAwayPeer silent("");
  SmtpMailer mailer(loopback(silent.port()));
  const auto start = std::chrono::steady_clock::now();
  const core::Status st = mailer.send(kMessage);
  EXPECT_EQ(st.code(), core::StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("mail.smtp.timeout"), std::string::npos) << st.message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(SmtpMailerTest, AFailedConnectionIsNotRetriedWithinTheBatch) {
  TurnAwayPeer busy("421 4.3.2 too busy, come back later\r\n");
  SmtpMailer mailer(loopback(busy.port()));
  const core::Status first = mailer.send(kMessage);
  EXPECT_EQ(first.code(), core::StatusCode::kUnavailable);
  EXPECT_NE(first.message().find("421"), std::string::npos) << first.message();
  EXPECT_EQ(mailer.send(kMessage).message(), first.message());
  EXPECT_EQ(busy.connections(), 1);
  mailer.endBatch();
  EXPECT_EQ(mailer.send(kMessage).code(), core::StatusCode::kUnavailable);
  EXPECT_EQ(busy.connections(), 2);
}

}  // namespace
}  // namespace sendflow::mail
