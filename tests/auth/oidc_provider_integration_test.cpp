// The sign-in against a real OpenID Connect provider on loopback: oauth2-mock-server, started
// with node through tests/tools/oidc-server.mjs (a fresh RS256 key on every start). Skipped only
// when node is missing; fails when the npm package is missing (scripts/install-deps --test
// installs it).

#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/auth/bearer_authenticator.h"
#include "server/auth/oidc_client.h"
#include "server/auth/oidc_verifier.h"

namespace sendflow::auth {
namespace {

const std::string kSourceDir = SENDFLOW_SOURCE_DIR;

std::string findOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::filesystem::path candidate = std::filesystem::path(dir.empty() ? "." : dir) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

// oidc-server.mjs as a child process; stopped (SIGTERM, then SIGKILL) when destroyed.
class OidcServerProcess {
 public:
  OidcServerProcess(const std::string& node, int port, const nlohmann::json& claims) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    std::string script = kSourceDir + "/tests/tools/oidc-server.mjs";
    std::string port_text = std::to_string(port);
    std::string claims_text = claims.dump();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      ::execl(node.c_str(), node.c_str(), script.c_str(), "--port", port_text.c_str(), "--claims",
              claims_text.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    stdout_fd_ = out[0];
    std::string line = readLine(std::chrono::seconds(30));
    nlohmann::json info = nlohmann::json::parse(line, nullptr, false);
    if (info.is_discarded() || !info.contains("issuer") || !info.contains("port")) {
      throw std::runtime_error("oidc-server.mjs did not print its issuer (got '" + line + "')");
    }
    issuer_ = info["issuer"].get<std::string>();
    port_ = info["port"].get<int>();
    kid_ = info.value("kid", "");
  }

  ~OidcServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      for (int i = 0; i < 50; ++i) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
      }
    }
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
  }

  const std::string& issuer() const { return issuer_; }
  int port() const { return port_; }
  const std::string& kid() const { return kid_; }

 private:
  std::string readLine(std::chrono::seconds timeout) {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{stdout_fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 200) <= 0) continue;
      char c;
      ssize_t n = ::read(stdout_fd_, &c, 1);
      if (n <= 0) break;  // the process ended
      if (c == '\n') return line;
      line += c;
    }
    return line;
  }

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string issuer_;
  int port_ = 0;
  std::string kid_;
};

struct HttpAnswer {
  int status = 0;
  std::string location;
  std::string body;
};

HttpAnswer httpRequest(const std::string& method, const std::string& url,
                       const std::string& form_body = "") {
  Poco::URI uri(url);
  Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
  session.setTimeout(Poco::Timespan(10, 0));
  Poco::Net::HTTPRequest request(method, uri.getPathEtc(), Poco::Net::HTTPMessage::HTTP_1_1);
  if (!form_body.empty()) {
    request.setContentType("application/x-www-form-urlencoded");
    request.setContentLength(static_cast<std::streamsize>(form_body.size()));
  }
  session.sendRequest(request) << form_body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  HttpAnswer answer;
  answer.status = static_cast<int>(response.getStatus());
  answer.location = response.get("Location", "");
  Poco::StreamCopier::copyToString(in, answer.body);
  return answer;
}

// An access token from the provider's token endpoint (client credentials) for `audience`.
std::string clientCredentialsToken(const std::string& issuer, const std::string& audience) {
  HttpAnswer answer = httpRequest("POST", issuer + "/token",
                                  "grant_type=client_credentials&scope=sendflow&aud=" + audience);
  if (answer.status != 200) {
    throw std::runtime_error("token endpoint answered " + std::to_string(answer.status) + ": " +
                             answer.body);
  }
  return nlohmann::json::parse(answer.body).at("access_token").get<std::string>();
}

const nlohmann::json kClaims = {{"preferred_username", "qa-001"},
                                {"name", "Priya Shah"},
                                {"email", "priya.shah@council.example"},
                                {"roles", {"SEND.QaLead", "SEND.Unmapped"}},
                                {"groups", {"grp-send-auditors"}}};

class OidcProviderIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = findOnPath("node");
    if (node_.empty()) GTEST_SKIP() << "node is not installed; the real OIDC provider needs it";
    ASSERT_TRUE(
        std::filesystem::exists(kSourceDir + "/tests/node_modules/oauth2-mock-server/package.json"))
        << "the npm package oauth2-mock-server is missing: run scripts/install-deps --test";
    server_ = std::make_unique<OidcServerProcess>(node_, 0, kClaims);
  }

  OidcOptions options() const {
    OidcOptions o;
    o.issuer = server_->issuer();
    o.audiences = {"sendflow-api"};
    o.client_id = "sendflow-web";
    o.client_secret = "not-checked-by-the-mock";
    o.role_map = {{"SEND.QaLead", {"qa-lead"}}, {"grp-send-auditors", {"auditor"}}};
    return o;
  }

  std::string node_;
  std::unique_ptr<OidcServerProcess> server_;
  core::ManualClock clock_{core::SystemClock().now()};
};

TEST_F(OidcProviderIntegrationTest, VerifiesTheProvidersAccessTokenAndMapsRoles) {
  OidcVerifier verifier(options(), clock_);
  std::string token = clientCredentialsToken(server_->issuer(), "sendflow-api");
  auto principal = verifier.verifyAccessToken(token);
  ASSERT_TRUE(principal.isOk()) << principal.status().toString();
  EXPECT_EQ(principal->id, "qa-001");
  EXPECT_EQ(principal->name, "Priya Shah");
  EXPECT_EQ(principal->email, "priya.shah@council.example");
  EXPECT_EQ(principal->roles, (std::set<std::string>{"qa-lead", "auditor"}));
  EXPECT_EQ(principal->via, "oidc");

  // Through the bearer authenticator, as the HTTP layer calls it.
  BearerAuthenticator bearer(
      nullptr, std::shared_ptr<const OidcVerifier>(&verifier, [](const OidcVerifier*) {}));
  EXPECT_TRUE(bearer.authenticate("Bearer " + token).isOk());

  // A token for another API of the same provider is refused.
  auto other = verifier.verifyAccessToken(clientCredentialsToken(server_->issuer(), "graph"));
  ASSERT_FALSE(other.isOk());
  EXPECT_EQ(other.status().code(), core::StatusCode::kUnauthenticated);
  EXPECT_NE(other.status().message().find("audience"), std::string::npos);

  // The provider's token expires with the clock (its lifetime is an hour).
  clock_.advance(std::chrono::hours(2));
  auto expired = verifier.verifyAccessToken(token);
  ASSERT_FALSE(expired.isOk());
  EXPECT_NE(expired.status().message().find("expired"), std::string::npos);
}

TEST_F(OidcProviderIntegrationTest, PicksUpTheNewKeyOfARestartedProvider) {
  OidcVerifier verifier(options(), clock_);
  std::string old_token = clientCredentialsToken(server_->issuer(), "sendflow-api");
  ASSERT_TRUE(verifier.verifyAccessToken(old_token).isOk());
  EXPECT_EQ(verifier.jwksFetchCount(), 1);

  // Restart on the same port: same issuer, a new key.
  int port = server_->port();
  std::string old_kid = server_->kid();
  server_.reset();
  server_ = std::make_unique<OidcServerProcess>(node_, port, kClaims);
  ASSERT_EQ(server_->port(), port);
  ASSERT_NE(server_->kid(), old_kid);
  std::string new_token = clientCredentialsToken(server_->issuer(), "sendflow-api");

  // Right after a fetch, an unknown kid does not make the verifier fetch again...
  auto too_soon = verifier.verifyAccessToken(new_token);
  ASSERT_FALSE(too_soon.isOk());
  EXPECT_NE(too_soon.status().message().find("unknown key"), std::string::npos);
  EXPECT_EQ(verifier.jwksFetchCount(), 1);

  // ...but once min_jwks_refresh has passed it does, once.
  clock_.advance(std::chrono::seconds(31));
  auto principal = verifier.verifyAccessToken(new_token);
  ASSERT_TRUE(principal.isOk()) << principal.status().toString();
  EXPECT_EQ(principal->id, "qa-001");
  EXPECT_EQ(verifier.jwksFetchCount(), 2);

  // The old key is gone: its tokens no longer verify.
  auto old = verifier.verifyAccessToken(old_token);
  ASSERT_FALSE(old.isOk());
  EXPECT_EQ(old.status().code(), core::StatusCode::kUnauthenticated);
}

