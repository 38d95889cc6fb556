#include "server/http/request_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sendflow::http {
namespace {

using State = RequestParser::State;

struct Parsed {
  State state = State::kNeedMore;
  std::size_t consumed = 0;
  ParsedRequest request;
  ParseError error;
};

Parsed parseAll(const std::string& raw, ParserLimits limits = {}) {
  Parsed p;
  const RequestParser::Result r = parseRequest(raw, p.request, p.error, limits);
  p.state = r.state;
  p.consumed = r.consumed;
  return p;
}

// Feeds `raw` one byte at a time, dropping consumed bytes as the server does.
Parsed parseByteByByte(const std::string& raw, ParserLimits limits = {}) {
  RequestParser parser(limits);
  std::string buffer;
  Parsed p;
  for (char c : raw) {
    buffer.push_back(c);
    const RequestParser::Result r = parser.parse(buffer);
    buffer.erase(0, r.consumed);
    p.state = r.state;
    if (r.state != State::kNeedMore) break;
  }
  p.request = parser.request();
  p.error = parser.error();
  return p;
}

TEST(RequestParserTest, ParsesAGetWithHeaders) {
  const Parsed p = parseAll(
      "GET /api/v1/tasks?mine=1 HTTP/1.1\r\nHost: example.org:8080\r\nAccept:  text/html \r\n"
      "X-Empty:\r\n\r\n");
  ASSERT_EQ(p.state, State::kComplete) << p.error.message;
  EXPECT_EQ(p.request.method, "GET");
  EXPECT_EQ(p.request.target, "/api/v1/tasks?mine=1");
  EXPECT_EQ(p.request.minor_version, 1);
  EXPECT_EQ(p.request.headers.at("host"), "example.org:8080");
  EXPECT_EQ(p.request.headers.at("Accept"), "text/html");
  EXPECT_EQ(p.request.headers.at("X-Empty"), "");
  EXPECT_TRUE(p.request.keep_alive);
  EXPECT_EQ(p.request.body, "");
}

TEST(RequestParserTest, ReadsAContentLengthBody) {
  const std::string raw = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET";
  const Parsed p = parseAll(raw);
  ASSERT_EQ(p.state, State::kComplete) << p.error.message;
  EXPECT_EQ(p.request.body, "hello");
  EXPECT_EQ(p.consumed, raw.size() - 3);  // "GET" belongs to the next request
}

TEST(RequestParserTest, AcceptsAListOfIdenticalContentLengths) {
  const Parsed p = parseAll(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\nContent-Length: 003\r\n\r\nabc");
  ASSERT_EQ(p.state, State::kComplete) << p.error.message;
  EXPECT_EQ(p.request.body, "abc");
}

TEST(RequestParserTest, DecodesChunkedBodiesWithExtensionsAndTrailers) {
  const Parsed p = parseAll(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value;quoted=\"a b\"\r\nhello\r\n"
      "6 ; ext\r\n world\r\n"
      "0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n");
  ASSERT_EQ(p.state, State::kComplete) << p.error.message;
  EXPECT_EQ(p.request.body, "hello world");
  EXPECT_EQ(p.request.headers.count("X-Checksum"), 0u);  // trailers are dropped
}

TEST(RequestParserTest, AcceptsUpperCaseChunkedAndHexSizes) {
  const Parsed p = parseAll(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
      "Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n");
  ASSERT_EQ(p.state, State::kComplete) << p.error.message;
  EXPECT_EQ(p.request.body, "0123456789");
}

TEST(RequestParserTest, GivesTheSameRequestWhenFedOneByteAtATime) {
  for (const std::string raw : {"GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
                                "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody",
                                "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n"}) {
    const Parsed whole = parseAll(raw);
    const Parsed bytes = parseByteByByte(raw);
    ASSERT_EQ(whole.state, State::kComplete) << raw;
    ASSERT_EQ(bytes.state, State::kComplete) << raw;
    EXPECT_EQ(bytes.request.target, whole.request.target);
    EXPECT_EQ(bytes.request.body, whole.request.body);
  }
}

TEST(RequestParserTest, ParsesPipelinedRequestsOneAfterAnother) {
  std::string buffer =
      "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
      "GET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  RequestParser parser;
  std::vector<std::string> targets;
  while (!buffer.empty()) {
    const RequestParser::Result r = parser.parse(buffer);
    ASSERT_EQ(r.state, State::kComplete) << parser.error().message;
    buffer.erase(0, r.consumed);
    targets.push_back(parser.request().target);
    if (targets.back() == "/two") {
      EXPECT_EQ(parser.request().body, "hi");
    }
    if (targets.back() == "/three") {
      EXPECT_FALSE(parser.request().keep_alive);
    }
    parser.reset();
  }
  EXPECT_EQ(targets, (std::vector<std::string>{"/one", "/two", "/three"}));
}

TEST(RequestParserTest, HttpOneZeroClosesUnlessItAsksForKeepAlive) {
  const Parsed plain = parseAll("GET / HTTP/1.0\r\n\r\n");
  ASSERT_EQ(plain.state, State::kComplete) << plain.error.message;
  EXPECT_EQ(plain.request.minor_version, 0);
  EXPECT_FALSE(plain.request.keep_alive);
  const Parsed kept = parseAll("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  EXPECT_TRUE(kept.request.keep_alive);
  const Parsed closed = parseAll("GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, close\r\n\r\n");
  EXPECT_FALSE(closed.request.keep_alive);
}

TEST(RequestParserTest, SeesExpectContinueOnlyInHttpOneOne) {
  EXPECT_TRUE(parseAll("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\n\r\n")
                  .request.expect_continue);
  const Parsed old = parseAll("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_EQ(old.state, State::kComplete);
  EXPECT_FALSE(old.request.expect_continue);
}

TEST(RequestParserTest, TellsWhenTheHeadIsCompleteBeforeTheBody) {
  RequestParser parser;
  const std::string head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n";
  const RequestParser::Result r = parser.parse(head + "abc");
  EXPECT_EQ(r.state, State::kNeedMore);
  EXPECT_EQ(r.consumed, head.size() + 3);
  EXPECT_TRUE(parser.headComplete());
}

TEST(RequestParserTest, SkipsEmptyLinesBeforeTheRequestLineAndJoinsRepeatedFields) {
  const Parsed p = parseAll(
      "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nAccept: a\r\naccept: b\r\nCookie: c=1\r\n"
      "Cookie: d=2\r\n\r\n");
  ASSERT_EQ(p.state, State::kComplete) << p.error.message;
  EXPECT_EQ(p.request.headers.at("Accept"), "a, b");
  EXPECT_EQ(p.request.headers.at("Cookie"), "c=1; d=2");
}

TEST(RequestParserTest, AcceptsOptionsStarAndHttpOneZeroWithoutHost) {
  EXPECT_EQ(parseAll("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").state, State::kComplete);
  EXPECT_EQ(parseAll("GET /x HTTP/1.0\r\n\r\n").state, State::kComplete);
}

struct Refusal {
  const char* why;
  std::string raw;
  int status;
};

class RequestParserRefusalTest : public ::testing::TestWithParam<Refusal> {};

TEST_P(RequestParserRefusalTest, RefusesWithTheStatus) {
  ParserLimits limits;
  limits.max_body_bytes = 100;
  limits.max_fields = 10;
  limits.max_field_line_bytes = 200;
  limits.max_request_line_bytes = 200;
  limits.max_head_bytes = 1000;
  limits.max_trailer_bytes = 100;
  limits.max_chunk_line_bytes = 64;
  const Parsed whole = parseAll(GetParam().raw, limits);
  EXPECT_EQ(whole.state, State::kError) << GetParam().why;
  EXPECT_EQ(whole.error.status, GetParam().status) << GetParam().why << ": " << whole.error.message;
  const Parsed bytes = parseByteByByte(GetParam().raw, limits);
  EXPECT_EQ(bytes.state, State::kError) << GetParam().why << " (byte by byte)";
  EXPECT_EQ(bytes.error.status, GetParam().status) << GetParam().why << " (byte by byte)";
}

const std::string kHost = "Host: x\r\n";

INSTANTIATE_TEST_SUITE_P(
    Smuggling, RequestParserRefusalTest,
    ::testing::Values(
        Refusal{"CL and TE",
                "POST / HTTP/1.1\r\n" + kHost +
                    "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                400},
        Refusal{"TE and CL",
                "POST / HTTP/1.1\r\n" + kHost +
                    "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
                400},
        Refusal{"two Content-Lengths",
                "POST / HTTP/1.1\r\n" + kHost + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
                400},
        Refusal{"a list of different lengths",
                "POST / HTTP/1.1\r\n" + kHost + "Content-Length: 5, 6\r\n\r\n", 400},
        Refusal{"space before the colon",
                "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding : chunked\r\n\r\n", 400},
        Refusal{"tab before the colon", "GET / HTTP/1.1\r\n" + kHost + "X-A\t: 1\r\n\r\n", 400},
        Refusal{"plus sign", "POST / HTTP/1.1\r\n" + kHost + "Content-Length: +5\r\n\r\nhello",
                400},
        Refusal{"negative", "POST / HTTP/1.1\r\n" + kHost + "Content-Length: -1\r\n\r\n", 400},
        Refusal{"hex length", "POST / HTTP/1.1\r\n" + kHost + "Content-Length: 0x5\r\n\r\n", 400},
        Refusal{"empty length", "POST / HTTP/1.1\r\n" + kHost + "Content-Length:\r\n\r\n", 400},
        Refusal{"overflowing length",
                "POST / HTTP/1.1\r\n" + kHost + "Content-Length: 18446744073709551621\r\n\r\n",
                400},
        Refusal{"bare LF ending the request line", "GET / HTTP/1.1\n" + kHost + "\r\n", 400},
        Refusal{"bare LF ending a field", "GET / HTTP/1.1\r\nHost: x\n\r\n", 400},
        Refusal{"bare LF ending the head", "GET / HTTP/1.1\r\nHost: x\r\n\n", 400},
        Refusal{"bare CR in a value", "GET / HTTP/1.1\r\n" + kHost + "X-A: a\rb\r\n\r\n", 400},
        Refusal{"obs-fold", "GET / HTTP/1.1\r\n" + kHost + "X-A: a\r\n  b\r\n\r\n", 400},
        Refusal{"folded Transfer-Encoding",
                "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding:\r\n chunked\r\n\r\n", 400},
        Refusal{"whitespace before the first field", "GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400},
        Refusal{"NUL in a value",
                "GET / HTTP/1.1\r\n" + kHost + std::string("X-A: a\0b\r\n\r\n", 12), 400},
        Refusal{"control character in a value",
                "GET / HTTP/1.1\r\n" + kHost + "X-A: a\x01" + "b\r\n\r\n", 400},
        Refusal{"DEL in a value", "GET / HTTP/1.1\r\n" + kHost + "X-A: a\x7f\r\n\r\n", 400},
        Refusal{"field name not a token", "GET / HTTP/1.1\r\n" + kHost + "X(A): 1\r\n\r\n", 400},
        Refusal{"field without colon", "GET / HTTP/1.1\r\n" + kHost + "X-A 1\r\n\r\n", 400},
        Refusal{"empty field name", "GET / HTTP/1.1\r\n" + kHost + ": 1\r\n\r\n", 400}));

INSTANTIATE_TEST_SUITE_P(
    TransferCodings, RequestParserRefusalTest,
    ::testing::Values(
        Refusal{"gzip", "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: gzip\r\n\r\n", 501},
        Refusal{"gzip then chunked",
                "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501},
        Refusal{"identity", "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: identity\r\n\r\n",
                501},
        Refusal{"chunked twice",
                "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400},
        Refusal{"chunked in two fields",
                "POST / HTTP/1.1\r\n" + kHost +
                    "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                400},
        Refusal{"empty coding list", "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: ,\r\n\r\n",
                400},
        Refusal{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                400},
        Refusal{"chunk size not hex",
                "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
        Refusal{"chunk size with a sign",
                "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\n\r\n-1\r\n", 400},
        Refusal{"overflowing chunk size",
                "POST / HTTP/1.1\r\n" + kHost +
                    "Transfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n",
                400},
        Refusal{"chunk data longer than its size",
                "POST / HTTP/1.1\r\n" + kHost +
                    "Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
                400},
        Refusal{"chunk size line with bare LF",
                "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\n\r\n3\nabc", 400},
        Refusal{"chunk extension with a control character",
                "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\n\r\n3;a\x01\r\n",
                400},
        Refusal{"chunk extension too long",
                "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\n\r\n3;" +
                    std::string(100, 'e') + "\r\nabc\r\n0\r\n\r\n",
                400},
        Refusal{"trailers too large",
                "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: " +
                    std::string(200, 't') + "\r\n\r\n",
                431},
        Refusal{"folded trailer",
                "POST / HTTP/1.1\r\n" + kHost +
                    "Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: a\r\n b\r\n\r\n",
                400}));

INSTANTIATE_TEST_SUITE_P(
    RequestLineAndHost, RequestParserRefusalTest,
    ::testing::Values(
        Refusal{"no Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400},
        Refusal{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        Refusal{"two Hosts in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400},
        Refusal{"Host with a slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
        Refusal{"Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
        Refusal{"HTTP/2.0", "GET / HTTP/2.0\r\n" + kHost + "\r\n", 505},
        Refusal{"HTTP/0.9 style", "GET /\r\n\r\n", 400},
        Refusal{"lower-case version", "GET / http/1.1\r\n" + kHost + "\r\n", 400},
        Refusal{"two spaces", "GET  / HTTP/1.1\r\n" + kHost + "\r\n", 400},
        Refusal{"trailing space", "GET / HTTP/1.1 \r\n" + kHost + "\r\n", 400},
        Refusal{"method not a token", "GE(T / HTTP/1.1\r\n" + kHost + "\r\n", 400},
        Refusal{"absolute-form target", "GET http://x/ HTTP/1.1\r\n" + kHost + "\r\n", 400},
        Refusal{"star for GET", "GET * HTTP/1.1\r\n" + kHost + "\r\n", 400},
        Refusal{"fragment in target", "GET /a#b HTTP/1.1\r\n" + kHost + "\r\n", 400},
        Refusal{"backslash in target", "GET /a\\b HTTP/1.1\r\n" + kHost + "\r\n", 400},
        Refusal{"raw byte in target", "GET /\xc3\xa9 HTTP/1.1\r\n" + kHost + "\r\n", 400},
        Refusal{"Expect other than 100-continue",
                "POST / HTTP/1.1\r\n" + kHost + "Expect: 200-ok\r\n\r\n", 417}));

INSTANTIATE_TEST_SUITE_P(
    Limits, RequestParserRefusalTest,
    ::testing::Values(
        Refusal{"request line too long",
                "GET /" + std::string(300, 'a') + " HTTP/1.1\r\n" + kHost + "\r\n", 414},
        Refusal{"request line without end too long", "GET /" + std::string(300, 'a'), 414},
        Refusal{"field line too long",
                "GET / HTTP/1.1\r\n" + kHost + "X-A: " + std::string(300, 'a') + "\r\n\r\n", 431},
        Refusal{"field line without end too long",
                "GET / HTTP/1.1\r\n" + kHost + "X-A: " + std::string(300, 'a'), 431},
        Refusal{"too many fields",
                [] {
                  std::string raw = "GET / HTTP/1.1\r\n" + kHost;
                  for (int i = 0; i < 12; ++i) raw += "X-" + std::to_string(i) + ": 1\r\n";
                  return raw + "\r\n";
                }(),
                431},
        Refusal{"head too large",
                [] {
                  std::string raw = "GET / HTTP/1.1\r\n" + kHost;
                  for (int i = 0; i < 9; ++i)
                    raw += "X-" + std::to_string(i) + ": " + std::string(150, 'v') + "\r\n";
                  return raw + "\r\n";
                }(),
                431},
        Refusal{"empty lines forever",
                [] {
                  std::string raw;
                  for (int i = 0; i < 600; ++i) raw += "\r\n";
                  return raw;
                }(),
                431},
        Refusal{"Content-Length over the body limit",
                "POST / HTTP/1.1\r\n" + kHost + "Content-Length: 101\r\n\r\n", 413},
        Refusal{"chunks over the body limit",
                "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\n\r\n40\r\n" +
                    std::string(64, 'a') + "\r\n40\r\n",
                413}));

TEST(CanonicalPathTest, AcceptsPathsSpeltOneWay) {
  for (const char* path : {"/", "/api/v1/tasks/abc", "/documents/a.b.pdf/download", "/tasks/",
                           "/x%20y", "/%41", "/a..b", "/.well-known"}) {
    EXPECT_TRUE(checkCanonicalPath(path).isOk()) << path;
  }
}

TEST(CanonicalPathTest, RefusesOtherSpellings) {
  for (const char* path :
       {"//api/v1/tasks/1/claim", "/api//v1", "/./api", "/api/./v1", "/api/..", "/api/../x",
        "/api/%2e%2e/x", "/api/%2E/x", "/api%2Fv1", "/api%2fv1", "/a%5cb", "/a%5Cb", "/a%00",
        "/a\\b", "/a%zz", "/a%2", "/a%", "", "api/v1"}) {
    EXPECT_FALSE(checkCanonicalPath(path).isOk()) << path;
  }
}

}  // namespace
}  // namespace sendflow::http
