#include "server/http/request.h"

#include "server/core/markup_escape.h"
#include "server/core/utf8.h"

#include <strings.h>
#include <algorithm>
#include <cctype>

namespace sendflow::http {

bool HeaderNameLess::operator()(const std::string& a, const std::string& b) const {
  return strcasecmp(a.c_str(), b.c_str()) < 0;
}

std::string Request::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::string Request::param(const std::string& name) const {
  auto it = path_params.find(name);
  return it == path_params.end() ? std::string() : it->second;
}

std::string Request::queryParam(const std::string& name, const std::string& fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

std::string Request::cookie(const std::string& name) const {
  const std::string all = header("Cookie");
  std::size_t pos = 0;
  while (pos < all.size()) {
    std::size_t end = all.find(';', pos);
    if (end == std::string::npos) end = all.size();
    std::string pair = all.substr(pos, end - pos);
    const auto first = pair.find_first_not_of(' ');
    if (first != std::string::npos) pair.erase(0, first);
    const auto eq = pair.find('=');
    if (eq != std::string::npos && pair.compare(0, eq, name) == 0 && eq == name.size()) {
      std::string value = pair.substr(eq + 1);
      while (!value.empty() && value.back() == ' ') value.pop_back();
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return value;
    }
    pos = end + 1;
  }
  return "";
}

namespace {

core::StatusOr<std::multimap<std::string, std::string>> parsePairs(const std::string& text) {
  std::multimap<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('&', pos);
    if (end == std::string::npos) end = text.size();
    if (end > pos) {
      const std::string pair = text.substr(pos, end - pos);
      const auto eq = pair.find('=');
      std::string name = urlDecode(pair.substr(0, eq), true);
      std::string value = eq == std::string::npos ? "" : urlDecode(pair.substr(eq + 1), true);
      if (!core::isValidUtf8(name)) {
        return core::invalidArgument("a field name is not valid UTF-8 text (" +
                                     core::validUtf8(name.substr(0, 40)) + ")");
      }
      if (!core::isValidUtf8(value)) {
        return core::invalidArgument(name.substr(0, 64) + ": not valid UTF-8 text");
      }
      out.emplace(std::move(name), std::move(value));
    }
    pos = end + 1;
  }
  return out;
}

}  // namespace

core::StatusOr<std::multimap<std::string, std::string>> Request::formFields() const {
  return parsePairs(body);
}

Response Response::json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response Response::html(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Response Response::text(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Response Response::redirect(const std::string& location, int status) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.header("Location", location);
  return r;
}

Response Response::error(const core::Status& status, const std::string& request_id) {
  Response r = json(httpStatusFor(status.code()), errorBody(status, request_id));
  if (r.status >= 500) r.cause = status.message();
  return r;
}

int httpStatusFor(core::StatusCode code) {
  using core::StatusCode;
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 422;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kConflict:
      return 409;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kResourceExhausted:
      return 413;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

std::string codeName(core::StatusCode code) {
  using core::StatusCode;
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid_argument";
    case StatusCode::kNotFound:
      return "not_found";
    case StatusCode::kAlreadyExists:
      return "already_exists";
    case StatusCode::kConflict:
      return "conflict";
    case StatusCode::kPermissionDenied:
      return "permission_denied";
    case StatusCode::kUnauthenticated:
      return "unauthenticated";
    case StatusCode::kFailedPrecondition:
      return "failed_precondition";
    case StatusCode::kResourceExhausted:
      return "resource_exhausted";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kDeadlineExceeded:
      return "deadline_exceeded";
    case StatusCode::kInternal:
      return "internal";
  }
  return "internal";
}

nlohmann::json errorBody(const core::Status& status, const std::string& request_id) {
  nlohmann::json error = {{"code", codeName(status.code())}, {"request_id", request_id}};
  if (status.code() == core::StatusCode::kInternal) {
    error["message"] = "something went wrong on our side; quote the request id to IT";
    return {{"error", error}};
  }
  error["message"] = status.message();
  if (status.code() == core::StatusCode::kInvalidArgument) {
    // "name: problem; name: problem" as engine::Form::validate words it.
    nlohmann::json fields = nlohmann::json::array();
    const std::string& m = status.message();
    std::size_t pos = 0;
    bool all_fields = true;
    while (pos < m.size()) {
      std::size_t end = m.find("; ", pos);
      if (end == std::string::npos) end = m.size();
      const std::string part = m.substr(pos, end - pos);
      const auto colon = part.find(": ");
      const std::string name = colon == std::string::npos ? "" : part.substr(0, colon);
      const bool is_name =
          !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
            return std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == '[' || c == ']';
          });
      if (!is_name) {
        all_fields = false;
        break;
      }
      fields.push_back({{"field", name}, {"problem", part.substr(colon + 2)}});
      pos = end + 2;
    }
    if (all_fields && !fields.empty()) error["fields"] = fields;
  }
  return {{"error", error}};
}

std::string urlDecode(const std::string& text, bool form) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else if (c == '+' && form) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string urlEncode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string htmlEscape(const std::string& text) { return core::markupEscaped(text); }

}  // namespace sendflow::http
