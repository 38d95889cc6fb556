#include "server/docgen/value_format.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace sendflow::docgen {
namespace {

using nlohmann::json;

constexpr const char* kMonths[] = {"January",   "February", "March",    "April",
                                   "May",       "June",     "July",     "August",
                                   "September", "October",  "November", "December"};
constexpr const char* kDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                 "Thursday", "Friday", "Saturday"};

std::string plainText(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return v.get_ref<const std::string&>();
    case json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case json::value_t::number_integer:
      return std::to_string(v.get<std::int64_t>());
    case json::value_t::number_unsigned:
      return std::to_string(v.get<std::uint64_t>());
    case json::value_t::number_float: {
      const double d = v.get<double>();
      if (std::isfinite(d) && std::fabs(d) < 1e15 && d == std::floor(d)) {
        return std::to_string(static_cast<std::int64_t>(d));
      }
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.15g", d);
      return buf;
    }
    case json::value_t::array: {
      std::string out;
      for (const json& item : v) {
        if (item.is_structured()) continue;
        if (!out.empty()) out += ", ";
        out += plainText(item);
      }
      return out;
    }
    default:
      return "";
  }
}

bool asNumber(const json* v, double& out) {
  if (v == nullptr) return false;
  if (v->is_number()) {
    out = v->get<double>();
    return true;
  }
  if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    if (s.empty()) return false;
    char* end = nullptr;
    out = std::strtod(s.c_str(), &end);
    return end != nullptr && *end == '\0' && std::isfinite(out);
  }
  return false;
}

int intArg(const Formatter& f, std::size_t i, int fallback) {
  if (i >= f.args.size() || f.args[i].empty()) return fallback;
  const int n = std::atoi(f.args[i].c_str());
  return n < 0 ? 0 : (n > 10 ? 10 : n);
}

// Decodes one UTF-8 code point at s[i]; returns its length, or 0 for an invalid sequence.
std::size_t decodeUtf8(std::string_view s, std::size_t i, char32_t& cp) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  if ((c & 0xE0) == 0xC0) {
    cp = c & 0x1F;
    n = 2;
  } else if ((c & 0xF0) == 0xE0) {
    cp = c & 0x0F;
    n = 3;
  } else if ((c & 0xF8) == 0xF0) {
    cp = c & 0x07;
    n = 4;
  } else
    return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

const json* lookup(const ContextStack& stack, const std::vector<std::string>& path) {
  if (stack.empty()) return nullptr;
  if (path.empty()) return stack.back();
  const json* found = nullptr;
  for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
    const json* ctx = *it;
    if (ctx->is_object()) {
      auto member = ctx->find(path.front());
      if (member != ctx->end()) {
        found = &*member;
        break;
      }
    }
  }
  for (std::size_t i = 1; found != nullptr && i < path.size(); ++i) {
    if (found->is_object()) {
      auto member = found->find(path[i]);
      found = member == found->end() ? nullptr : &*member;
    } else if (found->is_array()) {
      // "items.0.name": a digit segment indexes a list.
      char* end = nullptr;
      const unsigned long index = std::strtoul(path[i].c_str(), &end, 10);
      found = (end != path[i].c_str() && *end == '\0' && index < found->size()) ? &(*found)[index]
                                                                                : nullptr;
    } else {
      found = nullptr;
    }
  }
  return found;
}

bool isTruthy(const json* v) {
  if (v == nullptr) return false;
  switch (v->type()) {
    case json::value_t::null:
      return false;
    case json::value_t::boolean:
      return v->get<bool>();
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return v->get<double>() != 0.0;
    case json::value_t::string:
      return !v->get_ref<const std::string&>().empty();
    case json::value_t::array:
      return !v->empty();
    default:
      return true;
  }
}

