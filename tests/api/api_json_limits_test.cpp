// Request bodies that attack the JSON parser or slip past it, against a real server on loopback
// with the production body limit (1 MB): nesting deep enough to overflow a thread's stack,
// numbers beyond a double, duplicate keys, and start inputs out of their declared range. Each
// is refused as the client's mistake (4xx, never 500), the server keeps serving, and nothing
// was started or completed.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "server/engine/definition_loader.h"
#include "tests/api/api_fixture.h"

namespace sendflow::api::testing {
namespace {

std::string nestedArrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

class JsonLimitsTest : public ApiFixture {
 protected:
  JsonLimitsTest() { max_body_bytes_ = 1024 * 1024; }

  // The number of instances in the store, whoever can see them.
  std::size_t instanceCount() {
    return read<std::vector<store::InstanceRecord>>(
               [](store::Transaction& tx) { return tx.listInstances(store::InstanceFilter{}); })
        .size();
  }

  // The server still answers an ordinary request.
  void expectServing() {
    const Reply me = get("/api/v1/me", "qa-001");
    EXPECT_EQ(me.status, 200) << me.body;
  }

  // The refusal's error message, after checking its shape.
  static std::string refusedBody(const Reply& reply) {
    EXPECT_EQ(reply.status, 400) << reply.body.substr(0, 300);
    const json error = reply.parsed()["error"];
    EXPECT_EQ(error["code"], "invalid_argument") << reply.body.substr(0, 300);
    EXPECT_EQ(error["fields"][0]["field"], "body") << reply.body.substr(0, 300);
    return error["message"].is_string() ? error["message"].get<std::string>() : "";
  }

