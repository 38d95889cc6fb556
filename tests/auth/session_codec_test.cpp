#include "server/auth/session_codec.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>
#include <stdexcept>

#include "server/auth/crypto.h"
#include "server/store/sqlite_store.h"

namespace sendflow::auth {
namespace {

const core::TimePoint kStart{std::chrono::seconds(1795000000)};
const std::string kSecret = "0123456789abcdef0123456789abcdef-session";

Principal moderator() {
  Principal p;
  p.id = "mod-001";
  p.name = "Marcus Bell";
  p.email = "marcus.bell@council.example";
  p.roles = {"moderator", "auditor"};
  p.via = "oidc";
  return p;
}

class SessionCodecTest : public ::testing::Test {
 protected:
  core::ManualClock clock_{kStart};
  SessionCodec codec_{kSecret, clock_, std::chrono::hours(8)};
};

TEST_F(SessionCodecTest, OpensWhatItSealed) {
  std::string cookie = codec_.seal(moderator(), "csrf-secret");
  auto session = codec_.open(cookie);
  ASSERT_TRUE(session.isOk()) << session.status().toString();
  EXPECT_EQ(session->principal.id, "mod-001");
  EXPECT_EQ(session->principal.name, "Marcus Bell");
  EXPECT_EQ(session->principal.email, "marcus.bell@council.example");
  EXPECT_EQ(session->principal.roles, (std::set<std::string>{"moderator", "auditor"}));
  EXPECT_EQ(session->principal.via, "session");
  EXPECT_EQ(session->csrf_secret, "csrf-secret");
  EXPECT_EQ(session->expires_at, kStart + std::chrono::hours(8));
}

TEST_F(SessionCodecTest, TheCookieIsCookieSafe) {
  std::string cookie = codec_.seal(moderator(), SessionCodec::randomToken(32));
  for (char c : cookie) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    EXPECT_TRUE(ok) << "character '" << c << "' in " << cookie;
  }
}

TEST_F(SessionCodecTest, ExpiresAfterItsLifetime) {
  std::string cookie = codec_.seal(moderator(), "c");
  clock_.advance(std::chrono::hours(8) - std::chrono::seconds(1));
  EXPECT_TRUE(codec_.open(cookie).isOk());
  clock_.advance(std::chrono::seconds(1));
  auto expired = codec_.open(cookie);
  ASSERT_FALSE(expired.isOk());
  EXPECT_EQ(expired.status().code(), core::StatusCode::kUnauthenticated);
  EXPECT_NE(expired.status().message().find("expired"), std::string::npos);
}

TEST_F(SessionCodecTest, RefusesATamperedPayload) {
  std::string cookie = codec_.seal(moderator(), "c");
  std::size_t dot = cookie.find('.');
  auto payload = nlohmann::json::parse(*crypto::base64UrlDecode(cookie.substr(0, dot)));
  payload["roles"] = {"admin"};
  std::string forged = crypto::base64UrlEncode(payload.dump()) + cookie.substr(dot);
  auto result = codec_.open(forged);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), core::StatusCode::kUnauthenticated);
  EXPECT_NE(result.status().message().find("signature"), std::string::npos);

  // Every single flipped character is caught.
  for (std::size_t i = 0; i < cookie.size(); i += 7) {
    std::string changed = cookie;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    if (changed == cookie) continue;
    EXPECT_FALSE(codec_.open(changed).isOk()) << "flipped character " << i;
  }
}

TEST_F(SessionCodecTest, RefusesACookieSignedWithAnotherSecret) {
  SessionCodec other(kSecret + "-other", clock_, std::chrono::hours(8));
  auto result = codec_.open(other.seal(moderator(), "c"));
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), core::StatusCode::kUnauthenticated);
}

TEST_F(SessionCodecTest, RefusesMalformedCookies) {
  for (const std::string& bad :
       {std::string(""), std::string("x"), std::string("a.b.c"), std::string("."),
        std::string("!!.??"), std::string(10000, 'a') + ".b"}) {
    auto result = codec_.open(bad);
    ASSERT_FALSE(result.isOk()) << bad.substr(0, 40);
    EXPECT_EQ(result.status().code(), core::StatusCode::kUnauthenticated);
  }
  // A correctly signed payload that is not a session.
  std::string key = crypto::hmacSha256(kSecret, "sendflow session cookie v1");
  for (const std::string& json :
       {std::string("[1]"), std::string("{\"v\":1}"),
        std::string("{\"v\":2,\"id\":\"x\",\"exp\":9999999999}"), std::string("not json")}) {
    std::string body = crypto::base64UrlEncode(json);
    std::string cookie = body + "." + crypto::base64UrlEncode(crypto::hmacSha256(key, body));
    auto result = codec_.open(cookie);
    ASSERT_FALSE(result.isOk()) << json;
    EXPECT_NE(result.status().message().find("malformed"), std::string::npos) << json;
  }
}

