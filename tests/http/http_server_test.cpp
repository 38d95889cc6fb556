#include "server/http/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

#include <Poco/Net/AcceptCertificateHandler.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <nlohmann/json.hpp>

#include "server/http/metrics.h"
#include "tests/http/log_capture.h"

namespace sendflow::http {
namespace {

using nlohmann::json;

struct Reply {
  int status = 0;
  std::string body;
  Poco::Net::HTTPResponse response;
  std::string header(const std::string& name) const { return response.get(name, ""); }
};

Reply send(Poco::Net::HTTPClientSession& session, Poco::Net::HTTPRequest& request,
           const std::string& body = "") {
  if (!body.empty() && !request.getChunkedTransferEncoding())
    request.setContentLength64(body.size());
  std::ostream& out = session.sendRequest(request);
  out << body;
  Reply reply;
  std::istream& in = session.receiveResponse(reply.response);
  reply.status = reply.response.getStatus();
  if (request.getMethod() != "HEAD") Poco::StreamCopier::copyToString(in, reply.body);
  return reply;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add(
        "GET", "/hello",
        [](Request& r) {
          return Response::json(200, {{"hello", r.principal ? r.principal->id : "nobody"}});
        },
        Access::kPublic);
    router_.add(
        "POST", "/echo",
        [](Request& r) {
          return Response::json(200, {{"bytes", r.body.size()}, {"client", r.client_address}});
        },
        Access::kPublic);
    router_.add("GET", "/mine", [](Request& r) {
      return Response::json(200, {{"user", r.principal->id}});
    });
    router_.add(
        "POST", "/forms/{id}",
        [](Request& r) {
          return Response::error(core::invalidArgument("standard_1: required; evidence: too long"),
                                 r.request_id);
        },
        Access::kPublic);
    router_.add(
        "GET", "/boom",
        [](Request&) -> Response { throw std::runtime_error("secret detail of the failure"); },
        Access::kPublic);
    router_.add(
        "GET", "/approve/{token}", [](Request& r) { return Response::html(200, "<p>confirm</p>"); },
        Access::kPublic);
    router_.add(
        "GET", "/cached",
        [](Request&) {
          Response r = Response::text(200, "x");
          r.header("Cache-Control", "private, max-age=60");
          return r;
        },
        Access::kPublic);
    router_.add(
        "GET", "/slow",
        [this](Request&) {
          slow_started_.set_value();
          std::this_thread::sleep_for(std::chrono::milliseconds(600));
          return Response::text(200, "finished");
        },
        Access::kPublic);
  }

  void TearDown() override {
    if (server_) server_->stop(std::chrono::milliseconds(100));
  }

  void start(ServerOptions options = {}) {
    options.address = "127.0.0.1";
    options.port = 0;
    Authenticate authenticate =
        [](const Request& r) -> core::StatusOr<std::optional<auth::Principal>> {
      const std::string a = r.header("Authorization");
      if (a.empty()) return std::optional<auth::Principal>();
      if (a == "Bearer good")
        return std::optional<auth::Principal>(
            auth::Principal{"aud-001", "Auditor", "", {"auditor"}, "api-key"});
      return core::unauthenticated("the token has expired");
    };
    server_ =
        std::make_unique<HttpServer>(options, router_, authenticate, &log_.stream(), &metrics_);
    ASSERT_TRUE(server_->start().isOk());
  }

  std::unique_ptr<Poco::Net::HTTPClientSession> session() {
    auto s = std::make_unique<Poco::Net::HTTPClientSession>(
        "127.0.0.1", static_cast<Poco::UInt16>(server_->port()));
    s->setTimeout(Poco::Timespan(10, 0));
    return s;
  }

  Reply get(const std::string& uri, const std::string& method = "GET",
            const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    auto s = session();
    Poco::Net::HTTPRequest request(method, uri, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [k, v] : headers) request.set(k, v);
    return send(*s, request);
  }

