// The load side of `bench/run soak`: virtual users, each on its own keep-alive connection to
// `sendflow serve` on 127.0.0.1 (from a loopback address of its own), repeating the review cycle of
// bench/soak/soak-review.xml as fast as the service answers (closed loop), while a sampler reads
// the service's memory.
//
//   soak_driver --port PORT --pid PID [--seconds 300] [--connections 64] [--sample-seconds 5]
//               [--timeout-seconds 10] [--window-seconds 30] [--skip dashboard,metrics]
//
// Credentials come from the environment (never the command line, which `ps` shows):
// SOAK_STARTER_KEY (an API key with the automation role), SOAK_AUDITOR_KEY (auditor),
// SOAK_MANAGER_KEY (manager), SOAK_METRICS_TOKEN, SOAK_LEAD_COOKIE and SOAK_AUDITOR_COOKIE (the
// Cookie header of a web session of a QA lead and of an auditor).
//
// One cycle, each request answered before the next is sent, with the status it must get:
//   start           POST /api/v1/instances                   starter key      201
//   read_instance   GET  /api/v1/instances/{id}              starter key      200  -> the review
//   my_tasks_api    GET  /api/v1/tasks                       auditor key      200
//   task_page       GET  /tasks/{review}                     QA lead session  200
//   dashboard       GET  /dashboard                          QA lead session  200
//   complete_review POST /api/v1/tasks/{review}/complete     auditor key      200
//   read_instance   GET  /api/v1/instances/{id}              starter key      200  -> the approval
//   my_tasks_page   GET  /tasks                              auditor session  200
//   approve         POST /api/v1/tasks/{approval}/complete   manager key      200
//   metrics         GET  /metrics                            metrics token    200
// --skip leaves some of the reads out (not start, read_instance, complete_review or approve, which
// the cycle needs). Any other status, a connection error, a timeout or an answer without the
// expected task is an error; the user then starts a new cycle (on a new connection after a
// connection error). When the time is up each user stops after its request in flight.
//
// Prints one JSON object: requests, errors, rps and latency percentiles (whole run, each request
// kind, each window), errors by kind and status with the first few in full, cycles and instances
// started and approved, and the samples of the service [seconds, VmRSS kB, RssAnon kB, RssFile kB,
// CPU ms used so far] read from /proc/PID at the start, every --sample-seconds and at the end.
// Exit status: 0 when the run completed (errors are reported, not judged here), 2 for bad usage.
#include <unistd.h>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

enum class Kind : std::uint8_t {
  kStart,
  kReadInstance,
  kMyTasksApi,
  kTaskPage,
  kDashboard,
  kCompleteReview,
  kMyTasksPage,
  kApprove,
  kMetrics,
};
constexpr std::array<const char*, 9> kKindNames = {
    "start",           "read_instance", "my_tasks_api", "task_page", "dashboard",
    "complete_review", "my_tasks_page", "approve",      "metrics"};

const char* kindName(Kind kind) { return kKindNames[static_cast<std::size_t>(kind)]; }

struct Options {
  int port = 0;
  int pid = 0;
  int seconds = 300;
  int connections = 64;
  int sample_seconds = 5;
  int timeout_seconds = 10;
  int window_seconds = 30;
  std::set<Kind> skipped;  // requests left out of the cycle (--skip), to see what one costs
};

struct Credentials {
  std::string starter_key;
  std::string auditor_key;
  std::string manager_key;
  std::string metrics_token;
  std::string lead_cookie;
  std::string auditor_cookie;
};

// One request as measured: when it was sent (ms since the load began), how long until its whole
// answer was read, and whether it got the status it must get.
struct RequestSample {
  std::uint32_t sent_ms;
  std::uint32_t latency_us;
  Kind kind;
  bool ok;
};

struct ErrorExample {
  double at_s;
  std::string kind;
  std::string request;
  std::string outcome;  // "status 500: <body excerpt>", "connection: ...", "timeout"
};

// What one virtual user measured; read by main after the user's thread has ended.
struct UserTally {
  std::vector<RequestSample> samples;
  std::map<std::string, long> errors;  // "complete_review 500", "start connection", ...
  std::vector<ErrorExample> examples;  // the user's first few errors
  long cycles = 0;
  long instances_started = 0;
  long instances_approved = 0;
};

