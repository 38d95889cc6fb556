#pragma once
// The web part served for real: a Workbench and ApprovalLinks over a temporary SQLite store, the
// development sign-in with config/users.json, the WebPart's routes on an HttpServer bound to a
// free port on 127.0.0.1, and a small browser (Poco's HTTP client with a cookie jar) that signs
// in as one of the development users, reads pages and posts forms.

#include <gtest/gtest.h>
#include <unistd.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "server/auth/dev_sign_in.h"
#include "server/auth/session_codec.h"
#include "server/core/clock.h"
#include "server/engine/action_registry.h"
#include "server/engine/builtin_actions.h"
#include "server/engine/definition_loader.h"
#include "server/engine/runtime.h"
#include "server/http/http_server.h"
#include "server/http/router.h"
#include "server/store/sqlite_store.h"
#include "server/web/web_part.h"
#include "server/workbench/approval_links.h"
#include "server/workbench/directory.h"
#include "server/workbench/workbench.h"

namespace sendflow::web::testing {

using nlohmann::json;

inline core::TimePoint at(const std::string& iso) {
  core::TimePoint t;
  EXPECT_TRUE(core::parseIso8601(iso, t)) << iso;
  return t;
}

// Every field type of a form, a required-if field, a for-each over plans (the task subject),
// a moderation and an approval, the shape of the shipped EHC plan audit.
inline const char kWebAudit[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<workflow xmlns="urn:sendflow:workflow:1" id="web-audit" version="1" title="Web plan audit">
  <description>Audit each plan, moderate it and approve the moderation.</description>
  <roles>
    <role id="qa-lead" title="QA lead"/>
    <role id="auditor" title="Auditor"/>
    <role id="moderator" title="Moderator"/>
    <role id="manager" title="Head of service"/>
  </roles>
  <inputs>
    <input name="plans" type="list" description="The plans to audit"/>
    <input name="theme" type="string" default="General quality" description="The month's theme"/>
    <input name="per_locality" type="number" default="2" description="Plans sampled in each locality"/>
    <input name="audit_window" type="duration" default="10 days"/>
  </inputs>
  <steps>
    <foreach id="each" title="Each plan" items="plans" as="plan">
      <task id="audit" title="Audit the EHC plan" role="auditor" due="today + audit_window">
        <description>Read the plan and grade the standards.</description>
        <form>
          <field name="standard_1" type="grade" required="true" label="1. Views of the child are recorded"/>
          <field name="standard_2" type="grade" required="true" label="2. Outcomes are SMART"/>
          <field name="evidence" type="long-text" required="true" max-length="200" label="Evidence for the grades"/>
          <field name="concerns" type="long-text" max-length="400" label="What are you worried about?"
                 required-if="standard_1 == 'Inadequate'"/>
          <field name="agreement" type="choice" choices="Agree|Partly agree|Disagree" label="Do you agree with the last audit?"/>
          <field name="review_date" type="date" label="Date of the last annual review"/>
          <field name="auditors" type="integer" min="1" max="9" label="Auditors taking part"/>
          <field name="vague_provision" type="boolean" label="Section F uses vague wording"/>
          <field name="author" type="text" max-length="100" label="Your job title"/>
        </form>
      </task>
      <task id="moderate" title="Moderate the audit" role="moderator" due="today + 5 days">
        <form>
          <field name="moderated_grade" type="grade" required="true" label="Moderated overall grade"/>
        </form>
      </task>
      <approval id="approve" title="Approve the moderation outcome" role="manager"
                due="today + 3 days" on-reject="moderate">
        <description>Approve the moderated grade or send it back.</description>
      </approval>
    </foreach>
  </steps>
</workflow>
)";

// Two plans: ep-052 contributed to SF-1, so she may not audit it.
inline json twoPlans() {
  return json::array({{{"plan_ref", "SF-1"},
                       {"locality", "North"},
                       {"finalised_date", "2026-01-15"},
                       {"caseworker", "cw-001"},
                       {"contributors", {"ep-052"}},
                       {"child_name", "Never shown"}},
                      {{"plan_ref", "SF-2"},
                       {"locality", "South"},
                       {"finalised_date", "2026-02-03"},
                       {"caseworker", "cw-002"},
                       {"contributors", {"ep-003"}}}});
}

struct Page {
  int status = 0;
  std::string body;
  std::multimap<std::string, std::string> headers;  // lower-case names
  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  std::string location() const { return header("location"); }
};

// The first capture of `pattern` in `text`, or "".
inline std::string capture(const std::string& text, const std::string& pattern) {
  std::smatch m;
  return std::regex_search(text, m, std::regex(pattern)) ? m[1].str() : "";
}

// A browser with a cookie jar.
class Browser {
 public:
  explicit Browser(int port) : port_(port) {}

  Page get(const std::string& path) { return send("GET", path, ""); }
  Page head(const std::string& path) { return send("HEAD", path, ""); }
  Page post(const std::string& path, const std::vector<std::pair<std::string, std::string>>& form) {
    std::string body;
    for (const auto& [k, v] : form) {
      body += (body.empty() ? "" : "&") + http::urlEncode(k) + "=" + http::urlEncode(v);
    }
    return send("POST", path, body);
  }

