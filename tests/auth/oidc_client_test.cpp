#include "server/auth/oidc_client.h"

#include <Poco/URI.h>
#include <gtest/gtest.h>

#include "server/auth/bearer_authenticator.h"
#include "server/auth/crypto.h"
#include "tests/auth/test_identity_provider.h"

namespace sendflow::auth {
namespace {

using testing::RsaKey;
using testing::TestIdentityProvider;

std::map<std::string, std::string> queryOf(const std::string& url) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : Poco::URI(url).getQueryParameters()) out[name] = value;
  return out;
}

class OidcClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { key_ = new RsaKey("idp-key"); }
  static void TearDownTestSuite() { delete key_; }

  void SetUp() override {
    idp_.setJwks({{"keys", {key_->publicJwk()}}});
    OidcOptions options;
    options.issuer = idp_.issuer();
    options.audiences = {"sendflow-api"};
    options.client_id = "sendflow-web";
    options.client_secret = "web-secret";
    options.role_map = {{"SEND.Moderator", {"moderator"}}};
    verifier_ = std::make_shared<OidcVerifier>(options, clock_);
    client_ = std::make_unique<OidcClient>(*verifier_);
  }

  std::string idToken(const std::string& nonce, const std::string& aud = "sendflow-web") const {
    auto now =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
    return testing::signToken(*key_, {{"iss", idp_.issuer()},
                                      {"aud", aud},
                                      {"sub", "x1"},
                                      {"preferred_username", "mod-001"},
                                      {"name", "Marcus Bell"},
                                      {"roles", {"SEND.Moderator"}},
                                      {"nonce", nonce},
                                      {"exp", now + 300}});
  }

  static RsaKey* key_;
  TestIdentityProvider idp_;
  core::ManualClock clock_{core::TimePoint(std::chrono::seconds(1795000000))};
  std::shared_ptr<OidcVerifier> verifier_;
  std::unique_ptr<OidcClient> client_;
};

RsaKey* OidcClientTest::key_ = nullptr;

TEST_F(OidcClientTest, BeginBuildsTheAuthorizationUrlWithPkceStateAndNonce) {
  auto request = client_->begin("https://sendflow.council.example/auth/callback");
  ASSERT_TRUE(request.isOk()) << request.status().toString();
  EXPECT_EQ(request->authorization_url.rfind(idp_.issuer() + "/authorize?", 0), 0u);
  auto q = queryOf(request->authorization_url);
  EXPECT_EQ(q["response_type"], "code");
  EXPECT_EQ(q["client_id"], "sendflow-web");
  EXPECT_EQ(q["redirect_uri"], "https://sendflow.council.example/auth/callback");
  EXPECT_EQ(q["scope"], "openid profile email");
  EXPECT_EQ(q["state"], request->state);
  EXPECT_EQ(q["nonce"], request->nonce);
  EXPECT_EQ(q["code_challenge_method"], "S256");
  EXPECT_EQ(q["code_challenge"], crypto::base64UrlEncode(crypto::sha256(request->code_verifier)));
  EXPECT_EQ(request->code_verifier.size(), 43u);
  EXPECT_EQ(request->state.size(), 43u);
  EXPECT_NE(request->state, request->nonce);
  auto again = client_->begin("https://sendflow.council.example/auth/callback");
  EXPECT_NE(again->state, request->state);
  EXPECT_NE(again->code_verifier, request->code_verifier);
}

