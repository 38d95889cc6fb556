#include "server/mail/mime_message.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <string_view>

#include "server/core/markup_escape.h"

namespace sendflow::mail {

namespace {

constexpr std::size_t kMaxLine = 76;  // quoted-printable and folded header lines

bool hasLineBreak(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

bool isPlainAscii(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return s.find("=?") == std::string::npos;  // would read as an encoded word
}

std::string base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// Length of the UTF-8 sequence that starts with `lead` (1 for a stray continuation byte, so
// that malformed input still advances).
std::size_t utf8Length(unsigned char lead) {
  if (lead >= 0xf0) return 4;
  if (lead >= 0xe0) return 3;
  if (lead >= 0xc0) return 2;
  return 1;
}

// Joins `words` with spaces, folding ("\r\n ") before a word that would take the line past
// kMaxLine. `used` is how much of the first line the header name already takes.
std::string fold(const std::vector<std::string>& words, std::size_t used) {
  std::string out;
  std::size_t line = used;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) {
      if (line + 1 + words[i].size() > kMaxLine) {
        out += "\r\n ";
        line = 1;
      } else {
        out += ' ';
        ++line;
      }
    }
    out += words[i];
    line += words[i].size();
  }
  return out;
}

std::vector<std::string> splitOnSpaces(const std::string& s) {
  std::vector<std::string> words;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t space = s.find(' ', start);
    if (space == std::string::npos) {
      words.push_back(s.substr(start));
      break;
    }
    words.push_back(s.substr(start, space - start));
    start = space + 1;
  }
  return words;
}

// RFC 2047 words for `text`, each at most 75 characters.
std::vector<std::string> encodedWords(const std::string& text) {
  constexpr std::size_t kBytesPerWord = 45;  // 60 base64 characters + 12 of "=?UTF-8?B??="
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t end = i;
    while (end < text.size()) {
      const std::size_t n = utf8Length(static_cast<unsigned char>(text[end]));
      if (end + n - i > kBytesPerWord) break;
      end += n;
    }
    if (end == i) end = std::min(text.size(), i + 1);
    end = std::min(end, text.size());
    words.push_back("=?UTF-8?B?" + base64(text.substr(i, end - i)) + "?=");
    i = end;
  }
  return words;
}

bool needsQuoting(const std::string& phrase) {
  for (char c : phrase) {
    if (std::string_view("()<>[]:;@\\,.\"").find(c) != std::string_view::npos) return true;
  }
  return false;
}

std::string formatMailbox(const MailSender& sender) {
  if (sender.display_name.empty()) return sender.address;
  std::string phrase;
  if (!isPlainAscii(sender.display_name)) {
    std::vector<std::string> words = encodedWords(sender.display_name);
    for (std::size_t i = 0; i < words.size(); ++i) phrase += (i ? "\r\n " : "") + words[i];
  } else if (needsQuoting(sender.display_name)) {
    phrase = "\"";
    for (char c : sender.display_name) {
      if (c == '"' || c == '\\') phrase += '\\';
      phrase += c;
    }
    phrase += '"';
  } else {
    phrase = sender.display_name;
  }
  return phrase + " <" + sender.address + ">";
}

// RFC 5322 date: "Sun, 22 Nov 2026 09:30:00 +0000".
std::string rfc5322Date(core::TimePoint t) {
  const std::time_t secs =
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  std::tm tm{};
  gmtime_r(&secs, &tm);
  // %a and %b follow the C locale, which is what RFC 5322 wants; spelled out to be safe.
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

bool startsWithUrl(std::string_view s) {
  auto lower = [](std::string_view p) {
    std::string r(p);
    for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
  };
  return lower(s.substr(0, 7)) == "http://" || lower(s.substr(0, 8)) == "https://";
}

// One line of text as HTML: escaped, with URLs as links.
std::string linkify(std::string_view line) {
  std::string out;
  std::size_t i = 0;
  while (i < line.size()) {
    const bool boundary = i == 0 || !std::isalnum(static_cast<unsigned char>(line[i - 1]));
    if (boundary && startsWithUrl(line.substr(i))) {
      std::size_t end = i;
      while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end])) &&
             std::string_view("<>\"").find(line[end]) == std::string_view::npos) {
        ++end;
      }
      // Sentence punctuation after a URL is not part of it; nor is a closing bracket that
      // closes a bracket opened before the URL.
      while (end > i) {
        const char last = line[end - 1];
        if (std::string_view(".,;:!?'").find(last) != std::string_view::npos) {
          --end;
        } else if (last == ')') {
          const std::string_view url = line.substr(i, end - i);
          const auto opens = std::count(url.begin(), url.end(), '(');
          const auto closes = std::count(url.begin(), url.end(), ')');
          if (closes > opens) {
            --end;
          } else {
            break;
          }
        } else {
          break;
        }
      }
      const std::string_view url = line.substr(i, end - i);
      if (url.find("://") + 3 < url.size()) {
        out += "<a href=\"" + core::markupEscaped(url) + "\">" + core::markupEscaped(url) + "</a>";
        i = end;
        continue;
      }
    }
    out += core::markupEscaped(line.substr(i, 1));
    ++i;
  }
  return out;
}

