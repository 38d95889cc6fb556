// MIME rendering: structure and encodings read back with Poco's parser, the headers, the HTML
// made from text, and refusal of header injection.
#include "server/mail/mime_message.h"

#include <Poco/Net/QuotedPrintableDecoder.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <sstream>

#include "tests/mail/message_reader.h"

namespace sendflow::mail {
namespace {

using testing::decodeWords;
using testing::rawHeader;
using testing::readMessage;

core::TimePoint at(const std::string& iso) {
  core::TimePoint t;
  EXPECT_TRUE(core::parseIso8601(iso, t)) << iso;
  return t;
}

store::OutboxRecord reminder() {
  store::OutboxRecord r;
  r.id = 42;
  r.instance_id = "inst-7";
  r.recipient = "role:manager";
  r.subject = "Moderation outcome waiting for approval";
  r.body =
      "The moderation of plan EHC-1042 is ready.\n"
      "Approve or return it: https://sendflow.council.example/tasks/t-9.\n\n"
      "Grades <A> & \"B\" are final.";
  r.created_at = at("2026-11-22T09:30:05Z");
  return r;
}

const MailSender kSender{"sendflow@council.example", "SEND quality assurance"};

std::string decodeQp(const std::string& text) {
  std::istringstream in(text);
  Poco::Net::QuotedPrintableDecoder decoder(in);
  std::string out;
  Poco::StreamCopier::copyToString(decoder, out);
  return out;
}

std::string crlf(const std::string& lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

TEST(MimeMessageTest, IsMultipartAlternativeWithAPlainTextAndAnHtmlPart) {
  auto eml = formatMimeMessage(reminder(), {"manager@council.example"}, kSender);
  ASSERT_TRUE(eml.isOk()) << eml.status().toString();
  const auto m = readMessage(*eml);
  EXPECT_EQ(m.header("MIME-Version"), "1.0");
  EXPECT_EQ(m.header("Content-Type").rfind("multipart/alternative; boundary=", 0), 0u)
      << m.header("Content-Type");
  ASSERT_EQ(m.parts.size(), 2u);
  EXPECT_EQ(m.parts[0].content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(m.parts[0].encoding, "quoted-printable");
  EXPECT_EQ(m.parts[0].text, crlf(reminder().body));
  EXPECT_EQ(m.parts[1].content_type, "text/html; charset=utf-8");
  EXPECT_EQ(m.parts[1].encoding, "quoted-printable");
  const std::string& html = m.parts[1].text;
  EXPECT_NE(html.find("<a href=\"https://sendflow.council.example/tasks/t-9\">"
                      "https://sendflow.council.example/tasks/t-9</a>."),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("Grades &lt;A&gt; &amp; &quot;B&quot; are final."), std::string::npos);
  EXPECT_EQ(html.find("<A>"), std::string::npos);
  // Two paragraphs: the blank line separates them; the single line break stays a <br>.
  EXPECT_NE(html.find("<p>The moderation of plan EHC-1042 is ready.<br>"), std::string::npos);
  EXPECT_NE(html.find("</p>\r\n<p>Grades"), std::string::npos) << html;
}

TEST(MimeMessageTest, UsesTheRecordsHtmlBodyWhenItHasOne) {
  store::OutboxRecord r = reminder();
  r.html_body = "<p>Hand-made <b>HTML</b> = fine</p>";
  auto eml = formatMimeMessage(r, {"manager@council.example"}, kSender);
  ASSERT_TRUE(eml.isOk());
  const auto m = readMessage(*eml);
  ASSERT_EQ(m.parts.size(), 2u);
  EXPECT_EQ(m.parts[1].text, r.html_body);
  EXPECT_EQ(m.parts[0].text, crlf(r.body));
}

TEST(MimeMessageTest, CarriesTheHeadersAPersonAndAMailServerNeed) {
  auto eml = formatMimeMessage(reminder(), {"a@council.example", "b@council.example"}, kSender);
  ASSERT_TRUE(eml.isOk());
  const auto m = readMessage(*eml);
  EXPECT_EQ(m.header("From"), "SEND quality assurance <sendflow@council.example>");
  EXPECT_EQ(m.header("To"), "a@council.example, b@council.example");
  EXPECT_EQ(m.header("Subject"), "Moderation outcome waiting for approval");
  EXPECT_EQ(m.header("Date"), "Sun, 22 Nov 2026 09:30:05 +0000");
  EXPECT_EQ(m.header("Message-ID"), "<outbox-42@council.example>");
  EXPECT_EQ(m.header("Auto-Submitted"), "auto-generated");
  EXPECT_EQ(m.header("X-Sendflow-Recipient"), "role:manager");
  EXPECT_EQ(m.header("X-Sendflow-Instance"), "inst-7");
  // Every line ends in CRLF and none is longer than 78 characters plus CRLF.
  std::istringstream lines(*eml);
  std::string line;
  while (std::getline(lines, line)) {
    ASSERT_FALSE(line.empty() || line.back() != '\r') << "bare LF before: " << line;
    EXPECT_LE(line.size(), 79u) << line;
  }
}

TEST(MimeMessageTest, TheMessageIdIsTheSameOnEveryAttempt) {
  store::OutboxRecord r = reminder();
  auto first = formatMimeMessage(r, {"manager@council.example"}, kSender);
  r.attempts = 3;
  r.last_error = "smtp: 421";
  auto again = formatMimeMessage(r, {"manager@council.example"}, kSender);
  ASSERT_TRUE(first.isOk() && again.isOk());
  EXPECT_EQ(*first, *again);
  EXPECT_EQ(messageIdFor(7, "qa@send.council.example"), "<outbox-7@send.council.example>");
}

TEST(MimeMessageTest, NonAsciiSubjectAndSenderNameAreEncodedWords) {
  store::OutboxRecord r = reminder();
  r.subject = "Réunion de modération — plan for Zoë Ó Briain, due 3 Dec, please review today";
  MailSender sender{"sendflow@council.example", "Équipe SEND"};
  auto eml = formatMimeMessage(r, {"manager@council.example"}, sender);
  ASSERT_TRUE(eml.isOk());
  const std::string headers = eml->substr(0, eml->find("\r\n\r\n"));
  for (unsigned char c : headers) ASSERT_LT(c, 0x80) << "raw 8-bit byte in the headers";
  const std::string subject = rawHeader(*eml, "Subject");
  EXPECT_EQ(subject.rfind("=?UTF-8?B?", 0), 0u) << subject;
  EXPECT_EQ(decodeWords(subject), r.subject);
  EXPECT_EQ(decodeWords(rawHeader(*eml, "From")), "Équipe SEND <sendflow@council.example>");
}

TEST(MimeMessageTest, LongAsciiSubjectIsFoldedNotCut) {
  store::OutboxRecord r = reminder();
  r.subject.clear();
  for (int i = 0; i < 20; ++i) r.subject += "overdue ";
  r.subject += "end";
  auto eml = formatMimeMessage(r, {"manager@council.example"}, kSender);
  ASSERT_TRUE(eml.isOk());
  EXPECT_NE(eml->find("Subject: overdue"), std::string::npos);
  std::string unfolded = readMessage(*eml).header("Subject");
  // Poco keeps the folding whitespace; unfolding per RFC 5322 drops the CRLF only.
  std::string plain;
  for (char c : unfolded) {
    if (c != '\r' && c != '\n') plain += c;
  }
  EXPECT_EQ(plain, r.subject);
}

TEST(MimeMessageTest, ALineBreakInTheSubjectIsRefused) {
  store::OutboxRecord r = reminder();
  r.subject = "Reminder\r\nBcc: everyone@council.example";
  auto eml = formatMimeMessage(r, {"manager@council.example"}, kSender);
  ASSERT_FALSE(eml.isOk());
  EXPECT_EQ(eml.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(eml.status().message().find("subject"), std::string::npos);
  r.subject = "Reminder\nBcc: everyone@council.example";
  EXPECT_EQ(formatMimeMessage(r, {"manager@council.example"}, kSender).status().code(),
            core::StatusCode::kInvalidArgument);
}

TEST(MimeMessageTest, ALineBreakInARecipientIsRefused) {
  auto eml =
      formatMimeMessage(reminder(), {"manager@council.example\r\nBcc: x@evil.example"}, kSender);
  ASSERT_FALSE(eml.isOk());
  EXPECT_EQ(eml.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(eml.status().message().find("recipient"), std::string::npos);
  EXPECT_NE(eml.status().message().find("line break"), std::string::npos);

  store::OutboxRecord r = reminder();
  r.recipient = "role:manager\nBcc: x@evil.example";
  EXPECT_EQ(formatMimeMessage(r, {"manager@council.example"}, kSender).status().code(),
            core::StatusCode::kInvalidArgument);
  MailSender bad_name{"sendflow@council.example", "QA\r\nBcc: x@evil.example"};
  EXPECT_EQ(formatMimeMessage(reminder(), {"manager@council.example"}, bad_name).status().code(),
            core::StatusCode::kInvalidArgument);
}

TEST(MimeMessageTest, RecipientsMustBePlainAddresses) {
  for (const std::string bad : {"", "manager", "a@b@c", "@council.example", "x@", "a b@c.example",
                                "<a@c.example>", "a@c.example, b@c.example", "zoë@c.example"}) {
    EXPECT_EQ(checkAddress(bad, "recipient").code(), core::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(checkAddress("first.last+send@council.example", "recipient").isOk());
  EXPECT_EQ(formatMimeMessage(reminder(), {}, kSender).status().code(),
            core::StatusCode::kInvalidArgument);
}

TEST(MimeMessageTest, QuotedPrintableKeepsLinesShortAndDecodesToTheSameText) {
  std::string text = "Plan EHC-1042 = section F; ";
  for (int i = 0; i < 30; ++i) text += "naïve café ";
  text += "trailing space \nnext line\ttab\t\nend";
  const std::string qp = encodeQuotedPrintable(text);
  std::istringstream lines(qp);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    EXPECT_LE(line.size(), 76u) << line;
    EXPECT_TRUE(line.empty() || (line.back() != ' ' && line.back() != '\t')) << line;
  }
  EXPECT_NE(qp.find("=3D"), std::string::npos);
  EXPECT_NE(qp.find("na=C3=AFve"), std::string::npos);
  EXPECT_EQ(decodeQp(qp), crlf(text));
}

TEST(MimeMessageTest, HtmlFromTextEscapesAndLinksOnlyWebAddresses) {
  const std::string html = htmlFromText(
      "<script>alert(1)</script>\n"
      "See (https://x.example/a_(b)) and https://x.example/q?a=1&b=2, not javascript:alert(1) "
      "or ftp://x.example.",
      "A & B");
  EXPECT_NE(html.find("<title>A &amp; B</title>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("(<a href=\"https://x.example/a_(b)\">https://x.example/a_(b)</a>)"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<a href=\"https://x.example/q?a=1&amp;b=2\">"), std::string::npos);
  EXPECT_NE(html.find("</a>, not javascript:alert(1) or ftp://x.example."), std::string::npos);
}

}  // namespace
}  // namespace sendflow::mail
