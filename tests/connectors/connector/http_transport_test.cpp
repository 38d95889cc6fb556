#include "connectors/connector/http_transport.h"

#include <gtest/gtest.h>

#include <Poco/Net/ServerSocket.h>
#include <Poco/TemporaryFile.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>

#include "connectors/connector/access_token.h"
#include "tests/connectors/fakes/fake_http_server.h"
#include "tests/connectors/fakes/fake_token_endpoint.h"

namespace sendflow::connectors {
namespace {

using std::chrono::milliseconds;

// Answers every GET with a fixed document.
class DocumentServer final : public testing::FakeHttpServer {
 public:
  explicit DocumentServer(std::string body) : body_(std::move(body)) { start(); }
  ~DocumentServer() override { stop(); }

 protected:
  testing::FakeReply handle(const testing::FakeRequest&) override {
    return testing::FakeReply{200, "application/octet-stream", body_, {}};
  }

 private:
  std::string body_;
};

class HttpTransportTest : public ::testing::Test {
 protected:
  HttpTransportTest() : server_(body()) {
    options_.retry.initial_backoff = milliseconds(100);
    options_.retry.max_backoff = milliseconds(400);
    options_.io_timeout = milliseconds(2000);
    options_.jitter_seed = 42;
    options_.sleep = [this](milliseconds d) { sleeps_.push_back(d); };
  }
  static std::string body() {
    std::string b;
    for (int i = 0; i < 200000; ++i) b += static_cast<char>('a' + i % 26);
    return b;
  }
  HttpRequest get(const std::string& path = "/plans/plan-001.docx") {
    HttpRequest r;
    r.url = server_.baseUrl() + path;
    return r;
  }