  Router router_;
  LogCapture log_;
  Metrics metrics_;
  std::unique_ptr<HttpServer> server_;
  std::promise<void> slow_started_;
};

TEST_F(HttpServerTest, UnknownPathIsAJson404) {
  start();
  const Reply r = get("/nowhere");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.response.getReason(), "Not Found");
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "not_found");
}

TEST_F(HttpServerTest, WrongMethodIs405WithAllow) {
  start();
  const Reply r = get("/echo", "GET");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "POST");
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "method_not_allowed");
}

TEST_F(HttpServerTest, HeadIsServedAsGetWithoutABody) {
  start();
  const Reply get_reply = get("/hello");
  const Reply head = get("/hello", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.response.getContentLength64(), static_cast<Poco::Int64>(get_reply.body.size()));
}

TEST_F(HttpServerTest, BodyOverTheLimitByContentLengthIs413) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  start(options);
  auto s = session();
  Poco::Net::HTTPRequest request("POST", "/echo", Poco::Net::HTTPMessage::HTTP_1_1);
  const Reply r = send(*s, request, std::string(4096, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "resource_exhausted");
  // Within the limit is fine.
  auto s2 = session();
  Poco::Net::HTTPRequest ok("POST", "/echo", Poco::Net::HTTPMessage::HTTP_1_1);
  const Reply fine = send(*s2, ok, std::string(1024, 'x'));
  EXPECT_EQ(fine.status, 200);
  EXPECT_EQ(json::parse(fine.body)["bytes"], 1024);
}

TEST_F(HttpServerTest, ChunkedBodyOverTheLimitIs413) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  start(options);
  auto s = session();
  Poco::Net::HTTPRequest request("POST", "/echo", Poco::Net::HTTPMessage::HTTP_1_1);
  request.setChunkedTransferEncoding(true);
  const Reply r = send(*s, request, std::string(4096, 'x'));
  EXPECT_EQ(r.status, 413);
  auto s2 = session();
  Poco::Net::HTTPRequest ok("POST", "/echo", Poco::Net::HTTPMessage::HTTP_1_1);
  ok.setChunkedTransferEncoding(true);
  const Reply fine = send(*s2, ok, std::string(1000, 'x'));
  EXPECT_EQ(fine.status, 200);
  EXPECT_EQ(json::parse(fine.body)["bytes"], 1000);
}

TEST_F(HttpServerTest, PostWithoutLengthHasAnEmptyBodyAndDoesNotHang) {
  start();
  Poco::Net::StreamSocket socket(
      Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(server_->port())));
  socket.setReceiveTimeout(Poco::Timespan(5, 0));
  const std::string raw = "POST /echo HTTP/1.1\r\nHost: x\r\n\r\n";
  socket.sendBytes(raw.data(), static_cast<int>(raw.size()));
  char buffer[2048];
  const int n = socket.receiveBytes(buffer, sizeof buffer);
  ASSERT_GT(n, 0);
  const std::string reply(buffer, static_cast<std::size_t>(n));
  EXPECT_NE(reply.find("HTTP/1.1 200"), std::string::npos) << reply;
  EXPECT_NE(reply.find("\"bytes\":0"), std::string::npos) << reply;
}

TEST_F(HttpServerTest, SignedInRouteWithoutCredentialsIs401WithWwwAuthenticate) {
  start();
  const Reply r = get("/mine");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer realm=\"sendflow\"");
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "unauthenticated");

  const Reply bad = get("/mine", "GET", {{"Authorization", "Bearer expired"}});
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(json::parse(bad.body)["error"]["message"], "the token has expired");

  const Reply good = get("/mine", "GET", {{"Authorization", "Bearer good"}});
  EXPECT_EQ(good.status, 200);
  EXPECT_EQ(json::parse(good.body)["user"], "aud-001");
}

