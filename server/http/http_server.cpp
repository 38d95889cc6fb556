#include "server/http/http_server.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <ostream>
#include <random>
#include <thread>

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/StreamCopier.h>
#include <Poco/ThreadPool.h>

#include "server/core/clock.h"

namespace sendflow::http {
namespace {

using Clock = std::chrono::steady_clock;

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

class ServiceHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  ServiceHandler(const ServerOptions& options, const Router& router, const Authenticate& auth,
                 std::ostream* log, std::mutex& log_mutex, RequestObserver* observer, bool tls,
                 std::atomic<int>& in_flight)
      : options_(options),
        router_(router),
        auth_(auth),
        log_(log),
        log_mutex_(log_mutex),
        observer_(observer),
        tls_(tls),
        in_flight_(in_flight) {}

  void handleRequest(Poco::Net::HTTPServerRequest& in,
                     Poco::Net::HTTPServerResponse& out) override {
    const InFlight counted(in_flight_);
    const auto started = Clock::now();
    Request req;
    req.method = in.getMethod();
    const std::string& uri = in.getURI();
    const auto q = uri.find('?');
    req.path = uri.substr(0, q);
    if (q != std::string::npos) {
      req.query_string = uri.substr(q + 1);
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
    for (const auto& [k, v] : in) req.headers[k] = v;
    const std::string given_id = req.header("X-Request-Id");
    req.request_id = wellFormedRequestId(given_id) ? given_id : newRequestId();
    req.client_address = in.clientAddress().host().toString();
    if (options_.trust_forwarded_for) {
      // The last entry is the one the proxy in front of us appended (what it saw); earlier
      // entries come from the client and could be anything.
      const std::string fwd = req.header("X-Forwarded-For");
      const auto comma = fwd.rfind(',');
      std::string last = comma == std::string::npos ? fwd : fwd.substr(comma + 1);
      while (!last.empty() && last.front() == ' ') last.erase(0, 1);
      while (!last.empty() && last.back() == ' ') last.pop_back();
      if (!last.empty()) req.client_address = last;
    }

    if (observer_ != nullptr) observer_->requestStarted(req);
    Response res = serve(in, req);
    std::size_t bytes = 0;
    write(req, res, out, bytes);
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
    logLine(req, res.status, bytes, took);
    if (observer_ != nullptr) observer_->requestFinished(req, res.status, bytes, took);
  }

 private:
  Response serve(Poco::Net::HTTPServerRequest& in, Request& req) {
    // The body, within the limit.
    if (in.hasContentLength() &&
        in.getContentLength64() > static_cast<Poco::Int64>(options_.max_body_bytes)) {
      return tooLarge(req);
    }
    // A request has a body only with Content-Length or chunked transfer coding (RFC 9112 6.3);
    // without either, Poco would read until the client closes the connection.
    if (in.hasContentLength() || in.getChunkedTransferEncoding()) {
      try {
        std::istream& body = in.stream();
        std::string data;
        char buffer[8192];
        while (body.read(buffer, sizeof buffer) || body.gcount() > 0) {
          data.append(buffer, static_cast<std::size_t>(body.gcount()));
          if (data.size() > options_.max_body_bytes) return tooLarge(req);
        }
        req.body = std::move(data);
      } catch (const Poco::Exception& e) {
        return Response::error(
            core::invalidArgument("the request body could not be read: " + e.displayText()),
            req.request_id);
      }
    }

    const Router::Match m = router_.match(req.method, req.path);
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
      return Response::error(core::notFound("no such page or endpoint: " + req.path),
                             req.request_id);
    }
    req.route = m.route->pattern;
    req.path_params = m.params;

    core::Status credentials_problem;
    if (auth_) {
      try {
        auto who = auth_(req);
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
      const core::Status why = credentials_problem.isOk()
                                   ? core::unauthenticated("sign-in required")
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

  Response tooLarge(Request& req) {
    Response r =
        Response::error(core::resourceExhausted("the request body is larger than " +
                                                std::to_string(options_.max_body_bytes) + " bytes"),
                        req.request_id);
    r.header("Connection", "close");
    return r;
  }

  void write(const Request& req, Response& res, Poco::Net::HTTPServerResponse& out,
             std::size_t& bytes) {
    try {
      out.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(res.status));
      out.set("X-Request-Id", req.request_id);
      out.set("X-Content-Type-Options", "nosniff");
      out.set("Referrer-Policy", "no-referrer");
      std::string ancestors = "'self'";
      for (const auto& a : options_.frame_ancestors) ancestors += " " + a;
      out.set("Content-Security-Policy",
              "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
              "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors " +
                  ancestors);
      if (tls_) out.set("Strict-Transport-Security", "max-age=31536000");
      bool cache_set = false;
      for (const auto& [k, v] : res.headers) {
        if (Poco::icompare(k, "Cache-Control") == 0) cache_set = true;
        if (Poco::icompare(k, "Set-Cookie") == 0) {
          out.add(k, v);
        } else {
          out.set(k, v);
        }
      }
      if (!cache_set) out.set("Cache-Control", "no-store");
      if (!res.file_path.empty()) {
        std::ifstream file(res.file_path, std::ios::binary);
        if (!file) {
          res = Response::error(core::notFound("the document's file is missing"), req.request_id);
          write(req, res, out, bytes);
          return;
        }
        file.seekg(0, std::ios::end);
        const auto size = static_cast<std::streamsize>(file.tellg());
        file.seekg(0);
        out.setContentType(res.content_type);
        out.set("Content-Disposition", "attachment; filename=\"" + safeName(res.download_name) +
                                           "\"; filename*=UTF-8''" + urlEncode(res.download_name));
        out.setContentLength64(size);
        std::ostream& body = out.send();
        if (req.method != "HEAD") Poco::StreamCopier::copyStream(file, body);
        bytes = static_cast<std::size_t>(size);
        return;
      }
      out.setContentType(res.content_type);
      out.setContentLength64(static_cast<Poco::Int64>(res.body.size()));
      if (res.status == 413) out.setKeepAlive(false);
      std::ostream& body = out.send();
      if (req.method != "HEAD")
        body.write(res.body.data(), static_cast<std::streamsize>(res.body.size()));
      bytes = res.body.size();
    } catch (const Poco::Exception&) {
      // The client went away; nothing more to do.
    } catch (const std::exception&) {
    }
  }

  static std::string safeName(const std::string& name) {
    std::string out;
    for (unsigned char c : name) {
      out.push_back(c < 0x20 || c >= 0x7f || c == '"' || c == '\\' ? '_' : static_cast<char>(c));
    }
    return out.empty() ? "download" : out;
  }

  void logLine(const Request& req, int status, std::size_t bytes, std::chrono::microseconds took) {
    if (log_ == nullptr) return;
    nlohmann::json line = {
        {"ts", core::formatIso8601(core::SystemClock().now())},
        {"level", status >= 500 ? "error" : (status >= 400 ? "warn" : "info")},
        {"msg", "request"},
        {"request_id", req.request_id},
        {"method", req.method},
        {"path", loggablePath(req)},
        {"route", req.route},
        {"status", status},
        {"bytes", bytes},
        {"duration_ms", static_cast<double>(took.count()) / 1000.0},
        {"client", req.client_address},
    };
    if (req.principal) line["user"] = req.principal->id;
    for (const auto& [k, v] : req.log.items()) line[k] = v;
    const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::lock_guard<std::mutex> lock(log_mutex_);
    *log_ << text << '\n';
    log_->flush();
  }

  const ServerOptions& options_;
  const Router& router_;
  const Authenticate& auth_;
  std::ostream* log_;
  std::mutex& log_mutex_;
  RequestObserver* observer_;
  bool tls_;
  std::atomic<int>& in_flight_;
};

class ServiceFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  ServiceFactory(const ServerOptions& options, const Router& router, const Authenticate& auth,
                 std::ostream* log, std::mutex& log_mutex, RequestObserver* observer, bool tls,
                 std::atomic<int>& in_flight)
      : options_(options),
        router_(router),
        auth_(auth),
        log_(log),
        log_mutex_(log_mutex),
        observer_(observer),
        tls_(tls),
        in_flight_(in_flight) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new ServiceHandler(options_, router_, auth_, log_, log_mutex_, observer_, tls_,
                              in_flight_);
  }

