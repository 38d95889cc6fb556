// The REST API's behaviour beyond access: the JSON error shape, refused bodies (415, bad JSON,
// wrong types), the server's own 404 and 405, starts with an Idempotency-Key over HTTP, the
// task form, downloads, limits, and the OpenAPI document matching the routes exactly.

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "server/engine/definition_loader.h"
#include "tests/api/api_fixture.h"

namespace sendflow::api::testing {
namespace {

class RestApiTest : public ApiFixture {};

const json kStart = {{"workflow", "plan-review"},
                     {"input", {{"plans", workbench::testing::twoPlans()}}}};

TEST_F(RestApiTest, FormErrorsNameTheFields) {
  startReview();
  const std::string task = openTask("audit", "SF-1").id;
  const Reply reply = post("/api/v1/tasks/" + task + "/complete", "aud-001",
                           {{"grade", "Superb"}, {"auditors", "two"}});
  EXPECT_EQ(reply.status, 422);
  const json error = reply.parsed()["error"];
  EXPECT_EQ(error["code"], "invalid_argument");
  EXPECT_FALSE(error["request_id"].get<std::string>().empty());
  EXPECT_NE(error["message"].get<std::string>().find("grade"), std::string::npos);
  std::set<std::string> fields;
  for (const json& f : error["fields"]) {
    fields.insert(f["field"].get<std::string>());
    EXPECT_FALSE(f["problem"].get<std::string>().empty());
  }
  EXPECT_EQ(fields, (std::set<std::string>{"grade", "auditors"}));
  // The request id the client sent comes back in the error.
  const Reply with_id = call("POST", "/api/v1/tasks/" + task + "/complete", "aud-001", "{}",
                             "application/json", {{"X-Request-Id", "client-req-42"}});
  EXPECT_EQ(with_id.status, 422);
  EXPECT_EQ(with_id.parsed()["error"]["request_id"], "client-req-42");
  EXPECT_EQ(with_id.parsed()["error"]["fields"][0]["field"], "grade");
}

TEST_F(RestApiTest, BodiesMustBeJsonObjects) {
  const Reply form = call("POST", "/api/v1/instances", "qa-001", "workflow=plan-review",
                          "application/x-www-form-urlencoded");
  EXPECT_EQ(form.status, 415);
  EXPECT_EQ(form.parsed()["error"]["code"], "unsupported_media_type");
  EXPECT_TRUE(form.parsed()["error"]["request_id"].is_string());

  const Reply broken = call("POST", "/api/v1/instances", "qa-001", "{\"workflow\": \n  \"x\",,}");
  EXPECT_EQ(broken.status, 400);
  const json error = broken.parsed()["error"];
  EXPECT_EQ(error["code"], "invalid_argument");
  EXPECT_NE(error["message"].get<std::string>().find("line 2, column"), std::string::npos)
      << error["message"];
  EXPECT_EQ(error["fields"][0]["field"], "body");

  const Reply array = call("POST", "/api/v1/instances", "qa-001", "[1, 2]");
  EXPECT_EQ(array.status, 422);
  EXPECT_EQ(array.parsed()["error"]["fields"][0]["field"], "body");

  const Reply types = post("/api/v1/instances", "qa-001",
                           {{"workflow", 7}, {"input", "x"}, {"business_key", true}, {"extra", 1}});
  EXPECT_EQ(types.status, 422) << types.body;
  std::set<std::string> fields;
  const json type_errors = types.parsed()["error"]["fields"];
  for (const json& f : type_errors) fields.insert(f["field"]);
  EXPECT_EQ(fields, (std::set<std::string>{"workflow", "input", "business_key", "extra"}));

  const Reply charset =
      call("POST", "/api/v1/instances", "qa-001", kStart.dump(), "Application/JSON; charset=utf-8");
  EXPECT_EQ(charset.status, 201) << charset.body;

  // Inputs the workflow refuses are named too.
  const Reply input = post("/api/v1/instances", "qa-001",
                           {{"workflow", "plan-review"}, {"input", {{"plans", "SF-1"}}}});
  EXPECT_EQ(input.status, 422) << input.body;
  EXPECT_NE(input.body.find("plans"), std::string::npos);
}

// Bytes that are not UTF-8 in headers, paths and queries are the client's mistake, never a 500.
TEST_F(RestApiTest, BytesThatAreNotUtf8AreNotAServerError) {
  startReview();
  const std::string task = openTask("audit", "SF-2").id;
  const Reply done =
      call("POST", "/api/v1/tasks/" + task + "/complete", "aud-001", R"({"grade": "Good"})",
           "application/json", {{"User-Agent", "tool/\xff\xfe 1.0"}});
  EXPECT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(get("/api/v1/definitions/%FF%FE", "qa-001").status, 404);
  EXPECT_EQ(get("/api/v1/instances?workflow=%FF", "qa-001").status, 200);
  const Reply bad_body =
      call("POST", "/api/v1/tasks/" + task + "/complete", "aud-001", "{\"grade\": \"\xff\"}");
  EXPECT_EQ(bad_body.status, 400) << bad_body.body;
}

TEST_F(RestApiTest, TheServerAnswersUnknownRoutesAndMethodsInJson) {
  const Reply unknown = get("/api/v1/nothing-here", "qa-001");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.parsed()["error"]["code"], "not_found");
  const Reply method = call("DELETE", "/api/v1/tasks/abc", "qa-001");
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(method.parsed()["error"]["code"], "method_not_allowed");
  EXPECT_NE(method.allow.find("GET"), std::string::npos);
  const Reply put = call("PUT", "/api/v1/instances", "qa-001", "{}");
  EXPECT_EQ(put.status, 405);
  EXPECT_NE(put.allow.find("POST"), std::string::npos);
  const Reply forged = get("/api/v1/me", "forged");
  EXPECT_EQ(forged.status, 401);
  EXPECT_EQ(forged.parsed()["error"]["code"], "unauthenticated");
  const Reply missing = get("/api/v1/instances/no-such-instance", "qa-001");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.parsed()["error"]["code"], "not_found");
}

