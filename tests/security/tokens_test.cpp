// Tokens an attacker makes, changes or replays, against a real `sendflow serve`:
//  - bearer JWTs on the API (auth.mode = oidc against an identity provider on loopback,
//    tests/auth/test_identity_provider.h): alg none, HS256 keyed with the public key, a wrong key
//    under the right key id, an unknown key id, a key URL in the header, expired, not yet valid,
//    the wrong audience or issuer, a changed payload under the old signature;
//  - email approval links (development sign-in): forged, replayed, expired between the page and
//    the confirmation, and another approver's link.
// Each is refused, and the store, the outbox and the library are left as they were.
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "server/auth/crypto.h"
#include "tests/auth/test_identity_provider.h"
#include "tests/security/security_fixture.h"

namespace sendflow::security::testing {
namespace {

using auth::testing::RsaKey;
using auth::testing::TestIdentityProvider;

long long nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- bearer JWTs
// ---------------------------------------------------------------------------------

class SecurityJwtTest : public ServiceSuite {
 protected:
  static void SetUpTestSuite() {
    key_ = new RsaKey("key-1");
    idp_ = new TestIdentityProvider();
    idp_->setJwks({{"keys", {key_->publicJwk()}}});
    ServiceOptions options;
    options.properties = {{"auth.mode", "oidc"},
                          {"auth.oidc.issuer", idp_->issuer()},
                          {"auth.oidc.client_id", "sendflow-web"},
                          {"auth.oidc.client_secret", "web-client-secret"},
                          {"auth.oidc.audience", "sendflow-api"},
                          {"auth.oidc.role_map.SEND.QaLead", "qa-lead"},
                          {"auth.oidc.role_map.SEND.Auditor", "auditor"},
                          {"auth.oidc.role_map.SEND.HeadOfService", "manager"},
                          {"auth.oidc.role_map.SEND.Admin", "admin"}};
    startService(std::move(options));
  }
  static void TearDownTestSuite() {
    stopService();
    delete idp_;
    delete key_;
  }

  static json claims(const std::string& user, const std::string& role) {
    const long long now = nowSeconds();
    return {{"iss", idp_->issuer()},    {"aud", "sendflow-api"},
            {"sub", "sub-" + user},     {"preferred_username", user},
            {"name", "Person " + user}, {"email", user + "@council.example"},
            {"roles", {role}},          {"iat", now},
            {"nbf", now - 5},           {"exp", now + 600}};
  }
  static std::string sign(const json& payload, json header = json::object()) {
    return auth::testing::signToken(*key_, payload, std::move(header));
  }
  HttpReply call(const std::string& method, const std::string& path, const std::string& token,
                 const json& body = nullptr) const {
    HttpCall c{method, path, {{"Authorization", "Bearer " + token}}};
    if (!body.is_null()) {
      c.headers.emplace_back("Content-Type", "application/json");
      c.body = body.dump();
    }
    return service().request(c);
  }

