// What the `sendflow` commands create is readable by the service's user only (issue 16): a run
// of the real binary, started with the usual umask 022, starts a workflow that mails (the outbox
// .eml holds what an approval link would), renders a document and records an action, and renders
// a document from the command line; every file and folder it made must then be 0600 / 0700: the
// store, the outbox, the documents, the audit file, folders made on the way, and what the
// command writes with no mode of its own (the umask 077 that main sets).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

namespace sendflow {
namespace {

namespace fs = std::filesystem;

constexpr char kWorkflow[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:sendflow:workflow:1" id="file-modes" version="1" title="File modes">
  <steps>
    <action id="notify" action="mail.send">
      <param name="to" expr="'qa@council.example'"/>
      <param name="subject" expr="'Approve the moderation'"/>
      <param name="body" expr="'Approve: https://sendflow.council.example/approvals/token'"/>
    </action>
    <action id="briefing" action="document.render">
      <param name="template" expr="'five-minute-briefing'"/>
    </action>
    <action id="record" action="noop.record"/>
  </steps>
</workflow>
)";

TEST(FileModesTest, EverythingTheCommandsCreateIsTheOwnersOnly) {
  char tmpl[] = "/tmp/sendflow-modes-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  fs::create_directories(dir / "workflows");
  std::ofstream(dir / "workflows" / "file-modes.xml") << kWorkflow;
  const fs::path var = dir / "var";
  std::ofstream(dir / "sendflow.properties")
      << "store.sqlite.path = " << (var / "data" / "sendflow.db").string() << "\n"
      << "workflows.dir = " << (dir / "workflows").string() << "\n"
      << "templates.dir = " << SENDFLOW_SOURCE_DIR << "/templates\n"
      << "documents.dir = " << (var / "documents").string() << "\n"
      << "mail.outbox.dir = " << (var / "outbox").string() << "\n"
      << "engine.audit_file = " << (var / "actions.audit").string() << "\n";

  const mode_t old_umask = ::umask(022);
  const std::string sendflow = std::string(SENDFLOW_BINARY_DIR) + "/sendflow --config " +
                               (dir / "sendflow.properties").string() + " ";
  const int started = std::system((sendflow + "start file-modes --key k1 >/dev/null").c_str());
  const int ran = std::system((sendflow + "run-due >/dev/null").c_str());
  // A file the command writes without an explicit mode: private through the umask alone.
  const std::string templates = std::string(SENDFLOW_SOURCE_DIR) + "/templates/";
  const int rendered =
      std::system((sendflow + "render " + templates + "five-minute-briefing.docx " + templates +
                   "five-minute-briefing.example.json -o " +
                   (var / "exports" / "briefing.docx").string() + " >/dev/null")
                      .c_str());
  ::umask(old_umask);
  ASSERT_EQ(started, 0);
  ASSERT_EQ(ran, 0);
  ASSERT_EQ(rendered, 0);
  ASSERT_TRUE(fs::exists(var / "exports" / "briefing.docx"));

  std::set<std::string> kinds;
  for (const auto& entry : fs::recursive_directory_iterator(var)) {
    struct stat st {};
    ASSERT_EQ(::lstat(entry.path().c_str(), &st), 0);
    const unsigned mode = st.st_mode & 0777;
    if (S_ISDIR(st.st_mode)) {
      EXPECT_EQ(mode, 0700u) << entry.path();
    } else {
      EXPECT_EQ(mode, 0600u) << entry.path();
    }
    kinds.insert(entry.path().extension().string());
  }
  // The run made what the test is about.
  for (const char* kind : {".db", ".eml", ".docx", ".audit"}) {
    EXPECT_EQ(kinds.count(kind), 1u) << "no " << kind << " file was made";
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sendflow
