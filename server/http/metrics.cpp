#include "server/http/metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include <openssl/crypto.h>

namespace sendflow::http {

struct Metrics::Counter {
  std::string route;
  std::string method;
  std::string status;
  std::atomic<unsigned long long> value{0};
};

struct Metrics::Histogram {
  std::string route;
  // Non-cumulative counts per bucket; the last one is (10 s, +Inf).
  std::array<std::atomic<unsigned long long>, kDurationBuckets.size() + 1> buckets{};
  std::atomic<unsigned long long> sum_us{0};
};

namespace {

constexpr char kRequestsTotal[] = "sendflow_http_requests_total";
constexpr char kDuration[] = "sendflow_http_request_duration_seconds";
constexpr char kInFlight[] = "sendflow_http_requests_in_flight";
constexpr char kRefused[] = "sendflow_http_connections_refused_total";
constexpr char kUnmatched[] = "unmatched";

bool validMetricName(const std::string& name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!(letter || (i > 0 && digit))) return false;
  }
  return true;
}

// A sample value as Prometheus reads it: integers without a fraction, others in the shortest
// form that reads back exactly; NaN and the infinities by their names.
std::string formatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
  return std::string(buffer, result.ptr);
}

// HELP text escaping: backslash and newline.
std::string escapeHelp(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void header(std::string& out, const char* name, const std::string& help, const char* type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += escapeHelp(help);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

bool isLoopback(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1" || address.rfind("::ffff:127.", 0) == 0;
}

std::string routeLabel(const Request& request) {
  return request.route.empty() ? kUnmatched : request.route;
}

// The method label: the standard methods the service may see, anything else "other", so a client
// making up methods cannot add series.
const char* methodLabel(const std::string& method) {
  static constexpr const char* kMethods[] = {"GET",   "HEAD",   "POST",   "PUT",
                                             "PATCH", "DELETE", "OPTIONS"};
  for (const char* known : kMethods) {
    if (method == known) return known;
  }
  return "other";
}

// The status label: the code when it is one the service answers, else its class ("4xx").
std::string statusLabel(int status) {
  static constexpr int kStatuses[] = {100, 200, 201, 202, 204, 301, 302, 303, 304, 307, 308,
                                      400, 401, 403, 404, 405, 409, 410, 413, 414, 415, 417,
                                      422, 429, 431, 500, 501, 502, 503, 504, 505};
  for (int known : kStatuses) {
    if (status == known) return std::to_string(status);
  }
  if (status >= 100 && status <= 599) return std::to_string(status / 100) + "xx";
  return "other";
}

}  // namespace

Metrics::Metrics(MetricsOptions options) : options_(std::move(options)) {}
Metrics::~Metrics() = default;

std::string Metrics::escapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void Metrics::requestStarted(const Request& request) {
  in_flight_.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::requestFinished(const Request& request, int status, std::size_t response_bytes,
                              std::chrono::microseconds duration) {
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  const std::string route = routeLabel(request);
  counterFor(route, methodLabel(request.method), statusLabel(status))
      .value.fetch_add(1, std::memory_order_relaxed);
  Histogram& h = histogramFor(route);
  const double seconds = static_cast<double>(duration.count()) / 1e6;
  std::size_t bucket = 0;
  while (bucket < kDurationBuckets.size() && seconds > kDurationBuckets[bucket]) ++bucket;
  h.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  h.sum_us.fetch_add(static_cast<unsigned long long>(std::max<long long>(0, duration.count())),
                     std::memory_order_relaxed);
}

void Metrics::connectionRefused(ConnectionRefusal reason) {
  refused_[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
}

Metrics::Counter& Metrics::counterFor(const std::string& route, const std::string& method,
                                      const std::string& status) {
  std::string key;
  key.reserve(route.size() + method.size() + status.size() + 2);
  key += route;
  key += '\n';
  key += method;
  key += '\n';
  key += status;
  {
    std::shared_lock lock(series_mutex_);
    auto it = counters_.find(key);
    if (it != counters_.end()) return *it->second;
  }
  std::unique_lock lock(series_mutex_);
  auto& slot = counters_[key];
  if (!slot) {
    slot = std::make_unique<Counter>();
    slot->route = route;
    slot->method = method;
    slot->status = status;
  }
  return *slot;
}

Metrics::Histogram& Metrics::histogramFor(const std::string& route) {
  {
    std::shared_lock lock(series_mutex_);
    auto it = histograms_.find(route);
    if (it != histograms_.end()) return *it->second;
  }
  std::unique_lock lock(series_mutex_);
  auto& slot = histograms_[route];
  if (!slot) {
    slot = std::make_unique<Histogram>();
    slot->route = route;
  }
  return *slot;
}

void Metrics::addGauge(std::string name, std::string help, GaugeReader reader) {
  if (!validMetricName(name)) {
    throw std::invalid_argument("metric name '" + name + "' is not valid");
  }
  for (const Gauge& g : gauges_) {
    if (g.name == name) throw std::invalid_argument("metric '" + name + "' is registered twice");
  }
  gauges_.push_back({std::move(name), std::move(help), std::move(reader)});
}

std::string Metrics::scrape() const {
  std::string out;
  out.reserve(4096);

  // Copy the series pointers under the lock; the values are read without it.
  std::vector<const Counter*> counters;
  std::vector<const Histogram*> histograms;
  {
    std::shared_lock lock(series_mutex_);
    counters.reserve(counters_.size());
    for (const auto& [key, c] : counters_) counters.push_back(c.get());
    histograms.reserve(histograms_.size());
    for (const auto& [key, h] : histograms_) histograms.push_back(h.get());
  }
  std::sort(counters.begin(), counters.end(), [](const Counter* a, const Counter* b) {
    return std::tie(a->route, a->method, a->status) < std::tie(b->route, b->method, b->status);
  });
  std::sort(histograms.begin(), histograms.end(),
            [](const Histogram* a, const Histogram* b) { return a->route < b->route; });

  header(out, kRequestsTotal, "HTTP requests answered, by route pattern, method and status.",
         "counter");
  for (const Counter* c : counters) {
    out += kRequestsTotal;
    out += "{route=\"" + escapeLabelValue(c->route) + "\",method=\"" + escapeLabelValue(c->method) +
           "\",status=\"" + c->status + "\"} ";
    out += std::to_string(c->value.load(std::memory_order_relaxed));
    out += '\n';
  }

  header(out, kDuration, "Time from the first byte of a request to its response being written.",
         "histogram");
  for (const Histogram* h : histograms) {
    const std::string route = "route=\"" + escapeLabelValue(h->route) + "\"";
    unsigned long long cumulative = 0;
    for (std::size_t i = 0; i <= kDurationBuckets.size(); ++i) {
      cumulative += h->buckets[i].load(std::memory_order_relaxed);
      out += kDuration;
      out += "_bucket{" + route + ",le=\"" +
             (i < kDurationBuckets.size() ? formatValue(kDurationBuckets[i]) : "+Inf") + "\"} ";
      out += std::to_string(cumulative);
      out += '\n';
    }
    out += kDuration;
    out += "_sum{" + route + "} ";
    out += formatValue(static_cast<double>(h->sum_us.load(std::memory_order_relaxed)) / 1e6);
    out += '\n';
    out += kDuration;
    out += "_count{" + route + "} ";
    out += std::to_string(cumulative);
    out += '\n';
  }

  header(out, kRefused,
         "Connections refused before a request was read, by reason (per_client_limit: the "
         "client already had http.max_connections_per_client open).",
         "counter");
  for (std::size_t i = 0; i < kRefusalReasons.size(); ++i) {
    out += kRefused;
    out += "{reason=\"";
    out += kRefusalReasons[i];
    out += "\"} ";
    out += std::to_string(refused_[i].load(std::memory_order_relaxed));
    out += '\n';
  }

  header(out, kInFlight, "HTTP requests being served now.", "gauge");
  out += kInFlight;
  out += ' ';
  out += std::to_string(in_flight_.load(std::memory_order_relaxed));
  out += '\n';

  for (const Gauge& g : gauges_) {
    std::vector<GaugeSample> samples;
    try {
      samples = g.reader();
    } catch (const std::exception&) {
      gauge_errors_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    header(out, g.name.c_str(), g.help, "gauge");
    for (const GaugeSample& s : samples) {
      out += g.name;
      if (!s.labels.empty()) {
        out += '{';
        bool first = true;
        for (const auto& [k, v] : s.labels) {
          if (!first) out += ',';
          first = false;
          out += k + "=\"" + escapeLabelValue(v) + "\"";
        }
        out += '}';
      }
      out += ' ';
      out += formatValue(s.value);
      out += '\n';
    }
  }
  header(out, "sendflow_metrics_gauge_errors_total",
         "Scrapes at which a gauge could not be read (its samples were left out).", "counter");
  out += "sendflow_metrics_gauge_errors_total " +
         std::to_string(gauge_errors_.load(std::memory_order_relaxed)) + "\n";

  const ProcessStats p = readProcessStats();
  if (p.resident_memory_bytes >= 0) {
    header(out, "process_resident_memory_bytes", "Resident memory size in bytes.", "gauge");
    out += "process_resident_memory_bytes " + formatValue(p.resident_memory_bytes) + "\n";
  }
  if (p.open_fds >= 0) {
    header(out, "process_open_fds", "Number of open file descriptors.", "gauge");
    out += "process_open_fds " + formatValue(p.open_fds) + "\n";
  }
  if (p.start_time_seconds >= 0) {
    header(out, "process_start_time_seconds",
           "Start time of the process since the Unix epoch in seconds.", "gauge");
    out += "process_start_time_seconds " + formatValue(p.start_time_seconds) + "\n";
  }
  return out;
}

Response Metrics::serveMetrics(const Request& request) const {
  if (options_.loopback_only && !isLoopback(request.client_address)) {
    return Response::error(core::notFound("no such page or endpoint: " + request.path),
                           request.request_id);
  }
  if (!options_.token.empty()) {
    const std::string expected = "Bearer " + options_.token;
    const std::string given = request.header("Authorization");
    const bool ok = given.size() == expected.size() &&
                    CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
    if (!ok) {
      Response r = Response::error(core::unauthenticated("the metrics token is missing or wrong"),
                                   request.request_id);
      r.header("WWW-Authenticate", "Bearer realm=\"sendflow-metrics\"");
      return r;
    }
  }
  Response r;
  r.status = 200;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = scrape();
  return r;
}

void Metrics::addRoutes(Router& router) {
  router.add(
      "GET", "/metrics", [this](Request& request) { return serveMetrics(request); },
      Access::kPublic);
}

ProcessStats readProcessStats() {
  ProcessStats stats;
  const long page = sysconf(_SC_PAGESIZE);
  const long ticks = sysconf(_SC_CLK_TCK);
  {
    std::ifstream statm("/proc/self/statm");
    long long size = 0, resident = 0;
    if (statm >> size >> resident)
      stats.resident_memory_bytes = static_cast<double>(resident) * page;
  }
  if (DIR* dir = opendir("/proc/self/fd")) {
    long long n = 0;
    while (const dirent* e = readdir(dir)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(dir);
    stats.open_fds = static_cast<double>(n - 1);  // minus the descriptor of this listing
  }
  long long boot_time = -1;
  {
    std::ifstream stat("/proc/stat");
    std::string line;
    while (std::getline(stat, line)) {
      if (line.rfind("btime ", 0) == 0) {
        boot_time = std::stoll(line.substr(6));
        break;
      }
    }
  }
  {
    std::ifstream stat("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    const auto close = text.rfind(')');
    if (close != std::string::npos && boot_time >= 0 && ticks > 0) {
      std::istringstream rest(text.substr(close + 2));
      std::string field;
      // Fields 3..22; starttime is field 22.
      for (int i = 3; i <= 22 && (rest >> field); ++i) {
        if (i == 22) {
          stats.start_time_seconds =
              static_cast<double>(boot_time) + static_cast<double>(std::stoll(field)) / ticks;
        }
      }
    }
  }
  return stats;
}

}  // namespace sendflow::http
