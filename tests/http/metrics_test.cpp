#include "server/http/metrics.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <thread>
#include <vector>

namespace sendflow::http {
namespace {

Request requestFor(const std::string& method, const std::string& route) {
  Request r;
  r.method = method;
  r.path = route;
  r.route = route;
  r.request_id = "test";
  r.client_address = "127.0.0.1";
  return r;
}

void record(Metrics& m, const std::string& method, const std::string& route, int status,
            std::chrono::microseconds took) {
  const Request r = requestFor(method, route);
  m.requestStarted(r);
  m.requestFinished(r, status, 10, took);
}

// The exposition up to the process collector, whose values change from run to run.
std::string withoutProcess(const std::string& text) {
  return text.substr(0, text.find("# HELP process_"));
}

TEST(MetricsTest, WritesTheExactExpositionFormat) {
  Metrics m;
  record(m, "GET", "/api/v1/tasks", 200, std::chrono::microseconds(1500));
  record(m, "GET", "/api/v1/tasks", 200, std::chrono::microseconds(700));
  record(m, "POST", "/api/v1/tasks/{id}/complete", 422, std::chrono::microseconds(30000));
  m.addGauge("sendflow_tasks_open", "Open human tasks.", [] {
    return std::vector<GaugeSample>{{{}, 12}};
  });
  m.addGauge("sendflow_instances", "Instances by status.", [] {
    return std::vector<GaugeSample>{{{{"status", "running"}}, 3}, {{{"status", "completed"}}, 4.5}};
  });

  const std::string expected =
      "# HELP sendflow_http_requests_total HTTP requests answered, by route pattern, method and "
      "status.\n"
      "# TYPE sendflow_http_requests_total counter\n"
      "sendflow_http_requests_total{route=\"/api/v1/tasks\",method=\"GET\",status=\"200\"} 2\n"
      "sendflow_http_requests_total{route=\"/api/v1/tasks/{id}/complete\",method=\"POST\","
      "status=\"422\"} 1\n"
      "# HELP sendflow_http_request_duration_seconds Time from the first byte of a request to "
      "its response being written.\n"
      "# TYPE sendflow_http_request_duration_seconds histogram\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks\",le=\"0.001\"} 1\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks\",le=\"0.0025\"} 2\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks\",le=\"0.005\"} 2\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks\",le=\"0.01\"} 2\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks\",le=\"0.025\"} 2\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks\",le=\"0.05\"} 2\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks\",le=\"0.1\"} 2\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks\",le=\"0.25\"} 2\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks\",le=\"0.5\"} 2\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks\",le=\"1\"} 2\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks\",le=\"2.5\"} 2\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks\",le=\"5\"} 2\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks\",le=\"10\"} 2\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks\",le=\"+Inf\"} 2\n"
      "sendflow_http_request_duration_seconds_sum{route=\"/api/v1/tasks\"} 0.0022\n"
      "sendflow_http_request_duration_seconds_count{route=\"/api/v1/tasks\"} 2\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks/{id}/complete\","
      "le=\"0.001\"} 0\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks/{id}/complete\","
      "le=\"0.0025\"} 0\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks/{id}/complete\","
      "le=\"0.005\"} 0\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks/{id}/complete\","
      "le=\"0.01\"} 0\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks/{id}/complete\","
      "le=\"0.025\"} 0\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks/{id}/complete\","
      "le=\"0.05\"} 1\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks/{id}/complete\","
      "le=\"0.1\"} 1\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks/{id}/complete\","
      "le=\"0.25\"} 1\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks/{id}/complete\","
      "le=\"0.5\"} 1\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks/{id}/complete\","
      "le=\"1\"} 1\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks/{id}/complete\","
      "le=\"2.5\"} 1\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks/{id}/complete\","
      "le=\"5\"} 1\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks/{id}/complete\","
      "le=\"10\"} 1\n"
      "sendflow_http_request_duration_seconds_bucket{route=\"/api/v1/tasks/{id}/complete\","
      "le=\"+Inf\"} 1\n"
      "sendflow_http_request_duration_seconds_sum{route=\"/api/v1/tasks/{id}/complete\"} 0.03\n"
      "sendflow_http_request_duration_seconds_count{route=\"/api/v1/tasks/{id}/complete\"} 1\n"
      "# HELP sendflow_http_connections_refused_total Connections refused before a request was "
      "read, by reason (per_client_limit: the client already had "
      "http.max_connections_per_client open).\n"
      "# TYPE sendflow_http_connections_refused_total counter\n"
      "sendflow_http_connections_refused_total{reason=\"per_client_limit\"} 0\n"
      "# HELP sendflow_http_requests_in_flight HTTP requests being served now.\n"
      "# TYPE sendflow_http_requests_in_flight gauge\n"
      "sendflow_http_requests_in_flight 0\n"
      "# HELP sendflow_tasks_open Open human tasks.\n"
      "# TYPE sendflow_tasks_open gauge\n"
      "sendflow_tasks_open 12\n"
      "# HELP sendflow_instances Instances by status.\n"
      "# TYPE sendflow_instances gauge\n"
      "sendflow_instances{status=\"running\"} 3\n"
      "sendflow_instances{status=\"completed\"} 4.5\n"
      "# HELP sendflow_metrics_gauge_errors_total Scrapes at which a gauge could not be read (its "
      "samples were left out).\n"
      "# TYPE sendflow_metrics_gauge_errors_total counter\n"
      "sendflow_metrics_gauge_errors_total 0\n";
  EXPECT_EQ(withoutProcess(m.scrape()), expected);
}

TEST(MetricsTest, EveryLineIsACommentOrASampleOfTheTextFormat) {
  Metrics m;
  record(m, "GET", "/healthz", 200, std::chrono::microseconds(100));
  const std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+-]+|\+Inf|-Inf|NaN)$)");
  const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
  std::istringstream lines(m.scrape());
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, comment)) continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << line;
    ++samples;
  }
  EXPECT_GT(samples, 10);
  const std::string text = m.scrape();
  EXPECT_NE(text.find("\nprocess_resident_memory_bytes "), std::string::npos);
  EXPECT_NE(text.find("\nprocess_open_fds "), std::string::npos);
  EXPECT_NE(text.find("\nprocess_start_time_seconds "), std::string::npos);
  EXPECT_EQ(text.back(), '\n');
}

