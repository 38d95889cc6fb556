// The mail.* settings wired by openEngine: the transport chosen, the user directory behind
// role recipients, and bad values refused with the file and key named.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/app/cli.h"
#include "server/app/engine_services.h"
#include "server/mail/folder_mailer.h"
#include "server/mail/smtp_mailer.h"

namespace sendflow::app {
namespace {

namespace fs = std::filesystem;

class MailWiringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sendflow-mail-wiring-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Settings settings(std::map<std::string, std::string> extra) const {
    std::map<std::string, std::string> values = {
        {"store.sqlite.path", (dir_ / "sendflow.db").string()},
        {"mail.outbox.dir", (dir_ / "outbox").string()}};
    for (auto& [k, v] : extra) values[k] = v;
    return Settings::fromMap(values, "test.properties");
  }

  core::StatusOr<std::unique_ptr<EngineServices>> open(std::map<std::string, std::string> extra) {
    std::ostringstream err;
    return openEngine(settings(std::move(extra)), false, err);
  }

  fs::path dir_;
};

TEST_F(MailWiringTest, TheDefaultTransportIsTheFolder) {
  auto e = open({});
  ASSERT_TRUE(e.isOk()) << e.status().toString();
  EXPECT_NE(dynamic_cast<mail::FolderMailer*>((*e)->mailer.get()), nullptr);
}

TEST_F(MailWiringTest, SmtpIsChosenByMailTransport) {
  auto e = open({{"mail.transport", "smtp"},
                 {"mail.smtp.host", "smtp.council.example"},
                 {"mail.smtp.port", "587"},
                 {"mail.smtp.starttls", "optional"}});
  ASSERT_TRUE(e.isOk()) << e.status().toString();
  EXPECT_NE(dynamic_cast<mail::SmtpMailer*>((*e)->mailer.get()), nullptr);
}

TEST_F(MailWiringTest, ARoleRecipientGoesToEveryoneWithTheRoleInTheDirectory) {
  auto e = open({{"mail.from", "qa@council.example"}, {"mail.from_name", "SEND QA"}});
  ASSERT_TRUE(e.isOk()) << e.status().toString();
  EngineServices& services = **e;
  store::OutboxRecord mail;
  mail.recipient = "role:manager";
  mail.subject = "Moderation outcome to approve";
  mail.body = "Approve it here: https://sendflow.council.example/tasks/t-1";
  mail.created_at = services.clock->now();
  mail.next_attempt_at = services.clock->now();
  store::OutboxRecord nobody = mail;
  nobody.recipient = "role:panel-chair";
  ASSERT_TRUE(services.store
                  ->transact([&](store::Transaction& tx) -> core::Status {
                    store::UserRecord u;
                    u.id = "priya";
                    u.email = "priya@council.example";
                    u.roles_json = R"(["manager"])";
                    u.source = "directory";
                    SENDFLOW_RETURN_IF_ERROR(tx.upsertUser(u));
                    SENDFLOW_RETURN_IF_ERROR(tx.insertOutbox(mail));
                    return tx.insertOutbox(nobody);
                  })
                  .isOk());
  auto sent = services.outbox->dispatchPending(10);
  ASSERT_TRUE(sent.isOk()) << sent.status().toString();
  EXPECT_EQ(*sent, 1);
  std::ifstream in(dir_ / "outbox" / (std::to_string(mail.id) + ".eml"), std::ios::binary);
  const std::string eml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(eml.find("\r\nTo: priya@council.example\r\n"), std::string::npos) << eml;
  EXPECT_NE(eml.find("From: SEND QA <qa@council.example>\r\n"), std::string::npos) << eml;
  EXPECT_NE(eml.find("Message-ID: <outbox-" + std::to_string(mail.id) + "@council.example>"),
            std::string::npos);
  std::vector<store::OutboxRecord> outbox;
  ASSERT_TRUE(services.store
                  ->transact([&](store::Transaction& tx) -> core::Status {
                    SENDFLOW_ASSIGN_OR_RETURN(outbox, tx.listOutbox());
                    return core::Status::ok();
                  })
                  .isOk());
  ASSERT_EQ(outbox.size(), 2u);
  EXPECT_EQ(outbox[1].status, "failed");
  EXPECT_EQ(outbox[1].last_error, "role:panel-chair: no user with this role has an email address");
  e->reset();  // the command opens the store itself

  // `sendflow mail list --status failed` shows the given-up mail and why.
  CommandTable table;
  registerMailCommands(table);
  ASSERT_EQ(table.size(), 1u);
  const Settings config = settings({});
  std::ostringstream out, err;
  CommandContext ctx{config, {"--status", "failed"}, out, err};
  EXPECT_EQ(table[0].run(ctx), kExitOk) << err.str();
  EXPECT_EQ(out.str(), std::to_string(nobody.id) +
                           "  failed  attempts 1  role:panel-chair  Moderation outcome to approve"
                           "  error: role:panel-chair: no user with this role has an email "
                           "address\n");
  std::ostringstream json_out;
  CommandContext as_json{config, {"--json"}, json_out, err};
  EXPECT_EQ(table[0].run(as_json), kExitOk);
  EXPECT_NE(json_out.str().find("\"status\": \"sent\""), std::string::npos) << json_out.str();
  std::ostringstream usage_out, usage_err;
  CommandContext bad{config, {"--status", "lost"}, usage_out, usage_err};
  EXPECT_EQ(table[0].run(bad), kExitUsage);
}

TEST_F(MailWiringTest, BadValuesNameTheFileAndTheKey) {
  const std::map<std::string, std::string> smtp = {{"mail.transport", "smtp"},
                                                   {"mail.smtp.host", "smtp.council.example"}};
  struct Case {
    std::map<std::string, std::string> values;
    std::string key;
  };
  const std::vector<Case> cases = {
      {{{"mail.transport", "pigeon"}}, "mail.transport"},
      {{{"mail.from", "the QA team"}}, "mail.from"},
      {{{"mail.retry.attempts", "0"}}, "mail.retry.attempts"},
      {{{"mail.retry.initial", "2h"}}, "mail.retry.max"},
      {{{"mail.retry.initial", "soon"}}, "mail.retry.initial"},
      {{{"mail.transport", "smtp"}}, "mail.smtp.host"},
      {{{"mail.smtp.starttls", "yes"}}, "mail.smtp.starttls"},
      {{{"mail.smtp.port", "70000"}}, "mail.smtp.port"},
      {{{"mail.smtp.timeout", "0s"}}, "mail.smtp.timeout"},
      {{{"mail.smtp.verify_peer", "perhaps"}}, "mail.smtp.verify_peer"},
      {{{"mail.smtp.password", "secret"}}, "mail.smtp.username"},
      {{{"mail.smtp.ca_file", (fs::temp_directory_path() / "no-such-ca.pem").string()}},
       "mail.smtp.ca_file"},
  };
  for (const Case& c : cases) {
    std::map<std::string, std::string> values = c.values;
    if (c.key.rfind("mail.smtp.", 0) == 0) {
      for (const auto& [k, v] : smtp) values.emplace(k, v);
      if (c.key == "mail.smtp.host") values.erase("mail.smtp.host");
    }
    auto e = open(values);
    ASSERT_FALSE(e.isOk()) << c.key;
    EXPECT_EQ(e.status().code(), core::StatusCode::kInvalidArgument) << c.key;
    EXPECT_EQ(e.status().message().rfind("test.properties: " + c.key + ": ", 0), 0u)
        << e.status().message();
  }
}

}  // namespace
}  // namespace sendflow::app
