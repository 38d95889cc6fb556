// The expression language: a lexer, a Pratt parser that type-checks as it builds the tree, and a
// tree-walking evaluator. See expression.h for the contract and docs/workflows.md for the
// language reference.
#include "server/engine/expression.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace sendflow::engine {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Small shared pieces

std::string SourceLocation::toString() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

const char* valueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kAny:
      return "any";
    case ValueType::kNull:
      return "null";
    case ValueType::kBoolean:
      return "boolean";
    case ValueType::kNumber:
      return "number";
    case ValueType::kString:
      return "string";
    case ValueType::kDate:
      return "date";
    case ValueType::kDateTime:
      return "datetime";
    case ValueType::kDuration:
      return "duration";
    case ValueType::kList:
      return "list";
    case ValueType::kObject:
      return "object";
  }
  return "unknown";
}

bool parseValueType(std::string_view text, ValueType& out) {
  static const std::pair<std::string_view, ValueType> kNames[] = {
      {"any", ValueType::kAny},           {"boolean", ValueType::kBoolean},
      {"number", ValueType::kNumber},     {"string", ValueType::kString},
      {"text", ValueType::kString},       {"date", ValueType::kDate},
      {"datetime", ValueType::kDateTime}, {"date-time", ValueType::kDateTime},
      {"duration", ValueType::kDuration}, {"list", ValueType::kList},
      {"object", ValueType::kObject},
  };
  for (const auto& [name, type] : kNames) {
    if (name == text) {
      out = type;
      return true;
    }
  }
  return false;
}

namespace {

constexpr long long kMillisPerDay = 24LL * 60 * 60 * 1000;
constexpr int kMaxDepth = 64;
constexpr std::size_t kMaxTextLength = 10000;
constexpr std::size_t kMaxListSize = 100000;
constexpr std::size_t kMaxStringLength = 1000000;
constexpr long kMaxSteps = 1000000;
constexpr long kMaxCalendarUnits = 100000;
constexpr long long kMaxFixedMillis = 100000000000000000LL;

// "a date", "an object"
std::string withArticle(ValueType type) {
  const char* name = valueTypeName(type);
  const char first = name[0];
  const bool vowel = first == 'a' || first == 'e' || first == 'i' || first == 'o' || first == 'u';
  return std::string(vowel ? "an " : "a ") + name;
}

bool isDateLike(ValueType t) { return t == ValueType::kDate || t == ValueType::kDateTime; }

// --- durations in words and ISO 8601 --------------------------------------------------------

enum class Unit { kSecond, kMinute, kHour, kDay, kWeek, kMonth, kYear, kWorkingDay };

bool unitFromWord(std::string_view word, Unit& unit) {
  static const std::pair<std::string_view, Unit> kWords[] = {
      {"second", Unit::kSecond},  {"seconds", Unit::kSecond}, {"minute", Unit::kMinute},
      {"minutes", Unit::kMinute}, {"hour", Unit::kHour},      {"hours", Unit::kHour},
      {"day", Unit::kDay},        {"days", Unit::kDay},       {"week", Unit::kWeek},
      {"weeks", Unit::kWeek},     {"month", Unit::kMonth},    {"months", Unit::kMonth},
      {"year", Unit::kYear},      {"years", Unit::kYear},
  };
  for (const auto& [w, u] : kWords) {
    if (w == word) {
      unit = u;
      return true;
    }
  }
  return false;
}

bool durationOf(double amount, Unit unit, Duration& out) {
  if (!std::isfinite(amount) || std::fabs(amount) > 1e9) return false;
  out = Duration{};
  switch (unit) {
    case Unit::kSecond:
      out.millis = std::llround(amount * 1000.0);
      return true;
    case Unit::kMinute:
      out.millis = std::llround(amount * 60000.0);
      return true;
    case Unit::kHour:
      out.millis = std::llround(amount * 3600000.0);
      return true;
    case Unit::kDay:
      out.millis = std::llround(amount * kMillisPerDay);
      return true;
    case Unit::kWeek:
      out.millis = std::llround(amount * 7 * kMillisPerDay);
      return true;
    case Unit::kMonth:
      if (amount != std::floor(amount) || std::fabs(amount) > kMaxCalendarUnits) return false;
      out.months = static_cast<long>(amount);
      return true;
    case Unit::kYear:
      if (amount != std::floor(amount) || std::fabs(amount) * 12 > kMaxCalendarUnits) return false;
      out.months = static_cast<long>(amount) * 12;
      return true;
    case Unit::kWorkingDay:
      if (amount != std::floor(amount) || std::fabs(amount) > kMaxCalendarUnits) return false;
      out.working_days = static_cast<long>(amount);
      return true;
  }
  return false;
}

// Durations stay within these so that arithmetic cannot overflow and working-day stepping
// stays cheap: about 3 million years of fixed time, 100,000 months or working days.
bool withinLimits(const Duration& d) {
  return std::llabs(d.millis) <= kMaxFixedMillis && std::labs(d.months) <= kMaxCalendarUnits &&
         std::labs(d.working_days) <= kMaxCalendarUnits;
}

Duration addDurations(const Duration& a, const Duration& b) {
  return Duration{a.months + b.months, a.working_days + b.working_days, a.millis + b.millis};
}

Duration negate(const Duration& d) { return Duration{-d.months, -d.working_days, -d.millis}; }

bool parseIsoDuration(std::string_view text, Duration& out) {
  std::size_t pos = 0;
  bool negative = false;
  if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) {
    negative = text[pos] == '-';
    ++pos;
  }
  if (pos >= text.size() || text[pos] != 'P') return false;
  ++pos;
  Duration d;
  bool in_time = false;
  bool any = false;
  while (pos < text.size()) {
    if (text[pos] == 'T') {
      if (in_time) return false;
      in_time = true;
      ++pos;
      continue;
    }
    std::size_t start = pos;
    while (pos < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[pos])) || text[pos] == '.')) {
      ++pos;
    }
    if (start == pos || pos >= text.size() || pos - start > 12) return false;
    const double amount = std::stod(std::string(text.substr(start, pos - start)));
    const char designator = text[pos++];
    Duration part;
    bool ok = false;
    if (!in_time) {
      if (designator == 'Y') ok = durationOf(amount, Unit::kYear, part);
      if (designator == 'M') ok = durationOf(amount, Unit::kMonth, part);
      if (designator == 'W') {
        if (pos < text.size() && text[pos] == 'D') {
          ++pos;
          ok = durationOf(amount, Unit::kWorkingDay, part);
        } else {
          ok = durationOf(amount, Unit::kWeek, part);
        }
      }
      if (designator == 'D') ok = durationOf(amount, Unit::kDay, part);
    } else {
      if (designator == 'H') ok = durationOf(amount, Unit::kHour, part);
      if (designator == 'M') ok = durationOf(amount, Unit::kMinute, part);
      if (designator == 'S') {
        part.millis = std::llround(amount * 1000.0);
        ok = true;
      }
    }
    if (!ok) return false;
    d = addDurations(d, part);
    any = true;
  }
  if (!any) return false;
  out = negative ? negate(d) : d;
  return true;
}

bool parseWordsDuration(std::string_view text, Duration& out) {
  std::vector<std::string> words;
  std::string current;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == ',') {
      if (!current.empty()) words.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
  if (words.empty()) return false;
  Duration total;
  std::size_t i = 0;
  while (i < words.size()) {
    if (words[i] == "and" && i > 0) {
      ++i;
      continue;
    }
    char* end = nullptr;
    const double amount = std::strtod(words[i].c_str(), &end);
    if (end == words[i].c_str() || *end != '\0' || i + 1 >= words.size()) return false;
    Unit unit;
    std::size_t used = 2;
    if (words[i + 1] == "working" && i + 2 < words.size() &&
        (words[i + 2] == "day" || words[i + 2] == "days")) {
      unit = Unit::kWorkingDay;
      used = 3;
    } else if (!unitFromWord(words[i + 1], unit)) {
      return false;
    }
    Duration part;
    if (!durationOf(amount, unit, part)) return false;
    total = addDurations(total, part);
    i += used;
  }
  out = total;
  return true;
}

std::chrono::sys_days addMonths(std::chrono::sys_days from, long months) {
  using namespace std::chrono;
  const year_month_day ymd{from};
  long total = static_cast<long>(int(ymd.year())) * 12 +
               (static_cast<long>(unsigned(ymd.month())) - 1) + months;
  const int y = static_cast<int>(total >= 0 ? total / 12 : (total - 11) / 12);
  const unsigned m = static_cast<unsigned>(total - static_cast<long>(y) * 12) + 1;
  const year_month_day_last last{year(y) / month(m) / std::chrono::last};
  const unsigned d = std::min(unsigned(ymd.day()), unsigned(last.day()));
  return sys_days{year(y) / month(m) / day(d)};
}

}  // namespace

bool parseDuration(std::string_view text, Duration& out) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  if (text.empty()) return false;
  if (text[0] == 'P' || ((text[0] == '-' || text[0] == '+') && text.size() > 1 && text[1] == 'P')) {
    return parseIsoDuration(text, out);
  }
  return parseWordsDuration(text, out);
}

std::string formatDuration(const Duration& duration) {
  const bool negative =
      duration.months <= 0 && duration.working_days <= 0 && duration.millis <= 0 &&
      !(duration.months == 0 && duration.working_days == 0 && duration.millis == 0);
  const Duration d = negative ? negate(duration) : duration;
  std::string out = negative ? "-P" : "P";
  if (d.months != 0) {
    if (d.months % 12 == 0) {
      out += std::to_string(d.months / 12) + "Y";
    } else {
      out += std::to_string(d.months) + "M";
    }
  }
  const long long days = d.millis / kMillisPerDay;
  long long rest = d.millis % kMillisPerDay;
  if (days != 0) {
    if (days % 7 == 0 && d.months == 0 && d.working_days == 0 && rest == 0) {
      out += std::to_string(days / 7) + "W";
    } else {
      out += std::to_string(days) + "D";
    }
  }
  if (d.working_days != 0) out += std::to_string(d.working_days) + "WD";
  if (rest != 0) {
    out += "T";
    const long long hours = rest / 3600000;
    rest %= 3600000;
    const long long minutes = rest / 60000;
    rest %= 60000;
    if (hours != 0) out += std::to_string(hours) + "H";
    if (minutes != 0) out += std::to_string(minutes) + "M";
    if (rest != 0) {
      if (rest % 1000 == 0) {
        out += std::to_string(rest / 1000) + "S";
      } else {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3fS", static_cast<double>(rest) / 1000.0);
        out += buf;
      }
    }
  }
  if (out == "P" || out == "-P") out = "PT0S";
  return out;
}

core::TimePoint addDuration(core::TimePoint t, const Duration& d, const WorkingCalendar& calendar) {
  using namespace std::chrono;
  sys_days day = floor<days>(t);
  const milliseconds time_of_day = t - day;
  if (d.months != 0) day = addMonths(day, d.months);
  if (d.working_days != 0) day = calendar.addWorkingDays(day, d.working_days);
  return core::TimePoint(day.time_since_epoch() + time_of_day + milliseconds(d.millis));
}

