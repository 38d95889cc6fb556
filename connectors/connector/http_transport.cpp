#include "connectors/connector/http_transport.h"

#include <Poco/Base64Encoder.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/core/json_text.h"

namespace sendflow::connectors {
namespace {

constexpr std::size_t kBufferSize = 64 * 1024;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Poco::Net::Context::Ptr clientContext() {
  static std::once_flag once;
  static Poco::Net::Context::Ptr context;
  std::call_once(once, [] {
    Poco::Net::initializeSSL();
    context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", "",
                                     Poco::Net::Context::VERIFY_RELAXED, 9,
                                     /*loadDefaultCAs=*/true);
  });
  return context;
}

bool isRetryableStatus(int status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

// The peer's own explanation from a JSON error body (SharePoint, Graph, Entra ID), or a short
// excerpt of a text body.
std::string peerMessage(const std::string& body) {
  if (body.empty()) return "";
  const auto parsed = core::parseJsonText(body);
  if (parsed.isOk() && parsed->is_object()) {
    const nlohmann::json& j = *parsed;
    if (j.contains("error_description") && j["error_description"].is_string()) {
      return j["error_description"].get<std::string>();
    }
    for (const char* key : {"error", "odata.error"}) {
      if (!j.contains(key)) continue;
      const auto& e = j[key];
      if (e.is_string()) return e.get<std::string>();
      if (!e.is_object()) continue;
      std::string code =
          e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
      std::string message;
      if (e.contains("message")) {
        const auto& m = e["message"];
        if (m.is_string()) message = m.get<std::string>();
        if (m.is_object() && m.contains("value") && m["value"].is_string()) {
          message = m["value"].get<std::string>();
        }
      }
      return code.empty() ? message : code + ": " + message;
    }
  }
  std::string excerpt = body.substr(0, 200);
  for (char& c : excerpt) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return excerpt;
}

}  // namespace

std::chrono::milliseconds RetryPolicy::backoff(int retry, std::mt19937& random) const {
  long long base = initial_backoff.count();
  for (int i = 1; i < retry && base < max_backoff.count(); ++i) base *= 2;
  base = std::min(base, static_cast<long long>(max_backoff.count()));
  if (base <= 1) return std::chrono::milliseconds(base);
  std::uniform_int_distribution<long long> half(0, base / 2);
  return std::chrono::milliseconds(base - base / 2 + half(random));
}

HttpTransport::HttpTransport(HttpOptions options, const core::Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      random_(options_.jitter_seed != 0 ? options_.jitter_seed : std::random_device{}()) {
  if (!options_.sleep) {
    options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  }
  if (options_.retry.max_attempts < 1) options_.retry.max_attempts = 1;
}

HttpTransport::~HttpTransport() = default;

Poco::Net::HTTPClientSession& HttpTransport::sessionFor(const std::string& scheme,
                                                        const std::string& host,
                                                        unsigned short port) {
  const std::string key = scheme + "://" + host + ":" + std::to_string(port);
  if (!session_ || key != session_key_) {
    if (scheme == "https") {
      session_ = std::make_unique<Poco::Net::HTTPSClientSession>(host, port, clientContext());
    } else {
      session_ = std::make_unique<Poco::Net::HTTPClientSession>(host, port);
    }
    session_->setKeepAlive(true);
    if (!options_.proxy_host.empty()) session_->setProxy(options_.proxy_host, options_.proxy_port);
    session_key_ = key;
  }
  const auto ms = [](std::chrono::milliseconds d) { return Poco::Timespan(d.count() * 1000); };
  session_->setTimeout(ms(options_.connect_timeout), ms(options_.io_timeout),
                       ms(options_.io_timeout));
  return *session_;
}

std::chrono::milliseconds HttpTransport::retryAfter(const HttpResponse& response) const {
  const std::string value = response.header("retry-after");
  if (value.empty()) return std::chrono::milliseconds(-1);
  if (value.find_first_not_of("0123456789") == std::string::npos && value.size() < 10) {
    return std::chrono::seconds(std::stoll(value));
  }
  Poco::DateTime when;
  int tzd = 0;
  if (Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::HTTP_FORMAT, value, when, tzd)) {
    const long long target_ms = when.timestamp().epochMicroseconds() / 1000 - tzd * 1000LL;
    const long long now_ms = clock_.now().time_since_epoch().count();
    return std::chrono::milliseconds(std::max(0LL, target_ms - now_ms));
  }
  return std::chrono::milliseconds(-1);
}

core::StatusOr<HttpResponse> HttpTransport::send(const HttpRequest& request) {
  const std::streampos body_start =
      request.body_stream != nullptr ? request.body_stream->tellg() : std::streampos(-1);
  core::Status last_failure;
  for (int attempt = 1;; ++attempt) {
    if (attempt > 1 && request.body_stream != nullptr) {
      if (body_start == std::streampos(-1)) {
        return last_failure.withContext("cannot retry: the document stream cannot be rewound");
      }
      request.body_stream->clear();
      request.body_stream->seekg(body_start);
    }
    bool retryable = false;
    auto result = sendOnce(request, retryable);
    std::chrono::milliseconds wait = options_.retry.backoff(attempt, random_);
    if (result.isOk()) {
      if (!isRetryableStatus(result->status)) return result;
      const auto asked = retryAfter(*result);
      if (asked > options_.retry.max_retry_after) {
        return core::unavailable(
            request.method + " " + describeUrl(request.url) + ": " +
            std::to_string(result->status) + ": the server asked to retry after " +
            std::to_string(asked.count() / 1000) + "s, more than the limit of " +
            std::to_string(options_.retry.max_retry_after.count() / 1000) + "s");
      }
      if (asked.count() >= 0) wait = asked;
      if (attempt >= options_.retry.max_attempts) return result;
    } else {
      last_failure = result.status();
      if (!retryable || attempt >= options_.retry.max_attempts) {
        if (!retryable) return last_failure;
        return last_failure.withContext("gave up after " + std::to_string(attempt) + " attempts");
      }
    }
    options_.sleep(wait);
  }
}

core::StatusOr<HttpResponse> HttpTransport::sendOnce(const HttpRequest& request, bool& retryable) {
  retryable = false;
  ++attempts_;
  const std::string where = request.method + " " + describeUrl(request.url);
  Poco::URI uri;
  try {
    uri = Poco::URI(request.url);
  } catch (const Poco::Exception& e) {
    return core::invalidArgument(where + ": malformed URL: " + e.displayText());
  }
  const std::string scheme = lower(uri.getScheme());
  if ((scheme != "http" && scheme != "https") || uri.getHost().empty()) {
    return core::invalidArgument(where + ": not an http or https URL");
  }
  HttpResponse out;
  try {
    auto& session = sessionFor(scheme, uri.getHost(), uri.getPort());
    std::string target = uri.getPathEtc();
    if (target.empty()) target = "/";
    Poco::Net::HTTPRequest req(request.method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    req.setKeepAlive(true);
    req.set("User-Agent", "sendflow");
    for (const auto& [name, value] : request.headers) req.set(name, value);
    if (!request.content_type.empty()) req.setContentType(request.content_type);
    const bool has_body = request.body_stream != nullptr || !request.body.empty() ||
                          request.method == "POST" || request.method == "PUT" ||
                          request.method == "PATCH";
    if (has_body) {
      req.setContentLength64(request.body_stream != nullptr
                                 ? request.body_length
                                 : static_cast<std::int64_t>(request.body.size()));
    }
    std::ostream& os = session.sendRequest(req);
    if (request.body_stream != nullptr) {
      std::vector<char> buffer(kBufferSize);
      std::int64_t left = request.body_length;
      while (left > 0) {
        request.body_stream->read(
            buffer.data(), static_cast<std::streamsize>(std::min<std::int64_t>(left, kBufferSize)));
        const std::streamsize n = request.body_stream->gcount();
        if (n <= 0) {
          session.reset();
          return core::internalError(where + ": the document stream ended " + std::to_string(left) +
                                     " bytes early");
        }
        os.write(buffer.data(), n);
        left -= n;
      }
    } else {
      os << request.body;
    }
    os.flush();
    if (!os.good()) throw Poco::IOException("connection lost while sending the request body");

    Poco::Net::HTTPResponse resp;
    std::istream& is = session.receiveResponse(resp);
    out.status = static_cast<int>(resp.getStatus());
    out.reason = resp.getReason();
    for (const auto& [name, value] : resp) out.headers[lower(name)] = value;

    std::int64_t received = 0;
    std::vector<char> buffer(kBufferSize);
    const bool to_file = !request.download_path.empty() && out.ok();
    std::ofstream file;
    if (to_file) {
      file.open(request.download_path, std::ios::binary | std::ios::trunc);
      if (!file) {
        session.reset();
        return core::internalError(where + ": cannot write " + request.download_path);
      }
    }
    const std::int64_t limit = to_file ? request.max_download_bytes : options_.max_response_bytes;
    while (is) {
      is.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      const std::streamsize n = is.gcount();
      if (n <= 0) break;
      received += n;
      if (limit >= 0 && received > limit) {
        session.reset();
        return core::resourceExhausted(where + ": the response is larger than the limit of " +
                                       std::to_string(limit) + " bytes");
      }
      if (to_file) {
        file.write(buffer.data(), n);
      } else {
        out.body.append(buffer.data(), static_cast<std::size_t>(n));
      }
    }
    if (to_file) {
      file.close();
      if (!file) return core::internalError(where + ": cannot write " + request.download_path);
      out.downloaded_bytes = received;
    }
    if (resp.hasContentLength() && request.method != "HEAD" && out.status != 204 &&
        out.status != 304 && received != resp.getContentLength64()) {
      session.reset();
      retryable = true;
      return core::unavailable(where + ": the connection dropped after " +
                               std::to_string(received) + " of " +
                               std::to_string(resp.getContentLength64()) + " bytes");
    }
    if (!resp.getKeepAlive()) session.reset();
    return out;
  } catch (const Poco::TimeoutException& e) {
    if (session_) session_->reset();
    retryable = true;
    return core::deadlineExceeded(where + ": no answer within the timeout (" + e.displayText() +
                                  ")");
  } catch (const Poco::Exception& e) {
    if (session_) session_->reset();
    retryable = true;
    return core::unavailable(where + ": " + e.displayText());
  } catch (const std::exception& e) {
    if (session_) session_->reset();
    retryable = true;
    return core::unavailable(where + ": " + e.what());
  }
}

core::Status statusFromResponse(const std::string& what, const HttpRequest& request,
                                const HttpResponse& response) {
  std::string message = what + ": " + request.method + " " + describeUrl(request.url) + ": " +
                        std::to_string(response.status) + " " + response.reason;
  const std::string peer = peerMessage(response.body);
  if (!peer.empty()) message += ": " + peer;
  switch (response.status) {
    case 401:
      return core::unauthenticated(message);
    case 403:
      return core::permissionDenied(message);
    case 404:
    case 410:
      return core::notFound(message);
    case 409:
    case 412:
      return core::conflict(message);
    case 413:
      return core::resourceExhausted(message);
    default:
      break;
  }
  if (response.status == 429 || response.status >= 500) return core::unavailable(message);
  return core::invalidArgument(message);
}

std::string describeUrl(const std::string& url) { return url.substr(0, url.find_first_of("?#")); }

std::string percentEncode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string percentEncodePath(const std::string& path) {
  std::string out;
  std::size_t start = 0;
  while (true) {
    const auto slash = path.find('/', start);
    out += percentEncode(
        path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    out += '/';
    start = slash + 1;
  }
  return out;
}

std::string basicAuthorization(const std::string& user, const std::string& secret) {
  std::ostringstream encoded;
  Poco::Base64Encoder encoder(encoded);
  encoder.rdbuf()->setLineLength(0);
  encoder << user << ':' << secret;
  encoder.close();
  return "Basic " + encoded.str();
}

}  // namespace sendflow::connectors