  DocumentServer server_;
  core::ManualClock clock_{core::TimePoint(std::chrono::hours(24 * 365 * 56))};
  HttpOptions options_;
  std::vector<milliseconds> sleeps_;
};

TEST_F(HttpTransportTest, WaitsTheRetryAfterA429AskedFor) {
  server_.inject({testing::FaultKind::kStatus, "", 429, /*retry_after_seconds=*/2});
  HttpTransport transport(options_, clock_);
  auto response = transport.send(get());
  ASSERT_TRUE(response.isOk()) << response.status().toString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, body());
  ASSERT_EQ(sleeps_.size(), 1u);
  EXPECT_EQ(sleeps_[0], milliseconds(2000));
  EXPECT_EQ(transport.attempts(), 2);
}

TEST_F(HttpTransportTest, RetryAfterBeyondTheLimitFailsAsUnavailable) {
  server_.inject({testing::FaultKind::kStatus, "", 503, /*retry_after_seconds=*/600});
  HttpTransport transport(options_, clock_);
  auto response = transport.send(get());
  ASSERT_FALSE(response.isOk());
  EXPECT_EQ(response.status().code(), core::StatusCode::kUnavailable);
  EXPECT_NE(response.status().message().find("600s"), std::string::npos)
      << response.status().toString();
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(HttpTransportTest, GivesUpAfterMaxAttemptsWithCappedJitteredBackoff) {
  server_.inject({testing::FaultKind::kStatus, "", 503, -1, milliseconds(0), /*times=*/10});
  options_.retry.max_attempts = 5;
  HttpTransport transport(options_, clock_);
  auto response = transport.send(get());
  ASSERT_TRUE(response.isOk());
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(transport.attempts(), 5);
  ASSERT_EQ(sleeps_.size(), 4u);
  const long long caps[] = {100, 200, 400, 400};
  for (std::size_t i = 0; i < sleeps_.size(); ++i) {
    EXPECT_GE(sleeps_[i].count(), caps[i] / 2) << "retry " << i + 1;
    EXPECT_LE(sleeps_[i].count(), caps[i]) << "retry " << i + 1;
  }
  const core::Status status = statusFromResponse("graph connector: list", get(), *response);
  EXPECT_EQ(status.code(), core::StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("Injected failure"), std::string::npos) << status.toString();
}

TEST_F(HttpTransportTest, ADroppedResponseIsRetriedAndArrivesWhole) {
  server_.inject({testing::FaultKind::kDrop});
  HttpTransport transport(options_, clock_);
  auto response = transport.send(get());
  ASSERT_TRUE(response.isOk()) << response.status().toString();
  EXPECT_EQ(response->body, body());
  EXPECT_EQ(transport.attempts(), 2);
}

TEST_F(HttpTransportTest, ASlowAnswerTimesOutAndIsRetried) {
  server_.inject({testing::FaultKind::kSlow, "", 0, -1, milliseconds(600)});
  options_.io_timeout = milliseconds(150);
  HttpTransport transport(options_, clock_);
  auto response = transport.send(get());
  ASSERT_TRUE(response.isOk()) << response.status().toString();
  EXPECT_EQ(response->body, body());
  EXPECT_EQ(transport.attempts(), 2);
}

TEST_F(HttpTransportTest, DownloadsStreamToAFileWithinTheLimit) {
  const std::string path = Poco::TemporaryFile::tempName();
  HttpTransport transport(options_, clock_);
  HttpRequest request = get();
  request.download_path = path;
  auto response = transport.send(request);
  ASSERT_TRUE(response.isOk());
  EXPECT_TRUE(response->body.empty());
  EXPECT_EQ(response->downloaded_bytes, static_cast<std::int64_t>(body().size()));
  std::ifstream in(path, std::ios::binary);
  std::stringstream copy;
  copy << in.rdbuf();
  EXPECT_EQ(copy.str(), body());

  request.max_download_bytes = 1000;
  response = transport.send(request);
  ASSERT_FALSE(response.isOk());
  EXPECT_EQ(response.status().code(), core::StatusCode::kResourceExhausted);
  std::remove(path.c_str());
}

TEST_F(HttpTransportTest, AnUnreachablePeerIsUnavailableAfterEveryAttempt) {
  unsigned short port = 0;
  {
    Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
    port = probe.address().port();
  }
  options_.retry.max_attempts = 3;
  HttpTransport transport(options_, clock_);
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(port) + "/dav/plan.docx?sig=SECRET";
  auto response = transport.send(request);
  ASSERT_FALSE(response.isOk());
  EXPECT_EQ(response.status().code(), core::StatusCode::kUnavailable);
  EXPECT_NE(response.status().message().find("gave up after 3 attempts"), std::string::npos);
  EXPECT_EQ(response.status().message().find("SECRET"), std::string::npos)
      << "query strings are not logged";
}

TEST_F(HttpTransportTest, GoesThroughTheConfiguredProxy) {
  options_.proxy_host = "127.0.0.1";
  options_.proxy_port = static_cast<unsigned short>(std::stoi(server_.baseUrl().substr(17)));
  HttpTransport transport(options_, clock_);
  HttpRequest request;
  request.url = "http://intranet.council.invalid/dav/plan.docx";  // resolvable only by the proxy
  auto response = transport.send(request);
  ASSERT_TRUE(response.isOk()) << response.status().toString();
  EXPECT_EQ(response->body, body());
  EXPECT_EQ(server_.requests().back().path, "/dav/plan.docx");
  EXPECT_EQ(server_.requests().back().header("host"), "intranet.council.invalid");
}

TEST(HttpStatusTest, MapsPeerStatusesToCodes) {
  HttpRequest request;
  request.url = "https://graph.example/v1.0/drives/x?token=abc";
  HttpResponse response;
  response.reason = "x";
  const std::pair<int, core::StatusCode> cases[] = {
      {401, core::StatusCode::kUnauthenticated},   {403, core::StatusCode::kPermissionDenied},
      {404, core::StatusCode::kNotFound},          {412, core::StatusCode::kConflict},
      {413, core::StatusCode::kResourceExhausted}, {429, core::StatusCode::kUnavailable},
      {500, core::StatusCode::kUnavailable},       {400, core::StatusCode::kInvalidArgument}};
  for (const auto& [status, code] : cases) {
    response.status = status;
    EXPECT_EQ(statusFromResponse("what", request, response).code(), code) << status;
  }
  response.status = 404;
  response.body =
      R"({"error":{"code":"itemNotFound","message":"The resource could not be found."}})";
  const std::string message =
      statusFromResponse("graph connector: download", request, response).message();
  EXPECT_EQ(message,
            "graph connector: download: GET https://graph.example/v1.0/drives/x: 404 x: "
            "itemNotFound: The resource could not be found.");
}

TEST(ClientCredentialsTokenTest, CachesTheTokenUntilShortlyBeforeItExpires) {
  testing::FakeTokenEndpoint endpoint;
  endpoint.setExpiresIn(3600);
  core::ManualClock clock(core::TimePoint(std::chrono::hours(500000)));
  HttpTransport transport(HttpOptions{}, clock);
  ClientCredentialsToken token({endpoint.tokenUrl(), testing::FakeTokenEndpoint::kClientId,
                                testing::FakeTokenEndpoint::kSecret,
                                "https://graph.microsoft.com/.default", std::chrono::seconds(300)},
                               transport, clock);
  auto first = token.authorization();
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  EXPECT_TRUE(endpoint.accepts(*first));
  EXPECT_EQ(*token.authorization(), *first);
  clock.advance(std::chrono::seconds(3299));
  EXPECT_EQ(*token.authorization(), *first);
  EXPECT_EQ(endpoint.issued(), 1);
  clock.advance(std::chrono::seconds(2));  // within the 5-minute margin: a new token
  EXPECT_NE(*token.authorization(), *first);
  EXPECT_EQ(endpoint.issued(), 2);
  const auto form = endpoint.requests().back().body;
  EXPECT_NE(form.find("grant_type=client_credentials"), std::string::npos);
  EXPECT_NE(form.find("scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"), std::string::npos);
}

TEST(ClientCredentialsTokenTest, ARefusedSecretIsUnauthenticatedWithEntrasReason) {
  testing::FakeTokenEndpoint endpoint;
  core::ManualClock clock(core::TimePoint(std::chrono::hours(500000)));
  HttpTransport transport(HttpOptions{}, clock);
  ClientCredentialsToken token({endpoint.tokenUrl(), testing::FakeTokenEndpoint::kClientId, "wrong",
                                "https://graph.microsoft.com/.default"},
                               transport, clock);
  auto result = token.authorization();
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), core::StatusCode::kUnauthenticated);
  EXPECT_NE(result.status().message().find("AADSTS7000215"), std::string::npos)
      << result.status().toString();
}

