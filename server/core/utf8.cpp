#include "server/core/utf8.h"

namespace sendflow::core {

namespace {

// The sequence at the start of `text`: its length and whether it is well-formed (RFC 3629,
// table 3-7 of the Unicode standard). An ill-formed one is its maximal subpart: the longest
// prefix that could start a well-formed sequence, at least one byte (Unicode's recommended
// practice for U+FFFD substitution).
struct Sequence {
  std::size_t length;
  bool valid;
};

Sequence sequenceAt(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return {1, true};
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // no overlong forms
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // no overlong forms
    if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
  } else {
    return {1, false};
  }
  for (std::size_t i = 1; i < length; ++i) {
    const bool fits =
        i < text.size() && (i == 1 ? byte(i) >= low && byte(i) <= high : (byte(i) & 0xC0) == 0x80);
    if (!fits) return {i, false};
  }
  return {length, true};
}

}  // namespace

bool isValidUtf8(std::string_view text) {
  while (!text.empty()) {
    const Sequence sequence = sequenceAt(text);
    if (!sequence.valid) return false;
    text.remove_prefix(sequence.length);
  }
  return true;
}

std::string validUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const Sequence sequence = sequenceAt(text);
    if (sequence.valid) {
      out.append(text.substr(0, sequence.length));
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
    }
    text.remove_prefix(sequence.length);
  }
  return out;
}

}  // namespace sendflow::core
