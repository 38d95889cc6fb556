#include "server/core/markup_escape.h"

namespace sendflow::core {

void appendMarkupEscaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
}

std::string markupEscaped(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  appendMarkupEscaped(out, text);
  return out;
}

}  // namespace sendflow::core
