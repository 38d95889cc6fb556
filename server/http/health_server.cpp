#include "server/http/health_server.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

namespace sendflow::http {
namespace {

using Poco::Net::HTTPResponse;

class ProbeHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit ProbeHandler(const ReadinessCheck& ready) : ready_(ready) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    std::string body;
    const std::string path = request.getURI().substr(0, request.getURI().find('?'));
    if (request.getMethod() != "GET" && request.getMethod() != "HEAD") {
      response.setStatus(HTTPResponse::HTTP_METHOD_NOT_ALLOWED);
      body = "method not allowed\n";
    } else if (path == "/healthz") {
      response.setStatus(HTTPResponse::HTTP_OK);
      body = "ok\n";
    } else if (path == "/readyz") {
      const core::Status st = ready_ ? ready_() : core::Status::ok();
      response.setStatus(st.isOk() ? HTTPResponse::HTTP_OK
                                   : HTTPResponse::HTTP_SERVICE_UNAVAILABLE);
      body = st.isOk() ? "ready\n" : st.message() + "\n";
    } else {
      response.setStatus(HTTPResponse::HTTP_NOT_FOUND);
      body = "not found\n";
    }
    response.setContentType("text/plain; charset=utf-8");
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.send() << body;
  }

 private:
  const ReadinessCheck& ready_;
};

class ProbeFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit ProbeFactory(const ReadinessCheck& ready) : ready_(ready) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new ProbeHandler(ready_);
  }

 private:
  const ReadinessCheck& ready_;
};

}  // namespace

struct HealthServer::Impl {
  std::unique_ptr<Poco::Net::HTTPServer> server;
};

HealthServer::HealthServer(std::string address, int port, ReadinessCheck ready)
    : address_(std::move(address)),
      port_(port),
      ready_(std::move(ready)),
      impl_(std::make_unique<Impl>()) {}

HealthServer::~HealthServer() { stop(); }

core::Status HealthServer::start() {
  try {
    Poco::Net::ServerSocket socket(
        Poco::Net::SocketAddress(address_, static_cast<Poco::UInt16>(port_)));
    bound_port_ = socket.address().port();
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(4);
    params->setKeepAlive(false);
    impl_->server =
        std::make_unique<Poco::Net::HTTPServer>(new ProbeFactory(ready_), socket, params);
    impl_->server->start();
    return core::Status::ok();
  } catch (const Poco::Exception& e) {
    return core::unavailable("cannot listen on " + address_ + ":" + std::to_string(port_) + ": " +
                             e.displayText());
  }
}

void HealthServer::stop() {
  if (impl_ && impl_->server) {
    impl_->server->stopAll(false);
    impl_->server.reset();
  }
}

}  // namespace sendflow::http
