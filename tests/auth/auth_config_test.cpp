#include "server/auth/auth_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace sendflow::auth {
namespace {

std::map<std::string, std::string> oidcSection() {
  return {{"mode", "oidc"},
          {"oidc.issuer", "https://login.example/tenant/v2.0"},
          {"oidc.client_id", "sendflow-web"},
          {"oidc.client_secret", "s3cret"},
          {"oidc.audience", "api://sendflow, sendflow-api"},
          {"oidc.user_claim", "upn"},
          {"oidc.role_claims", "roles"},
          {"oidc.role_map.SEND.QaLead", "qa-lead"},
          {"oidc.role_map.3f1c-group-guid", "auditor, moderator"},
          {"session.lifetime", "4h"},
          {"session.secret", std::string(40, 'k')}};
}

void expectBadKey(const std::map<std::string, std::string>& section, const std::string& key,
                  const std::string& environment = "") {
  auto result = parseAuthConfig(section, environment);
  ASSERT_FALSE(result.isOk()) << key;
  EXPECT_EQ(result.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find(key), std::string::npos)
      << "'" << result.status().message() << "' does not name " << key;
}

TEST(AuthConfigTest, TheDefaultIsTheDevelopmentSignIn) {
  auto config = parseAuthConfig({}, "");
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_EQ(config->mode, AuthMode::kDevelopment);
  EXPECT_EQ(config->environment, DeploymentEnvironment::kDevelopment);
  EXPECT_EQ(config->dev_users_path, "config/users.json");
  EXPECT_EQ(config->session_lifetime, std::chrono::hours(8));
  EXPECT_TRUE(config->api_keys.empty());
  EXPECT_TRUE(checkProductionSafety(*config).isOk());
}

TEST(AuthConfigTest, ParsesTheOidcKeys) {
  auto config = parseAuthConfig(oidcSection(), "production");
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_EQ(config->mode, AuthMode::kOidc);
  EXPECT_EQ(config->oidc.issuer, "https://login.example/tenant/v2.0");
  EXPECT_EQ(config->oidc.audiences, (std::vector<std::string>{"api://sendflow", "sendflow-api"}));
  EXPECT_EQ(config->oidc.client_id, "sendflow-web");
  EXPECT_EQ(config->oidc.client_secret, "s3cret");
  EXPECT_EQ(config->oidc.user_claim, "upn");
  EXPECT_EQ(config->oidc.role_claims, (std::vector<std::string>{"roles"}));
  EXPECT_EQ(config->oidc.role_map.at("SEND.QaLead"), (std::set<std::string>{"qa-lead"}));
  EXPECT_EQ(config->oidc.role_map.at("3f1c-group-guid"),
            (std::set<std::string>{"auditor", "moderator"}));
  EXPECT_EQ(config->session_lifetime, std::chrono::hours(4));
  EXPECT_TRUE(checkProductionSafety(*config).isOk());
}

TEST(AuthConfigTest, TheAudienceDefaultsToTheClientId) {
  auto section = oidcSection();
  section.erase("oidc.audience");
  auto config = parseAuthConfig(section, "");
  ASSERT_TRUE(config.isOk());
  EXPECT_EQ(config->oidc.audiences, (std::vector<std::string>{"sendflow-web"}));
}

TEST(AuthConfigTest, ErrorsNameTheKey) {
  expectBadKey({{"mode", "ldap"}}, "auth.mode");
  expectBadKey({{"mode", "oidc"}, {"oidc.client_id", "x"}}, "auth.oidc.issuer");
  expectBadKey({{"mode", "oidc"}, {"oidc.issuer", "https://x"}}, "auth.oidc.client_id");
  expectBadKey({{"mode", "oidc"}, {"oidc.issuer", "login.example"}, {"oidc.client_id", "x"}},
               "auth.oidc.issuer");
  expectBadKey({{"session.lifetime", "8 hours"}}, "auth.session.lifetime");
  expectBadKey({{"session.lifetime", "0s"}}, "auth.session.lifetime");
  expectBadKey({{"session.secret", "short"}}, "auth.session.secret");
  expectBadKey({{"oidc.role_map.SEND.QaLead", " "}}, "auth.oidc.role_map.SEND.QaLead");
  expectBadKey({{"oidc.isuer", "https://x"}}, "auth.oidc.isuer");
  expectBadKey({{"session.lifetme", "8h"}}, "auth.session.lifetme");
  expectBadKey({{"api_key.ci.roles", "automation"}}, "auth.api_key.ci.sha256");
  expectBadKey({}, "deployment.environment", "staging");
}

TEST(AuthConfigTest, LeavesOtherModulesKeysAlone) {
  auto config = parseAuthConfig({{"approval_link.lifetime", "7d"}}, "");
  EXPECT_TRUE(config.isOk()) << config.status().toString();
}

TEST(AuthConfigTest, ProductionRefusesTheDevelopmentSignIn) {
  auto config = parseAuthConfig({{"mode", "development"}}, "production");
  ASSERT_TRUE(config.isOk());
  core::Status status = checkProductionSafety(*config);
  ASSERT_FALSE(status.isOk());
  EXPECT_EQ(status.code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("deployment.environment"), std::string::npos);
  EXPECT_NE(status.message().find("auth.mode"), std::string::npos);
}

TEST(AuthConfigTest, ProductionRefusesAnIssuerOverPlainHttp) {
  auto section = oidcSection();
  section["oidc.issuer"] = "http://login.example";
  auto config = parseAuthConfig(section, "production");
  ASSERT_TRUE(config.isOk());
  core::Status status = checkProductionSafety(*config);
  ASSERT_FALSE(status.isOk());
  EXPECT_NE(status.message().find("auth.oidc.issuer"), std::string::npos);
  auto dev = parseAuthConfig(section, "development");
  EXPECT_TRUE(checkProductionSafety(*dev).isOk());
}

TEST(AuthConfigTest, GeneratesTheSessionSecretOnceAndKeepsIt) {
  auto dir = std::filesystem::temp_directory_path() /
             ("sendflow-session-secret-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  AuthConfig config;
  config.session_secret_file = (dir / "var" / "session.secret").string();
  auto first = loadOrCreateSessionSecret(config);
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  EXPECT_GE(first->size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat(config.session_secret_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto second = loadOrCreateSessionSecret(config);
  ASSERT_TRUE(second.isOk());
  EXPECT_EQ(*first, *second);

  std::ofstream(config.session_secret_file, std::ios::trunc) << "short\n";
  auto bad = loadOrCreateSessionSecret(config);
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("auth.session.secret_file"), std::string::npos);

  config.session_secret = std::string(32, 'x');
  EXPECT_EQ(*loadOrCreateSessionSecret(config), std::string(32, 'x'));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sendflow::auth
