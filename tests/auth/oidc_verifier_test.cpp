#include "server/auth/oidc_verifier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "server/auth/crypto.h"
#include "tests/auth/test_identity_provider.h"

namespace sendflow::auth {
namespace {

using testing::RsaKey;
using testing::TestIdentityProvider;

const core::TimePoint kStart{std::chrono::seconds(1795000000)};  // 2026-11-18

long long epoch(core::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

class OidcVerifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    key_ = new RsaKey("key-1");
    other_key_ = new RsaKey("key-2");
  }
  static void TearDownTestSuite() {
    delete key_;
    delete other_key_;
  }

  void SetUp() override {
    idp_.setJwks({{"keys", {key_->publicJwk()}}});
    OidcOptions options;
    options.issuer = idp_.issuer();
    options.audiences = {"sendflow-api", "api://sendflow"};
    options.role_map = {{"SEND.QaLead", {"qa-lead"}},
                        {"grp-auditors", {"auditor"}},
                        {"SEND.Admin", {"admin", "manager"}}};
    options.client_id = "sendflow-web";
    options.http_timeout = std::chrono::milliseconds(2000);
    verifier_ = std::make_unique<OidcVerifier>(options, clock_);
  }

  nlohmann::json claims() const {
    return {{"iss", idp_.issuer()},
            {"aud", "sendflow-api"},
            {"sub", "00u1"},
            {"preferred_username", "aud-001"},
            {"name", "Tom Whitfield"},
            {"email", "tom.whitfield@council.example"},
            {"roles", {"SEND.QaLead", "Something.Else"}},
            {"groups", "grp-auditors"},
            {"iat", epoch(clock_.now())},
            {"nbf", epoch(clock_.now()) - 5},
            {"exp", epoch(clock_.now()) + 600}};
  }

  std::string sign(const nlohmann::json& payload) const {
    return testing::signToken(*key_, payload);
  }