bool formatUkDate(std::string_view iso, std::string_view pattern, std::string& out) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  const std::string text(iso);
  const int fields = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s);
  if (fields < 3 || text.size() < 10 || text[4] != '-' || text[7] != '-') return false;
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return false;
  const unsigned wd = weekday{sys_days{ymd}}.c_encoding();
  auto two = [](int v) {
    char b[8];
    std::snprintf(b, sizeof b, "%02d", v);
    return std::string(b);
  };
  out.clear();
  std::size_t i = 0;
  while (i < pattern.size()) {
    const char c = pattern[i];
    if (c == '\'') {
      const std::size_t end = pattern.find('\'', i + 1);
      out += pattern.substr(i + 1, end == std::string_view::npos ? end : end - i - 1);
      i = end == std::string_view::npos ? pattern.size() : end + 1;
      continue;
    }
    std::size_t n = 1;
    while (i + n < pattern.size() && pattern[i + n] == c) ++n;
    switch (c) {
      case 'd':
        if (n == 1)
          out += std::to_string(d);
        else if (n == 2)
          out += two(d);
        else if (n == 3)
          out += std::string(kDays[wd]).substr(0, 3);
        else
          out += kDays[wd];
        break;
      case 'M':
        if (n == 1)
          out += std::to_string(mo);
        else if (n == 2)
          out += two(mo);
        else if (n == 3)
          out += std::string(kMonths[mo - 1]).substr(0, 3);
        else
          out += kMonths[mo - 1];
        break;
      case 'y':
        out += n == 2 ? two(y % 100) : std::to_string(y);
        break;
      case 'H':
        out += n == 1 ? std::to_string(h) : two(h);
        break;
      case 'm':
        out += two(mi);
        break;
      case 's':
        out += two(s);
        break;
      default:
        out.append(n, c);
    }
    i += n;
  }
  return true;
}

std::string formatUkNumber(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, std::fabs(value));
  std::string digits = buf;
  const std::size_t point = digits.find('.');
  std::string whole = digits.substr(0, point);
  std::string grouped;
  for (std::size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped += ',';
    grouped += whole[i];
  }
  const bool negative = value < 0 && std::strtod(buf, nullptr) != 0.0;
  return (negative ? "-" : "") + grouped +
         (point == std::string::npos ? std::string() : digits.substr(point));
}

std::string formatValue(const json* value, const std::vector<Formatter>& formatters,
                        std::string& error) {
  std::string text = value == nullptr ? std::string() : plainText(*value);
  const json* current = value;
  json holder;
  for (const Formatter& f : formatters) {
    double number = 0;
    if (f.name == "default") {
      if (!isTruthy(current) || text.empty()) text = f.args.empty() ? "" : f.args[0];
    } else if (f.name == "upper" || f.name == "lower") {
      for (char& c : text) {
        if (c >= 'a' && c <= 'z' && f.name == "upper") c = static_cast<char>(c - 32);
        if (c >= 'A' && c <= 'Z' && f.name == "lower") c = static_cast<char>(c + 32);
      }
    } else if (f.name == "yesno") {
      const bool yes = isTruthy(current);
      text = yes ? (f.args.size() > 0 ? f.args[0] : "Yes") : (f.args.size() > 1 ? f.args[1] : "No");
    } else if (f.name == "lines") {
      if (current != nullptr && current->is_array()) {
        text.clear();
        for (const json& item : *current) {
          if (!text.empty()) text += '\n';
          text += plainText(item);
        }
      }
    } else if (text.empty()) {
      // Formatting nothing gives nothing: a missing date stays blank rather than failing.
    } else if (f.name == "date") {
      std::string out;
      if (!formatUkDate(text, f.args.empty() ? "d MMMM yyyy" : f.args[0], out)) {
        error = "'" + text + "' is not an ISO 8601 date (YYYY-MM-DD)";
        return "";
      }
      text = std::move(out);
    } else {
      holder = text;
      if (!asNumber(current != nullptr && current->is_number() ? current : &holder, number)) {
        error = "'" + text + "' is not a number";
        return "";
      }
      if (f.name == "number") {
        text = formatUkNumber(number, intArg(f, 0, number == std::floor(number) ? 0 : 2));
      } else if (f.name == "percent") {
        text = formatUkNumber(number * 100.0, intArg(f, 0, 0)) + "%";
      } else if (f.name == "currency") {
        text = formatUkNumber(number, intArg(f, 0, 2));
        text = text.front() == '-' ? "-\xC2\xA3" + text.substr(1) : "\xC2\xA3" + text;
      }
    }
    holder = text;
    current = &holder;
  }
  return text;
}