TEST_F(HttpServerTest, ErrorsAreJsonWithTheFieldsAtFault) {
  start();
  auto s = session();
  Poco::Net::HTTPRequest request("POST", "/forms/1", Poco::Net::HTTPMessage::HTTP_1_1);
  const Reply r = send(*s, request, "{}");
  EXPECT_EQ(r.status, 422);
  const json body = json::parse(r.body);
  EXPECT_EQ(body["error"]["code"], "invalid_argument");
  EXPECT_EQ(body["error"]["request_id"], r.header("X-Request-Id"));
  ASSERT_EQ(body["error"]["fields"].size(), 2u);
  EXPECT_EQ(body["error"]["fields"][0], json({{"field", "standard_1"}, {"problem", "required"}}));
  EXPECT_EQ(body["error"]["fields"][1], json({{"field", "evidence"}, {"problem", "too long"}}));
}

TEST_F(HttpServerTest, EveryResponseHasTheSecurityHeaders) {
  ServerOptions options;
  options.frame_ancestors = {"https://council.sharepoint.com", "https://intranet.council.example"};
  start(options);
  for (const std::string uri : {"/hello", "/nowhere"}) {
    const Reply r = get(uri);
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff") << uri;
    EXPECT_EQ(r.header("Referrer-Policy"), "no-referrer") << uri;
    EXPECT_EQ(r.header("Cache-Control"), "no-store") << uri;
    EXPECT_NE(r.header("Content-Security-Policy")
                  .find("frame-ancestors 'self' https://council.sharepoint.com "
                        "https://intranet.council.example"),
              std::string::npos)
        << uri;
    EXPECT_EQ(r.header("Strict-Transport-Security"), "") << uri;  // not over plain HTTP
  }
  EXPECT_EQ(get("/cached").header("Cache-Control"), "private, max-age=60");
}

TEST_F(HttpServerTest, FrameAncestorsDefaultToSelf) {
  start();
  EXPECT_NE(get("/hello").header("Content-Security-Policy").find("frame-ancestors 'self'"),
            std::string::npos);
}

TEST_F(HttpServerTest, EchoesAWellFormedRequestIdAndMakesOneOtherwise) {
  start();
  EXPECT_EQ(get("/hello", "GET", {{"X-Request-Id", "abc-123_x.y"}}).header("X-Request-Id"),
            "abc-123_x.y");
  const std::string made =
      get("/hello", "GET", {{"X-Request-Id", "bad id\"<script>"}}).header("X-Request-Id");
  EXPECT_EQ(made.size(), 16u);
  EXPECT_EQ(made.find_first_not_of("0123456789abcdef"), std::string::npos);
  const std::string other = get("/hello").header("X-Request-Id");
  EXPECT_EQ(other.size(), 16u);
  EXPECT_NE(other, made);
}

TEST_F(HttpServerTest, AccessLogIsOneJsonObjectPerLineAndHidesTokens) {
  start();
  const Reply r = get("/approve/tok_Secret123?x=1", "GET", {{"X-Request-Id", "req-approve-1"}});
  ASSERT_EQ(r.status, 200);
  const std::string line = log_.waitForLine("req-approve-1");
  ASSERT_FALSE(line.empty()) << log_.text();
  const json entry = json::parse(line);
  EXPECT_EQ(entry["request_id"], "req-approve-1");
  EXPECT_EQ(entry["path"], "/approve/[token]");
  EXPECT_EQ(entry["route"], "/approve/{token}");
  EXPECT_EQ(entry["status"], 200);
  EXPECT_EQ(entry["method"], "GET");
  EXPECT_EQ(entry["level"], "info");
  EXPECT_TRUE(entry.contains("ts"));
  EXPECT_TRUE(entry["duration_ms"].is_number());
  EXPECT_EQ(log_.text().find("tok_Secret123"), std::string::npos);

  get("/mine", "GET", {{"Authorization", "Bearer good"}, {"X-Request-Id", "req-mine"}});
  const json signed_in = json::parse(log_.waitForLine("req-mine"));
  EXPECT_EQ(signed_in["user"], "aud-001");
  EXPECT_EQ(log_.text().find("Bearer good"), std::string::npos);
  // Every line is one JSON object.
  std::istringstream lines(log_.text());
  std::string each;
  while (std::getline(lines, each)) EXPECT_TRUE(json::parse(each).is_object()) << each;
}