TEST_F(OidcProviderIntegrationTest, BrowserSignInWithTheAuthorizationCodeFlow) {
  OidcVerifier verifier(options(), clock_);
  OidcClient client(verifier);
  const std::string redirect = "http://127.0.0.1:9/auth/callback";
  auto request = client.begin(redirect);
  ASSERT_TRUE(request.isOk()) << request.status().toString();

  // The provider approves at once and redirects back with the code and our state.
  HttpAnswer authorize = httpRequest("GET", request->authorization_url);
  ASSERT_EQ(authorize.status, 302) << authorize.body;
  Poco::URI callback(authorize.location);
  EXPECT_EQ(callback.getPath(), "/auth/callback");
  std::map<std::string, std::string> q;
  for (const auto& [name, value] : callback.getQueryParameters()) q[name] = value;
  ASSERT_EQ(q["state"], request->state);
  ASSERT_FALSE(q["code"].empty());

  auto principal = client.finish(q["code"], request->code_verifier, request->nonce, redirect);
  ASSERT_TRUE(principal.isOk()) << principal.status().toString();
  EXPECT_EQ(principal->id, "qa-001");
  EXPECT_EQ(principal->roles, (std::set<std::string>{"qa-lead", "auditor"}));
  EXPECT_EQ(principal->via, "oidc");
}

TEST_F(OidcProviderIntegrationTest, TheProviderRefusesAWrongCodeVerifier) {
  OidcVerifier verifier(options(), clock_);
  OidcClient client(verifier);
  const std::string redirect = "http://127.0.0.1:9/auth/callback";
  auto request = client.begin(redirect);
  ASSERT_TRUE(request.isOk()) << request.status().toString();
  HttpAnswer authorize = httpRequest("GET", request->authorization_url);
  ASSERT_EQ(authorize.status, 302);
  std::string code;
  for (const auto& [name, value] : Poco::URI(authorize.location).getQueryParameters()) {
    if (name == "code") code = value;
  }
  auto other = client.begin(redirect);  // a verifier from another sign-in
  auto result = client.finish(code, other->code_verifier, request->nonce, redirect);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), core::StatusCode::kUnauthenticated);
  EXPECT_NE(result.status().message().find("code_verifier"), std::string::npos)
      << result.status().message();
}

TEST_F(OidcProviderIntegrationTest, AReplayedIdTokenWithAnotherNonceIsRefused) {
  OidcVerifier verifier(options(), clock_);
  OidcClient client(verifier);
  const std::string redirect = "http://127.0.0.1:9/auth/callback";
  auto request = client.begin(redirect);
  ASSERT_TRUE(request.isOk());
  HttpAnswer authorize = httpRequest("GET", request->authorization_url);
  ASSERT_EQ(authorize.status, 302);
  std::string code;
  for (const auto& [name, value] : Poco::URI(authorize.location).getQueryParameters()) {
    if (name == "code") code = value;
  }
  auto result = client.finish(code, request->code_verifier, "a-different-nonce", redirect);
  ASSERT_FALSE(result.isOk());
  EXPECT_NE(result.status().message().find("nonce"), std::string::npos);
}

}  // namespace
}  // namespace sendflow::auth