struct Answer {
  int status = 0;  // 0 when no answer came
  std::string body;
  std::string failure;  // "connection" or "timeout" when no answer came
  std::string failure_detail;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// One keep-alive HTTP/1.1 connection to the service on 127.0.0.1, made from the source address
// given (another loopback address), so that each virtual user is a client of its own, as people
// at their own machines are: a service that bounds connections per client sees 64 clients, not
// one with 64 connections. Not thread-safe: one per user.
class LoopbackConnection {
 public:
  LoopbackConnection(std::string source, int port, std::chrono::seconds timeout)
      : source_(std::move(source)), port_(port), timeout_(timeout) {}

  // Sends one request and reads its whole answer, connecting first when there is no connection.
  // After a connection error, a timeout or an answer that closes the connection, the next
  // exchange connects anew.
  Answer exchange(const std::string& method, const std::string& path, const Headers& headers,
                  const std::string& body) {
    Answer answer;
    try {
      if (!session_) connect();
      Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
      request.setKeepAlive(true);
      request.setHost("127.0.0.1", static_cast<Poco::UInt16>(port_));
      for (const auto& [name, value] : headers) request.set(name, value);
      if (!body.empty()) {
        request.setContentType("application/json");
        request.setContentLength(static_cast<std::streamsize>(body.size()));
      } else if (method == "POST") {
        request.setContentLength(0);
      }
      std::ostream& out = session_->sendRequest(request);
      out << body;
      Poco::Net::HTTPResponse response;
      std::istream& in = session_->receiveResponse(response);
      Poco::StreamCopier::copyToString(in, answer.body);
      answer.status = static_cast<int>(response.getStatus());
      if (!response.getKeepAlive()) session_.reset();
    } catch (const Poco::TimeoutException& e) {
      answer.failure = "timeout";
      answer.failure_detail = e.displayText();
    } catch (const Poco::Exception& e) {
      answer.failure = "connection";
      answer.failure_detail = e.displayText();
    } catch (const std::exception& e) {
      answer.failure = "connection";
      answer.failure_detail = e.what();
    }
    if (!answer.failure.empty()) {
      session_.reset();
      // A client that cannot reach the service waits a little before it tries again.
      if (answer.failure == "connection") std::this_thread::sleep_for(kRetryPause);
    }
    return answer;
  }

 private:
  // Poco's session would reconnect by itself from any address, so it gets a socket bound and
  // connected here, no host of its own to reconnect to (requests name theirs), and an idle limit
  // longer than any run.
  void connect() {
    const Poco::Timespan timeout(static_cast<long>(timeout_.count()), 0);
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress::IPv4);
    socket.impl()->bind(Poco::Net::SocketAddress(source_, 0));
    socket.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port_)),
                   timeout);
    socket.setReceiveTimeout(timeout);
    socket.setSendTimeout(timeout);
    socket.setNoDelay(true);
    session_ = std::make_unique<Poco::Net::HTTPClientSession>(socket);
    session_->setKeepAlive(true);
    session_->setTimeout(timeout);
    session_->setKeepAliveTimeout(Poco::Timespan(24 * 3600, 0));
  }

  static constexpr std::chrono::milliseconds kRetryPause{100};
  std::string source_;
  int port_;
  std::chrono::seconds timeout_;
  std::unique_ptr<Poco::Net::HTTPClientSession> session_;
};

constexpr std::size_t kExamplesPerUser = 3;
constexpr std::size_t kBodyExcerpt = 300;

const char* kReviewBody =
    R"({"grade": "Good", "evidence": "Outcomes are specific and provision in section F is )"
    R"(quantified (2 x 30 minutes a week of speech and language therapy)."})";
const char* kApprovalBody = R"({"decision": "approve", "comment": "Agreed."})";

// A virtual user: one connection, one review cycle after another until the deadline.
class VirtualUser {
 public:
  VirtualUser(int index, const Options& options, const Credentials& credentials,
              SteadyClock::time_point began, SteadyClock::time_point deadline)
      : index_(index),
        credentials_(credentials),
        skipped_(options.skipped),
        began_(began),
        deadline_(deadline),
        connection_(sourceAddress(index), options.port,
                    std::chrono::seconds(options.timeout_seconds)) {}

