#pragma once
// Reads an Internet message back for tests, with Poco's MIME parser (not sendflow's writer):
// headers, RFC 2047 words decoded, and each part of a multipart body decoded from its
// Content-Transfer-Encoding. Test-only.

#include <Poco/Base64Decoder.h>
#include <Poco/Net/MailMessage.h>
#include <Poco/Net/MessageHeader.h>
#include <Poco/Net/PartHandler.h>
#include <Poco/StreamCopier.h>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace sendflow::mail::testing {

struct ReadPart {
  std::string content_type;  // "text/plain; charset=utf-8"
  std::string encoding;      // the Content-Transfer-Encoding as written
  std::string text;          // decoded
};

struct ReadMessage {
  Poco::Net::MessageHeader headers;
  std::vector<ReadPart> parts;
  std::string header(const std::string& name) const { return headers.get(name, ""); }
};

// "=?UTF-8?B?...?=" words decoded; whitespace between two encoded words dropped (RFC 2047 6.2).
inline std::string decodeWords(const std::string& value) {
  static const std::regex kWord(R"(=\?([^?]+)\?([bB])\?([^?]*)\?=)");
  std::string out;
  std::size_t pos = 0;
  bool last_was_word = false;
  for (auto it = std::sregex_iterator(value.begin(), value.end(), kWord);
       it != std::sregex_iterator(); ++it) {
    const std::string between = value.substr(pos, it->position() - pos);
    const bool blank = between.find_first_not_of(" \t\r\n") == std::string::npos;
    if (!(last_was_word && blank)) out += between;
    std::istringstream encoded((*it)[3].str());
    Poco::Base64Decoder decoder(encoded);
    std::string decoded;
    Poco::StreamCopier::copyToString(decoder, decoded);
    out += decoded;
    pos = it->position() + it->length();
    last_was_word = true;
  }
  out += value.substr(pos);
  return out;
}

class CollectingPartHandler : public Poco::Net::PartHandler {
 public:
  explicit CollectingPartHandler(std::vector<ReadPart>& parts) : parts_(parts) {}
  void handlePart(const Poco::Net::MessageHeader& header, std::istream& stream) override {
    ReadPart part;
    part.content_type = header.get("Content-Type", "");
    part.encoding = header.get("Content-Transfer-Encoding", "");
    Poco::StreamCopier::copyToString(stream, part.text);
    parts_.push_back(std::move(part));
  }

 private:
  std::vector<ReadPart>& parts_;
};

// The header `name` exactly as written in `eml` (folding kept), or "" when absent; for checking
// encodings that Poco's parser has already undone.
inline std::string rawHeader(const std::string& eml, const std::string& name) {
  const std::string head = "\r\n" + eml.substr(0, eml.find("\r\n\r\n"));
  const std::size_t start = head.find("\r\n" + name + ": ");
  if (start == std::string::npos) return "";
  std::size_t end = start + 2;
  while (true) {
    end = head.find("\r\n", end);
    if (end == std::string::npos || end + 2 >= head.size() ||
        (head[end + 2] != ' ' && head[end + 2] != '\t')) {
      break;
    }
    end += 2;
  }
  const std::size_t value = start + 2 + name.size() + 2;
  return head.substr(value, (end == std::string::npos ? head.size() : end) - value);
}

inline ReadMessage readMessage(const std::string& eml) {
  ReadMessage m;
  std::istringstream in(eml);
  Poco::Net::MailMessage message;
  CollectingPartHandler handler(m.parts);
  message.read(in, handler);
  for (const auto& [name, value] : message) m.headers.add(name, value);
  return m;
}

}  // namespace sendflow::mail::testing