bool LiteralTestSet::intersects(const LiteralTestSet& other) const {
  auto rangeHolds = [](const Range& r, double x) {
    if (x < r.low || (r.low_open && x == r.low)) return false;
    if (x > r.high || (r.high_open && x == r.high)) return false;
    return true;
  };
  auto holds = [&](const LiteralTestSet& set, const json& v) {  // ignoring `negated`
    for (const json& value : set.values) {
      if (value == v) return true;
      if (value.is_number() && v.is_number() && value.get<double>() == v.get<double>()) return true;
    }
    if (v.is_number()) {
      for (const Range& r : set.ranges) {
        if (rangeHolds(r, v.get<double>())) return true;
      }
    }
    return false;
  };
  auto rangesMeet = [](const Range& a, const Range& b) {
    const double low = std::max(a.low, b.low);
    const double high = std::min(a.high, b.high);
    if (low < high) return true;
    if (low > high) return false;
    // A single point: both ranges must include it.
    const bool a_has = !((a.low == low && a.low_open) || (a.high == high && a.high_open));
    const bool b_has = !((b.low == low && b.low_open) || (b.high == high && b.high_open));
    return a_has && b_has;
  };
  auto positiveMeetsPositive = [&](const LiteralTestSet& a, const LiteralTestSet& b) {
    for (const json& v : a.values) {
      if (holds(b, v)) return true;
    }
    for (const json& v : b.values) {
      if (holds(a, v)) return true;
    }
    for (const Range& ra : a.ranges) {
      for (const Range& rb : b.ranges) {
        if (rangesMeet(ra, rb)) return true;
      }
    }
    return false;
  };
  // Does some value pass `positive` and fail `excluded` (whose `negated` is ignored)?
  auto positiveEscapes = [&](const LiteralTestSet& positive, const LiteralTestSet& excluded) {
    for (const json& v : positive.values) {
      if (!holds(excluded, v)) return true;
    }
    for (const Range& r : positive.ranges) {
      if (r.low < r.high) {
        // A non-empty interval holds infinitely many numbers; it escapes unless one excluded
        // range covers it whole.
        bool covered = false;
        for (const Range& e : excluded.ranges) {
          const bool low_ok = e.low < r.low || (e.low == r.low && (!e.low_open || r.low_open));
          const bool high_ok =
              e.high > r.high || (e.high == r.high && (!e.high_open || r.high_open));
          if (low_ok && high_ok) covered = true;
        }
        if (!covered) return true;
      } else if (r.low == r.high && !r.low_open && !r.high_open && !holds(excluded, json(r.low))) {
        return true;
      }
    }
    return false;
  };
  if (!negated && !other.negated) return positiveMeetsPositive(*this, other);
  if (negated && other.negated) return true;  // two complements of finite sets always meet
  return negated ? positiveEscapes(other, *this) : positiveEscapes(*this, other);
}

namespace {

// ---------------------------------------------------------------------------------------------
// Values at run time

struct Value {
  ValueType type = ValueType::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  Date date{};
  core::TimePoint datetime{};
  Duration duration;
  std::shared_ptr<const std::vector<Value>> list;
  const json* object = nullptr;  // borrowed from the evaluation context

  static Value null() { return Value{}; }
  static Value ofBool(bool b) {
    Value v;
    v.type = ValueType::kBoolean;
    v.boolean = b;
    return v;
  }
  static Value ofNumber(double n) {
    Value v;
    v.type = ValueType::kNumber;
    v.number = n;
    return v;
  }
  static Value ofString(std::string s) {
    Value v;
    v.type = ValueType::kString;
    v.string = std::move(s);
    return v;
  }
  static Value ofDate(Date d) {
    Value v;
    v.type = ValueType::kDate;
    v.date = d;
    return v;
  }
  static Value ofDateTime(core::TimePoint t) {
    Value v;
    v.type = ValueType::kDateTime;
    v.datetime = t;
    return v;
  }
  static Value ofDuration(Duration d) {
    Value v;
    v.type = ValueType::kDuration;
    v.duration = d;
    return v;
  }
  static Value ofList(std::vector<Value> items) {
    Value v;
    v.type = ValueType::kList;
    v.list = std::make_shared<const std::vector<Value>>(std::move(items));
    return v;
  }
};

std::string formatDate(Date d) {
  const std::string iso = core::formatIso8601(core::TimePoint(d.time_since_epoch()));
  return iso.substr(0, 10);
}

bool parseDateText(const std::string& text, Date& out) {
  if (text.size() != 10) return false;
  core::TimePoint t;
  if (!core::parseIso8601(text, t)) return false;
  out = std::chrono::floor<std::chrono::days>(t);
  return true;
}

bool parseDateTimeText(const std::string& text, core::TimePoint& out) {
  return core::parseIso8601(text, out);
}

json toJson(const Value& v) {
  switch (v.type) {
    case ValueType::kNull:
    case ValueType::kAny:
      return nullptr;
    case ValueType::kBoolean:
      return v.boolean;
    case ValueType::kNumber:
      if (v.number == std::floor(v.number) && std::fabs(v.number) < 9007199254740992.0) {
        return static_cast<long long>(v.number);
      }
      return v.number;
    case ValueType::kString:
      return v.string;
    case ValueType::kDate:
      return formatDate(v.date);
    case ValueType::kDateTime:
      return core::formatIso8601(v.datetime);
    case ValueType::kDuration:
      return formatDuration(v.duration);
    case ValueType::kList: {
      json out = json::array();
      for (const Value& item : *v.list) out.push_back(toJson(item));
      return out;
    }
    case ValueType::kObject:
      return v.object ? *v.object : json::object();
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Lexer

enum class Tok { kEnd, kNumber, kString, kIdent, kSymbol };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // identifier, symbol or string contents
  double number = 0;
  std::size_t offset = 0;
};

struct SyntaxError {
  std::size_t offset;
  std::string message;
};

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  // Splits the whole text into tokens, or fails at the first bad character.
  bool run(std::vector<Token>& out, SyntaxError& error) {
    std::size_t pos = 0;
    while (true) {
      while (pos < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos]))) ++pos;
      Token tok;
      tok.offset = pos;
      if (pos >= text_.size()) {
        tok.kind = Tok::kEnd;
        out.push_back(tok);
        return true;
      }
      const char c = text_[pos];
      if (std::isdigit(static_cast<unsigned char>(c))) {
        std::size_t end = pos;
        while (end < text_.size() && std::isdigit(static_cast<unsigned char>(text_[end]))) ++end;
        if (end + 1 < text_.size() && text_[end] == '.' &&
            std::isdigit(static_cast<unsigned char>(text_[end + 1]))) {
          ++end;
          while (end < text_.size() && std::isdigit(static_cast<unsigned char>(text_[end]))) ++end;
        }
        if (end - pos > 20) {
          error = {pos, "the number is too long"};
          return false;
        }
        tok.kind = Tok::kNumber;
        tok.text = std::string(text_.substr(pos, end - pos));
        tok.number = std::stod(tok.text);
        pos = end;
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        std::size_t end = pos;
        while (end < text_.size() &&
               (std::isalnum(static_cast<unsigned char>(text_[end])) || text_[end] == '_')) {
          ++end;
        }
        tok.kind = Tok::kIdent;
        tok.text = std::string(text_.substr(pos, end - pos));
        pos = end;
      } else if (c == '\'' || c == '"') {
        std::size_t end = pos + 1;
        std::string value;
        while (end < text_.size() && text_[end] != c) {
          if (text_[end] == '\\' && end + 1 < text_.size()) {
            const char e = text_[end + 1];
            value += e == 'n' ? '\n' : e == 't' ? '\t' : e;
            end += 2;
          } else {
            value += text_[end++];
          }
        }
        if (end >= text_.size()) {
          error = {pos, std::string("the text starting here has no closing ") + c};
          return false;
        }
        tok.kind = Tok::kString;
        tok.text = std::move(value);
        pos = end + 1;
      } else {
        static const char* kSymbols[] = {"==", "!=", "<=", ">=", "..", "<", ">", "+", "-", "*",
                                         "/",  "%",  "(",  ")",  "[",  "]", ",", ".", "?", "="};
        bool matched = false;
        for (const char* symbol : kSymbols) {
          const std::string_view s(symbol);
          if (text_.substr(pos, s.size()) == s) {
            tok.kind = Tok::kSymbol;
            tok.text = std::string(s);
            pos += s.size();
            matched = true;
            break;
          }
        }
        if (!matched) {
          error = {pos, std::string("unexpected character '") + c + "'"};
          return false;
        }
        if (tok.text == "=") {
          error = {tok.offset, "use '==' to compare"};
          return false;
        }
      }
      out.push_back(std::move(tok));
    }
  }

 private:
  std::string_view text_;
};

// ---------------------------------------------------------------------------------------------
// The tree

enum class NodeKind {
  kLiteral,
  kVariable,
  kMember,
  kIndex,
  kNegate,
  kNot,
  kBinary,
  kAnd,
  kOr,
  kIn,
  kNotIn,
  kIf,
  kCall,
  kList,
  kUnit,
};

enum class BinOp { kAdd, kSub, kMul, kDiv, kMod, kEq, kNe, kLt, kLe, kGt, kGe };

enum class Fn {
  kCount,
  kSum,
  kMin,
  kMax,
  kAvg,
  kRound,
  kFloor,
  kCeil,
  kAbs,
  kPercent,
  kLower,
  kUpper,
  kContains,
  kStartsWith,
  kEndsWith,
  kLen,
  kDate,
  kDateTime,
  kYear,
  kMonth,
  kDay,
  kWeekday,
  kAddWorkingDays,
  kWorkingDaysBetween,
  kIsWorkingDay,
  kDays,
  kWeeks,
  kHours,
  kMinutes,
  kMonths,
  kWorkingDays,
  kDuration,
  kCoalesce,
  kPluck,
  kWhere,
  kString,
  kNumber,
  kTrim,
};

struct Node {
  NodeKind kind = NodeKind::kLiteral;
  ValueType type = ValueType::kAny;
  std::size_t offset = 0;  // of the token that best names this node in errors
  Value literal;           // kLiteral
  std::string name;        // kVariable, kMember; function name for kCall
  BinOp op = BinOp::kAdd;  // kBinary
  Fn fn = Fn::kCount;      // kCall
  Unit unit = Unit::kDay;  // kUnit
  std::vector<std::unique_ptr<Node>> kids;
};

using NodePtr = std::unique_ptr<Node>;

const char* binOpSymbol(BinOp op) {
  switch (op) {
    case BinOp::kAdd:
      return "+";
    case BinOp::kSub:
      return "-";
    case BinOp::kMul:
      return "*";
    case BinOp::kDiv:
      return "/";
    case BinOp::kMod:
      return "%";
    case BinOp::kEq:
      return "==";
    case BinOp::kNe:
      return "!=";
    case BinOp::kLt:
      return "<";
    case BinOp::kLe:
      return "<=";
    case BinOp::kGt:
      return ">";
    case BinOp::kGe:
      return ">=";
  }
  return "?";
}

bool isComparison(BinOp op) { return op >= BinOp::kEq; }

// The static type of `l op r`, or an error message. kAny on either side defers to run time.
bool binaryType(BinOp op, ValueType l, ValueType r, ValueType& out, std::string& error) {
  using VT = ValueType;
  const bool any = l == VT::kAny || r == VT::kAny;
  if (isComparison(op)) {
    out = VT::kBoolean;
    if (any || l == VT::kNull || r == VT::kNull) return true;
    const bool date_and_text = (isDateLike(l) || l == VT::kDuration) && r == VT::kString;
    const bool text_and_date = (isDateLike(r) || r == VT::kDuration) && l == VT::kString;
    if (l == r || (isDateLike(l) && isDateLike(r)) || date_and_text || text_and_date) {
      if (op == BinOp::kEq || op == BinOp::kNe) return true;
      if (l == VT::kBoolean || l == VT::kList || l == VT::kObject) {
        error =
            std::string("cannot order ") + valueTypeName(l) + "s with '" + binOpSymbol(op) + "'";
        return false;
      }
      return true;
    }
    error = "cannot compare " + withArticle(l) + " with " + withArticle(r);
    return false;
  }
  switch (op) {
    case BinOp::kAdd:
      if (any) {
        out = isDateLike(l) ? l : isDateLike(r) ? r : VT::kAny;
        return true;
      }
      if (l == VT::kNumber && r == VT::kNumber)
        out = VT::kNumber;
      else if (l == VT::kString && r == VT::kString)
        out = VT::kString;
      else if (l == VT::kList && r == VT::kList)
        out = VT::kList;
      else if (isDateLike(l) && r == VT::kDuration)
        out = l;
      else if (l == VT::kDuration && isDateLike(r))
        out = r;
      else if (l == VT::kDuration && r == VT::kDuration)
        out = VT::kDuration;
      else {
        error = "cannot add " + withArticle(r) + " to " + withArticle(l);
        return false;
      }
      return true;
    case BinOp::kSub:
      if (any) {
        out = isDateLike(l) && r == VT::kDuration ? l : VT::kAny;
        return true;
      }
      if (l == VT::kNumber && r == VT::kNumber)
        out = VT::kNumber;
      else if (isDateLike(l) && r == VT::kDuration)
        out = l;
      else if (isDateLike(l) && isDateLike(r))
        out = VT::kDuration;
      else if (l == VT::kDuration && r == VT::kDuration)
        out = VT::kDuration;
      else {
        error = "cannot subtract " + withArticle(r) + " from " + withArticle(l);
        return false;
      }
      return true;
    case BinOp::kMul:
      if (any) {
        out = (l == VT::kDuration || r == VT::kDuration) ? VT::kDuration : VT::kAny;
        return true;
      }
      if (l == VT::kNumber && r == VT::kNumber)
        out = VT::kNumber;
      else if ((l == VT::kDuration && r == VT::kNumber) ||
               (l == VT::kNumber && r == VT::kDuration)) {
        out = VT::kDuration;
      } else {
        error = "cannot multiply " + withArticle(l) + " by " + withArticle(r);
        return false;
      }
      return true;
    case BinOp::kDiv:
      if (any) {
        out = VT::kAny;
        return true;
      }
      if (l == VT::kNumber && r == VT::kNumber)
        out = VT::kNumber;
      else if (l == VT::kDuration && r == VT::kNumber)
        out = VT::kDuration;
      else if (l == VT::kDuration && r == VT::kDuration)
        out = VT::kNumber;
      else {
        error = "cannot divide " + withArticle(l) + " by " + withArticle(r);
        return false;
      }
      return true;
    case BinOp::kMod:
      if (any || (l == VT::kNumber && r == VT::kNumber)) {
        out = any ? VT::kAny : VT::kNumber;
        return true;
      }
      error = "cannot take the remainder of " + withArticle(l) + " by " + withArticle(r);
      return false;
    default:
      break;
  }
  error = "unknown operator";
  return false;
}