  static RsaKey* key_;
  static RsaKey* other_key_;
  TestIdentityProvider idp_;
  core::ManualClock clock_{kStart};
  std::unique_ptr<OidcVerifier> verifier_;
};

RsaKey* OidcVerifierTest::key_ = nullptr;
RsaKey* OidcVerifierTest::other_key_ = nullptr;

void expectUnauthenticated(const core::StatusOr<Principal>& result, const std::string& why) {
  ASSERT_FALSE(result.isOk()) << "accepted a token that should fail: " << why;
  EXPECT_EQ(result.status().code(), core::StatusCode::kUnauthenticated)
      << result.status().toString();
  EXPECT_NE(result.status().message().find(why), std::string::npos)
      << "message '" << result.status().message() << "' does not say '" << why << "'";
}

TEST_F(OidcVerifierTest, AcceptsAValidTokenAndMapsClaimsToAPrincipal) {
  auto result = verifier_->verifyAccessToken(sign(claims()));
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ(result->id, "aud-001");
  EXPECT_EQ(result->name, "Tom Whitfield");
  EXPECT_EQ(result->email, "tom.whitfield@council.example");
  EXPECT_EQ(result->roles, (std::set<std::string>{"qa-lead", "auditor"}));
  EXPECT_EQ(result->via, "oidc");
}

TEST_F(OidcVerifierTest, FallsBackToSubAndIdWhenClaimsAreMissing) {
  nlohmann::json c = claims();
  c.erase("preferred_username");
  c.erase("name");
  c.erase("roles");
  c.erase("groups");
  auto result = verifier_->verifyAccessToken(sign(c));
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ(result->id, "00u1");
  EXPECT_EQ(result->name, "00u1");
  EXPECT_TRUE(result->roles.empty());
}

TEST_F(OidcVerifierTest, AcceptsAnAudienceArrayHoldingAConfiguredAudience) {
  nlohmann::json c = claims();
  c["aud"] = {"https://graph.example", "api://sendflow"};
  EXPECT_TRUE(verifier_->verifyAccessToken(sign(c)).isOk());
}

TEST_F(OidcVerifierTest, RefusesAnExpiredTokenBeyondTheLeeway) {
  nlohmann::json c = claims();
  c["exp"] = epoch(clock_.now()) - 30;  // inside the 60 s leeway
  EXPECT_TRUE(verifier_->verifyAccessToken(sign(c)).isOk());
  c["exp"] = epoch(clock_.now()) - 61;
  expectUnauthenticated(verifier_->verifyAccessToken(sign(c)), "expired");
}

TEST_F(OidcVerifierTest, ATokenExpiresWhenTheClockPassesItsExp) {
  std::string token = sign(claims());
  EXPECT_TRUE(verifier_->verifyAccessToken(token).isOk());
  clock_.advance(std::chrono::seconds(600 + 61));
  expectUnauthenticated(verifier_->verifyAccessToken(token), "expired");
}

TEST_F(OidcVerifierTest, RefusesATokenWithoutExp) {
  nlohmann::json c = claims();
  c.erase("exp");
  expectUnauthenticated(verifier_->verifyAccessToken(sign(c)), "no expiry");
}

TEST_F(OidcVerifierTest, RefusesATokenNotYetValid) {
  nlohmann::json c = claims();
  c["nbf"] = epoch(clock_.now()) + 120;
  expectUnauthenticated(verifier_->verifyAccessToken(sign(c)), "not valid before");
  clock_.advance(std::chrono::seconds(61));
  EXPECT_TRUE(verifier_->verifyAccessToken(sign(c)).isOk());
}

TEST_F(OidcVerifierTest, RefusesAnotherIssuer) {
  nlohmann::json c = claims();
  c["iss"] = "https://login.example/other-tenant";
  expectUnauthenticated(verifier_->verifyAccessToken(sign(c)), "issuer");
}

TEST_F(OidcVerifierTest, RefusesAnotherAudience) {
  nlohmann::json c = claims();
  c["aud"] = "some-other-api";
  expectUnauthenticated(verifier_->verifyAccessToken(sign(c)), "audience");
  c["aud"] = nlohmann::json::array({"a", "b"});
  expectUnauthenticated(verifier_->verifyAccessToken(sign(c)), "audience");
  c.erase("aud");
  expectUnauthenticated(verifier_->verifyAccessToken(sign(c)), "audience");
}

TEST_F(OidcVerifierTest, RefusesAlgNone) {
  std::string token = testing::assembleToken({{"alg", "none"}, {"typ", "JWT"}}, claims(), "");
  expectUnauthenticated(verifier_->verifyAccessToken(token), "alg 'none'");
  // Also with the trailing dot and nothing after it.
  std::string unsigned_token = token.substr(0, token.rfind('.') + 1);
  expectUnauthenticated(verifier_->verifyAccessToken(unsigned_token), "alg 'none'");
}

TEST_F(OidcVerifierTest, RefusesHs256SignedWithThePublicKey) {
  // The algorithm confusion attack: an HMAC over the token keyed with the public key's bytes.
  nlohmann::json header = {{"alg", "HS256"}, {"typ", "JWT"}, {"kid", key_->kid()}};
  std::string signed_part =
      crypto::base64UrlEncode(header.dump()) + "." + crypto::base64UrlEncode(claims().dump());
  for (const std::string& secret : {key_->publicPem(), key_->publicJwk().dump()}) {
    std::string token =
        signed_part + "." + crypto::base64UrlEncode(crypto::hmacSha256(secret, signed_part));
    expectUnauthenticated(verifier_->verifyAccessToken(token), "only RS256");
  }
  // Declaring RS256 with an HMAC signature fails the signature check instead.
  nlohmann::json rs_header = {{"alg", "RS256"}, {"kid", key_->kid()}};
  std::string rs_part =
      crypto::base64UrlEncode(rs_header.dump()) + "." + crypto::base64UrlEncode(claims().dump());
  std::string forged =
      rs_part + "." + crypto::base64UrlEncode(crypto::hmacSha256(key_->publicPem(), rs_part));
  expectUnauthenticated(verifier_->verifyAccessToken(forged), "signature");
}

TEST_F(OidcVerifierTest, RefusesATamperedPayload) {
  std::string token = sign(claims());
  nlohmann::json c = claims();
  c["roles"] = {"SEND.Admin"};
  std::size_t dot1 = token.find('.');
  std::size_t dot2 = token.find('.', dot1 + 1);
  std::string tampered =
      token.substr(0, dot1 + 1) + crypto::base64UrlEncode(c.dump()) + token.substr(dot2);
  expectUnauthenticated(verifier_->verifyAccessToken(tampered), "signature does not verify");
}

TEST_F(OidcVerifierTest, RefusesATokenSignedByAKeyOutsideTheJwksWithTheSameKid) {
  std::string token = testing::signToken(*other_key_, claims(), {{"kid", key_->kid()}});
  expectUnauthenticated(verifier_->verifyAccessToken(token), "signature does not verify");
}

TEST_F(OidcVerifierTest, RefusesGarbage) {
  for (const std::string& garbage :
       {std::string(""), std::string("not a token"), std::string("a.b"), std::string("a.b.c.d"),
        std::string("..."), std::string("!!!.???.***"), std::string("e30.e30.e30"),
        crypto::base64UrlEncode("[1,2]") + ".e30.AAAA",
        crypto::base64UrlEncode("{\"alg\":\"RS256\"}") + "." + crypto::base64UrlEncode("nope") +
            ".AAAA",
        crypto::base64UrlEncode("{\"alg\":\"RS256\"") + ".e30.AAAA",
        crypto::base64UrlEncode("{\"alg\":7}") + ".e30.AAAA",
        crypto::base64UrlEncode("{\"alg\":\"RS256\",\"kid\":{}}") + ".e30.AAAA",
        std::string(200 * 1024, 'A') + ".e30.AAAA"}) {
    auto result = verifier_->verifyAccessToken(garbage);
    ASSERT_FALSE(result.isOk()) << garbage.substr(0, 60);
    EXPECT_EQ(result.status().code(), core::StatusCode::kUnauthenticated)
        << garbage.substr(0, 60) << ": " << result.status().toString();
  }
}

TEST_F(OidcVerifierTest, RefusesNonNumericTimes) {
  nlohmann::json c = claims();
  c["exp"] = "tomorrow";
  expectUnauthenticated(verifier_->verifyAccessToken(sign(c)), "no expiry");
  c = claims();
  c["nbf"] = "yesterday";
  expectUnauthenticated(verifier_->verifyAccessToken(sign(c)), "nbf");
}

TEST_F(OidcVerifierTest, RefetchesTheJwksOnceForAnUnknownKidAfterRotation) {
  ASSERT_TRUE(verifier_->verifyAccessToken(sign(claims())).isOk());
  EXPECT_EQ(verifier_->jwksFetchCount(), 1);

  // The provider rotates to key-2 and signs with it.
  idp_.setJwks({{"keys", {other_key_->publicJwk()}}});
  clock_.advance(std::chrono::seconds(31));  // past min_jwks_refresh
  std::string rotated = testing::signToken(*other_key_, claims());
  auto result = verifier_->verifyAccessToken(rotated);
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ(verifier_->jwksFetchCount(), 2);
  // The old key is gone from the set.
  expectUnauthenticated(verifier_->verifyAccessToken(sign(claims())), "unknown key");
}

TEST_F(OidcVerifierTest, AFloodOfUnknownKidsFetchesAtMostOncePerMinimumRefresh) {
  ASSERT_TRUE(verifier_->verifyAccessToken(sign(claims())).isOk());
  clock_.advance(std::chrono::seconds(31));
  for (int i = 0; i < 50; ++i) {
    std::string token =
        testing::signToken(*other_key_, claims(), {{"kid", "made-up-" + std::to_string(i)}});
    expectUnauthenticated(verifier_->verifyAccessToken(token), "unknown key");
  }
  EXPECT_EQ(verifier_->jwksFetchCount(), 2);
  EXPECT_EQ(idp_.count("/jwks"), 2);
  clock_.advance(std::chrono::seconds(30));
  expectUnauthenticated(
      verifier_->verifyAccessToken(testing::signToken(*other_key_, claims(), {{"kid", "x"}})),
      "unknown key");
  EXPECT_EQ(idp_.count("/jwks"), 3);
}

TEST_F(OidcVerifierTest, AnUnknownKidRightAfterAFetchWaitsForTheMinimumRefresh) {
  ASSERT_TRUE(verifier_->verifyAccessToken(sign(claims())).isOk());
  idp_.setJwks({{"keys", {key_->publicJwk(), other_key_->publicJwk()}}});
  std::string rotated = testing::signToken(*other_key_, claims());
  expectUnauthenticated(verifier_->verifyAccessToken(rotated), "unknown key");
  EXPECT_EQ(idp_.count("/jwks"), 1);
  clock_.advance(std::chrono::seconds(30));
  EXPECT_TRUE(verifier_->verifyAccessToken(rotated).isOk());
  EXPECT_EQ(idp_.count("/jwks"), 2);
}

TEST_F(OidcVerifierTest, KeepsTheJwksForItsTtlThenRefreshes) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(verifier_->verifyAccessToken(sign(claims())).isOk());
  EXPECT_EQ(idp_.count("/jwks"), 1);
  EXPECT_EQ(idp_.count("/.well-known/openid-configuration"), 1);
  clock_.advance(std::chrono::seconds(3601));
  ASSERT_TRUE(verifier_->verifyAccessToken(sign(claims())).isOk());
  EXPECT_EQ(idp_.count("/jwks"), 2);
}

