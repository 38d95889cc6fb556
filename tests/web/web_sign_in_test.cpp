// The browser sign-in through an OpenID Connect provider (the in-test provider of tests/auth on
// loopback): /sign-in sends the browser to the provider with state, nonce and PKCE kept in a
// sealed short-lived cookie; /auth/callback checks them, redeems the code and sets the session
// cookie with the configured attributes (here an https public URL and SameSite=None for an
// iframe in SharePoint).

#include <Poco/URI.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/auth/oidc_client.h"
#include "server/auth/oidc_verifier.h"
#include "tests/auth/test_identity_provider.h"
#include "tests/web/html_checks.h"
#include "tests/web/web_fixture.h"

namespace sendflow::web::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::map<std::string, std::string> queryOf(const std::string& url) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : Poco::URI(url).getQueryParameters()) out[name] = value;
  return out;
}

std::vector<std::string> setCookies(const Page& page, const std::string& name) {
  std::vector<std::string> out;
  for (auto [it, end] = page.headers.equal_range("set-cookie"); it != end; ++it) {
    if (it->second.rfind(name + "=", 0) == 0) out.push_back(it->second);
  }
  return out;
}

class WebSignInTest : public WebPartFixture {
 protected:
  static void SetUpTestSuite() { key_ = new auth::testing::RsaKey("idp-key"); }
  static void TearDownTestSuite() { delete key_; }

  void configure(WebPartOptions& options) override {
    idp_.setJwks({{"keys", {key_->publicJwk()}}});
    auth::OidcOptions oidc;
    oidc.issuer = idp_.issuer();
    oidc.audiences = {"sendflow-api"};
    oidc.client_id = "sendflow-web";
    oidc.client_secret = "web-secret";
    oidc.role_map = {{"SEND.Moderator", {"moderator"}}};
    verifier_ = std::make_unique<auth::OidcVerifier>(oidc, clock_);
    client_ = std::make_unique<auth::OidcClient>(*verifier_);
    options.oidc = client_.get();
    options.dev_sign_in = nullptr;
    options.public_url = "https://sendflow.test/";
    options.same_site = SameSite::kNone;
  }

  std::string idToken(const std::string& nonce, const std::string& user = "new-mod") const {
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
    return auth::testing::signToken(*key_, {{"iss", idp_.issuer()},
                                            {"aud", "sendflow-web"},
                                            {"sub", "x1"},
                                            {"preferred_username", user},
                                            {"name", "Nia Moderator"},
                                            {"email", "nia@council.example"},
                                            {"roles", {"SEND.Moderator"}},
                                            {"nonce", nonce},
                                            {"exp", now + 300}});
  }

  static auth::testing::RsaKey* key_;
  auth::testing::TestIdentityProvider idp_;
  std::unique_ptr<auth::OidcVerifier> verifier_;
  std::unique_ptr<auth::OidcClient> client_;
};

auth::testing::RsaKey* WebSignInTest::key_ = nullptr;

TEST_F(WebSignInTest, SignInGoesThroughTheProviderAndBackToThePageAskedFor) {
  Browser b = browser();
  const Page asked = b.get("/dashboard");
  ASSERT_EQ(asked.location(), "/sign-in?return=%2Fdashboard");
  const Page start = b.get(asked.location());
  ASSERT_EQ(start.status, 303);
  ASSERT_EQ(start.location().rfind(idp_.issuer() + "/authorize?", 0), 0u) << start.location();
  auto q = queryOf(start.location());
  EXPECT_EQ(q["redirect_uri"], "https://sendflow.test/auth/callback");
  EXPECT_EQ(q["code_challenge_method"], "S256");
  const auto flow = setCookies(start, "sendflow_sign_in");
  ASSERT_EQ(flow.size(), 1u);
  EXPECT_THAT(flow[0], HasSubstr("HttpOnly"));
  EXPECT_THAT(flow[0], HasSubstr("Secure"));
  EXPECT_THAT(flow[0], HasSubstr("SameSite=None"));
  EXPECT_THAT(flow[0], HasSubstr("Max-Age=600"));
  // The flow cookie is sealed for another purpose: it never opens as a session.
  Browser thief = browser();
  thief.jar()[auth::kSessionCookieName] = b.jar()["sendflow_sign_in"];
  EXPECT_EQ(thief.get("/tasks").status, 303);

  idp_.setTokenReply(
      200,
      {{"access_token", "opaque"}, {"token_type", "Bearer"}, {"id_token", idToken(q["nonce"])}});
  const Page back = b.get("/auth/callback?code=code-1&state=" + http::urlEncode(q["state"]));
  ASSERT_EQ(back.status, 303) << back.body;
  EXPECT_EQ(back.location(), "/dashboard");
  const auto session = setCookies(back, auth::kSessionCookieName);
  ASSERT_EQ(session.size(), 1u);
  EXPECT_THAT(session[0], HasSubstr("HttpOnly"));
  EXPECT_THAT(session[0], HasSubstr("Secure"));
  EXPECT_THAT(session[0], HasSubstr("SameSite=None"));
  EXPECT_THAT(session[0], HasSubstr("Path=/"));
  // The code was redeemed with the PKCE verifier and the same redirect URI.
  const auto form = idp_.lastTokenForm();
  EXPECT_EQ(form.at("code"), "code-1");
  EXPECT_EQ(form.at("redirect_uri"), "https://sendflow.test/auth/callback");
  EXPECT_EQ(form.at("code_verifier").size(), 43u);
  EXPECT_EQ(b.jar().count("sendflow_sign_in"), 0u);  // the flow cookie is cleared

  const Page dashboard = b.get("/dashboard");
  ASSERT_EQ(dashboard.status, 200);
  EXPECT_THAT(dashboard.body, HasSubstr("Signed in as Nia Moderator (moderator)"));
  EXPECT_THAT(dashboard.body, Not(HasSubstr("Development sign-in")));
  EXPECT_TRUE(pageProblems(dashboard.body).empty());
  // The sign-in is recorded in the directory (name, address and roles from the provider).
  auto person = directory_->find("new-mod");
  ASSERT_TRUE(person.isOk());
  ASSERT_TRUE(person->has_value());
  EXPECT_EQ((*person)->email, "nia@council.example");
}