TEST(MetricsTest, EscapesLabelValues) {
  EXPECT_EQ(Metrics::escapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  Metrics m;
  m.addGauge("sendflow_test", "A test.", [] {
    return std::vector<GaugeSample>{{{{"name", "say \"hi\"\\\n"}}, 1}};
  });
  EXPECT_NE(m.scrape().find("sendflow_test{name=\"say \\\"hi\\\"\\\\\\n\"} 1\n"),
            std::string::npos);
}

TEST(MetricsTest, HistogramBucketsAreCumulativeAndBoundsInclusive) {
  Metrics m;
  // Exactly on a bound counts in that bucket (le = less or equal).
  record(m, "GET", "/x", 200, std::chrono::microseconds(1000));
  record(m, "GET", "/x", 200, std::chrono::microseconds(1001));
  record(m, "GET", "/x", 200, std::chrono::seconds(11));
  const std::string text = m.scrape();
  EXPECT_NE(text.find("_bucket{route=\"/x\",le=\"0.001\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("_bucket{route=\"/x\",le=\"0.0025\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("_bucket{route=\"/x\",le=\"10\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("_bucket{route=\"/x\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("_count{route=\"/x\"} 3\n"), std::string::npos);
  // Never decreasing along the buckets.
  std::regex bucket(R"(_bucket\{route="/x",le="[^"]+"\} ([0-9]+))");
  long long previous = -1;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), bucket);
       it != std::sregex_iterator(); ++it) {
    const long long v = std::stoll((*it)[1]);
    EXPECT_GE(v, previous);
    previous = v;
  }
}

TEST(MetricsTest, UnmatchedRequestsShareOneSeries) {
  Metrics m;
  Request r;
  r.method = "GET";
  r.path = "/no/such/thing/123";
  m.requestStarted(r);
  m.requestFinished(r, 404, 0, std::chrono::microseconds(10));
  const std::string text = m.scrape();
  EXPECT_NE(text.find("{route=\"unmatched\",method=\"GET\",status=\"404\"} 1"), std::string::npos);
  EXPECT_EQ(text.find("/no/such/thing"), std::string::npos);
}

TEST(MetricsTest, CountsInFlightRequests) {
  Metrics m;
  const Request r = requestFor("GET", "/slow");
  m.requestStarted(r);
  m.requestStarted(r);
  EXPECT_NE(m.scrape().find("\nsendflow_http_requests_in_flight 2\n"), std::string::npos);
  m.requestFinished(r, 200, 0, std::chrono::microseconds(1));
  EXPECT_NE(m.scrape().find("\nsendflow_http_requests_in_flight 1\n"), std::string::npos);
}

TEST(MetricsTest, ConcurrentUpdatesAreAllCounted) {
  Metrics m;
  constexpr int kThreads = 8;
  constexpr int kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < kEach; ++i) {
        // Half the threads share a series; the others make new ones as they go.
        record(m, "GET", t % 2 == 0 ? "/shared" : "/own/" + std::to_string(t % 4 + i % 3), 200,
               std::chrono::microseconds(i % 3000));
      }
    });
  }
  // Scrapes while the counts change must not crash or tear.
  for (int i = 0; i < 20; ++i) (void)m.scrape();
  for (auto& th : threads) th.join();
  const std::string text = m.scrape();
  EXPECT_NE(text.find("{route=\"/shared\",method=\"GET\",status=\"200\"} " +
                      std::to_string(kThreads / 2 * kEach) + "\n"),
            std::string::npos);
  EXPECT_NE(text.find("_count{route=\"/shared\"} " + std::to_string(kThreads / 2 * kEach) + "\n"),
            std::string::npos);
  long long total = 0;
  std::regex counter(R"(sendflow_http_requests_total\{[^}]*\} ([0-9]+))");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), counter);
       it != std::sregex_iterator(); ++it) {
    total += std::stoll((*it)[1]);
  }
  EXPECT_EQ(total, static_cast<long long>(kThreads) * kEach);
  EXPECT_NE(text.find("\nsendflow_http_requests_in_flight 0\n"), std::string::npos);
}

