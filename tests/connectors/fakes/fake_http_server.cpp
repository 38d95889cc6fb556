#include "tests/connectors/fakes/fake_http_server.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <sstream>
#include <thread>

namespace sendflow::testing {
namespace {

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(FakeHttpServer& server) : server_(server) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    server_.serve(request, response);
  }

 private:
  FakeHttpServer& server_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(FakeHttpServer& server) : server_(server) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler(server_);
  }

 private:
  FakeHttpServer& server_;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

FakeHttpServer::~FakeHttpServer() = default;

void FakeHttpServer::start() {
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  port_ = socket.address().port();
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(8);
  params->setMaxQueued(64);
  params->setKeepAlive(true);
  server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket, params);
  server_->start();
}

void FakeHttpServer::stop() {
  if (server_) server_->stopAll(true);
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [this] { return in_flight_ == 0; });
  lock.unlock();
  server_.reset();
}

std::string FakeHttpServer::baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }

void FakeHttpServer::inject(Fault fault) {
  std::lock_guard<std::mutex> lock(mutex_);
  faults_.push_back(std::move(fault));
}

std::vector<FakeRequest> FakeHttpServer::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

int FakeHttpServer::count(const std::string& method, const std::string& path_contains) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(
      std::count_if(requests_.begin(), requests_.end(), [&](const FakeRequest& r) {
        return (method.empty() || r.method == method) &&
               r.path.find(path_contains) != std::string::npos;
      }));
}

FakeReply FakeHttpServer::json(int status, const std::string& body) {
  FakeReply reply;
  reply.status = status;
  reply.body = body;
  return reply;
}

void FakeHttpServer::serve(Poco::Net::HTTPServerRequest& request,
                           Poco::Net::HTTPServerResponse& response) {
  struct InFlight {
    FakeHttpServer& server;
    explicit InFlight(FakeHttpServer& s) : server(s) {
      std::lock_guard<std::mutex> lock(server.mutex_);
      ++server.in_flight_;
    }
    ~InFlight() {
      std::lock_guard<std::mutex> lock(server.mutex_);
      --server.in_flight_;
      server.idle_.notify_all();
    }
  } in_flight(*this);
  FakeRequest r;
  r.method = request.getMethod();
  const Poco::URI uri(request.getURI());
  r.path = uri.getPath();
  r.query = uri.getRawQuery();
  for (const auto& [key, value] : uri.getQueryParameters()) r.params[key] = value;
  for (const auto& [name, value] : request) r.headers[lower(name)] = value;
  std::ostringstream body;
  Poco::StreamCopier::copyStream(request.stream(), body);
  r.body = body.str();

  std::optional<Fault> fault;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(r);
    for (auto& f : faults_) {
      if (f.times > 0 && r.path.find(f.path_contains) != std::string::npos) {
        --f.times;
        fault = f;
        break;
      }
    }
  }
  FakeReply reply;
  if (fault && fault->kind == FaultKind::kSlow) std::this_thread::sleep_for(fault->delay);
  if (fault && fault->kind == FaultKind::kStatus) {
    reply.status = fault->status;
    reply.body =
        R"({"error":{"code":")" +
        std::string(fault->status == 429 ? "activityLimitReached" : "serviceNotAvailable") +
        R"(","message":"Injected failure"}})";
    if (fault->retry_after_seconds >= 0) {
      reply.headers.emplace_back("Retry-After", std::to_string(fault->retry_after_seconds));
    }
  } else if (fault && fault->kind == FaultKind::kMalformedJson) {
    reply.body = R"({"value": [{"Id": 1, "FileLeafRef": "plan)";
  } else {
    reply = handle(r);
  }
  response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
  if (!reply.content_type.empty()) response.setContentType(reply.content_type);
  for (const auto& [name, value] : reply.headers) response.set(name, value);
  response.setContentLength64(static_cast<Poco::Int64>(reply.body.size()));
  std::ostream& out = response.send();
  if (fault && fault->kind == FaultKind::kDrop) {
    out.write(reply.body.data(), static_cast<std::streamsize>(reply.body.size() / 2));
    out.flush();
    static_cast<Poco::Net::HTTPServerRequestImpl&>(request).socket().shutdown();
    return;
  }
  out << reply.body;
}

}  // namespace sendflow::testing
