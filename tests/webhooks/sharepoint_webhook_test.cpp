// The SharePoint webhook: the validation handshake, clientState and subscription checks,
// malformed payloads, and notifications that list the changes from the fake SharePoint site the
// connector tests use and start one workflow per matching changed document.

#include "server/webhooks/sharepoint_webhook.h"

#include <gtest/gtest.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "server/engine/action_registry.h"
#include "server/engine/builtin_actions.h"
#include "server/engine/definition_loader.h"
#include "server/http/http_server.h"
#include "server/store/sqlite_store.h"
#include "tests/connectors/fakes/fake_sharepoint.h"

namespace sendflow::webhooks {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr const char* kSecret = "a-client-state-only-we-know-0c9f";

// A workflow that waits with the plan it was started for.
const char kIntake[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:sendflow:workflow:1" id="plan-intake" version="1" title="Plan intake">
  <roles>
    <role id="qa-lead" title="QA lead"/>
  </roles>
  <inputs>
    <input name="plan" type="object"/>
    <input name="name" type="string"/>
  </inputs>
  <steps>
    <task id="look" title="Look at the new plan" role="qa-lead">
      <form>
        <field name="seen" type="boolean" label="Seen"/>
      </form>
    </task>
  </steps>
</workflow>
)";

core::TimePoint at(const std::string& iso) {
  core::TimePoint t;
  EXPECT_TRUE(core::parseIso8601(iso, t)) << iso;
  return t;
}

struct HttpAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};

class SharePointWebhookTest : public ::testing::Test {
 protected:
  SharePointWebhookTest() : sharepoint_(tokens_) {}

  void SetUp() override {
    auto opened = store::SqliteStore::open(":memory:");
    ASSERT_TRUE(opened.isOk()) << opened.status().toString();
    store_ = std::move(*opened);
    ASSERT_TRUE(engine::registerBuiltinActions(actions_).isOk());
    runtime_ = std::make_unique<engine::Runtime>(*store_, actions_, clock_);
    auto loaded = engine::DefinitionLoader::loadString(kIntake, "plan-intake.xml");
    ASSERT_TRUE(loaded.isOk()) << loaded.status().toString();
    ASSERT_TRUE(runtime_->deploy(loaded.definition, kIntake).isOk());

    // Three final EHC plans, one draft plan, one piece of advice.
    for (int n = 1; n <= 3; ++n) {
      sharepoint_.addDocument("plan-00" + std::to_string(n) + ".docx", "plan",
                              {{"DocumentType", "EHC plan"},
                               {"DateFinalised", "2026-10-0" + std::to_string(n)},
                               {"Locality", "North"},
                               {"Caseworker", "cw-00" + std::to_string(n)}});
    }
    sharepoint_.addDocument("plan-draft.docx", "draft",
                            {{"DocumentType", "EHC plan"}, {"Locality", "South"}});
    sharepoint_.addDocument("advice-ep.docx", "advice",
                            {{"DocumentType", "Advice"}, {"DateFinalised", "2026-10-05"}});
  }
  void TearDown() override {
    if (server_) server_->stop(milliseconds(500));
    if (webhook_) webhook_->stop();
  }

  std::map<std::string, std::string> section() {
    return {{"client_state", kSecret},
            {"initial_lookback", "1 day"},
            {"rule.plan_finalised.when", "DocumentType == 'EHC plan' and finalised_date != null"},
            {"rule.plan_finalised.workflow", "plan-intake"},
            {"rule.plan_finalised.input.plan", "item"},
            {"rule.plan_finalised.input.name", "item.name"}};
  }

  void makeWebhook(std::map<std::string, std::string> keys) {
    auto options = parseSharePointWebhookOptions(keys, "test.properties", {});
    ASSERT_TRUE(options.isOk()) << options.status().toString();
    webhook_ = std::make_unique<SharePointWebhook>(
        *runtime_,
        [this]() -> core::StatusOr<std::unique_ptr<connectors::DocumentSource>> {
          connectors::SharePointOptions o = testing::sharePointOptions(
              sharepoint_, tokens_, testing::FakeTokenEndpoint::kSecret, false);
          o.page_size = 2;
          o.http.retry.max_attempts = 2;
          o.http.retry.initial_backoff = milliseconds(1);
          o.http.sleep = [](milliseconds) {};
          return std::unique_ptr<connectors::DocumentSource>(
              std::make_unique<connectors::SharePointSource>(o, clock_));
        },
        std::move(*options), clock_);
    webhook_->addRoutes(router_);
  }
  void makeWebhook() { makeWebhook(section()); }

