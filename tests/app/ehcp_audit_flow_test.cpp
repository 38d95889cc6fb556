// The shipped EHC plan audit workflow (workflows/ehcp-audit.xml) run end to end through the
// engine wired from a configuration: it pulls plans from a sample library, the auditors,
// moderators, head of service and QA lead complete their tasks through the runtime API, and the
// 5-minute briefing is rendered from the shipped template and published to the library.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "server/app/engine_services.h"
#include "server/archive/zip_reader.h"
#include "server/sampledata/library_writer.h"

namespace sendflow::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char kGoodPractice[] = "Young people wrote their own pages and shaped the outcomes";
const char kWorries[] = "Section F provision was not quantified in several plans";

// The text of a WordprocessingML part with its markup removed; every table cell ends with "|",
// so a table row reads "Good|2|50%|".
std::string visibleText(const std::string& xml) {
  std::string out;
  bool in_tag = false;
  for (std::size_t i = 0; i < xml.size(); ++i) {
    if (xml[i] == '<') {
      if (xml.compare(i, 7, "</w:tc>") == 0) out += '|';
      in_tag = true;
    } else if (xml[i] == '>') {
      in_tag = false;
    } else if (!in_tag) {
      out += xml[i];
    }
  }
  return out;
}

class EhcpAuditFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sendflow-ehcp-flow-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    sampledata::LibraryOptions library;
    library.plans = 24;
    library.seed = 3;
    library.jobs = 1;
    ASSERT_TRUE(sampledata::writeLibrary((dir_ / "intranet").string(), library).isOk());
    const std::string source = SENDFLOW_SOURCE_DIR;
    Settings settings = Settings::fromMap({{"store.sqlite.path", (dir_ / "sendflow.db").string()},
                                           {"workflows.dir", source + "/workflows"},
                                           {"templates.dir", source + "/templates"},
                                           {"documents.dir", (dir_ / "documents").string()},
                                           {"mail.outbox.dir", (dir_ / "outbox").string()},
                                           {"council.name", "Sample Council"},
                                           {"connector.type", "folder"},
                                           {"connector.folder.root", (dir_ / "intranet").string()},
                                           {"connector.library", "SEND Library"}},
                                          "test.properties");
    std::ostringstream problems;
    auto services = openEngine(settings, /*load_definitions=*/true, problems);
    ASSERT_TRUE(services.isOk()) << services.status().toString();
    services_ = std::move(*services);
  }
  void TearDown() override {
    services_.reset();
    fs::remove_all(dir_);
  }

  // The open tasks of `instance`, oldest first.
  std::vector<store::TaskRecord> openTasks(const std::string& instance) {
    std::vector<store::TaskRecord> tasks;
    const core::Status status = services_->store->transact([&](store::Transaction& tx) {
      SENDFLOW_ASSIGN_OR_RETURN(tasks, tx.listTasks("open", instance, 0));
      return core::Status::ok();
    });
    EXPECT_TRUE(status.isOk()) << status.toString();
    return tasks;
  }

  fs::path dir_;
  std::unique_ptr<EngineServices> services_;
};