struct FunctionInfo {
  std::string_view name;
  Fn fn;
  int min_args;
  int max_args;  // -1: any number
};

constexpr FunctionInfo kFunctions[] = {
    {"count", Fn::kCount, 1, 2},
    {"sum", Fn::kSum, 1, 1},
    {"min", Fn::kMin, 1, -1},
    {"max", Fn::kMax, 1, -1},
    {"avg", Fn::kAvg, 1, 1},
    {"round", Fn::kRound, 1, 2},
    {"floor", Fn::kFloor, 1, 1},
    {"ceil", Fn::kCeil, 1, 1},
    {"abs", Fn::kAbs, 1, 1},
    {"percent", Fn::kPercent, 2, 2},
    {"lower", Fn::kLower, 1, 1},
    {"upper", Fn::kUpper, 1, 1},
    {"trim", Fn::kTrim, 1, 1},
    {"contains", Fn::kContains, 2, 2},
    {"startsWith", Fn::kStartsWith, 2, 2},
    {"endsWith", Fn::kEndsWith, 2, 2},
    {"len", Fn::kLen, 1, 1},
    {"date", Fn::kDate, 1, 1},
    {"datetime", Fn::kDateTime, 1, 1},
    {"year", Fn::kYear, 1, 1},
    {"month", Fn::kMonth, 1, 1},
    {"day", Fn::kDay, 1, 1},
    {"weekday", Fn::kWeekday, 1, 1},
    {"addWorkingDays", Fn::kAddWorkingDays, 2, 2},
    {"workingDaysBetween", Fn::kWorkingDaysBetween, 2, 2},
    {"isWorkingDay", Fn::kIsWorkingDay, 1, 1},
    {"days", Fn::kDays, 1, 1},
    {"weeks", Fn::kWeeks, 1, 1},
    {"hours", Fn::kHours, 1, 1},
    {"minutes", Fn::kMinutes, 1, 1},
    {"months", Fn::kMonths, 1, 1},
    {"workingDays", Fn::kWorkingDays, 1, 1},
    {"duration", Fn::kDuration, 1, 1},
    {"coalesce", Fn::kCoalesce, 2, -1},
    {"pluck", Fn::kPluck, 2, 2},
    {"where", Fn::kWhere, 3, 3},
    {"string", Fn::kString, 1, 1},
    {"number", Fn::kNumber, 1, 1},
};