bool isBlank(std::string_view line) {
  for (char c : line) {
    if (!std::isspace(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t nl = text.find('\n', start);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::size_t stop = end;
    if (stop > start && text[stop - 1] == '\r') --stop;
    lines.push_back(text.substr(start, stop - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return lines;
}

}  // namespace

core::Status checkAddress(const std::string& address, const std::string& field) {
  if (address.empty()) return core::invalidArgument(field + ": the address is empty");
  if (hasLineBreak(address)) {
    return core::invalidArgument(field + ": '" + address.substr(0, address.find_first_of("\r\n")) +
                                 "...' contains a line break");
  }
  if (address.size() > 254) return core::invalidArgument(field + ": the address is too long");
  for (unsigned char c : address) {
    if (c <= 0x20 || c >= 0x7f ||
        std::string_view("<>()[]\\,;:\"").find(static_cast<char>(c)) != std::string_view::npos) {
      return core::invalidArgument(field + ": '" + address +
                                   "' is not an email address (only local@domain, in ASCII)");
    }
  }
  const std::size_t at = address.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == address.size() ||
      address.find('@', at + 1) != std::string::npos) {
    return core::invalidArgument(field + ": '" + address + "' is not an email address");
  }
  return core::Status::ok();
}

core::Status checkSender(const MailSender& sender) {
  SENDFLOW_RETURN_IF_ERROR(checkAddress(sender.address, "sender"));
  if (hasLineBreak(sender.display_name)) {
    return core::invalidArgument("sender name: contains a line break");
  }
  return core::Status::ok();
}

std::string messageIdFor(long long outbox_id, const std::string& from_address) {
  const std::size_t at = from_address.rfind('@');
  const std::string domain = at == std::string::npos || at + 1 == from_address.size()
                                 ? "sendflow"
                                 : from_address.substr(at + 1);
  return "<outbox-" + std::to_string(outbox_id) + "@" + domain + ">";
}

std::string encodeQuotedPrintable(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  const std::vector<std::string_view> lines = splitLines(text);
  for (std::size_t l = 0; l < lines.size(); ++l) {
    const std::string_view line = lines[l];
    std::size_t width = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(line[i]);
      const bool last = i + 1 == line.size();
      std::string token;
      if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last)) {
        token = static_cast<char>(c);
      } else {
        token = {'=', kHex[c >> 4], kHex[c & 15]};
      }
      // Room for the token and, unless this is the line's last token, a soft break "=".
      const std::size_t limit = last ? kMaxLine : kMaxLine - 1;
      if (width + token.size() > limit) {
        out += "=\r\n";
        width = 0;
      }
      out += token;
      width += token.size();
    }
    if (l + 1 < lines.size()) out += "\r\n";
  }
  return out;
}

std::string encodeHeaderText(const std::string& text) {
  if (isPlainAscii(text)) return fold(splitOnSpaces(text), 9);  // after "Subject: "
  std::vector<std::string> words = encodedWords(text);
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) out += (i ? "\r\n " : "") + words[i];
  return out;
}

std::string htmlFromText(const std::string& text, const std::string& title) {
  std::string body;
  std::vector<std::string> paragraph;
  auto flush = [&] {
    if (paragraph.empty()) return;
    body += "<p>";
    for (std::size_t i = 0; i < paragraph.size(); ++i) body += (i ? "<br>\n" : "") + paragraph[i];
    body += "</p>\n";
    paragraph.clear();
  };
  for (std::string_view line : splitLines(text)) {
    if (isBlank(line)) {
      flush();
    } else {
      paragraph.push_back(linkify(line));
    }
  }
  flush();
  return "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>" +
         core::markupEscaped(title) + "</title>\n</head>\n<body>\n" + body + "</body>\n</html>\n";
}

core::StatusOr<std::string> formatMimeMessage(const store::OutboxRecord& record,
                                              const std::vector<std::string>& to,
                                              const MailSender& from) {
  SENDFLOW_RETURN_IF_ERROR(checkSender(from));
  if (to.empty()) return core::invalidArgument("recipient: no address to send to");
  for (const std::string& address : to)
    SENDFLOW_RETURN_IF_ERROR(checkAddress(address, "recipient"));
  if (hasLineBreak(record.recipient)) {
    return core::invalidArgument(
        "recipient: '" + record.recipient.substr(0, record.recipient.find_first_of("\r\n")) +
        "...' contains a line break");
  }
  if (hasLineBreak(record.subject)) {
    return core::invalidArgument("subject: contains a line break");
  }
  if (hasLineBreak(record.instance_id)) {
    return core::invalidArgument("instance: contains a line break");
  }

  const std::string boundary = "=_sendflow_alternative_" + std::to_string(record.id);
  const std::string html =
      record.html_body.empty() ? htmlFromText(record.body, record.subject) : record.html_body;

  std::vector<std::string> to_words;
  for (std::size_t i = 0; i < to.size(); ++i)
    to_words.push_back(to[i] + (i + 1 < to.size() ? "," : ""));

  std::string m;
  m += "From: " + formatMailbox(from) + "\r\n";
  m += "To: " + fold(to_words, 4) + "\r\n";
  m += "Subject: " + encodeHeaderText(record.subject) + "\r\n";
  m += "Date: " + rfc5322Date(record.created_at) + "\r\n";
  m += "Message-ID: " + messageIdFor(record.id, from.address) + "\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "X-Sendflow-Recipient: " + encodeHeaderText(record.recipient) + "\r\n";
  if (!record.instance_id.empty()) {
    m += "X-Sendflow-Instance: " + encodeHeaderText(record.instance_id) + "\r\n";
  }
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n";
  m += "\r\n";
  m += "This is a message in MIME format: a plain-text and an HTML version.\r\n";
  m += "\r\n--" + boundary + "\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  m += encodeQuotedPrintable(record.body);
  m += "\r\n--" + boundary + "\r\n";
  m += "Content-Type: text/html; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  m += encodeQuotedPrintable(html);
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

}  // namespace sendflow::mail
