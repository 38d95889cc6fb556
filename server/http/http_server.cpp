#include "server/http/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <ostream>
#include <random>
#include <thread>
#include <unordered_map>

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "server/core/clock.h"
#include "server/http/request_parser.h"

namespace sendflow::http {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kReadChunk = 16 * 1024;
// How long a worker waits for the rest of a TLS record (or the handshake) once a TLS socket is
// readable; a plain socket that is readable never blocks.
constexpr std::chrono::milliseconds kTlsReadSlice{100};
constexpr std::uint64_t kListenerKey = 0;
constexpr std::uint64_t kWakeKey = 1;

std::string newRequestId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string id(16, '0');
  std::uint64_t v = rng();
  for (char& c : id) {
    c = kHex[v & 15];
    v >>= 4;
  }
  return id;
}

bool wellFormedRequestId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (unsigned char c : id) {
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// The path for logs: path parameters named token are hidden.
std::string loggablePath(const Request& r) {
  auto it = r.path_params.find("token");
  if (it == r.path_params.end()) return r.path;
  std::string p = r.path;
  const auto at = p.find(urlEncode(it->second));
  const auto raw = at != std::string::npos ? at : p.find(it->second);
  if (raw != std::string::npos) {
    p.replace(raw, at != std::string::npos ? urlEncode(it->second).size() : it->second.size(),
              "[token]");
  }
  return p;
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

// The error code of the JSON body for statuses the server answers itself.
const char* errorCodeFor(int status) {
  switch (status) {
    case 413:
      return "resource_exhausted";
    case 414:
      return "uri_too_long";
    case 417:
      return "expectation_failed";
    case 431:
      return "headers_too_large";
    case 501:
      return "not_implemented";
    case 505:
      return "http_version_not_supported";
    default:
      return "bad_request";
  }
}

// The Date header's value, formatted once a second per thread.
const std::string& httpDate() {
  static thread_local std::time_t cached_at = 0;
  static thread_local std::string cached;
  const std::time_t now = std::time(nullptr);
  if (now != cached_at) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buffer[64];
    std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached = buffer;
    cached_at = now;
  }
  return cached;
}

bool sameName(const std::string& a, const char* b) { return strcasecmp(a.c_str(), b) == 0; }

std::string safeName(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    out.push_back(c < 0x20 || c >= 0x7f || c == '"' || c == '\\' ? '_' : static_cast<char>(c));
  }
  return out.empty() ? "download" : out;
}

void appendHeader(std::string& out, const std::string& name, const std::string& value) {
  out += name;
  out += ": ";
  // A value never ends the line early (no response splitting through a handler's header).
  for (char c : value) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  out += "\r\n";
}

// Counts a request in flight for as long as it lives (graceful stop waits for zero).
class InFlight {
 public:
  explicit InFlight(std::atomic<int>& count) : count_(count) { count_.fetch_add(1); }
  ~InFlight() { count_.fetch_sub(1); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  std::atomic<int>& count_;
};

}  // namespace

struct HttpServer::Impl {
  struct Connection;

  Impl(const ServerOptions& options, const Router& router, const Authenticate& auth,
       std::ostream* log, RequestObserver* observer)
      : options(options), router(router), auth(auth), log(log), observer(observer) {
    limits.max_body_bytes = options.max_body_bytes;
  }

  // Serving.
  void workerLoop(std::size_t slot);
  void superviseLoop();
  void addWorker();
  void accept();
  std::unique_ptr<Connection> unpark(std::uint64_t key);
  void park(std::unique_ptr<Connection> c, int op = EPOLL_CTL_MOD);
  void closeExpired();
  void serve(std::unique_ptr<Connection> c);
  bool readAvailable(Connection& c);
  bool answer(Connection& c);
  void answerParseError(Connection& c);
  Response route(Request& req);
  void respond(Connection& c, const Request& req, Response& res, bool keep_alive,
               std::size_t& bytes);
  void buildHead(const Request& req, const Response& res, bool keep_alive, int minor_version,
                 std::uint64_t content_length, std::string& out) const;
  void logLine(const Request& req, const Response& res, std::size_t bytes,
               std::chrono::microseconds took);
  void finish(const Request& req, const Response& res, std::size_t bytes, Clock::time_point since);
  void release(const std::string& client);

