#pragma once
// Base of the test fakes: a real Poco HTTPServer on a loopback port chosen by the system, which
// records every request and can inject the failures an intranet shows in production: a status
// such as 429 or 503 with Retry-After, a response cut short (connection dropped), a slow answer,
// and malformed JSON. Subclasses answer the documented wire format in handle(), which may run on
// several server threads at once (guard state with a mutex).

#include <Poco/Net/HTTPServer.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace sendflow::testing {

struct FakeRequest {
  std::string method;
  std::string path;                            // percent-decoded
  std::string query;                           // raw
  std::map<std::string, std::string> params;   // decoded query parameters
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

struct FakeReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

enum class FaultKind { kStatus, kDrop, kSlow, kMalformedJson };

struct Fault {
  FaultKind kind = FaultKind::kStatus;
  std::string path_contains;  // the request path must contain this ("" matches all)
  int status = 503;
  int retry_after_seconds = -1;  // -1: no Retry-After header
  std::chrono::milliseconds delay{0};
  int times = 1;
};

class FakeHttpServer {
 public:
  virtual ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  std::string baseUrl() const;  // http://127.0.0.1:PORT
  void inject(Fault fault);
  std::vector<FakeRequest> requests() const;
  // Requests whose method is `method` ("" any) and whose path contains `path_contains`.
  int count(const std::string& method, const std::string& path_contains) const;

  // Called by the request handler; not for tests.
  void serve(class Poco::Net::HTTPServerRequest& request,
             class Poco::Net::HTTPServerResponse& response);

 protected:
  FakeHttpServer() = default;
  void start();  // subclasses call these from their constructor and destructor
  // Stops accepting and waits for requests still being served (a slow fault may be sleeping).
  void stop();
  virtual FakeReply handle(const FakeRequest& request) = 0;

  static FakeReply json(int status, const std::string& body);

 private:
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  unsigned short port_ = 0;
  mutable std::mutex mutex_;
  std::vector<FakeRequest> requests_;  // guarded by mutex_
  std::vector<Fault> faults_;          // guarded by mutex_
  int in_flight_ = 0;                  // requests being served; guarded by mutex_
  std::condition_variable idle_;
};

}  // namespace sendflow::testing