const FunctionInfo* findFunction(std::string_view name) {
  for (const FunctionInfo& info : kFunctions) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

bool isKeyword(std::string_view word) {
  return word == "and" || word == "or" || word == "not" || word == "in" || word == "if" ||
         word == "then" || word == "else" || word == "true" || word == "false" || word == "null";
}

// ---------------------------------------------------------------------------------------------
// Parser and type checker

class Parser {
 public:
  Parser(std::vector<Token> tokens, const TypeEnvironment& variables)
      : tokens_(std::move(tokens)), variables_(variables) {}

  bool parseWhole(NodePtr& out, SyntaxError& error) {
    if (!parse(0, out)) {
      error = error_;
      return false;
    }
    if (peek().kind != Tok::kEnd) {
      error = {peek().offset, "unexpected " + describe(peek()) + " after a complete expression"};
      return false;
    }
    return true;
  }

  // Decision-table unary tests; see Expression::compileUnaryTest.
  bool parseUnaryTests(ValueType column_type, NodePtr& out, std::optional<LiteralTestSet>& shape,
                       SyntaxError& error) {
    column_type_ = column_type;
    LiteralTestSet set;
    bool literal = true;
    bool negated = false;
    std::size_t not_offset = 0;
    if (peek().kind == Tok::kIdent && peek().text == "not" && peekAt(1).text == "(" &&
        peekAt(1).kind == Tok::kSymbol) {
      negated = true;
      not_offset = peek().offset;
      pos_ += 2;
    }
    NodePtr combined;
    while (true) {
      NodePtr test;
      if (!parsePositiveTest(test, set, literal)) {
        error = error_;
        return false;
      }
      if (!combined) {
        combined = std::move(test);
      } else {
        auto either = std::make_unique<Node>();
        either->kind = NodeKind::kOr;
        either->type = ValueType::kBoolean;
        either->offset = test->offset;
        either->kids.push_back(std::move(combined));
        either->kids.push_back(std::move(test));
        combined = std::move(either);
      }
      if (peek().kind == Tok::kSymbol && peek().text == ",") {
        ++pos_;
        continue;
      }
      break;
    }
    if (negated) {
      if (!expectSymbol(")")) {
        error = error_;
        return false;
      }
      auto inverse = std::make_unique<Node>();
      inverse->kind = NodeKind::kNot;
      inverse->type = ValueType::kBoolean;
      inverse->offset = not_offset;
      inverse->kids.push_back(std::move(combined));
      combined = std::move(inverse);
    }
    if (peek().kind != Tok::kEnd) {
      error = {peek().offset, "unexpected " + describe(peek()) + " in a decision-table test"};
      return false;
    }
    if (literal) {
      set.negated = negated;
      shape = std::move(set);
    }
    out = std::move(combined);
    return true;
  }

 private:
  const Token& peek() const { return tokens_[pos_]; }
  const Token& peekAt(std::size_t ahead) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& take() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::kEnd:
        return "end of expression";
      case Tok::kNumber:
        return "number " + t.text;
      case Tok::kString:
        return "text '" + t.text + "'";
      case Tok::kIdent:
        return "'" + t.text + "'";
      case Tok::kSymbol:
        return "'" + t.text + "'";
    }
    return "token";
  }

  bool fail(std::size_t offset, std::string message) {
    error_ = {offset, std::move(message)};
    return false;
  }

  bool expectSymbol(const char* symbol) {
    if (peek().kind == Tok::kSymbol && peek().text == symbol) {
      take();
      return true;
    }
    return fail(peek().offset,
                std::string("expected '") + symbol + "' but found " + describe(peek()));
  }

  bool expectKeyword(const char* word) {
    if (peek().kind == Tok::kIdent && peek().text == word) {
      take();
      return true;
    }
    return fail(peek().offset,
                std::string("expected '") + word + "' but found " + describe(peek()));
  }

  // The binding power of the token as an infix/postfix operator; 0 when it is none.
  int leftBindingPower() const {
    const Token& t = peek();
    if (t.kind == Tok::kSymbol) {
      const std::string& s = t.text;
      if (s == "==" || s == "!=" || s == "<" || s == "<=" || s == ">" || s == ">=") return 30;
      if (s == "+" || s == "-") return 40;
      if (s == "*" || s == "/" || s == "%") return 50;
      if (s == "." || s == "[") return 80;
      return 0;
    }
    if (t.kind == Tok::kIdent) {
      if (t.text == "or") return 10;
      if (t.text == "and") return 20;
      if (t.text == "in") return 30;
      if (t.text == "not" && peekAt(1).kind == Tok::kIdent && peekAt(1).text == "in") return 30;
      Unit unit;
      if (unitFromWord(t.text, unit) || t.text == "working") return 70;
    }
    return 0;
  }

  bool parse(int rbp, NodePtr& out) {
    if (++depth_ > kMaxDepth) return fail(peek().offset, "the expression is nested too deeply");
    NodePtr left;
    if (!parsePrefix(left)) return false;
    while (rbp < leftBindingPower()) {
      if (!parseInfix(left)) return false;
    }
    --depth_;
    out = std::move(left);
    return true;
  }

  bool parsePrefix(NodePtr& out) {
    const Token tok = take();
    auto node = std::make_unique<Node>();
    node->offset = tok.offset;
    switch (tok.kind) {
      case Tok::kEnd:
        return fail(tok.offset, "the expression ends too early");
      case Tok::kNumber:
        node->kind = NodeKind::kLiteral;
        node->literal = Value::ofNumber(tok.number);
        node->type = ValueType::kNumber;
        out = std::move(node);
        return true;
      case Tok::kString:
        node->kind = NodeKind::kLiteral;
        node->literal = Value::ofString(tok.text);
        node->type = ValueType::kString;
        out = std::move(node);
        return true;
      case Tok::kSymbol:
        if (tok.text == "(") {
          if (!parse(0, out)) return false;
          return expectSymbol(")");
        }
        if (tok.text == "[") return parseListLiteral(tok, out);
        if (tok.text == "-") {
          NodePtr operand;
          if (!parse(60, operand)) return false;
          if (operand->type != ValueType::kAny && operand->type != ValueType::kNumber &&
              operand->type != ValueType::kDuration) {
            return fail(tok.offset, "cannot negate " + withArticle(operand->type));
          }
          node->kind = NodeKind::kNegate;
          node->type = operand->type;
          node->kids.push_back(std::move(operand));
          out = std::move(node);
          return true;
        }
        if (tok.text == "?") return parseVariable(tok, "?", out);
        return fail(tok.offset, "unexpected " + describe(tok));
      case Tok::kIdent:
        break;
    }
    const std::string& word = tok.text;
    if (word == "true" || word == "false") {
      node->kind = NodeKind::kLiteral;
      node->literal = Value::ofBool(word == "true");
      node->type = ValueType::kBoolean;
      out = std::move(node);
      return true;
    }
    if (word == "null") {
      node->kind = NodeKind::kLiteral;
      node->type = ValueType::kNull;
      out = std::move(node);
      return true;
    }
    if (word == "not") {
      NodePtr operand;
      if (!parse(25, operand)) return false;
      if (operand->type != ValueType::kAny && operand->type != ValueType::kBoolean) {
        return fail(tok.offset, "'not' needs a boolean, not " + withArticle(operand->type));
      }
      node->kind = NodeKind::kNot;
      node->type = ValueType::kBoolean;
      node->kids.push_back(std::move(operand));
      out = std::move(node);
      return true;
    }
    if (word == "if") {
      NodePtr condition, then_value, else_value;
      if (!parse(0, condition)) return false;
      if (condition->type != ValueType::kAny && condition->type != ValueType::kBoolean) {
        return fail(condition->offset, "the condition after 'if' must be a boolean, not " +
                                           withArticle(condition->type));
      }
      if (!expectKeyword("then") || !parse(0, then_value)) return false;
      if (!expectKeyword("else") || !parse(0, else_value)) return false;
      const ValueType a = then_value->type;
      const ValueType b = else_value->type;
      ValueType result;
      if (a == b)
        result = a;
      else if (a == ValueType::kNull)
        result = b;
      else if (b == ValueType::kNull)
        result = a;
      else if (a == ValueType::kAny || b == ValueType::kAny)
        result = ValueType::kAny;
      else if (isDateLike(a) && isDateLike(b))
        result = ValueType::kDateTime;
      else {
        return fail(else_value->offset,
                    "the branches of 'if' give different types: " + withArticle(a) +
                        " after 'then' and " + withArticle(b) + " after 'else'");
      }
      node->kind = NodeKind::kIf;
      node->type = result;
      node->kids.push_back(std::move(condition));
      node->kids.push_back(std::move(then_value));
      node->kids.push_back(std::move(else_value));
      out = std::move(node);
      return true;
    }
    if (isKeyword(word)) return fail(tok.offset, "unexpected '" + word + "'");
    if (peek().kind == Tok::kSymbol && peek().text == "(") return parseCall(tok, out);
    return parseVariable(tok, word, out);
  }

  bool parseVariable(const Token& tok, const std::string& name, NodePtr& out) {
    const auto it = variables_.find(name);
    if (it == variables_.end()) {
      if (name == "?") return fail(tok.offset, "'?' can only be used in a decision-table test");
      std::string message = "unknown name '" + name + "'";
      if (findFunction(name)) message += " (" + name + " is a function: write " + name + "(...))";
      return fail(tok.offset, message);
    }
    const ValueType type = it->second;
    auto node = std::make_unique<Node>();
    node->kind = NodeKind::kVariable;
    node->offset = tok.offset;
    node->name = name;
    node->type = type;
    uses_placeholder_ = uses_placeholder_ || name == "?";
    out = std::move(node);
    return true;
  }

  bool parseListLiteral(const Token& open, NodePtr& out) {
    auto node = std::make_unique<Node>();
    node->kind = NodeKind::kList;
    node->type = ValueType::kList;
    node->offset = open.offset;
    if (peek().kind == Tok::kSymbol && peek().text == "]") {
      take();
      out = std::move(node);
      return true;
    }
    while (true) {
      NodePtr item;
      if (!parse(0, item)) return false;
      node->kids.push_back(std::move(item));
      if (node->kids.size() > kMaxListSize) return fail(open.offset, "the list is too long");
      if (peek().kind == Tok::kSymbol && peek().text == ",") {
        take();
        continue;
      }
      if (!expectSymbol("]")) return false;
      break;
    }
    out = std::move(node);
    return true;
  }

  bool parseCall(const Token& name_token, NodePtr& out) {
    const FunctionInfo* info = findFunction(name_token.text);
    if (!info) return fail(name_token.offset, "unknown function '" + name_token.text + "'");
    take();  // (
    auto node = std::make_unique<Node>();
    node->kind = NodeKind::kCall;
    node->offset = name_token.offset;
    node->name = name_token.text;
    node->fn = info->fn;
    if (!(peek().kind == Tok::kSymbol && peek().text == ")")) {
      while (true) {
        NodePtr arg;
        if (!parse(0, arg)) return false;
        node->kids.push_back(std::move(arg));
        if (peek().kind == Tok::kSymbol && peek().text == ",") {
          take();
          continue;
        }
        break;
      }
    }
    if (!expectSymbol(")")) return false;
    const int n = static_cast<int>(node->kids.size());
    if (n < info->min_args || (info->max_args >= 0 && n > info->max_args)) {
      std::string expected = info->min_args == info->max_args ? std::to_string(info->min_args)
                             : info->max_args < 0 ? "at least " + std::to_string(info->min_args)
                                                  : std::to_string(info->min_args) + " or " +
                                                        std::to_string(info->max_args);
      return fail(name_token.offset, node->name + "() takes " + expected + " argument" +
                                         (expected == "1" ? "" : "s") + ", not " +
                                         std::to_string(n));
    }
    if (!checkCall(*node)) return false;
    out = std::move(node);
    return true;
  }

  // Checks argument types and sets the result type of a call.
  bool checkCall(Node& call) {
    using VT = ValueType;
    auto arg = [&](std::size_t i) { return call.kids[i]->type; };
    auto need = [&](std::size_t i, std::initializer_list<VT> allowed, const char* what) {
      const VT t = arg(i);
      if (t == VT::kAny) return true;
      for (VT a : allowed) {
        if (a == t) return true;
      }
      return fail(call.kids[i]->offset, call.name + "() needs " + what + ", not " + withArticle(t));
    };
    switch (call.fn) {
      case Fn::kCount:
        call.type = VT::kNumber;
        return need(0, {VT::kList}, "a list");
      case Fn::kSum:
      case Fn::kAvg:
        call.type = VT::kNumber;
        return need(0, {VT::kList}, "a list of numbers");
      case Fn::kMin:
      case Fn::kMax:
        if (call.kids.size() == 1) {
          call.type = VT::kAny;
          return need(0, {VT::kList}, "a list (or several values)");
        }
        call.type = arg(0);
        for (std::size_t i = 1; i < call.kids.size(); ++i) {
          if (arg(i) != call.type) call.type = VT::kAny;
        }
        return true;
      case Fn::kRound:
      case Fn::kFloor:
      case Fn::kCeil:
      case Fn::kAbs:
        call.type = VT::kNumber;
        if (call.kids.size() == 2 && !need(1, {VT::kNumber}, "a number of decimal places")) {
          return false;
        }
        return need(0, {VT::kNumber}, "a number");
      case Fn::kPercent:
        call.type = VT::kNumber;
        return need(0, {VT::kNumber}, "a number") && need(1, {VT::kNumber}, "a number");
      case Fn::kLower:
      case Fn::kUpper:
      case Fn::kTrim:
        call.type = VT::kString;
        return need(0, {VT::kString}, "text");
      case Fn::kContains:
        call.type = VT::kBoolean;
        return need(0, {VT::kString, VT::kList}, "text or a list");
      case Fn::kStartsWith:
      case Fn::kEndsWith:
        call.type = VT::kBoolean;
        return need(0, {VT::kString}, "text") && need(1, {VT::kString}, "text");
      case Fn::kLen:
        call.type = VT::kNumber;
        return need(0, {VT::kString, VT::kList}, "text or a list");
      case Fn::kDate:
        call.type = VT::kDate;
        if (!need(0, {VT::kString, VT::kDate, VT::kDateTime}, "text or a date-time")) return false;
        if (call.kids[0]->kind == NodeKind::kLiteral && arg(0) == VT::kString) {
          Date d;
          if (!parseDateText(call.kids[0]->literal.string, d)) {
            return fail(call.kids[0]->offset,
                        "'" + call.kids[0]->literal.string + "' is not a date (write YYYY-MM-DD)");
          }
        }
        return true;
      case Fn::kDateTime:
        call.type = VT::kDateTime;
        if (!need(0, {VT::kString, VT::kDate, VT::kDateTime}, "text or a date")) return false;
        if (call.kids[0]->kind == NodeKind::kLiteral && arg(0) == VT::kString) {
          core::TimePoint t;
          if (!parseDateTimeText(call.kids[0]->literal.string, t)) {
            return fail(call.kids[0]->offset,
                        "'" + call.kids[0]->literal.string +
                            "' is not a date-time (write YYYY-MM-DDTHH:MM:SSZ)");
          }
        }
        return true;
      case Fn::kYear:
      case Fn::kMonth:
      case Fn::kDay:
      case Fn::kWeekday:
        call.type = VT::kNumber;
        return need(0, {VT::kDate, VT::kDateTime}, "a date");
      case Fn::kAddWorkingDays:
        call.type = VT::kDate;
        return need(0, {VT::kDate, VT::kDateTime}, "a date") &&
               need(1, {VT::kNumber}, "a number of working days");
      case Fn::kWorkingDaysBetween:
        call.type = VT::kNumber;
        return need(0, {VT::kDate, VT::kDateTime}, "a date") &&
               need(1, {VT::kDate, VT::kDateTime}, "a date");
      case Fn::kIsWorkingDay:
        call.type = VT::kBoolean;
        return need(0, {VT::kDate, VT::kDateTime}, "a date");
      case Fn::kDays:
      case Fn::kWeeks:
      case Fn::kHours:
      case Fn::kMinutes:
      case Fn::kMonths:
      case Fn::kWorkingDays:
        call.type = VT::kDuration;
        return need(0, {VT::kNumber}, "a number");
      case Fn::kDuration:
        call.type = VT::kDuration;
        if (!need(0, {VT::kString, VT::kDuration}, "text")) return false;
        if (call.kids[0]->kind == NodeKind::kLiteral && arg(0) == VT::kString) {
          Duration d;
          if (!parseDuration(call.kids[0]->literal.string, d)) {
            return fail(call.kids[0]->offset, "'" + call.kids[0]->literal.string +
                                                  "' is not a duration (write 'P2W' or '2 weeks')");
          }
        }
        return true;
      case Fn::kPluck:
        call.type = VT::kList;
        return need(0, {VT::kList}, "a list of objects") && need(1, {VT::kString}, "a member name");
      case Fn::kWhere:
        call.type = VT::kList;
        return need(0, {VT::kList}, "a list of objects") && need(1, {VT::kString}, "a member name");
      case Fn::kCoalesce: {
        call.type = VT::kNull;
        for (std::size_t i = 0; i < call.kids.size(); ++i) {
          if (arg(i) == VT::kNull) continue;
          if (call.type == VT::kNull)
            call.type = arg(i);
          else if (call.type != arg(i))
            call.type = VT::kAny;
        }
        return true;
      }
      case Fn::kString:
        call.type = VT::kString;
        return true;
      case Fn::kNumber:
        call.type = VT::kNumber;
        return need(0, {VT::kString, VT::kNumber, VT::kBoolean}, "text or a number");
    }
    return true;
  }

  bool parseInfix(NodePtr& left) {
    const Token tok = take();
    auto node = std::make_unique<Node>();
    node->offset = tok.offset;
    if (tok.kind == Tok::kIdent) {
      if (tok.text == "and" || tok.text == "or") {
        const bool is_and = tok.text == "and";
        NodePtr right;
        if (!parse(is_and ? 20 : 10, right)) return false;
        for (const NodePtr* side : {&left, &right}) {
          const ValueType t = (*side)->type;
          if (t != ValueType::kAny && t != ValueType::kBoolean) {
            return fail(tok.offset, "'" + tok.text + "' needs booleans on both sides, but the " +
                                        (side == &left ? "left" : "right") + " side is " +
                                        withArticle(t));
          }
        }
        node->kind = is_and ? NodeKind::kAnd : NodeKind::kOr;
        node->type = ValueType::kBoolean;
        node->kids.push_back(std::move(left));
        node->kids.push_back(std::move(right));
        left = std::move(node);
        return true;
      }
      if (tok.text == "in" || tok.text == "not") {
        const bool negated = tok.text == "not";
        if (negated) take();  // in
        NodePtr right;
        if (!parse(30, right)) return false;
        const ValueType rt = right->type;
        if (rt != ValueType::kAny && rt != ValueType::kList && rt != ValueType::kString) {
          return fail(tok.offset,
                      "'in' needs a list (or text) on its right, not " + withArticle(rt));
        }
        node->kind = negated ? NodeKind::kNotIn : NodeKind::kIn;
        node->type = ValueType::kBoolean;
        node->kids.push_back(std::move(left));
        node->kids.push_back(std::move(right));
        left = std::move(node);
        return true;
      }
      // A unit after a number: `4 weeks`, `10 working days`.
      Unit unit;
      if (tok.text == "working") {
        if (!(peek().kind == Tok::kIdent && (peek().text == "day" || peek().text == "days"))) {
          return fail(peek().offset, "expected 'days' after 'working'");
        }
        take();
        unit = Unit::kWorkingDay;
      } else {
        unitFromWord(tok.text, unit);
      }
      if (left->type != ValueType::kAny && left->type != ValueType::kNumber) {
        return fail(tok.offset, "a duration needs a number before '" + tok.text + "', not " +
                                    withArticle(left->type));
      }
      if (left->kind == NodeKind::kLiteral) {
        Duration d;
        if (!durationOf(left->literal.number, unit, d)) {
          return fail(left->offset, "'" + tok.text + "' needs a whole number");
        }
        node->kind = NodeKind::kLiteral;
        node->literal = Value::ofDuration(d);
        node->type = ValueType::kDuration;
        node->offset = left->offset;
        left = std::move(node);
        return true;
      }
      node->kind = NodeKind::kUnit;
      node->unit = unit;
      node->type = ValueType::kDuration;
      node->kids.push_back(std::move(left));
      left = std::move(node);
      return true;
    }
    const std::string& s = tok.text;
    if (s == ".") {
      const Token name = take();
      if (name.kind != Tok::kIdent) {
        return fail(name.offset, "expected a member name after '.', found " + describe(name));
      }
      if (left->type != ValueType::kAny && left->type != ValueType::kObject) {
        return fail(name.offset,
                    "cannot read member '" + name.text + "' of " + withArticle(left->type));
      }
      node->kind = NodeKind::kMember;
      node->name = name.text;
      node->offset = name.offset;
      node->type = ValueType::kAny;
      node->kids.push_back(std::move(left));
      left = std::move(node);
      return true;
    }
    if (s == "[") {
      NodePtr index;
      if (!parse(0, index)) return false;
      if (!expectSymbol("]")) return false;
      const ValueType lt = left->type;
      const ValueType it = index->type;
      if (lt == ValueType::kList || lt == ValueType::kString) {
        if (it != ValueType::kAny && it != ValueType::kNumber) {
          return fail(index->offset, "a " + std::string(valueTypeName(lt)) +
                                         " is indexed by a number, not " + withArticle(it));
        }
      } else if (lt == ValueType::kObject) {
        if (it != ValueType::kAny && it != ValueType::kString) {
          return fail(index->offset, "an object is indexed by text, not " + withArticle(it));
        }
      } else if (lt != ValueType::kAny) {
        return fail(tok.offset, "cannot index " + withArticle(lt));
      }
      node->kind = NodeKind::kIndex;
      node->type = lt == ValueType::kString ? ValueType::kString : ValueType::kAny;
      node->kids.push_back(std::move(left));
      node->kids.push_back(std::move(index));
      left = std::move(node);
      return true;
    }
    BinOp op;
    int bp;
    if (s == "+")
      op = BinOp::kAdd, bp = 40;
    else if (s == "-")
      op = BinOp::kSub, bp = 40;
    else if (s == "*")
      op = BinOp::kMul, bp = 50;
    else if (s == "/")
      op = BinOp::kDiv, bp = 50;
    else if (s == "%")
      op = BinOp::kMod, bp = 50;
    else if (s == "==")
      op = BinOp::kEq, bp = 30;
    else if (s == "!=")
      op = BinOp::kNe, bp = 30;
    else if (s == "<")
      op = BinOp::kLt, bp = 30;
    else if (s == "<=")
      op = BinOp::kLe, bp = 30;
    else if (s == ">")
      op = BinOp::kGt, bp = 30;
    else if (s == ">=")
      op = BinOp::kGe, bp = 30;
    else
      return fail(tok.offset, "unexpected " + describe(tok));
    NodePtr right;
    if (!parse(bp, right)) return false;
    return makeBinary(op, tok.offset, std::move(left), std::move(right), left);
  }

  bool makeBinary(BinOp op, std::size_t offset, NodePtr l, NodePtr r, NodePtr& out) {
    ValueType type;
    std::string error;
    if (!binaryType(op, l->type, r->type, type, error)) return fail(offset, error);
    auto node = std::make_unique<Node>();
    node->kind = NodeKind::kBinary;
    node->op = op;
    node->offset = offset;
    node->type = type;
    node->kids.push_back(std::move(l));
    node->kids.push_back(std::move(r));
    out = std::move(node);
    return true;
  }

  NodePtr placeholder(std::size_t offset) {
    auto node = std::make_unique<Node>();
    node->kind = NodeKind::kVariable;
    node->name = "?";
    node->type = column_type_;
    node->offset = offset;
    return node;
  }

  static bool literalJson(const Node& n, json& out) {
    if (n.kind != NodeKind::kLiteral) return false;
    if (n.type == ValueType::kNumber)
      out = n.literal.number;
    else if (n.type == ValueType::kString)
      out = n.literal.string;
    else if (n.type == ValueType::kBoolean)
      out = n.literal.boolean;
    else
      return false;
    return true;
  }

  static bool negativeLiteral(const Node& n, double& value) {
    if (n.kind == NodeKind::kLiteral && n.type == ValueType::kNumber) {
      value = n.literal.number;
      return true;
    }
    if (n.kind == NodeKind::kNegate && n.kids[0]->kind == NodeKind::kLiteral &&
        n.kids[0]->type == ValueType::kNumber) {
      value = -n.kids[0]->literal.number;
      return true;
    }
    return false;
  }

  bool parsePositiveTest(NodePtr& out, LiteralTestSet& set, bool& literal) {
    const Token& first = peek();
    constexpr double kInf = std::numeric_limits<double>::infinity();
    if (first.kind == Tok::kSymbol &&
        (first.text == "<" || first.text == "<=" || first.text == ">" || first.text == ">=" ||
         first.text == "==" || first.text == "!=")) {
      const Token op_token = take();
      NodePtr value;
      if (!parse(31, value)) return false;
      BinOp op = op_token.text == "<"    ? BinOp::kLt
                 : op_token.text == "<=" ? BinOp::kLe
                 : op_token.text == ">"  ? BinOp::kGt
                 : op_token.text == ">=" ? BinOp::kGe
                 : op_token.text == "==" ? BinOp::kEq
                                         : BinOp::kNe;
      double number;
      json literal_value;
      if (op != BinOp::kEq && op != BinOp::kNe && negativeLiteral(*value, number)) {
        LiteralTestSet::Range r{-kInf, kInf};
        if (op == BinOp::kLt || op == BinOp::kLe) {
          r.high = number;
          r.high_open = op == BinOp::kLt;
        } else {
          r.low = number;
          r.low_open = op == BinOp::kGt;
        }
        set.ranges.push_back(r);
      } else if (op == BinOp::kEq && literalJson(*value, literal_value)) {
        set.values.push_back(literal_value);
      } else {
        literal = false;
      }
      return makeBinary(op, op_token.offset, placeholder(op_token.offset), std::move(value), out);
    }
    if (first.kind == Tok::kSymbol &&
        (first.text == "[" || first.text == "(" || first.text == "]")) {
      // A range "[1..5]", "(1..5)", "]1..5[": falls back to an ordinary expression (a list
      // literal or a parenthesised value) when there is no "..".
      const std::size_t saved = pos_;
      const SyntaxError saved_error = error_;
      const int saved_depth = depth_;
      const Token open = take();
      NodePtr low, high;
      if (parse(0, low) && peek().kind == Tok::kSymbol && peek().text == "..") {
        take();
        if (!parse(0, high)) return false;
        const Token close = take();
        if (close.kind != Tok::kSymbol ||
            (close.text != "]" && close.text != ")" && close.text != "[")) {
          return fail(close.offset,
                      "expected ']' or ')' to close the range, found " + describe(close));
        }
        const bool low_open = open.text != "[";
        const bool high_open = close.text != "]";
        NodePtr lower_test, upper_test;
        if (!makeBinary(low_open ? BinOp::kGt : BinOp::kGe, open.offset, placeholder(open.offset),
                        std::move(low), lower_test)) {
          return false;
        }
        // makeBinary consumed `low`; keep literal bounds from the built nodes.
        double lo, hi;
        const bool literal_low = negativeLiteral(*lower_test->kids[1], lo);
        if (!makeBinary(high_open ? BinOp::kLt : BinOp::kLe, close.offset,
                        placeholder(close.offset), std::move(high), upper_test)) {
          return false;
        }
        const bool literal_high = negativeLiteral(*upper_test->kids[1], hi);
        if (literal_low && literal_high) {
          if (lo > hi) return fail(open.offset, "the range is empty: its start is after its end");
          set.ranges.push_back({lo, hi, low_open, high_open});
        } else {
          literal = false;
        }
        auto both = std::make_unique<Node>();
        both->kind = NodeKind::kAnd;
        both->type = ValueType::kBoolean;
        both->offset = open.offset;
        both->kids.push_back(std::move(lower_test));
        both->kids.push_back(std::move(upper_test));
        out = std::move(both);
        return true;
      }
      pos_ = saved;
      error_ = saved_error;
      depth_ = saved_depth;
    }
    const std::size_t offset = peek().offset;
    uses_placeholder_ = false;
    NodePtr value;
    if (!parse(0, value)) return false;
    if (uses_placeholder_) {
      if (value->type != ValueType::kBoolean && value->type != ValueType::kAny) {
        return fail(offset,
                    "a test using '?' must be a condition, not " + withArticle(value->type));
      }
      literal = false;
      out = std::move(value);
      return true;
    }
    if (value->type == ValueType::kList) {
      // `? in [..]` written as just the list.
      if (value->kind == NodeKind::kList) {
        for (const NodePtr& item : value->kids) {
          json v;
          if (literalJson(*item, v))
            set.values.push_back(v);
          else
            literal = false;
        }
      } else {
        literal = false;
      }
      auto node = std::make_unique<Node>();
      node->kind = NodeKind::kIn;
      node->type = ValueType::kBoolean;
      node->offset = offset;
      node->kids.push_back(placeholder(offset));
      node->kids.push_back(std::move(value));
      out = std::move(node);
      return true;
    }
    json v;
    double number;
    if (literalJson(*value, v))
      set.values.push_back(v);
    else if (negativeLiteral(*value, number))
      set.values.push_back(number);
    else
      literal = false;
    return makeBinary(BinOp::kEq, offset, placeholder(offset), std::move(value), out);
  }

  std::vector<Token> tokens_;
  const TypeEnvironment& variables_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  SyntaxError error_{0, ""};
  ValueType column_type_ = ValueType::kAny;
  bool uses_placeholder_ = false;
};

