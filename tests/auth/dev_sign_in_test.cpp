#include "server/auth/dev_sign_in.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace sendflow::auth {
namespace {

void expectInvalid(const std::string& json, const std::string& fragment) {
  auto result = DevSignIn::parse(json, "config/users.json");
  ASSERT_FALSE(result.isOk()) << json;
  EXPECT_EQ(result.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("config/users.json"), std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().message().find(fragment), std::string::npos)
      << "'" << result.status().message() << "' does not say '" << fragment << "'";
}

TEST(DevSignInTest, TheShippedDirectoryHasEveryRoleOfTheSampleCouncil) {
  auto dev = DevSignIn::load(std::string(SENDFLOW_SOURCE_DIR) + "/config/users.json");
  ASSERT_TRUE(dev.isOk()) << dev.status().toString();
  std::map<std::string, std::set<std::string>> roles;
  for (const auto& u : dev->users()) {
    roles[u.id] = u.roles;
    EXPECT_FALSE(u.name.empty()) << u.id;
    EXPECT_NE(u.email.find("@council.example"), std::string::npos) << u.id;
  }
  EXPECT_TRUE(roles["qa-001"].count("qa-lead"));
  EXPECT_TRUE(roles["aud-001"].count("auditor"));
  EXPECT_TRUE(roles["aud-002"].count("auditor"));
  EXPECT_TRUE(roles["ep-052"].count("auditor"));
  EXPECT_TRUE(roles["mod-001"].count("moderator"));
  EXPECT_TRUE(roles["mgr-001"].count("manager"));
  EXPECT_TRUE(roles["adm-001"].count("admin"));
}

TEST(DevSignInTest, SignsInAKnownUserOnly) {
  auto dev = DevSignIn::parse(
      R"([{"id": "aud-001", "name": "Tom", "email": "tom@council.example", "roles": ["auditor"]}])",
      "users");
  ASSERT_TRUE(dev.isOk()) << dev.status().toString();
  auto p = dev->signIn("aud-001");
  ASSERT_TRUE(p.isOk());
  EXPECT_EQ(p->id, "aud-001");
  EXPECT_EQ(p->name, "Tom");
  EXPECT_EQ(p->email, "tom@council.example");
  EXPECT_EQ(p->roles, (std::set<std::string>{"auditor"}));
  EXPECT_EQ(p->via, "development");
  auto unknown = dev->signIn("adm-001");
  ASSERT_FALSE(unknown.isOk());
  EXPECT_EQ(unknown.status().code(), core::StatusCode::kUnauthenticated);
}

TEST(DevSignInTest, BadFilesNameTheFileAndTheEntry) {
  expectInvalid("{not json", "not valid JSON");
  expectInvalid("42", "expected an array");
  expectInvalid(R"([{"id": "a", "name": "A", "roles": ["x"], "n": 1E738}])", "not valid JSON");
  expectInvalid(R"({"people": []})", "no \"users\"");
  expectInvalid("[]", "lists no users");
  expectInvalid(R"([{"id": "a", "name": "A", "roles": ["auditor"]}, "x"])", "users[1]");
  expectInvalid(R"([{"name": "A", "roles": ["auditor"]}])", "users[0]: id: is missing");
  expectInvalid(R"([{"id": "aud-002", "name": "A", "roles": []}])", "users[0] (aud-002): roles");
  expectInvalid(R"([{"id": "aud-002", "name": "A", "roles": "auditor"}])", "roles");
  expectInvalid(R"([{"id": "aud-002", "name": "A", "roles": ["auditor", 3]}])", "roles");
  expectInvalid(R"([{"id": "aud-002", "name": 5, "roles": ["auditor"]}])",
                "(aud-002): name: is not a string");
  expectInvalid(R"([{"id": "aud-002", "name": "", "roles": ["auditor"]}])", "name: is empty");
  expectInvalid(
      R"([{"id": "a", "name": "A", "roles": ["x"]}, {"id": "a", "name": "B", "roles": ["x"]}])",
      "users[1] (a): id: 'a' appears twice");
  expectInvalid(R"([{"id": "a", "name": "A", "roles": ["x"], "password": "p"}])",
                "unknown field 'password'");
}

TEST(DevSignInTest, AMissingFileIsNotFound) {
  auto result = DevSignIn::load("config/no-such-users.json");
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), core::StatusCode::kNotFound);
  EXPECT_NE(result.status().message().find("config/no-such-users.json"), std::string::npos);
}

TEST(DevSignInTest, LoadNamesTheFileInErrors) {
  auto dir = std::filesystem::temp_directory_path() /
             ("sendflow-dev-sign-in-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "users.json").string();
  std::ofstream(path) << R"([{"id": "x", "name": "X"}])";
  auto result = DevSignIn::load(path);
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(result.isOk());
  EXPECT_NE(result.status().message().find(path + ": users[0] (x): roles"), std::string::npos)
      << result.status().message();
}

}  // namespace
}  // namespace sendflow::auth
