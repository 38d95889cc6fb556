#include "server/docgen/tag.h"

#include <algorithm>
#include <array>

namespace sendflow::docgen {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

constexpr std::array<std::string_view, 9> kFormatters = {
    "date", "number", "percent", "currency", "upper", "lower", "default", "yesno", "lines"};

bool validName(std::string_view name) {
  if (name == ".") return true;
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (c <= ' ' || c == '{' || c == '}' || c == '|' || c == '"' || c == '\'' || c == '<' ||
        c == '>' || c == '&') {
      return false;
    }
    if (c == '.' && name[i + 1] == '.') return false;
  }
  return true;
}

std::vector<std::string> splitPath(std::string_view name) {
  std::vector<std::string> path;
  if (name == ".") return path;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    path.emplace_back(name.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return path;
}

// Splits "date:\"d MMMM yyyy\"" or "number:2" into a formatter.
bool parseFormatter(std::string_view text, Formatter& f, std::string& error) {
  text = trim(text);
  const std::size_t colon = text.find(':');
  f.name = std::string(trim(text.substr(0, colon)));
  if (std::find(kFormatters.begin(), kFormatters.end(), f.name) == kFormatters.end()) {
    error = "unknown formatter '" + f.name +
            "'; use date, number, percent, currency, upper, lower, default, yesno or lines";
    return false;
  }
  if (colon == std::string_view::npos) return true;
  std::string_view rest = text.substr(colon + 1);
  while (true) {
    rest = trim(rest);
    if (rest.empty()) break;
    std::string arg;
    if (rest.front() == '"' || rest.front() == '\'' || rest.front() == '\xE2') {
      // Straight quotes, or the curly quotes Word's autocorrect types (U+201C/U+201D).
      std::string_view open = rest.substr(0, rest.front() == '\xE2' ? 3 : 1);
      std::string_view close = open;
      if (open == "\xE2\x80\x9C") close = "\xE2\x80\x9D";
      if (open == "\xE2\x80\x98") close = "\xE2\x80\x99";
      const std::size_t end = rest.find(close, open.size());
      if (end == std::string_view::npos) {
        error = "formatter '" + f.name + "' has an unclosed quote";
        return false;
      }
      arg = std::string(rest.substr(open.size(), end - open.size()));
      rest.remove_prefix(end + close.size());
    } else {
      const std::size_t comma = rest.find(',');
      arg = std::string(trim(rest.substr(0, comma)));
      rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma);
    }
    f.args.push_back(std::move(arg));
    rest = trim(rest);
    if (!rest.empty() && rest.front() == ',') rest.remove_prefix(1);
  }
  return true;
}

}  // namespace

bool parseTag(std::string_view inner, Tag& tag, std::string& error) {
  std::string_view s = trim(inner);
  if (s.size() >= 2 && s.front() == '{' && s.back() == '}') s = trim(s.substr(1, s.size() - 2));
  if (s.empty()) {
    error = "empty tag {{}}";
    return false;
  }
  tag = Tag{};
  switch (s.front()) {
    case '!':
      tag.kind = TagKind::kComment;
      return true;
    case '#':
      tag.kind = TagKind::kSection;
      s.remove_prefix(1);
      break;
    case '^':
      tag.kind = TagKind::kInverted;
      s.remove_prefix(1);
      break;
    case '/':
      tag.kind = TagKind::kClose;
      s.remove_prefix(1);
      break;
    case '>':
      tag.kind = TagKind::kPartial;
      s.remove_prefix(1);
      break;
    case '&':
      s.remove_prefix(1);
      break;
    case '=':
      error = "changing delimiters ({{= =}}) is not supported in documents";
      return false;
    default:
      break;
  }
  s = trim(s);
  if (tag.kind == TagKind::kVariable) {
    if (s == "page-break") {
      tag.kind = TagKind::kPageBreak;
      tag.name = "page-break";
      return true;
    }
    if (s == "toc") {
      tag.kind = TagKind::kToc;
      tag.name = "toc";
      return true;
    }
    for (auto [word, kind] : {std::pair{std::string_view("image "), TagKind::kImage},
                              std::pair{std::string_view("chart "), TagKind::kChart}}) {
      if (s.substr(0, word.size()) == word) {
        tag.kind = kind;
        s = trim(s.substr(word.size()));
        break;
      }
    }
  }
  std::string_view name = s;
  std::string_view rest;
  if (const std::size_t bar = s.find('|'); bar != std::string_view::npos) {
    name = trim(s.substr(0, bar));
    rest = s.substr(bar + 1);
    if (tag.kind != TagKind::kVariable) {
      error = "formatters apply to values only, not to '" + std::string(name) + "'";
      return false;
    }
  }
  if (!validName(name)) {
    error = "'" + std::string(name) + "' is not a valid name (letters, digits, '_', '-', '.')";
    return false;
  }
  tag.name = std::string(name);
  tag.path = splitPath(name);
  while (!rest.empty()) {
    const std::size_t bar = rest.find('|');
    Formatter f;
    if (!parseFormatter(rest.substr(0, bar), f, error)) return false;
    tag.formatters.push_back(std::move(f));
    rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
  }
  return true;
}

std::vector<TagSpan> findTags(std::string_view text, std::size_t& unterminated_at) {
  std::vector<TagSpan> spans;
  unterminated_at = std::string_view::npos;
  std::size_t pos = 0;
  while (true) {
    const std::size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    const bool triple = open + 2 < text.size() && text[open + 2] == '{';
    const std::size_t close = text.find(triple ? "}}}" : "}}", open + 2);
    if (close == std::string_view::npos) {
      unterminated_at = open;
      break;
    }
    const std::size_t inner_begin = open + (triple ? 3 : 2);
    const std::size_t end = close + (triple ? 3 : 2);
    spans.push_back(TagSpan{open, end, text.substr(inner_begin, close - inner_begin)});
    pos = end;
  }
  return spans;
}

}  // namespace sendflow::docgen