// ---------------------------------------------------------------------------------------------
// Evaluator

class CompiledExpression;

class Evaluation {
 public:
  Evaluation(const CompiledExpression& expression, const json& context)
      : expression_(expression), context_(context) {}

  core::StatusOr<Value> eval(const Node& node);

 private:
  core::Status error(const Node& node, const std::string& message) const;
  core::StatusOr<Value> fromJson(const Node& node, const json& j, ValueType declared) const;
  core::StatusOr<Value> evalBinary(const Node& node);
  core::StatusOr<Value> evalCall(const Node& node);
  core::StatusOr<Value> compare(const Node& node, BinOp op, const Value& l, const Value& r);
  core::StatusOr<bool> equal(const Node& node, const Value& l, const Value& r);
  core::StatusOr<int> order(const Node& node, const Value& l, const Value& r);
  core::StatusOr<Value> asBoolean(const Node& node, const Value& v, const char* what);
  core::StatusOr<Value> asTimeValue(const Node& node, const Value& v);

  const CompiledExpression& expression_;
  const json& context_;
  long steps_ = 0;
};

// Where byte `offset` of `text` (which starts at `where`) is in the file.
SourceLocation locateIn(std::string_view text, const SourceLocation& where,
                        const std::vector<std::pair<int, int>>& positions, std::size_t offset) {
  if (!positions.empty()) {
    if (offset < positions.size()) {
      return {where.file, positions[offset].first, positions[offset].second};
    }
    const auto& last = positions.back();
    return {where.file, last.first, last.second + static_cast<int>(offset - positions.size()) + 1};
  }
  SourceLocation at = where;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++at.line;
      at.column = 1;
    } else if (at.column > 0) {
      ++at.column;
    }
  }
  return at;
}

class CompiledExpression final : public Expression {
 public:
  CompiledExpression(std::string text, SourceLocation where, NodePtr root,
                     std::shared_ptr<const WorkingCalendar> calendar,
                     std::vector<std::pair<int, int>> positions)
      : Expression(std::move(text), std::move(where), root->type),
        root_(std::move(root)),
        calendar_(std::move(calendar)),
        positions_(std::move(positions)) {}