  void run() {
    while (SteadyClock::now() < deadline_) {
      cycle();
      ++tally_.cycles;
    }
  }

  UserTally& tally() { return tally_; }

 private:
  // One review cycle; returns at the first error or when the time is up.
  void cycle() {
    const std::string reference =
        "SOAK-" + std::to_string(index_) + "-" + std::to_string(tally_.cycles);
    const json start = {{"workflow", "soak-review"},
                        {"input",
                         {{"plans", json::array({{{"plan_ref", reference},
                                                  {"locality", kLocalities[tally_.cycles % 5]},
                                                  {"caseworker", "soak-cw-" + reference},
                                                  {"contributors", json::array({"soak-ep-1"})},
                                                  {"finalised", "2026-10-01"}}})}}}};
    auto started = call(Kind::kStart, "POST", "/api/v1/instances", bearer(credentials_.starter_key),
                        start.dump(), 201);
    if (!started) return;
    ++tally_.instances_started;
    if (!more()) return;
    const std::string instance = started->value("id", "");
    const std::string instance_path = "/api/v1/instances/" + instance;

    auto review = openTaskOf(instance_path, "review");
    if (!review || !more()) return;
    if (!call(Kind::kMyTasksApi, "GET", "/api/v1/tasks", bearer(credentials_.auditor_key), "",
              200) ||
        !more()) {
      return;
    }
    if (!page(Kind::kTaskPage, "/tasks/" + *review, credentials_.lead_cookie) || !more()) return;
    if (!page(Kind::kDashboard, "/dashboard", credentials_.lead_cookie) || !more()) return;
    if (!call(Kind::kCompleteReview, "POST", "/api/v1/tasks/" + *review + "/complete",
              bearer(credentials_.auditor_key), kReviewBody, 200) ||
        !more()) {
      return;
    }
    auto approval = openTaskOf(instance_path, "approve");
    if (!approval || !more()) return;
    if (!page(Kind::kMyTasksPage, "/tasks", credentials_.auditor_cookie) || !more()) return;
    if (!call(Kind::kApprove, "POST", "/api/v1/tasks/" + *approval + "/complete",
              bearer(credentials_.manager_key), kApprovalBody, 200)) {
      return;
    }
    ++tally_.instances_approved;
    if (!more()) return;
    call(Kind::kMetrics, "GET", "/metrics", bearer(credentials_.metrics_token), "", 200);
  }

  bool more() const { return SteadyClock::now() < deadline_; }

  // User 0 connects from 127.0.0.2, user 1 from 127.0.0.3, ... (over 250 users share them).
  static std::string sourceAddress(int index) {
    return "127.0.0." + std::to_string(2 + index % 250);
  }

  static Headers bearer(const std::string& secret) {
    return {{"Authorization", "Bearer " + secret}, {"Accept", "application/json"}};
  }

  // The id of the instance's open task of `step`, read through the API.
  std::optional<std::string> openTaskOf(const std::string& instance_path, const std::string& step) {
    auto instance =
        call(Kind::kReadInstance, "GET", instance_path, bearer(credentials_.starter_key), "", 200);
    if (!instance) return std::nullopt;
    for (const json& task : instance->value("tasks", json::array())) {
      if (task.value("step_id", "") == step && task.value("status", "") == "open") {
        return task.value("id", "");
      }
    }
    fail(Kind::kReadInstance, "GET " + instance_path, "no open task of step '" + step + "'",
         "no_open_" + step);
    return std::nullopt;
  }

  bool page(Kind kind, const std::string& path, const std::string& cookie) {
    if (skipped_.count(kind) != 0) return true;
    Answer answer = send(kind, "GET", path, {{"Cookie", cookie}, {"Accept", "text/html"}}, "", 200);
    return answer.status == 200;
  }

  // A JSON request that must answer `expected`; its parsed body, or nothing after an error.
  std::optional<json> call(Kind kind, const std::string& method, const std::string& path,
                           const Headers& headers, const std::string& body, int expected) {
    if (skipped_.count(kind) != 0) return json::object();
    Answer answer = send(kind, method, path, headers, body, expected);
    if (answer.status != expected) return std::nullopt;
    if (kind == Kind::kMetrics) return json::object();
    json parsed = json::parse(answer.body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      fail(kind, method + " " + path, "the answer is not a JSON object", "bad_json");
      return std::nullopt;
    }
    return parsed;
  }

