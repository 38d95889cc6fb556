#include "server/http/request_parser.h"

#include <strings.h>

#include <cstring>
#include <utility>

namespace sendflow::http {
namespace {

bool isTchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (!isTchar(c)) return false;
  }
  return true;
}

// A field value character: HTAB, SP, visible ASCII and obs-text (RFC 9110 5.5).
bool isFieldValueChar(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Calls `each` with every non-empty element of a comma-separated list (OWS trimmed); stops and
// returns false when `each` does.
template <typename Each>
bool forEachListElement(std::string_view list, Each each) {
  while (true) {
    const auto comma = list.find(',');
    const std::string_view element = trimOws(list.substr(0, comma));
    if (!element.empty() && !each(element)) return false;
    if (comma == std::string_view::npos) return true;
    list.remove_prefix(comma + 1);
  }
}

bool listHasToken(std::string_view list, std::string_view token) {
  bool found = false;
  forEachListElement(list, [&](std::string_view element) {
    found = found || equalsIgnoringCase(element, token);
    return true;
  });
  return found;
}

// uri-host [ ":" port ]: reg-name, IPv4 or an IP literal in brackets.
bool isHostValue(std::string_view host) {
  for (unsigned char c : host) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (!unreserved && std::strchr("!$&'()*+,;=:[]%", c) == nullptr) return false;
    if (c == '\0') return false;
  }
  return true;
}

}  // namespace

RequestParser::RequestParser(ParserLimits limits) : limits_(limits) {}

void RequestParser::reset() {
  const ParserLimits limits = limits_;
  *this = RequestParser(limits);
}

RequestParser::Result RequestParser::fail(int status, std::string message) {
  error_.status = status;
  error_.message = std::move(message);
  phase_ = Phase::kDone;
  return {State::kError, 0};
}

RequestParser::Result RequestParser::parse(std::string_view data) {
  if (error_.status != 0) return {State::kError, 0};
  if (phase_ == Phase::kHead) return parseHead(data);
  return parseBody(data, 0);
}

RequestParser::Result RequestParser::parseHead(std::string_view data) {
  while (true) {
    const void* found = head_scanned_ < data.size() ? std::memchr(data.data() + head_scanned_, '\n',
                                                                  data.size() - head_scanned_)
                                                    : nullptr;
    if (found == nullptr) {
      head_scanned_ = data.size();
      const std::size_t partial = data.size() - line_start_;
      if (!request_line_seen_ && partial > limits_.max_request_line_bytes) {
        return fail(414, "the request line is longer than " +
                             std::to_string(limits_.max_request_line_bytes) + " bytes");
      }
      if (request_line_seen_ && partial > limits_.max_field_line_bytes) {
        return fail(431, "a header line is longer than " +
                             std::to_string(limits_.max_field_line_bytes) + " bytes");
      }
      if (data.size() > limits_.max_head_bytes) {
        return fail(431, "the request headers are larger than " +
                             std::to_string(limits_.max_head_bytes) + " bytes");
      }
      return {State::kNeedMore, 0};
    }
    const std::size_t newline = static_cast<const char*>(found) - data.data();
    head_scanned_ = newline + 1;
    if (head_scanned_ > limits_.max_head_bytes) {
      return fail(431, "the request headers are larger than " +
                           std::to_string(limits_.max_head_bytes) + " bytes");
    }
    if (newline == line_start_ || data[newline - 1] != '\r') {
      return fail(400, "a line ends with a bare LF; HTTP lines end with CRLF");
    }
    const std::string_view line = data.substr(line_start_, newline - 1 - line_start_);
    line_start_ = head_scanned_;
    if (line.find('\r') != std::string_view::npos) {
      return fail(400, "a bare CR in the request head");
    }
    if (!request_line_seen_) {
      if (line.empty()) continue;  // empty lines before the request line are ignored
      if (line.size() + 2 > limits_.max_request_line_bytes) {
        return fail(414, "the request line is longer than " +
                             std::to_string(limits_.max_request_line_bytes) + " bytes");
      }
      if (!parseRequestLine(line)) return {State::kError, 0};
      request_line_seen_ = true;
      continue;
    }
    if (line.empty()) {
      if (!decideFraming()) return {State::kError, 0};
      Result body = parseBody(data, head_scanned_);
      return body;
    }
    if (line.size() + 2 > limits_.max_field_line_bytes) {
      return fail(431, "a header line is longer than " +
                           std::to_string(limits_.max_field_line_bytes) + " bytes");
    }
    if (++field_count_ > limits_.max_fields) {
      return fail(431, "more than " + std::to_string(limits_.max_fields) + " header fields");
    }
    if (!parseFieldLine(line)) return {State::kError, 0};
  }
}