  core::StatusOr<json> evaluate(const json& context) const override {
    Evaluation evaluation(*this, context);
    SENDFLOW_ASSIGN_OR_RETURN(Value v, evaluation.eval(*root_));
    return toJson(v);
  }

  const WorkingCalendar& calendar() const { return *calendar_; }

  SourceLocation locate(std::size_t offset) const {
    return locateIn(text(), where(), positions_, offset);
  }

  void setShape(LiteralTestSet set) { setLiteralTest(std::move(set)); }

 private:
  NodePtr root_;
  std::shared_ptr<const WorkingCalendar> calendar_;
  std::vector<std::pair<int, int>> positions_;
};

core::Status Evaluation::error(const Node& node, const std::string& message) const {
  return core::invalidArgument(expression_.locate(node.offset).toString() + ": " + message);
}

core::StatusOr<Value> Evaluation::fromJson(const Node& node, const json& j,
                                           ValueType declared) const {
  switch (j.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
      return Value::null();
    case json::value_t::boolean:
      return Value::ofBool(j.get<bool>());
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return Value::ofNumber(j.get<double>());
    case json::value_t::string: {
      const std::string& s = j.get_ref<const std::string&>();
      if (declared == ValueType::kDate) {
        Date d;
        core::TimePoint t;
        if (parseDateText(s, d)) return Value::ofDate(d);
        if (parseDateTimeText(s, t)) return Value::ofDate(std::chrono::floor<std::chrono::days>(t));
        return error(node, "'" + s + "' is not a date");
      }
      if (declared == ValueType::kDateTime) {
        core::TimePoint t;
        if (parseDateTimeText(s, t)) return Value::ofDateTime(t);
        return error(node, "'" + s + "' is not a date-time");
      }
      if (declared == ValueType::kDuration) {
        Duration d;
        if (parseDuration(s, d)) return Value::ofDuration(d);
        return error(node, "'" + s + "' is not a duration");
      }
      if (s.size() > kMaxStringLength) return error(node, "the text is too long");
      return Value::ofString(s);
    }
    case json::value_t::array: {
      if (j.size() > kMaxListSize) {
        return error(node, "the list has " + std::to_string(j.size()) + " items, more than the " +
                               std::to_string(kMaxListSize) + " an expression may handle");
      }
      std::vector<Value> items;
      items.reserve(j.size());
      for (const json& item : j) {
        SENDFLOW_ASSIGN_OR_RETURN(Value v, fromJson(node, item, ValueType::kAny));
        items.push_back(std::move(v));
      }
      return Value::ofList(std::move(items));
    }
    case json::value_t::object: {
      Value v;
      v.type = ValueType::kObject;
      v.object = &j;
      return v;
    }
    case json::value_t::binary:
      break;
  }
  return error(node, "unsupported value");
}

core::StatusOr<Value> Evaluation::asBoolean(const Node& node, const Value& v, const char* what) {
  if (v.type == ValueType::kBoolean) return v;
  return error(node,
               std::string(what) + " needs a boolean, but the value is " + withArticle(v.type));
}

// Turns text that holds a date or date-time (data of type any) into that value.
core::StatusOr<Value> Evaluation::asTimeValue(const Node& node, const Value& v) {
  if (v.type != ValueType::kString) return v;
  Date d;
  core::TimePoint t;
  Duration dur;
  if (parseDateText(v.string, d)) return Value::ofDate(d);
  if (parseDateTimeText(v.string, t)) return Value::ofDateTime(t);
  if (!v.string.empty() && v.string[0] == 'P' && parseDuration(v.string, dur)) {
    return Value::ofDuration(dur);
  }
  return v;
}

core::StatusOr<bool> Evaluation::equal(const Node& node, const Value& l, const Value& r) {
  if (l.type == ValueType::kNull || r.type == ValueType::kNull) return l.type == r.type;
  if (l.type != r.type) {
    if (l.type == ValueType::kString || r.type == ValueType::kString) {
      SENDFLOW_ASSIGN_OR_RETURN(Value a, asTimeValue(node, l));
      SENDFLOW_ASSIGN_OR_RETURN(Value b, asTimeValue(node, r));
      if (a.type != ValueType::kString && b.type != ValueType::kString) return equal(node, a, b);
      return false;
    }
    if (isDateLike(l.type) && isDateLike(r.type)) {
      SENDFLOW_ASSIGN_OR_RETURN(int c, order(node, l, r));
      return c == 0;
    }
    return false;
  }
  switch (l.type) {
    case ValueType::kBoolean:
      return l.boolean == r.boolean;
    case ValueType::kNumber:
      return l.number == r.number;
    case ValueType::kString:
      return l.string == r.string;
    case ValueType::kDate:
      return l.date == r.date;
    case ValueType::kDateTime:
      return l.datetime == r.datetime;
    case ValueType::kDuration:
      return l.duration == r.duration;
    case ValueType::kList: {
      if (l.list->size() != r.list->size()) return false;
      for (std::size_t i = 0; i < l.list->size(); ++i) {
        SENDFLOW_ASSIGN_OR_RETURN(bool same, equal(node, (*l.list)[i], (*r.list)[i]));
        if (!same) return false;
      }
      return true;
    }
    case ValueType::kObject:
      return *l.object == *r.object;
    default:
      return true;
  }
}

// -1, 0, 1; an error when the values cannot be ordered.
core::StatusOr<int> Evaluation::order(const Node& node, const Value& l0, const Value& r0) {
  Value l = l0, r = r0;
  if (l.type != r.type) {
    SENDFLOW_ASSIGN_OR_RETURN(l, asTimeValue(node, l0));
    SENDFLOW_ASSIGN_OR_RETURN(r, asTimeValue(node, r0));
  }
  auto sign = [](auto a, auto b) { return a < b ? -1 : (b < a ? 1 : 0); };
  if (isDateLike(l.type) && isDateLike(r.type)) {
    const core::TimePoint a =
        l.type == ValueType::kDate ? core::TimePoint(l.date.time_since_epoch()) : l.datetime;
    const core::TimePoint b =
        r.type == ValueType::kDate ? core::TimePoint(r.date.time_since_epoch()) : r.datetime;
    return sign(a, b);
  }
  if (l.type == r.type) {
    switch (l.type) {
      case ValueType::kNumber:
        return sign(l.number, r.number);
      case ValueType::kString:
        return sign(l.string, r.string);
      case ValueType::kDuration:
        if (!l.duration.isFixed() || !r.duration.isFixed()) {
          if (l.duration.millis == 0 && r.duration.millis == 0 && l.duration.months == 0 &&
              r.duration.months == 0) {
            return sign(l.duration.working_days, r.duration.working_days);
          }
          if (l.duration.millis == 0 && r.duration.millis == 0 && l.duration.working_days == 0 &&
              r.duration.working_days == 0) {
            return sign(l.duration.months, r.duration.months);
          }
          return error(node, "cannot compare durations in months or working days with fixed ones");
        }
        return sign(l.duration.millis, r.duration.millis);
      default:
        break;
    }
  }
  return error(node, "cannot compare " + withArticle(l0.type) + " with " + withArticle(r0.type));
}

core::StatusOr<Value> Evaluation::compare(const Node& node, BinOp op, const Value& l,
                                          const Value& r) {
  if (op == BinOp::kEq || op == BinOp::kNe) {
    SENDFLOW_ASSIGN_OR_RETURN(bool same, equal(node, l, r));
    return Value::ofBool(op == BinOp::kEq ? same : !same);
  }
  if (l.type == ValueType::kNull || r.type == ValueType::kNull) {
    return error(node,
                 std::string("cannot use '") + binOpSymbol(op) + "' on a missing (null) value");
  }
  SENDFLOW_ASSIGN_OR_RETURN(int c, order(node, l, r));
  switch (op) {
    case BinOp::kLt:
      return Value::ofBool(c < 0);
    case BinOp::kLe:
      return Value::ofBool(c <= 0);
    case BinOp::kGt:
      return Value::ofBool(c > 0);
    default:
      return Value::ofBool(c >= 0);
  }
}

core::StatusOr<Value> Evaluation::evalBinary(const Node& node) {
  SENDFLOW_ASSIGN_OR_RETURN(Value l, eval(*node.kids[0]));
  SENDFLOW_ASSIGN_OR_RETURN(Value r, eval(*node.kids[1]));
  if (isComparison(node.op)) return compare(node, node.op, l, r);
  if ((l.type == ValueType::kDuration && !withinLimits(l.duration)) ||
      (r.type == ValueType::kDuration && !withinLimits(r.duration))) {
    return error(node, "the duration is too long");
  }
  // Text from untyped data that holds a date or duration takes part as one.
  if (l.type == ValueType::kString && r.type != ValueType::kString) {
    SENDFLOW_ASSIGN_OR_RETURN(l, asTimeValue(node, l));
  }
  if (r.type == ValueType::kString && l.type != ValueType::kString) {
    SENDFLOW_ASSIGN_OR_RETURN(r, asTimeValue(node, r));
  }
  using VT = ValueType;
  const BinOp op = node.op;
  if (l.type == VT::kNumber && r.type == VT::kNumber) {
    switch (op) {
      case BinOp::kAdd:
        return Value::ofNumber(l.number + r.number);
      case BinOp::kSub:
        return Value::ofNumber(l.number - r.number);
      case BinOp::kMul:
        return Value::ofNumber(l.number * r.number);
      case BinOp::kDiv:
        if (r.number == 0) return error(node, "division by zero");
        return Value::ofNumber(l.number / r.number);
      case BinOp::kMod:
        if (r.number == 0) return error(node, "division by zero");
        return Value::ofNumber(std::fmod(l.number, r.number));
      default:
        break;
    }
  }
  if (op == BinOp::kAdd && l.type == VT::kString && r.type == VT::kString) {
    if (l.string.size() + r.string.size() > kMaxStringLength)
      return error(node, "the text is too long");
    return Value::ofString(l.string + r.string);
  }
  if (op == BinOp::kAdd && l.type == VT::kList && r.type == VT::kList) {
    if (l.list->size() + r.list->size() > kMaxListSize) return error(node, "the list is too long");
    std::vector<Value> items(*l.list);
    items.insert(items.end(), r.list->begin(), r.list->end());
    return Value::ofList(std::move(items));
  }
  if (l.type == VT::kDuration && r.type == VT::kDuration) {
    if (op == BinOp::kAdd) return Value::ofDuration(addDurations(l.duration, r.duration));
    if (op == BinOp::kSub) return Value::ofDuration(addDurations(l.duration, negate(r.duration)));
    if (op == BinOp::kDiv) {
      if (!l.duration.isFixed() || !r.duration.isFixed()) {
        return error(node, "cannot divide durations in months or working days");
      }
      if (r.duration.millis == 0) return error(node, "division by a zero duration");
      return Value::ofNumber(static_cast<double>(l.duration.millis) / r.duration.millis);
    }
  }
  if ((op == BinOp::kMul || op == BinOp::kDiv) &&
      ((l.type == VT::kDuration && r.type == VT::kNumber) ||
       (op == BinOp::kMul && l.type == VT::kNumber && r.type == VT::kDuration))) {
    const Duration d = l.type == VT::kDuration ? l.duration : r.duration;
    double factor = l.type == VT::kNumber ? l.number : r.number;
    if (op == BinOp::kDiv) {
      if (factor == 0) return error(node, "division by zero");
      factor = 1.0 / factor;
    }
    if (!std::isfinite(factor) || std::fabs(factor) > 1e6)
      return error(node, "the duration is too long");
    return Value::ofDuration(Duration{std::lround(d.months * factor),
                                      std::lround(d.working_days * factor),
                                      std::llround(static_cast<double>(d.millis) * factor)});
  }
  // Dates and durations.
  if ((op == BinOp::kAdd || op == BinOp::kSub) && isDateLike(l.type) && r.type == VT::kDuration) {
    const Duration d = op == BinOp::kAdd ? r.duration : negate(r.duration);
    if (l.type == VT::kDate) {
      if (d.millis % kMillisPerDay != 0) {
        return error(
            node, "cannot move a date by part of a day; use datetime(...) for hours and minutes");
      }
      const core::TimePoint moved =
          addDuration(core::TimePoint(l.date.time_since_epoch()), d, expression_.calendar());
      return Value::ofDate(std::chrono::floor<std::chrono::days>(moved));
    }
    return Value::ofDateTime(addDuration(l.datetime, d, expression_.calendar()));
  }
  if (op == BinOp::kAdd && l.type == VT::kDuration && isDateLike(r.type)) {
    if (r.type == VT::kDate) {
      if (l.duration.millis % kMillisPerDay != 0) {
        return error(
            node, "cannot move a date by part of a day; use datetime(...) for hours and minutes");
      }
      return Value::ofDate(std::chrono::floor<std::chrono::days>(addDuration(
          core::TimePoint(r.date.time_since_epoch()), l.duration, expression_.calendar())));
    }
    return Value::ofDateTime(addDuration(r.datetime, l.duration, expression_.calendar()));
  }
  if (op == BinOp::kSub && isDateLike(l.type) && isDateLike(r.type)) {
    const core::TimePoint a =
        l.type == VT::kDate ? core::TimePoint(l.date.time_since_epoch()) : l.datetime;
    const core::TimePoint b =
        r.type == VT::kDate ? core::TimePoint(r.date.time_since_epoch()) : r.datetime;
    return Value::ofDuration(Duration{0, 0, (a - b).count()});
  }
  std::string message;
  switch (op) {
    case BinOp::kAdd:
      message = "cannot add " + withArticle(r.type) + " to " + withArticle(l.type);
      break;
    case BinOp::kSub:
      message = "cannot subtract " + withArticle(r.type) + " from " + withArticle(l.type);
      break;
    case BinOp::kMul:
      message = "cannot multiply " + withArticle(l.type) + " by " + withArticle(r.type);
      break;
    case BinOp::kDiv:
      message = "cannot divide " + withArticle(l.type) + " by " + withArticle(r.type);
      break;
    default:
      message =
          "cannot take the remainder of " + withArticle(l.type) + " by " + withArticle(r.type);
  }
  return error(node, message);
}

