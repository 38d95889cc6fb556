// The HTTP surface of a real `sendflow serve` under attack: bodies over the limit and deeply
// nested JSON on every endpoint, CSRF on every form, and the API reached with only the browser's
// session cookie through every spelling of its paths. Each case asserts the refusal and that
// nothing changed (store, outbox, library, documents).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/security/security_fixture.h"

namespace sendflow::security::testing {
namespace {

struct Route {
  std::string method;
  std::string pattern;  // with {id}-style parameters
};

// Every API route, as docs/openapi.json describes them (a route added there is covered here).
// Its paths are written whole: "/api/v1/tasks/{id}/claim".
std::vector<Route> apiRoutes() {
  const json openapi =
      json::parse(readFile(fs::path(SENDFLOW_SOURCE_DIR) / "docs/openapi.json"), nullptr, false);
  std::vector<Route> routes;
  if (!openapi.is_object()) return routes;
  for (const auto& [path, operations] : openapi["paths"].items()) {
    for (const auto& [method, operation] : operations.items()) {
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (upper == "GET" || upper == "POST" || upper == "PUT" || upper == "PATCH" ||
          upper == "DELETE") {
        routes.push_back({upper, path});
      }
    }
  }
  return routes;
}

// The web part's routes (server/web/web_part.cpp), the probes and the metrics.
std::vector<Route> otherRoutes() {
  return {{"GET", "/"},
          {"GET", "/sign-in"},
          {"POST", "/sign-in"},
          {"GET", "/auth/callback"},
          {"POST", "/sign-out"},
          {"GET", "/tasks"},
          {"GET", "/tasks/{id}"},
          {"POST", "/tasks/{id}"},
          {"POST", "/tasks/{id}/claim"},
          {"POST", "/tasks/{id}/reassign"},
          {"GET", "/approvals/{token}"},
          {"POST", "/approvals/{token}"},
          {"GET", "/start"},
          {"GET", "/start/{workflow}"},
          {"POST", "/start/{workflow}"},
          {"GET", "/instances/{id}"},
          {"GET", "/moderation"},
          {"GET", "/documents"},
          {"GET", "/documents/{id}/download"},
          {"GET", "/dashboard"},
          {"GET", "/assets/{file}"},
          {"GET", "/healthz"},
          {"GET", "/readyz"},
          {"GET", "/metrics"}};
}

class SecurityHttpTest : public ServiceSuite {
 protected:
  static void SetUpTestSuite() { startService(); }
  static void TearDownTestSuite() { stopService(); }

  void SetUp() override {
    ServiceSuite::SetUp();
    if (HasFatalFailure()) return;
    auto instance = service().startReview();
    ASSERT_TRUE(instance.isOk()) << instance.status().toString();
    instance_ = *instance;
    auto task = service().openTask(instance_, "review");
    ASSERT_TRUE(task.isOk()) << task.status().toString();
    task_ = *task;
    cookie_ = service().signIn("adm-001");
    ASSERT_FALSE(cookie_.empty());
  }

  // `pattern` with its parameters filled with ids of things that exist.
  std::string concrete(const Route& route) const {
    std::string path = route.pattern;
    auto fill = [&](const std::string& param, const std::string& value) {
      for (auto at = path.find(param); at != std::string::npos; at = path.find(param)) {
        path.replace(at, param.size(), value);
      }
    };
    const bool definitions = path.find("/definitions/") != std::string::npos;
    const bool instances = path.find("/instances/") != std::string::npos;
    fill("{id}", definitions ? "security-review" : instances ? instance_ : task_);
    fill("{workflow}", "security-review");
    fill("{token}", std::string(43, 'A'));
    fill("{file}", "sendflow.css");
    return path;
  }

  // The credentials a signed-in caller of `path` sends: the admin's API key for the API, the
  // head of service's session elsewhere.
  std::vector<std::pair<std::string, std::string>> credentials(const std::string& path) {
    if (path.rfind("/api/", 0) == 0) {
      return {{"Authorization", "Bearer " + service().apiKey("admin")}};
    }
    return {{"Cookie", cookie_}};
  }