TEST(MetricsTest, AGaugeThatThrowsIsLeftOutAndCounted) {
  Metrics m;
  m.addGauge("sendflow_broken", "Broken.",
             []() -> std::vector<GaugeSample> { throw std::runtime_error("store down"); });
  const std::string text = m.scrape();
  EXPECT_EQ(text.find("sendflow_broken"), std::string::npos);
  EXPECT_NE(text.find("sendflow_metrics_gauge_errors_total 1\n"), std::string::npos);
}

TEST(MetricsTest, RefusesBadAndRepeatedGaugeNames) {
  Metrics m;
  EXPECT_THROW(m.addGauge("1bad", "x", [] { return std::vector<GaugeSample>{}; }),
               std::invalid_argument);
  EXPECT_THROW(m.addGauge("bad-name", "x", [] { return std::vector<GaugeSample>{}; }),
               std::invalid_argument);
  m.addGauge("sendflow_ok", "x", [] { return std::vector<GaugeSample>{}; });
  EXPECT_THROW(m.addGauge("sendflow_ok", "x", [] { return std::vector<GaugeSample>{}; }),
               std::invalid_argument);
}

Response get(Router& router, const std::string& client, const std::string& authorization) {
  Request r;
  r.method = "GET";
  r.path = "/metrics";
  r.request_id = "rid";
  r.client_address = client;
  if (!authorization.empty()) r.headers["Authorization"] = authorization;
  const Router::Match match = router.match("GET", "/metrics");
  EXPECT_NE(match.route, nullptr);
  EXPECT_EQ(match.route->access, Access::kPublic);
  return match.route->handler(r);
}

