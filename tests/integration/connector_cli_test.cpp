// `sendflow connector list|fetch|publish`, configured through settings, against a real lighttpd
// with mod_webdav: the configuration keys, the factory and the commands end to end.

#include <gtest/gtest.h>

#include <Poco/TemporaryFile.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "server/app/cli.h"
#include "tests/integration/lighttpd_webdav.h"

namespace sendflow::app {
namespace {

namespace fs = std::filesystem;

class ConnectorCliTest : public ::testing::Test {
 protected:
  ConnectorCliTest() : dir_(Poco::TemporaryFile::tempName()) {
    fs::create_directories(dir_);
    std::ofstream(dir_ + "/secret") << testing::LighttpdWebDav::kPassword << "\n";
    registerConnectorCommands(table_);
  }
  ~ConnectorCliTest() override { fs::remove_all(dir_); }

  std::map<std::string, std::string> settings() const {
    return {{"connector.type", "webdav"},
            {"connector.base_url", server_.baseUrl()},
            {"connector.library", "SEND Library"},
            {"connector.auth", "basic"},
            {"connector.username", testing::LighttpdWebDav::kUser},
            {"connector.secret_file", dir_ + "/secret"},
            {"connector.retry.initial_backoff", "10ms"}};
  }
  int run(const std::string& name, std::vector<std::string> args,
          std::map<std::string, std::string> values = {}) {
    if (values.empty()) values = settings();
    const Settings s = Settings::fromMap(values, "test.properties");
    out_.str("");
    err_.str("");
    CommandContext context{s, std::move(args), out_, err_};
    for (const Command& c : table_) {
      if (c.name == name) return c.run(context);
    }
    ADD_FAILURE() << "no command " << name;
    return -1;
  }

  testing::LighttpdWebDav server_;
  std::string dir_;
  CommandTable table_;
  std::ostringstream out_, err_;
};

TEST_F(ConnectorCliTest, PublishListAndFetchThroughTheConfiguredConnector) {
  std::ofstream(dir_ + "/audit.docx", std::ios::binary) << "PK audit report";
  ASSERT_EQ(
      run("connector publish", {dir_ + "/audit.docx", "--name", "Reports/audit.docx", "--meta",
                                R"({"locality": "North", "document_type": "Audit report"})"}),
      kExitOk)
      << err_.str();

  ASSERT_EQ(run("connector list", {"--json"}), kExitOk) << err_.str();
  const auto listing = nlohmann::json::parse(out_.str());
  ASSERT_EQ(listing["items"].size(), 1u);
  EXPECT_EQ(listing["items"][0]["id"], "Reports/audit.docx");
  EXPECT_EQ(listing["items"][0]["metadata"]["locality"], "North");
  EXPECT_EQ(listing["items"][0]["metadata"]["document_type"], "Audit report");
  const std::string cursor = listing["cursor"];

  ASSERT_EQ(run("connector fetch", {"Reports/audit.docx", "-o", dir_ + "/copy.docx"}), kExitOk)
      << err_.str();
  std::ifstream copy(dir_ + "/copy.docx", std::ios::binary);
  std::stringstream text;
  text << copy.rdbuf();
  EXPECT_EQ(text.str(), "PK audit report");

  ASSERT_EQ(run("connector list", {"--since", cursor}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str().rfind("cursor: ", 0), 0u) << "nothing new, only the cursor: " << out_.str();
}

TEST_F(ConnectorCliTest, ConfigurationAndCredentialProblemsAreNamed) {
  auto values = settings();
  values.erase("connector.base_url");
  EXPECT_EQ(run("connector list", {}, values), kExitFailure);
  EXPECT_NE(err_.str().find("test.properties: connector.base_url: required"), std::string::npos)
      << err_.str();

  std::ofstream(dir_ + "/secret") << "wrong\n";
  EXPECT_EQ(run("connector list", {}), kExitFailure);
  EXPECT_NE(err_.str().find("webdav connector"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("401"), std::string::npos) << err_.str();

  EXPECT_EQ(run("connector fetch", {"missing.docx"}), kExitUsage);
  EXPECT_EQ(run("connector publish", {dir_ + "/secret", "--meta", R"({"postcode": "X"})"}),
            kExitInvalidInput);
  EXPECT_NE(err_.str().find("'postcode' is not a sendflow field"), std::string::npos) << err_.str();
}

}  // namespace
}  // namespace sendflow::app