  void serve() {
    http::ServerOptions options;
    options.port = 0;
    server_ = std::make_unique<http::HttpServer>(options, router_, nullptr, nullptr, nullptr);
    ASSERT_TRUE(server_->start().isOk());
  }
  HttpAnswer post(const std::string& target, const std::string& body,
                  const std::string& content_type = "application/json") {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(server_->port()));
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, target,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    if (!body.empty()) request.setContentType(content_type);
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    std::stringstream text;
    text << in.rdbuf();
    return {static_cast<int>(response.getStatus()), response.getContentType(), text.str()};
  }
  // The handler without a socket.
  http::Response call(const std::string& body, std::multimap<std::string, std::string> query = {}) {
    http::Request r;
    r.method = "POST";
    r.path = "/webhooks/sharepoint";
    r.query = std::move(query);
    r.body = body;
    r.request_id = "req-1";
    return webhook_->handle(r);
  }

  static json notification(const std::string& subscription, const std::string& client_state) {
    return {{"value", json::array({{{"subscriptionId", subscription},
                                    {"clientState", client_state},
                                    {"expirationDateTime", "2027-04-01T09:00:00.0000000Z"},
                                    {"resource", "5c77031a-9621-4dfc-bb5d-57803a94e91d"},
                                    {"tenantId", "00000000-0000-0000-0000-000000000000"},
                                    {"siteUrl", "/sites/send"},
                                    {"webId", "1d8a9d5b-0000-0000-0000-000000000000"}}})}};
  }

  std::vector<store::InstanceRecord> instances() {
    std::vector<store::InstanceRecord> out;
    const core::Status st = store_->transact([&](store::Transaction& tx) -> core::Status {
      store::InstanceFilter filter;
      filter.definition_id = "plan-intake";
      SENDFLOW_ASSIGN_OR_RETURN(out, tx.listInstances(filter));
      return core::Status::ok();
    });
    EXPECT_TRUE(st.isOk()) << st.toString();
    return out;
  }
  std::optional<std::string> state(const std::string& key) {
    std::optional<std::string> out;
    const core::Status st = store_->transact([&](store::Transaction& tx) -> core::Status {
      SENDFLOW_ASSIGN_OR_RETURN(out, tx.stateValue(key));
      return core::Status::ok();
    });
    EXPECT_TRUE(st.isOk()) << st.toString();
    return out;
  }
  json pending() {
    auto text = state(SharePointWebhook::kPendingKey);
    return text ? json::parse(*text) : json::object();
  }

  testing::FakeTokenEndpoint tokens_;
  testing::FakeSharePoint sharepoint_;
  core::ManualClock clock_{at("2026-11-01T10:00:00Z")};
  std::unique_ptr<store::Store> store_;
  engine::ActionRegistry actions_;
  std::unique_ptr<engine::Runtime> runtime_;
  http::Router router_;
  std::unique_ptr<SharePointWebhook> webhook_;
  std::unique_ptr<http::HttpServer> server_;
};

TEST_F(SharePointWebhookTest, TheValidationHandshakeEchoesTheTokenAsPlainText) {
  makeWebhook();
  serve();
  const auto started = std::chrono::steady_clock::now();
  const HttpAnswer answer =
      post("/webhooks/sharepoint?validationtoken=2f1c9b7e-77d1-4f4b-9c3a%2B5d1e%3Aabc", "");
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.content_type.rfind("text/plain", 0), 0u) << answer.content_type;
  EXPECT_EQ(answer.body, "2f1c9b7e-77d1-4f4b-9c3a+5d1e:abc");
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_FALSE(state(SharePointWebhook::kPendingKey)) << "a handshake is not a notification";
}