TEST_F(OidcVerifierTest, AnUnreachableProviderIsUnavailable) {
  idp_.setDown(true);
  auto result = verifier_->verifyAccessToken(sign(claims()));
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), core::StatusCode::kUnavailable) << result.status().toString();
  EXPECT_NE(result.status().message().find("openid-configuration"), std::string::npos);

  OidcOptions options = verifier_->options();
  options.issuer = "http://127.0.0.1:1";  // nothing listens there
  OidcVerifier nowhere(options, clock_);
  auto refused = nowhere.verifyAccessToken(sign(claims()));
  EXPECT_EQ(refused.status().code(), core::StatusCode::kUnavailable) << refused.status().toString();
}

TEST_F(OidcVerifierTest, UsesCachedKeysWhileTheProviderIsDownAfterTheTtl) {
  ASSERT_TRUE(verifier_->verifyAccessToken(sign(claims())).isOk());
  idp_.setDown(true);
  clock_.advance(std::chrono::seconds(3601));
  auto result = verifier_->verifyAccessToken(sign(claims()));
  EXPECT_TRUE(result.isOk()) << result.status().toString();
}

TEST_F(OidcVerifierTest, ReachesTheProviderThroughTheConfiguredProxy) {
  // The provider's name only resolves for the proxy (here: the test provider answering absolute
  // URIs as a forward proxy does).
  const std::string issuer = "http://idp.council.example";
  idp_.setDiscoveredIssuer(issuer);
  OidcOptions options = verifier_->options();
  options.issuer = issuer;
  options.proxy = idp_.issuer().substr(std::string("http://").size());
  OidcVerifier proxied(options, clock_);
  nlohmann::json c = claims();
  c["iss"] = issuer;
  auto result = proxied.verifyAccessToken(sign(c));
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  std::vector<std::string> seen = idp_.proxied();
  ASSERT_FALSE(seen.empty());
  // Poco names the default port: http://idp.council.example:80/.well-known/...
  EXPECT_EQ(seen.front().rfind(issuer, 0), 0u) << seen.front();
  EXPECT_NE(seen.front().find("/.well-known/openid-configuration"), std::string::npos);

  options.proxy = "no-port";
  EXPECT_NE(OidcVerifier::validate(options).message().find("auth.oidc.proxy"), std::string::npos);
}