bool RequestParser::parseRequestLine(std::string_view line) {
  const auto first = line.find(' ');
  const auto second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos) {
    fail(400, "the request line is not 'METHOD target HTTP/1.1'");
    return false;
  }
  const std::string_view method = line.substr(0, first);
  const std::string_view target = line.substr(first + 1, second - first - 1);
  const std::string_view version = line.substr(second + 1);
  if (!isToken(method)) {
    fail(400, "the method is not a token");
    return false;
  }
  if (version == "HTTP/1.1") {
    request_.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    request_.minor_version = 0;
  } else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && version[5] >= '0' &&
             version[5] <= '9' && version[6] == '.' && version[7] >= '0' && version[7] <= '9') {
    fail(505, "only HTTP/1.1 and HTTP/1.0 are served");
    return false;
  } else {
    fail(400, "the request line does not end with an HTTP version");
    return false;
  }
  if (target == "*") {
    if (method != "OPTIONS") {
      fail(400, "the target '*' is only for OPTIONS");
      return false;
    }
  } else {
    if (target.empty() || target.front() != '/') {
      fail(400, "the request target must be a path starting with '/'");
      return false;
    }
    for (unsigned char c : target) {
      if (c <= 0x20 || c >= 0x7f || c == '#' || c == '\\') {
        fail(400, "the request target holds a character that must be percent-encoded");
        return false;
      }
    }
  }
  request_.method.assign(method);
  request_.target.assign(target);
  return true;
}

bool RequestParser::parseFieldLine(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') {
    fail(400, "folded header lines (obs-fold) are not accepted");
    return false;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    fail(400, "a header line has no colon");
    return false;
  }
  const std::string_view name = line.substr(0, colon);
  if (!isToken(name)) {
    const char last = name.empty() ? '\0' : name.back();
    fail(400, last == ' ' || last == '\t' ? "whitespace before a header's colon"
                                          : "a header name is not a token");
    return false;
  }
  const std::string_view value = trimOws(line.substr(colon + 1));
  for (unsigned char c : value) {
    if (!isFieldValueChar(c)) {
      fail(400, "a header value holds a control character");
      return false;
    }
  }
  if (equalsIgnoringCase(name, "Host")) ++host_count_;
  if (equalsIgnoringCase(name, "Content-Length")) has_content_length_ = true;
  if (equalsIgnoringCase(name, "Transfer-Encoding")) has_transfer_encoding_ = true;
  auto [it, inserted] = request_.headers.try_emplace(std::string(name), value);
  if (!inserted) {
    it->second += equalsIgnoringCase(name, "Cookie") ? "; " : ", ";
    it->second.append(value);
  }
  return true;
}