  // Deploys the shipped monthly audit (its per_locality is an integer from 1 to 100).
  void deployShippedAudit() {
    const std::string path = std::string(SENDFLOW_SOURCE_DIR) + "/workflows/ehcp-audit.xml";
    auto loaded = engine::DefinitionLoader::loadFile(path);
    ASSERT_TRUE(loaded.isOk()) << loaded.status().toString();
    std::ifstream in(path);
    std::stringstream source;
    source << in.rdbuf();
    ASSERT_TRUE(runtime_->deploy(loaded.definition, source.str()).isOk());
  }
};

TEST_F(JsonLimitsTest, StartWithAHundredThousandNestedArraysIsRefusedAndTheServerLives) {
  for (const std::size_t depth : {60000u, 100000u}) {
    const std::string body =
        R"({"workflow":"plan-review","input":{"plans":)" + nestedArrays(depth) + "}}";
    ASSERT_LT(body.size(), max_body_bytes_);
    const std::string message = refusedBody(call("POST", "/api/v1/instances", "qa-001", body));
    EXPECT_NE(message.find("body: input.plans[0]"), std::string::npos) << message.substr(0, 300);
    EXPECT_NE(message.find("more than 64 levels of nesting"), std::string::npos)
        << message.substr(0, 300);
    expectServing();
  }
  EXPECT_EQ(instanceCount(), 0u);
}

TEST_F(JsonLimitsTest, CompleteWithDeeplyNestedEvidenceIsRefusedAndTheTaskStaysOpen) {
  startReview();
  const std::string task = openTask("audit", "SF-1").id;
  const std::string body = R"({"grade":"Good","evidence":)" + nestedArrays(100000) + "}";
  const std::string message =
      refusedBody(call("POST", "/api/v1/tasks/" + task + "/complete", "aud-001", body));
  EXPECT_NE(message.find("more than 64 levels of nesting"), std::string::npos)
      << message.substr(0, 300);
  expectServing();
  EXPECT_EQ(taskRecord(task).status, "open");
  // Unclosed brackets and nested objects the same.
  refusedBody(
      call("POST", "/api/v1/tasks/" + task + "/complete", "aud-001", std::string(100000, '[')));
  std::string objects;
  for (int i = 0; i < 50000; ++i) objects += R"({"a":)";
  refusedBody(call("POST", "/api/v1/tasks/" + task + "/complete", "aud-001", objects));
  expectServing();
  EXPECT_EQ(taskRecord(task).status, "open");
}

TEST_F(JsonLimitsTest, NumbersBeyondADoubleAreTheClientsMistake) {
  const std::string start =
      refusedBody(call("POST", "/api/v1/instances", "qa-001",
                       R"({"workflow":"plan-review","input":{"plans":[1e400]}})"));
  EXPECT_NE(start.find("input.plans[0]: line 1, column 45: the number 1e400 is out of range"),
            std::string::npos)
      << start;
  EXPECT_EQ(instanceCount(), 0u);

  startReview();
  const std::string task = openTask("audit", "SF-1").id;
  const std::string complete =
      refusedBody(call("POST", "/api/v1/tasks/" + task + "/complete", "aud-001",
                       R"({"grade":"Good","auditors":-1e400})"));
  EXPECT_NE(complete.find("auditors: line 1, column 28: the number -1e400 is out of range"),
            std::string::npos)
      << complete;
  EXPECT_EQ(taskRecord(task).status, "open");
}

TEST_F(JsonLimitsTest, DuplicateKeysAreRefusedAtAnyDepth) {
  // "Last one wins" would start whichever workflow the second key names.
  const std::string top = refusedBody(call("POST", "/api/v1/instances", "qa-001",
                                           R"({"workflow":"plan-review","workflow":"other"})"));
  EXPECT_NE(top.find("line 1, column 27: duplicate key \"workflow\""), std::string::npos) << top;

  const std::string nested = refusedBody(
      call("POST", "/api/v1/instances", "qa-001",
           "{\"workflow\": \"plan-review\",\n \"input\": {\"plans\": [], \"plans\": [1]}}"));
  EXPECT_NE(nested.find("input: line 2, column 25: duplicate key \"plans\""), std::string::npos)
      << nested;
  EXPECT_EQ(instanceCount(), 0u);

  startReview();
  const std::string task = openTask("audit", "SF-1").id;
  refusedBody(call("POST", "/api/v1/tasks/" + task + "/complete", "aud-001",
                   R"({"grade":"Inadequate","grade":"Good"})"));
  EXPECT_EQ(taskRecord(task).status, "open");
}

TEST_F(JsonLimitsTest, StartInputsOutOfTheirDeclaredRangeAreRefusedNamingTheInput) {
  deployShippedAudit();
  const std::pair<const char*, const char*> kRefused[] = {
      {"-1", "per_locality: -1 is less than the minimum 1"},
      {"0", "per_locality: 0 is less than the minimum 1"},
      {"1.5", "per_locality: must be a whole number, not 1.5"},
      {"1e308", "per_locality: must be a whole number, not 1e+308"},
      {"101", "per_locality: 101 is more than the maximum 100"},
      {"\"2\"", "per_locality: must be a number, not \"2\""},
  };
  for (const auto& [value, problem] : kRefused) {
    const Reply reply =
        call("POST", "/api/v1/instances", "qa-001",
             std::string(R"({"workflow":"ehcp-audit","input":{"per_locality":)") + value + "}}");
    EXPECT_EQ(reply.status, 422) << value << ": " << reply.body;
    const json error = reply.parsed()["error"];
    EXPECT_EQ(error["code"], "invalid_argument");
    EXPECT_NE(error["message"].get<std::string>().find(problem), std::string::npos)
        << error["message"];
  }
  // Other typed inputs: a negative or absurd duration, a date-time for a number.
  const Reply durations = post(
      "/api/v1/instances", "qa-001",
      {{"workflow", "ehcp-audit"}, {"input", {{"lookback", "-P2W"}, {"audit_window", "P999Y"}}}});
  EXPECT_EQ(durations.status, 422) << durations.body;
  EXPECT_NE(durations.body.find("lookback: \\\"-P2W\\\" is negative"), std::string::npos)
      << durations.body;
  EXPECT_NE(durations.body.find("audit_window: \\\"P999Y\\\" is longer than 100 years"),
            std::string::npos)
      << durations.body;
  EXPECT_EQ(instanceCount(), 0u);
  expectServing();
}

}  // namespace
}  // namespace sendflow::api::testing
