#pragma once
// The HTTP(S) client shared by the WebDAV, SharePoint and Graph connectors (Poco Net/NetSSL).
// It adds what an intranet needs and Poco does not: connect and I/O timeouts, retries with capped
// exponential backoff and jitter on dropped connections, timeouts and 429/502/503/504, honouring
// Retry-After (seconds or an HTTP date, measured on the injected Clock), detection of bodies cut
// short, response size limits, and downloads streamed to a file instead of memory.
// Redirects are not followed: callers decide (Graph must not forward Authorization).
//
// Error messages name the method and the URL without its query string (which may carry a
// pre-authenticated signature). Not thread-safe: one transport per connector instance.

#include <chrono>
#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "server/core/clock.h"
#include "server/core/status.h"

namespace Poco::Net {
class HTTPClientSession;
}

namespace sendflow::connectors {

struct RetryPolicy {
  int max_attempts = 5;  // including the first
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30000};
  // A Retry-After longer than this is not waited for: the request fails as unavailable.
  std::chrono::milliseconds max_retry_after{120000};

  // The wait before retry number `retry` (1-based): min(max, initial * 2^(retry-1)), then "equal
  // jitter": half of it fixed, half uniformly random.
  std::chrono::milliseconds backoff(int retry, std::mt19937& random) const;
};

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds io_timeout{60000};
  RetryPolicy retry;
  // Largest response body held in memory (listings, JSON, XML). Downloads go to files.
  std::int64_t max_response_bytes = 32LL * 1024 * 1024;
  // How to wait between attempts; empty means std::this_thread::sleep_for. Tests record waits.
  std::function<void(std::chrono::milliseconds)> sleep;
  std::uint32_t jitter_seed = 0;  // 0: seeded from std::random_device
  // An outbound HTTP proxy ("proxy.council.example:3128"); HTTPS goes through it with CONNECT.
  std::string proxy_host;
  unsigned short proxy_port = 0;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute http:// or https:// URL
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type;
  std::string body;  // sent when body_stream is null (and non-empty or method needs a body)
  // A body read from a stream of `body_length` bytes from its current position; the stream is
  // rewound to that position before a retry. Not owned.
  std::istream* body_stream = nullptr;
  std::int64_t body_length = 0;
  // When set, a 2xx response body is streamed into this file (truncated at each attempt).
  std::string download_path;
  std::int64_t max_download_bytes = -1;  // -1: no limit
};

struct HttpResponse {
  int status = 0;
  std::string reason;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // empty when streamed to download_path
  std::int64_t downloaded_bytes = 0;

  std::string header(const std::string& lower_case_name) const {
    auto it = headers.find(lower_case_name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool ok() const { return status >= 200 && status < 300; }
};

class HttpTransport {
 public:
  HttpTransport(HttpOptions options, const core::Clock& clock);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Sends `request`, retrying as described above. Returns the final response whatever its status
  // (a 429 that outlived every retry comes back as a response), or kUnavailable /
  // kDeadlineExceeded when the peer could not be reached, kResourceExhausted when a body exceeds
  // its limit, kInvalidArgument for a malformed URL.
  core::StatusOr<HttpResponse> send(const HttpRequest& request);

  const HttpOptions& options() const { return options_; }
  // Number of attempts made by this transport, retries included (for tests and diagnostics).
  int attempts() const { return attempts_; }

 private:
  core::StatusOr<HttpResponse> sendOnce(const HttpRequest& request, bool& retryable);
  Poco::Net::HTTPClientSession& sessionFor(const std::string& scheme, const std::string& host,
                                           unsigned short port);
  std::chrono::milliseconds retryAfter(const HttpResponse& response) const;

  HttpOptions options_;
  const core::Clock& clock_;
  std::mt19937 random_;
  std::unique_ptr<Poco::Net::HTTPClientSession> session_;
  std::string session_key_;
  int attempts_ = 0;
};

// The Status for a non-2xx response: 401 unauthenticated, 403 permission denied, 404 not found,
// 409/412 conflict, 413 resource exhausted, 429 and 5xx unavailable, other 4xx invalid argument.
// The message is "<what>: <METHOD> <url without query>: <status> <reason>: <peer's message>".
core::Status statusFromResponse(const std::string& what, const HttpRequest& request,
                                const HttpResponse& response);

// The URL without its query string or fragment, for messages.
std::string describeUrl(const std::string& url);
// Percent-encodes everything except unreserved characters (RFC 3986).
std::string percentEncode(const std::string& text);
// Percent-encodes a path, keeping "/".
std::string percentEncodePath(const std::string& path);
// "user:secret" as a Basic Authorization value.
std::string basicAuthorization(const std::string& user, const std::string& secret);

}  // namespace sendflow::connectors