  Page send(const std::string& method, const std::string& path, const std::string& body) {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port_));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    std::string cookies;
    for (const auto& [k, v] : jar_) cookies += (cookies.empty() ? "" : "; ") + k + "=" + v;
    if (!cookies.empty()) request.set("Cookie", cookies);
    request.set("User-Agent", "web-part-test");
    if (method == "POST") {
      request.setContentType("application/x-www-form-urlencoded");
      request.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    std::ostream& out = session.sendRequest(request);
    out << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Page page;
    page.status = response.getStatus();
    if (method != "HEAD") {
      std::ostringstream text;
      Poco::StreamCopier::copyStream(in, text);
      page.body = text.str();
    }
    for (const auto& [k, v] : response) {
      std::string lower;
      for (char c : k) lower.push_back(static_cast<char>(std::tolower(c)));
      page.headers.emplace(lower, v);
      if (lower == "set-cookie") remember(v);
    }
    return page;
  }

  void remember(const std::string& set_cookie) {
    const std::string pair = set_cookie.substr(0, set_cookie.find(';'));
    const auto eq = pair.find('=');
    const std::string name = pair.substr(0, eq), value = pair.substr(eq + 1);
    if (value.empty() || set_cookie.find("Max-Age=0") != std::string::npos) {
      jar_.erase(name);
    } else {
      jar_[name] = value;
    }
  }
  std::map<std::string, std::string>& jar() { return jar_; }

  // Signs in through the development sign-in page; returns the final redirect.
  Page signIn(const std::string& user, const std::string& return_path = "") {
    const Page form =
        get("/sign-in" +
            (return_path.empty() ? std::string() : "?return=" + http::urlEncode(return_path)));
    EXPECT_EQ(form.status, 200) << form.body;
    const std::string csrf = capture(form.body, "name=\"csrf_token\" value=\"([^\"]+)\"");
    const std::string back = capture(form.body, "name=\"return\" value=\"([^\"]*)\"");
    return post("/sign-in", {{"csrf_token", csrf}, {"return", back}, {"user", user}});
  }

 private:
  int port_;
  std::map<std::string, std::string> jar_;
};

class WebPartFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sendflow-web-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto opened = store::SqliteStore::open((dir_ / "sendflow.db").string());
    ASSERT_TRUE(opened.isOk()) << opened.status().toString();
    store_ = std::move(*opened);
    ASSERT_TRUE(engine::registerBuiltinActions(actions_).isOk());
    runtime_ = std::make_unique<engine::Runtime>(*store_, actions_, clock_);
    auto loaded = engine::DefinitionLoader::loadString(kWebAudit, "web-audit.xml");
    ASSERT_TRUE(loaded.isOk()) << loaded.status().toString();
    ASSERT_TRUE(runtime_->deploy(loaded.definition, kWebAudit).isOk());
    const std::string users = std::string(SENDFLOW_SOURCE_DIR) + "/config/users.json";
    directory_ = std::make_unique<workbench::Directory>(*store_, clock_);
    ASSERT_TRUE(directory_->loadFile(users).isOk());
    workbench_ = std::make_unique<workbench::Workbench>(*runtime_, *directory_, clock_);
    workbench::ApprovalLinkOptions link_options;
    link_options.public_url = "http://sendflow.test";
    links_ = std::make_unique<workbench::ApprovalLinks>(*runtime_, link_options, clock_);
    runtime_->setTaskListener(links_.get());
    revocations_ = std::make_unique<auth::SessionRevocations>(*store_, clock_);
    sessions_ = std::make_unique<auth::SessionCodec>(std::string(48, 's'), clock_,
                                                     std::chrono::hours(8), revocations_.get());
    auto dev = auth::DevSignIn::load(users);
    ASSERT_TRUE(dev.isOk()) << dev.status().toString();
    dev_ = std::make_unique<auth::DevSignIn>(std::move(*dev));

    WebPartOptions options;
    options.sessions = sessions_.get();
    options.dev_sign_in = dev_.get();
    options.public_url = "http://sendflow.test";
    options.council_name = "Testshire County Council";
    configure(options);
    web_ = std::make_unique<WebPart>(*workbench_, *links_, options, clock_);
    web_->addRoutes(router_);
    http::ServerOptions server_options;
    server_options.address = "127.0.0.1";
    server_options.port = 0;
    server_ = std::make_unique<http::HttpServer>(
        server_options, router_,
        [this](const http::Request& r) { return web_->sessionPrincipal(r); }, nullptr, nullptr);
    const core::Status started = server_->start();
    ASSERT_TRUE(started.isOk()) << started.toString();
  }
  void TearDown() override {
    if (server_) server_->stop(std::chrono::milliseconds(500));
    server_.reset();
    web_.reset();
    runtime_->setTaskListener(nullptr);
    sessions_.reset();
    revocations_.reset();
    links_.reset();
    workbench_.reset();
    directory_.reset();
    runtime_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Lets a test change the options before the web part is made.
  virtual void configure(WebPartOptions&) {}

  Browser browser() { return Browser(server_->port()); }
  Browser signedIn(const std::string& user) {
    Browser b = browser();
    const Page done = b.signIn(user);
    EXPECT_EQ(done.status, 303) << done.body;
    return b;
  }

  static auth::Principal principal(const std::string& id, std::set<std::string> roles) {
    auth::Principal p;
    p.id = id;
    p.name = id;
    p.roles = std::move(roles);
    p.via = "development";
    return p;
  }
  workbench::RequestOrigin origin() const {
    return workbench::RequestOrigin{"127.0.0.1", "gtest", "req-1", "api"};
  }

  std::string startAudit() {
    auto started = workbench_->start(principal("qa-001", {"qa-lead"}), "web-audit",
                                     {{"plans", twoPlans()}}, "", "", origin());
    EXPECT_TRUE(started.isOk()) << started.status().toString();
    return started.isOk() ? started->instance_id : "";
  }

  template <typename T>
  T read(const std::function<core::StatusOr<T>(store::Transaction&)>& f) {
    T out{};
    const core::Status st = store_->transact([&](store::Transaction& tx) -> core::Status {
      SENDFLOW_ASSIGN_OR_RETURN(out, f(tx));
      return core::Status::ok();
    });
    EXPECT_TRUE(st.isOk()) << st.toString();
    return out;
  }
  std::vector<store::TaskRecord> openTasks(const std::string& step_id) {
    auto all = read<std::vector<store::TaskRecord>>(
        [](store::Transaction& tx) { return tx.listTasks("open", "", 0); });
    std::vector<store::TaskRecord> out;
    for (auto& t : all) {
      if (t.step_id == step_id) out.push_back(t);
    }
    return out;
  }
  store::TaskRecord openTask(const std::string& step_id, const std::string& plan_ref) {
    for (auto& t : openTasks(step_id)) {
      if (json::parse(t.subject_json).value("plan_ref", "") == plan_ref) return t;
    }
    ADD_FAILURE() << "no open " << step_id << " task for " << plan_ref;
    return {};
  }
  store::TaskRecord taskRecord(const std::string& id) {
    auto t =
        read<std::optional<store::TaskRecord>>([&](store::Transaction& tx) { return tx.task(id); });
    return t ? *t : store::TaskRecord{};
  }

  // Audits and moderates SF-2 so that its approval task is open; returns the approval task.
  store::TaskRecord reachApproval() {
    startAudit();
    const store::TaskRecord audit = openTask("audit", "SF-2");
    EXPECT_TRUE(workbench_
                    ->complete(principal("aud-001", {"auditor"}), audit.id,
                               {{"standard_1", "Inadequate"},
                                {"standard_2", "Good"},
                                {"evidence", "Read it."},
                                {"concerns", "Views missing."}},
                               origin())
                    .isOk());
    const store::TaskRecord moderation = openTask("moderate", "SF-2");
    EXPECT_TRUE(workbench_
                    ->complete(principal("mod-001", {"moderator"}), moderation.id,
                               {{"moderated_grade", "Requires Improvement"}}, origin())
                    .isOk());
    return openTask("approve", "SF-2");
  }

  // The approval link tokens mailed for the decision `decision` ("approve" | "reject").
  std::string mailedToken(const std::string& decision) {
    auto mails = read<std::vector<store::OutboxRecord>>(
        [](store::Transaction& tx) { return tx.listOutbox(); });
    for (const auto& mail : mails) {
      std::smatch m;
      const std::regex link("/approvals/([A-Za-z0-9_-]{43})");
      for (auto it = std::sregex_iterator(mail.body.begin(), mail.body.end(), link);
           it != std::sregex_iterator(); ++it) {
        const std::string token = (*it)[1].str();
        auto record = read<std::optional<store::ApprovalTokenRecord>>([&](store::Transaction& tx) {
          return tx.approvalToken(workbench::ApprovalLinks::hashToken(token));
        });
        if (record && record->decision == decision) return token;
      }
    }
    ADD_FAILURE() << "no mailed " << decision << " link";
    return "";
  }

  std::filesystem::path dir_;
  core::ManualClock clock_{at("2026-03-02T09:00:00Z")};
  engine::ActionRegistry actions_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<engine::Runtime> runtime_;
  std::unique_ptr<workbench::Directory> directory_;
  std::unique_ptr<workbench::Workbench> workbench_;
  std::unique_ptr<workbench::ApprovalLinks> links_;
  std::unique_ptr<auth::SessionRevocations> revocations_;
  std::unique_ptr<auth::SessionCodec> sessions_;
  std::unique_ptr<auth::DevSignIn> dev_;
  std::unique_ptr<WebPart> web_;
  http::Router router_;
  std::unique_ptr<http::HttpServer> server_;
};

}  // namespace sendflow::web::testing
