#pragma once
// The service's HTTP/1.1 server: accepts connections (plain, or TLS through Poco's
// SecureServerSocket), parses each request with the strict RequestParser (request_parser.h),
// gives it a request id, checks its path is canonical, routes it, authenticates it, adds the
// security headers, writes one JSON access-log line and tells the observer (metrics) how it went.
//
// Connections: the pool's threads wait together on every open connection (epoll); a connection
// has a thread only while bytes are there to parse or a request is being served, so idle
// keep-alive connections and clients trickling their headers or body hold no thread (a TLS
// connection may hold one for up to 100 ms while the rest of a TLS record is on its way). The
// pool starts with two threads and gains one (up to max_threads) whenever every thread has been
// serving one request for 5 ms. Deadlines:
//   header_timeout      the whole head of a request (from its first byte; for a new connection,
//                       from accepting it) must arrive within it, however it is split
//   request_timeout     the whole body must arrive within it once the head is in; also bounds
//                       each write to a client that does not read (not a whole response that a
//                       client reads very slowly)
//   keep_alive_timeout  an idle connection between requests is closed after it
// A connection past its deadline is closed without an answer. A client address (the peer, not
// X-Forwarded-For) with max_connections_per_client connections open has further ones answered
// 503 and closed (TLS ones closed), counted by the observer (connectionRefused).
//
// What every response gets:
//   X-Request-Id, X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer (approval links
//   carry tokens), Content-Security-Policy with `frame-ancestors` from the options (the intranet
//   pages that may embed the web part; 'self' when none), Cache-Control: no-store unless the
//   handler set one, Strict-Transport-Security when TLS is on, Date, Content-Length.
// Errors the server itself answers, as JSON bodies {"error": {"code", "message", "request_id"}}:
//   400 a malformed request (see request_parser.h: bare LF, obs-fold, Content-Length with
//       Transfer-Encoding, ...) or a path that is not canonical (checkCanonicalPath: "//",
//       "/./", "/../", %2F %2E %5C %00), 404 no route, 405 wrong method (with Allow),
//   413 body too large (code resource_exhausted), 414, 417, 431, 501, 505 (request_parser.h),
//   401 a signed-in route without valid credentials (with WWW-Authenticate: Bearer),
//   500 a handler that threw (the detail is logged, not shown).
// A parse error answers with Connection: close and closes the connection: the bytes after it
// cannot be trusted to be the next request, so nothing "smuggled" behind it is ever served.
// HTTP/1.0 requests are answered and the connection closed unless they asked for keep-alive;
// HEAD gets the GET's headers without the body; "Expect: 100-continue" gets "100 Continue"
// once the head is accepted (and a refusal instead when it is not).
// The access log line of a 5xx carries its cause (Response::cause, the exception's text), which
// the client never sees. The log line and the observer's requestFinished come just before the
// response's bytes are written (for a file download, after), so a client holding its response
// finds it logged and counted.
//
// Thread-safety: start() and stop() from one thread; handlers run on the server's pool, many at
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
  // Requests served at once (the pool's threads). Idle connections hold no thread.
  int max_threads = 128;
  std::chrono::seconds keep_alive_timeout{10};
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds request_timeout{30};
  // Connections open at once from one client address; 0: no bound. Behind a reverse proxy
  // every connection comes from the proxy, so size it for the proxy's pool.
  int max_connections_per_client = 32;
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

enum class ConnectionRefusal {
  kPerClientLimit,  // the client address already had max_connections_per_client open
};

// Told of every request as it starts and when it has finished (metrics). Must be thread-safe.
// requestStarted sees the request before routing (no route, no principal yet); every
// requestStarted is followed by one requestFinished for the same request.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void requestStarted(const Request& request) {}
  virtual void requestFinished(const Request& request, int status, std::size_t response_bytes,
                               std::chrono::microseconds duration) = 0;
  // A connection was refused before any request was read from it.
  virtual void connectionRefused(ConnectionRefusal reason) {}
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
  // Sets SIGPIPE to be ignored when it has its default action (a client closing mid-response
  // must not end the process).
  core::Status start();
  // Stops accepting and waits (up to `grace`) for requests in flight; then closes every
  // connection and returns once no thread of the server runs. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  int port() const { return bound_port_; }
  bool tls() const;
  int currentConnections() const;  // connections open now

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
