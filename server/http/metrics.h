#pragma once
// The service's Prometheus metrics, in the text exposition format 0.0.4 at GET /metrics.
//
// Series kept by the observer (HttpServer tells it of every request):
//   sendflow_http_requests_total{route,method,status}        counter
//   sendflow_http_request_duration_seconds{route}            histogram, buckets 1 ms .. 10 s
//   sendflow_http_requests_in_flight                         gauge
//   sendflow_http_connections_refused_total{reason}          counter (per_client_limit)
// Every label value comes from a closed set, so no client can add series: `route` is the
// matched pattern ("/api/v1/tasks/{id}/complete"), never the raw path, or "unmatched" for a
// request that matched no route (or was refused before routing); `method` is one of GET HEAD
// POST PUT PATCH DELETE OPTIONS, anything else "other"; `status` is one of the codes the service
// answers (200, 201, ... 505), anything else its class ("4xx"). Gauges read at scrape time
// through callbacks the wiring registers (addGauge), for example sendflow_tasks_open or
// sendflow_outbox_pending; and the process collector:
//   process_resident_memory_bytes, process_open_fds, process_start_time_seconds.
//
// Access to /metrics (MetricsOptions; the route itself is Access::kPublic, no sign-in):
//   loopback_only   (the default) only clients on 127.0.0.0/8 or ::1 are answered; others get
//                   404. Behind a reverse proxy on the same machine every client looks like
//                   loopback unless HttpServer trusts X-Forwarded-For.
//   token           the scraper must send "Authorization: Bearer <token>" (compared in constant
//                   time); anything else gets 401
// Both may be set; with neither (loopback_only = false and no token) /metrics is public.
// Metrics never carry user ids, task ids or anything from a request body.
//
// Thread-safety: requestStarted/requestFinished/connectionRefused and the scrape may run on many
// threads at once. Counters are atomics; a series is created once under a lock and then updated
// without one. addGauge and addRoutes are called while wiring, before the server starts.

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "server/http/http_server.h"
#include "server/http/router.h"

namespace sendflow::http {

struct MetricsOptions {
  std::string token;          // empty: no token required
  bool loopback_only = true;  // answer only loopback clients
};

// One value of a gauge: its labels (name -> value, in this order) and the value.
struct GaugeSample {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

// Reads the current values of a gauge. An empty vector writes no sample. May throw: the scrape
// then skips the gauge and counts it in sendflow_metrics_gauge_errors_total.
using GaugeReader = std::function<std::vector<GaugeSample>()>;

class Metrics final : public RequestObserver {
 public:
  // The upper bounds of the duration histogram, in seconds (+Inf is implied).
  static constexpr std::array<double, 13> kDurationBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  explicit Metrics(MetricsOptions options = {});
  ~Metrics() override;

  void requestStarted(const Request& request) override;
  void requestFinished(const Request& request, int status, std::size_t response_bytes,
                       std::chrono::microseconds duration) override;
  void connectionRefused(ConnectionRefusal reason) override;

  // A gauge read at every scrape. `name` must be a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)
  // and not registered before; a bad or repeated name is a programming error and throws
  // std::invalid_argument.
  void addGauge(std::string name, std::string help, GaugeReader reader);

  // GET /metrics (Access::kPublic; see MetricsOptions for what restricts it).
  void addRoutes(Router& router);

  // The whole exposition text (what GET /metrics answers).
  std::string scrape() const;

  // Escapes a label value for the exposition format (backslash, double quote, newline).
  static std::string escapeLabelValue(const std::string& value);

 private:
  struct Counter;
  struct Histogram;
  struct Gauge {
    std::string name;
    std::string help;
    GaugeReader reader;
  };

  Counter& counterFor(const std::string& route, const std::string& method,
                      const std::string& status);
  Histogram& histogramFor(const std::string& route);
  Response serveMetrics(const Request& request) const;

  MetricsOptions options_;
  std::atomic<long long> in_flight_{0};
  // By ConnectionRefusal, labelled with kRefusalReasons.
  static constexpr std::array<const char*, 1> kRefusalReasons = {"per_client_limit"};
  std::array<std::atomic<unsigned long long>, kRefusalReasons.size()> refused_{};
  mutable std::atomic<unsigned long long> gauge_errors_{0};

  mutable std::shared_mutex series_mutex_;
  // key: route '\n' method '\n' status; guarded by series_mutex_ (the map; values are atomics)
  std::unordered_map<std::string, std::unique_ptr<Counter>> counters_;
  // key: route; guarded by series_mutex_
  std::unordered_map<std::string, std::unique_ptr<Histogram>> histograms_;

  std::vector<Gauge> gauges_;  // fixed once the server starts
};

// Resident memory in bytes, open file descriptors, and the start time (seconds since the epoch)
// of this process, read from /proc. A value that cannot be read is -1.
struct ProcessStats {
  double resident_memory_bytes = -1;
  double open_fds = -1;
  double start_time_seconds = -1;
};
ProcessStats readProcessStats();

}  // namespace sendflow::http