  const ServerOptions& options;
  const Router& router;
  const Authenticate& auth;
  std::ostream* log;
  RequestObserver* observer;
  ParserLimits limits;
  bool tls = false;

  Poco::Net::ServerSocket listener;
  int epoll_fd = -1;
  int wake_fd = -1;
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};
  std::atomic<int> open_connections{0};
  std::atomic<int> waiting{0};  // workers in epoll_wait
  std::atomic<std::uint64_t> next_key{2};
  // Per worker: when it took the connection it is serving, 0 while it waits.
  std::unique_ptr<std::atomic<Clock::rep>[]> busy_since;
  std::thread supervisor;
  std::mutex supervisor_mutex;
  std::condition_variable supervisor_wake;

  std::mutex mutex;
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> parked;  // guarded by mutex
  std::vector<std::thread> workers;                                       // guarded by mutex

  std::mutex clients_mutex;
  std::unordered_map<std::string, int> per_client;  // guarded by clients_mutex

  std::mutex log_mutex;
};

struct HttpServer::Impl::Connection {
  Connection(Impl& server, Poco::Net::StreamSocket socket, std::string client, std::uint64_t key)
      : server(server),
        socket(std::move(socket)),
        client(std::move(client)),
        key(key),
        parser(server.limits) {
    server.open_connections.fetch_add(1);
  }
  ~Connection() {
    try {
      socket.close();
    } catch (const Poco::Exception&) {
    }
    server.release(client);
    server.open_connections.fetch_sub(1);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Impl& server;
  Poco::Net::StreamSocket socket;
  std::string client;  // the peer's address
  std::uint64_t key;   // in epoll and `parked`
  std::string buffer;  // bytes read and not yet parsed
  std::string out;     // the response head being written (its capacity is reused)
  RequestParser parser;
  bool in_request = true;  // bytes of a request have arrived (or the connection is new)
  bool body_deadline = false;
  bool continue_sent = false;
  Clock::time_point started = Clock::now();
  Clock::time_point deadline;
};

void HttpServer::Impl::release(const std::string& client) {
  if (options.max_connections_per_client <= 0) return;
  std::lock_guard<std::mutex> lock(clients_mutex);
  auto it = per_client.find(client);
  if (it != per_client.end() && --it->second <= 0) per_client.erase(it);
}

// Every worker waits on the epoll set itself and serves what it is woken for (no hand-off
// between threads).
void HttpServer::Impl::workerLoop(std::size_t slot) {
  epoll_event event{};
  while (!stopping.load()) {
    waiting.fetch_add(1);
    const int n = epoll_wait(epoll_fd, &event, 1, 200);
    waiting.fetch_sub(1);
    if (stopping.load()) return;
    if (n <= 0 || event.data.u64 == kWakeKey) continue;
    if (event.data.u64 == kListenerKey) {
      accept();
      epoll_event again{};
      again.events = EPOLLIN | EPOLLONESHOT;
      again.data.u64 = kListenerKey;
      epoll_ctl(epoll_fd, EPOLL_CTL_MOD, listener.impl()->sockfd(), &again);
      continue;
    }
    std::unique_ptr<Connection> c = unpark(event.data.u64);
    if (!c) continue;  // closed meanwhile
    busy_since[slot].store(Clock::now().time_since_epoch().count());
    serve(std::move(c));
    busy_since[slot].store(0);
  }
}

// Adds a worker when every worker has been serving one request for a while (slow handlers),
// so fast requests keep the pool small (fewer threads on the epoll set serve faster); and
// closes the connections past their deadlines.
void HttpServer::Impl::superviseLoop() {
  constexpr auto kTick = std::chrono::milliseconds(5);
  constexpr auto kBusyLongEnough = std::chrono::milliseconds(5);
  auto next_sweep = Clock::now();
  std::unique_lock<std::mutex> lock(supervisor_mutex);
  while (!stopping.load()) {
    supervisor_wake.wait_for(lock, kTick);
    if (stopping.load()) return;
    const auto now = Clock::now();
    if (waiting.load() == 0) {
      std::size_t count = 0;
      {
        std::lock_guard<std::mutex> workers_lock(mutex);
        count = workers.size();
      }
      bool all_stuck = count > 0;
      for (std::size_t i = 0; i < count && all_stuck; ++i) {
        const Clock::rep since = busy_since[i].load();
        all_stuck = since != 0 && now - Clock::time_point(Clock::duration(since)) > kBusyLongEnough;
      }
      if (all_stuck) addWorker();
    }
    if (now >= next_sweep) {
      closeExpired();
      next_sweep = now + std::chrono::milliseconds(200);
    }
  }
}

void HttpServer::Impl::addWorker() {
  std::lock_guard<std::mutex> lock(mutex);
  if (stopping.load() || static_cast<int>(workers.size()) >= options.max_threads) return;
  const std::size_t slot = workers.size();
  workers.emplace_back([this, slot] { workerLoop(slot); });
}

void HttpServer::Impl::accept() {
  Poco::Net::SocketAddress peer;
  Poco::Net::StreamSocket socket;
  try {
    socket = listener.acceptConnection(peer);
  } catch (const Poco::Exception&) {
    return;  // the client went away, or no connection after all (non-blocking listener)
  }
  std::string client = peer.host().toString();
  if (options.max_connections_per_client > 0) {
    std::lock_guard<std::mutex> lock(clients_mutex);
    int& count = per_client[client];
    if (count >= options.max_connections_per_client) {
      if (observer != nullptr) observer->connectionRefused(ConnectionRefusal::kPerClientLimit);
      if (!tls) {
        // A fresh socket's send buffer is empty: this does not block.
        static const std::string kBusy = [] {
          const std::string body =
              "{\"error\":{\"code\":\"unavailable\",\"message\":\"too many connections "
              "from your address; try again shortly\",\"request_id\":\"\"}}";
          return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                 "Connection: close\r\nRetry-After: 1\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body;
        }();
        try {
          socket.sendBytes(kBusy.data(), static_cast<int>(kBusy.size()), MSG_DONTWAIT);
          socket.shutdownSend();
        } catch (const Poco::Exception&) {
        }
      }
      return;
    }
    ++count;
  }
  try {
    socket.setNoDelay(true);
    socket.setReceiveTimeout(Poco::Timespan(
        std::chrono::duration_cast<std::chrono::microseconds>(kTlsReadSlice).count()));
    socket.setSendTimeout(Poco::Timespan(options.request_timeout.count(), 0));
  } catch (const Poco::Exception&) {
    release(client);
    return;
  }
  auto c = std::make_unique<Connection>(*this, std::move(socket), std::move(client),
                                        next_key.fetch_add(1));
  c->deadline = c->started + options.header_timeout;
  park(std::move(c), EPOLL_CTL_ADD);
}

std::unique_ptr<HttpServer::Impl::Connection> HttpServer::Impl::unpark(std::uint64_t key) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = parked.find(key);
  if (it == parked.end()) return nullptr;
  std::unique_ptr<Connection> c = std::move(it->second);
  parked.erase(it);
  return c;
}

