#include "server/app/service.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <nlohmann/json.hpp>

#include "server/auth/api_keys.h"

namespace sendflow::app {
namespace {

using nlohmann::json;

TEST(ParseByteSizeTest, ReadsUnits) {
  EXPECT_EQ(*parseByteSize("1MB"), 1024u * 1024);
  EXPECT_EQ(*parseByteSize("512 kb"), 512u * 1024);
  EXPECT_EQ(*parseByteSize("1048576"), 1048576u);
  EXPECT_EQ(*parseByteSize("2G"), 2ull * 1024 * 1024 * 1024);
  for (const char* bad : {"", "MB", "1 mega", "-1MB", "0", "1.5MB"}) {
    EXPECT_EQ(parseByteSize(bad).status().code(), core::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ReadServerOptionsTest, ReadsEveryKey) {
  const Settings s = Settings::fromMap(
      {{"http.address", "0.0.0.0"},
       {"http.port", "9090"},
       {"http.max_body", "2MB"},
       {"http.threads", "64"},
       {"http.frame_ancestors", "https://council.sharepoint.com  https://intranet.example"},
       {"http.trust_forwarded_for", "true"},
       {"http.header_timeout", "3s"},
       {"http.max_connections_per_client", "7"}});
  auto o = readServerOptions(s);
  ASSERT_TRUE(o.isOk()) << o.status().toString();
  EXPECT_EQ(o->address, "0.0.0.0");
  EXPECT_EQ(o->port, 9090);
  EXPECT_EQ(o->max_body_bytes, 2u * 1024 * 1024);
  EXPECT_EQ(o->max_threads, 64);
  EXPECT_EQ(o->frame_ancestors, (std::vector<std::string>{"https://council.sharepoint.com",
                                                          "https://intranet.example"}));
  EXPECT_TRUE(o->trust_forwarded_for);
  EXPECT_EQ(o->header_timeout, std::chrono::seconds(3));
  EXPECT_EQ(o->max_connections_per_client, 7);
}

TEST(ReadServerOptionsTest, NamesTheKeyAtFault) {
  const std::map<std::string, std::string> cases[] = {
      {{"http.port", "70000"}},
      {{"http.max_body", "lots"}},
      {{"http.threads", "0"}},
      {{"http.frame_ancestors", "council.sharepoint.com"}},
      {{"http.frame_ancestors", "https://x.example'; script-src *"}},
      {{"http.tls.certificate", "cert.pem"}},
      {{"http.header_timeout", "0s"}},
      {{"http.header_timeout", "soon"}},
      {{"http.max_connections_per_client", "-1"}},
  };
  for (const auto& values : cases) {
    auto o = readServerOptions(Settings::fromMap(values, "test.properties"));
    ASSERT_FALSE(o.isOk()) << values.begin()->first;
    EXPECT_NE(o.status().message().find(values.begin()->first == "http.tls.certificate"
                                            ? "http.tls"
                                            : values.begin()->first),
              std::string::npos)
        << o.status().message();
  }
}

TEST(JsonLogTest, WritesWholeJsonLines) {
  std::ostringstream out;
  JsonLog log(out);
  log.info("serving", {{"port", 8080}});
  log.accessLogStream() << R"({"msg":"request","request_id":"r1"})" << '\n';
  log.error("boom", {{"request_id", "r2"}});
  std::istringstream lines(out.str());
  std::string line;
  std::vector<json> parsed;
  while (std::getline(lines, line)) parsed.push_back(json::parse(line));
  ASSERT_EQ(parsed.size(), 3u);
  EXPECT_EQ(parsed[0]["msg"], "serving");
  EXPECT_EQ(parsed[0]["level"], "info");
  EXPECT_EQ(parsed[0]["port"], 8080);
  EXPECT_TRUE(parsed[0]["ts"].is_string());
  EXPECT_EQ(parsed[1]["request_id"], "r1");
  EXPECT_EQ(parsed[2]["level"], "error");
  EXPECT_EQ(parsed[2]["request_id"], "r2");
}

// The whole service in-process: the embedded default's development sign-in, an API key.
class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sendflow-service-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    key_ = auth::ApiKeys::generate("tester");
    auto lineValue = [](const std::string& line) { return line.substr(line.find("= ") + 2); };
    values_ = {{"store.sqlite.path", (dir_ / "sendflow.db").string()},
               {"workflows.dir", std::string(SENDFLOW_SOURCE_DIR) + "/workflows"},
               {"mail.outbox.dir", (dir_ / "outbox").string()},
               {"http.address", "127.0.0.1"},
               {"http.port", "0"},
               {"sample.first_start", "false"},
               {"auth.dev.users", std::string(SENDFLOW_SOURCE_DIR) + "/config/users.json"},
               {"auth.session.secret_file", (dir_ / "session.secret").string()},
               {"auth.api_key.tester.sha256", lineValue(key_.sha256_line)},
               {"auth.api_key.tester.roles", "qa-lead"},
               {"metrics.token", "scrape-me"}};
  }
  void TearDown() override {
    service_.reset();
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }

  void start() {
    const Settings settings = Settings::fromMap(values_, "test.properties");
    std::ostringstream problems;
    auto engine = openEngine(settings, true, problems);
    ASSERT_TRUE(engine.isOk()) << engine.status().toString();
    engine_ = std::move(*engine);
    auto service = Service::open(settings, *engine_, log_);
    ASSERT_TRUE(service.isOk()) << service.status().toString();
    service_ = std::move(*service);
    ASSERT_TRUE(service_->start().isOk());
  }

  struct Reply {
    int status = 0;
    std::string body;
    Poco::Net::HTTPResponse response;
  };
  Reply call(const std::string& method, const std::string& uri,
             const std::vector<std::pair<std::string, std::string>>& headers = {},
             const std::string& body = "") {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(service_->port()));
    Poco::Net::HTTPRequest request(method, uri, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [k, v] : headers) request.set(k, v);
    if (!body.empty()) {
      request.setContentType("application/json");
      request.setContentLength64(static_cast<Poco::Int64>(body.size()));
    }
    session.sendRequest(request) << body;
    Reply reply;
    Poco::StreamCopier::copyToString(session.receiveResponse(reply.response), reply.body);
    reply.status = reply.response.getStatus();
    return reply;
  }