  static RsaKey* key_;
  static TestIdentityProvider* idp_;
};

RsaKey* SecurityJwtTest::key_ = nullptr;
TestIdentityProvider* SecurityJwtTest::idp_ = nullptr;

TEST_F(SecurityJwtTest, ForgedExpiredAndMisdirectedTokensAreRefused) {
  const json good = claims("lead-1", "SEND.QaLead");
  const std::string valid = sign(good);
  // The control: the provider's own token is accepted (and its user recorded before the
  // snapshot).
  ASSERT_EQ(call("GET", "/api/v1/me", valid).status, 200)
      << call("GET", "/api/v1/me", valid).summary();

  auto with = [&](const char* name, const json& value) {
    json c = good;
    c[name] = value;
    c["preferred_username"] = "forger";  // a user the directory has never seen
    return c;
  };
  auto without = [&](const char* name) {
    json c = with("preferred_username", "forger");
    c.erase(name);
    return c;
  };
  const json forger = with("preferred_username", "forger");
  const std::string signed_part = valid.substr(0, valid.rfind('.'));
  const std::string original_signature = valid.substr(valid.rfind('.') + 1);
  RsaKey impostor("key-1");  // the provider's key id, another key
  RsaKey unknown("key-404");
  const std::string public_pem = key_->publicPem();
  auto hs256 = [&](const json& header, const json& payload, const std::string& secret) {
    const std::string part = auth::crypto::base64UrlEncode(header.dump()) + "." +
                             auth::crypto::base64UrlEncode(payload.dump());
    return part + "." + auth::crypto::base64UrlEncode(auth::crypto::hmacSha256(secret, part));
  };
  const std::vector<std::pair<std::string, std::string>> tokens = {
      {"alg none", auth::testing::assembleToken({{"alg", "none"}, {"typ", "JWT"}}, forger, "")},
      {"alg None", auth::testing::assembleToken({{"alg", "None"}, {"kid", "key-1"}}, forger, "")},
      {"alg none keeping the signature",
       auth::testing::assembleToken({{"alg", "none"}, {"kid", "key-1"}}, forger, "") +
           original_signature},
      {"HS256 keyed with the public key",
       hs256({{"alg", "HS256"}, {"kid", "key-1"}, {"typ", "JWT"}}, forger, public_pem)},
      {"HS256 keyed with the client secret",
       hs256({{"alg", "HS256"}, {"typ", "JWT"}}, forger, "web-client-secret")},
      {"a wrong key under the right key id", auth::testing::signToken(impostor, forger)},
      {"an unknown key id", auth::testing::signToken(unknown, forger)},
      {"a key URL in the header",
       auth::testing::signToken(unknown, forger,
                                {{"jku", idp_->issuer() + "/attacker-jwks"},
                                 {"x5u", idp_->issuer() + "/attacker-cert"}})},
      {"expired an hour ago", sign(with("exp", nowSeconds() - 3600))},
      {"not valid for an hour", sign(with("nbf", nowSeconds() + 3600))},
      {"no expiry", sign(without("exp"))},
      {"the wrong audience", sign(with("aud", "another-api"))},
      {"an audience list without ours", sign(with("aud", {"another-api", "graph"}))},
      {"the wrong issuer", sign(with("iss", "http://127.0.0.1:1/evil"))},
      {"a changed payload under the old signature",
       signed_part.substr(0, signed_part.find('.') + 1) +
           auth::crypto::base64UrlEncode(forger.dump()) + "." + original_signature},
      {"no signature", signed_part + "."},
      {"the signature of another token",
       sign(forger).substr(0, sign(forger).rfind('.') + 1) + original_signature},
      {"garbage", "eyJhbGciOiJub25lIn0.e30."},
  };
  const Snapshot before = service().settledSnapshot();
  for (const auto& [what, token] : tokens) {
    const HttpReply me = call("GET", "/api/v1/me", token);
    EXPECT_EQ(me.status, 401) << what << ": " << me.summary();
    const HttpReply start =
        call("POST", "/api/v1/instances", token, {{"workflow", "security-review"}});
    EXPECT_EQ(start.status, 401) << what << ": " << start.summary();
    for (const std::string& page : {std::string("/tasks"), std::string("/start")}) {
      const HttpReply r = call("GET", page, token);
      EXPECT_TRUE(r.status == 303 || r.status == 401)
          << what << " on " << page << ": " << r.summary();
    }
  }
  expectNothingChanged(before, "forged bearer tokens");
  EXPECT_EQ(idp_->count("/attacker-jwks"), 0) << "the service fetched keys from the token's URL";
  EXPECT_EQ(idp_->count("/attacker-cert"), 0);
  EXPECT_EQ(call("GET", "/api/v1/me", valid).status, 200) << "the control stopped working";
}

TEST_F(SecurityJwtTest, ClaimsWithLineBreaksNeverReachAMailHeader) {
  const std::string evil = "\r\nBcc: evil@attacker.example\r\nX-Injected: yes";
  json manager = claims("head-1", "SEND.HeadOfService");
  manager["email"] = "head-1@council.example" + evil;
  manager["name"] = "Head" + evil;
  json other_manager = claims("head-2", "SEND.HeadOfService");
  other_manager["email"] = "head-2@council.example";
  // Both heads of service sign in (the directory learns their names and addresses).
  EXPECT_LT(call("GET", "/api/v1/me", sign(manager)).status, 500);
  ASSERT_EQ(call("GET", "/api/v1/me", sign(other_manager)).status, 200);
  // A review reaches the approval, which mails every head of service.
  const std::string lead = sign(claims("lead-1", "SEND.QaLead"));
  const std::string auditor = sign(claims("auditor-1", "SEND.Auditor"));
  const HttpReply started =
      call("POST", "/api/v1/instances", lead, {{"workflow", "security-review"}});
  ASSERT_EQ(started.status, 201) << started.summary();
  auto task = service().openTask(started.parsed()["id"], "review");
  ASSERT_TRUE(task.isOk()) << task.status().toString();
  ASSERT_EQ(call("POST", "/api/v1/tasks/" + *task + "/claim", auditor, json::object()).status, 200);
  ASSERT_EQ(call("POST", "/api/v1/tasks/" + *task + "/complete", auditor, {{"notes", "ok"}}).status,
            200);
  service().settledSnapshot();
  bool approval_mailed = false;
  for (const fs::path& file : service().outboxFiles()) {
    const std::string message = readFile(file);
    for (const std::string& line : headerLines(message)) {
      EXPECT_NE(line.rfind("Bcc:", 0), 0u) << file.filename() << ": " << line;
      EXPECT_NE(line.rfind("X-Injected:", 0), 0u) << file.filename() << ": " << line;
      if (line.rfind("To:", 0) == 0) {
        EXPECT_EQ(line.find("attacker"), std::string::npos) << file.filename() << ": " << line;
      }
      if (line.rfind("To: head-2@", 0) == 0) approval_mailed = true;
    }
  }
  EXPECT_TRUE(approval_mailed) << "no approval mail reached head-2: the test proves nothing";
}

// ---- approval links
// ------------------------------------------------------------------------------

class SecurityApprovalLinkTest : public ServiceSuite {
 protected:
  // A link stays valid one second after its task's due date.
  static void SetUpTestSuite() { startService({{{"approvals.link_grace", "1s"}}, {}, true}); }
  static void TearDownTestSuite() { stopService(); }