TEST_F(RestApiTest, AnIdempotencyKeyReplaysTheFirstStart) {
  const std::map<std::string, std::string> key = {{"Idempotency-Key", "cycle-2026-03"}};
  const Reply first =
      call("POST", "/api/v1/instances", "ci-key", kStart.dump(), "application/json", key);
  ASSERT_EQ(first.status, 201) << first.body;
  const json started = first.parsed();
  EXPECT_TRUE(started["created"].get<bool>());
  EXPECT_FALSE(started["replayed"].get<bool>());
  EXPECT_EQ(first.location, "/api/v1/instances/" + started["id"].get<std::string>());
  EXPECT_EQ(started["instance"]["status"], "running");

  const Reply again =
      call("POST", "/api/v1/instances", "ci-key", kStart.dump(), "application/json", key);
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_TRUE(again.parsed()["replayed"].get<bool>());
  EXPECT_EQ(again.location, first.location);

  json other = kStart;
  other["business_key"] = "another";
  const Reply clash =
      call("POST", "/api/v1/instances", "ci-key", other.dump(), "application/json", key);
  EXPECT_EQ(clash.status, 409) << clash.body;
  EXPECT_EQ(clash.parsed()["error"]["code"], "conflict");

  // The instance is there, once, with the start's origin in its history.
  const Reply listed = get("/api/v1/instances?workflow=plan-review", "qa-001");
  EXPECT_EQ(listed.parsed()["count"], 1);
  const Reply history = get(first.location + "/history", "ci-key");
  ASSERT_EQ(history.status, 200);
  const json row = history.parsed()["items"][0];
  EXPECT_EQ(row["event"], "instance.started");
  EXPECT_EQ(row["actor"], "ci-key");
  EXPECT_EQ(row["detail"]["origin"]["channel"], "api");
  EXPECT_EQ(row["detail"]["origin"]["client_address"], "127.0.0.1");
}