// Waits for the connection's next bytes (op: EPOLL_CTL_ADD for a new connection, else _MOD).
void HttpServer::Impl::park(std::unique_ptr<Connection> c, int op) {
  if (stopping.load()) return;
  epoll_event event{};
  event.events = EPOLLIN | EPOLLONESHOT | EPOLLRDHUP;
  event.data.u64 = c->key;
  const int fd = c->socket.impl()->sockfd();
  std::lock_guard<std::mutex> lock(mutex);
  Connection* raw = c.get();
  parked.emplace(raw->key, std::move(c));
  if (epoll_ctl(epoll_fd, op, fd, &event) != 0) parked.erase(raw->key);
}

void HttpServer::Impl::closeExpired() {
  const auto now = Clock::now();
  std::vector<std::unique_ptr<Connection>> expired;
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto it = parked.begin(); it != parked.end();) {
      if (it->second->deadline <= now) {
        epoll_ctl(epoll_fd, EPOLL_CTL_DEL, it->second->socket.impl()->sockfd(), nullptr);
        expired.push_back(std::move(it->second));
        it = parked.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Closed here, outside the lock.
}

bool HttpServer::Impl::readAvailable(Connection& c) {
  char chunk[kReadChunk];
  do {
    int n = 0;
    try {
      n = c.socket.receiveBytes(chunk, static_cast<int>(sizeof chunk));
    } catch (const Poco::TimeoutException&) {
      return true;  // a TLS record or handshake still on its way: wait for more
    } catch (const Poco::Exception&) {
      return false;
    }
    if (n <= 0) return false;
    if (!c.in_request) {
      c.in_request = true;
      c.started = Clock::now();
      c.deadline = c.started + options.header_timeout;
    }
    c.buffer.append(chunk, static_cast<std::size_t>(n));
  } while (tls && c.socket.available() > 0);
  return true;
}

void HttpServer::Impl::serve(std::unique_ptr<Connection> c) {
  if (!readAvailable(*c)) return;
  while (true) {
    const RequestParser::Result r = c->parser.parse(c->buffer);
    c->buffer.erase(0, r.consumed);
    if (r.state == RequestParser::State::kError) {
      answerParseError(*c);
      return;
    }
    if (r.state == RequestParser::State::kNeedMore) {
      if (c->parser.headComplete() && !c->body_deadline) {
        c->body_deadline = true;
        c->deadline = Clock::now() + options.request_timeout;
        if (c->parser.request().expect_continue && !c->continue_sent) {
          c->continue_sent = true;
          static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
          try {
            c->socket.sendBytes(kContinue, static_cast<int>(sizeof kContinue - 1));
          } catch (const Poco::Exception&) {
            return;
          }
        }
      }
      park(std::move(c));
      return;
    }
    if (!answer(*c) || stopping.load()) return;
    c->parser.reset();
    c->in_request = false;
    c->body_deadline = false;
    c->continue_sent = false;
    c->deadline = Clock::now() + options.keep_alive_timeout;
    if (c->buffer.empty()) {
      park(std::move(c));
      return;
    }
    // A pipelined request is already here.
    c->in_request = true;
    c->started = Clock::now();
    c->deadline = c->started + options.header_timeout;
  }
}

// Serves the parsed request; false when the connection is to be closed.
bool HttpServer::Impl::answer(Connection& c) {
  const InFlight counted(in_flight);
  const auto started = c.started;
  ParsedRequest& parsed = c.parser.request();
  Request req;
  req.method = std::move(parsed.method);
  const auto q = parsed.target.find('?');
  req.path = parsed.target.substr(0, q);
  if (q != std::string::npos) {
    req.query_string = parsed.target.substr(q + 1);
    std::size_t pos = 0;
    while (pos <= req.query_string.size()) {
      std::size_t end = req.query_string.find('&', pos);
      if (end == std::string::npos) end = req.query_string.size();
      const std::string pair = req.query_string.substr(pos, end - pos);
      if (!pair.empty()) {
        const auto eq = pair.find('=');
        req.query.emplace(urlDecode(pair.substr(0, eq), true),
                          eq == std::string::npos ? "" : urlDecode(pair.substr(eq + 1), true));
      }
      pos = end + 1;
    }
  }
  req.headers = std::move(parsed.headers);
  req.body = std::move(parsed.body);
  const std::string given_id = req.header("X-Request-Id");
  req.request_id = wellFormedRequestId(given_id) ? given_id : newRequestId();
  req.client_address = c.client;
  if (options.trust_forwarded_for) {
    // The last entry is the one the proxy in front of us appended (what it saw); earlier
    // entries come from the client and could be anything.
    const std::string fwd = req.header("X-Forwarded-For");
    const auto comma = fwd.rfind(',');
    std::string last = comma == std::string::npos ? fwd : fwd.substr(comma + 1);
    while (!last.empty() && last.front() == ' ') last.erase(0, 1);
    while (!last.empty() && last.back() == ' ') last.pop_back();
    if (!last.empty()) req.client_address = last;
  }

  if (observer != nullptr) observer->requestStarted(req);
  Response res = route(req);
  const bool keep_alive = parsed.keep_alive && !stopping.load();
  std::size_t bytes = 0;
  c.out.clear();
  // The log line and the observer come before the bytes go out, so that whoever has the
  // response also finds it counted; a download is counted once it is written.
  const bool download = !res.file_path.empty();
  if (!download) finish(req, res, res.body.size(), started);
  respond(c, req, res, keep_alive, bytes);
  if (download) finish(req, res, bytes, started);
  return keep_alive && bytes != static_cast<std::size_t>(-1);
}

void HttpServer::Impl::answerParseError(Connection& c) {
  const ParseError& error = c.parser.error();
  Request req;
  req.method = c.parser.request().method;
  const std::string& target = c.parser.request().target;
  req.path = target.substr(0, target.find('?'));
  req.request_id = newRequestId();
  req.client_address = c.client;
  if (observer != nullptr) observer->requestStarted(req);
  Response res = Response::json(error.status, {{"error",
                                                {{"code", errorCodeFor(error.status)},
                                                 {"message", error.message},
                                                 {"request_id", req.request_id}}}});
  req.log["refused"] = error.message;
  std::size_t bytes = 0;
  c.out.clear();
  finish(req, res, res.body.size(), c.started);
  respond(c, req, res, false, bytes);
  try {
    c.socket.shutdownSend();
  } catch (const Poco::Exception&) {
  }
}

Response HttpServer::Impl::route(Request& req) {
  if (req.path != "*") {
    const core::Status canonical = checkCanonicalPath(req.path);
    if (!canonical.isOk()) {
      return Response::json(400, {{"error",
                                   {{"code", "bad_request"},
                                    {"message", canonical.message()},
                                    {"request_id", req.request_id}}}});
    }
  }
  const Router::Match m = router.match(req.method, req.path);
  if (m.route == nullptr) {
    if (m.path_known) {
      std::string allow;
      for (const auto& a : m.allowed_methods) allow += (allow.empty() ? "" : ", ") + a;
      Response r =
          Response::json(405, {{"error",
                                {{"code", "method_not_allowed"},
                                 {"message", req.method + " is not allowed here; use " + allow},
                                 {"request_id", req.request_id}}}});
      r.header("Allow", allow);
      return r;
    }
    return Response::error(core::notFound("no such page or endpoint: " + req.path), req.request_id);
  }
  req.route = m.route->pattern;
  req.path_params = m.params;

  core::Status credentials_problem;
  if (auth) {
    try {
      auto who = auth(req);
      if (who.isOk()) {
        req.principal = std::move(*who);
      } else {
        credentials_problem = who.status();
      }
    } catch (const std::exception& e) {
      credentials_problem = core::unavailable(std::string("sign-in check failed: ") + e.what());
    }
  }
  if (m.route->access == Access::kSignedIn && !req.principal) {
    const core::Status why = credentials_problem.isOk() ? core::unauthenticated("sign-in required")
                                                        : credentials_problem;
    Response r = Response::error(why, req.request_id);
    if (why.code() == core::StatusCode::kUnauthenticated) {
      r.header("WWW-Authenticate", "Bearer realm=\"sendflow\"");
    }
    return r;
  }
  try {
    return m.route->handler(req);
  } catch (const std::exception& e) {
    req.log["exception"] = e.what();
    return Response::error(core::internalError(e.what()), req.request_id);
  } catch (...) {
    req.log["exception"] = "unknown";
    return Response::error(core::internalError("unknown exception"), req.request_id);
  }
}

void HttpServer::Impl::buildHead(const Request& req, const Response& res, bool keep_alive,
                                 int minor_version, std::uint64_t content_length,
                                 std::string& out) const {
  out += minor_version == 0 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(res.status);
  out += ' ';
  out += reasonPhrase(res.status);
  out += "\r\nDate: ";
  out += httpDate();
  out += "\r\n";
  if (!keep_alive) {
    out += "Connection: close\r\n";
  } else if (minor_version == 0) {
    out += "Connection: keep-alive\r\n";
  }
  if (res.status != 204 && res.status != 304) {
    out += "Content-Length: ";
    out += std::to_string(content_length);
    out += "\r\n";
  }
  if (!res.content_type.empty()) appendHeader(out, "Content-Type", res.content_type);
  appendHeader(out, "X-Request-Id", req.request_id);
  out += "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n";
  out +=
      "Content-Security-Policy: default-src 'self'; img-src 'self' data:; style-src 'self'; "
      "script-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
      "frame-ancestors 'self'";
  for (const auto& a : options.frame_ancestors) {
    out += ' ';
    out += a;
  }
  out += "\r\n";
  if (tls) out += "Strict-Transport-Security: max-age=31536000\r\n";
  bool cache_set = false;
  for (const auto& [name, value] : res.headers) {
    if (sameName(name, "Content-Length") || sameName(name, "Connection") ||
        sameName(name, "Transfer-Encoding") || sameName(name, "Date")) {
      continue;  // framing is the server's
    }
    if (sameName(name, "Cache-Control")) cache_set = true;
    appendHeader(out, name, value);
  }
  if (!cache_set) out += "Cache-Control: no-store\r\n";
  out += "\r\n";
}

// Writes the response; `bytes` is the body's size, or -1 when the client could not be written to.
void HttpServer::Impl::respond(Connection& c, const Request& req, Response& res, bool keep_alive,
                               std::size_t& bytes) {
  const int minor = c.parser.request().minor_version;
  const bool head_only = req.method == "HEAD" || res.status == 204 || res.status == 304;
  auto sendAll = [&c](const char* data, std::size_t size) {
    while (size > 0) {
      const int n = c.socket.sendBytes(data, static_cast<int>(std::min<std::size_t>(size, 1 << 20)),
                                       MSG_NOSIGNAL);
      if (n <= 0) throw Poco::Net::NetException("the connection was closed");
      data += n;
      size -= static_cast<std::size_t>(n);
    }
  };
  try {
    if (!res.file_path.empty()) {
      std::ifstream file(res.file_path, std::ios::binary);
      if (!file) {
        res = Response::error(core::notFound("the document's file is missing"), req.request_id);
        respond(c, req, res, keep_alive, bytes);
        return;
      }
      file.seekg(0, std::ios::end);
      const auto size = static_cast<std::uint64_t>(file.tellg());
      file.seekg(0);
      res.headers.emplace_back("Content-Disposition",
                               "attachment; filename=\"" + safeName(res.download_name) +
                                   "\"; filename*=UTF-8''" + urlEncode(res.download_name));
      buildHead(req, res, keep_alive, minor, size, c.out);
      sendAll(c.out.data(), c.out.size());
      if (!head_only) {
        char chunk[64 * 1024];
        while (file.read(chunk, sizeof chunk) || file.gcount() > 0) {
          sendAll(chunk, static_cast<std::size_t>(file.gcount()));
        }
      }
      bytes = static_cast<std::size_t>(size);
      return;
    }
    buildHead(req, res, keep_alive, minor, res.body.size(), c.out);
    if (!head_only && res.body.size() <= kReadChunk) {
      c.out += res.body;
      sendAll(c.out.data(), c.out.size());
    } else {
      sendAll(c.out.data(), c.out.size());
      if (!head_only) sendAll(res.body.data(), res.body.size());
    }
    bytes = res.body.size();
  } catch (const Poco::Exception&) {
    bytes = static_cast<std::size_t>(-1);  // the client went away or stopped reading
  } catch (const std::exception&) {
    bytes = static_cast<std::size_t>(-1);
  }
}

void HttpServer::Impl::finish(const Request& req, const Response& res, std::size_t bytes,
                              Clock::time_point since) {
  if (bytes == static_cast<std::size_t>(-1)) bytes = 0;
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - since);
  logLine(req, res, bytes, took);
  if (observer != nullptr) observer->requestFinished(req, res.status, bytes, took);
}