  std::string instance_;
  std::string task_;
  std::string cookie_;
};

std::string nestedArrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

TEST_F(SecurityHttpTest, EveryEndpointAnswers413ToATwoMegabyteBody) {
  const Snapshot before = service().settledSnapshot();
  const std::string body(2 * 1024 * 1024, 'a');
  std::vector<Route> routes = apiRoutes();
  ASSERT_GE(routes.size(), 15u) << "docs/openapi.json lists too few routes";
  for (const Route& r : otherRoutes()) routes.push_back(r);
  for (const Route& route : routes) {
    for (const bool chunked : {false, true}) {
      HttpCall call{route.method, concrete(route)};
      call.headers = credentials(call.target);
      call.headers.emplace_back("Content-Type", "application/json");
      call.body = body;
      call.chunked = chunked;
      const HttpReply reply = service().request(call);
      EXPECT_EQ(reply.status, 413) << route.method << " " << call.target
                                   << (chunked ? " (chunked)" : "") << ": " << reply.summary();
    }
  }
  expectNothingChanged(before, "two-megabyte bodies");
  EXPECT_EQ(service().api("GET", "/api/v1/me", "admin").status, 200);
}

TEST_F(SecurityHttpTest, EveryEndpointRefusesJsonNestedAHundredThousandDeep) {
  const std::string cookie = service().signIn("qa-001");
  const Snapshot before = service().settledSnapshot();
  const std::string arrays = nestedArrays(100'000);
  std::string objects;
  for (int i = 0; i < 100'000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(100'000, '}');
  std::vector<Route> routes = apiRoutes();
  ASSERT_GE(routes.size(), 15u);
  for (const Route& route : routes) {
    const std::string path = concrete(route);
    std::vector<std::string> bodies;
    if (route.pattern == "/api/v1/instances" && route.method == "POST") {
      bodies = {R"({"workflow":"security-review","input":{"reference":)" + arrays + "}}",
                R"({"workflow":"security-review","input":{"reference":)" + objects + "}}", arrays};
    } else {
      bodies = {R"({"notes":)" + arrays + "}", arrays};
    }
    for (const std::string& body : bodies) {
      HttpCall call{route.method, path, credentials(path), body};
      call.headers.emplace_back("Content-Type", "application/json");
      const HttpReply reply = service().request(call);
      if (route.method == "GET") {
        // A GET does not read its body; it must still not fall over.
        EXPECT_GT(reply.status, 0) << "GET " << path << ": no answer";
        EXPECT_LT(reply.status, 500) << "GET " << path << ": " << reply.summary();
      } else {
        EXPECT_GE(reply.status, 400) << route.method << " " << path << ": " << reply.summary();
        EXPECT_LT(reply.status, 500) << route.method << " " << path << ": " << reply.summary();
      }
      ASSERT_TRUE(service().process().alive())
          << route.method << " " << path << " killed the service:\n"
          << service().process().log().substr(0, 4000);
    }
  }

  // The web form that reads JSON: a list input of the start form.
  const HttpReply form = service().page("GET", "/start/security-review", cookie);
  const std::string csrf = csrfOf(form.body, "/start/security-review");
  ASSERT_FALSE(csrf.empty()) << form.summary();
  const HttpReply started = service().page("POST", "/start/security-review", cookie,
                                           {{"csrf_token", csrf}, {"plans", arrays}});
  EXPECT_GE(started.status, 400) << started.summary();
  EXPECT_LT(started.status, 500) << started.summary();
  ASSERT_TRUE(service().process().alive()) << service().process().log().substr(0, 4000);
  expectNothingChanged(before, "deeply nested JSON");
}

// ---- CSRF on every form ------------------------------------------------------------------------

TEST_F(SecurityHttpTest, EveryFormRefusesAPostWithoutOrWithAWrongCsrfToken) {
  // An approval link to confirm, and the pages whose forms are attacked.
  auto second = service().startReview();
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  ASSERT_TRUE(service().completeReview(*second, {{"notes", "fine"}}).isOk());
  ASSERT_TRUE(service().waitForOutbox(5));  // 2 notices, 1 review mail, 2 approval mails
  std::string token;
  for (const auto& mail : service().approvalMails()) {
    if (mail.to.find("fiona.maclean@") != std::string::npos) token = mail.approve;
  }
  ASSERT_FALSE(token.empty()) << "no approval mail to mgr-001";

  const std::string auditor = service().signIn("aud-001");
  const std::string other_auditor = service().signIn("aud-002");
  const std::string lead = service().signIn("qa-001");
  const std::string manager = service().signIn("mgr-001");
  ASSERT_FALSE(auditor.empty() || other_auditor.empty() || lead.empty() || manager.empty());
  const std::string task_path = "/tasks/" + task_;
  const std::string claim_csrf =
      csrfOf(service().page("GET", task_path, auditor).body, task_path + "/claim");
  const std::string complete_csrf =
      csrfOf(service().page("GET", task_path, auditor).body, task_path);
  const std::string other_claim_csrf =
      csrfOf(service().page("GET", task_path, other_auditor).body, task_path + "/claim");
  ASSERT_FALSE(claim_csrf.empty() || complete_csrf.empty() || other_claim_csrf.empty());

  struct Form {
    std::string path;
    std::string cookie;
    std::vector<std::pair<std::string, std::string>> fields;  // everything but the token
    std::vector<std::string> wrong_tokens;                    // valid tokens of other forms
  };
  const std::vector<Form> forms = {
      {task_path + "/claim", auditor, {}, {complete_csrf, other_claim_csrf}},
      {task_path, auditor, {{"notes", "forged"}}, {claim_csrf}},
      {task_path + "/reassign", lead, {{"assignee", "aud-002"}}, {claim_csrf}},
      {"/start/security-review", lead, {{"reference", "forged"}}, {claim_csrf}},
      {"/approvals/" + token, manager, {{"comment", "forged"}}, {claim_csrf}},
      {"/sign-out", auditor, {}, {claim_csrf}},
  };
  const Snapshot before = service().settledSnapshot();
  for (const Form& form : forms) {
    std::vector<std::string> tokens = {"", "not-a-token", std::string(43, 'x')};
    tokens.insert(tokens.end(), form.wrong_tokens.begin(), form.wrong_tokens.end());
    for (const std::string& csrf : tokens) {
      auto fields = form.fields;
      if (!csrf.empty()) fields.emplace_back("csrf_token", csrf);
      const HttpReply reply = service().page("POST", form.path, form.cookie, fields);
      EXPECT_EQ(reply.status, 403)
          << "POST " << form.path << " with csrf_token '" << csrf << "': " << reply.summary();
      for (const std::string& set : reply.all("Set-Cookie")) {
        EXPECT_EQ(set.rfind("sendflow_session=", 0), std::string::npos)
            << "POST " << form.path << " changed the session: " << set;
      }
    }
  }
  // The sign-in form itself: a pre-session cookie without its token signs nobody in.
  const HttpReply sign_in_page = service().request({"GET", "/sign-in"});
  std::string form_cookie;
  for (const std::string& set : sign_in_page.all("Set-Cookie")) {
    if (set.rfind("sendflow_sign_in_form=", 0) == 0) form_cookie = set.substr(0, set.find(';'));
  }
  for (const std::string& csrf : {std::string(), std::string("x"), claim_csrf}) {
    std::vector<std::pair<std::string, std::string>> fields = {{"user", "adm-001"}};
    if (!csrf.empty()) fields.emplace_back("csrf_token", csrf);
    const HttpReply reply = service().page("POST", "/sign-in", form_cookie, fields);
    EXPECT_EQ(reply.status, 403) << reply.summary();
    for (const std::string& set : reply.all("Set-Cookie")) {
      EXPECT_EQ(set.rfind("sendflow_session=", 0), std::string::npos) << set;
    }
  }
  expectNothingChanged(before, "forms posted without their CSRF token");
  EXPECT_EQ(service().page("GET", "/tasks", auditor).status, 200)
      << "the refused sign-out ended the session";

  // The control: the same claim with its own token is served.
  const HttpReply claimed =
      service().page("POST", task_path + "/claim", auditor, {{"csrf_token", claim_csrf}});
  EXPECT_EQ(claimed.status, 303) << claimed.summary();
  EXPECT_FALSE(service().settledSnapshot() == before) << "the control claim changed nothing";
}

// ---- the API with only the session cookie, through every spelling of its paths ----------------

// Spellings of `path` (/api/v1/...) that a lax server could route to the same handler.
std::vector<std::string> spellings(const std::string& path) {
  const std::string rest = path.substr(std::string("/api/v1").size());  // "/tasks/ID"
  return {"/" + path,
          "/api//v1" + rest,
          "/api/v1/." + rest,
          "/./api/v1" + rest,
          path + "/",
          path + "/.",
          "/API/v1" + rest,
          "/Api/V1" + rest,
          "/%2Fapi/v1" + rest,
          "/%61pi/v1" + rest,
          "/api%2Fv1" + rest,
          "%2Fapi/v1" + rest,
          "/api/v1/%2e%2e/v1" + rest,
          "/api/v1/x/..%2F.." + path.substr(4),
          "/assets/%2e%2e" + path,
          "/assets/.." + path,
          "/tasks/../" + path.substr(1),
          "/api/v1\\" + rest.substr(1),
          "//api//v1//" + rest.substr(1)};
}

TEST_F(SecurityHttpTest, TheApiIsNeverServedToTheSessionCookieWhateverThePathSpelling) {
  const std::string cookie = service().signIn("adm-001");
  ASSERT_FALSE(cookie.empty());
  // The controls: the cookie opens the pages, the API key opens the API.
  ASSERT_EQ(service().page("GET", "/tasks", cookie).status, 200);
  ASSERT_EQ(service().api("GET", "/api/v1/me", "admin").status, 200);

  const Snapshot before = service().settledSnapshot();
  int requests = 0;
  for (const Route& route : apiRoutes()) {
    if (route.pattern == "/api/v1/openapi.json") continue;  // public
    const std::string path = concrete(route);
    for (const std::string& target : spellings(path)) {
      HttpCall call{route.method, target, {{"Cookie", cookie}}};
      if (route.method == "POST") {
        call.headers.emplace_back("Content-Type", "application/json");
        call.body = path.find("/instances") != std::string::npos
                        ? R"({"workflow":"security-review"})"
                        : (path.find("/reassign") != std::string::npos ? R"({"assignee":"aud-002"})"
                                                                       : "{}");
      }
      const HttpReply reply = service().request(call);
      ++requests;
      EXPECT_TRUE(reply.status < 200 || reply.status >= 300)
          << route.method << " " << target
          << " with only the session cookie was served: " << reply.summary();
      EXPECT_EQ(reply.body.find("adm-001"), std::string::npos)
          << route.method << " " << target << " answered with the signed-in user's data";
    }
  }
  EXPECT_GT(requests, 300);
  expectNothingChanged(before, "the API through other path spellings with only a cookie");
}

}  // namespace
}  // namespace sendflow::security::testing