  Answer send(Kind kind, const std::string& method, const std::string& path, const Headers& headers,
              const std::string& body, int expected) {
    const auto sent = SteadyClock::now();
    Answer answer = connection_.exchange(method, path, headers, body);
    const auto done = SteadyClock::now();
    const bool ok = answer.status == expected;
    tally_.samples.push_back(
        {static_cast<std::uint32_t>(
             std::chrono::duration_cast<std::chrono::milliseconds>(sent - began_).count()),
         static_cast<std::uint32_t>(
             std::chrono::duration_cast<std::chrono::microseconds>(done - sent).count()),
         kind, ok});
    if (!ok) {
      const std::string request = method + " " + path;
      if (answer.status == 0) {
        fail(kind, request, answer.failure + ": " + answer.failure_detail, answer.failure);
      } else {
        fail(kind, request,
             "status " + std::to_string(answer.status) + ": " + answer.body.substr(0, kBodyExcerpt),
             std::to_string(answer.status));
      }
    }
    return answer;
  }

  // Counts an error; the user's first few are kept whole. A request already counted as a
  // sample (a wrong status) is not counted twice: bodies without the expected task are.
  void fail(Kind kind, const std::string& request, const std::string& outcome,
            const std::string& what) {
    ++tally_.errors[std::string(kindName(kind)) + " " + what];
    if (tally_.examples.size() < kExamplesPerUser) {
      tally_.examples.push_back({std::chrono::duration<double>(SteadyClock::now() - began_).count(),
                                 kindName(kind), request, outcome});
    }
  }

  static constexpr std::array<const char*, 5> kLocalities = {"North", "South", "East", "West",
                                                             "Central"};
  int index_;
  const Credentials& credentials_;
  const std::set<Kind>& skipped_;
  SteadyClock::time_point began_;
  SteadyClock::time_point deadline_;
  LoopbackConnection connection_;
  UserTally tally_;
};

// One reading of the service: VmRSS, RssAnon and RssFile (kB) from /proc/PID/status and the CPU
// time it has used (user + system, ms) from /proc/PID/stat; nothing when the process is gone.
std::optional<std::array<long, 4>> readProcess(int pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream status(dir + "/status");
  std::ifstream stat(dir + "/stat");
  if (!status || !stat) return std::nullopt;
  std::array<long, 4> reading = {-1, -1, -1, -1};
  std::string line;
  while (std::getline(status, line)) {
    for (auto [prefix, slot] : {std::pair{"VmRSS:", 0}, {"RssAnon:", 1}, {"RssFile:", 2}}) {
      if (line.rfind(prefix, 0) == 0) reading[slot] = std::atol(line.c_str() + std::strlen(prefix));
    }
  }
  // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
  std::getline(stat, line);
  const std::size_t after = line.rfind(')');
  if (reading[0] < 0 || after == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(after + 2));
  std::string field;
  long ticks = 0;
  for (int n = 3; n <= 15 && fields >> field; ++n) {
    if (n >= 14) ticks += std::atol(field.c_str());
  }
  reading[3] = ticks * 1000 / sysconf(_SC_CLK_TCK);
  return reading;
}

double percentileMs(std::vector<std::uint32_t>& latencies_us, double p) {
  if (latencies_us.empty()) return 0;
  const std::size_t rank =
      std::min(latencies_us.size() - 1,
               static_cast<std::size_t>(p / 100.0 * static_cast<double>(latencies_us.size())));
  std::nth_element(latencies_us.begin(), latencies_us.begin() + static_cast<long>(rank),
                   latencies_us.end());
  return std::round(latencies_us[rank] / 10.0) / 100.0;  // ms, two decimals
}

// Requests, errors and percentiles of the samples `take` selects.
template <typename Take>
json summary(const std::vector<RequestSample>& samples, double seconds, Take take) {
  std::vector<std::uint32_t> latencies;
  long errors = 0;
  for (const RequestSample& s : samples) {
    if (!take(s)) continue;
    latencies.push_back(s.latency_us);
    if (!s.ok) ++errors;
  }
  const auto n = static_cast<long>(latencies.size());
  json out = {{"requests", n},
              {"errors", errors},
              {"rps", seconds > 0 ? std::round(n / seconds * 10) / 10 : 0.0}};
  out["p50_ms"] = percentileMs(latencies, 50);
  out["p90_ms"] = percentileMs(latencies, 90);
  out["p99_ms"] = percentileMs(latencies, 99);
  out["max_ms"] =
      latencies.empty()
          ? 0.0
          : std::round(*std::max_element(latencies.begin(), latencies.end()) / 10.0) / 100.0;
  return out;
}