  // Starts a review due at `decide_by`, completes it, and returns the approval mails' links of
  // mgr-001 and mgr-002.
  void reachApproval(const std::string& decide_by = "2099-01-01T00:00:00Z") {
    const std::size_t mails = service().outboxFiles().size();
    auto id = service().startReview({{"decide_by", decide_by}});
    ASSERT_TRUE(id.isOk()) << id.status().toString();
    instance_ = *id;
    ASSERT_TRUE(service().completeReview(instance_, {{"notes", "fine"}}).isOk());
    ASSERT_TRUE(service().waitForOutbox(mails + 4)) << "the approval mails did not come";
    for (const auto& mail : service().approvalMails()) {
      if (mail.to.find("fiona.maclean@") != std::string::npos) first_ = mail;
      if (mail.to.find("owen.price@") != std::string::npos) second_ = mail;
    }
    ASSERT_FALSE(first_.approve.empty() || second_.approve.empty()) << "no approval links";
    auto task = service().openTask(instance_, "approve");
    ASSERT_TRUE(task.isOk()) << task.status().toString();
    task_ = *task;
  }

  std::string taskStatus() const {
    return service().api("GET", "/api/v1/tasks/" + task_, "admin").parsed().value("status", "");
  }

  std::string instance_;
  std::string task_;
  SecurityService::ApprovalMail first_;   // to mgr-001
  SecurityService::ApprovalMail second_;  // to mgr-002
};

TEST_F(SecurityApprovalLinkTest, AForgedLinkIsUnknownAndDecidesNothing) {
  reachApproval();
  const std::string manager = service().signIn("mgr-001");
  // The control: the real link's page asks for a confirmation.
  const std::string page = "/approvals/" + first_.approve;
  const HttpReply real = service().page("GET", page, manager);
  ASSERT_EQ(real.status, 200) << real.summary();
  const std::string csrf = csrfOf(real.body, page);
  ASSERT_FALSE(csrf.empty());

  std::string changed = first_.approve;
  changed.back() = changed.back() == 'A' ? 'B' : 'A';
  std::mt19937 random(std::random_device{}());
  std::string made_up;
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (int i = 0; i < 43; ++i) made_up += alphabet[random() % alphabet.size()];
  const Snapshot before = service().settledSnapshot();
  for (const std::string& token :
       {changed, made_up, first_.approve + "A", first_.approve.substr(0, 42),
        first_.approve.substr(0, 42) + "%41", std::string(43, 'A'), sha256Hex(first_.approve)}) {
    const HttpReply shown = service().page("GET", "/approvals/" + token, manager);
    EXPECT_EQ(shown.status, 404) << token << ": " << shown.summary();
    for (const std::string& token_csrf : {csrf, std::string("x")}) {
      const HttpReply posted =
          service().page("POST", "/approvals/" + token, manager, {{"csrf_token", token_csrf}});
      EXPECT_TRUE(posted.status == 403 || posted.status == 404)
          << token << ": " << posted.summary();
    }
  }
  expectNothingChanged(before, "forged approval links");
  EXPECT_EQ(taskStatus(), "open");
}

TEST_F(SecurityApprovalLinkTest, AUsedLinkCannotDecideAgain) {
  reachApproval();
  const std::string manager = service().signIn("mgr-001");
  const std::string page = "/approvals/" + first_.approve;
  const std::string csrf = csrfOf(service().page("GET", page, manager).body, page);
  ASSERT_FALSE(csrf.empty());
  const HttpReply decided = service().page("POST", page, manager, {{"csrf_token", csrf}});
  ASSERT_EQ(decided.status, 200) << decided.summary();
  EXPECT_EQ(taskStatus(), "completed");

  const Snapshot after_first = service().settledSnapshot();
  // The same confirmation again, the link's page, the same person's reject link, and the other
  // head of service's links.
  EXPECT_EQ(service().page("POST", page, manager, {{"csrf_token", csrf}}).status, 409);
  EXPECT_EQ(service().page("GET", page, manager).status, 410);
  EXPECT_EQ(service().page("GET", "/approvals/" + first_.reject, manager).status, 410);
  const std::string other = service().signIn("mgr-002");
  for (const std::string& token : {second_.approve, second_.reject}) {
    const std::string other_page = "/approvals/" + token;
    const HttpReply shown = service().page("GET", other_page, other);
    EXPECT_EQ(shown.status, 410) << shown.summary();
    EXPECT_TRUE(csrfOf(shown.body, other_page).empty()) << "a closed link offers a form";
  }
  expectNothingChanged(after_first, "a replayed approval link");
  // The API cannot decide it again either.
  const HttpReply api =
      service().api("POST", "/api/v1/approvals/" + task_, "manager", {{"decision", "reject"}});
  EXPECT_EQ(api.status, 409) << api.summary();
  const Snapshot end = service().settledSnapshot();
  EXPECT_TRUE(end == after_first) << after_first.differences(end);
}

TEST_F(SecurityApprovalLinkTest, ALinkThatExpiresBetweenThePageAndTheConfirmationDecidesNothing) {
  // Due in six seconds (time to reach the approval on a busy machine): the link is valid until
  // one second after that.
  const auto due = std::chrono::system_clock::now() + std::chrono::seconds(6);
  const std::time_t due_time = std::chrono::system_clock::to_time_t(due);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&due_time));
  reachApproval(text);
  const std::string manager = service().signIn("mgr-001");
  const std::string page = "/approvals/" + first_.approve;
  const HttpReply shown = service().page("GET", page, manager);
  ASSERT_EQ(shown.status, 200) << "the link expired before the test could open it";
  const std::string csrf = csrfOf(shown.body, page);
  ASSERT_FALSE(csrf.empty());