TEST_F(SharePointWebhookTest, OnlySaneValidationTokensAreEchoed) {
  makeWebhook();
  for (const std::string& token :
       {std::string("<script>alert(1)</script>"), std::string(513, 'a'), std::string(),
        std::string("line\r\nX-Injected: 1"), std::string("caf\xC3\xA9")}) {
    const http::Response r = call("", {{"validationtoken", token}});
    EXPECT_EQ(r.status, 400) << token;
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.body.find(token.empty() ? "\x01" : token), std::string::npos);
  }
  const http::Response ok = call("", {{"validationToken", std::string(512, 'a')}});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, std::string(512, 'a'));
}

TEST_F(SharePointWebhookTest, AWrongClientStateIsRefusedAndIgnored) {
  makeWebhook();
  serve();
  for (const std::string& client_state :
       {std::string("not-the-secret"), std::string(kSecret) + "x", std::string()}) {
    const HttpAnswer answer =
        post("/webhooks/sharepoint", notification("sub-1", client_state).dump());
    EXPECT_EQ(answer.status, 403) << client_state;
    EXPECT_EQ(json::parse(answer.body)["error"]["code"], "permission_denied");
  }
  // One good and one bad notification in the same request: the request is refused.
  json mixed = notification("sub-1", kSecret);
  mixed["value"].push_back(notification("sub-2", "forged")["value"][0]);
  EXPECT_EQ(post("/webhooks/sharepoint", mixed.dump()).status, 403);
  EXPECT_FALSE(state(SharePointWebhook::kPendingKey));
  auto pass = webhook_->processPending();
  ASSERT_TRUE(pass.isOk()) << pass.status().toString();
  EXPECT_EQ(pass->started, 0);
  EXPECT_TRUE(instances().empty());
  EXPECT_EQ(sharepoint_.count("GET", "/items"), 0) << "nothing was listed";
}

TEST_F(SharePointWebhookTest, AnUnknownSubscriptionIsRefused) {
  auto keys = section();
  keys["subscriptions"] = "sub-1, sub-3";
  makeWebhook(keys);
  EXPECT_EQ(call(notification("sub-2", kSecret).dump()).status, 403);
  EXPECT_EQ(call(notification("sub-3", kSecret).dump()).status, 202);
  EXPECT_EQ(pending(), json({{"sub-3", 1}}));
}

TEST_F(SharePointWebhookTest, MalformedPayloadsAreClientErrorsNamingTheField) {
  makeWebhook();
  serve();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", "body"},
      {"[]", "value"},
      {"{}", "value"},
      {R"({"value": {}})", "value"},
      {R"({"value": []})", "value"},
      {R"({"value": [42]})", "value[0]"},
      {R"({"value": [{"clientState": "x"}]})", "value[0].subscriptionId"},
      {R"({"value": [{"subscriptionId": "a/../b", "clientState": "x"}]})",
       "value[0].subscriptionId"},
      {std::string(5000, '[') + std::string(5000, ']'), "body"},
  };
  for (const auto& [body, field] : cases) {
    const HttpAnswer answer = post("/webhooks/sharepoint", body);
    EXPECT_EQ(answer.status, 400) << body.substr(0, 60);
    const json error = json::parse(answer.body, nullptr, false);
    ASSERT_TRUE(error.is_object()) << answer.body;
    EXPECT_EQ(error["error"]["code"], "invalid_argument");
    EXPECT_NE(error["error"]["message"].get<std::string>().find(field), std::string::npos)
        << answer.body;
  }
  EXPECT_FALSE(state(SharePointWebhook::kPendingKey));
}

