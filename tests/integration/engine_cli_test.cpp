// The engine's command line, run as the real `sendflow` binary: start (idempotent on --key),
// tasks, complete (form errors name every bad field, exit 1, change nothing), instances, and
// serve answering /healthz and /readyz until SIGTERM.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace sendflow {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct CommandRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class EngineCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sendflow-cli-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ / "workflows");
    fs::copy_file(fs::path(SENDFLOW_SOURCE_DIR) / "workflows/examples/three-step.xml",
                  dir_ / "workflows/three-step.xml");
    std::ofstream props(dir_ / "sendflow.properties");
    props << "store.sqlite.path = " << (dir_ / "var/sendflow.db").string() << "\n"
          << "workflows.dir = " << (dir_ / "workflows").string() << "\n"
          << "mail.outbox.dir = " << (dir_ / "var/outbox").string() << "\n"
          << "http.address = 127.0.0.1\nhttp.port = 0\nengine.poll_interval = 100ms\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  CommandRun sendflow(const std::string& args) {
    const std::string err_file = (dir_ / "stderr.txt").string();
    const std::string command = std::string(SENDFLOW_BINARY_DIR) + "/sendflow --config " +
                                (dir_ / "sendflow.properties").string() + " " + args + " 2>" +
                                err_file;
    CommandRun run;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return run;
    std::array<char, 4096> buf;
    std::size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) run.out.append(buf.data(), n);
    const int status = pclose(pipe);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream err(err_file);
    std::stringstream text;
    text << err.rdbuf();
    run.err = text.str();
    return run;
  }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }

  fs::path dir_;
};

TEST_F(EngineCliTest, StartTasksCompleteInstances) {
  CommandRun first = sendflow("start three-step --key cycle-2026-11");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  CommandRun again = sendflow("start three-step --key cycle-2026-11");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(first.out, again.out);
  const std::string id = first.out.substr(0, first.out.find('\n'));

  CommandRun tasks = sendflow("tasks --json");
  ASSERT_EQ(tasks.exit_code, 0) << tasks.err;
  const json open = json::parse(tasks.out);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0]["instance"], id);
  EXPECT_EQ(open[0]["step"], "confirm");
  const std::string task = open[0]["id"];

  CommandRun bad = sendflow("complete " + task + " --data " +
                            write("bad.json", R"({"confirmed": "yes", "colour": "blue"})"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("confirmed"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("colour"), std::string::npos) << bad.err;
  EXPECT_EQ(json::parse(sendflow("tasks --json").out).size(), 1u);

  CommandRun good =
      sendflow("complete " + task + " --data " + write("good.json", R"({"confirmed": true})"));
  EXPECT_EQ(good.exit_code, 0) << good.err;
  const json instances = json::parse(sendflow("instances --json").out);
  ASSERT_EQ(instances.size(), 1u);
  EXPECT_EQ(instances[0]["status"], "completed");
  EXPECT_EQ(instances[0]["data"]["record_end"]["confirmed"], true);
  EXPECT_EQ(sendflow("start no-such-workflow").exit_code, 1);
}

TEST_F(EngineCliTest, AFailingActionIsListedAsAnIncidentAndCanBeRetried) {
  write("workflows/bad-mail.xml", R"(<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:sendflow:workflow:1" id="bad-mail" version="1" title="Bad mail">
  <inputs>
    <input name="subject" type="string" required="false" default=""/>
  </inputs>
  <steps>
    <action id="notify" action="mail.send">
      <param name="to" expr="'lead@council.example'"/>
      <param name="subject" expr="subject"/>
    </action>
  </steps>
</workflow>
)");
  CommandRun started = sendflow("start bad-mail");
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const json incidents = json::parse(sendflow("incidents --json").out);
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_NE(incidents[0]["message"].get<std::string>().find("subject"), std::string::npos);
  EXPECT_EQ(incidents[0]["step"], "notify");
  CommandRun retried = sendflow("retry " + std::to_string(incidents[0]["id"].get<long long>()));
  EXPECT_EQ(retried.exit_code, 0) << retried.err;
  // The data is still wrong: the first incident is resolved and a new one raised.
  const json after = json::parse(sendflow("incidents --json --all").out);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0]["resolved"], true);
  EXPECT_EQ(after[1]["resolved"], false);
  EXPECT_EQ(sendflow("retry nope").exit_code, 2);
}

TEST_F(EngineCliTest, ServeAnswersHealthzUntilSigterm) {
  const std::string binary = std::string(SENDFLOW_BINARY_DIR) + "/sendflow";
  const std::string config = (dir_ / "sendflow.properties").string();
  const std::string out_file = (dir_ / "serve.out").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  std::vector<char*> argv = {const_cast<char*>(binary.c_str()), const_cast<char*>("--config"),
                             const_cast<char*>(config.c_str()), const_cast<char*>("serve"),
                             nullptr};
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);

  int port = 0;
  for (int i = 0; i < 500 && port == 0; ++i) {
    std::ifstream in(out_file);
    std::string line;
    while (std::getline(in, line)) {
      const auto at = line.find("serving on http://127.0.0.1:");
      if (at != std::string::npos) port = std::stoi(line.substr(at + 28));
    }
    if (port == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_NE(port, 0) << "serve did not start";
  auto get = [&](const std::string& path) {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, path);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::string body;
    std::getline(session.receiveResponse(response), body);
    return std::make_pair(static_cast<int>(response.getStatus()), body);
  };
  EXPECT_EQ(get("/healthz"), std::make_pair(200, std::string("ok")));
  EXPECT_EQ(get("/readyz"), std::make_pair(200, std::string("ready")));
  EXPECT_EQ(get("/nothing").first, 404);

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace sendflow
