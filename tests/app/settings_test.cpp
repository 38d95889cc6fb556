#include "server/app/settings.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace sendflow::app {
namespace {

class SettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("sendflow-settings-" + std::to_string(::getpid()) + ".properties");
    std::ofstream(path_) << "# comment\nhttp.port = 8080\nstore.sqlite.path = var/a.db\n"
                            "mail.retry = 5m\nflag = maybe\n";
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::filesystem::path path_;
};

TEST_F(SettingsTest, ReadsTypedValues) {
  auto s = Settings::load(path_.string(), {});
  ASSERT_TRUE(s.isOk()) << s.status().toString();
  EXPECT_EQ(*s->getInt("http.port", 1), 8080);
  EXPECT_EQ(*s->getString("store.sqlite.path", ""), "var/a.db");
  EXPECT_EQ(s->getDuration("mail.retry", {})->count(), 300000);
  EXPECT_EQ(*s->getInt("absent", 7), 7);
}

TEST_F(SettingsTest, EnvironmentOverridesTheFile) {
  auto s = Settings::load(
      path_.string(),
      {{"SENDFLOW_HTTP_PORT", "9090"}, {"SENDFLOW_MAIL_FROM", "qa@example.org"}, {"OTHER", "x"}});
  ASSERT_TRUE(s.isOk());
  EXPECT_EQ(*s->getInt("http.port", 1), 9090);
  EXPECT_EQ(*s->getString("mail.from", ""), "qa@example.org");
}

TEST_F(SettingsTest, BadValueNamesTheFileAndKey) {
  auto s = Settings::load(path_.string(), {});
  ASSERT_TRUE(s.isOk());
  auto flag = s->getBool("flag", false);
  ASSERT_FALSE(flag.isOk());
  EXPECT_EQ(flag.status().message(), path_.string() + ": flag: 'maybe' is not true or false");
  auto env = Settings::load(path_.string(), {{"SENDFLOW_HTTP_PORT", "eighty"}});
  EXPECT_EQ(env->getInt("http.port", 1).status().message(),
            "environment SENDFLOW_HTTP_PORT: http.port: 'eighty' is not a whole number");
}

TEST_F(SettingsTest, MissingFileIsNotFound) {
  auto s = Settings::load("/nonexistent/sendflow.properties", {});
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.status().code(), core::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sendflow::app
