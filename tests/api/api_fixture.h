#pragma once
// The REST API on a real HttpServer (127.0.0.1, port 0) over the workbench fixture. Principals
// come from the test's own Authenticate hook: `X-Test-User: aud-001` signs in as that user with
// the roles WorkbenchFixture::principal gives them; no header, no principal.

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <memory>
#include <sstream>
#include <string>

#include "server/api/rest_api.h"
#include "server/http/http_server.h"
#include "server/http/router.h"
#include "tests/workbench/workbench_fixture.h"

namespace sendflow::api::testing {

using nlohmann::json;

struct Reply {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string location;
  std::string content_disposition;
  std::string allow;
  json parsed() const { return json::parse(body, nullptr, /*allow_exceptions=*/false); }
};

class ApiFixture : public workbench::testing::WorkbenchFixture {
 protected:
  void SetUp() override {
    WorkbenchFixture::SetUp();
    if (HasFatalFailure()) return;
    addRestApi(router_, *workbench_, RestApiOptions{});
    http::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.max_body_bytes = max_body_bytes_;
    server_ = std::make_unique<http::HttpServer>(
        options, router_,
        [](const http::Request& r) -> core::StatusOr<std::optional<auth::Principal>> {
          const std::string user = r.header("X-Test-User");
          if (user.empty()) return std::optional<auth::Principal>();
          if (user == "forged") return core::unauthenticated("the test token is not valid");
          return std::optional<auth::Principal>(principal(user));
        },
        nullptr, nullptr);
    const core::Status started = server_->start();
    ASSERT_TRUE(started.isOk()) << started.toString();
  }
  void TearDown() override {
    if (server_) server_->stop(std::chrono::milliseconds(200));
    server_.reset();
    WorkbenchFixture::TearDown();
  }

  // Sends one request; `user` empty sends no credentials. A non-empty body goes as
  // `content_type`.
  Reply call(const std::string& method, const std::string& path, const std::string& user,
             const std::string& body = "", const std::string& content_type = "application/json",
             const std::map<std::string, std::string>& headers = {}) {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(server_->port()));
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!user.empty()) request.set("X-Test-User", user);
    for (const auto& [k, v] : headers) request.set(k, v);
    if (!body.empty()) {
      request.setContentType(content_type);
      request.setContentLength64(static_cast<Poco::Int64>(body.size()));
    } else if (method == "POST") {
      request.setContentLength64(0);
    }
    std::ostream& out = session.sendRequest(request);
    out << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Reply reply;
    reply.status = response.getStatus();
    if (method != "HEAD") Poco::StreamCopier::copyToString(in, reply.body);
    reply.content_type = response.getContentType();
    reply.location = response.get("Location", "");
    reply.content_disposition = response.get("Content-Disposition", "");
    reply.allow = response.get("Allow", "");
    return reply;
  }
  Reply get(const std::string& path, const std::string& user) { return call("GET", path, user); }
  Reply post(const std::string& path, const std::string& user, const json& body) {
    return call("POST", path, user, body.dump());
  }

  std::size_t max_body_bytes_ = 64 * 1024;  // a fixture may raise it before SetUp
  http::Router router_;
  std::unique_ptr<http::HttpServer> server_;
};

}  // namespace sendflow::api::testing