TEST_F(OidcVerifierTest, RefusesADiscoveryDocumentForAnotherIssuer) {
  idp_.setDiscoveredIssuer("https://evil.example");
  auto result = verifier_->verifyAccessToken(sign(claims()));
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), core::StatusCode::kUnavailable);
  EXPECT_NE(result.status().message().find("https://evil.example"), std::string::npos);
}

TEST_F(OidcVerifierTest, IgnoresShortAndNonRsaKeysInTheJwks) {
  RsaKey weak("weak", 1024);
  idp_.setJwks({{"keys",
                 {weak.publicJwk(),
                  {{"kty", "EC"}, {"kid", "ec"}, {"crv", "P-256"}, {"x", "AA"}, {"y", "AA"}},
                  {{"kty", "RSA"}, {"kid", "broken"}, {"n", "!!"}, {"e", "AQAB"}}}}});
  expectUnauthenticated(verifier_->verifyAccessToken(testing::signToken(weak, claims())),
                        "unknown key");
}

TEST_F(OidcVerifierTest, ExposesTheProviderMetadata) {
  auto meta = verifier_->metadata();
  ASSERT_TRUE(meta.isOk()) << meta.status().toString();
  EXPECT_EQ(meta->issuer, idp_.issuer());
  EXPECT_EQ(meta->jwks_uri, idp_.issuer() + "/jwks");
  EXPECT_EQ(meta->authorization_endpoint, idp_.issuer() + "/authorize");
  EXPECT_EQ(meta->token_endpoint, idp_.issuer() + "/token");
  EXPECT_EQ(meta->end_session_endpoint, idp_.issuer() + "/logout");
}