TEST_F(SessionCodecTest, ACookieOfTheFormerVersionWithoutASessionIdIsRefused) {
  // Version 1 cookies had no session id, so they could not be revoked.
  std::string key = crypto::hmacSha256(kSecret, "sendflow session cookie v1");
  const nlohmann::json v1 = {
      {"v", 1},      {"p", "session"},     {"id", "mod-001"}, {"name", "M"}, {"roles", {"admin"}},
      {"csrf", "c"}, {"exp", 9999999999LL}};
  std::string body = crypto::base64UrlEncode(v1.dump());
  auto result = codec_.open(body + "." + crypto::base64UrlEncode(crypto::hmacSha256(key, body)));
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), core::StatusCode::kUnauthenticated);
}

TEST_F(SessionCodecTest, EverySessionHasItsOwnId) {
  auto a = codec_.open(codec_.seal(moderator(), "c"));
  auto b = codec_.open(codec_.seal(moderator(), "c"));
  ASSERT_TRUE(a.isOk() && b.isOk());
  EXPECT_GE(a->id.size(), 22u);
  EXPECT_NE(a->id, b->id);
}

TEST_F(SessionCodecTest, WithoutRevocationsASessionCannotBeRevoked) {
  auto a = codec_.open(codec_.seal(moderator(), "c"));
  ASSERT_TRUE(a.isOk());
  EXPECT_EQ(codec_.revoke(*a).code(), core::StatusCode::kFailedPrecondition);
}

// Sign-out against a real store: two SqliteStores on one file stand for two service processes.
class SessionRevocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sendflow-sessions-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    for (auto* process : {&first_, &second_}) {
      auto opened = store::SqliteStore::open((dir_ / "sendflow.db").string());
      ASSERT_TRUE(opened.isOk()) << opened.status().toString();
      process->store = std::move(*opened);
      process->revocations = std::make_unique<SessionRevocations>(*process->store, clock_);
      process->codec = std::make_unique<SessionCodec>(kSecret, clock_, std::chrono::hours(8),
                                                      process->revocations.get());
    }
  }
  void TearDown() override {
    first_ = {};
    second_ = {};
    std::filesystem::remove_all(dir_);
  }
  bool stored(const std::string& session_id) {
    bool revoked = false;
    EXPECT_TRUE(first_.store
                    ->read([&](store::Transaction& tx) -> core::Status {
                      SENDFLOW_ASSIGN_OR_RETURN(revoked, tx.sessionRevoked(session_id));
                      return core::Status::ok();
                    })
                    .isOk());
    return revoked;
  }

  struct Process {
    std::unique_ptr<store::SqliteStore> store;
    std::unique_ptr<SessionRevocations> revocations;
    std::unique_ptr<SessionCodec> codec;
  };
  std::filesystem::path dir_;
  core::ManualClock clock_{kStart};
  Process first_;
  Process second_;
};

TEST_F(SessionRevocationTest, ASignedOutSessionIsRefusedEverywhereAndAnotherStillOpens) {
  const std::string signed_out = first_.codec->seal(moderator(), "c");
  const std::string other_browser = first_.codec->seal(moderator(), "c");
  auto session = first_.codec->open(signed_out);
  ASSERT_TRUE(session.isOk()) << session.status().toString();
  ASSERT_TRUE(second_.codec->open(signed_out).isOk());

  ASSERT_TRUE(first_.codec->revoke(*session).isOk());
  for (const auto* process : {&first_, &second_}) {
    auto refused = process->codec->open(signed_out);
    ASSERT_FALSE(refused.isOk());
    EXPECT_EQ(refused.status().code(), core::StatusCode::kUnauthenticated);
    EXPECT_NE(refused.status().message().find("signed out"), std::string::npos);
    EXPECT_TRUE(process->codec->open(other_browser).isOk());
  }
  // A sign-in flow cookie is not a session: nothing to revoke, nothing to look up.
  EXPECT_TRUE(
      first_.codec->open(first_.codec->seal(moderator(), "s", "sign-in-flow"), "sign-in-flow")
          .isOk());
}

