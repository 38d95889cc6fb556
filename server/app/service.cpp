#include "server/app/service.h"

#include <malloc.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <mutex>
#include <ostream>
#include <sstream>
#include <streambuf>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include "connectors/factory/connector_factory.h"
#include "server/api/rest_api.h"
#include "server/app/sample_library.h"
#include "server/auth/auth_config.h"
#include "server/auth/bearer_authenticator.h"
#include "server/auth/dev_sign_in.h"
#include "server/auth/oidc_client.h"
#include "server/auth/oidc_verifier.h"
#include "server/auth/session_codec.h"
#include "server/core/private_files.h"
#include "server/engine/runtime_workers.h"
#include "server/http/metrics.h"
#include "server/http/router.h"
#include "server/web/web_part.h"
#include "server/webhooks/sharepoint_webhook.h"
#include "server/workbench/approval_links.h"
#include "server/workbench/directory.h"
#include "server/workbench/workbench.h"

namespace sendflow::app {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// JsonLog

// Collects the characters the HTTP server writes and hands over each complete line.
class JsonLog::LineBuffer final : public std::streambuf {
 public:
  explicit LineBuffer(JsonLog& log) : log_(log) {}

 protected:
  int_type overflow(int_type c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    if (c == '\n') {
      log_.writeLine(pending_);
      pending_.clear();
    } else {
      pending_.push_back(static_cast<char>(c));
    }
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    for (std::streamsize i = 0; i < n; ++i) overflow(static_cast<unsigned char>(s[i]));
    return n;
  }