// The return path goes into the sign-in flow's sealed JSON: bytes that are not UTF-8 there were a
// 500 (nlohmann's dump throws on them); now the flow starts and comes back to /tasks.
TEST_F(WebSignInTest, AReturnPathThatIsNotUtf8StartsTheFlowBackToTasks) {
  Browser b = browser();
  const Page start = b.get("/sign-in?return=%2Fdashboard%FF%FE");
  ASSERT_EQ(start.status, 303) << start.body;
  ASSERT_EQ(start.location().rfind(idp_.issuer() + "/authorize?", 0), 0u) << start.location();
  auto q = queryOf(start.location());
  idp_.setTokenReply(
      200,
      {{"access_token", "opaque"}, {"token_type", "Bearer"}, {"id_token", idToken(q["nonce"])}});
  const Page back = b.get("/auth/callback?code=code-1&state=" + http::urlEncode(q["state"]));
  ASSERT_EQ(back.status, 303) << back.body;
  EXPECT_EQ(back.location(), "/tasks");
}

TEST_F(WebSignInTest, CallbackWithAnotherStateOrNoFlowCookieSignsNobodyIn) {
  Browser b = browser();
  const Page start = b.get("/sign-in?return=%2Ftasks");
  auto q = queryOf(start.location());
  idp_.setTokenReply(200, {{"id_token", idToken(q["nonce"])}});
  const Page forged = b.get("/auth/callback?code=code-1&state=another-state");
  EXPECT_EQ(forged.status, 401);
  EXPECT_THAT(forged.body, HasSubstr("Sign-in did not finish"));
  EXPECT_TRUE(pageProblems(forged.body).empty());
  EXPECT_EQ(b.jar().count(auth::kSessionCookieName), 0u);
  EXPECT_EQ(idp_.count("/token"), 0);

  // A callback in a browser that did not start the sign-in (login CSRF).
  Browser other = browser();
  const Page stranger =
      other.get("/auth/callback?code=code-1&state=" + http::urlEncode(q["state"]));
  EXPECT_EQ(stranger.status, 401);
  EXPECT_EQ(other.jar().count(auth::kSessionCookieName), 0u);

  // The provider's own refusal.
  Browser cancelled = browser();
  cancelled.get("/sign-in");
  EXPECT_EQ(cancelled.get("/auth/callback?error=access_denied").status, 401);
}

TEST_F(WebSignInTest, AnOldSignInIsRefused) {
  Browser b = browser();
  const Page start = b.get("/sign-in");
  auto q = queryOf(start.location());
  clock_.advance(std::chrono::minutes(11));
  idp_.setTokenReply(200, {{"id_token", idToken(q["nonce"])}});
  const Page late = b.get("/auth/callback?code=c&state=" + http::urlEncode(q["state"]));
  EXPECT_EQ(late.status, 401);
  EXPECT_EQ(b.jar().count(auth::kSessionCookieName), 0u);
}

TEST_F(WebSignInTest, ATokenForAnotherNonceIsRefused) {
  Browser b = browser();
  const Page start = b.get("/sign-in");
  auto q = queryOf(start.location());
  idp_.setTokenReply(200, {{"id_token", idToken("someone-elses-nonce")}});
  const Page back = b.get("/auth/callback?code=c&state=" + http::urlEncode(q["state"]));
  EXPECT_EQ(back.status, 401);
  EXPECT_EQ(b.jar().count(auth::kSessionCookieName), 0u);
}

TEST_F(WebSignInTest, ProviderDownGivesAPageAndDevelopmentSignInIsOff) {
  idp_.setDown(true);
  Browser b = browser();
  const Page down = b.get("/sign-in");
  EXPECT_EQ(down.status, 503);
  EXPECT_THAT(down.body, HasSubstr("Sign-in is not available at the moment"));
  EXPECT_TRUE(pageProblems(down.body).empty());
  EXPECT_EQ(b.post("/sign-in", {{"user", "adm-001"}}).status, 404);
  EXPECT_EQ(b.jar().count(auth::kSessionCookieName), 0u);
}

}  // namespace
}  // namespace sendflow::web::testing