TEST_F(SharePointWebhookTest, ANotificationStartsOneWorkflowPerMatchingChangedDocument) {
  makeWebhook();
  serve();
  const HttpAnswer answer = post("/webhooks/sharepoint", notification("sub-1", kSecret).dump());
  EXPECT_EQ(answer.status, 202) << answer.body;
  EXPECT_TRUE(instances().empty()) << "the work happens after the answer";
  EXPECT_EQ(pending(), json({{"sub-1", 1}}));

  auto pass = webhook_->processPending();
  ASSERT_TRUE(pass.isOk()) << pass.status().toString();
  EXPECT_EQ(pass->subscriptions, 1);
  EXPECT_EQ(pass->items, 5);
  EXPECT_EQ(pass->started, 3);
  EXPECT_EQ(pass->duplicates, 0);
  EXPECT_TRUE(pass->problems.empty());
  EXPECT_EQ(pending(), json::object());
  EXPECT_TRUE(state(SharePointWebhook::cursorKey("sub-1")));

  std::set<std::string> names;
  for (const auto& instance : instances()) {
    const json data = json::parse(instance.data_json);
    names.insert(data["name"].get<std::string>());
    EXPECT_EQ(data["plan"]["document_type"], "EHC plan");
    EXPECT_EQ(data["plan"]["name"], data["name"]);
    EXPECT_EQ(instance.business_key.rfind("plan_finalised:", 0), 0u) << instance.business_key;
    EXPECT_TRUE(instance.status == "running" || instance.status == "waiting") << instance.status;
  }
  std::vector<store::TaskRecord> open;
  ASSERT_TRUE(store_
                  ->transact([&](store::Transaction& tx) -> core::Status {
                    SENDFLOW_ASSIGN_OR_RETURN(open, tx.listTasks("open", "", 0));
                    return core::Status::ok();
                  })
                  .isOk());
  EXPECT_EQ(open.size(), 3u) << "each started workflow waits at its first task";
  EXPECT_EQ(names, (std::set<std::string>{"plan-001.docx", "plan-002.docx", "plan-003.docx"}));

  // SharePoint sends the same notification again: nothing changed since, nothing starts.
  EXPECT_EQ(post("/webhooks/sharepoint", notification("sub-1", kSecret).dump()).status, 202);
  pass = webhook_->processPending();
  ASSERT_TRUE(pass.isOk()) << pass.status().toString();
  EXPECT_EQ(pass->started, 0);
  EXPECT_EQ(instances().size(), 3u);

  // A new final plan and a new version of the draft, now final: one workflow each.
  sharepoint_.addDocument("plan-004.docx", "plan",
                          {{"DocumentType", "EHC plan"}, {"DateFinalised", "2026-10-20"}});
  sharepoint_.addDocument("plan-draft.docx", "final now",
                          {{"DocumentType", "EHC plan"}, {"DateFinalised", "2026-10-21"}});
  EXPECT_EQ(call(notification("sub-1", kSecret).dump()).status, 202);
  pass = webhook_->processPending();
  ASSERT_TRUE(pass.isOk()) << pass.status().toString();
  EXPECT_EQ(pass->items, 2);
  EXPECT_EQ(pass->started, 2);
  EXPECT_EQ(instances().size(), 5u);
}

TEST_F(SharePointWebhookTest, TheSameChangeSeenTwiceStartsNothingTwice) {
  makeWebhook();
  // Two subscriptions on the same library each list the same changes.
  json both = notification("sub-a", kSecret);
  both["value"].push_back(notification("sub-b", kSecret)["value"][0]);
  EXPECT_EQ(call(both.dump()).status, 202);
  auto pass = webhook_->processPending();
  ASSERT_TRUE(pass.isOk()) << pass.status().toString();
  EXPECT_EQ(pass->subscriptions, 2);
  EXPECT_EQ(pass->started, 3);
  EXPECT_EQ(pass->duplicates, 3);
  EXPECT_EQ(instances().size(), 3u);
}

TEST_F(SharePointWebhookTest, TheFirstPassOfASubscriptionOnlyStartsForRecentChanges) {
  clock_.set(at("2026-11-20T09:00:00Z"));  // the library's documents are weeks old
  makeWebhook();
  EXPECT_EQ(call(notification("sub-1", kSecret).dump()).status, 202);
  auto pass = webhook_->processPending();
  ASSERT_TRUE(pass.isOk()) << pass.status().toString();
  EXPECT_EQ(pass->started, 0);
  EXPECT_TRUE(state(SharePointWebhook::cursorKey("sub-1")));
  // From then on every change counts, whatever its time stamp.
  sharepoint_.addDocument("plan-009.docx", "plan",
                          {{"DocumentType", "EHC plan"}, {"DateFinalised", "2026-11-19"}});
  EXPECT_EQ(call(notification("sub-1", kSecret).dump()).status, 202);
  pass = webhook_->processPending();
  ASSERT_TRUE(pass.isOk()) << pass.status().toString();
  EXPECT_EQ(pass->started, 1);
  ASSERT_EQ(instances().size(), 1u);
  EXPECT_EQ(json::parse(instances()[0].data_json)["name"], "plan-009.docx");
}