TEST_F(RestApiTest, TheTaskCarriesItsFormSubjectAndWhatTheCallerMayDo) {
  startReview();
  const std::string task = openTask("audit", "SF-2").id;
  const Reply reply = get("/api/v1/tasks/" + task, "aud-001");
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json t = reply.parsed();
  EXPECT_EQ(t["subject"]["plan_ref"], "SF-2");
  EXPECT_EQ(t["workflow"], "plan-review");
  EXPECT_EQ(t["workflow_title"], "Plan review");
  EXPECT_EQ(t["description"], "Grade the plan against the standards.");
  EXPECT_EQ(t["assignee"], nullptr);
  EXPECT_EQ(t["due_at"], "2026-03-07T00:00:00.000Z");
  EXPECT_TRUE(t["can_claim"].get<bool>());
  EXPECT_TRUE(t["can_complete"].get<bool>());
  EXPECT_FALSE(t["can_reassign"].get<bool>());
  const json fields = t["form"]["fields"];
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0]["name"], "grade");
  EXPECT_EQ(fields[0]["type"], "grade");
  EXPECT_EQ(fields[0]["required"], true);
  EXPECT_EQ(fields[0]["choices"].size(), 4u);
  EXPECT_EQ(fields[1]["required_if"], "grade == 'Inadequate'");
  EXPECT_EQ(fields[1]["max_length"], 200);
  EXPECT_EQ(fields[2]["type"], "integer");
  EXPECT_EQ(fields[2]["min"], 1);
  EXPECT_EQ(fields[2]["max"], 9);

  const Reply claimed = call("POST", "/api/v1/tasks/" + task + "/claim", "aud-001");
  ASSERT_EQ(claimed.status, 200) << claimed.body;
  EXPECT_EQ(claimed.parsed()["assignee"], "aud-001");
  const Reply done = post("/api/v1/tasks/" + task + "/complete", "aud-001", {{"grade", "Good"}});
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.parsed()["status"], "completed");
  EXPECT_EQ(done.parsed()["result"]["grade"], "Good");
  const Reply twice = post("/api/v1/tasks/" + task + "/complete", "aud-001", {{"grade", "Good"}});
  EXPECT_EQ(twice.status, 409);
  EXPECT_NE(twice.parsed()["error"]["message"].get<std::string>().find("already completed"),
            std::string::npos);

  // An approval's form is the decision.
  const std::string moderation = openTask("moderate", "SF-2").id;
  ASSERT_EQ(
      post("/api/v1/tasks/" + moderation + "/complete", "mod-001", {{"moderated_grade", "Good"}})
          .status,
      200);
  const std::string approval = openTask("approve", "SF-2").id;
  const json form = get("/api/v1/tasks/" + approval, "mgr-001").parsed()["form"];
  EXPECT_EQ(form["fields"][0]["name"], "decision");
  EXPECT_EQ(form["fields"][0]["choices"], json({"approve", "reject"}));
  const Reply bad = post("/api/v1/approvals/" + approval, "mgr-001", {{"decision", "maybe"}});
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(bad.parsed()["error"]["fields"][0]["field"], "decision");
  const Reply decided = post("/api/v1/approvals/" + approval, "mgr-001",
                             {{"decision", "approve"}, {"comment", "Fine"}});
  EXPECT_EQ(decided.status, 200) << decided.body;
  const Reply again = post("/api/v1/approvals/" + approval, "mgr-001", {{"decision", "approve"}});
  EXPECT_EQ(again.status, 409);
}

TEST_F(RestApiTest, ReassignNamesTheAssigneeAtFault) {
  startReview();
  const std::string task = openTask("audit", "SF-1").id;
  const Reply contributor =
      post("/api/v1/tasks/" + task + "/reassign", "qa-001", {{"assignee", "ep-052"}});
  EXPECT_EQ(contributor.status, 422);
  EXPECT_EQ(contributor.parsed()["error"]["fields"][0]["field"], "assignee");
  const Reply missing = post("/api/v1/tasks/" + task + "/reassign", "qa-001", json::object());
  EXPECT_EQ(missing.status, 422);
  const Reply given =
      post("/api/v1/tasks/" + task + "/reassign", "qa-001", {{"assignee", "aud-002"}});
  ASSERT_EQ(given.status, 200) << given.body;
  EXPECT_EQ(given.parsed()["assignee"], "aud-002");
  const Reply back = post("/api/v1/tasks/" + task + "/reassign", "qa-001", {{"assignee", nullptr}});
  ASSERT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(back.parsed()["assignee"], nullptr);
}