TEST_F(SessionRevocationTest, ARevocationIsKeptUntilTheSessionExpiresThenPurged) {
  auto early = first_.codec->open(first_.codec->seal(moderator(), "c"));
  ASSERT_TRUE(early.isOk());
  ASSERT_TRUE(first_.codec->revoke(*early).isOk());
  clock_.advance(std::chrono::hours(8) - std::chrono::seconds(1));
  EXPECT_TRUE(stored(early->id));
  auto late = first_.codec->open(first_.codec->seal(moderator(), "c"));
  ASSERT_TRUE(late.isOk());
  clock_.advance(std::chrono::seconds(1));
  // Signing out purges the records of sessions expired by now.
  ASSERT_TRUE(second_.codec->revoke(*late).isOk());
  EXPECT_FALSE(stored(early->id));
  EXPECT_TRUE(stored(late->id));
}

TEST_F(SessionCodecTest, ACookieSealedForAnotherPurposeIsRefused) {
  std::string flow = codec_.seal(moderator(), "kept-state", "sign-in-flow");
  auto as_session = codec_.open(flow);
  ASSERT_FALSE(as_session.isOk());
  EXPECT_EQ(as_session.status().code(), core::StatusCode::kUnauthenticated);
  EXPECT_NE(as_session.status().message().find("sign-in-flow"), std::string::npos);
  auto as_flow = codec_.open(flow, "sign-in-flow");
  ASSERT_TRUE(as_flow.isOk()) << as_flow.status().toString();
  EXPECT_EQ(as_flow->csrf_secret, "kept-state");
  EXPECT_FALSE(codec_.open(codec_.seal(moderator(), "c"), "sign-in-flow").isOk());
}

TEST_F(SessionCodecTest, AShortSecretIsRefused) {
  EXPECT_THROW(SessionCodec("too short", clock_, std::chrono::hours(1)), std::invalid_argument);
}

TEST_F(SessionCodecTest, CsrfTokensAreBoundToTheSessionAndTheForm) {
  auto a = codec_.open(codec_.seal(moderator(), SessionCodec::randomToken(32)));
  auto b = codec_.open(codec_.seal(moderator(), SessionCodec::randomToken(32)));
  ASSERT_TRUE(a.isOk() && b.isOk());
  std::string token = csrfToken(*a, "complete-task");
  EXPECT_TRUE(checkCsrf(*a, "complete-task", token));
  EXPECT_FALSE(checkCsrf(*a, "approve", token));
  EXPECT_FALSE(checkCsrf(*b, "complete-task", token));
  EXPECT_FALSE(checkCsrf(*a, "complete-task", ""));
  EXPECT_FALSE(checkCsrf(*a, "complete-task", token.substr(1)));
  Session empty = *a;
  empty.csrf_secret.clear();
  EXPECT_FALSE(checkCsrf(empty, "complete-task", csrfToken(empty, "complete-task")));
}

TEST(RandomTokenTest, IsBase64UrlOfTheRequestedLengthAndDiffersEachTime) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string t = SessionCodec::randomToken(32);
    EXPECT_EQ(t.size(), 43u);
    EXPECT_EQ(crypto::base64UrlDecode(t)->size(), 32u);
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(SessionCodec::randomToken(16).size(), 22u);
}

TEST(Base64UrlTest, RoundTripsAndRefusesNonCanonicalText) {
  for (const std::string& s : {std::string(""), std::string("f"), std::string("fo"),
                               std::string("foo"), std::string("foob"), std::string("\xff\xfe")}) {
    EXPECT_EQ(*crypto::base64UrlDecode(crypto::base64UrlEncode(s)), s);
  }
  EXPECT_EQ(crypto::base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(crypto::base64UrlDecode("a").has_value());
  EXPECT_FALSE(crypto::base64UrlDecode("ab+/").has_value());
  EXPECT_FALSE(crypto::base64UrlDecode("Zh").has_value());  // "Zg" is the canonical "f"
  EXPECT_EQ(*crypto::base64UrlDecode("Zg=="), "f");
}

}  // namespace
}  // namespace sendflow::auth