TEST_F(HttpServerTest, AThrowingHandlerGivesA500WithoutTheExceptionText) {
  start();
  const Reply r = get("/boom", "GET", {{"X-Request-Id", "req-boom"}});
  EXPECT_EQ(r.status, 500);
  const json body = json::parse(r.body);
  EXPECT_EQ(body["error"]["code"], "internal");
  EXPECT_EQ(r.body.find("secret detail"), std::string::npos);
  // The detail goes to the log for IT.
  const json entry = json::parse(log_.waitForLine("req-boom"));
  EXPECT_EQ(entry["level"], "error");
  EXPECT_EQ(entry["exception"], "secret detail of the failure");
}

TEST_F(HttpServerTest, TrustsTheLastForwardedForEntryOnlyWhenConfigured) {
  start();
  auto s = session();
  Poco::Net::HTTPRequest request("POST", "/echo", Poco::Net::HTTPMessage::HTTP_1_1);
  request.set("X-Forwarded-For", "203.0.113.9");
  EXPECT_EQ(json::parse(send(*s, request, "x").body)["client"], "127.0.0.1");
  server_->stop(std::chrono::milliseconds(100));

  ServerOptions options;
  options.trust_forwarded_for = true;
  start(options);
  auto s2 = session();
  Poco::Net::HTTPRequest forwarded("POST", "/echo", Poco::Net::HTTPMessage::HTTP_1_1);
  forwarded.set("X-Forwarded-For", "198.51.100.1, 203.0.113.9");
  EXPECT_EQ(json::parse(send(*s2, forwarded, "x").body)["client"], "203.0.113.9");
}

TEST_F(HttpServerTest, TellsTheObserverOfEveryRequest) {
  start();
  get("/hello");
  get("/hello");
  get("/nowhere");
  // The observer hears of a request once its response is written: give it a moment.
  const std::string unmatched = "{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n";
  for (int i = 0; i < 200 && metrics_.scrape().find(unmatched) == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::string text = metrics_.scrape();
  EXPECT_NE(text.find("{route=\"/hello\",method=\"GET\",status=\"200\"} 2\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n"),
            std::string::npos);
}

TEST_F(HttpServerTest, ServesKeepAliveRequestsOnOneConnection) {
  start();
  auto s = session();
  s->setKeepAlive(true);
  for (int i = 0; i < 5; ++i) {
    Poco::Net::HTTPRequest request("GET", "/hello", Poco::Net::HTTPMessage::HTTP_1_1);
    request.setKeepAlive(true);
    EXPECT_EQ(send(*s, request).status, 200);
  }
}

TEST_F(HttpServerTest, ServesMoreOpenKeepAliveConnectionsThanThreads) {
  // An idle keep-alive connection holds no thread: 40 stay open on a pool of 4 (one client here,
  // so its connection bound is lifted).
  ServerOptions options;
  options.max_threads = 4;
  options.max_connections_per_client = 0;
  start(options);
  std::vector<std::unique_ptr<Poco::Net::HTTPClientSession>> open;
  for (int i = 0; i < 40; ++i) {
    auto s = session();
    s->setTimeout(Poco::Timespan(2, 0));
    s->setKeepAlive(true);
    Poco::Net::HTTPRequest request("GET", "/hello", Poco::Net::HTTPMessage::HTTP_1_1);
    request.setKeepAlive(true);
    ASSERT_EQ(send(*s, request).status, 200) << "connection " << i;
    open.push_back(std::move(s));
  }
}

TEST_F(HttpServerTest, StopFinishesARequestInFlightAndThenRefusesConnections) {
  start();
  const int port = server_->port();
  auto reply = std::async(std::launch::async, [this] { return get("/slow"); });
  slow_started_.get_future().wait();
  const auto before = std::chrono::steady_clock::now();
  server_->stop(std::chrono::seconds(5));
  EXPECT_GE(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(300));
  const Reply r = reply.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "finished");
  Poco::Net::HTTPClientSession s("127.0.0.1", static_cast<Poco::UInt16>(port));
  s.setTimeout(Poco::Timespan(2, 0));
  Poco::Net::HTTPRequest request("GET", "/hello", Poco::Net::HTTPMessage::HTTP_1_1);
  EXPECT_THROW(send(s, request), Poco::Exception);
  server_.reset();
}