TEST(MetricsTest, EndpointAnswersOnlyLoopbackByDefault) {
  Metrics m;
  Router router;
  m.addRoutes(router);
  EXPECT_EQ(get(router, "10.1.2.3", "").status, 404);
  EXPECT_EQ(get(router, "::ffff:10.1.2.3", "").status, 404);
  const Response r = get(router, "127.0.0.1", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("sendflow_http_requests_in_flight"), std::string::npos);
}

TEST(MetricsTest, EndpointIsPublicOnlyWhenLoopbackOnlyIsTurnedOffWithoutAToken) {
  Metrics m({.token = "", .loopback_only = false});
  Router router;
  m.addRoutes(router);
  EXPECT_EQ(get(router, "10.1.2.3", "").status, 200);
}

TEST(MetricsTest, LabelsComeFromAClosedSet) {
  Metrics m;
  Request r;
  r.route = "/api/v1/tasks";
  for (const char* method : {"GET", "BREW", "get", "PROPFIND", "X\"}\n"}) {
    r.method = method;
    m.requestStarted(r);
    m.requestFinished(r, 200, 0, std::chrono::microseconds(10));
  }
  r.method = "GET";
  m.requestStarted(r);
  m.requestFinished(r, 299, 0, std::chrono::microseconds(10));
  m.requestStarted(r);
  m.requestFinished(r, 999, 0, std::chrono::microseconds(10));
  const std::string text = m.scrape();
  EXPECT_NE(text.find("{route=\"/api/v1/tasks\",method=\"GET\",status=\"200\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("{route=\"/api/v1/tasks\",method=\"other\",status=\"200\"} 4\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("{route=\"/api/v1/tasks\",method=\"GET\",status=\"2xx\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("{route=\"/api/v1/tasks\",method=\"GET\",status=\"other\"} 1\n"),
            std::string::npos);
  EXPECT_EQ(text.find("BREW"), std::string::npos);
}

TEST(MetricsTest, EndpointCanRequireAToken) {
  Metrics m({.token = "s3cret-scrape-token", .loopback_only = false});
  Router router;
  m.addRoutes(router);
  EXPECT_EQ(get(router, "10.1.2.3", "").status, 401);
  EXPECT_EQ(get(router, "10.1.2.3", "Bearer wrong").status, 401);
  EXPECT_EQ(get(router, "10.1.2.3", "Bearer s3cret-scrape-token-and-more").status, 401);
  const Response ok = get(router, "10.1.2.3", "Bearer s3cret-scrape-token");
  EXPECT_EQ(ok.status, 200);
}

TEST(MetricsTest, EndpointCanBeLimitedToLoopback) {
  Metrics m({.token = "", .loopback_only = true});
  Router router;
  m.addRoutes(router);
  EXPECT_EQ(get(router, "10.1.2.3", "").status, 404);
  EXPECT_EQ(get(router, "127.0.0.1", "").status, 200);
  EXPECT_EQ(get(router, "::1", "").status, 200);
}

TEST(MetricsTest, ReadsProcessStatistics) {
  const ProcessStats p = readProcessStats();
  EXPECT_GT(p.resident_memory_bytes, 1024 * 1024);
  EXPECT_GE(p.open_fds, 3);
  const double now = static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  EXPECT_LE(p.start_time_seconds, now + 1);
  EXPECT_GT(p.start_time_seconds, now - 3600);
}

}  // namespace
}  // namespace sendflow::http
