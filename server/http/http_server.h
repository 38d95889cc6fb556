#pragma once
// The service's HTTP server (Poco::Net::HTTPServer underneath): reads each request within the
// size limits, gives it a request id, authenticates it, routes it, adds the security headers,
// writes one JSON access-log line and tells the observer (metrics) how it went.
//
// What every response gets:
//   X-Request-Id, X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer (approval links
//   carry tokens), Content-Security-Policy with `frame-ancestors` from the options (the intranet
//   pages that may embed the web part; 'self' when none), Cache-Control: no-store unless the
//   handler set one, Strict-Transport-Security when TLS is on.
// Errors the server itself answers, as JSON bodies (Response::error): 404 no route, 405 wrong
// method (with Allow), 413 body too large, 401 a signed-in route without valid credentials
// (with WWW-Authenticate: Bearer), 500 a handler that threw (the detail is logged, not shown).
//
// Thread-safety: start() and stop() from one thread; handlers run on Poco's thread pool, many at
// once, so they and the hooks must be thread-safe.

#include <chrono>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/core/status.h"
#include "server/http/request.h"
#include "server/http/router.h"

namespace sendflow::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  int port = 8080;  // 0: any free port (see HttpServer::port)
  // TLS: both set serves HTTPS only (PEM files).
  std::string tls_certificate_file;
  std::string tls_private_key_file;
  std::size_t max_body_bytes = 1024 * 1024;
  // Connections served at once: Poco keeps a keep-alive connection on its thread until it
  // closes or idles for keep_alive_timeout, so this bounds concurrent connections, not requests.
  int max_threads = 128;
  int max_queued = 256;
  std::chrono::seconds keep_alive_timeout{10};
  std::chrono::seconds request_timeout{30};
  // Take the client address from X-Forwarded-For (behind a reverse proxy you run).
  bool trust_forwarded_for = false;
  // Origins allowed to embed the pages in a frame, e.g. "https://council.sharepoint.com".
  std::vector<std::string> frame_ancestors;
};

// Turns a request's credentials into a principal. nullopt: the request carried none. An error:
// it carried some, and they are not valid (the message says why; a signed-in route answers 401
// with it). Called for every request before routing-level access checks.
using Authenticate =
    std::function<core::StatusOr<std::optional<auth::Principal>>(const Request& request)>;

// Told of every request as it starts and when it has finished (metrics). Must be thread-safe.
// requestStarted sees the request before routing (no route, no principal yet); every
// requestStarted is followed by one requestFinished for the same request.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void requestStarted(const Request& request) {}
  virtual void requestFinished(const Request& request, int status, std::size_t response_bytes,
                               std::chrono::microseconds duration) = 0;
};

class HttpServer {
 public:
  // `router` must outlive the server. `authenticate` may be empty (no one is ever signed in).
  // `access_log` (may be null) gets one JSON line per request; `observer` may be null.
  HttpServer(ServerOptions options, const Router& router, Authenticate authenticate,
             std::ostream* access_log, RequestObserver* observer);
  ~HttpServer();

  // Binds and starts serving. kUnavailable naming the address when it cannot bind;
  // kInvalidArgument naming the file when the TLS certificate or key cannot be loaded.
  core::Status start();
  // Stops accepting and waits (up to `grace`) for requests in flight.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  int port() const { return bound_port_; }
  bool tls() const;
  int currentConnections() const;

 private:
  struct Impl;
  ServerOptions options_;
  const Router& router_;
  Authenticate authenticate_;
  std::ostream* access_log_;
  RequestObserver* observer_;
  int bound_port_ = 0;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sendflow::http