TEST_F(EhcpAuditFlowTest, TheAuditCycleEndsWithThePublishedBriefing) {
  engine::Runtime& runtime = *services_->runtime;
  // The sample library's plans were finalised over several years: look back far enough.
  auto started =
      runtime.start("ehcp-audit", {{"per_locality", 1}, {"lookback", "P3650D"}}, "", "test");
  ASSERT_TRUE(started.isOk()) << started.status().toString();
  const std::string instance = started->instance_id;
  ASSERT_TRUE(runtime.runUntilIdle().isOk());

  // Every other audit finds an Inadequate standard; the moderator regrades it Requires
  // Improvement and the head of service approves.
  const json all_good = {{"standard_1", "Good"},
                         {"standard_2", "Good"},
                         {"standard_3", "Good"},
                         {"standard_4", "Outstanding"},
                         {"standard_5", "Good"},
                         {"evidence", "Read the plan and advice."},
                         {"good_practice", "Voice of the child"}};
  json one_inadequate = all_good;
  one_inadequate["standard_1"] = "Inadequate";
  one_inadequate["concerns"] = "The child's views are missing.";

  int audits = 0, moderations = 0, approvals = 0, briefings = 0;
  for (int round = 0; round < 50; ++round) {
    const std::vector<store::TaskRecord> tasks = openTasks(instance);
    if (tasks.empty()) break;
    for (const store::TaskRecord& task : tasks) {
      json data;
      if (task.step_id == "audit") {
        data = audits++ % 2 == 0 ? all_good : one_inadequate;
      } else if (task.step_id == "moderate") {
        ++moderations;
        data = {{"moderated_grade", "Requires Improvement"},
                {"agreement", "Partly agree"},
                {"findings", "The views were recorded in the advice, not the plan."}};
      } else if (task.step_id == "approve_moderation") {
        ++approvals;
        data = {{"decision", "approve"}};
      } else if (task.step_id == "write_briefing") {
        ++briefings;
        EXPECT_EQ(task.role, "qa-lead");
        data = {{"author", "SEND QA lead auditor"},
                {"overview", "Plans audited by the multi-agency group."},
                {"auditors", 4},
                {"good_practice", std::string("- ") + kGoodPractice},
                {"purpose", "To check the quality of new EHC plans."},
                {"cyp_experience", "Children can see themselves in their plans."},
                {"worries", std::string("- ") + kWorries},
                {"do_differently", "- Quantify provision"},
                {"themes_send", "Quantifying provision in Section F"},
                {"links", "SEND Code of Practice, chapter 9"}};
      } else {
        FAIL() << "unexpected task " << task.step_id;
      }
      const core::Status done = runtime.completeTask(task.id, data, "test");
      ASSERT_TRUE(done.isOk()) << task.step_id << ": " << done.toString();
      ASSERT_TRUE(runtime.runUntilIdle().isOk());
    }
  }
  ASSERT_GE(audits, 2) << "the sample library gave too few plans to audit";
  EXPECT_EQ(moderations, audits / 2);
  EXPECT_EQ(approvals, audits / 2);
  EXPECT_EQ(briefings, 1);

  std::optional<store::InstanceRecord> record;
  ASSERT_TRUE(services_->store
                  ->transact([&](store::Transaction& tx) {
                    SENDFLOW_ASSIGN_OR_RETURN(record, tx.instance(instance));
                    return core::Status::ok();
                  })
                  .isOk());
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->status, "completed");
  const json data = json::parse(record->data_json);
  ASSERT_TRUE(data.contains("briefing_document")) << data.dump();
  const std::string path = data["briefing_document"]["path"];

  auto package = archive::ZipReader::openFile(path);
  ASSERT_TRUE(package.isOk()) << package.status().toString();
  auto body = package->read("word/document.xml");
  ASSERT_TRUE(body.isOk()) << body.status().toString();
  const std::string text = visibleText(*body);
  EXPECT_NE(text.find(kGoodPractice), std::string::npos) << text;
  EXPECT_NE(text.find(kWorries), std::string::npos);
  EXPECT_NE(text.find("Quantifying provision in Section F|SEND Team|"), std::string::npos);
  EXPECT_NE(text.find("Plans audited|" + std::to_string(audits) + "|"), std::string::npos) << text;
  const int good = (audits + 1) / 2, requires_improvement = audits / 2;
  EXPECT_NE(text.find("Outstanding|0|"), std::string::npos) << text;
  EXPECT_NE(text.find("Good|" + std::to_string(good) + "|"), std::string::npos) << text;
  EXPECT_NE(text.find("Requires Improvement|" + std::to_string(requires_improvement) + "|"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Inadequate|0|"), std::string::npos) << text;
  EXPECT_NE(text.find("Sample Council"), std::string::npos);

  // documents.publish put the same file in the library's briefing folder.
  const fs::path published = dir_ / "intranet" / "SEND Library" / "5-minute briefings" /
                             data["briefing_document"]["name"].get<std::string>();
  EXPECT_TRUE(fs::exists(published)) << published;
}

}  // namespace
}  // namespace sendflow::app
