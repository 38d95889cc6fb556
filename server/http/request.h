#pragma once
// The request and response every handler of the service sees: plain values, independent of
// Poco, so handlers (the REST API, the web pages, the webhooks) are tested without a socket.
//
// A Request is made by HttpServer after the body was read (within the size limit) and the
// route matched; `principal` is set when the request carried valid credentials (a bearer
// token, an API key, a session cookie), by the server's Authenticate hook. A Response is a
// status, headers and a body, or a file to stream (downloads).
//
// Not thread-safe; each request is handled by one thread.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/auth/principal.h"
#include "server/core/status.h"

namespace sendflow::http {

// Case-insensitive ordering for header names.
struct HeaderNameLess {
  bool operator()(const std::string& a, const std::string& b) const;
};
using Headers = std::map<std::string, std::string, HeaderNameLess>;

struct Request {
  std::string method;  // GET, POST, ... (HEAD is served as GET without a body)
  std::string path;    // the path as sent (still percent-encoded), without the query
  std::string query_string;
  std::multimap<std::string, std::string> query;  // decoded query parameters
  Headers headers;
  std::string body;
  std::string client_address;  // the peer's address (or X-Forwarded-For's first, when trusted)
  std::string request_id;      // X-Request-Id when well-formed, else a fresh one
  std::map<std::string, std::string> path_params;  // from the route pattern, e.g. {id}
  std::string route;                               // the matched pattern, for logs and metrics
  std::optional<auth::Principal> principal;
  // Extra fields for the access log line (e.g. {"task": id}); the handler may add to it.
  nlohmann::json log = nlohmann::json::object();

  std::string header(const std::string& name) const;  // "" when absent
  std::string param(const std::string& name) const;   // path parameter, "" when absent
  std::string queryParam(const std::string& name, const std::string& fallback = "") const;
  // The value of cookie `name` from the Cookie header, "" when absent.
  std::string cookie(const std::string& name) const;
  // application/x-www-form-urlencoded body fields (repeated names keep every value in order).
  // kInvalidArgument naming the field when a name or a value, decoded, is not valid UTF-8 (a
  // page sends UTF-8; anything else would reach instance data and pages as broken text).
  core::StatusOr<std::multimap<std::string, std::string>> formFields() const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, in order
  // When set, the server streams this file as the body (body is ignored), with
  // Content-Disposition: attachment; filename=download_name.
  std::string file_path;
  std::string download_name;
  // Why a 5xx happened, for the access log line only (never sent): Response::error sets it to
  // the message of an internal or unavailable Status, which the client does not see.
  std::string cause;

  Response& header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }

  static Response json(int status, const nlohmann::json& body);
  static Response html(int status, std::string body);
  static Response text(int status, std::string body);
  static Response redirect(const std::string& location, int status = 303);
  // The JSON error body for `status` (see errorBody), with the HTTP status mapped from its code;
  // a 5xx keeps the status's message in `cause` for the log.
  static Response error(const core::Status& status, const std::string& request_id);
};

// One function maps core::StatusCode to an HTTP status: kInvalidArgument 422, kNotFound 404,
// kAlreadyExists 409, kConflict 409, kPermissionDenied 403, kUnauthenticated 401,
// kFailedPrecondition 409, kResourceExhausted 413, kUnavailable 503, kDeadlineExceeded 504,
// kInternal 500.
int httpStatusFor(core::StatusCode code);
// The snake_case name of a code: "invalid_argument", "not_found", "resource_exhausted", ...
std::string codeName(core::StatusCode code);

// {"error": {"code": "invalid_argument", "message": "...", "request_id": "...",
//            "fields": [{"field": "standard_1", "problem": "required"}, ...]}}
// `fields` comes from messages in the form validation format "name: problem; name: problem"
// (engine::Form::validate); it is omitted when the message is not in that form. Internal errors
// show a generic message (the detail goes to the log, never to the client).
nlohmann::json errorBody(const core::Status& status, const std::string& request_id);

// Percent-decoding of a URL component ('+' as space when `form`). Malformed escapes are kept.
std::string urlDecode(const std::string& text, bool form);
std::string urlEncode(const std::string& text);
// HTML escaping of text and attribute values (& < > " ').
std::string htmlEscape(const std::string& text);

}  // namespace sendflow::http