TEST_F(RestApiTest, DocumentsDownloadWithTheirNameAndType) {
  const std::string instance = startReview();
  const std::string path = (dir_ / "stored-file.docx").string();
  std::ofstream(path) << "the briefing";
  store::DocumentRecord doc{
      "doc-7",    instance,
      "briefing", "5-minute briefing.docx",
      path,       "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      12,         clock_.now()};
  ASSERT_TRUE(
      store_->transact([&](store::Transaction& tx) { return tx.insertDocument(doc); }).isOk());
  const json meta = get("/api/v1/documents/doc-7", "qa-001").parsed();
  EXPECT_EQ(meta["name"], "5-minute briefing.docx");
  EXPECT_EQ(meta["download"], "/api/v1/documents/doc-7/content");
  EXPECT_FALSE(meta.contains("path"));
  const Reply file = get("/api/v1/documents/doc-7/content", "qa-001");
  EXPECT_EQ(file.status, 200);
  EXPECT_EQ(file.body, "the briefing");
  EXPECT_EQ(file.content_type, doc.media_type);
  EXPECT_NE(file.content_disposition.find("attachment"), std::string::npos);
  EXPECT_NE(file.content_disposition.find("5-minute briefing.docx"), std::string::npos);
  std::filesystem::remove(path);
  EXPECT_EQ(get("/api/v1/documents/doc-7/content", "qa-001").status, 404);
}

TEST_F(RestApiTest, ListingsTakeALimitAndFilters) {
  for (int i = 0; i < 3; ++i) startReview();
  EXPECT_EQ(get("/api/v1/instances?limit=2", "qa-001").parsed()["count"], 2);
  EXPECT_EQ(get("/api/v1/instances?status=running", "qa-001").parsed()["count"], 3);
  EXPECT_EQ(get("/api/v1/instances?status=completed", "qa-001").parsed()["count"], 0);
  EXPECT_EQ(get("/api/v1/instances?workflow=other", "qa-001").parsed()["count"], 0);
  EXPECT_EQ(get("/api/v1/instances?limit=999999", "qa-001").parsed()["count"], 3);
  EXPECT_EQ(get("/api/v1/tasks?limit=4", "aud-001").parsed()["count"], 4);
  for (const char* bad : {"limit=abc", "limit=0", "limit=-1", "status=sleeping"}) {
    const Reply reply = get(std::string("/api/v1/instances?") + bad, "qa-001");
    EXPECT_EQ(reply.status, 422) << bad;
    EXPECT_EQ(reply.parsed()["error"]["fields"][0]["field"],
              std::string(bad).substr(0, std::string(bad).find('=')));
  }
  EXPECT_EQ(get("/api/v1/tasks?limit=x", "aud-001").status, 422);
  const json me = get("/api/v1/me", "ci-key").parsed();
  EXPECT_EQ(me["roles"], json({"automation"}));
  EXPECT_TRUE(me["can_start"].get<bool>());
  const json defs = get("/api/v1/definitions", "aud-001").parsed();
  ASSERT_EQ(defs["count"], 1);
  EXPECT_FALSE(defs["items"][0]["can_start"].get<bool>());
  EXPECT_EQ(defs["items"][0]["inputs"][1]["default"], "General quality");
  const json dashboard = get("/api/v1/dashboard", "qa-001").parsed();
  EXPECT_EQ(dashboard["instances_running"], 3);
  EXPECT_EQ(dashboard["grades"].size(), 4u);
}

// The document in docs/ is the one served, and it describes exactly the routes there are.
TEST_F(RestApiTest, TheOpenApiDocumentMatchesTheRoutes) {
  std::ifstream in(std::string(SENDFLOW_SOURCE_DIR) + "/docs/openapi.json", std::ios::binary);
  std::stringstream file;
  file << in.rdbuf();
  const Reply served = get("/api/v1/openapi.json", "");
  ASSERT_EQ(served.status, 200);
  EXPECT_EQ(served.body, file.str())
      << "rebuild: the served document differs from docs/openapi.json";
  const json doc = json::parse(file.str());
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");

  std::set<std::string> documented;
  for (const auto& [path, operations] : doc["paths"].items()) {
    for (const auto& [method, operation] : operations.items()) {
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.insert(upper + " " + path);
      EXPECT_TRUE(operation.contains("responses")) << path;
      EXPECT_TRUE(operation.contains("operationId")) << path;
      // Every {param} in the path is declared.
      for (std::size_t at = path.find('{'); at != std::string::npos; at = path.find('{', at + 1)) {
        const std::string name = path.substr(at + 1, path.find('}', at) - at - 1);
        bool declared = false;
        for (const json& p : operation.value("parameters", json::array())) {
          if (p.value("in", "") == "path" && p.value("name", "") == name) declared = true;
        }
        EXPECT_TRUE(declared) << method << " " << path << " does not declare {" << name << "}";
      }
    }
  }
  std::set<std::string> routed;
  for (const http::Route& route : router_.routes())
    routed.insert(route.method + " " + route.pattern);
  EXPECT_EQ(routed, documented);
  // Every $ref points at something in the document.
  std::function<void(const json&)> refs = [&](const json& node) {
    if (node.is_object()) {
      for (const auto& [k, v] : node.items()) {
        if (k == "$ref") {
          const std::string pointer = v.get<std::string>().substr(1);
          EXPECT_TRUE(doc.contains(json::json_pointer(pointer))) << v;
        } else {
          refs(v);
        }
      }
    } else if (node.is_array()) {
      for (const json& v : node) refs(v);
    }
  };
  refs(doc);
  EXPECT_TRUE(doc["components"]["securitySchemes"].contains("bearerAuth"));
  EXPECT_TRUE(doc["components"]["securitySchemes"].contains("apiKey"));
  EXPECT_TRUE(doc["components"]["schemas"].contains("Error"));
}

// The shipped monthly audit as the API describes it: inputs with their types, defaults and
// descriptions, the monthly schedule, the roles.
TEST_F(RestApiTest, TheShippedAuditDescribesItsInputsAndSchedule) {
  auto loaded = engine::DefinitionLoader::loadFile(std::string(SENDFLOW_SOURCE_DIR) +
                                                   "/workflows/ehcp-audit.xml");
  ASSERT_TRUE(loaded.isOk()) << loaded.status().toString();
  std::ifstream in(std::string(SENDFLOW_SOURCE_DIR) + "/workflows/ehcp-audit.xml");
  std::stringstream source;
  source << in.rdbuf();
  ASSERT_TRUE(runtime_->deploy(loaded.definition, source.str()).isOk());
  const Reply reply = get("/api/v1/definitions/ehcp-audit", "qa-001");
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json d = reply.parsed();
  EXPECT_EQ(d["title"], "Monthly EHC plan audit");
  EXPECT_EQ(d["roles"], json({"qa-lead", "auditor", "moderator", "manager"}));
  EXPECT_TRUE(d["can_start"].get<bool>());
  std::map<std::string, json> inputs;
  for (const json& input : d["inputs"]) inputs[input["name"]] = input;
  EXPECT_EQ(inputs["per_locality"]["type"], "integer");
  EXPECT_EQ(inputs["per_locality"]["min"], 1);
  EXPECT_EQ(inputs["per_locality"]["max"], 100);
  EXPECT_EQ(inputs["theme"]["min"], nullptr);
  EXPECT_EQ(inputs["per_locality"]["default"], 2);
  EXPECT_EQ(inputs["per_locality"]["required"], false);
  EXPECT_EQ(inputs["per_locality"]["description"], "Plans sampled in each locality");
  EXPECT_EQ(inputs["lookback"]["type"], "duration");
  EXPECT_EQ(inputs["moderation_window"]["description"], nullptr);
  ASSERT_EQ(d["schedules"].size(), 1u);
  EXPECT_EQ(d["schedules"][0]["id"], "monthly");
  EXPECT_EQ(d["schedules"][0]["cadence"], "monthly");
  EXPECT_EQ(d["schedules"][0]["time"], "09:00");
  EXPECT_EQ(d["schedules"][0]["day_of_month"], 1);
  EXPECT_EQ(get("/api/v1/definitions", "aud-001").parsed()["count"], 2);
}

}  // namespace
}  // namespace sendflow::api::testing