core::StatusOr<Value> Evaluation::eval(const Node& node) {
  if (++steps_ > kMaxSteps) return error(node, "the expression takes too long to evaluate");
  switch (node.kind) {
    case NodeKind::kLiteral:
      return node.literal;
    case NodeKind::kVariable: {
      if (!context_.is_object()) return error(node, "no data to read '" + node.name + "' from");
      const auto it = context_.find(node.name);
      if (it == context_.end()) return Value::null();  // an optional input that was not given
      return fromJson(node, *it, node.type);
    }
    case NodeKind::kMember: {
      SENDFLOW_ASSIGN_OR_RETURN(Value base, eval(*node.kids[0]));
      if (base.type == ValueType::kNull) {
        return error(node, "cannot read '" + node.name + "' of a missing (null) value");
      }
      if (base.type != ValueType::kObject) {
        return error(node, "cannot read member '" + node.name + "' of " + withArticle(base.type));
      }
      const auto it = base.object->find(node.name);
      if (it == base.object->end()) return Value::null();  // an optional field left empty
      return fromJson(node, *it, ValueType::kAny);
    }
    case NodeKind::kIndex: {
      SENDFLOW_ASSIGN_OR_RETURN(Value base, eval(*node.kids[0]));
      SENDFLOW_ASSIGN_OR_RETURN(Value index, eval(*node.kids[1]));
      if (base.type == ValueType::kObject && index.type == ValueType::kString) {
        const auto it = base.object->find(index.string);
        if (it == base.object->end())
          return error(node, "there is no member '" + index.string + "'");
        return fromJson(node, *it, ValueType::kAny);
      }
      if ((base.type == ValueType::kList || base.type == ValueType::kString) &&
          index.type == ValueType::kNumber) {
        const double i = index.number;
        const std::size_t size =
            base.type == ValueType::kList ? base.list->size() : base.string.size();
        if (i != std::floor(i) || i < 0 || i >= static_cast<double>(size)) {
          return error(node, "index " + std::to_string(static_cast<long long>(i)) +
                                 " is outside the " + std::to_string(size) + " items");
        }
        const auto at = static_cast<std::size_t>(i);
        if (base.type == ValueType::kList) return (*base.list)[at];
        return Value::ofString(base.string.substr(at, 1));
      }
      return error(node,
                   "cannot index " + withArticle(base.type) + " by " + withArticle(index.type));
    }
    case NodeKind::kNegate: {
      SENDFLOW_ASSIGN_OR_RETURN(Value v, eval(*node.kids[0]));
      if (v.type == ValueType::kNumber) return Value::ofNumber(-v.number);
      if (v.type == ValueType::kDuration) return Value::ofDuration(negate(v.duration));
      return error(node, "cannot negate " + withArticle(v.type));
    }
    case NodeKind::kNot: {
      SENDFLOW_ASSIGN_OR_RETURN(Value v, eval(*node.kids[0]));
      SENDFLOW_ASSIGN_OR_RETURN(Value b, asBoolean(node, v, "'not'"));
      return Value::ofBool(!b.boolean);
    }
    case NodeKind::kAnd:
    case NodeKind::kOr: {
      const bool is_and = node.kind == NodeKind::kAnd;
      const char* what = is_and ? "'and'" : "'or'";
      SENDFLOW_ASSIGN_OR_RETURN(Value l, eval(*node.kids[0]));
      SENDFLOW_ASSIGN_OR_RETURN(Value lb, asBoolean(node, l, what));
      if (lb.boolean != is_and) return lb;  // short circuit
      SENDFLOW_ASSIGN_OR_RETURN(Value r, eval(*node.kids[1]));
      return asBoolean(node, r, what);
    }
    case NodeKind::kIn:
    case NodeKind::kNotIn: {
      SENDFLOW_ASSIGN_OR_RETURN(Value item, eval(*node.kids[0]));
      SENDFLOW_ASSIGN_OR_RETURN(Value container, eval(*node.kids[1]));
      bool found = false;
      if (container.type == ValueType::kList) {
        for (const Value& candidate : *container.list) {
          SENDFLOW_ASSIGN_OR_RETURN(bool same, equal(node, item, candidate));
          if (same) {
            found = true;
            break;
          }
        }
      } else if (container.type == ValueType::kString && item.type == ValueType::kString) {
        found = container.string.find(item.string) != std::string::npos;
      } else if (container.type == ValueType::kNull) {
        found = false;
      } else {
        return error(node, "'in' needs a list on its right, but the value is " +
                               withArticle(container.type));
      }
      return Value::ofBool(node.kind == NodeKind::kIn ? found : !found);
    }
    case NodeKind::kIf: {
      SENDFLOW_ASSIGN_OR_RETURN(Value c, eval(*node.kids[0]));
      SENDFLOW_ASSIGN_OR_RETURN(Value b, asBoolean(*node.kids[0], c, "'if'"));
      return eval(*node.kids[b.boolean ? 1 : 2]);
    }
    case NodeKind::kList: {
      std::vector<Value> items;
      items.reserve(node.kids.size());
      for (const NodePtr& kid : node.kids) {
        SENDFLOW_ASSIGN_OR_RETURN(Value v, eval(*kid));
        items.push_back(std::move(v));
      }
      return Value::ofList(std::move(items));
    }
    case NodeKind::kUnit: {
      SENDFLOW_ASSIGN_OR_RETURN(Value n, eval(*node.kids[0]));
      if (n.type != ValueType::kNumber) {
        return error(node, "a duration needs a number, but the value is " + withArticle(n.type));
      }
      Duration d;
      if (!durationOf(n.number, node.unit, d)) {
        return error(node,
                     "cannot make a duration of " + std::to_string(n.number) + " of this unit");
      }
      return Value::ofDuration(d);
    }
    case NodeKind::kBinary:
      return evalBinary(node);
    case NodeKind::kCall:
      return evalCall(node);
  }
  return error(node, "unknown expression");
}

