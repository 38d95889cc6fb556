// Every role against every endpoint of the REST API on a real server: admin, qa-lead, manager,
// auditor, moderator, automation, no sign-in, and an auditor who contributed to the plan the
// task is about. Each cell is the HTTP status that role must get; a cell that differs fails
// with its row and column. Changes (POST) run against fresh instances, so cells do not see
// each other's effects.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <vector>

#include "tests/api/api_fixture.h"

namespace sendflow::api::testing {
namespace {

// The columns: who calls.
struct Caller {
  const char* column;
  const char* user;  // "" : no sign-in
};
const Caller kCallers[] = {{"admin", "adm-001"},     {"qa-lead", "qa-001"},
                           {"manager", "mgr-001"},   {"auditor", "aud-001"},
                           {"moderator", "mod-001"}, {"automation", "ci-key"},
                           {"anonymous", ""},        {"contributor", "ep-052"}};

struct Row {
  const char* method;
  const char* path;  // {audit_queue}, {audit_claimed}, {approval}, {instance}, {auto_instance},
                     // {document} are replaced by the world's ids
  const char* body;  // JSON, or "" for none
  int expected[8];   // in the order of kCallers
};

// The world each row runs in (see makeWorld):
//   {instance}       plan-review over SF-1 (ep-052 contributed) and SF-2, started by qa-001
//   {audit_queue}    SF-1's audit, open in the auditors' queue
//   {audit_claimed}  SF-2's audit, claimed by aud-001
//   {document}       a document of {instance}
//   {approval}       an approval open in the managers' queue, in another instance whose audit
//                    aud-002 and moderation mod-001 completed
//   {auto_instance}  an instance started by the ci-key automation
// clang-format off
const Row kRows[] = {
  //                                                                         adm  qa   mgr  aud  mod  auto anon contrib
  {"GET",  "/api/v1/openapi.json", "",                                      {200, 200, 200, 200, 200, 200, 200, 200}},
  {"GET",  "/api/v1/me", "",                                                {200, 200, 200, 200, 200, 200, 401, 200}},
  {"GET",  "/api/v1/definitions", "",                                       {200, 200, 200, 200, 200, 200, 401, 200}},
  {"GET",  "/api/v1/definitions/plan-review", "",                           {200, 200, 200, 200, 200, 200, 401, 200}},
  {"GET",  "/api/v1/definitions/no-such-workflow", "",                      {404, 404, 404, 404, 404, 404, 401, 404}},
  {"POST", "/api/v1/instances", R"({"workflow": "plan-review", "input": {"plans": []}})",
                                                                            {201, 201, 403, 403, 403, 201, 401, 403}},
  {"GET",  "/api/v1/instances", "",                                         {200, 200, 200, 200, 200, 200, 401, 200}},
  {"GET",  "/api/v1/instances/{instance}", "",                              {200, 200, 200, 200, 404, 404, 401, 404}},
  {"GET",  "/api/v1/instances/{auto_instance}", "",                         {200, 200, 200, 404, 404, 200, 401, 404}},
  {"GET",  "/api/v1/instances/{instance}/history", "",                      {200, 200, 200, 200, 404, 404, 401, 404}},
  {"GET",  "/api/v1/instances/{auto_instance}/history", "",                 {200, 200, 200, 404, 404, 200, 401, 404}},
  {"GET",  "/api/v1/instances/{instance}/documents", "",                    {200, 200, 200, 200, 404, 404, 401, 404}},
  {"GET",  "/api/v1/tasks", "",                                             {200, 200, 200, 200, 200, 200, 401, 200}},
  {"GET",  "/api/v1/tasks/{audit_queue}", "",                               {200, 200, 200, 200, 404, 404, 401, 404}},
  {"GET",  "/api/v1/tasks/{audit_claimed}", "",                             {200, 200, 200, 200, 404, 404, 401, 404}},
  {"GET",  "/api/v1/tasks/{approval}", "",                                  {200, 200, 200, 404, 404, 404, 401, 404}},
  {"POST", "/api/v1/tasks/{audit_queue}/claim", "",                         {403, 403, 403, 200, 404, 404, 401, 404}},
  {"POST", "/api/v1/tasks/{audit_claimed}/claim", "",                       {409, 409, 409, 200, 404, 404, 401, 404}},
  {"POST", "/api/v1/tasks/{audit_queue}/complete", R"({"grade": "Good"})",  {403, 403, 403, 200, 404, 404, 401, 404}},
  {"POST", "/api/v1/tasks/{audit_claimed}/complete", R"({"grade": "Good"})",{403, 403, 403, 200, 404, 404, 401, 404}},
  {"POST", "/api/v1/tasks/{audit_queue}/reassign", R"({"assignee": "aud-002"})",
                                                                            {200, 200, 403, 403, 404, 404, 401, 404}},
  {"POST", "/api/v1/tasks/{audit_queue}/reassign", R"({"assignee": "ep-052"})",
                                                                            {422, 422, 403, 403, 404, 404, 401, 404}},
  {"POST", "/api/v1/tasks/{approval}/reassign", R"({"assignee": "mgr-001"})",
                                                                            {200, 200, 403, 404, 404, 404, 401, 404}},
  {"GET",  "/api/v1/approvals", "",                                         {200, 200, 200, 200, 200, 200, 401, 200}},
  {"POST", "/api/v1/approvals/{approval}", R"({"decision": "approve"})",    {403, 403, 200, 404, 404, 404, 401, 404}},
  {"POST", "/api/v1/approvals/{audit_claimed}", R"({"decision": "approve"})",
                                                                            {404, 404, 404, 404, 404, 404, 401, 404}},
  {"GET",  "/api/v1/documents", "",                                         {200, 200, 200, 200, 200, 200, 401, 200}},
  {"GET",  "/api/v1/documents/{document}", "",                              {200, 200, 200, 200, 404, 404, 401, 404}},
  {"GET",  "/api/v1/documents/{document}/content", "",                      {200, 200, 200, 200, 404, 404, 401, 404}},
  {"GET",  "/api/v1/dashboard", "",                                         {200, 200, 200, 200, 200, 200, 401, 200}},
};
// clang-format on

class ApiAccessMatrixTest : public ApiFixture {
 protected:
  // Makes the instances, tasks and document a row refers to.
  std::map<std::string, std::string> makeWorld() {
    std::map<std::string, std::string> ids;
    const std::string reference = "W" + std::to_string(++worlds_);
    const json plans = json::array(
        {{{"plan_ref", reference + "-1"}, {"caseworker", "cw-001"}, {"contributors", {"ep-052"}}},
         {{"plan_ref", reference + "-2"},
          {"caseworker", "cw-002"},
          {"contributors", json::array()}}});
    ids["instance"] = startReview(plans);
    ids["audit_queue"] = openTask("audit", reference + "-1").id;
    ids["audit_claimed"] = openTask("audit", reference + "-2").id;
    EXPECT_TRUE(workbench_->claim(principal("aud-001"), ids["audit_claimed"], origin()).isOk());

    const std::string path = (dir_ / (reference + ".docx")).string();
    std::ofstream(path) << "briefing bytes";
    store::DocumentRecord doc{
        reference + "-doc",
        ids["instance"],
        "briefing",
        "briefing.docx",
        path,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        14,
        clock_.now()};
    EXPECT_TRUE(
        store_->transact([&](store::Transaction& tx) { return tx.insertDocument(doc); }).isOk());
    ids["document"] = doc.id;

    const json third =
        json::array({{{"plan_ref", reference + "-3"}, {"contributors", json::array()}}});
    startReview(third);
    audit("aud-002", reference + "-3");
    const store::TaskRecord moderation = openTask("moderate", reference + "-3");
    EXPECT_TRUE(
        workbench_
            ->complete(principal("mod-001"), moderation.id, {{"moderated_grade", "Good"}}, origin())
            .isOk());
    ids["approval"] = openTask("approve", reference + "-3").id;

    auto automated = workbench_->start(principal("ci-key"), "plan-review",
                                       {{"plans", json::array()}}, "", "", origin());
    EXPECT_TRUE(automated.isOk());
    ids["auto_instance"] = automated.isOk() ? automated->instance_id : "";
    return ids;
  }

