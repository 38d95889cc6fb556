// The web part through a real HttpServer on 127.0.0.1 with a real Workbench and ApprovalLinks
// over a temporary SQLite store: sign-in, CSRF, the task form and its error summary, approval
// links (a GET changes nothing), starting a cycle once on a double submit, and every page's
// accessibility and security rules for each role.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/web/html_checks.h"
#include "tests/web/web_fixture.h"

namespace sendflow::web::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

#define EXPECT_PAGE_OK(page)                                                                      \
  do {                                                                                            \
    const auto problems_ = pageProblems((page).body);                                             \
    EXPECT_TRUE(problems_.empty()) << ::testing::PrintToString(problems_) << "\n" << (page).body; \
  } while (0)

class WebPartTest : public WebPartFixture {};

// With SENDFLOW_WEB_SNAPSHOTS=DIR, pages are also written there as NAME.html next to
// sendflow.css, to look at in a browser (for example at 320px wide) without a server.
void snapshot(const std::string& name, const Page& page) {
  const char* dir = std::getenv("SENDFLOW_WEB_SNAPSHOTS");
  if (dir == nullptr || *dir == '\0') return;
  std::filesystem::create_directories(dir);
  std::string html = std::regex_replace(
      page.body, std::regex("/assets/sendflow\\.css\\?v=[0-9a-f]+"), "sendflow.css");
  std::ofstream(std::filesystem::path(dir) / (name + ".html")) << html;
  std::filesystem::copy_file(std::string(SENDFLOW_SOURCE_DIR) + "/server/web/assets/sendflow.css",
                             std::filesystem::path(dir) / "sendflow.css",
                             std::filesystem::copy_options::overwrite_existing);
}

TEST_F(WebPartTest, RootSendsSignedOutBrowsersToSignInAndOthersToTheirTasks) {
  Browser anonymous = browser();
  EXPECT_EQ(anonymous.get("/").location(), "/sign-in");
  Browser auditor = signedIn("aud-001");
  const Page root = auditor.get("/");
  EXPECT_EQ(root.status, 303);
  EXPECT_EQ(root.location(), "/tasks");
}

TEST_F(WebPartTest, PagesSendBrowsersWithoutASessionToSignInAndBack) {
  Browser anonymous = browser();
  const Page tasks = anonymous.get("/tasks?sort=due");
  EXPECT_EQ(tasks.status, 303);
  EXPECT_EQ(tasks.location(), "/sign-in?return=%2Ftasks%3Fsort%3Ddue");
  // A forged or expired cookie is no session either.
  anonymous.jar()[auth::kSessionCookieName] = "eyJ4IjoxfQ.AAAA";
  EXPECT_EQ(anonymous.get("/dashboard").status, 303);

  // Signing in from there comes back to the page asked for.
  const Page done = anonymous.signIn("aud-001", "/tasks?sort=due");
  EXPECT_EQ(done.status, 303);
  EXPECT_EQ(done.location(), "/tasks?sort=due");
}