core::StatusOr<Value> Evaluation::evalCall(const Node& node) {
  std::vector<Value> args;
  args.reserve(node.kids.size());
  for (const NodePtr& kid : node.kids) {
    SENDFLOW_ASSIGN_OR_RETURN(Value v, eval(*kid));
    args.push_back(std::move(v));
  }
  const std::string fname = node.name + "()";
  auto needType = [&](std::size_t i, ValueType t, const char* what) -> core::Status {
    if (args[i].type == t) return core::Status::ok();
    return error(*node.kids[i],
                 fname + " needs " + what + ", but the value is " + withArticle(args[i].type));
  };
  auto toDate = [&](std::size_t i, Date& out) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(Value v, asTimeValue(node, args[i]));
    if (v.type == ValueType::kDate)
      out = v.date;
    else if (v.type == ValueType::kDateTime)
      out = std::chrono::floor<std::chrono::days>(v.datetime);
    else
      return error(*node.kids[i],
                   fname + " needs a date, but the value is " + withArticle(args[i].type));
    return core::Status::ok();
  };
  auto numbers = [&](std::vector<double>& out) -> core::Status {
    const Value& list = args[0];
    if (list.type != ValueType::kList) return needType(0, ValueType::kList, "a list");
    for (const Value& item : *list.list) {
      if (item.type == ValueType::kNull) continue;
      if (item.type != ValueType::kNumber) {
        return error(*node.kids[0],
                     fname + " needs a list of numbers, but it holds " + withArticle(item.type));
      }
      out.push_back(item.number);
    }
    return core::Status::ok();
  };
  auto makeDuration = [&](Unit unit) -> core::StatusOr<Value> {
    SENDFLOW_RETURN_IF_ERROR(needType(0, ValueType::kNumber, "a number"));
    Duration d;
    if (!durationOf(args[0].number, unit, d)) return error(node, fname + " needs a whole number");
    return Value::ofDuration(d);
  };
  switch (node.fn) {
    case Fn::kCount: {
      if (args[0].type == ValueType::kNull) return Value::ofNumber(0);
      SENDFLOW_RETURN_IF_ERROR(needType(0, ValueType::kList, "a list"));
      if (args.size() == 1) return Value::ofNumber(static_cast<double>(args[0].list->size()));
      double n = 0;
      for (const Value& item : *args[0].list) {
        SENDFLOW_ASSIGN_OR_RETURN(bool same, equal(node, item, args[1]));
        if (same) ++n;
      }
      return Value::ofNumber(n);
    }
    case Fn::kSum:
    case Fn::kAvg: {
      std::vector<double> values;
      SENDFLOW_RETURN_IF_ERROR(numbers(values));
      double total = 0;
      for (double v : values) total += v;
      if (node.fn == Fn::kSum) return Value::ofNumber(total);
      if (values.empty()) return Value::null();
      return Value::ofNumber(total / static_cast<double>(values.size()));
    }
    case Fn::kMin:
    case Fn::kMax: {
      std::vector<Value> candidates;
      if (args.size() == 1) {
        SENDFLOW_RETURN_IF_ERROR(needType(0, ValueType::kList, "a list"));
        candidates = *args[0].list;
      } else {
        candidates = args;
      }
      std::optional<Value> best;
      for (const Value& v : candidates) {
        if (v.type == ValueType::kNull) continue;
        if (!best) {
          best = v;
          continue;
        }
        SENDFLOW_ASSIGN_OR_RETURN(int c, order(node, v, *best));
        if ((node.fn == Fn::kMin && c < 0) || (node.fn == Fn::kMax && c > 0)) best = v;
      }
      return best ? *best : Value::null();
    }
    case Fn::kRound: {
      SENDFLOW_RETURN_IF_ERROR(needType(0, ValueType::kNumber, "a number"));
      double places = 0;
      if (args.size() == 2) {
        SENDFLOW_RETURN_IF_ERROR(needType(1, ValueType::kNumber, "a number of places"));
        places = std::clamp(std::floor(args[1].number), 0.0, 10.0);
      }
      const double scale = std::pow(10.0, places);
      return Value::ofNumber(std::round(args[0].number * scale) / scale);
    }
    case Fn::kFloor:
      SENDFLOW_RETURN_IF_ERROR(needType(0, ValueType::kNumber, "a number"));
      return Value::ofNumber(std::floor(args[0].number));
    case Fn::kCeil:
      SENDFLOW_RETURN_IF_ERROR(needType(0, ValueType::kNumber, "a number"));
      return Value::ofNumber(std::ceil(args[0].number));
    case Fn::kAbs:
      SENDFLOW_RETURN_IF_ERROR(needType(0, ValueType::kNumber, "a number"));
      return Value::ofNumber(std::fabs(args[0].number));
    case Fn::kPercent:
      SENDFLOW_RETURN_IF_ERROR(needType(0, ValueType::kNumber, "a number"));
      SENDFLOW_RETURN_IF_ERROR(needType(1, ValueType::kNumber, "a number"));
      if (args[1].number == 0) return Value::ofNumber(0);
      return Value::ofNumber(args[0].number * 100.0 / args[1].number);
    case Fn::kLower:
    case Fn::kUpper: {
      SENDFLOW_RETURN_IF_ERROR(needType(0, ValueType::kString, "text"));
      std::string s = args[0].string;
      for (char& c : s) {
        c = static_cast<char>(node.fn == Fn::kLower ? std::tolower(static_cast<unsigned char>(c))
                                                    : std::toupper(static_cast<unsigned char>(c)));
      }
      return Value::ofString(std::move(s));
    }
    case Fn::kTrim: {
      SENDFLOW_RETURN_IF_ERROR(needType(0, ValueType::kString, "text"));
      const std::string& s = args[0].string;
      std::size_t b = 0, e = s.size();
      while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
      while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
      return Value::ofString(s.substr(b, e - b));
    }
    case Fn::kContains: {
      if (args[0].type == ValueType::kList) {
        for (const Value& item : *args[0].list) {
          SENDFLOW_ASSIGN_OR_RETURN(bool same, equal(node, item, args[1]));
          if (same) return Value::ofBool(true);
        }
        return Value::ofBool(false);
      }
      SENDFLOW_RETURN_IF_ERROR(needType(0, ValueType::kString, "text or a list"));
      SENDFLOW_RETURN_IF_ERROR(needType(1, ValueType::kString, "text"));
      return Value::ofBool(args[0].string.find(args[1].string) != std::string::npos);
    }
    case Fn::kStartsWith:
    case Fn::kEndsWith: {
      SENDFLOW_RETURN_IF_ERROR(needType(0, ValueType::kString, "text"));
      SENDFLOW_RETURN_IF_ERROR(needType(1, ValueType::kString, "text"));
      const std::string& s = args[0].string;
      const std::string& part = args[1].string;
      if (part.size() > s.size()) return Value::ofBool(false);
      return Value::ofBool(node.fn == Fn::kStartsWith
                               ? s.compare(0, part.size(), part) == 0
                               : s.compare(s.size() - part.size(), part.size(), part) == 0);
    }
    case Fn::kLen:
      if (args[0].type == ValueType::kList)
        return Value::ofNumber(static_cast<double>(args[0].list->size()));
      SENDFLOW_RETURN_IF_ERROR(needType(0, ValueType::kString, "text or a list"));
      return Value::ofNumber(static_cast<double>(args[0].string.size()));
    case Fn::kDate: {
      if (args[0].type == ValueType::kString) {
        Date d;
        core::TimePoint t;
        if (parseDateText(args[0].string, d)) return Value::ofDate(d);
        if (parseDateTimeText(args[0].string, t))
          return Value::ofDate(std::chrono::floor<std::chrono::days>(t));
        return error(*node.kids[0], "'" + args[0].string + "' is not a date (write YYYY-MM-DD)");
      }
      Date d;
      SENDFLOW_RETURN_IF_ERROR(toDate(0, d));
      return Value::ofDate(d);
    }
    case Fn::kDateTime: {
      if (args[0].type == ValueType::kString) {
        core::TimePoint t;
        if (parseDateTimeText(args[0].string, t)) return Value::ofDateTime(t);
        return error(*node.kids[0], "'" + args[0].string + "' is not a date-time");
      }
      if (args[0].type == ValueType::kDate)
        return Value::ofDateTime(core::TimePoint(args[0].date.time_since_epoch()));
      SENDFLOW_RETURN_IF_ERROR(needType(0, ValueType::kDateTime, "a date"));
      return args[0];
    }
    case Fn::kYear:
    case Fn::kMonth:
    case Fn::kDay:
    case Fn::kWeekday: {
      Date d;
      SENDFLOW_RETURN_IF_ERROR(toDate(0, d));
      const std::chrono::year_month_day ymd{d};
      switch (node.fn) {
        case Fn::kYear:
          return Value::ofNumber(int(ymd.year()));
        case Fn::kMonth:
          return Value::ofNumber(unsigned(ymd.month()));
        case Fn::kDay:
          return Value::ofNumber(unsigned(ymd.day()));
        default:
          return Value::ofNumber(isoWeekday(d));
      }
    }
    case Fn::kAddWorkingDays: {
      Date d;
      SENDFLOW_RETURN_IF_ERROR(toDate(0, d));
      SENDFLOW_RETURN_IF_ERROR(needType(1, ValueType::kNumber, "a number of working days"));
      const double n = args[1].number;
      if (n != std::floor(n) || std::fabs(n) > 100000) {
        return error(*node.kids[1], fname + " needs a whole number of working days up to 100000");
      }
      return Value::ofDate(expression_.calendar().addWorkingDays(d, static_cast<long>(n)));
    }
    case Fn::kWorkingDaysBetween: {
      Date a, b;
      SENDFLOW_RETURN_IF_ERROR(toDate(0, a));
      SENDFLOW_RETURN_IF_ERROR(toDate(1, b));
      return Value::ofNumber(static_cast<double>(expression_.calendar().workingDaysBetween(a, b)));
    }
    case Fn::kIsWorkingDay: {
      Date d;
      SENDFLOW_RETURN_IF_ERROR(toDate(0, d));
      return Value::ofBool(expression_.calendar().isWorkingDay(d));
    }
    case Fn::kDays:
      return makeDuration(Unit::kDay);
    case Fn::kWeeks:
      return makeDuration(Unit::kWeek);
    case Fn::kHours:
      return makeDuration(Unit::kHour);
    case Fn::kMinutes:
      return makeDuration(Unit::kMinute);
    case Fn::kMonths:
      return makeDuration(Unit::kMonth);
    case Fn::kWorkingDays:
      return makeDuration(Unit::kWorkingDay);
    case Fn::kDuration: {
      if (args[0].type == ValueType::kDuration) return args[0];
      SENDFLOW_RETURN_IF_ERROR(needType(0, ValueType::kString, "text"));
      Duration d;
      if (!parseDuration(args[0].string, d)) {
        return error(*node.kids[0], "'" + args[0].string + "' is not a duration");
      }
      return Value::ofDuration(d);
    }
    case Fn::kPluck:
    case Fn::kWhere: {
      if (args[0].type == ValueType::kNull) return Value::ofList({});
      SENDFLOW_RETURN_IF_ERROR(needType(0, ValueType::kList, "a list of objects"));
      SENDFLOW_RETURN_IF_ERROR(needType(1, ValueType::kString, "a member name"));
      std::vector<Value> out;
      for (const Value& item : *args[0].list) {
        Value member;
        if (item.type == ValueType::kObject) {
          const auto it = item.object->find(args[1].string);
          if (it != item.object->end()) {
            SENDFLOW_ASSIGN_OR_RETURN(member, fromJson(node, *it, ValueType::kAny));
          }
        } else if (item.type != ValueType::kNull) {
          return error(*node.kids[0],
                       fname + " needs a list of objects, but it holds " + withArticle(item.type));
        }
        if (node.fn == Fn::kPluck) {
          out.push_back(std::move(member));
          continue;
        }
        SENDFLOW_ASSIGN_OR_RETURN(bool same, equal(node, member, args[2]));
        if (same) out.push_back(item);
      }
      return Value::ofList(std::move(out));
    }
    case Fn::kCoalesce:
      for (const Value& v : args) {
        if (v.type != ValueType::kNull) return v;
      }
      return Value::null();
    case Fn::kString: {
      if (args[0].type == ValueType::kString) return args[0];
      const json j = toJson(args[0]);
      return Value::ofString(j.is_string() ? j.get<std::string>() : j.dump());
    }
    case Fn::kNumber: {
      if (args[0].type == ValueType::kNumber) return args[0];
      if (args[0].type == ValueType::kBoolean) return Value::ofNumber(args[0].boolean ? 1 : 0);
      SENDFLOW_RETURN_IF_ERROR(needType(0, ValueType::kString, "text or a number"));
      char* end = nullptr;
      const double n = std::strtod(args[0].string.c_str(), &end);
      if (args[0].string.empty() || *end != '\0') {
        return error(*node.kids[0], "'" + args[0].string + "' is not a number");
      }
      return Value::ofNumber(n);
    }
  }
  return error(node, "unknown function");
}

core::Status syntaxFailure(std::string_view text, const SourceLocation& where, const SyntaxError& e,
                           const CompileOptions& options) {
  return core::invalidArgument(locateIn(text, where, options.positions, e.offset).toString() +
                               ": " + e.message);
}

core::StatusOr<std::vector<Token>> tokenize(std::string_view text, const SourceLocation& where,
                                            const CompileOptions& options) {
  if (text.size() > kMaxTextLength) {
    return core::invalidArgument(where.toString() + ": the expression is longer than " +
                                 std::to_string(kMaxTextLength) + " characters");
  }
  std::vector<Token> tokens;
  SyntaxError error{0, ""};
  if (!Lexer(text).run(tokens, error)) return syntaxFailure(text, where, error, options);
  return tokens;
}

}  // namespace

core::StatusOr<std::shared_ptr<const Expression>> Expression::compile(
    std::string_view text, const TypeEnvironment& variables, const SourceLocation& where) {
  return compile(text, variables, where, CompileOptions{});
}

core::StatusOr<std::shared_ptr<const Expression>> Expression::compile(
    std::string_view text, const TypeEnvironment& variables, const SourceLocation& where,
    const CompileOptions& options) {
  SENDFLOW_ASSIGN_OR_RETURN(std::vector<Token> tokens, tokenize(text, where, options));
  if (tokens.size() == 1)
    return core::invalidArgument(where.toString() + ": the expression is empty");
  Parser parser(std::move(tokens), variables);
  NodePtr root;
  SyntaxError error{0, ""};
  if (!parser.parseWhole(root, error)) return syntaxFailure(text, where, error, options);
  auto calendar = options.calendar ? options.calendar : WorkingCalendar::defaultCalendar();
  return std::shared_ptr<const Expression>(std::make_shared<CompiledExpression>(
      std::string(text), where, std::move(root), calendar, options.positions));
}

core::StatusOr<std::shared_ptr<const Expression>> Expression::compileUnaryTest(
    std::string_view text, ValueType column_type, const TypeEnvironment& variables,
    const SourceLocation& where, const CompileOptions& options) {
  SENDFLOW_ASSIGN_OR_RETURN(std::vector<Token> tokens, tokenize(text, where, options));
  if (tokens.size() == 1) {
    return core::invalidArgument(where.toString() +
                                 ": the test is empty (write '-' for any value)");
  }
  if (tokens.size() == 2 && tokens[0].kind == Tok::kSymbol && tokens[0].text == "-") {
    return std::shared_ptr<const Expression>();
  }
  TypeEnvironment with_column = variables;
  with_column["?"] = column_type;
  Parser parser(std::move(tokens), with_column);
  NodePtr root;
  std::optional<LiteralTestSet> shape;
  SyntaxError error{0, ""};
  if (!parser.parseUnaryTests(column_type, root, shape, error))
    return syntaxFailure(text, where, error, options);
  auto calendar = options.calendar ? options.calendar : WorkingCalendar::defaultCalendar();
  auto compiled = std::make_shared<CompiledExpression>(std::string(text), where, std::move(root),
                                                       calendar, options.positions);
  if (shape) compiled->setShape(std::move(*shape));
  return std::shared_ptr<const Expression>(std::move(compiled));
}

}  // namespace sendflow::engine
