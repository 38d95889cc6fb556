// Sign-out revokes the session (issue 16): a copy of the session cookie kept from before signing
// out (a shared computer, a proxy's log, a stolen cookie) is refused afterwards, for pages and
// for forms, through a real HttpServer; the same person's other sessions keep working.

#include <gtest/gtest.h>

#include "tests/web/web_fixture.h"

namespace sendflow::web::testing {
namespace {

class WebSignOutTest : public WebPartFixture {};

std::string signOutToken(const Page& page) {
  return capture(page.body,
                 "action=\"/sign-out\">\\s*<input type=\"hidden\" name=\"csrf_token\" "
                 "value=\"([^\"]+)\"");
}

TEST_F(WebSignOutTest, ACookieKeptFromBeforeSignOutIsRefusedAfterIt) {
  startAudit();
  const store::TaskRecord audit = openTask("audit", "SF-2");
  Browser browser_used = signedIn("aud-001");
  Browser other_browser = signedIn("aud-001");

  const Page task = browser_used.get("/tasks/" + audit.id);
  ASSERT_EQ(task.status, 200);
  const std::string copied = browser_used.jar().at(auth::kSessionCookieName);
  const std::string claim_token =
      capture(task.body, "name=\"csrf_token\" value=\"([^\"]+)\">\\s*<p>This task is waiting");
  ASSERT_FALSE(claim_token.empty()) << task.body;

  const Page out = browser_used.post("/sign-out", {{"csrf_token", signOutToken(task)}});
  ASSERT_EQ(out.status, 303);
  EXPECT_EQ(out.location(), "/sign-in?notice=signed-out");

  Browser replay = browser();
  replay.jar()[auth::kSessionCookieName] = copied;
  const Page page = replay.get("/tasks/" + audit.id);
  EXPECT_EQ(page.status, 303);
  EXPECT_EQ(page.location().rfind("/sign-in?return=", 0), 0u) << page.location();
  const Page claim = replay.post("/tasks/" + audit.id + "/claim", {{"csrf_token", claim_token}});
  EXPECT_EQ(claim.status, 303);
  EXPECT_EQ(claim.location().rfind("/sign-in", 0), 0u) << claim.location();
  EXPECT_EQ(taskRecord(audit.id).assignee, "") << "the replayed cookie claimed the task";

  // The server's authentication of a session cookie (the hook for every non-API route) refuses
  // it too, saying why.
  http::Request request;
  request.headers["Cookie"] = std::string(auth::kSessionCookieName) + "=" + copied;
  const auto principal = web_->sessionPrincipal(request);
  ASSERT_FALSE(principal.isOk());
  EXPECT_EQ(principal.status().code(), core::StatusCode::kUnauthenticated);
  EXPECT_NE(principal.status().message().find("signed out"), std::string::npos);

  // Signing out in one browser leaves the person's other sessions alone.
  EXPECT_EQ(other_browser.get("/tasks").status, 200);
}

TEST_F(WebSignOutTest, SigningOutTwiceWithTheSameCookieIsHarmless) {
  Browser b = signedIn("aud-001");
  const Page tasks = b.get("/tasks");
  const std::string copied = b.jar().at(auth::kSessionCookieName);
  const std::string token = signOutToken(tasks);
  ASSERT_EQ(b.post("/sign-out", {{"csrf_token", token}}).status, 303);
  Browser again = browser();
  again.jar()[auth::kSessionCookieName] = copied;
  const Page second = again.post("/sign-out", {{"csrf_token", token}});
  EXPECT_EQ(second.status, 303);
  EXPECT_EQ(second.location(), "/sign-in?notice=signed-out");
}

}  // namespace
}  // namespace sendflow::web::testing
