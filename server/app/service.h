#pragma once
// `sendflow serve`: the whole service on one HTTP server. The engine (engine_services.h) plus
//   sign-in        auth.* (server/auth): OIDC bearer tokens and API keys for /api/, the web
//                  part's session cookie for the pages; the production safety check at start
//   people         the Directory, loaded from workbench.directory_file (default: auth.dev.users)
//                  and updated from every authenticated request
//   the workbench  and the approval links (the runtime's task listener)
//   routes         the REST API under /api/v1, the web part's pages, the SharePoint webhook,
//                  /healthz, /readyz and /metrics
//   logs           JSON lines on stderr: the access log and the service's own lines (start,
//                  stop, failures), each {"ts", "level", "msg", ...} with request_id where there
//                  is one
// and stops gracefully on SIGTERM or SIGINT: stop accepting, finish the requests in flight, stop
// the workers, close the store.
//
// Keys read here (config/sendflow.properties, section "HTTP service", documents them; so does
// docs/operations.md): http.address, http.port, http.public_url, http.tls.certificate,
// http.tls.private_key, http.max_body, http.threads, http.header_timeout,
// http.max_connections_per_client, http.frame_ancestors, http.trust_forwarded_for,
// http.cookie.secure, http.cookie.same_site, http.shutdown_grace, metrics.token,
// metrics.bearer_token_file, metrics.loopback_only (default: true without a token),
// workbench.directory_file, workbench.conflict_fields, approvals.link_grace,
// approvals.link_max_age, council.name, deployment.environment, auth.*.
//
// Thread-safety: a Service is started and stopped from one thread; requests run on the HTTP
// server's pool.

#include <chrono>
#include <iosfwd>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "server/app/cli.h"
#include "server/app/engine_services.h"
#include "server/app/settings.h"
#include "server/core/status.h"
#include "server/http/http_server.h"

namespace sendflow::app {

// Writes one JSON object per line ({"ts", "level", "msg", ...fields}) to a stream, whole lines at
// a time from any thread. Also usable as the HTTP server's access-log stream (accessLogStream).
class JsonLog {
 public:
  explicit JsonLog(std::ostream& out);
  ~JsonLog();
  void info(const std::string& msg, const nlohmann::json& fields = nlohmann::json::object());
  void warn(const std::string& msg, const nlohmann::json& fields = nlohmann::json::object());
  void error(const std::string& msg, const nlohmann::json& fields = nlohmann::json::object());
  // A stream whose complete lines go out under the same lock as the log's own lines.
  std::ostream& accessLogStream();

 private:
  class LineBuffer;
  void write(const std::string& level, const std::string& msg, const nlohmann::json& fields);
  void writeLine(const std::string& line);

  std::ostream& out_;
  std::unique_ptr<LineBuffer> buffer_;
  std::unique_ptr<std::ostream> access_stream_;
};

// "1MB", "512KB", "2GB", "1048576" (bytes). kInvalidArgument for anything else or zero.
core::StatusOr<std::size_t> parseByteSize(const std::string& text);

// The HTTP server's options from the http.* keys (errors name the file and the key).
core::StatusOr<http::ServerOptions> readServerOptions(const Settings& settings);

class Service {
 public:
  // Wires every part from `settings` over an opened engine (which must outlive the service).
  // Errors name the key at fault; the production safety check fails with kFailedPrecondition.
  // `port_override` >= 0 replaces http.port (serve --port).
  static core::StatusOr<std::unique_ptr<Service>> open(const Settings& settings,
                                                       EngineServices& engine, JsonLog& log,
                                                       int port_override = -1);
  ~Service();

  // Binds (see HttpServer::start) and starts serving.
  core::Status start();
  // Stops accepting and waits up to the grace for requests in flight.
  void stop();
  int port() const;
  std::string address() const;
  bool tls() const;
  std::string publicUrl() const;

  struct Parts;  // every wired part; defined in service.cpp

 private:
  explicit Service(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

// The `serve` command (registered by registerEngineCommands).
int runServeCommand(CommandContext& ctx);

}  // namespace sendflow::app
