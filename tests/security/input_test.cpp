// Hostile text in every field of a real `sendflow serve`: SQL-injection strings (refused or
// stored literally, never interpreted, never a 500), path traversal in every id (404 or 400, no
// file outside the library read or written) and CR/LF in everything that reaches a mail header.
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/security/security_fixture.h"

namespace sendflow::security::testing {
namespace {

class SecurityInputTest : public ServiceSuite {
 protected:
  static void SetUpTestSuite() { startService(); }
  static void TearDownTestSuite() { stopService(); }
};

// Strings an injection would turn into SQL; every one must come back exactly as sent.
std::vector<std::string> injections() {
  return {"' OR '1'='1",
          "'; DROP TABLE instances; --",
          "\" OR \"\"=\"",
          "1; DELETE FROM tasks WHERE 1=1; --",
          "x' UNION SELECT token_hash, task_id FROM approval_tokens --",
          "%27%20OR%201%3D1",
          std::string("before\0after", 12),
          std::string(100'000, '\'')};
}

std::string shown(const std::string& text) {
  std::string out = text.substr(0, 60);
  for (char& c : out) {
    if (c == '\0') c = '0';
  }
  return "'" + out + (text.size() > 60 ? "...' (" + std::to_string(text.size()) + " bytes)" : "'");
}

bool isClientRefusal(int status) { return status >= 400 && status < 500; }

// ---- SQL injection
// -------------------------------------------------------------------------------

TEST_F(SecurityInputTest, SqlInjectionStringsInIdsQueriesAndNamesAreRefusedAndChangeNothing) {
  const std::string cookie = service().signIn("qa-001");
  ASSERT_FALSE(cookie.empty());
  auto instance = service().startReview();
  ASSERT_TRUE(instance.isOk()) << instance.status().toString();
  const Snapshot before = service().settledSnapshot();
  for (const std::string& text : injections()) {
    const std::string encoded = percentEncode(text);
    // Names of things: a workflow, a person to reassign to, someone to sign in as.
    HttpReply r = service().api("POST", "/api/v1/instances", "qa-lead", {{"workflow", text}});
    EXPECT_TRUE(isClientRefusal(r.status)) << "workflow " << shown(text) << ": " << r.summary();
    auto task = service().openTask(*instance, "review");
    ASSERT_TRUE(task.isOk());
    r = service().api("POST", "/api/v1/tasks/" + *task + "/reassign", "admin",
                      {{"assignee", text}});
    EXPECT_TRUE(isClientRefusal(r.status)) << "assignee " << shown(text) << ": " << r.summary();
    EXPECT_EQ(service().signIn(text), "") << "signed in as " << shown(text);
    // Ids.
    for (const std::string& path :
         {"/api/v1/instances/" + encoded, "/api/v1/instances/" + encoded + "/history",
          "/api/v1/tasks/" + encoded, "/api/v1/documents/" + encoded,
          "/api/v1/definitions/" + encoded}) {
      r = service().api("GET", path, "admin");
      EXPECT_TRUE(r.status == 404 || r.status == 400 || r.status == 414)
          << path.substr(0, 80) << ": " << r.summary();
    }
    // Queries: nothing matches, nothing fails.
    for (const std::string& query :
         {"/api/v1/instances?workflow=" + encoded, "/api/v1/instances?status=" + encoded,
          "/api/v1/tasks?limit=" + encoded, "/api/v1/documents?limit=" + encoded}) {
      r = service().api("GET", query, "admin");
      EXPECT_TRUE(r.status == 200 || r.status == 422 || r.status == 400 || r.status == 414)
          << query.substr(0, 80) << ": " << r.summary();
      if (r.status == 200 && query.find("workflow=") != std::string::npos) {
        EXPECT_TRUE(r.parsed()["items"].empty())
            << "the workflow filter " << shown(text) << " matched instances: " << r.summary();
      }
    }
    r = service().page("GET", "/tasks/" + encoded, cookie);
    EXPECT_TRUE(r.status == 404 || r.status == 400 || r.status == 414) << r.summary();
  }
  expectNothingChanged(before, "SQL-injection strings as names, ids and queries");
}

TEST_F(SecurityInputTest, SqlInjectionStringsInTextFieldsAreStoredLiterally) {
  int created = 0;
  const Snapshot before = service().settledSnapshot();
  for (const std::string& text : injections()) {
    // An instance's business key and input.
    HttpReply r = service().api(
        "POST", "/api/v1/instances", "qa-lead",
        {{"workflow", "security-review"},
         {"business_key", text},
         {"input", {{"reference", text}, {"plans", json::array({{{"reference", text}}})}}}});
    ASSERT_LT(r.status, 500) << shown(text) << ": " << r.summary();
    // A key too long, or with a NUL (which would end it when read back), is refused.
    const bool refused_key = text.size() > 200 || text.find('\0') != std::string::npos;
    if (refused_key) {
      EXPECT_EQ(r.status, 422) << "business key " << shown(text) << ": " << r.summary();
      r = service().api("POST", "/api/v1/instances", "qa-lead",
                        {{"workflow", "security-review"}, {"input", {{"reference", text}}}});
    }
    ASSERT_EQ(r.status, 201) << shown(text) << ": " << r.summary();
    ++created;
    const std::string id = r.parsed()["id"];
    const json stored = service().api("GET", "/api/v1/instances/" + id, "admin").parsed();
    ASSERT_TRUE(stored.is_object());
    EXPECT_EQ(stored["data"]["reference"], text) << "the input came back changed";
    if (!refused_key) {
      EXPECT_EQ(stored["business_key"], text);
    }
    EXPECT_EQ(service().api("GET", "/api/v1/instances?status=running", "admin").status, 200);

    // A task's form: the API and the page.
    auto task = service().openTask(id, "review");
    ASSERT_TRUE(task.isOk()) << task.status().toString();
    r = service().api("POST", "/api/v1/tasks/" + *task + "/claim", "auditor", json::object());
    ASSERT_EQ(r.status, 200) << r.summary();
    r = service().api("POST", "/api/v1/tasks/" + *task + "/complete", "auditor",
                      {{"notes", text.substr(0, 4000)}, {"evidence", text}});
    ASSERT_EQ(r.status, 200) << shown(text) << ": " << r.summary();
    const json result = service().api("GET", "/api/v1/tasks/" + *task, "admin").parsed();
    EXPECT_EQ(result["result"]["notes"], text.substr(0, 4000)) << result.dump().substr(0, 300);
    EXPECT_EQ(result["result"]["evidence"], text) << result.dump().substr(0, 300);
  }
  // The web forms: starting a cycle and answering a task.
  const std::string lead = service().signIn("qa-001");
  const std::string auditor = service().signIn("aud-001");
  for (const std::string& text :
       {std::string("' OR '1'='1"), std::string("'; DROP TABLE tasks; --")}) {
    const std::string csrf = csrfOf(service().page("GET", "/start/security-review", lead).body,
                                    "/start/security-review");
    HttpReply r = service().page(
        "POST", "/start/security-review", lead,
        {{"csrf_token", csrf}, {"reference", text}, {"business_key", text + " web"}});
    ASSERT_EQ(r.status, 303) << r.summary();
    ++created;
    std::string id = r.header("Location").substr(r.header("Location").rfind('/') + 1);
    id = id.substr(0, id.find('?'));
    const json stored = service().api("GET", "/api/v1/instances/" + id, "admin").parsed();
    EXPECT_EQ(stored["data"]["reference"], text) << stored.dump().substr(0, 300);
    EXPECT_EQ(stored["business_key"], text + " web");
    auto task = service().openTask(id, "review");
    ASSERT_TRUE(task.isOk()) << r.header("Location") << ": " << task.status().toString();
    const std::string page = "/tasks/" + *task;
    const std::string complete = csrfOf(service().page("GET", page, auditor).body, page);
    r = service().page("POST", page, auditor, {{"csrf_token", complete}, {"notes", text}});
    EXPECT_EQ(r.status, 303) << r.summary();
    const json result = service().api("GET", "/api/v1/tasks/" + *task, "admin").parsed();
    EXPECT_EQ(result["result"]["notes"], text) << result.dump().substr(0, 300);
  }
  // Every table is still there, and holds what was made and nothing else.
  const Snapshot after = service().settledSnapshot();
  for (const auto& [key, rows] : before.items) {
    if (key.rfind("table ", 0) == 0) {
      EXPECT_TRUE(after.items.count(key)) << key << " is gone";
    }
  }
  const json running = service().api("GET", "/api/v1/instances?limit=1000", "admin").parsed();
  std::size_t rows_before = 0, rows_after = 0;
  for (char c : before.items.at("table instances")) rows_before += c == '\n';
  for (char c : after.items.at("table instances")) rows_after += c == '\n';
  EXPECT_EQ(rows_after, rows_before + static_cast<std::size_t>(created));
  EXPECT_EQ(running["items"].size(), rows_after);
}

// ---- path traversal
// ------------------------------------------------------------------------------

// Ids that climb out of a folder, as they would arrive in a path segment (already encoded).
std::vector<std::string> traversals(const fs::path& canary) {
  return {"..%2f..%2f..%2fetc%2fpasswd",
          "..%2F..%2Foutside%2Fsecret.txt",
          "..%2F..%2F..%2Foutside%2Fsecret.txt",
          "%2e%2e%2f%2e%2e%2foutside%2fsecret.txt",
          "..%252f..%252foutside%252fsecret.txt",
          "....%2F%2F....%2F%2Foutside%2F%2Fsecret.txt",
          "..%5C..%5Coutside%5Csecret.txt",
          percentEncode(canary.string()),
          "..",
          "%2e%2e",
          "secret.txt%00.docx",
          "%00"};
}

TEST_F(SecurityInputTest, PathTraversalInEveryIdIsNotFoundAndReadsNothingOutside) {
  const std::string lead = service().signIn("qa-001");
  const std::string manager = service().signIn("mgr-001");
  ASSERT_FALSE(lead.empty() || manager.empty());
  const Snapshot before = service().settledSnapshot();
  const std::vector<std::string> api_get = {
      "/api/v1/instances/{}",  "/api/v1/instances/{}/history", "/api/v1/instances/{}/documents",
      "/api/v1/tasks/{}",      "/api/v1/documents/{}",         "/api/v1/documents/{}/content",
      "/api/v1/definitions/{}"};
  const std::vector<std::string> api_post = {"/api/v1/tasks/{}/claim", "/api/v1/tasks/{}/complete",
                                             "/api/v1/tasks/{}/reassign", "/api/v1/approvals/{}"};
  const std::vector<std::string> web_get = {"/tasks/{}", "/instances/{}", "/documents/{}/download",
                                            "/start/{}", "/approvals/{}", "/assets/{}"};
  const std::vector<std::string> web_post = {"/tasks/{}", "/tasks/{}/claim", "/tasks/{}/reassign",
                                             "/start/{}", "/approvals/{}"};
  auto fill = [](std::string pattern, const std::string& id) {
    return pattern.replace(pattern.find("{}"), 2, id);
  };
  int requests = 0;
  for (const std::string& id : traversals(service().canaryFile())) {
    auto check = [&](const HttpReply& r, const std::string& what, std::set<int> allowed) {
      ++requests;
      EXPECT_TRUE(allowed.count(r.status)) << what << ": " << r.summary();
      EXPECT_EQ(r.body.find(service().canary()), std::string::npos) << what << " read the canary";
      EXPECT_EQ(r.body.find("root:x:0:0"), std::string::npos) << what << " read /etc/passwd";
    };
    for (const std::string& p : api_get) {
      check(service().api("GET", fill(p, id), "admin"), "GET " + fill(p, id), {400, 404});
    }
    for (const std::string& p : api_post) {
      const json body =
          p.find("/reassign") != std::string::npos ? json{{"assignee", "aud-002"}} : json::object();
      check(service().api("POST", fill(p, id), "admin", body), "POST " + fill(p, id), {400, 404});
    }
    for (const std::string& p : web_get) {
      check(service().page("GET", fill(p, id), lead), "GET " + fill(p, id), {400, 404});
    }
    for (const std::string& p : web_post) {
      check(service().page("POST", fill(p, id), manager, {{"csrf_token", "x"}}),
            "POST " + fill(p, id), {400, 403, 404});
    }
  }
  EXPECT_GE(requests, 250);
  // Workflow names in a body.
  for (const std::string& name :
       {std::string("../workflows/security-review"), std::string("../../outside/secret.txt"),
        service().canaryFile().string(), std::string("security-review\0", 16),
        std::string("./security-review")}) {
    const HttpReply r = service().api("POST", "/api/v1/instances", "qa-lead", {{"workflow", name}});
    EXPECT_TRUE(r.status == 404 || r.status == 422 || r.status == 400)
        << name << ": " << r.summary();
  }
  expectNothingChanged(before, "ids that climb out of their folder");
  EXPECT_FALSE(service().canaryLeaked());
}

TEST_F(SecurityInputTest, TemplateNamesThatClimbOutOfTheTemplatesFolderRenderNothing) {
  // A real template beside the canary, so that a name reaching it would render.
  writeFile(service().dir() / "outside" / "briefing.docx",
            readFile(fs::path(SENDFLOW_SOURCE_DIR) / "templates/five-minute-briefing.docx"));
  const Snapshot before = service().settledSnapshot();
  const fs::path outside = service().dir() / "outside";
  int started = 0;
  for (const std::string& name :
       {std::string("../outside/briefing.docx"), std::string("../outside/briefing"),
        std::string("../../") + outside.filename().string() + "/briefing.docx",
        (outside / "briefing.docx").string(), std::string("..%2foutside%2fbriefing.docx"),
        std::string("....//outside/briefing.docx"), std::string("../outside/secret.txt"),
        std::string("briefing.docx\0.docx", 19), std::string("..\\outside\\briefing.docx")}) {
    const HttpReply r =
        service().api("POST", "/api/v1/instances", "qa-lead",
                      {{"workflow", "security-render"}, {"input", {{"template", name}}}});
    ASSERT_TRUE(r.status == 201 || isClientRefusal(r.status)) << r.summary();
    if (r.status == 201) ++started;
  }
  ASSERT_GT(started, 0);
  const Snapshot after = service().settledSnapshot();
  expectNothingRendered(before, after);
  for (const auto& [key, value] : after.items) {
    if (key.rfind("file outside/", 0) == 0 || key.rfind("file templates/", 0) == 0 ||
        key.rfind("file library/", 0) == 0) {
      EXPECT_EQ(before.items.count(key) ? before.items.at(key) : "", value) << key << " changed";
    }
  }
  EXPECT_FALSE(service().canaryLeaked());
  expectAHarmlessTemplateRenders();
}

TEST_F(SecurityInputTest, ConnectorItemIdsThatClimbOutOfTheLibraryAreRefused) {
  const Snapshot before = service().settledSnapshot();
  const fs::path out = service().dir() / "fetched.docx";
  for (const std::string& id :
       {std::string("../outside/secret.txt"), std::string("../../outside/secret.txt"),
        std::string("SEND Library/../../outside/secret.txt"), service().canaryFile().string(),
        std::string("..%2f..%2foutside%2fsecret.txt"),
        std::string("....//....//outside/secret.txt"), std::string("/etc/passwd")}) {
    const CommandRun run = service().cli({"connector", "fetch", id, "-o", out.string()});
    EXPECT_NE(run.exit_code, 0) << "connector fetch " << id << ": " << run.out << run.err;
    EXPECT_FALSE(fs::exists(out)) << "connector fetch " << id << " wrote " << out;
    EXPECT_EQ((run.out + run.err).find(service().canary()), std::string::npos) << id;
    fs::remove(out);
  }
  const fs::path document = service().dir() / "report.docx";
  writeFile(document,
            readFile(fs::path(SENDFLOW_SOURCE_DIR) / "templates/five-minute-briefing.docx"));
  for (const std::string& name :
       {std::string("../../outside/evil.docx"), std::string("../evil.docx"),
        (service().dir() / "outside" / "evil.docx").string(),
        std::string("a/../../../evil.docx")}) {
    const CommandRun run =
        service().cli({"connector", "publish", document.string(), "--name", name});
    EXPECT_NE(run.exit_code, 0) << "connector publish --name " << name << ": " << run.out
                                << run.err;
  }
  EXPECT_FALSE(fs::exists(service().dir() / "evil.docx"));
  EXPECT_FALSE(fs::exists(service().dir() / "outside" / "evil.docx"));
  expectNothingChanged(before, "connector ids that climb out of the library");
  // The control: an id inside the library is fetched.
  const CommandRun list = service().cli({"connector", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  const json items = json::parse(list.out, nullptr, false).value("items", json::array());
  ASSERT_FALSE(items.empty()) << list.out.substr(0, 300);
  const CommandRun fetched =
      service().cli({"connector", "fetch", items[0]["id"].get<std::string>(), "-o", out.string()});
  EXPECT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_TRUE(fs::exists(out));
}

// ---- CR/LF towards mail headers
// ------------------------------------------------------------------

TEST_F(SecurityInputTest, LineBreaksNeverReachAMailHeader) {
  const std::string evil = "\r\nBcc: evil@attacker.example\r\nX-Injected: yes";
  const std::size_t mails_before = service().outboxFiles().size();
  // Through mail.send's subject and recipient, the approval mail's plan reference and a subject
  // made from a form field.
  for (const json& input :
       {json{{"notify_subject", "Review" + evil}},
        json{{"notify_to", "priya.shah@council.example" + evil}},
        json{{"notify_to", "priya.shah@council.example\nBcc: evil@attacker.example"}},
        json{{"plans", json::array({{{"reference", "P-9" + evil}}})}}}) {
    auto id = service().startReview(input);
    ASSERT_TRUE(id.isOk()) << id.status().toString();
    ASSERT_TRUE(service().completeReview(*id, {{"notes", "Done" + evil}}).isOk());
  }
  // A form field through the page.
  auto id = service().startReview();
  ASSERT_TRUE(id.isOk());
  auto task = service().openTask(*id, "review");
  ASSERT_TRUE(task.isOk());
  const std::string auditor = service().signIn("aud-001");
  const std::string page = "/tasks/" + *task;
  const std::string csrf = csrfOf(service().page("GET", page, auditor).body, page);
  const HttpReply posted =
      service().page("POST", page, auditor, {{"csrf_token", csrf}, {"notes", "Web" + evil}});
  EXPECT_TRUE(posted.status == 303 || posted.status == 422) << posted.summary();
  service().settledSnapshot();

  const std::set<std::string> known = {"From",
                                       "To",
                                       "Subject",
                                       "Date",
                                       "Message-ID",
                                       "Auto-Submitted",
                                       "X-Sendflow-Recipient",
                                       "X-Sendflow-Instance",
                                       "MIME-Version",
                                       "Content-Type"};
  const auto files = service().outboxFiles();
  ASSERT_GT(files.size(), mails_before + 4) << "too few mails were written to prove anything";
  bool reference_reached_a_subject = false;
  for (const fs::path& file : files) {
    const std::string message = readFile(file);
    const std::string head = message.substr(0, message.find("\r\n\r\n"));
    for (std::size_t i = 0; i < head.size(); ++i) {
      if (head[i] == '\n' && (i == 0 || head[i - 1] != '\r')) {
        ADD_FAILURE() << file.filename() << ": a bare LF in the header section";
      }
      if (head[i] == '\r' && (i + 1 >= head.size() || head[i + 1] != '\n')) {
        ADD_FAILURE() << file.filename() << ": a bare CR in the header section";
      }
    }
    for (const std::string& line : headerLines(message)) {
      const std::string name = line.substr(0, line.find(':'));
      EXPECT_TRUE(known.count(name)) << file.filename() << ": an unexpected header: " << line;
      if (name == "Subject" && decodeEncodedWords(line).find("P-9") != std::string::npos) {
        reference_reached_a_subject = true;
      }
      if (name == "To" || name == "X-Sendflow-Recipient") {
        EXPECT_EQ(line.find("attacker"), std::string::npos) << file.filename() << ": " << line;
      }
    }
  }
  EXPECT_TRUE(reference_reached_a_subject) << "no approval mail names plan P-9 in its subject";
  EXPECT_TRUE(service().process().alive());
}

}  // namespace
}  // namespace sendflow::security::testing