std::vector<std::string> listItems(const json* value, const std::vector<Formatter>& formatters) {
  std::vector<std::string> items;
  if (value == nullptr) return items;
  bool has_lines = false;
  for (const Formatter& f : formatters) has_lines = has_lines || f.name == "lines";
  if (has_lines) return items;
  if (value->is_array()) {
    for (const json& item : *value) {
      if (item.is_structured()) return {};
      std::string error;
      items.push_back(formatValue(&item, formatters, error));
    }
    return items;
  }
  if (!value->is_string() || !formatters.empty()) return items;
  std::string_view text = value->get_ref<const std::string&>();
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = end + 1;
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    line.remove_prefix(line.find_first_not_of(" \t"));
    std::size_t marker = 0;
    if (line.substr(0, 2) == "- " || line.substr(0, 2) == "* ") marker = 2;
    if (line.substr(0, 4) == "\xE2\x80\xA2 ") marker = 4;
    if (marker == 0) return {};
    items.emplace_back(line.substr(marker));
  }
  return items;
}

void appendEscaped(std::string& out, std::string_view text) {
  appendXmlText(out, text, TextTarget::kPlain);
}

void appendXmlText(std::string& out, std::string_view text, TextTarget target) {
  std::size_t i = 0;
  bool last_was_space = false;
  std::size_t pending_spaces = 0;
  auto flushSpaces = [&] {
    if (pending_spaces == 0) return;
    out += "<text:s text:c=\"" + std::to_string(pending_spaces) + "\"/>";
    pending_spaces = 0;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (target == TextTarget::kOdtText && c == ' ' && last_was_space) {
      ++pending_spaces;
      ++i;
      continue;
    }
    flushSpaces();
    last_was_space = c == ' ';
    switch (c) {
      case '&':
        out += "&amp;";
        ++i;
        continue;
      case '<':
        out += "&lt;";
        ++i;
        continue;
      case '>':
        out += "&gt;";
        ++i;
        continue;
      case '"':
        out += "&quot;";
        ++i;
        continue;
      case '\r':
      case '\n':
        if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
        ++i;
        if (target == TextTarget::kDocxRun)
          out += "</w:t><w:br/><w:t xml:space=\"preserve\">";
        else if (target == TextTarget::kOdtText)
          out += "<text:line-break/>";
        else
          out += '\n';
        last_was_space = target == TextTarget::kOdtText;  // a space after a break needs <text:s/>
        continue;
      case '\t':
        ++i;
        if (target == TextTarget::kDocxRun)
          out += "</w:t><w:tab/><w:t xml:space=\"preserve\">";
        else if (target == TextTarget::kOdtText)
          out += "<text:tab/>";
        else
          out += '\t';
        continue;
      default:
        break;
    }
    const auto uc = static_cast<unsigned char>(c);
    if (uc < 0x80) {
      if (uc >= 0x20) out += c;  // other C0 controls cannot appear in XML 1.0
      ++i;
      continue;
    }
    char32_t cp = 0;
    const std::size_t n = decodeUtf8(text, i, cp);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD for bytes that are not UTF-8
      ++i;
      continue;
    }
    if (cp != 0xFFFE && cp != 0xFFFF) out.append(text.substr(i, n));
    i += n;
  }
  flushSpaces();
}

}  // namespace sendflow::docgen
