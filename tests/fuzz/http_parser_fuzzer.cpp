// Feeds arbitrary bytes to the HTTP/1.1 request parser as a connection would: the whole input
// as pipelined requests, and the same input split into two reads at a point the input chooses.
// Refusals are fine; crashes, hangs, sanitizer reports, consuming more than was given, and the
// split parse disagreeing with the whole one are not. Targets of parsed requests also go
// through the canonical path check.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/http/request_parser.h"

namespace {

using sendflow::http::ParserLimits;
using sendflow::http::RequestParser;

ParserLimits smallLimits() {
  ParserLimits limits;
  limits.max_body_bytes = 4096;
  limits.max_head_bytes = 2048;
  limits.max_fields = 16;
  limits.max_field_line_bytes = 512;
  limits.max_request_line_bytes = 512;
  limits.max_trailer_bytes = 256;
  limits.max_chunk_line_bytes = 64;
  return limits;
}

void check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // The whole input, request after request, as a connection's buffer.
  RequestParser whole(smallLimits());
  std::string buffer(input);
  RequestParser::State first_state = RequestParser::State::kNeedMore;
  std::string first_target;
  std::string first_body;
  for (int requests = 0; requests < 64; ++requests) {
    const RequestParser::Result r = whole.parse(buffer);
    check(r.consumed <= buffer.size());
    buffer.erase(0, r.consumed);
    if (requests == 0) {
      first_state = r.state;
      first_target = whole.request().target;
      first_body = whole.request().body;
    }
    if (r.state != RequestParser::State::kComplete) break;
    (void)sendflow::http::checkCanonicalPath(whole.request().target);
    whole.reset();
  }

  // The same bytes in two reads must give the same first request.
  if (size > 1) {
    const std::size_t split = 1 + data[0] % (size - 1);
    RequestParser parts(smallLimits());
    std::string pending(input.substr(0, split));
    RequestParser::Result r = parts.parse(pending);
    check(r.consumed <= pending.size());
    pending.erase(0, r.consumed);
    if (r.state == RequestParser::State::kNeedMore) {
      pending.append(input.substr(split));
      r = parts.parse(pending);
      check(r.consumed <= pending.size());
    }
    check(r.state == first_state);
    if (r.state == RequestParser::State::kComplete) {
      check(parts.request().target == first_target);
      check(parts.request().body == first_body);
    }
  }
  (void)sendflow::http::checkCanonicalPath(input);
  return 0;
}