// --skip takes a comma-separated list of the requests a cycle can do without.
bool parseSkipped(const std::string& list, std::set<Kind>& skipped) {
  constexpr std::array<Kind, 5> kOptional = {Kind::kMyTasksApi, Kind::kTaskPage, Kind::kDashboard,
                                             Kind::kMyTasksPage, Kind::kMetrics};
  std::istringstream names(list);
  std::string name;
  while (std::getline(names, name, ',')) {
    auto kind = std::find_if(kOptional.begin(), kOptional.end(),
                             [&](Kind k) { return name == kindName(k); });
    if (kind == kOptional.end()) return false;
    skipped.insert(*kind);
  }
  return true;
}

bool parseArguments(int argc, char** argv, Options& options) {
  const std::map<std::string, int*> flags = {{"--port", &options.port},
                                             {"--pid", &options.pid},
                                             {"--seconds", &options.seconds},
                                             {"--connections", &options.connections},
                                             {"--sample-seconds", &options.sample_seconds},
                                             {"--timeout-seconds", &options.timeout_seconds},
                                             {"--window-seconds", &options.window_seconds}};
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) return false;
    if (std::string(argv[i]) == "--skip") {
      if (!parseSkipped(argv[i + 1], options.skipped)) return false;
      continue;
    }
    auto flag = flags.find(argv[i]);
    if (flag == flags.end()) return false;
    char* end = nullptr;
    const long value = std::strtol(argv[i + 1], &end, 10);
    if (*end != '\0' || value < 0 || value > 1'000'000) return false;
    *flag->second = static_cast<int>(value);
  }
  return options.port > 0 && options.pid > 0 && options.seconds > 0 && options.connections > 0 &&
         options.sample_seconds > 0 && options.timeout_seconds > 0 && options.window_seconds > 0;
}

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parseArguments(argc, argv, options)) {
    std::cerr << "usage: soak_driver --port PORT --pid PID [--seconds 300] [--connections 64] "
                 "[--sample-seconds 5] [--timeout-seconds 10] [--window-seconds 30] "
                 "[--skip my_tasks_api,task_page,dashboard,my_tasks_page,metrics]\n";
    return 2;
  }
  const Credentials credentials = {
      environment("SOAK_STARTER_KEY"), environment("SOAK_AUDITOR_KEY"),
      environment("SOAK_MANAGER_KEY"), environment("SOAK_METRICS_TOKEN"),
      environment("SOAK_LEAD_COOKIE"), environment("SOAK_AUDITOR_COOKIE")};
  for (const std::string* value :
       {&credentials.starter_key, &credentials.auditor_key, &credentials.manager_key,
        &credentials.metrics_token, &credentials.lead_cookie, &credentials.auditor_cookie}) {
    if (value->empty()) {
      std::cerr << "soak_driver: SOAK_STARTER_KEY, SOAK_AUDITOR_KEY, SOAK_MANAGER_KEY, "
                   "SOAK_METRICS_TOKEN, SOAK_LEAD_COOKIE and SOAK_AUDITOR_COOKIE must be set\n";
      return 2;
    }
  }

  const auto began = SteadyClock::now();
  const auto deadline = began + std::chrono::seconds(options.seconds);
  auto secondsSince = [&](SteadyClock::time_point t) {
    return std::round(std::chrono::duration<double>(t - began).count() * 10) / 10;
  };

  // The memory sampler: at once, every sample_seconds while the load runs, and at the end.
  json memory = json::array();
  std::mutex sampler_mutex;
  std::condition_variable sampler_wake;
  bool load_over = false;  // guarded by sampler_mutex
  auto sampleMemory = [&] {
    if (auto r = readProcess(options.pid)) {
      memory.push_back({secondsSince(SteadyClock::now()), (*r)[0], (*r)[1], (*r)[2], (*r)[3]});
    }
  };
  std::thread sampler([&] {
    std::unique_lock<std::mutex> lock(sampler_mutex);
    for (auto next = began;; next += std::chrono::seconds(options.sample_seconds)) {
      if (sampler_wake.wait_until(lock, next, [&] { return load_over; })) return;
      sampleMemory();
    }
  });

  std::vector<std::unique_ptr<VirtualUser>> users;
  for (int i = 0; i < options.connections; ++i) {
    users.push_back(std::make_unique<VirtualUser>(i, options, credentials, began, deadline));
  }
  std::vector<std::thread> threads;
  for (auto& user : users) threads.emplace_back([&user] { user->run(); });
  for (std::thread& t : threads) t.join();
  const auto ended = SteadyClock::now();
  {
    std::lock_guard<std::mutex> lock(sampler_mutex);
    load_over = true;
  }
  sampler_wake.notify_all();
  sampler.join();
  sampleMemory();

  std::vector<RequestSample> samples;
  std::map<std::string, long> errors_by;
  json examples = json::array();
  long cycles = 0, started = 0, approved = 0, body_errors = 0;
  for (auto& user : users) {
    UserTally& t = user->tally();
    samples.insert(samples.end(), t.samples.begin(), t.samples.end());
    for (const auto& [what, n] : t.errors) {
      errors_by[what] += n;
      if (what.find(" no_open_") != std::string::npos ||
          what.find(" bad_json") != std::string::npos) {
        body_errors += n;
      }
    }
    for (const ErrorExample& e : t.examples) {
      examples.push_back({{"at_s", std::round(e.at_s * 10) / 10},
                          {"kind", e.kind},
                          {"request", e.request},
                          {"outcome", e.outcome}});
    }
    cycles += t.cycles;
    started += t.instances_started;
    approved += t.instances_approved;
  }
  std::sort(examples.begin(), examples.end(),
            [](const json& a, const json& b) { return a["at_s"] < b["at_s"]; });
  if (examples.size() > 20) examples.erase(examples.begin() + 20, examples.end());

  const double seconds = std::chrono::duration<double>(ended - began).count();
  json out = summary(samples, seconds, [](const RequestSample&) { return true; });
  out["errors"] = out["errors"].get<long>() + body_errors;
  out["seconds"] = std::round(seconds * 10) / 10;
  out["connections"] = options.connections;
  json skipped = json::array();
  for (Kind kind : options.skipped) skipped.push_back(kindName(kind));
  out["skipped"] = skipped;
  out["cycles"] = cycles;
  out["instances_started"] = started;
  out["instances_approved"] = approved;
  json by_request = json::object();
  for (std::size_t k = 0; k < kKindNames.size(); ++k) {
    by_request[kKindNames[k]] = summary(samples, seconds, [k](const RequestSample& s) {
      return static_cast<std::size_t>(s.kind) == k;
    });
  }
  out["by_request"] = by_request;
  json windows = json::array();
  const std::uint32_t window_ms = static_cast<std::uint32_t>(options.window_seconds) * 1000;
  const std::uint32_t planned_ms = static_cast<std::uint32_t>(options.seconds) * 1000;
  for (std::uint32_t from = 0; from < planned_ms; from += window_ms) {
    const double length = std::min(window_ms, planned_ms - from) / 1000.0;
    json w = summary(samples, length, [from, window_ms](const RequestSample& s) {
      return s.sent_ms >= from && s.sent_ms < from + window_ms;
    });
    w["from_s"] = from / 1000;
    json p50 = json::object();
    for (std::size_t k = 0; k < kKindNames.size(); ++k) {
      p50[kKindNames[k]] = summary(samples, length, [from, window_ms, k](const RequestSample& s) {
        return static_cast<std::size_t>(s.kind) == k && s.sent_ms >= from &&
               s.sent_ms < from + window_ms;
      })["p50_ms"];
    }
    w["p50_ms_by_request"] = p50;
    windows.push_back(w);
  }
  out["windows"] = windows;
  out["errors_by"] = errors_by;
  out["error_examples"] = examples;
  out["memory_samples"] = memory;
  out["memory_sample_fields"] =
      json::array({"seconds", "vm_rss_kb", "rss_anon_kb", "rss_file_kb", "cpu_ms"});
  std::cout << out.dump() << std::endl;
  return 0;
}
