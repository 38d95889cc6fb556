// Bytes that are not UTF-8 in web forms (application/x-www-form-urlencoded, decoded by
// http::Request::formFields) and in query parameters, against the web part on a real server:
// the client's mistake, answered 4xx naming the field, never a 500, and nothing changed.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/web/web_fixture.h"

namespace sendflow::web::testing {
namespace {

using ::testing::HasSubstr;

class WebFormBytesTest : public WebPartFixture {
 protected:
  // The task form's CSRF token, as the page gives it.
  static std::string taskFormToken(const Page& page, const std::string& task_id) {
    return capture(page.body, "action=\"/tasks/" + task_id +
                                  "\" novalidate>\\s*<input type=\"hidden\" name=\"csrf_token\" "
                                  "value=\"([^\"]+)\"");
  }
};

TEST_F(WebFormBytesTest, AnswerThatIsNotUtf8IsRefusedNamingTheField) {
  startAudit();
  const store::TaskRecord task = openTask("audit", "SF-1");
  Browser auditor = signedIn("aud-001");
  const std::string csrf = taskFormToken(auditor.get("/tasks/" + task.id), task.id);
  ASSERT_FALSE(csrf.empty());
  // "caf\xE9" in Latin-1, as an old form or a script might send it.
  const Page refused = auditor.send("POST", "/tasks/" + task.id,
                                    "csrf_token=" + http::urlEncode(csrf) +
                                        "&standard_1=Good&standard_2=Good&evidence=caf%E9+au+lait");
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_THAT(refused.body, HasSubstr("evidence: not valid UTF-8 text"));
  EXPECT_THAT(refused.body, HasSubstr("Nothing was changed."));
  EXPECT_EQ(taskRecord(task.id).status, "open");

  // A name that is not UTF-8 is refused too; valid text still goes through.
  const Page bad_name = auditor.send("POST", "/tasks/" + task.id,
                                     "csrf_token=" + http::urlEncode(csrf) + "&%FF%FE=x");
  EXPECT_EQ(bad_name.status, 422) << bad_name.body;
  EXPECT_THAT(bad_name.body, HasSubstr("a field name is not valid UTF-8 text"));
  const Page done = auditor.send("POST", "/tasks/" + task.id,
                                 "csrf_token=" + http::urlEncode(csrf) +
                                     "&standard_1=Good&standard_2=Good&evidence=caf%C3%A9+au+lait");
  EXPECT_EQ(done.status, 303) << done.body;
  EXPECT_EQ(taskRecord(task.id).status, "completed");
}

TEST_F(WebFormBytesTest, StartInputThatIsNotUtf8IsRefusedAndNothingStarts) {
  Browser lead = signedIn("qa-001");
  const Page form = lead.get("/start/web-audit");
  const std::string csrf = capture(form.body, "name=\"csrf_token\" value=\"([^\"]+)\"");
  ASSERT_FALSE(csrf.empty());
  const Page refused = lead.send("POST", "/start/web-audit",
                                 "csrf_token=" + http::urlEncode(csrf) + "&plans=" +
                                     http::urlEncode(twoPlans().dump()) + "&theme=Transi%C0tion");
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_THAT(refused.body, HasSubstr("theme: not valid UTF-8 text"));
  auto instances = read<std::vector<store::InstanceRecord>>(
      [](store::Transaction& tx) { return tx.listInstances({}); });
  EXPECT_TRUE(instances.empty());
}

TEST_F(WebFormBytesTest, SignInFormRefusesBytesThatAreNotUtf8) {
  Browser b = browser();
  const Page form = b.get("/sign-in");
  const std::string csrf = capture(form.body, "name=\"csrf_token\" value=\"([^\"]+)\"");
  const Page refused =
      b.send("POST", "/sign-in", "csrf_token=" + http::urlEncode(csrf) + "&user=qa-001%ED%A0%80");
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_THAT(refused.body, HasSubstr("user: not valid UTF-8 text"));
  EXPECT_EQ(b.get("/tasks").status, 303);  // not signed in
}

TEST_F(WebFormBytesTest, QueryParametersAndIdsThatAreNotUtf8AreNotAServerError) {
  Browser auditor = signedIn("aud-001");
  EXPECT_EQ(auditor.get("/tasks?notice=%FF%FE").status, 200);
  EXPECT_EQ(auditor.get("/tasks/%FF%FE").status, 404);  // the id goes into the log line too
  Browser anonymous = browser();
  const Page sign_in = anonymous.get("/sign-in?return=%2Ftasks%FF&error=%C0");
  EXPECT_LT(sign_in.status, 500) << sign_in.body;
}

}  // namespace
}  // namespace sendflow::web::testing
