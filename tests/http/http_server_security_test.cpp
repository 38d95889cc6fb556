// The HTTP server against the attacks of issue 16 (request smuggling, path spellings that reach
// the API with a session cookie, slow headers, too many connections from one client, made-up
// methods growing the metrics, /metrics open to anyone, 500s without a logged cause), over real
// sockets on loopback.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/http/http_server.h"
#include "server/http/metrics.h"
#include "tests/http/log_capture.h"

namespace sendflow::http {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// A TCP client speaking raw bytes, from a chosen loopback address.
class RawClient {
 public:
  explicit RawClient(int port, const char* from = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, from, &local.sin_addr);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local);
    sockaddr_in server{};
    server.sin_family = AF_INET;
    server.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&server), sizeof server) == 0;
    setReceiveTimeout(milliseconds(5000));
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }

  void setReceiveTimeout(milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<long>(timeout.count() / 1000);
    tv.tv_usec = static_cast<long>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  bool send(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Everything until the server closes the connection (or the receive timeout passes).
  std::string readUntilClosed() {
    std::string all = std::move(pending_);
    pending_.clear();
    char chunk[4096];
    while (true) {
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) {
        closed_ = n == 0 || errno == ECONNRESET;
        return all;
      }
      all.append(chunk, static_cast<std::size_t>(n));
    }
  }
  bool closed() const { return closed_; }

  // One response: its head and its Content-Length body; "" when none came.
  std::string readResponse() {
    while (true) {
      const auto end = pending_.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t length = 0;
        const auto at = pending_.find("Content-Length: ");
        if (at != std::string::npos && at < end) {
          length = std::stoul(pending_.substr(at + 16, pending_.find("\r\n", at) - at - 16));
        }
        if (pending_.size() >= end + 4 + length) {
          std::string response = pending_.substr(0, end + 4 + length);
          pending_.erase(0, end + 4 + length);
          return response;
        }
      }
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) {
        closed_ = true;
        return "";
      }
      pending_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string pending_;
};

int statusOf(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

int countOf(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class HttpServerSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add(
        "POST", "/echo",
        [](Request& r) {
          return Response::json(200, {{"bytes", r.body.size()}});
        },
        Access::kPublic);
    router_.add(
        "GET", "/smuggled",
        [this](Request&) {
          smuggled_served_.fetch_add(1);
          return Response::text(200, "smuggled");
        },
        Access::kPublic);
    router_.add(
        "GET", "/hello", [](Request&) { return Response::text(200, "hello"); }, Access::kPublic);
    router_.add("POST", "/api/v1/tasks/{id}/claim", [this](Request& r) {
      claims_.fetch_add(1);
      return Response::json(200, {{"claimed", r.param("id")}});
    });
    router_.add(
        "GET", "/store",
        [](Request& r) {
          return Response::error(core::internalError("the store is locked: database busy"),
                                 r.request_id);
        },
        Access::kPublic);
  }

  void TearDown() override {
    if (server_) server_->stop(milliseconds(100));
  }

  void start(ServerOptions options = {}, MetricsOptions metrics = {}) {
    options.address = "127.0.0.1";
    options.port = 0;
    metrics_ = std::make_unique<Metrics>(metrics);
    metrics_->addRoutes(router_);
    // Signs in whoever shows the session cookie, and records which routes asked.
    Authenticate authenticate =
        [this](const Request& r) -> core::StatusOr<std::optional<auth::Principal>> {
      std::lock_guard<std::mutex> lock(auth_mutex_);
      auth_routes_.push_back(r.route);
      if (r.cookie("sendflow_session") == "valid") {
        return std::optional<auth::Principal>(
            auth::Principal{"aud-001", "Auditor", "", {"auditor"}, "session"});
      }
      return std::optional<auth::Principal>();
    };
    server_ = std::make_unique<HttpServer>(options, router_, authenticate, &log_.stream(),
                                           metrics_.get());
    ASSERT_TRUE(server_->start().isOk());
  }

  int port() const { return server_->port(); }

  Router router_;
  LogCapture log_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<HttpServer> server_;
  std::atomic<int> smuggled_served_{0};
  std::atomic<int> claims_{0};
  std::mutex auth_mutex_;
  std::vector<std::string> auth_routes_;
};