  static std::string fill(std::string path, const std::map<std::string, std::string>& ids) {
    for (const auto& [name, id] : ids) {
      const std::string token = "{" + name + "}";
      for (auto at = path.find(token); at != std::string::npos; at = path.find(token)) {
        path.replace(at, token.size(), id);
      }
    }
    return path;
  }

  int worlds_ = 0;
};

TEST_F(ApiAccessMatrixTest, EveryRoleGetsTheExpectedStatusFromEveryEndpoint) {
  // Every route of the API has at least one row.
  for (const http::Route& route : router_.routes()) {
    bool covered = false;
    for (const Row& row : kRows) {
      std::string pattern = row.path;
      for (const char* name : {"{instance}", "{auto_instance}", "{audit_queue}", "{audit_claimed}",
                               "{approval}", "{document}", "plan-review", "no-such-workflow"}) {
        for (auto at = pattern.find(name); at != std::string::npos; at = pattern.find(name)) {
          pattern.replace(at, std::string(name).size(), "{id}");
        }
      }
      if (row.method == route.method && pattern == route.pattern) covered = true;
    }
    EXPECT_TRUE(covered) << "no row of the matrix for " << route.method << " " << route.pattern;
  }

  const std::map<std::string, std::string> shared = makeWorld();
  int cells = 0;
  for (const Row& row : kRows) {
    const bool changes = std::string(row.method) == "POST";
    for (std::size_t c = 0; c < std::size(kCallers); ++c) {
      const Caller& caller = kCallers[c];
      const std::map<std::string, std::string> ids = changes ? makeWorld() : shared;
      const std::string path = fill(row.path, ids);
      const Reply reply = call(row.method, path, caller.user, row.body);
      ++cells;
      EXPECT_EQ(reply.status, row.expected[c])
          << "row '" << row.method << " " << row.path << (row.body[0] ? " " : "") << row.body
          << "' as " << caller.column << " (" << (caller.user[0] ? caller.user : "no sign-in")
          << "): " << reply.body.substr(0, 300);
      // Every answer but a download is a JSON object; errors carry their code and request id.
      if (reply.content_type.rfind("application/json", 0) == 0) {
        const json body = reply.parsed();
        EXPECT_TRUE(body.is_object()) << row.path << ": " << reply.body.substr(0, 200);
        if (reply.status >= 400) {
          EXPECT_TRUE(body["error"]["code"].is_string()) << reply.body;
          EXPECT_TRUE(body["error"]["request_id"].is_string()) << reply.body;
        }
      } else {
        EXPECT_EQ(reply.status, 200) << path;
        EXPECT_NE(std::string(row.path).find("/content"), std::string::npos) << path;
      }
    }
  }
  EXPECT_EQ(cells, static_cast<int>(std::size(kRows) * std::size(kCallers)));
}

// What each role's listings hold in one world: the matrix checks statuses, this checks that a
// 200 does not show what the role may not see.
TEST_F(ApiAccessMatrixTest, ListingsHoldOnlyWhatEachRoleMaySee) {
  const auto ids = makeWorld();
  const auto count = [&](const std::string& path, const std::string& user) {
    const Reply reply = get(path, user);
    EXPECT_EQ(reply.status, 200) << path << " as " << user << ": " << reply.body;
    const json body = reply.parsed();
    EXPECT_EQ(body["count"], body["items"].size());
    return body["count"].get<int>();
  };
  EXPECT_EQ(count("/api/v1/instances", "qa-001"), 3);
  EXPECT_EQ(count("/api/v1/instances", "aud-001"), 1);
  EXPECT_EQ(count("/api/v1/instances", "ci-key"), 1);
  EXPECT_EQ(count("/api/v1/instances", "ep-052"), 0);
  EXPECT_EQ(count("/api/v1/instances", "mod-001"), 1);
  EXPECT_EQ(count("/api/v1/tasks", "aud-001"), 2);  // the queue task and their claimed one
  EXPECT_EQ(count("/api/v1/tasks", "ep-052"), 0);   // SF-1 is theirs, SF-2 claimed
  EXPECT_EQ(count("/api/v1/tasks", "mgr-001"), 1);
  EXPECT_EQ(count("/api/v1/approvals", "mgr-001"), 1);
  EXPECT_EQ(count("/api/v1/approvals", "aud-001"), 0);
  EXPECT_EQ(count("/api/v1/documents", "adm-001"), 1);
  EXPECT_EQ(count("/api/v1/documents", "mod-001"), 0);
  EXPECT_EQ(count("/api/v1/instances/" + ids.at("instance") + "/documents", "aud-001"), 1);
  // Instance data only for oversight and the automation that started it.
  EXPECT_EQ(get("/api/v1/instances/" + ids.at("instance"), "aud-001").parsed()["data"],
            json::object());
  EXPECT_TRUE(
      get("/api/v1/instances/" + ids.at("instance"), "mgr-001").parsed()["data"].contains("plans"));
  EXPECT_TRUE(get("/api/v1/instances/" + ids.at("auto_instance"), "ci-key")
                  .parsed()["data"]
                  .contains("plans"));
}

}  // namespace
}  // namespace sendflow::api::testing