void HttpServer::Impl::logLine(const Request& req, const Response& res, std::size_t bytes,
                               std::chrono::microseconds took) {
  if (log == nullptr) return;
  nlohmann::json line = {
      {"ts", core::formatIso8601(core::SystemClock().now())},
      {"level", res.status >= 500 ? "error" : (res.status >= 400 ? "warn" : "info")},
      {"msg", "request"},
      {"request_id", req.request_id},
      {"method", req.method},
      {"path", loggablePath(req)},
      {"route", req.route},
      {"status", res.status},
      {"bytes", bytes},
      {"duration_ms", static_cast<double>(took.count()) / 1000.0},
      {"client", req.client_address},
  };
  if (req.principal) line["user"] = req.principal->id;
  if (!res.cause.empty()) line["cause"] = res.cause;
  for (const auto& [k, v] : req.log.items()) line[k] = v;
  const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard<std::mutex> lock(log_mutex);
  *log << text << '\n';
  log->flush();
}

HttpServer::HttpServer(ServerOptions options, const Router& router, Authenticate authenticate,
                       std::ostream* access_log, RequestObserver* observer)
    : options_(std::move(options)),
      router_(router),
      authenticate_(std::move(authenticate)),
      access_log_(access_log),
      observer_(observer),
      impl_(std::make_unique<Impl>(options_, router_, authenticate_, access_log_, observer_)) {}