struct Smuggle {
  const char* why;
  std::string head;  // the first request's head and body, ahead of the smuggled request
};

class HttpServerSmugglingTest : public HttpServerSecurityTest,
                                public ::testing::WithParamInterface<Smuggle> {};

TEST_P(HttpServerSmugglingTest, RefusesAmbiguousFramingAndClosesTheConnection) {
  start();
  RawClient client(port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send(GetParam().head + "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string replies = client.readUntilClosed();
  EXPECT_TRUE(client.closed()) << GetParam().why;
  EXPECT_EQ(statusOf(replies), 400) << GetParam().why << "\n" << replies;
  EXPECT_NE(replies.find("Connection: close\r\n"), std::string::npos) << GetParam().why;
  EXPECT_EQ(countOf(replies, "HTTP/1.1 "), 1) << GetParam().why << "\n" << replies;
  EXPECT_EQ(smuggled_served_.load(), 0) << GetParam().why;
}

INSTANTIATE_TEST_SUITE_P(
    Issue16, HttpServerSmugglingTest,
    ::testing::Values(
        Smuggle{"Content-Length with Transfer-Encoding",
                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
        Smuggle{
            "two Content-Lengths",
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 38\r\n\r\n"},
        Smuggle{"space before the colon",
                "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n"
                "Content-Length: 5\r\n\r\n0\r\n\r\n"},
        Smuggle{"a signed Content-Length",
                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +0\r\n\r\n"},
        Smuggle{"bare LF line ends", "POST /echo HTTP/1.1\nHost: x\nContent-Length: 0\n\n"},
        Smuggle{"a folded Transfer-Encoding",
                "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n"
                "0\r\n\r\n"}));

TEST_F(HttpServerSecurityTest, ServesPipelinedRequestsInOrderWhenTheFramingIsClean) {
  start();
  RawClient client(port());
  ASSERT_TRUE(client.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
      "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(statusOf(client.readResponse()), 200);
  EXPECT_EQ(statusOf(client.readResponse()), 200);
  EXPECT_EQ(smuggled_served_.load(), 1);  // the control: a clean second request is served
}

TEST_F(HttpServerSecurityTest, NonCanonicalPathsNeverReachTheApiOrSignIn) {
  start();
  for (const std::string path :
       {"//api/v1/tasks/t1/claim", "/api//v1/tasks/t1/claim", "/api/v1/tasks/t1/claim/",
        "/./api/v1/tasks/t1/claim", "/api/v1/tasks/x/../t1/claim", "/api/v1/tasks/%2e%2e/claim",
        "/api%2Fv1/tasks/t1/claim", "/api/v1/tasks/t1%2Fclaim", "/api/v1/tasks/t1%5Cclaim",
        "/api/v1/tasks/t1%00/claim"}) {
    RawClient client(port());
    ASSERT_TRUE(client.send("POST " + path +
                            " HTTP/1.1\r\nHost: x\r\nCookie: sendflow_session=valid\r\n"
                            "Content-Length: 0\r\n\r\n"));
    const int status = statusOf(client.readResponse());
    EXPECT_TRUE(status == 400 || status == 404) << path << " got " << status;
  }
  EXPECT_EQ(claims_.load(), 0);
  std::lock_guard<std::mutex> lock(auth_mutex_);
  EXPECT_TRUE(auth_routes_.empty()) << "sign-in was asked about " << auth_routes_.front();
}

TEST_F(HttpServerSecurityTest, SignInSeesTheMatchedRoutePattern) {
  start();
  RawClient client(port());
  ASSERT_TRUE(client.send(
      "POST /api/v1/tasks/t1/claim HTTP/1.1\r\nHost: x\r\nCookie: sendflow_session=valid\r\n"
      "Content-Length: 0\r\n\r\n"));
  EXPECT_EQ(statusOf(client.readResponse()), 200);
  std::lock_guard<std::mutex> lock(auth_mutex_);
  ASSERT_EQ(auth_routes_.size(), 1u);
  EXPECT_EQ(auth_routes_[0], "/api/v1/tasks/{id}/claim");
}

TEST_F(HttpServerSecurityTest, SlowHeadersDoNotHoldTheThreads) {
  ServerOptions options;
  options.max_threads = 4;
  start(options);
  // Twelve clients trickle a header byte every 100 ms: three times the pool.
  std::atomic<bool> done{false};
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 12; ++i) {
    slow.push_back(std::make_unique<RawClient>(port()));
    ASSERT_TRUE(slow.back()->send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  }
  std::thread trickle([&] {
    while (!done.load()) {
      for (auto& c : slow) c->send("a");
      std::this_thread::sleep_for(milliseconds(100));
    }
  });
  std::this_thread::sleep_for(milliseconds(300));
  const auto before = std::chrono::steady_clock::now();
  RawClient normal(port());
  ASSERT_TRUE(normal.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string reply = normal.readResponse();
  const auto took = std::chrono::steady_clock::now() - before;
  done.store(true);
  trickle.join();
  EXPECT_EQ(statusOf(reply), 200);
  EXPECT_LT(took, std::chrono::seconds(2));
}

TEST_F(HttpServerSecurityTest, TheWholeHeadHasOneDeadlineHoweverSlowlyItComes) {
  ServerOptions options;
  options.header_timeout = std::chrono::seconds(1);
  start(options);
  RawClient slow(port());
  ASSERT_TRUE(slow.send("GET /hello HTTP/1.1\r\nHost: x\r\n"));
  const auto before = std::chrono::steady_clock::now();
  bool still_open = true;
  // One byte every 200 ms: each read would be well within a per-read timeout.
  while (still_open && std::chrono::steady_clock::now() - before < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(milliseconds(200));
    still_open = slow.send("X-A: b\r\n");
  }
  slow.setReceiveTimeout(milliseconds(500));
  const std::string rest = slow.readUntilClosed();
  EXPECT_TRUE(slow.closed()) << "the connection is still open after 5 s";
  EXPECT_EQ(rest.find("200 OK"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(3500));
}

TEST_F(HttpServerSecurityTest, AClientOverItsConnectionBoundIsRefusedWhileAnotherIsServed) {
  ServerOptions options;
  options.max_connections_per_client = 3;
  start(options);
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<RawClient>(port(), "127.0.0.1"));
    ASSERT_TRUE(held.back()->send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(statusOf(held.back()->readResponse()), 200);  // accepted and kept alive
  }
  RawClient over(port(), "127.0.0.1");
  over.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string refused = over.readUntilClosed();
  EXPECT_EQ(statusOf(refused), 503) << refused;
  EXPECT_TRUE(over.closed());

  RawClient other(port(), "127.0.0.2");
  ASSERT_TRUE(other.connected());
  ASSERT_TRUE(other.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(statusOf(other.readResponse()), 200);
  EXPECT_NE(metrics_->scrape().find(
                "sendflow_http_connections_refused_total{reason=\"per_client_limit\"} 1\n"),
            std::string::npos);

  // A connection closed frees its place.
  held.pop_back();
  std::this_thread::sleep_for(milliseconds(300));
  RawClient again(port(), "127.0.0.1");
  ASSERT_TRUE(again.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(statusOf(again.readResponse()), 200);
}

TEST_F(HttpServerSecurityTest, MadeUpMethodsLeaveTheMetricSeriesCountUnchanged) {
  start();
  // The observer hears of a request just after its response is written: wait for the count.
  auto waitForScrape = [this](const std::string& needle) {
    for (int i = 0; i < 200 && metrics_->scrape().find(needle) == std::string::npos; ++i) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    return metrics_->scrape();
  };
  auto seriesCount = [](const std::string& text) {
    return countOf(text, "sendflow_http_requests_total{") +
           countOf(text, "sendflow_http_request_duration_seconds_count{");
  };
  RawClient client(port());
  ASSERT_TRUE(client.send("MADEUP0 /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(statusOf(client.readResponse()), 404);
  const int before =
      seriesCount(waitForScrape("{route=\"unmatched\",method=\"other\",status=\"404\"} 1\n"));
  constexpr int kRequests = 20000;
  constexpr int kBatch = 100;
  for (int sent = 0; sent < kRequests; sent += kBatch) {
    std::string batch;
    for (int i = 0; i < kBatch; ++i) {
      batch += "M" + std::to_string(sent + i) + "X /nowhere-" + std::to_string(i) +
               " HTTP/1.1\r\nHost: x\r\n\r\n";
    }
    ASSERT_TRUE(client.send(batch));
    for (int i = 0; i < kBatch; ++i) ASSERT_EQ(statusOf(client.readResponse()), 404);
  }
  const std::string after =
      waitForScrape("{route=\"unmatched\",method=\"other\",status=\"404\"} 20001\n");
  EXPECT_NE(after.find("{route=\"unmatched\",method=\"other\",status=\"404\"} 20001\n"),
            std::string::npos);
  EXPECT_EQ(seriesCount(after), before);
  EXPECT_EQ(after.find("M1X"), std::string::npos);
}

TEST_F(HttpServerSecurityTest, MetricsAreRefusedToOtherMachinesByDefault) {
  ServerOptions options;
  options.trust_forwarded_for = true;  // the test's way to look like another machine
  start(options);
  RawClient remote(port());
  ASSERT_TRUE(
      remote.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.5\r\n\r\n"));
  const std::string refused = remote.readResponse();
  EXPECT_EQ(statusOf(refused), 404);
  EXPECT_EQ(refused.find("sendflow_http_requests_total"), std::string::npos);
  RawClient local(port());
  ASSERT_TRUE(local.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(statusOf(local.readResponse()), 200);
}

TEST_F(HttpServerSecurityTest, MetricsWithATokenAnswerAPrometheusScrapeFromAnywhere) {
  ServerOptions options;
  options.trust_forwarded_for = true;
  start(options, {.token = "scrape-token-0123456789", .loopback_only = false});
  RawClient without(port());
  ASSERT_TRUE(
      without.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.5\r\n\r\n"));
  EXPECT_EQ(statusOf(without.readResponse()), 401);
  RawClient with(port());
  ASSERT_TRUE(with.send(
      "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.5\r\n"
      "Authorization: Bearer scrape-token-0123456789\r\nAccept: text/plain;version=0.0.4\r\n\r\n"));
  const std::string scraped = with.readResponse();
  EXPECT_EQ(statusOf(scraped), 200);
  EXPECT_NE(scraped.find("# TYPE sendflow_http_requests_total counter"), std::string::npos);
}

TEST_F(HttpServerSecurityTest, AnInternalErrorsLogLineCarriesItsCauseAndTheClientDoesNot) {
  start();
  RawClient client(port());
  ASSERT_TRUE(client.send("GET /store HTTP/1.1\r\nHost: x\r\nX-Request-Id: req-store-500\r\n\r\n"));
  const std::string reply = client.readResponse();
  EXPECT_EQ(statusOf(reply), 500);
  EXPECT_EQ(reply.find("database busy"), std::string::npos);
  const std::string line = log_.waitForLine("req-store-500");
  ASSERT_FALSE(line.empty());
  const json entry = json::parse(line);
  EXPECT_EQ(entry["level"], "error");
  EXPECT_EQ(entry["cause"], "the store is locked: database busy");
}

}  // namespace
}  // namespace sendflow::http