  std::this_thread::sleep_until(due + std::chrono::milliseconds(1500));
  const Snapshot before = service().settledSnapshot();
  const HttpReply posted = service().page("POST", page, manager, {{"csrf_token", csrf}});
  EXPECT_EQ(posted.status, 410) << posted.summary();
  EXPECT_EQ(service().page("GET", page, manager).status, 410);
  EXPECT_EQ(service().page("GET", "/approvals/" + first_.reject, manager).status, 410);
  expectNothingChanged(before, "an expired approval link");
  EXPECT_EQ(taskStatus(), "open");
}

TEST_F(SecurityApprovalLinkTest, AnotherApproversLinkDecidesNothingForThem) {
  reachApproval();
  const std::string other = service().signIn("mgr-002");
  const std::string auditor = service().signIn("aud-001");
  const std::string own_page = "/approvals/" + second_.approve;
  const std::string own_csrf = csrfOf(service().page("GET", own_page, other).body, own_page);
  ASSERT_FALSE(own_csrf.empty()) << "mgr-002's own link does not work: the test proves nothing";

  const Snapshot before = service().settledSnapshot();
  for (const std::string& token : {first_.approve, first_.reject}) {
    const std::string page = "/approvals/" + token;
    for (const std::string& cookie : {other, auditor}) {
      const HttpReply shown = service().page("GET", page, cookie);
      EXPECT_EQ(shown.status, 403) << shown.summary();
      EXPECT_TRUE(csrfOf(shown.body, page).empty()) << "another person's link offers a form";
      for (const std::string& csrf : {own_csrf, std::string("x")}) {
        const HttpReply posted = service().page("POST", page, cookie, {{"csrf_token", csrf}});
        EXPECT_EQ(posted.status, 403) << posted.summary();
      }
    }
  }
  expectNothingChanged(before, "another approver's link");
  EXPECT_EQ(taskStatus(), "open");
}

}  // namespace
}  // namespace sendflow::security::testing