TEST_F(HttpServerTest, StopDoesNotWaitForIdleKeepAliveConnections) {
  start();
  auto s = session();
  s->setKeepAlive(true);
  Poco::Net::HTTPRequest request("GET", "/hello", Poco::Net::HTTPMessage::HTTP_1_1);
  request.setKeepAlive(true);
  ASSERT_EQ(send(*s, request).status, 200);
  const auto before = std::chrono::steady_clock::now();
  server_->stop(std::chrono::seconds(5));
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(3));
  server_.reset();
}

TEST_F(HttpServerTest, AnswersExpectContinueBeforeTheBodyIsSent) {
  start();
  Poco::Net::StreamSocket socket(
      Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(server_->port())));
  socket.setReceiveTimeout(Poco::Timespan(5, 0));
  const std::string head =
      "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
  socket.sendBytes(head.data(), static_cast<int>(head.size()));
  char buffer[2048];
  int n = socket.receiveBytes(buffer, sizeof buffer);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(n)), "HTTP/1.1 100 Continue\r\n\r\n");
  socket.sendBytes("abc", 3);
  n = socket.receiveBytes(buffer, sizeof buffer);
  ASSERT_GT(n, 0);
  const std::string reply(buffer, static_cast<std::size_t>(n));
  EXPECT_NE(reply.find("HTTP/1.1 200 OK"), std::string::npos) << reply;
  EXPECT_NE(reply.find("\"bytes\":3"), std::string::npos) << reply;
}