TEST_F(OidcClientTest, TheCodeChallengeIsRfc7636S256) {
  // RFC 7636 appendix B.
  EXPECT_EQ(OidcClient::codeChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST_F(OidcClientTest, FinishRedeemsTheCodeAndVerifiesTheIdToken) {
  idp_.setTokenReply(
      200,
      {{"access_token", "opaque"}, {"token_type", "Bearer"}, {"id_token", idToken("nonce-1")}});
  auto principal = client_->finish("code-1", "verifier-1", "nonce-1", "https://x/cb");
  ASSERT_TRUE(principal.isOk()) << principal.status().toString();
  EXPECT_EQ(principal->id, "mod-001");
  EXPECT_EQ(principal->roles, (std::set<std::string>{"moderator"}));
  EXPECT_EQ(principal->via, "oidc");
  auto form = idp_.lastTokenForm();
  EXPECT_EQ(form["grant_type"], "authorization_code");
  EXPECT_EQ(form["code"], "code-1");
  EXPECT_EQ(form["code_verifier"], "verifier-1");
  EXPECT_EQ(form["redirect_uri"], "https://x/cb");
  EXPECT_EQ(form["client_id"], "sendflow-web");
  EXPECT_EQ(form["client_secret"], "web-secret");
}

TEST_F(OidcClientTest, FinishRefusesAnotherNonceOrAudience) {
  idp_.setTokenReply(200, {{"id_token", idToken("nonce-1")}});
  auto replayed = client_->finish("code", "verifier", "nonce-2", "https://x/cb");
  ASSERT_FALSE(replayed.isOk());
  EXPECT_EQ(replayed.status().code(), core::StatusCode::kUnauthenticated);
  EXPECT_NE(replayed.status().message().find("nonce"), std::string::npos);

  idp_.setTokenReply(200, {{"id_token", idToken("nonce-1", "another-client")}});
  auto other = client_->finish("code", "verifier", "nonce-1", "https://x/cb");
  ASSERT_FALSE(other.isOk());
  EXPECT_NE(other.status().message().find("audience"), std::string::npos);
}

TEST_F(OidcClientTest, ARefusedCodeIsUnauthenticatedWithTheProvidersReason) {
  idp_.setTokenReply(400, {{"error", "invalid_grant"}, {"error_description", "code expired"}});
  auto result = client_->finish("code", "verifier", "nonce", "https://x/cb");
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), core::StatusCode::kUnauthenticated);
  EXPECT_NE(result.status().message().find("invalid_grant: code expired"), std::string::npos);

  idp_.setTokenReply(200, {{"access_token", "x"}});
  auto no_id_token = client_->finish("code", "verifier", "nonce", "https://x/cb");
  ASSERT_FALSE(no_id_token.isOk());
  EXPECT_NE(no_id_token.status().message().find("id_token"), std::string::npos);
}

TEST_F(OidcClientTest, AProviderErrorIsUnavailable) {
  idp_.setTokenReply(502, {{"error", "bad gateway"}});
  auto result = client_->finish("code", "verifier", "nonce", "https://x/cb");
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), core::StatusCode::kUnavailable);
}

TEST_F(OidcClientTest, FinishNeedsTheKeptVerifierAndNonce) {
  EXPECT_EQ(client_->finish("code", "", "nonce", "https://x/cb").status().code(),
            core::StatusCode::kUnauthenticated);
  EXPECT_EQ(client_->finish("code", "verifier", "", "https://x/cb").status().code(),
            core::StatusCode::kUnauthenticated);
  EXPECT_EQ(client_->finish("", "verifier", "nonce", "https://x/cb").status().code(),
            core::StatusCode::kUnauthenticated);
  EXPECT_EQ(idp_.count("/token"), 0);
}

TEST_F(OidcClientTest, SignOutUrlUsesTheEndSessionEndpoint) {
  auto url = client_->signOutUrl("https://sendflow.council.example/");
  ASSERT_TRUE(url.isOk()) << url.status().toString();
  auto q = queryOf(*url);
  EXPECT_EQ(url->rfind(idp_.issuer() + "/logout?", 0), 0u);
  EXPECT_EQ(q["post_logout_redirect_uri"], "https://sendflow.council.example/");
  EXPECT_EQ(q["client_id"], "sendflow-web");
}

TEST_F(OidcClientTest, BeginIsUnavailableWhenTheProviderIsDown) {
  idp_.setDown(true);
  auto request = client_->begin("https://x/cb");
  ASSERT_FALSE(request.isOk());
  EXPECT_EQ(request.status().code(), core::StatusCode::kUnavailable);
}

TEST_F(OidcClientTest, TheBearerAuthenticatorSendsJwtsToTheVerifier) {
  BearerAuthenticator auth(nullptr, verifier_);
  auto now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
  std::string access = testing::signToken(
      *key_, {{"iss", idp_.issuer()}, {"aud", "sendflow-api"}, {"sub", "s"}, {"exp", now + 60}});
  auto p = auth.authenticate("Bearer " + access);
  ASSERT_TRUE(p.isOk()) << p.status().toString();
  EXPECT_EQ(p->id, "s");
  EXPECT_EQ(p->via, "oidc");
  auto bad = auth.authenticate("Bearer " + idToken("n"));  // audience sendflow-web
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().code(), core::StatusCode::kUnauthenticated);
  auto key = auth.authenticate("Bearer sfk_x_" + std::string(43, 'A'));
  ASSERT_FALSE(key.isOk());
  EXPECT_NE(key.status().message().find("API keys"), std::string::npos);
}

}  // namespace
}  // namespace sendflow::auth