  std::filesystem::path dir_;
  std::map<std::string, std::string> values_;
  auth::GeneratedKey key_;
  std::ostringstream log_stream_;
  JsonLog log_{log_stream_};
  std::unique_ptr<EngineServices> engine_;
  std::unique_ptr<Service> service_;
};

TEST_F(ServiceTest, MetricsWithoutATokenAnswerOnlyThisMachine) {
  values_.erase("metrics.token");
  values_["http.trust_forwarded_for"] = "true";  // the test's way to look like another machine
  start();
  EXPECT_EQ(call("GET", "/metrics").status, 200);
  EXPECT_EQ(call("GET", "/metrics", {{"X-Forwarded-For", "203.0.113.5"}}).status, 404);
}

TEST_F(ServiceTest, MetricsWithATokenFileAnswerAScraperAnywhere) {
  values_.erase("metrics.token");
  values_["http.trust_forwarded_for"] = "true";
  std::ofstream(dir_ / "metrics.token") << "a-long-scrape-token-0123\n";
  values_["metrics.bearer_token_file"] = (dir_ / "metrics.token").string();
  start();
  const std::pair<std::string, std::string> remote{"X-Forwarded-For", "203.0.113.5"};
  EXPECT_EQ(call("GET", "/metrics", {remote}).status, 401);
  EXPECT_EQ(call("GET", "/metrics", {remote, {"Authorization", "Bearer a-long-scrape-token-0123"}})
                .status,
            200);
}

TEST_F(ServiceTest, ServesProbesMetricsTheApiAndThePages) {
  start();
  EXPECT_EQ(call("GET", "/healthz").body, "ok");
  const Reply ready = call("GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "ready");

  // The API: bearer credentials only.
  EXPECT_EQ(call("GET", "/api/v1/tasks").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/tasks", {{"Authorization", "Bearer sfk_tester_wrong"}}).status,
            401);
  const Reply me = call("GET", "/api/v1/me", {{"Authorization", "Bearer " + key_.key}});
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_NE(me.body.find("api-key:tester"), std::string::npos);
  EXPECT_EQ(call("GET", "/api/v1/definitions", {{"X-Api-Key", key_.key}}).status, 200);

  // A session cookie does not open the API, and an API key does not open the pages.
  const Reply page = call("GET", "/tasks", {{"Authorization", "Bearer " + key_.key}});
  EXPECT_EQ(page.status, 303);
  EXPECT_EQ(page.response.get("Location", "").rfind("/sign-in", 0), 0u);
  EXPECT_EQ(call("GET", "/sign-in").status, 200);

  // Metrics behind their token, with the requests above counted by route.
  EXPECT_EQ(call("GET", "/metrics").status, 401);
  const Reply metrics = call("GET", "/metrics", {{"Authorization", "Bearer scrape-me"}});
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(
      metrics.body.find(
          "sendflow_http_requests_total{route=\"/api/v1/me\",method=\"GET\",status=\"200\"} 1"),
      std::string::npos);
  EXPECT_NE(metrics.body.find("sendflow_tasks_open 0"), std::string::npos);
  EXPECT_NE(metrics.body.find("sendflow_store_healthy 1"), std::string::npos);

  // The API key's principal is known to the directory afterwards; the access log is JSON lines
  // without the key.
  service_->stop();
  std::istringstream lines(log_stream_.str());
  std::string line;
  int requests = 0;
  while (std::getline(lines, line)) {
    const json entry = json::parse(line);
    if (entry["msg"] == "request") ++requests;
  }
  EXPECT_GE(requests, 10);
  EXPECT_EQ(log_stream_.str().find(key_.key), std::string::npos);
}

TEST_F(ServiceTest, ProductionRefusesTheDevelopmentSignIn) {
  values_["deployment.environment"] = "production";
  const Settings settings = Settings::fromMap(values_, "test.properties");
  std::ostringstream problems;
  auto engine = openEngine(settings, false, problems);
  ASSERT_TRUE(engine.isOk());
  auto service = Service::open(settings, **engine, log_);
  ASSERT_FALSE(service.isOk());
  EXPECT_EQ(service.status().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(service.status().message().find("auth.mode"), std::string::npos);
}

TEST_F(ServiceTest, ReadyzSaysWhyWhenNoWorkflowIsLoaded) {
  values_["workflows.dir"] = (dir_ / "no-workflows").string();
  std::filesystem::create_directories(dir_ / "no-workflows");
  start();
  const Reply ready = call("GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("no workflow"), std::string::npos);
}

// A full disk, simulated by the store's size limit (SQLite's max_page_count): every write fails,
// so the service is not ready, saying why, though it is alive and the store still reads.
TEST_F(ServiceTest, ReadyzSaysNotReadyWhenTheStoreCannotWrite) {
  values_["store.sqlite.max_size"] = "4MB";
  start();
  ASSERT_EQ(call("GET", "/readyz").status, 200);
  const std::string chunk(64 * 1024, 'x');
  core::Status filled;
  for (int i = 0; i < 100 && filled.isOk(); ++i) {
    filled = engine_->store->transact([&](store::Transaction& tx) {
      return tx.setStateValue("fill-" + std::to_string(i), chunk);
    });
  }
  ASSERT_FALSE(filled.isOk()) << "the store never filled up";

  const Reply ready = call("GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.body.rfind("not ready: ", 0), 0u) << ready.body;
  EXPECT_NE(ready.body.find("full"), std::string::npos) << ready.body;
  EXPECT_EQ(call("GET", "/healthz").status, 200);
  const Reply metrics = call("GET", "/metrics", {{"Authorization", "Bearer scrape-me"}});
  EXPECT_NE(metrics.body.find("sendflow_store_healthy 1"), std::string::npos);
}

// The outbox folder gone and a file in its place (a disk swapped, a mount missing): not ready,
// naming the folder; ready again once it can be written.
TEST_F(ServiceTest, ReadyzSaysNotReadyWhenTheOutboxFolderCannotBeWritten) {
  start();
  ASSERT_EQ(call("GET", "/readyz").status, 200);
  std::filesystem::remove_all(dir_ / "outbox");
  std::ofstream(dir_ / "outbox") << "not a folder";
  const Reply ready = call("GET", "/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find((dir_ / "outbox").string()), std::string::npos) << ready.body;
  std::filesystem::remove(dir_ / "outbox");
  EXPECT_EQ(call("GET", "/readyz").status, 200);
}

// What the service makes at start is its user's alone, whatever the umask of the process that
// embeds it (main sets 077; this test leaves the usual 022).
TEST_F(ServiceTest, TheStoreTheSecretAndTheStateFoldersAreTheOwnersOnly) {
  values_["store.sqlite.path"] = (dir_ / "var" / "data" / "sendflow.db").string();
  values_["documents.dir"] = (dir_ / "var" / "documents").string();
  values_["auth.session.secret_file"] = (dir_ / "var" / "keys" / "session.secret").string();
  const mode_t old_umask = ::umask(022);
  start();
  ::umask(old_umask);
  auto mode = [](const std::filesystem::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
  };
  EXPECT_EQ(mode(dir_ / "var" / "data" / "sendflow.db"), 0600u);
  EXPECT_EQ(mode(dir_ / "var" / "data" / "sendflow.db-wal"), 0600u);
  EXPECT_EQ(mode(dir_ / "var" / "data" / "sendflow.db-shm"), 0600u);
  EXPECT_EQ(mode(dir_ / "var" / "keys" / "session.secret"), 0600u);
  for (const char* folder : {"data", "documents", "keys"}) {
    EXPECT_EQ(mode(dir_ / "var" / folder), 0700u) << folder;
  }
  EXPECT_EQ(mode(dir_ / "outbox"), 0700u);
}

}  // namespace
}  // namespace sendflow::app