TEST_F(SharePointWebhookTest, AFailedListingLeavesTheSubscriptionPending) {
  makeWebhook();
  EXPECT_EQ(call(notification("sub-1", kSecret).dump()).status, 202);
  sharepoint_.inject({testing::FaultKind::kStatus, "/items", 503, -1, milliseconds(0), 10});
  auto pass = webhook_->processPending();
  ASSERT_FALSE(pass.isOk());
  EXPECT_NE(pass.status().message().find("sub-1"), std::string::npos) << pass.status().toString();
  EXPECT_EQ(pending(), json({{"sub-1", 1}}));
  EXPECT_TRUE(instances().empty());
  // SharePoint recovers; the next pass (the worker's next wake-up) does the work.
  for (int i = 0; i < 10 && !webhook_->processPending().isOk(); ++i) {
  }
  EXPECT_EQ(instances().size(), 3u);
  EXPECT_EQ(pending(), json::object());
}

TEST_F(SharePointWebhookTest, TheWorkerStartsWorkflowsAfterTheAnswer) {
  makeWebhook();
  serve();
  webhook_->start();
  EXPECT_EQ(post("/webhooks/sharepoint", notification("sub-1", kSecret).dump()).status, 202);
  for (int i = 0; i < 200 && instances().size() < 3; ++i) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(instances().size(), 3u);
  webhook_->stop();
  EXPECT_EQ(pending(), json::object());
}

TEST(SharePointWebhookOptionsTest, BadConfigurationNamesTheKey) {
  const std::map<std::string, std::string> good = {{"client_state", kSecret},
                                                   {"rule.r.when", "DocumentType == 'EHC plan'"},
                                                   {"rule.r.workflow", "plan-intake"}};
  ASSERT_TRUE(parseSharePointWebhookOptions(good, "f.properties", {}).isOk());
  const auto fails = [&](std::map<std::string, std::string> keys, const std::string& key) {
    auto parsed = parseSharePointWebhookOptions(keys, "f.properties", {});
    ASSERT_FALSE(parsed.isOk()) << key;
    EXPECT_EQ(parsed.status().code(), core::StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find("f.properties: webhooks.sharepoint." + key),
              std::string::npos)
        << parsed.status().toString();
  };
  auto keys = good;
  keys.erase("client_state");
  fails(keys, "client_state");
  keys = good;
  keys["client_state"] = "short";
  fails(keys, "client_state");
  keys = good;
  keys["rule.r.when"] = "DocumentType == ";
  fails(keys, "rule.r.when");
  keys = good;
  keys.erase("rule.r.workflow");
  fails(keys, "rule.r.workflow");
  keys = good;
  keys["rule.r.colour"] = "blue";
  fails(keys, "rule.r.colour");
  keys = good;
  keys["clientstate"] = "x";
  fails(keys, "clientstate");
  keys = good;
  keys["initial_lookback"] = "soon";
  fails(keys, "initial_lookback");
  keys = good;
  keys["initial_lookback"] = "2h";
  auto short_form = parseSharePointWebhookOptions(keys, "f.properties", {});
  ASSERT_TRUE(short_form.isOk()) << short_form.status().toString();
  EXPECT_EQ(short_form->initial_lookback, std::chrono::hours(2));
  keys = good;
  keys.erase("client_state");
  keys["client_state_env"] = "SENDFLOW_WEBHOOK_SECRET";
  fails(keys, "client_state_env");
  auto from_env =
      parseSharePointWebhookOptions(keys, "f.properties", {{"SENDFLOW_WEBHOOK_SECRET", kSecret}});
  ASSERT_TRUE(from_env.isOk()) << from_env.status().toString();
  EXPECT_EQ(from_env->client_state, kSecret);
}

}  // namespace
}  // namespace sendflow::webhooks