 private:
  JsonLog& log_;
  std::string pending_;  // the HTTP server writes under its own lock, one line at a time
};

namespace {
std::mutex& logMutex() {
  static std::mutex m;
  return m;
}
}  // namespace

JsonLog::JsonLog(std::ostream& out)
    : out_(out),
      buffer_(std::make_unique<LineBuffer>(*this)),
      access_stream_(std::make_unique<std::ostream>(buffer_.get())) {}

JsonLog::~JsonLog() = default;

void JsonLog::info(const std::string& msg, const json& fields) { write("info", msg, fields); }
void JsonLog::warn(const std::string& msg, const json& fields) { write("warn", msg, fields); }
void JsonLog::error(const std::string& msg, const json& fields) { write("error", msg, fields); }

std::ostream& JsonLog::accessLogStream() { return *access_stream_; }

void JsonLog::write(const std::string& level, const std::string& msg, const json& fields) {
  json line = {
      {"ts", core::formatIso8601(core::SystemClock().now())}, {"level", level}, {"msg", msg}};
  if (fields.is_object()) {
    for (const auto& [k, v] : fields.items()) line[k] = v;
  }
  writeLine(line.dump(-1, ' ', false, json::error_handler_t::replace));
}

void JsonLog::writeLine(const std::string& line) {
  std::lock_guard<std::mutex> lock(logMutex());
  out_ << line << '\n';
  out_.flush();
}

// ---------------------------------------------------------------------------------------------
// Configuration

core::StatusOr<std::size_t> parseByteSize(const std::string& text) {
  std::string t;
  for (char c : text) {
    if (c != ' ') t.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  std::size_t digits = 0;
  while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
  if (digits == 0 || digits > 12) {
    return core::invalidArgument("'" + text + "' is not a size such as 1MB, 512KB or 1048576");
  }
  const unsigned long long n = std::stoull(t.substr(0, digits));
  const std::string unit = t.substr(digits);
  unsigned long long factor = 0;
  if (unit.empty() || unit == "B") {
    factor = 1;
  } else if (unit == "KB" || unit == "K") {
    factor = 1024;
  } else if (unit == "MB" || unit == "M") {
    factor = 1024 * 1024;
  } else if (unit == "GB" || unit == "G") {
    factor = 1024ULL * 1024 * 1024;
  } else {
    return core::invalidArgument("'" + text + "' is not a size such as 1MB, 512KB or 1048576");
  }
  if (n == 0) return core::invalidArgument("must be more than 0 bytes");
  return static_cast<std::size_t>(n * factor);
}

namespace {

std::vector<std::string> splitList(const std::string& text, const std::string& separators) {
  std::vector<std::string> out;
  std::string current;
  for (char c : text + separators.substr(0, 1)) {
    if (separators.find(c) != std::string::npos) {
      if (!current.empty()) out.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  return out;
}

}  // namespace

core::StatusOr<http::ServerOptions> readServerOptions(const Settings& settings) {
  http::ServerOptions o;
  SENDFLOW_ASSIGN_OR_RETURN(o.address, settings.getString("http.address", "127.0.0.1"));
  SENDFLOW_ASSIGN_OR_RETURN(long long port, settings.getInt("http.port", 8080));
  if (port < 0 || port > 65535) return settings.badValue("http.port", "must be 0 to 65535");
  o.port = static_cast<int>(port);
  SENDFLOW_ASSIGN_OR_RETURN(o.tls_certificate_file, settings.getPath("http.tls.certificate", ""));
  SENDFLOW_ASSIGN_OR_RETURN(o.tls_private_key_file, settings.getPath("http.tls.private_key", ""));
  if (o.tls_certificate_file.empty() != o.tls_private_key_file.empty()) {
    return settings.badValue(
        o.tls_certificate_file.empty() ? "http.tls.certificate" : "http.tls.private_key",
        "TLS needs both http.tls.certificate and http.tls.private_key");
  }
  SENDFLOW_ASSIGN_OR_RETURN(const std::string max_body, settings.getString("http.max_body", "1MB"));
  auto size = parseByteSize(max_body);
  if (!size.isOk()) return settings.badValue("http.max_body", size.status().message());
  o.max_body_bytes = *size;
  SENDFLOW_ASSIGN_OR_RETURN(long long threads, settings.getInt("http.threads", 128));
  if (threads < 1 || threads > 1024) return settings.badValue("http.threads", "must be 1 to 1024");
  o.max_threads = static_cast<int>(threads);
  SENDFLOW_ASSIGN_OR_RETURN(const std::string ancestors,
                            settings.getString("http.frame_ancestors", ""));
  for (const std::string& origin : splitList(ancestors, " ,")) {
    const bool https = origin.rfind("https://", 0) == 0;
    const bool http = origin.rfind("http://", 0) == 0;
    const bool clean = origin.find_first_of("'\";<>\\") == std::string::npos;
    if (!(https || http) || !clean || origin.size() < 9) {
      return settings.badValue(
          "http.frame_ancestors",
          "'" + origin + "' is not an origin such as https://council.sharepoint.com");
    }
    o.frame_ancestors.push_back(origin);
  }
  SENDFLOW_ASSIGN_OR_RETURN(o.trust_forwarded_for,
                            settings.getBool("http.trust_forwarded_for", false));
  SENDFLOW_ASSIGN_OR_RETURN(const auto header_timeout,
                            settings.getDuration("http.header_timeout", std::chrono::seconds(10)));
  if (header_timeout < std::chrono::seconds(1) || header_timeout > std::chrono::minutes(5)) {
    return settings.badValue("http.header_timeout", "must be 1s to 5m");
  }
  o.header_timeout = std::chrono::duration_cast<std::chrono::seconds>(header_timeout);
  SENDFLOW_ASSIGN_OR_RETURN(long long per_client,
                            settings.getInt("http.max_connections_per_client", 32));
  if (per_client < 0 || per_client > 100000) {
    return settings.badValue("http.max_connections_per_client", "must be 0 (no bound) to 100000");
  }
  o.max_connections_per_client = static_cast<int>(per_client);
  return o;
}

// ---------------------------------------------------------------------------------------------
// The service

struct Service::Parts {
  EngineServices* engine = nullptr;
  JsonLog* log = nullptr;
  http::ServerOptions server_options;
  std::string public_url;
  std::chrono::milliseconds shutdown_grace{10000};

  auth::AuthConfig auth_config;
  std::unique_ptr<auth::SessionRevocations> session_revocations;
  std::unique_ptr<auth::SessionCodec> sessions;
  std::shared_ptr<auth::OidcVerifier> oidc_verifier;
  std::unique_ptr<auth::OidcClient> oidc_client;
  std::unique_ptr<auth::DevSignIn> dev_sign_in;
  std::unique_ptr<auth::BearerAuthenticator> bearer;

  std::unique_ptr<workbench::Directory> directory;
  std::unique_ptr<workbench::Workbench> workbench;
  std::unique_ptr<workbench::ApprovalLinks> approval_links;
  std::unique_ptr<web::WebPart> web_part;
  std::unique_ptr<webhooks::SharePointWebhook> sharepoint;
  std::unique_ptr<http::Metrics> metrics;
  http::Router router;
  std::unique_ptr<http::HttpServer> server;

  ~Parts() {
    if (server) server->stop(std::chrono::milliseconds(0));
    if (sharepoint) sharepoint->stop();
    // The runtime outlives the service: it must not call a listener that is gone.
    if (engine != nullptr && approval_links) engine->runtime->setTaskListener(nullptr);
  }
};

namespace {

// A free port on `address`, for a public URL that names the port before the server binds.
core::StatusOr<int> pickFreePort(const std::string& address) {
  try {
    Poco::Net::ServerSocket probe(Poco::Net::SocketAddress(address, 0));
    const int port = probe.address().port();
    probe.close();
    return port;
  } catch (const Poco::Exception& e) {
    return core::unavailable("cannot listen on " + address + ": " + e.displayText());
  }
}

// The Authenticate hook: bearer credentials for /api/, the session cookie elsewhere; every
// principal is recorded in the directory.
http::Authenticate makeAuthenticate(Service::Parts* parts);

void addProbes(Service::Parts& p) {
  p.router.add(
      "GET", "/healthz", [](http::Request&) { return http::Response::text(200, "ok"); },
      http::Access::kPublic);
  p.router.add(
      "GET", "/readyz",
      [&p](http::Request& r) {
        if (!p.engine->store->healthy()) {
          return http::Response::text(503, "not ready: the store does not answer");
        }
        // Every write failing (a full disk, a read-only file system) is not ready either.
        if (const core::Status writable = p.engine->store->checkWritable(); !writable.isOk()) {
          return http::Response::text(503, "not ready: " + writable.message());
        }
        for (const std::string& folder : p.engine->state_folders) {
          core::Status writable = core::createPrivateFolders(folder);
          if (writable.isOk()) writable = core::checkFolderWritable(folder);
          if (!writable.isOk()) {
            return http::Response::text(503, "not ready: " + writable.message());
          }
        }
        if (p.engine->definitions_loaded == 0) {
          return http::Response::text(503, "not ready: no workflow definition is loaded");
        }
        return http::Response::text(200, "ready");
      },
      http::Access::kPublic);
}

// Gauges read from the store at scrape time, computed together and kept for a few seconds so
// that several scrapers (or a fast one) cost one pass over the store.
class StoreGauges {
 public:
  StoreGauges(store::Store& store, const core::Clock& clock) : store_(store), clock_(clock) {}

  struct Values {
    long long open_tasks = 0;
    long long overdue_tasks = 0;
    std::map<std::string, long long> instances;  // by status
    long long outbox_pending = 0;
    long long outbox_failed = 0;
    long long incidents_open = 0;
  };

  Values values() {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (read_ && now - read_at_ < std::chrono::seconds(5)) return cached_;
    Values v;
    const core::TimePoint at = clock_.now();
    // On a reader connection: a scrape never holds the one writer.
    core::Status st = store_.read([&](store::Transaction& tx) -> core::Status {
      SENDFLOW_ASSIGN_OR_RETURN(auto tasks, tx.listTasks("open", "", 0));
      v.open_tasks = static_cast<long long>(tasks.size());
      for (const auto& t : tasks) {
        if (t.due_at && *t.due_at < at) ++v.overdue_tasks;
      }
      for (const char* status :
           {"running", "waiting", "completed", "cancelled", "failed", "incident"}) {
        store::InstanceFilter filter;
        filter.status = status;
        SENDFLOW_ASSIGN_OR_RETURN(v.instances[status], tx.countInstances(filter));
      }
      SENDFLOW_ASSIGN_OR_RETURN(auto outbox, tx.listOutbox());
      for (const auto& m : outbox) {
        if (m.status == "pending") ++v.outbox_pending;
        if (m.status == "failed") ++v.outbox_failed;
      }
      SENDFLOW_ASSIGN_OR_RETURN(auto incidents, tx.listIncidents(false));
      v.incidents_open = static_cast<long long>(incidents.size());
      return core::Status::ok();
    });
    if (!st.isOk()) throw std::runtime_error(st.message());
    cached_ = v;
    read_ = true;
    read_at_ = now;
    return v;
  }

 private:
  store::Store& store_;
  const core::Clock& clock_;
  std::mutex mutex_;
  bool read_ = false;                              // guarded by mutex_
  std::chrono::steady_clock::time_point read_at_;  // guarded by mutex_
  Values cached_;                                  // guarded by mutex_
};

void addGauges(http::Metrics& metrics, EngineServices& engine) {
  auto gauges = std::make_shared<StoreGauges>(*engine.store, *engine.clock);
  auto one = [](long long v) {
    return std::vector<http::GaugeSample>{{{}, static_cast<double>(v)}};
  };
  metrics.addGauge("sendflow_tasks_open", "Open human tasks and approvals.",
                   [gauges, one] { return one(gauges->values().open_tasks); });
  metrics.addGauge("sendflow_tasks_overdue", "Open tasks past their due date.",
                   [gauges, one] { return one(gauges->values().overdue_tasks); });
  metrics.addGauge("sendflow_instances", "Workflow instances by status.", [gauges] {
    std::vector<http::GaugeSample> out;
    for (const auto& [status, n] : gauges->values().instances) {
      out.push_back({{{"status", status}}, static_cast<double>(n)});
    }
    return out;
  });
  metrics.addGauge("sendflow_outbox_pending", "Mails waiting to be sent (including retries).",
                   [gauges, one] { return one(gauges->values().outbox_pending); });
  metrics.addGauge("sendflow_outbox_failed", "Mails given up after their last retry.",
                   [gauges, one] { return one(gauges->values().outbox_failed); });
  metrics.addGauge("sendflow_incidents_open", "Unresolved incidents (steps that need a person).",
                   [gauges, one] { return one(gauges->values().incidents_open); });
  metrics.addGauge("sendflow_store_healthy", "1 when the store answers, else 0.",
                   [&engine, one] { return one(engine.store->healthy() ? 1 : 0); });
}

}  // namespace

Service::Service(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Service::~Service() = default;

core::StatusOr<std::unique_ptr<Service>> Service::open(const Settings& settings,
                                                       EngineServices& engine, JsonLog& log,
                                                       int port_override) {
  auto p = std::make_unique<Parts>();
  p->engine = &engine;
  p->log = &log;
  SENDFLOW_ASSIGN_OR_RETURN(p->server_options, readServerOptions(settings));
  if (port_override >= 0) p->server_options.port = port_override;
  SENDFLOW_ASSIGN_OR_RETURN(p->shutdown_grace,
                            settings.getDuration("http.shutdown_grace", std::chrono::seconds(10)));

  // The public URL: links in mails and the OIDC redirect. Without one, the address as bound.
  SENDFLOW_ASSIGN_OR_RETURN(p->public_url, settings.getString("http.public_url", ""));
  while (!p->public_url.empty() && p->public_url.back() == '/') p->public_url.pop_back();
  if (!p->public_url.empty() && p->public_url.rfind("http://", 0) != 0 &&
      p->public_url.rfind("https://", 0) != 0) {
    return settings.badValue("http.public_url",
                             "'" + p->public_url + "' does not start with http:// or https://");
  }
  if (p->public_url.empty()) {
    if (p->server_options.port == 0) {
      SENDFLOW_ASSIGN_OR_RETURN(p->server_options.port, pickFreePort(p->server_options.address));
    }
    const bool tls = !p->server_options.tls_certificate_file.empty();
    std::string host = p->server_options.address;
    if (host == "0.0.0.0" || host == "::") host = "127.0.0.1";
    p->public_url = std::string(tls ? "https://" : "http://") + host + ":" +
                    std::to_string(p->server_options.port);
  }

  // Sign-in.
  SENDFLOW_ASSIGN_OR_RETURN(const std::string environment,
                            settings.getString("deployment.environment", "development"));
  auto auth_config = auth::parseAuthConfig(settings.section("auth"), environment);
  if (!auth_config.isOk()) return auth_config.status().withContext(settings.source());
  p->auth_config = std::move(*auth_config);
  SENDFLOW_RETURN_IF_ERROR(
      auth::checkProductionSafety(p->auth_config).withContext(settings.source()));
  SENDFLOW_ASSIGN_OR_RETURN(const std::string secret,
                            auth::loadOrCreateSessionSecret(p->auth_config));
  p->session_revocations = std::make_unique<auth::SessionRevocations>(*engine.store, *engine.clock);
  p->sessions = std::make_unique<auth::SessionCodec>(
      secret, *engine.clock, p->auth_config.session_lifetime, p->session_revocations.get());
  if (p->auth_config.mode == auth::AuthMode::kOidc) {
    p->oidc_verifier = std::make_shared<auth::OidcVerifier>(p->auth_config.oidc, *engine.clock);
    p->oidc_client = std::make_unique<auth::OidcClient>(*p->oidc_verifier);
  } else {
    auto users = auth::DevSignIn::load(p->auth_config.dev_users_path);
    if (!users.isOk()) return users.status().withContext("auth.dev.users");
    p->dev_sign_in = std::make_unique<auth::DevSignIn>(std::move(*users));
  }
  p->bearer = std::make_unique<auth::BearerAuthenticator>(
      std::make_shared<const auth::ApiKeys>(p->auth_config.api_keys), p->oidc_verifier);

  // People, the workbench, approval links.
  p->directory = std::make_unique<workbench::Directory>(*engine.store, *engine.clock);
  SENDFLOW_ASSIGN_OR_RETURN(std::string directory_file,
                            settings.getPath("workbench.directory_file", ""));
  if (directory_file.empty() && p->auth_config.mode == auth::AuthMode::kDevelopment) {
    directory_file = p->auth_config.dev_users_path;
  }
  if (!directory_file.empty()) {
    core::Status loaded = p->directory->loadFile(directory_file);
    if (!loaded.isOk()) return settings.badValue("workbench.directory_file", loaded.message());
  }
  workbench::WorkbenchOptions workbench_options;
  SENDFLOW_ASSIGN_OR_RETURN(
      const std::string conflict_fields,
      settings.getString("workbench.conflict_fields", "contributors,caseworker"));
  workbench_options.conflict_fields = splitList(conflict_fields, ", ");
  p->workbench = std::make_unique<workbench::Workbench>(*engine.runtime, *p->directory,
                                                        *engine.clock, workbench_options);
  workbench::ApprovalLinkOptions link_options;
  link_options.public_url = p->public_url;
  SENDFLOW_ASSIGN_OR_RETURN(link_options.link_grace,
                            settings.getDuration("approvals.link_grace", std::chrono::hours(48)));
  SENDFLOW_ASSIGN_OR_RETURN(
      link_options.link_max_age,
      settings.getDuration("approvals.link_max_age", std::chrono::hours(24 * 14)));
  SENDFLOW_ASSIGN_OR_RETURN(link_options.service_name,
                            settings.getString("council.name", "Sample Council"));
  p->approval_links =
      std::make_unique<workbench::ApprovalLinks>(*engine.runtime, link_options, *engine.clock);
  engine.runtime->setTaskListener(p->approval_links.get());

  // Routes: probes and metrics, the REST API, the web part, the webhooks.
  addProbes(*p);
  http::MetricsOptions metrics_options;
  SENDFLOW_ASSIGN_OR_RETURN(metrics_options.token, settings.getString("metrics.token", ""));
  SENDFLOW_ASSIGN_OR_RETURN(const std::string token_file,
                            settings.getPath("metrics.bearer_token_file", ""));
  if (!token_file.empty()) {
    if (!metrics_options.token.empty()) {
      return settings.badValue("metrics.bearer_token_file",
                               "set either metrics.token or metrics.bearer_token_file, not both");
    }
    std::ifstream file(token_file);
    if (!file) return settings.badValue("metrics.bearer_token_file", "cannot read " + token_file);
    std::getline(file, metrics_options.token);
    while (!metrics_options.token.empty() &&
           std::isspace(static_cast<unsigned char>(metrics_options.token.back()))) {
      metrics_options.token.pop_back();
    }
    if (metrics_options.token.size() < 16) {
      return settings.badValue("metrics.bearer_token_file",
                               token_file + " must hold a token of at least 16 characters");
    }
  }
  // Without a token, only this machine may scrape unless metrics.loopback_only = false says so.
  SENDFLOW_ASSIGN_OR_RETURN(
      metrics_options.loopback_only,
      settings.getBool("metrics.loopback_only", metrics_options.token.empty()));
  p->metrics = std::make_unique<http::Metrics>(metrics_options);
  addGauges(*p->metrics, engine);
  p->metrics->addRoutes(p->router);

  web::WebPartOptions web_options;
  web_options.sessions = p->sessions.get();
  web_options.oidc = p->oidc_client.get();
  web_options.dev_sign_in = p->dev_sign_in.get();
  web_options.public_url = p->public_url;
  SENDFLOW_ASSIGN_OR_RETURN(web_options.council_name,
                            settings.getString("council.name", "Sample Council"));
  SENDFLOW_ASSIGN_OR_RETURN(
      web_options.secure_cookies,
      settings.getBool("http.cookie.secure", p->public_url.rfind("https://", 0) == 0));
  SENDFLOW_ASSIGN_OR_RETURN(const std::string same_site,
                            settings.getString("http.cookie.same_site", "lax"));
  auto parsed_same_site = web::parseSameSite(same_site);
  if (!parsed_same_site.isOk()) {
    return settings.badValue("http.cookie.same_site", parsed_same_site.status().message());
  }
  web_options.same_site = *parsed_same_site;
  p->web_part =
      std::make_unique<web::WebPart>(*p->workbench, *p->approval_links, web_options, *engine.clock);
  p->web_part->addRoutes(p->router);

  api::RestApiOptions api_options;
  api_options.public_url = p->public_url;
  api::addRestApi(p->router, *p->workbench, api_options);

  // The SharePoint webhook, when webhooks.sharepoint.* is configured.
  const auto sharepoint_section = settings.section("webhooks.sharepoint");
  if (!sharepoint_section.empty()) {
    const auto environment = Settings::processEnvironment();
    SENDFLOW_ASSIGN_OR_RETURN(webhooks::SharePointWebhookOptions webhook_options,
                              webhooks::parseSharePointWebhookOptions(
                                  sharepoint_section, settings.source(), environment));
    JsonLog* log_ptr = &log;
    webhook_options.report = [log_ptr](const core::StatusOr<webhooks::WebhookPassResult>& pass) {
      if (!pass.isOk()) {
        log_ptr->error("SharePoint webhook pass failed", {{"error", pass.status().message()}});
      } else if (pass->started > 0) {
        log_ptr->info("SharePoint webhook started workflows", {{"started", pass->started}});
      }
    };
    const auto connector_section = settings.section("connector");
    const std::string source_label = settings.source();
    const core::Clock* clock = engine.clock.get();
    p->sharepoint = std::make_unique<webhooks::SharePointWebhook>(
        *engine.runtime,
        [connector_section, source_label, environment, clock]() {
          return connectors::makeDocumentSource(connector_section, source_label, environment,
                                                *clock);
        },
        std::move(webhook_options), *engine.clock);
    p->sharepoint->addRoutes(p->router);
  }

  Parts* raw = p.get();
  p->server =
      std::make_unique<http::HttpServer>(p->server_options, p->router, makeAuthenticate(raw),
                                         &log.accessLogStream(), p->metrics.get());
  return std::unique_ptr<Service>(new Service(std::move(p)));
}

namespace {

http::Authenticate makeAuthenticate(Service::Parts* p) {
  return [p](const http::Request& r) -> core::StatusOr<std::optional<auth::Principal>> {
    std::optional<auth::Principal> who;
    // API or pages is decided by the route that matched (HttpServer routes only canonical
    // paths), never by how the client spelt the path: "//api/v1/..." cannot reach the API with
    // the pages' session cookie.
    if (r.route.rfind("/api/", 0) == 0) {
      const std::string authorization = r.header("Authorization");
      const std::string api_key = r.header("X-Api-Key");
      if (authorization.empty() && api_key.empty()) return who;
      SENDFLOW_ASSIGN_OR_RETURN(auth::Principal principal,
                                p->bearer->authenticate(authorization, api_key));
      who = std::move(principal);
    } else {
      SENDFLOW_ASSIGN_OR_RETURN(who, p->web_part->sessionPrincipal(r));
      if (!who) return who;
    }
    // The directory keeps what the identity provider last said (names, addresses, roles) for
    // mail and reassignment; it writes only when something changed.
    core::Status recorded = p->directory->recordSignIn(*who);
    if (!recorded.isOk()) {
      p->log->warn("could not record the sign-in in the directory",
                   {{"request_id", r.request_id}, {"error", recorded.message()}});
    }
    return who;
  };
}

}  // namespace

core::Status Service::start() {
  SENDFLOW_RETURN_IF_ERROR(parts_->server->start());
  if (parts_->sharepoint) parts_->sharepoint->start();
  return core::Status::ok();
}

void Service::stop() {
  parts_->server->stop(parts_->shutdown_grace);
  if (parts_->sharepoint) parts_->sharepoint->stop();
}

int Service::port() const { return parts_->server->port(); }
std::string Service::address() const { return parts_->server_options.address; }
bool Service::tls() const { return parts_->server->tls(); }

std::string Service::publicUrl() const { return parts_->public_url; }

// ---------------------------------------------------------------------------------------------
// The command

int runServeCommand(CommandContext& ctx) {
  std::string port_text;
  takeOption(ctx.args, "port", port_text);
  if (!ctx.args.empty()) {
    ctx.err << "usage: sendflow serve [--port N]\n";
    return kExitUsage;
  }
  // Block the stop signals before any thread starts, so every thread inherits the mask and
  // this one receives them in sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  JsonLog log(ctx.err);
  auto fail = [&](const core::Status& st) {
    log.error("sendflow serve could not start", {{"error", st.message()}});
    return st.code() == core::StatusCode::kInvalidArgument ||
                   st.code() == core::StatusCode::kFailedPrecondition
               ? kExitInvalidInput
               : kExitFailure;
  };

  std::ostringstream definition_problems;
  auto engine = openEngine(ctx.settings, true, definition_problems);
  if (!engine.isOk()) return fail(engine.status());
  {
    std::istringstream problems(definition_problems.str());
    std::string line;
    while (std::getline(problems, line)) {
      log.warn("a workflow definition was skipped", {{"problem", line}});
    }
  }
  EngineServices& e = **engine;
  std::ostringstream sample_out;
  auto sample = ensureSampleLibrary(ctx.settings, *e.clock, sample_out);
  if (!sample.isOk()) return fail(sample.status());
  if (*sample) log.info("wrote the sample intranet library", {{"detail", sample_out.str()}});

  long long port = -1;
  if (!port_text.empty()) {
    try {
      std::size_t used = 0;
      port = std::stoll(port_text, &used);
      if (used != port_text.size()) port = -1;
    } catch (const std::exception&) {
    }
    if (port < 0 || port > 65535) {
      ctx.err << "sendflow serve: --port: '" << port_text << "' is not a port number\n";
      return kExitUsage;
    }
  }
  auto released = e.runtime->releaseLeases();
  if (!released.isOk()) return fail(released.status());

  // The mail dispatcher's failures become JSON lines too.
  if (e.mail_log) {
    *e.mail_log = [&log](const std::string& line) {
      log.warn("mail delivery", {{"detail", line}});
    };
  }
  auto service = Service::open(ctx.settings, e, log, static_cast<int>(port));
  if (!service.isOk()) return fail(service.status());

  engine::WorkerOptions worker_options;
  worker_options.threads = e.workers;
  worker_options.poll = e.poll_interval;
  engine::WorkerPool workers(*e.runtime, worker_options, [&e, &log] {
    auto started = e.scheduler->tick();
    if (!started.isOk()) log.error("scheduler failed", {{"error", started.status().message()}});
    auto sent = e.outbox->dispatchPending(100);
    if (!sent.isOk()) log.error("outbox dispatch failed", {{"error", sent.status().message()}});
    // After a burst the store's page caches are full (to their bound): a minute without writes
    // gives them back, and the allocator returns the freed memory to the system.
    if (e.store->releaseMemoryWhenIdle(std::chrono::minutes(1))) ::malloc_trim(0);
  });
  core::Status listening = (*service)->start();
  if (!listening.isOk()) return fail(listening);
  workers.start();
  const std::string url = (*service)->publicUrl();
  // The first line on stdout says where the service is (scripts and tests read it).
  Service& s = **service;
  ctx.out << "sendflow: serving on " << (s.tls() ? "https" : "http") << "://" << s.address() << ":"
          << s.port() << " (" << e.definitions_loaded << " workflows, " << e.workers
          << " workers; open " << url << "/ in a browser)" << std::endl;
  log.info("serving", {{"address", s.address()},
                       {"port", (*service)->port()},
                       {"public_url", url},
                       {"workflows", e.definitions_loaded},
                       {"workers", e.workers}});

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log.info("stopping", {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}});
  (*service)->stop();
  workers.stop();
  service->reset();
  engine->reset();
  log.info("stopped");
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
  return kExitOk;
}

}  // namespace sendflow::app