// Writes a fresh RSA key and a self-signed certificate for it, as an IT team would upload to the
// app registration.
void writeCertificate(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("sendflow"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);
  FILE* c = std::fopen(cert_path.c_str(), "w");
  PEM_write_X509(c, cert);
  std::fclose(c);
  FILE* k = std::fopen(key_path.c_str(), "w");
  PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(k);
  X509_free(cert);
  EVP_PKEY_free(key);
}

TEST(ClientCredentialsTokenTest, CertificateCredentialsSignAClientAssertion) {
  const std::string cert = Poco::TemporaryFile::tempName(), key = Poco::TemporaryFile::tempName();
  const std::string other_cert = Poco::TemporaryFile::tempName(),
                    other_key = Poco::TemporaryFile::tempName();
  writeCertificate(cert, key);
  writeCertificate(other_cert, other_key);
  testing::FakeTokenEndpoint endpoint;
  endpoint.trustCertificate(cert);
  core::SystemClock clock;
  HttpTransport transport(HttpOptions{}, clock);
  ClientCredentialsConfig config{endpoint.tokenUrl(), testing::FakeTokenEndpoint::kClientId, "",
                                 "https://contoso.sharepoint.com/.default"};
  config.certificate_file = cert;
  config.private_key_file = key;
  ClientCredentialsToken token(config, transport, clock);
  auto authorization = token.authorization();
  ASSERT_TRUE(authorization.isOk()) << authorization.status().toString();
  EXPECT_TRUE(endpoint.accepts(*authorization));
  EXPECT_EQ(endpoint.requests().back().body.find("client_secret"), std::string::npos);

  config.certificate_file = other_cert;  // a certificate the app registration does not know
  config.private_key_file = other_key;
  ClientCredentialsToken stranger(config, transport, clock);
  auto refused = stranger.authorization();
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), core::StatusCode::kUnauthenticated);
  EXPECT_NE(refused.status().message().find("AADSTS700027"), std::string::npos)
      << refused.status().toString();

  config.private_key_file = cert;  // not a key
  ClientCredentialsToken broken(config, transport, clock);
  auto unreadable = broken.authorization();
  ASSERT_FALSE(unreadable.isOk());
  EXPECT_NE(unreadable.status().message().find("connector.private_key_file"), std::string::npos);
  for (const auto& f : {cert, key, other_cert, other_key}) std::remove(f.c_str());
}

}  // namespace
}  // namespace sendflow::connectors