HttpServer::~HttpServer() { stop(std::chrono::milliseconds(0)); }

bool HttpServer::tls() const { return impl_->tls; }

int HttpServer::currentConnections() const { return impl_->open_connections.load(); }

core::Status HttpServer::start() {
  const Poco::Net::SocketAddress address(options_.address,
                                         static_cast<Poco::UInt16>(options_.port));
  const bool want_tls =
      !options_.tls_certificate_file.empty() || !options_.tls_private_key_file.empty();
  Poco::Net::ServerSocket socket;
  if (want_tls) {
    if (options_.tls_certificate_file.empty() || options_.tls_private_key_file.empty()) {
      return core::invalidArgument("TLS needs both http.tls.certificate and http.tls.private_key");
    }
    try {
      Poco::Net::Context::Ptr context = new Poco::Net::Context(
          Poco::Net::Context::TLS_SERVER_USE, options_.tls_private_key_file,
          options_.tls_certificate_file, "", Poco::Net::Context::VERIFY_NONE);
      context->disableProtocols(Poco::Net::Context::PROTO_SSLV2 | Poco::Net::Context::PROTO_SSLV3 |
                                Poco::Net::Context::PROTO_TLSV1 |
                                Poco::Net::Context::PROTO_TLSV1_1);
      Poco::Net::SecureServerSocket secure(context);
      // SO_REUSEADDR (restart while old connections linger) but not SO_REUSEPORT: a second
      // server on the same port must fail, not share it.
      secure.bind(address, true, false);
      secure.listen(128);
      socket = secure;
    } catch (const Poco::Net::SSLException& e) {
      return core::invalidArgument("TLS certificate " + options_.tls_certificate_file + " or key " +
                                   options_.tls_private_key_file +
                                   " cannot be used: " + e.displayText());
    } catch (const Poco::Net::NetException& e) {
      return core::unavailable("cannot listen on " + address.toString() + ": " + e.displayText());
    } catch (const Poco::Exception& e) {
      return core::invalidArgument("TLS certificate " + options_.tls_certificate_file + " or key " +
                                   options_.tls_private_key_file +
                                   " cannot be used: " + e.displayText());
    }
  } else {
    try {
      Poco::Net::ServerSocket plain;
      plain.bind(address, true, false);
      plain.listen(128);
      socket = plain;
    } catch (const Poco::Exception& e) {
      return core::unavailable("cannot listen on " + address.toString() + ": " + e.displayText());
    }
  }
  // A client that closes while its response is being written must not end the process: TLS
  // writes go through OpenSSL's own send(), which has no MSG_NOSIGNAL.
  struct sigaction pipe_action {};
  if (sigaction(SIGPIPE, nullptr, &pipe_action) == 0 && pipe_action.sa_handler == SIG_DFL) {
    std::signal(SIGPIPE, SIG_IGN);
  }
  bound_port_ = socket.address().port();
  Impl& impl = *impl_;
  impl.tls = want_tls;
  impl.listener = socket;
  impl.listener.setBlocking(false);
  impl.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  impl.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl.epoll_fd < 0 || impl.wake_fd < 0) {
    return core::unavailable("cannot create the server's event queue: " +
                             std::string(std::strerror(errno)));
  }
  epoll_event listen_event{};
  listen_event.events = EPOLLIN | EPOLLONESHOT;  // one worker accepts at a time
  listen_event.data.u64 = kListenerKey;
  epoll_ctl(impl.epoll_fd, EPOLL_CTL_ADD, impl.listener.impl()->sockfd(), &listen_event);
  epoll_event wake_event{};
  wake_event.events = EPOLLIN;
  wake_event.data.u64 = kWakeKey;
  epoll_ctl(impl.epoll_fd, EPOLL_CTL_ADD, impl.wake_fd, &wake_event);
  impl.busy_since = std::make_unique<std::atomic<Clock::rep>[]>(
      static_cast<std::size_t>(std::max(1, options_.max_threads)));
  for (int i = 0; i < std::min(2, options_.max_threads); ++i) impl.addWorker();
  impl.supervisor = std::thread([&impl] { impl.superviseLoop(); });
  return core::Status::ok();
}