 private:
  const ServerOptions& options_;
  const Router& router_;
  const Authenticate& auth_;
  std::ostream* log_;
  std::mutex& log_mutex_;
  RequestObserver* observer_;
  bool tls_;
  std::atomic<int>& in_flight_;
};

}  // namespace

struct HttpServer::Impl {
  // Poco serves a keep-alive connection on one thread until it closes, so the pool must hold
  // as many threads as there are connections at once (the default pool has 16).
  std::unique_ptr<Poco::ThreadPool> pool;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  std::mutex log_mutex;
  bool tls = false;
  std::atomic<int> in_flight{0};
};

HttpServer::HttpServer(ServerOptions options, const Router& router, Authenticate authenticate,
                       std::ostream* access_log, RequestObserver* observer)
    : options_(std::move(options)),
      router_(router),
      authenticate_(std::move(authenticate)),
      access_log_(access_log),
      observer_(observer),
      impl_(std::make_unique<Impl>()) {}

HttpServer::~HttpServer() { stop(std::chrono::milliseconds(0)); }

bool HttpServer::tls() const { return impl_->tls; }

int HttpServer::currentConnections() const {
  return impl_->server ? impl_->server->currentConnections() : 0;
}

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
      secure.listen(64);
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
      plain.listen(64);
      socket = plain;
    } catch (const Poco::Exception& e) {
      return core::unavailable("cannot listen on " + address.toString() + ": " + e.displayText());
    }
  }
  bound_port_ = socket.address().port();
  impl_->tls = want_tls;
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(options_.max_threads);
  params->setMaxQueued(options_.max_queued);
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(options_.keep_alive_timeout.count(), 0));
  params->setTimeout(Poco::Timespan(options_.request_timeout.count(), 0));
  params->setMaxKeepAliveRequests(0);
  impl_->pool = std::make_unique<Poco::ThreadPool>(2, std::max(2, options_.max_threads), 60);
  impl_->server = std::make_unique<Poco::Net::HTTPServer>(
      new ServiceFactory(options_, router_, authenticate_, access_log_, impl_->log_mutex, observer_,
                         want_tls, impl_->in_flight),
      *impl_->pool, socket, params);
  impl_->server->start();
  return core::Status::ok();
}

void HttpServer::stop(std::chrono::milliseconds grace) {
  if (!impl_->server) return;
  // Stop accepting; wait for the requests in flight to finish, up to the grace period. Idle
  // keep-alive connections are not waited for: they are closed below.
  impl_->server->stop();
  const auto until = std::chrono::steady_clock::now() + grace;
  while (impl_->in_flight.load() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  impl_->server->stopAll(true);
  // The connections' threads end once their sockets are shut down; they still refer to the
  // router and the options, so wait for them (briefly) before returning.
  const auto closing = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while ((impl_->server->currentConnections() > 0 || impl_->in_flight.load() > 0) &&
         std::chrono::steady_clock::now() < closing) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  impl_->server.reset();
  impl_->pool->joinAll();
  impl_->pool.reset();
}

}  // namespace sendflow::http