bool RequestParser::decideFraming() {
  auto& headers = request_.headers;
  const bool http11 = request_.minor_version == 1;
  if (http11 ? host_count_ != 1 : host_count_ > 1) {
    fail(400, http11 ? "an HTTP/1.1 request needs exactly one Host header"
                     : "more than one Host header");
    return false;
  }
  if (host_count_ == 1 && !isHostValue(headers.find("Host")->second)) {
    fail(400, "the Host header is not a host name or address");
    return false;
  }
  if (auto it = headers.find("Connection"); it != headers.end()) {
    request_.keep_alive =
        http11 ? !listHasToken(it->second, "close") : listHasToken(it->second, "keep-alive");
  } else {
    request_.keep_alive = http11;
  }
  if (auto it = headers.find("Expect"); it != headers.end() && http11) {
    if (!equalsIgnoringCase(trimOws(it->second), "100-continue")) {
      fail(417, "the only expectation served is 100-continue");
      return false;
    }
    request_.expect_continue = true;
  }

  if (has_transfer_encoding_) {
    if (has_content_length_) {
      fail(400, "a request with both Transfer-Encoding and Content-Length");
      return false;
    }
    if (!http11) {
      fail(400, "Transfer-Encoding in an HTTP/1.0 request");
      return false;
    }
    int chunked = 0;
    bool other = false;
    bool chunked_last = false;
    forEachListElement(headers.find("Transfer-Encoding")->second, [&](std::string_view coding) {
      chunked_last = equalsIgnoringCase(coding, "chunked");
      if (chunked_last) {
        ++chunked;
      } else {
        other = true;
      }
      return true;
    });
    if (other) {
      fail(501, "the only transfer coding served is chunked");
      return false;
    }
    if (chunked != 1 || !chunked_last) {
      fail(400, "Transfer-Encoding must end with one 'chunked'");
      return false;
    }
    phase_ = Phase::kChunkSize;
    return true;
  }
  if (has_content_length_) {
    std::uint64_t length = 0;
    bool first = true;
    bool valid = true;
    const std::string& list = headers.find("Content-Length")->second;
    std::string_view rest = list;
    while (valid) {
      const auto comma = rest.find(',');
      const std::string_view element = trimOws(rest.substr(0, comma));
      std::uint64_t value = 0;
      valid = !element.empty() && element.size() <= 18;
      for (char c : element) {
        if (c < '0' || c > '9') valid = false;
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
      }
      if (valid && !first && value != length) {
        fail(400, "Content-Length values differ");
        return false;
      }
      length = value;
      first = false;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (!valid) {
      fail(400, "Content-Length is not a number of bytes");
      return false;
    }
    if (length > limits_.max_body_bytes) {
      fail(413,
           "the request body is larger than " + std::to_string(limits_.max_body_bytes) + " bytes");
      return false;
    }
    remaining_ = length;
    phase_ = length > 0 ? Phase::kLengthBody : Phase::kDone;
    if (length > 0) request_.body.reserve(static_cast<std::size_t>(length));
    return true;
  }
  phase_ = Phase::kDone;
  return true;
}

RequestParser::Result RequestParser::parseBody(std::string_view data, std::size_t pos) {
  std::string& body = request_.body;
  while (true) {
    switch (phase_) {
      case Phase::kHead:
        return {State::kNeedMore, pos};
      case Phase::kDone:
        return {State::kComplete, pos};
      case Phase::kLengthBody:
      case Phase::kChunkData: {
        const std::size_t available = data.size() - pos;
        const std::size_t take =
            remaining_ < available ? static_cast<std::size_t>(remaining_) : available;
        body.append(data.data() + pos, take);
        pos += take;
        remaining_ -= take;
        if (remaining_ > 0) return {State::kNeedMore, pos};
        phase_ = phase_ == Phase::kLengthBody ? Phase::kDone : Phase::kChunkDataEnd;
        break;
      }
      case Phase::kChunkDataEnd:
        if (data.size() - pos < 2) return {State::kNeedMore, pos};
        if (data[pos] != '\r' || data[pos + 1] != '\n') {
          return fail(400, "chunk data is not followed by CRLF");
        }
        pos += 2;
        phase_ = Phase::kChunkSize;
        break;
      case Phase::kChunkSize: {
        const std::size_t window = std::min(data.size() - pos, limits_.max_chunk_line_bytes);
        const void* found = std::memchr(data.data() + pos, '\n', window);
        if (found == nullptr) {
          if (window == limits_.max_chunk_line_bytes) {
            return fail(400, "a chunk size line is longer than " +
                                 std::to_string(limits_.max_chunk_line_bytes) + " bytes");
          }
          return {State::kNeedMore, pos};
        }
        const std::size_t newline = static_cast<const char*>(found) - data.data();
        if (newline == pos || data[newline - 1] != '\r') {
          return fail(400, "a chunk size line does not end with CRLF");
        }
        const std::string_view line = data.substr(pos, newline - 1 - pos);
        std::size_t digits = 0;
        std::uint64_t size = 0;
        while (digits < line.size() && hexValue(line[digits]) >= 0) {
          if (digits == 15) return fail(400, "a chunk size is too large");
          size = size * 16 + static_cast<std::uint64_t>(hexValue(line[digits]));
          ++digits;
        }
        if (digits == 0) return fail(400, "a chunk size is not hexadecimal");
        // chunk-ext: BWS ";" ... with no control characters but HTAB.
        const std::string_view extension = trimOws(line.substr(digits));
        if (!extension.empty() && extension.front() != ';') {
          return fail(400, "a chunk size is followed by something other than an extension");
        }
        for (unsigned char c : extension) {
          if (!isFieldValueChar(c)) return fail(400, "a chunk extension holds a control character");
        }
        pos = newline + 1;
        if (size == 0) {
          phase_ = Phase::kTrailer;
          break;
        }
        if (size > limits_.max_body_bytes - body.size()) {
          return fail(413, "the request body is larger than " +
                               std::to_string(limits_.max_body_bytes) + " bytes");
        }
        remaining_ = size;
        phase_ = Phase::kChunkData;
        break;
      }
      case Phase::kTrailer: {
        const void* found = std::memchr(data.data() + pos, '\n', data.size() - pos);
        if (found == nullptr) {
          if (trailer_bytes_ + (data.size() - pos) > limits_.max_trailer_bytes) {
            return fail(431, "the trailer fields are larger than " +
                                 std::to_string(limits_.max_trailer_bytes) + " bytes");
          }
          return {State::kNeedMore, pos};
        }
        const std::size_t newline = static_cast<const char*>(found) - data.data();
        if (newline == pos || data[newline - 1] != '\r') {
          return fail(400, "a trailer line does not end with CRLF");
        }
        const std::string_view line = data.substr(pos, newline - 1 - pos);
        trailer_bytes_ += line.size() + 2;
        if (trailer_bytes_ > limits_.max_trailer_bytes) {
          return fail(431, "the trailer fields are larger than " +
                               std::to_string(limits_.max_trailer_bytes) + " bytes");
        }
        pos = newline + 1;
        if (line.empty()) {
          phase_ = Phase::kDone;
          break;
        }
        if (line.front() == ' ' || line.front() == '\t') {
          return fail(400, "folded trailer lines (obs-fold) are not accepted");
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || !isToken(line.substr(0, colon))) {
          return fail(400, "a trailer line is not a field");
        }
        for (unsigned char c : line.substr(colon + 1)) {
          if (!isFieldValueChar(c)) return fail(400, "a trailer value holds a control character");
        }
        break;  // trailers are dropped
      }
    }
  }
}

RequestParser::Result parseRequest(std::string_view data, ParsedRequest& out, ParseError& error,
                                   ParserLimits limits) {
  RequestParser parser(limits);
  const RequestParser::Result result = parser.parse(data);
  out = std::move(parser.request());
  error = parser.error();
  return result;
}

core::Status checkCanonicalPath(std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return core::invalidArgument("the path must start with '/'");
  }
  std::size_t start = 1;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment.empty() && end < path.size()) {
      return core::invalidArgument("the path has an empty segment ('//')");
    }
    if (segment == "." || segment == "..") {
      return core::invalidArgument("the path has a '.' or '..' segment");
    }
    start = end + 1;
  }
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '\\') return core::invalidArgument("the path has a '\\'");
    if (path[i] != '%') continue;
    if (i + 2 >= path.size() || hexValue(path[i + 1]) < 0 || hexValue(path[i + 2]) < 0) {
      return core::invalidArgument("the path has a '%' not followed by two hex digits");
    }
    const int decoded = hexValue(path[i + 1]) * 16 + hexValue(path[i + 2]);
    if (decoded == '/' || decoded == '.' || decoded == '\\' || decoded == 0) {
      return core::invalidArgument("the path has a percent-encoded '/', '.', '\\' or NUL");
    }
    i += 2;
  }
  return core::Status::ok();
}

}  // namespace sendflow::http
