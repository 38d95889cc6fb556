#pragma once
// A strict HTTP/1.1 request parser (RFC 9112) over bytes, with no socket: the server feeds it
// what it read, and the unit tests and the fuzzer feed it whatever they like.
//
// What it accepts:
//   request line  method (1*tchar) SP request-target SP ("HTTP/1.1" | "HTTP/1.0") CRLF; the
//                 target is origin-form ("/path?query": visible ASCII, no '#', no '\') or "*"
//                 for OPTIONS; empty lines (CRLF) before the request line are skipped
//   field lines   name (1*tchar) ":" OWS value OWS CRLF; values of visible ASCII, obs-text,
//                 SP and HTAB; repeated names are joined with ", " ("; " for Cookie)
//   framing       Content-Length: digits only, one value or a list of identical values, at most
//                 18 digits; Transfer-Encoding: a list whose last coding is "chunked" (chunk
//                 sizes in hex without overflow, extensions and trailers within limits, trailers
//                 dropped); neither: no body
//   Host          exactly one for HTTP/1.1, at most one for HTTP/1.0, with host[:port] characters
//   Expect        "100-continue" (HTTP/1.1 only; ignored for 1.0) sets expect_continue
//   Connection    "close" ends the connection after the response; an HTTP/1.0 request is closed
//                 unless it says "keep-alive"
// What it refuses, as an error status (the server answers it and closes the connection, since
// after a framing error the stream can no longer be trusted):
//   400  bare LF or a CR not followed by LF, obs-fold (a line starting with SP or HTAB),
//        whitespace before a field's colon, a bad method, target or field name, NUL/CR/LF or
//        other control characters in a value, a bad or conflicting Content-Length, both
//        Transfer-Encoding and Content-Length, "chunked" not last or repeated, Transfer-Encoding
//        in an HTTP/1.0 request, a missing, repeated or malformed Host, a malformed chunk
//   413  a body larger than max_body_bytes (by Content-Length before any body byte, or while
//        decoding chunks)
//   414  a request line longer than max_request_line_bytes
//   417  an Expect other than 100-continue
//   431  a field line longer than max_field_line_bytes, more than max_fields fields, a head
//        (request line and fields) larger than max_head_bytes; trailers beyond max_trailer_bytes
//   501  a transfer coding other than chunked
//   505  an HTTP version other than 1.0 and 1.1
//
// Use: call parse() with the bytes not yet consumed (the same bytes again, with more appended,
// after kNeedMore); drop `consumed` bytes from the front after every call. kComplete: request()
// holds the request and the bytes after it belong to the next one (pipelining); reset() before
// parsing it. kError: error() says why. Parsing is linear in the input over all calls.
//
// Not thread-safe; one parser per connection.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/http/request.h"

namespace sendflow::http {

struct ParserLimits {
  std::size_t max_request_line_bytes = 8 * 1024;
  std::size_t max_field_line_bytes = 8 * 1024;
  std::size_t max_fields = 100;
  std::size_t max_head_bytes = 64 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_chunk_line_bytes = 1024;  // chunk size and its extensions
  std::size_t max_trailer_bytes = 8 * 1024;
};

// A request as it came off the wire.
struct ParsedRequest {
  std::string method;
  std::string target;  // "/path?query" as sent, or "*"
  int minor_version = 1;
  Headers headers;
  std::string body;
  bool keep_alive = true;  // the connection may serve another request after this one
  bool expect_continue = false;
};

// Why a request was refused: the HTTP status to answer and a message for the client.
struct ParseError {
  int status = 0;
  std::string message;
};

class RequestParser {
 public:
  enum class State { kNeedMore, kComplete, kError };
  struct Result {
    State state = State::kNeedMore;
    std::size_t consumed = 0;  // bytes of the input this call used up
  };

  explicit RequestParser(ParserLimits limits = {});

  Result parse(std::string_view data);
  // Ready for the next request on the same connection (keeps the limits).
  void reset();

  // The head has been parsed (request() has the method, target and headers); the body may
  // still be coming. The server sends "100 Continue" at this point when expect_continue.
  bool headComplete() const { return phase_ > Phase::kHead; }
  const ParsedRequest& request() const { return request_; }
  ParsedRequest& request() { return request_; }
  const ParseError& error() const { return error_; }
  // Bytes of the head seen so far (0 before the first byte of a request arrived): lets the
  // server tell an idle keep-alive connection from one in the middle of a request.
  std::size_t headBytesSeen() const { return head_scanned_; }

 private:
  enum class Phase { kHead, kLengthBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailer, kDone };

  Result fail(int status, std::string message);
  Result parseHead(std::string_view data);
  bool parseRequestLine(std::string_view line);
  bool parseFieldLine(std::string_view line);
  bool decideFraming();
  Result parseBody(std::string_view data, std::size_t offset);

  ParserLimits limits_;
  Phase phase_ = Phase::kHead;
  ParsedRequest request_;
  ParseError error_;
  std::size_t head_scanned_ = 0;  // bytes of the head already checked for line ends
  std::size_t line_start_ = 0;    // start of the line being scanned, within the head
  std::size_t field_count_ = 0;
  bool request_line_seen_ = false;
  std::size_t host_count_ = 0;
  bool has_content_length_ = false;
  bool has_transfer_encoding_ = false;
  std::uint64_t remaining_ = 0;  // of the Content-Length body or the current chunk
  std::size_t trailer_bytes_ = 0;
};

// One whole request from `data` (a convenience for tests): kNeedMore when it is incomplete.
RequestParser::Result parseRequest(std::string_view data, ParsedRequest& out, ParseError& error,
                                   ParserLimits limits = {});

// The canonical path of a request target's path (the part before '?'): the path as sent when it
// is canonical, an error (400) otherwise. Canonical means: starts with '/', no empty segment
// ("//"; a trailing '/' is allowed, and routes to nothing but "/"), no "." or ".." segment, no
// percent-encoded '/', '.', '\' or NUL (%2F %2E %5C %00, any case), no raw '\', and every '%'
// followed by two hex digits. Refusing instead of rewriting keeps one spelling per resource, so
// routing, sign-in and logs all see the same path the client sent.
core::Status checkCanonicalPath(std::string_view path);

}  // namespace sendflow::http
