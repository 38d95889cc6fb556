// The WebDAV connector against a scripted peer: bearer authentication and answers a real server
// does not give (lighttpd is exercised by the contract suite in tests/integration).
#include "connectors/webdav/webdav_source.h"

#include <gtest/gtest.h>

#include "tests/connectors/fakes/fake_http_server.h"

namespace sendflow::connectors {
namespace {

// A WebDAV server that demands a bearer token and answers PROPFIND with `multistatus_`.
class ScriptedDav final : public testing::FakeHttpServer {
 public:
  ScriptedDav() { start(); }
  ~ScriptedDav() override { stop(); }
  std::string multistatus;
  int status = 207;

 protected:
  testing::FakeReply handle(const testing::FakeRequest& request) override {
    if (request.header("authorization") != "Bearer intranet-token") {
      return testing::FakeReply{
          401, "text/plain", "Unauthorized", {{"WWW-Authenticate", "Bearer"}}};
    }
    if (request.method != "PROPFIND" || request.header("depth") != "1" ||
        request.header("content-type").rfind("application/xml", 0) != 0) {
      return testing::FakeReply{400, "text/plain", "bad request", {}};
    }
    return testing::FakeReply{status, "application/xml; charset=utf-8", multistatus, {}};
  }
};

class WebDavSourceTest : public ::testing::Test {
 protected:
  WebDavSource connect(const std::string& token) {
    WebDavOptions options;
    options.base_url = dav_.baseUrl() + "/dav";
    options.library = "EHC plans";
    options.credential.kind = CredentialConfig::Kind::kBearer;
    options.credential.secret = token;
    options.http.retry.max_attempts = 1;
    return WebDavSource(options, clock_);
  }
  ScriptedDav dav_;
  core::SystemClock clock_;
};

TEST_F(WebDavSourceTest, SendsTheBearerTokenAndReadsMappedProperties) {
  dav_.multistatus =
      R"(<?xml version="1.0"?><D:multistatus xmlns:D="DAV:" xmlns:S="urn:x-sendflow:metadata">
    <D:response><D:href>/dav/EHC%20plans/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
    <D:response><D:href>/dav/EHC%20plans/SF-1.docx</D:href><D:propstat><D:prop>
      <D:getlastmodified>Sun, 22 Nov 2026 04:53:44 GMT</D:getlastmodified><D:getcontentlength>10</D:getcontentlength>
      <S:Locality>North</S:Locality><S:Contributors>ep-003; hv-010</S:Contributors><S:YearGroup>9</S:YearGroup>
    </D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
    <D:response><D:href>/dav/EHC%20plans/SF-2.docx</D:href><D:propstat><D:prop>
      <D:getlastmodified>Sun, 22 Nov 2026 04:53:44 GMT</D:getlastmodified><S:YearGroup>nine</S:YearGroup>
    </D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
  </D:multistatus>)";
  auto source = connect("intranet-token");
  auto page = source.listPage("");
  ASSERT_TRUE(page.isOk()) << page.status().toString();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "SF-1.docx");
  EXPECT_EQ(page->items[0].metadata.locality, "North");
  EXPECT_EQ(page->items[0].metadata.contributors, (std::vector<std::string>{"ep-003", "hv-010"}));
  ASSERT_EQ(page->problems.size(), 1u);
  EXPECT_EQ(page->problems[0].item, "SF-2.docx");
  EXPECT_NE(page->problems[0].status.message().find("'nine'"), std::string::npos);
  // The PROPFIND body asks for every mapped column in the sendflow namespace.
  const std::string body = dav_.requests().back().body;
  EXPECT_NE(body.find("<S:DateFinalised/>"), std::string::npos) << body;
}

TEST_F(WebDavSourceTest, ARefusedTokenIsUnauthenticated) {
  auto source = connect("stale-token");
  auto page = source.listPage("");
  ASSERT_FALSE(page.isOk());
  EXPECT_EQ(page.status().code(), core::StatusCode::kUnauthenticated);
  EXPECT_NE(page.status().message().find("webdav connector: list EHC plans: PROPFIND"),
            std::string::npos)
      << page.status().toString();
}

TEST_F(WebDavSourceTest, ALoginPageInsteadOfXmlIsAClearError) {
  dav_.multistatus = "<html><body>Please sign in</body></html>";
  auto source = connect("intranet-token");
  auto page = source.listPage("");
  ASSERT_FALSE(page.isOk());
  EXPECT_EQ(page.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(page.status().message().find("not a DAV:multistatus document"), std::string::npos)
      << page.status().toString();
  dav_.status = 200;
  page = source.listPage("");
  ASSERT_FALSE(page.isOk());
  EXPECT_NE(page.status().message().find("expected 207 Multi-Status, got 200"), std::string::npos)
      << page.status().toString();
}

}  // namespace
}  // namespace sendflow::connectors