TEST_F(OidcVerifierTest, IdTokensNeedTheClientIdAudienceAndTheNonce) {
  nlohmann::json c = claims();
  c["aud"] = "sendflow-web";
  c["nonce"] = "n-123";
  EXPECT_TRUE(verifier_->verifyIdToken(sign(c), "n-123").isOk());
  expectUnauthenticated(verifier_->verifyIdToken(sign(c), "n-456"), "nonce");
  c.erase("nonce");
  expectUnauthenticated(verifier_->verifyIdToken(sign(c), "n-123"), "nonce");
  // An access token for the API is not an ID token for the web client.
  expectUnauthenticated(verifier_->verifyIdToken(sign(claims()), ""), "audience");
}

TEST_F(OidcVerifierTest, ManyThreadsVerifyAtOnce) {
  std::string good = sign(claims());
  std::string bad = testing::signToken(*other_key_, claims(), {{"kid", "nope"}});
  std::atomic<int> accepted{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (verifier_->verifyAccessToken(good).isOk()) ++accepted;
        if (!verifier_->verifyAccessToken(bad).isOk()) ++refused;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted, 200);
  EXPECT_EQ(refused, 200);
  EXPECT_EQ(idp_.count("/jwks"), 1);
}

TEST_F(OidcVerifierTest, ValidateNamesTheBadOption) {
  OidcOptions options;
  EXPECT_NE(OidcVerifier::validate(options).message().find("auth.oidc.issuer"), std::string::npos);
  options.issuer = "https://login.example";
  EXPECT_NE(OidcVerifier::validate(options).message().find("auth.oidc.audience"),
            std::string::npos);
  options.audiences = {"api"};
  EXPECT_TRUE(OidcVerifier::validate(options).isOk());
}

}  // namespace
}  // namespace sendflow::auth
