#include "server/auth/api_keys.h"

#include <gtest/gtest.h>

#include <cstring>

#include "server/auth/bearer_authenticator.h"

namespace sendflow::auth {
namespace {

// The configuration lines of a generated key as a section map (without "auth.api_key.").
std::map<std::string, std::string> sectionOf(const std::vector<GeneratedKey>& keys,
                                             const std::string& roles = "automation,qa-lead") {
  std::map<std::string, std::string> section;
  for (const auto& k : keys) {
    std::string line = k.sha256_line;
    std::size_t eq = line.find(" = ");
    section[line.substr(std::strlen("auth.api_key."), eq - std::strlen("auth.api_key."))] =
        line.substr(eq + 3);
    section[k.name + ".roles"] = roles;
  }
  return section;
}

TEST(ApiKeysTest, GeneratedKeysHaveTheDocumentedShape) {
  GeneratedKey k = ApiKeys::generate("scheduler");
  ASSERT_EQ(k.key.rfind("sfk_scheduler_", 0), 0u) << k.key;
  EXPECT_EQ(k.key.size(), std::string("sfk_scheduler_").size() + 43);
  EXPECT_TRUE(ApiKeys::looksLikeKey(k.key));
  EXPECT_EQ(k.sha256_line.rfind("auth.api_key.scheduler.sha256 = ", 0), 0u);
  EXPECT_EQ(k.sha256_line.size(), std::string("auth.api_key.scheduler.sha256 = ").size() + 64);
  EXPECT_EQ(k.roles_line, "auth.api_key.scheduler.roles = automation");
  EXPECT_NE(ApiKeys::generate("scheduler").key, k.key);
  EXPECT_TRUE(ApiKeys::generate("Bad_Name").key.empty());
}

TEST(ApiKeysTest, AuthenticatesAConfiguredKey) {
  GeneratedKey k = ApiKeys::generate("power-automate");
  auto keys = ApiKeys::fromSection(sectionOf({k}));
  ASSERT_TRUE(keys.isOk()) << keys.status().toString();
  auto p = keys->authenticate(k.key);
  ASSERT_TRUE(p.isOk()) << p.status().toString();
  EXPECT_EQ(p->id, "api-key:power-automate");
  EXPECT_EQ(p->via, "api-key");
  EXPECT_EQ(p->roles, (std::set<std::string>{"automation", "qa-lead"}));
  EXPECT_TRUE(p->email.empty());
}

TEST(ApiKeysTest, RefusesWrongUnknownAndMalformedKeys) {
  GeneratedKey k = ApiKeys::generate("scheduler");
  GeneratedKey other = ApiKeys::generate("reports");
  auto keys = ApiKeys::fromSection(sectionOf({k}));
  ASSERT_TRUE(keys.isOk());
  std::string wrong_secret = k.key;
  wrong_secret.back() = wrong_secret.back() == 'A' ? 'B' : 'A';
  std::string other_secret_same_name = "sfk_scheduler_" + other.key.substr(other.key.size() - 43);
  for (const std::string& bad :
       {other.key, wrong_secret, other_secret_same_name, std::string(""), std::string("sfk_"),
        std::string("sfk_scheduler_short"), k.key + "x", k.key.substr(1), "SFK" + k.key.substr(3),
        std::string("sfk__") + k.key.substr(k.key.size() - 43)}) {
    auto result = keys->authenticate(bad);
    ASSERT_FALSE(result.isOk()) << bad;
    EXPECT_EQ(result.status().code(), core::StatusCode::kUnauthenticated) << bad;
  }
}

TEST(ApiKeysTest, BadConfigurationNamesTheKey) {
  GeneratedKey k = ApiKeys::generate("scheduler");
  auto section = sectionOf({k});

  auto missing_roles = section;
  missing_roles.erase("scheduler.roles");
  auto r1 = ApiKeys::fromSection(missing_roles);
  ASSERT_FALSE(r1.isOk());
  EXPECT_EQ(r1.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(r1.status().message().find("auth.api_key.scheduler.roles"), std::string::npos);

  auto bad_hash = section;
  bad_hash["scheduler.sha256"] = "abc";
  auto r2 = ApiKeys::fromSection(bad_hash);
  ASSERT_FALSE(r2.isOk());
  EXPECT_NE(r2.status().message().find("auth.api_key.scheduler.sha256"), std::string::npos);

  auto r3 = ApiKeys::fromSection({{"scheduler.roles", "automation"}});
  ASSERT_FALSE(r3.isOk());
  EXPECT_NE(r3.status().message().find("sha256: is missing"), std::string::npos);

  auto r4 = ApiKeys::fromSection({{"Bad_Name.roles", "automation"}});
  ASSERT_FALSE(r4.isOk());
  EXPECT_NE(r4.status().message().find("Bad_Name"), std::string::npos);

  auto typo = section;
  typo["scheduler.role"] = "admin";
  auto r5 = ApiKeys::fromSection(typo);
  ASSERT_FALSE(r5.isOk());
  EXPECT_NE(r5.status().message().find("auth.api_key.scheduler.role"), std::string::npos);

  auto no_roles = section;
  no_roles["scheduler.roles"] = " , ";
  EXPECT_FALSE(ApiKeys::fromSection(no_roles).isOk());
}

TEST(ApiKeysTest, AnUppercaseHashIsAccepted) {
  GeneratedKey k = ApiKeys::generate("scheduler");
  auto section = sectionOf({k});
  for (char& c : section["scheduler.sha256"]) c = static_cast<char>(std::toupper(c));
  auto keys = ApiKeys::fromSection(section);
  ASSERT_TRUE(keys.isOk());
  EXPECT_TRUE(keys->authenticate(k.key).isOk());
}

class BearerAuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = ApiKeys::generate("scheduler");
    auto keys = ApiKeys::fromSection(sectionOf({key_}, "automation"));
    ASSERT_TRUE(keys.isOk());
    api_keys_ = std::make_shared<const ApiKeys>(std::move(*keys));
  }
  GeneratedKey key_;
  std::shared_ptr<const ApiKeys> api_keys_;
};

TEST_F(BearerAuthenticatorTest, DispatchesApiKeysFromEitherHeader) {
  BearerAuthenticator auth(api_keys_, nullptr);
  for (const std::string& header :
       {"Bearer " + key_.key, "bearer " + key_.key, "BEARER   " + key_.key + " "}) {
    auto p = auth.authenticate(header);
    ASSERT_TRUE(p.isOk()) << header << ": " << p.status().toString();
    EXPECT_EQ(p->id, "api-key:scheduler");
  }
  auto p = auth.authenticate("", key_.key);
  ASSERT_TRUE(p.isOk()) << p.status().toString();
  EXPECT_EQ(p->via, "api-key");
}

TEST_F(BearerAuthenticatorTest, MissingOrNonBearerCredentialsNeedSignIn) {
  BearerAuthenticator auth(api_keys_, nullptr);
  for (const std::string& header :
       {std::string(""), std::string("   "), std::string("Basic dXNlcjpwYXNz"),
        std::string("Bearer"), std::string("Bearerx " + key_.key), key_.key}) {
    auto result = auth.authenticate(header);
    ASSERT_FALSE(result.isOk()) << header;
    EXPECT_EQ(result.status().code(), core::StatusCode::kUnauthenticated);
    EXPECT_EQ(result.status().message(), "sign-in required") << header;
  }
  EXPECT_FALSE(auth.authenticate("Bearer a b").isOk());
}

TEST_F(BearerAuthenticatorTest, AnIdentityProviderTokenIsRefusedWhenOidcIsOff) {
  BearerAuthenticator auth(api_keys_, nullptr);
  auto result = auth.authenticate("Bearer eyJhbGciOiJSUzI1NiJ9.e30.AAAA");
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), core::StatusCode::kUnauthenticated);
  EXPECT_NE(result.status().message().find("auth.mode"), std::string::npos);
}

TEST_F(BearerAuthenticatorTest, AnApiKeyIsRefusedWhenNoneIsConfigured) {
  BearerAuthenticator auth(nullptr, nullptr);
  auto result = auth.authenticate("Bearer " + key_.key);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), core::StatusCode::kUnauthenticated);
  auto from_header = auth.authenticate("", key_.key);
  EXPECT_FALSE(from_header.isOk());
}

TEST_F(BearerAuthenticatorTest, AWrongKeyInXApiKeyIsRefused) {
  BearerAuthenticator auth(api_keys_, nullptr);
  auto result = auth.authenticate("", ApiKeys::generate("scheduler").key);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), core::StatusCode::kUnauthenticated);
  EXPECT_FALSE(auth.authenticate("", "not-a-key").isOk());
}

}  // namespace
}  // namespace sendflow::auth