TEST_F(WebPartTest, DevelopmentSignInIsClearlyLabelledAndSetsASafeCookie) {
  Browser b = browser();
  const Page form = b.get("/sign-in");
  ASSERT_EQ(form.status, 200);
  snapshot("sign-in-development", form);
  EXPECT_THAT(form.body, HasSubstr("Development sign-in – not for real data"));
  EXPECT_THAT(form.body, HasSubstr("Priya Shah, QA lead (qa-001)"));
  EXPECT_THAT(form.body, HasSubstr("Fiona Maclean, head of service (mgr-001)"));
  EXPECT_THAT(form.body, HasSubstr(">Sign in</button>"));
  EXPECT_PAGE_OK(form);

  const std::string csrf = capture(form.body, "name=\"csrf_token\" value=\"([^\"]+)\"");
  const Page done = b.post("/sign-in", {{"csrf_token", csrf}, {"user", "qa-001"}});
  ASSERT_EQ(done.status, 303);
  EXPECT_EQ(done.location(), "/tasks");
  std::string session_cookie;
  for (auto [it, end] = done.headers.equal_range("set-cookie"); it != end; ++it) {
    if (it->second.rfind(std::string(auth::kSessionCookieName) + "=", 0) == 0) {
      session_cookie = it->second;
    }
  }
  EXPECT_THAT(session_cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(session_cookie, HasSubstr("SameSite=Lax"));
  EXPECT_THAT(session_cookie, HasSubstr("Path=/"));
  EXPECT_THAT(session_cookie, Not(HasSubstr("Secure")));  // public_url is http here

  // The sign-in is recorded in the directory; the header names the person.
  const Page tasks = b.get("/tasks");
  EXPECT_THAT(tasks.body, HasSubstr("Signed in as Priya Shah"));
  EXPECT_THAT(tasks.body, HasSubstr("Testshire County Council"));

  // Nobody chosen: the form comes back with an error summary.
  Browser other = browser();
  const Page again = other.get("/sign-in");
  const Page none = other.post(
      "/sign-in", {{"csrf_token", capture(again.body, "name=\"csrf_token\" value=\"([^\"]+)\"")}});
  EXPECT_EQ(none.status, 303);
  const Page error = other.get(none.location());
  EXPECT_EQ(error.status, 422);
  EXPECT_THAT(error.body, HasSubstr("Choose who to sign in as"));
  EXPECT_PAGE_OK(error);
}

TEST_F(WebPartTest, SignInWithoutTheFormTokenIsRefused) {
  Browser b = browser();
  b.get("/sign-in");  // sets the pre-session cookie
  const Page forged = b.post("/sign-in", {{"csrf_token", "forged"}, {"user", "adm-001"}});
  EXPECT_EQ(forged.status, 403);
  EXPECT_THAT(forged.body, HasSubstr("This form has expired"));
  EXPECT_EQ(b.jar().count(auth::kSessionCookieName), 0u);
  Browser cold = browser();  // no pre-session cookie at all
  EXPECT_EQ(cold.post("/sign-in", {{"user", "adm-001"}}).status, 403);
}

TEST_F(WebPartTest, SignInNeverRedirectsOffSite) {
  for (const std::string bad :
       {"https://evil.example/", "//evil.example/x", "/\\evil.example", "http:/evil",
        "/%2F%2Fevil.example", "javascript:alert(1)", "tasks", "/tasks\r\nSet-Cookie: x=y"}) {
    EXPECT_EQ(safeReturnPath(bad), "/tasks") << bad;
    Browser b = browser();
    const Page done = b.signIn("aud-001", bad);
    EXPECT_EQ(done.status, 303) << bad;
    EXPECT_EQ(done.location(), "/tasks") << bad;
  }
  EXPECT_EQ(safeReturnPath("/approvals/abc?x=1"), "/approvals/abc?x=1");
}

TEST_F(WebPartTest, SignOutNeedsItsTokenAndClearsTheCookie) {
  Browser b = signedIn("aud-001");
  const Page forged = b.post("/sign-out", {{"csrf_token", "nope"}});
  EXPECT_EQ(forged.status, 403);
  EXPECT_EQ(b.get("/tasks").status, 200);
  const Page tasks = b.get("/tasks");
  const std::string token = capture(tasks.body,
                                    "action=\"/sign-out\">\\s*<input type=\"hidden\" "
                                    "name=\"csrf_token\" value=\"([^\"]+)\"");
  ASSERT_FALSE(token.empty());
  const Page out = b.post("/sign-out", {{"csrf_token", token}});
  EXPECT_EQ(out.status, 303);
  EXPECT_EQ(out.location(), "/sign-in?notice=signed-out");
  EXPECT_EQ(b.jar().count(auth::kSessionCookieName), 0u);
  EXPECT_EQ(b.get("/tasks").status, 303);
}

TEST_F(WebPartTest, MyTasksListsApprovalsFirstWithOverdueInWords) {
  const store::TaskRecord approval = reachApproval();
  Browser manager = signedIn("mgr-001");
  Page page = manager.get("/tasks");
  ASSERT_EQ(page.status, 200);
  EXPECT_THAT(page.body, HasSubstr("Approve the moderation outcome"));
  EXPECT_THAT(page.body, HasSubstr("SF-2"));
  EXPECT_THAT(page.body, HasSubstr("5 March 2026"));  // due today + 3 days
  EXPECT_THAT(page.body, Not(HasSubstr(">Overdue<")));
  EXPECT_PAGE_OK(page);

  clock_.advance(std::chrono::hours(24 * 10));
  manager = signedIn("mgr-001");  // the session of ten days ago has expired
  page = manager.get("/tasks");
  EXPECT_THAT(page.body, HasSubstr(">Overdue</span>"));

  // Auditors see the queue of audits (SF-1 and SF-2 minus the one done), not the approval.
  Browser auditor = signedIn("aud-002");
  const Page audits = auditor.get("/tasks");
  EXPECT_THAT(audits.body, HasSubstr("Audit the EHC plan"));
  EXPECT_THAT(audits.body, Not(HasSubstr("Approve the moderation outcome")));
  EXPECT_THAT(audits.body, Not(HasSubstr(approval.id)));
}

TEST_F(WebPartTest, TaskPageRendersTheFormFromTheStepsFields) {
  startAudit();
  const store::TaskRecord task = openTask("audit", "SF-1");
  Browser auditor = signedIn("aud-001");
  const Page page = auditor.get("/tasks/" + task.id);
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_PAGE_OK(page);
  // The plan, no more than needed.
  EXPECT_THAT(page.body, HasSubstr("SF-1"));
  EXPECT_THAT(page.body, HasSubstr("North"));
  EXPECT_THAT(page.body, HasSubstr("15 January 2026"));
  EXPECT_THAT(page.body, Not(HasSubstr("Never shown")));
  EXPECT_THAT(page.body, Not(HasSubstr("ep-052")));
  EXPECT_THAT(page.body, HasSubstr("Read the plan and grade the standards."));
  // Grades as a radio group with a legend, required in words.
  EXPECT_THAT(page.body, HasSubstr("<legend>1. Views of the child are recorded <span "
                                   "class=\"required-marker\">(required)</span></legend>"));
  for (const char* grade : {"Outstanding", "Good", "Requires Improvement", "Inadequate"}) {
    EXPECT_THAT(page.body, HasSubstr("name=\"standard_1\" value=\"" + std::string(grade) + "\""));
  }
  // Long text with its limit, the required-if condition in words, the other kinds.
  EXPECT_THAT(page.body, HasSubstr("<textarea id=\"field-evidence\" name=\"evidence\" rows=\"8\" "
                                   "maxlength=\"200\""));
  EXPECT_THAT(page.body, HasSubstr("You can enter up to 200 characters."));
  EXPECT_THAT(page.body, HasSubstr("Required if standard 1 is Inadequate."));
  EXPECT_THAT(page.body, HasSubstr("type=\"date\" id=\"field-review_date\""));
  EXPECT_THAT(page.body, HasSubstr("type=\"number\" id=\"field-auditors\""));
  EXPECT_THAT(page.body, HasSubstr("min=\"1\" max=\"9\" step=\"1\""));
  EXPECT_THAT(page.body, HasSubstr("type=\"checkbox\" id=\"field-vague_provision\""));
  EXPECT_THAT(page.body, HasSubstr("name=\"agreement\" value=\"Partly agree\""));
  EXPECT_THAT(page.body, HasSubstr(">Submit audit</button>"));
  EXPECT_THAT(page.body, HasSubstr(">Claim task</button>"));  // a queue task

  // ep-052 contributed to SF-1: she does not see it at all.
  Browser conflicted = signedIn("ep-052");
  const Page hidden = conflicted.get("/tasks/" + task.id);
  EXPECT_EQ(hidden.status, 404);
  EXPECT_THAT(hidden.body, Not(HasSubstr("SF-1")));
}

TEST_F(WebPartTest, InvalidAnswersComeBackWithAnErrorSummaryLinkedToTheFields) {
  startAudit();
  const store::TaskRecord task = openTask("audit", "SF-1");
  Browser auditor = signedIn("aud-001");
  const Page form = auditor.get("/tasks/" + task.id);
  const std::string csrf =
      capture(form.body, "action=\"/tasks/" + task.id +
                             "\" novalidate>\\s*<input type=\"hidden\" name=\"csrf_token\" "
                             "value=\"([^\"]+)\"");
  ASSERT_FALSE(csrf.empty());
  const Page bad = auditor.post("/tasks/" + task.id, {{"csrf_token", csrf},
                                                      {"standard_1", "Inadequate"},
                                                      {"evidence", "Section F <is> vague"},
                                                      {"auditors", "three"},
                                                      {"author", "Team leader"}});
  ASSERT_EQ(bad.status, 422) << bad.body;
  snapshot("task-with-errors", bad);
  EXPECT_PAGE_OK(bad);
  EXPECT_THAT(bad.body, HasSubstr("<title>Error: "));
  EXPECT_THAT(bad.body, HasSubstr("role=\"alert\""));
  EXPECT_THAT(bad.body, HasSubstr("tabindex=\"-1\" data-error-summary"));
  EXPECT_THAT(bad.body, HasSubstr("There is a problem"));
  EXPECT_THAT(bad.body, HasSubstr("<a href=\"#field-standard_2\">Choose a grade for “2. Outcomes "
                                  "are SMART”</a>"));
  EXPECT_THAT(bad.body, HasSubstr("<a href=\"#field-concerns\">Answer “What are you worried "
                                  "about?”</a>"));
  EXPECT_THAT(bad.body, HasSubstr("<a href=\"#field-auditors\">“Auditors taking part” must be a "
                                  "number</a>"));
  // The fields linked to exist; inline errors are described by; input is kept (escaped).
  EXPECT_THAT(bad.body, HasSubstr("id=\"field-standard_2\""));
  EXPECT_THAT(bad.body, HasSubstr("id=\"field-concerns-error\""));
  EXPECT_THAT(bad.body, HasSubstr("aria-describedby=\"field-concerns-condition "
                                  "field-concerns-limit field-concerns-error\""));
  EXPECT_THAT(bad.body, HasSubstr("value=\"Inadequate\" checked"));
  EXPECT_THAT(bad.body, HasSubstr(">Section F &lt;is&gt; vague</textarea>"));
  EXPECT_THAT(bad.body, HasSubstr("value=\"three\""));
  EXPECT_THAT(bad.body, HasSubstr("value=\"Team leader\""));
  EXPECT_EQ(taskRecord(task.id).status, "open");

  const Page good = auditor.post("/tasks/" + task.id, {{"csrf_token", csrf},
                                                       {"standard_1", "Inadequate"},
                                                       {"standard_2", "Good"},
                                                       {"evidence", "Read the plan\r\nand advice"},
                                                       {"concerns", "Views missing"},
                                                       {"auditors", "3"},
                                                       {"review_date", "2026-01-20"},
                                                       {"vague_provision", "true"}});
  ASSERT_EQ(good.status, 303) << good.body;
  EXPECT_EQ(good.location(), "/tasks?notice=completed");
  const store::TaskRecord done = taskRecord(task.id);
  EXPECT_EQ(done.status, "completed");
  EXPECT_EQ(done.completed_by, "aud-001");
  const json result = json::parse(done.result_json);
  EXPECT_EQ(result["evidence"], "Read the plan\nand advice");
  EXPECT_EQ(result["auditors"], 3);
  EXPECT_EQ(result["vague_provision"], true);
  EXPECT_THAT(auditor.get("/tasks?notice=completed").body,
              HasSubstr("Your answers were saved. The task is complete."));

  // A second submission finds it done.
  const Page again = auditor.post(
      "/tasks/" + task.id,
      {{"csrf_token", csrf}, {"standard_1", "Good"}, {"standard_2", "Good"}, {"evidence", "x"}});
  EXPECT_EQ(again.status, 409);
}

TEST_F(WebPartTest, FormsWithoutTheRightTokenChangeNothing) {
  const std::string instance = startAudit();
  const store::TaskRecord task = openTask("audit", "SF-2");
  Browser auditor = signedIn("aud-001");
  const json answers = {{"standard_1", "Good"}, {"standard_2", "Good"}, {"evidence", "x"}};
  const Page missing = auditor.post(
      "/tasks/" + task.id, {{"standard_1", "Good"}, {"standard_2", "Good"}, {"evidence", "x"}});
  EXPECT_EQ(missing.status, 403);
  EXPECT_THAT(missing.body, HasSubstr("This form has expired"));
  EXPECT_THAT(missing.body, HasSubstr("Nothing was changed."));
  EXPECT_PAGE_OK(missing);

  // The token of another form (claiming) does not complete.
  const Page page = auditor.get("/tasks/" + task.id);
  const std::string claim_token = capture(
      page.body, "/claim\">\\s*<input type=\"hidden\" name=\"csrf_token\" value=\"([^\"]+)\"");
  ASSERT_FALSE(claim_token.empty());
  const Page wrong = auditor.post("/tasks/" + task.id, {{"csrf_token", claim_token},
                                                        {"standard_1", "Good"},
                                                        {"standard_2", "Good"},
                                                        {"evidence", "x"}});
  EXPECT_EQ(wrong.status, 403);
  // Another person's token does not work either.
  Browser other = signedIn("aud-002");
  const Page theirs = other.get("/tasks/" + task.id);
  const std::string their_token =
      capture(theirs.body, "action=\"/tasks/" + task.id +
                               "\" novalidate>\\s*<input type=\"hidden\" name=\"csrf_token\" "
                               "value=\"([^\"]+)\"");
  EXPECT_EQ(auditor
                .post("/tasks/" + task.id, {{"csrf_token", their_token},
                                            {"standard_1", "Good"},
                                            {"standard_2", "Good"},
                                            {"evidence", "x"}})
                .status,
            403);
  EXPECT_EQ(auditor.post("/tasks/" + task.id + "/claim", {{"csrf_token", "x"}}).status, 403);
  EXPECT_EQ(auditor.post("/start/web-audit", {{"plans", "[]"}}).status, 403);

  const store::TaskRecord after = taskRecord(task.id);
  EXPECT_EQ(after.status, "open");
  EXPECT_EQ(after.assignee, "");
  auto instances = read<std::vector<store::InstanceRecord>>(
      [](store::Transaction& tx) { return tx.listInstances({}); });
  EXPECT_EQ(instances.size(), 1u);
  EXPECT_EQ(instances.front().id, instance);
}

TEST_F(WebPartTest, ClaimAndReassignGoThroughTheWorkbench) {
  startAudit();
  const store::TaskRecord task = openTask("audit", "SF-1");
  Browser lead = signedIn("qa-001");
  const Page page = lead.get("/tasks/" + task.id);
  ASSERT_EQ(page.status, 200);
  EXPECT_PAGE_OK(page);
  // Eligible auditors only: ep-052 contributed to SF-1.
  EXPECT_THAT(page.body, HasSubstr("<option value=\"aud-001\">Tom Whitfield (aud-001)</option>"));
  EXPECT_THAT(page.body, HasSubstr("<option value=\"aud-002\">"));
  EXPECT_THAT(page.body, Not(HasSubstr("<option value=\"ep-052\">")));
  EXPECT_THAT(page.body, HasSubstr(">Reassign task</button>"));
  const std::string token = capture(
      page.body, "/reassign\">\\s*<input type=\"hidden\" name=\"csrf_token\" value=\"([^\"]+)\"");
  const Page moved = lead.post("/tasks/" + task.id + "/reassign",
                               {{"csrf_token", token}, {"assignee", "aud-002"}});
  EXPECT_EQ(moved.status, 303);
  EXPECT_EQ(moved.location(), "/tasks/" + task.id + "?notice=reassigned");
  EXPECT_EQ(taskRecord(task.id).assignee, "aud-002");
  // A conflicted person is refused by the workbench, and nothing changes.
  const Page refused =
      lead.post("/tasks/" + task.id + "/reassign", {{"csrf_token", token}, {"assignee", "ep-052"}});
  EXPECT_TRUE(refused.status == 403 || refused.status == 422) << refused.status;
  EXPECT_THAT(refused.body, HasSubstr("Nothing was changed."));
  EXPECT_EQ(taskRecord(task.id).assignee, "aud-002");

  // Claiming a queue task.
  const store::TaskRecord other = openTask("audit", "SF-2");
  Browser auditor = signedIn("aud-001");
  const Page claim_page = auditor.get("/tasks/" + other.id);
  const std::string claim =
      capture(claim_page.body,
              "/claim\">\\s*<input type=\"hidden\" name=\"csrf_token\" value=\"([^\"]+)\"");
  const Page claimed = auditor.post("/tasks/" + other.id + "/claim", {{"csrf_token", claim}});
  EXPECT_EQ(claimed.status, 303);
  EXPECT_EQ(taskRecord(other.id).assignee, "aud-001");
  EXPECT_THAT(auditor.get(claimed.location()).body, HasSubstr("The task is now yours."));
}

TEST_F(WebPartTest, ApprovalLinkGetAndHeadChangeNothing) {
  const store::TaskRecord approval = reachApproval();
  const std::string token = mailedToken("approve");
  ASSERT_FALSE(token.empty());
  const std::string path = "/approvals/" + token;

  // A mail scanner: GET and HEAD without a session.
  Browser scanner = browser();
  const Page page = scanner.get(path);
  ASSERT_EQ(page.status, 200) << page.body;
  snapshot("approval-link-signed-out", page);
  EXPECT_PAGE_OK(page);
  EXPECT_THAT(page.body, HasSubstr("<meta name=\"referrer\" content=\"no-referrer\">"));
  EXPECT_THAT(page.body, HasSubstr("You are about to <strong>APPROVE</strong> “Approve the "
                                   "moderation outcome” for plan SF-2."));
  EXPECT_THAT(page.body, HasSubstr(">Sign in to confirm</a>"));
  EXPECT_THAT(page.body, Not(HasSubstr("<form method=\"post\" action=\"/approvals/")));
  EXPECT_EQ(scanner.head(path).status, 200);
  EXPECT_EQ(scanner.get(path).status, 200);
  EXPECT_EQ(taskRecord(approval.id).status, "open");
  auto tokens = read<std::vector<store::ApprovalTokenRecord>>(
      [&](store::Transaction& tx) { return tx.listApprovalTokens(approval.id); });
  ASSERT_FALSE(tokens.empty());
  for (const auto& t : tokens) EXPECT_FALSE(t.used_at.has_value());

  // A POST without a session changes nothing either: it goes to sign-in.
  const Page blind = scanner.post(path, {{"comment", "x"}});
  EXPECT_EQ(blind.status, 303);
  EXPECT_EQ(blind.location(), "/sign-in?return=" + http::urlEncode(path));
  EXPECT_EQ(taskRecord(approval.id).status, "open");

  // Someone else signed in sees nothing about the task.
  Browser auditor = signedIn("aud-001");
  const Page not_theirs = auditor.get(path);
  EXPECT_EQ(not_theirs.status, 403);
  EXPECT_THAT(not_theirs.body, Not(HasSubstr("SF-2")));
  EXPECT_EQ(taskRecord(approval.id).status, "open");
}

TEST_F(WebPartTest, ApprovalLinkConfirmedOnceBySignedInApprover) {
  const store::TaskRecord approval = reachApproval();
  const std::string token = mailedToken("approve");
  const std::string path = "/approvals/" + token;
  Browser manager = browser();
  // "Sign in to confirm" goes through sign-in and back to the link page.
  const Page link = manager.get(path);
  const std::string sign_in = capture(link.body, "href=\"(/sign-in\\?return=[^\"]+)\"");
  ASSERT_FALSE(sign_in.empty());
  const Page done = manager.signIn("mgr-001", path);
  EXPECT_EQ(done.location(), path);

  const Page confirm = manager.get(path);
  ASSERT_EQ(confirm.status, 200);
  snapshot("approval-link-confirm", confirm);
  EXPECT_PAGE_OK(confirm);
  EXPECT_THAT(confirm.body, HasSubstr(">Confirm approval</button>"));
  EXPECT_THAT(confirm.body, HasSubstr("<label for=\"field-comment\">Comment (optional)</label>"));
  const std::string csrf = capture(confirm.body,
                                   "name=\"csrf_token\" value=\"([^\"]+)\"\\s*>\\s*"
                                   "<div class=\"form-group");
  ASSERT_FALSE(csrf.empty());
  EXPECT_EQ(manager.post(path, {{"comment", "no token"}}).status, 403);
  EXPECT_EQ(taskRecord(approval.id).status, "open");

  const Page decided = manager.post(path, {{"csrf_token", csrf}, {"comment", "Agreed."}});
  ASSERT_EQ(decided.status, 200) << decided.body;
  EXPECT_PAGE_OK(decided);
  EXPECT_THAT(decided.body, HasSubstr("<h1>Approved</h1>"));
  snapshot("approval-link-decided", decided);
  EXPECT_THAT(decided.body, HasSubstr("for plan SF-2"));
  const store::TaskRecord after = taskRecord(approval.id);
  EXPECT_EQ(after.status, "completed");
  EXPECT_EQ(after.completed_by, "mgr-001");
  EXPECT_EQ(json::parse(after.result_json)["decision"], "approve");

  const Page second = manager.post(path, {{"csrf_token", csrf}, {"comment", "Again."}});
  EXPECT_EQ(second.status, 409);
  EXPECT_THAT(second.body, HasSubstr("Already decided"));
  EXPECT_EQ(manager.get(path).status, 410);
}

TEST_F(WebPartTest, UnknownAndExpiredLinksRevealNothing) {
  reachApproval();
  Browser b = signedIn("mgr-001");
  const Page unknown = b.get("/approvals/" + std::string(43, 'A'));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_THAT(unknown.body, HasSubstr("This link is not valid"));
  EXPECT_THAT(unknown.body, Not(HasSubstr("SF-2")));
  EXPECT_PAGE_OK(unknown);
  const std::string token = mailedToken("reject");
  clock_.advance(std::chrono::hours(24 * 30));
  const Page expired = b.get("/approvals/" + token);
  EXPECT_EQ(expired.status, 410);
  EXPECT_THAT(expired.body, Not(HasSubstr("SF-2")));
}

TEST_F(WebPartTest, ApprovalTaskPageHasApproveAndRejectButtons) {
  const store::TaskRecord approval = reachApproval();
  Browser manager = signedIn("mgr-001");
  const Page page = manager.get("/tasks/" + approval.id);
  ASSERT_EQ(page.status, 200);
  EXPECT_PAGE_OK(page);
  EXPECT_THAT(page.body, HasSubstr("name=\"decision\" value=\"approve\">Approve</button>"));
  EXPECT_THAT(page.body, HasSubstr("name=\"decision\" value=\"reject\">Reject</button>"));
  const std::string csrf =
      capture(page.body, "action=\"/tasks/" + approval.id +
                             "\" novalidate>\\s*<input type=\"hidden\" name=\"csrf_token\" "
                             "value=\"([^\"]+)\"");
  const Page rejected = manager.post(
      "/tasks/" + approval.id,
      {{"csrf_token", csrf}, {"decision", "reject"}, {"comment", "Findings need evidence."}});
  EXPECT_EQ(rejected.status, 303) << rejected.body;
  EXPECT_EQ(json::parse(taskRecord(approval.id).result_json)["decision"], "reject");
}

TEST_F(WebPartTest, StartingTwiceWithTheSameFormStartsOneCycle) {
  Browser lead = signedIn("qa-001");
  const Page list = lead.get("/start");
  ASSERT_EQ(list.status, 200);
  EXPECT_PAGE_OK(list);
  EXPECT_THAT(list.body, HasSubstr("href=\"/start/web-audit\">Web plan audit</a>"));
  const Page form = lead.get("/start/web-audit");
  ASSERT_EQ(form.status, 200);
  EXPECT_PAGE_OK(form);
  EXPECT_THAT(form.body, HasSubstr("value=\"General quality\""));  // defaults prefilled
  EXPECT_THAT(form.body, HasSubstr("The month&#39;s theme"));      // description as hint
  EXPECT_THAT(form.body, HasSubstr(">Start audit</button>"));
  const std::string csrf = capture(form.body,
                                   "name=\"csrf_token\" value=\"([^\"]+)\"\\s*>\\s*"
                                   "<input type=\"hidden\" name=\"idempotency_key\"");
  const std::string key = capture(form.body, "name=\"idempotency_key\" value=\"([^\"]+)\"");
  ASSERT_FALSE(csrf.empty());
  ASSERT_FALSE(key.empty());

  // Missing the required list: the form comes back with the error and the values kept.
  const Page bad =
      lead.post("/start/web-audit",
                {{"csrf_token", csrf}, {"idempotency_key", key}, {"theme", "Transition"}});
  ASSERT_EQ(bad.status, 422) << bad.body;
  EXPECT_PAGE_OK(bad);
  EXPECT_THAT(bad.body, HasSubstr("href=\"#field-plans\""));
  EXPECT_THAT(bad.body, HasSubstr("value=\"Transition\""));

  const std::vector<std::pair<std::string, std::string>> body = {
      {"csrf_token", csrf},    {"idempotency_key", key}, {"plans", twoPlans().dump()},
      {"theme", "Transition"}, {"per_locality", "1"},    {"audit_window", "10 days"}};
  const Page first = lead.post("/start/web-audit", body);
  const Page second = lead.post("/start/web-audit", body);
  ASSERT_EQ(first.status, 303) << first.body;
  ASSERT_EQ(second.status, 303) << second.body;
  const std::string instance = capture(first.location(), "^/instances/([^?]+)\\?");
  ASSERT_FALSE(instance.empty()) << first.location();
  EXPECT_EQ(capture(second.location(), "^/instances/([^?]+)\\?"), instance);
  auto instances = read<std::vector<store::InstanceRecord>>(
      [](store::Transaction& tx) { return tx.listInstances({}); });
  ASSERT_EQ(instances.size(), 1u);
  EXPECT_EQ(json::parse(instances.front().data_json)["theme"], "Transition");

  const Page shown = lead.get(first.location());
  ASSERT_EQ(shown.status, 200);
  EXPECT_PAGE_OK(shown);
  EXPECT_THAT(shown.body, HasSubstr("The audit cycle has started."));
  EXPECT_THAT(shown.body, HasSubstr("Audit the EHC plan"));
  EXPECT_THAT(shown.body, HasSubstr("qa-001"));  // history: who started it

  // An auditor may not start.
  Browser auditor = signedIn("aud-001");
  EXPECT_EQ(auditor.get("/start").status, 403);
  EXPECT_EQ(auditor.get("/start/web-audit").status, 403);
}

TEST_F(WebPartTest, DocumentsAreListedAndDownloadedOnlyByThoseWhoSeeThem) {
  const std::string instance = startAudit();
  const auto file = dir_ / "briefing.docx";
  std::ofstream(file, std::ios::binary) << "PK-the-briefing";
  store::DocumentRecord doc;
  doc.id = "doc-1";
  doc.instance_id = instance;
  doc.step_id = "briefing";
  doc.name = "5-minute briefing.docx";
  doc.path = file.string();
  doc.media_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
  doc.size = 15;
  doc.created_at = clock_.now();
  ASSERT_TRUE(
      store_->transact([&](store::Transaction& tx) { return tx.insertDocument(doc); }).isOk());
  Browser lead = signedIn("qa-001");
  const Page list = lead.get("/documents");
  ASSERT_EQ(list.status, 200);
  EXPECT_PAGE_OK(list);
  EXPECT_THAT(list.body, HasSubstr("href=\"/documents/doc-1/download\""));
  EXPECT_THAT(list.body, HasSubstr("5-minute briefing.docx"));
  const Page download = lead.get("/documents/doc-1/download");
  EXPECT_EQ(download.status, 200);
  EXPECT_EQ(download.body, "PK-the-briefing");
  EXPECT_THAT(download.header("content-disposition"), HasSubstr("attachment"));

  // An auditor with no task in the cycle does not see it.
  Browser outsider = signedIn("ep-052");
  EXPECT_THAT(outsider.get("/documents").body, Not(HasSubstr("doc-1")));
}

TEST_F(WebPartTest, ModerationQueueIsForModeratorsAndOversight) {
  reachApproval();
  startAudit();
  const store::TaskRecord audit = openTask("audit", "SF-1");
  ASSERT_TRUE(workbench_
                  ->complete(principal("aud-002", {"auditor"}), audit.id,
                             {{"standard_1", "Inadequate"},
                              {"standard_2", "Good"},
                              {"evidence", "Read it."},
                              {"concerns", "Views missing."}},
                             origin())
                  .isOk());
  Browser moderator = signedIn("mod-001");
  const Page queue = moderator.get("/moderation");
  ASSERT_EQ(queue.status, 200);
  EXPECT_PAGE_OK(queue);
  EXPECT_THAT(queue.body, HasSubstr("SF-1"));
  EXPECT_THAT(queue.body, HasSubstr("aria-current=\"page\">Moderation</a>"));
  Browser auditor = signedIn("aud-001");
  EXPECT_EQ(auditor.get("/moderation").status, 403);
  EXPECT_THAT(auditor.get("/tasks").body, Not(HasSubstr("href=\"/moderation\"")));
}

TEST_F(WebPartTest, DashboardShowsFiguresAndGradesAsATable) {
  reachApproval();
  Browser lead = signedIn("qa-001");
  const Page page = lead.get("/dashboard");
  ASSERT_EQ(page.status, 200);
  EXPECT_PAGE_OK(page);
  EXPECT_THAT(page.body, HasSubstr("moderation outcomes awaiting approval"));
  EXPECT_THAT(page.body, Not(HasSubstr("mails that could not be sent")));
  Browser admin = signedIn("adm-001");
  EXPECT_THAT(admin.get("/dashboard").body, HasSubstr("mails that could not be sent"));
}

TEST_F(WebPartTest, StylesheetIsServedWithALongCacheUnderItsVersion) {
  Browser b = browser();
  const Page page = b.get("/sign-in");
  const std::string href = capture(page.body, "<link rel=\"stylesheet\" href=\"([^\"]+)\">");
  ASSERT_THAT(href, HasSubstr("/assets/sendflow.css?v="));
  const Page css = b.get(href);
  EXPECT_EQ(css.status, 200);
  EXPECT_THAT(css.header("content-type"), HasSubstr("text/css"));
  EXPECT_THAT(css.header("cache-control"), HasSubstr("max-age=31536000"));
  EXPECT_THAT(css.body, HasSubstr(".error-summary"));
  EXPECT_THAT(b.get("/assets/sendflow.css").header("cache-control"), HasSubstr("max-age=300"));
  // A ".." segment is refused before routing (HttpServer: one canonical spelling per path).
  EXPECT_EQ(b.get("/assets/../web_part.cpp").status, 400);
  EXPECT_EQ(b.get("/assets/other.css").status, 404);
  const std::string script = capture(page.body, "<script src=\"([^\"]+)\" defer>");
  EXPECT_EQ(b.get(script).status, 200);
}

// Every page, for every role: one h1, labelled inputs, no inline script or style, headings in
// order, table headers with scope, and a status that matches what the role may do.
TEST_F(WebPartTest, EveryPageFollowsTheRulesForEveryRole) {
  const store::TaskRecord approval = reachApproval();
  const store::TaskRecord audit = openTask("audit", "SF-1");
  const std::string instance = approval.instance_id;
  struct Expect {
    std::string path;
    std::map<std::string, int> status;  // user -> status (-1: 200 or 404); others 200
  };
  const std::vector<Expect> pages = {
      {"/tasks", {}},
      {"/tasks/" + audit.id, {{"mod-001", 404}, {"mgr-001", 200}, {"ep-052", 404}}},
      {"/tasks/" + approval.id,
       {{"aud-001", 404}, {"aud-002", 404}, {"ep-052", 404}, {"mod-001", 404}}},
      {"/start",
       {{"aud-001", 403}, {"aud-002", 403}, {"ep-052", 403}, {"mod-001", 403}, {"mgr-001", 403}}},
      {"/start/web-audit",
       {{"aud-001", 403}, {"aud-002", 403}, {"ep-052", 403}, {"mod-001", 403}, {"mgr-001", 403}}},
      // Non-oversight roles see the cycle when a task of it is theirs (the workbench decides).
      {"/instances/" + instance,
       {{"aud-001", 200}, {"aud-002", -1}, {"ep-052", -1}, {"mod-001", 200}}},
      {"/moderation", {{"aud-001", 403}, {"aud-002", 403}, {"ep-052", 403}}},
      {"/documents", {}},
      {"/dashboard", {}},
      {"/no-such-page", {}},
  };
  for (const std::string user :
       {"qa-001", "aud-001", "aud-002", "ep-052", "mod-001", "mgr-001", "adm-001"}) {
    Browser b = signedIn(user);
    for (const Expect& e : pages) {
      const Page page = b.get(e.path);
      if (e.path == "/no-such-page") {
        EXPECT_EQ(page.status, 404);
        continue;  // the server's own JSON 404
      }
      const auto it = e.status.find(user);
      if (it != e.status.end()) {
        if (it->second == -1) {  // either: not confirmed to exist, or visible
          EXPECT_TRUE(page.status == 200 || page.status == 404) << user << " " << e.path;
        } else {
          EXPECT_EQ(page.status, it->second) << user << " " << e.path;
        }
      } else {
        EXPECT_EQ(page.status, 200) << user << " " << e.path << "\n" << page.body;
      }
      EXPECT_THAT(page.header("content-type"), HasSubstr("text/html")) << user << " " << e.path;
      std::string name = user + e.path;
      std::replace(name.begin(), name.end(), '/', '_');
      snapshot(name, page);
      const auto problems = pageProblems(page.body);
      EXPECT_TRUE(problems.empty())
          << user << " " << e.path << ": " << ::testing::PrintToString(problems);
      // The server's CSP forbids inline code; the pages rely on none.
      EXPECT_THAT(page.header("content-security-policy"), HasSubstr("script-src 'self'"));
    }
  }
  Browser anonymous = browser();
  EXPECT_PAGE_OK(anonymous.get("/sign-in"));
}

}  // namespace
}  // namespace sendflow::web::testing