void HttpServer::stop(std::chrono::milliseconds grace) {
  Impl& impl = *impl_;
  if (impl.epoll_fd < 0) return;
  // Stop accepting, and serve nothing new: the workers finish the requests they hold (with
  // Connection: close) and end; connections waiting for bytes are not served again.
  impl.stopping.store(true);
  epoll_ctl(impl.epoll_fd, EPOLL_CTL_DEL, impl.listener.impl()->sockfd(), nullptr);
  try {
    impl.listener.close();
  } catch (const Poco::Exception&) {
  }
  const std::uint64_t one = 1;
  (void)!::write(impl.wake_fd, &one, sizeof one);
  {
    std::lock_guard<std::mutex> lock(impl.supervisor_mutex);
    impl.supervisor_wake.notify_all();
  }
  impl.supervisor.join();
  // Wait for the requests in flight to finish, up to the grace period.
  const auto until = std::chrono::steady_clock::now() + grace;
  while (impl.in_flight.load() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(impl.mutex);
    workers.swap(impl.workers);
  }
  for (std::thread& t : workers) t.join();
  // Idle and half-read connections are closed.
  impl.parked.clear();
  ::close(impl.epoll_fd);
  ::close(impl.wake_fd);
  impl.epoll_fd = impl.wake_fd = -1;
}

}  // namespace sendflow::http