TEST_F(HttpServerTest, ClosesAnHttp10ConnectionAfterItsResponse) {
  start();
  Poco::Net::StreamSocket socket(
      Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(server_->port())));
  socket.setReceiveTimeout(Poco::Timespan(5, 0));
  const std::string raw = "GET /hello HTTP/1.0\r\n\r\n";
  socket.sendBytes(raw.data(), static_cast<int>(raw.size()));
  std::string reply;
  char buffer[2048];
  int n = 0;
  while ((n = socket.receiveBytes(buffer, sizeof buffer)) > 0) {
    reply.append(buffer, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(reply.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("Connection: close\r\n"), std::string::npos) << reply;
  EXPECT_NE(reply.find("\"hello\":\"nobody\""), std::string::npos) << reply;
}

TEST_F(HttpServerTest, SurvivesClientsThatCloseBeforeReadingTheirResponse) {
  router_.add(
      "GET", "/big", [](Request&) { return Response::text(200, std::string(8 << 20, 'x')); },
      Access::kPublic);
  start();
  for (int i = 0; i < 5; ++i) {
    Poco::Net::StreamSocket socket(
        Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(server_->port())));
    const std::string raw = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
    socket.sendBytes(raw.data(), static_cast<int>(raw.size()));
    char buffer[1024];
    socket.receiveBytes(buffer, sizeof buffer);
    socket.close();  // with most of the 8 MB still to come
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(get("/hello").status, 200);
}

TEST_F(HttpServerTest, SlowHandlersGetMoreThreadsWhileFastRequestsAreStillServed) {
  router_.add(
      "GET", "/nap",
      [](Request&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(800));
        return Response::text(200, "rested");
      },
      Access::kPublic);
  ServerOptions options;
  options.max_threads = 16;
  start(options);
  std::vector<std::future<Reply>> naps;
  for (int i = 0; i < 6; ++i) {
    naps.push_back(std::async(std::launch::async, [this] { return get("/nap"); }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto before = std::chrono::steady_clock::now();
  EXPECT_EQ(get("/hello").status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(500));
  for (auto& nap : naps) EXPECT_EQ(nap.get().status, 200);
}

TEST_F(HttpServerTest, FailsToStartOnAPortInUse) {
  start();
  ServerOptions options;
  options.address = "127.0.0.1";
  options.port = server_->port();
  HttpServer second(options, router_, nullptr, nullptr, nullptr);
  const core::Status st = second.start();
  EXPECT_EQ(st.code(), core::StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("127.0.0.1"), std::string::npos);
}

// TLS with a self-signed certificate made for the test by the openssl command.
class HttpServerTlsTest : public HttpServerTest {
 protected:
  void SetUp() override {
    HttpServerTest::SetUp();
    dir_ = std::filesystem::temp_directory_path() /
           ("sendflow-tls-" + std::to_string(::getpid()) + "-" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::filesystem::create_directories(dir_);
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1 -keyout '" +
        (dir_ / "key.pem").string() + "' -out '" + (dir_ / "cert.pem").string() +
        "' >/dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << "the openssl command is needed";
  }
  void TearDown() override {
    HttpServerTest::TearDown();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
};

TEST_F(HttpServerTlsTest, ServesHttpsWithTheConfiguredCertificate) {
  ServerOptions options;
  options.tls_certificate_file = (dir_ / "cert.pem").string();
  options.tls_private_key_file = (dir_ / "key.pem").string();
  start(options);
  EXPECT_TRUE(server_->tls());
  // The client trusts exactly this certificate.
  Poco::Net::Context::Ptr context =
      new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "",
                             (dir_ / "cert.pem").string(), Poco::Net::Context::VERIFY_STRICT);
  Poco::Net::HTTPSClientSession s("127.0.0.1", static_cast<Poco::UInt16>(server_->port()), context);
  s.setTimeout(Poco::Timespan(10, 0));
  Poco::Net::HTTPRequest request("GET", "/hello", Poco::Net::HTTPMessage::HTTP_1_1);
  const Reply r = send(s, request);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["hello"], "nobody");
  EXPECT_EQ(r.header("Strict-Transport-Security"), "max-age=31536000");

  // Keep-alive over TLS: several requests on one connection.
  Poco::Net::HTTPSClientSession kept_session("127.0.0.1",
                                             static_cast<Poco::UInt16>(server_->port()), context);
  kept_session.setTimeout(Poco::Timespan(10, 0));
  kept_session.setKeepAlive(true);
  for (int i = 0; i < 3; ++i) {
    Poco::Net::HTTPRequest again("GET", "/hello", Poco::Net::HTTPMessage::HTTP_1_1);
    again.setKeepAlive(true);
    const Reply kept = send(kept_session, again);
    EXPECT_EQ(kept.status, 200);
    EXPECT_TRUE(kept.response.getKeepAlive());
  }

  // Plain HTTP on the TLS port gets no answer.
  auto plain = session();
  Poco::Net::HTTPRequest clear("GET", "/hello", Poco::Net::HTTPMessage::HTTP_1_1);
  EXPECT_THROW(send(*plain, clear), Poco::Exception);
}

TEST_F(HttpServerTlsTest, RefusesAMissingOrHalfConfiguredCertificate) {
  ServerOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.tls_certificate_file = (dir_ / "cert.pem").string();
  HttpServer half(options, router_, nullptr, nullptr, nullptr);
  EXPECT_EQ(half.start().code(), core::StatusCode::kInvalidArgument);

  options.tls_private_key_file = (dir_ / "missing.pem").string();
  HttpServer missing(options, router_, nullptr, nullptr, nullptr);
  const core::Status st = missing.start();
  EXPECT_EQ(st.code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("missing.pem"), std::string::npos);
}

}  // namespace
}  // namespace sendflow::http
