#include "server/prescreen/text_dates.h"

#include <array>
#include <cstdio>

#include "server/prescreen/phrase_matcher.h"

namespace sendflow::prescreen {
namespace {

using std::chrono::day;
using std::chrono::month;
using std::chrono::year;
using std::chrono::year_month_day;

constexpr std::array<std::string_view, 12> kMonths = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december"};

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Reads up to `max` digits at `pos`; returns the count read (0 when none).
std::size_t readNumber(std::string_view t, std::size_t pos, std::size_t max, int& value) {
  std::size_t n = 0;
  value = 0;
  while (pos + n < t.size() && n < max && isDigit(t[pos + n])) {
    value = value * 10 + (t[pos + n] - '0');
    ++n;
  }
  if (pos + n < t.size() && isDigit(t[pos + n])) return 0;  // longer than allowed
  return n;
}

// Reads a word of letters at `pos` (lower-cased into `word`); returns its length.
std::size_t readWord(std::string_view t, std::size_t pos, std::string& word) {
  word.clear();
  std::size_t n = 0;
  while (pos + n < t.size() && isAlpha(t[pos + n])) {
    word.push_back(static_cast<char>(lowerAscii(static_cast<unsigned char>(t[pos + n]))));
    ++n;
  }
  return n;
}

// 1..12 for a month name or its three-letter (or "Sept") abbreviation; 0 otherwise.
int monthNumber(const std::string& word) {
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (word == kMonths[i]) return static_cast<int>(i) + 1;
    if (word.size() >= 3 && word.size() < kMonths[i].size() && kMonths[i].starts_with(word) &&
        (word.size() == 3 || word == "sept")) {
      return static_cast<int>(i) + 1;
    }
  }
  return 0;
}

std::size_t skipSpaces(std::string_view t, std::size_t pos) {
  while (pos < t.size() && (t[pos] == ' ' || t[pos] == ',')) ++pos;
  return pos;
}

std::optional<Date> makeDate(int y, int m, int d) {
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || y < 1900 || y > 2200) return std::nullopt;
  return std::chrono::sys_days(ymd);
}

// Skips "st", "nd", "rd", "th" after a day number.
std::size_t skipOrdinal(std::string_view t, std::size_t pos) {
  if (pos + 1 < t.size()) {
    const char a = static_cast<char>(lowerAscii(static_cast<unsigned char>(t[pos])));
    const char b = static_cast<char>(lowerAscii(static_cast<unsigned char>(t[pos + 1])));
    const bool ordinal = (a == 's' && b == 't') || (a == 'n' && b == 'd') ||
                         (a == 'r' && b == 'd') || (a == 't' && b == 'h');
    if (ordinal && (pos + 2 == t.size() || !isAlpha(t[pos + 2]))) return pos + 2;
  }
  return pos;
}

}  // namespace

std::vector<DateMention> findDates(std::string_view t) {
  std::vector<DateMention> out;
  std::string word;
  std::size_t i = 0;
  while (i < t.size()) {
    const bool boundary = i == 0 || !(isDigit(t[i - 1]) || isAlpha(t[i - 1]));
    if (!boundary) {
      ++i;
      continue;
    }
    if (isDigit(t[i])) {
      int a = 0;
      const std::size_t na = readNumber(t, i, 4, a);
      if (na == 4 && i + 10 <= t.size() && t[i + 4] == '-') {  // 2025-03-12
        int m = 0, d = 0;
        if (readNumber(t, i + 5, 2, m) == 2 && t[i + 7] == '-' && readNumber(t, i + 8, 2, d) == 2) {
          if (auto date = makeDate(a, m, d)) {
            out.push_back({*date, i, 10});
            i += 10;
            continue;
          }
        }
      }
      if (na >= 1 && na <= 2) {
        std::size_t p = i + na;
        // 12/03/2025, 12.03.2025, 12-03-2025
        if (p < t.size() && (t[p] == '/' || t[p] == '.' || t[p] == '-')) {
          const char sep = t[p];
          int m = 0, y = 0;
          const std::size_t nm = readNumber(t, p + 1, 2, m);
          if (nm > 0 && p + 1 + nm < t.size() && t[p + 1 + nm] == sep) {
            const std::size_t ny = readNumber(t, p + 2 + nm, 4, y);
            if (ny == 4 || ny == 2) {
              if (ny == 2) y += 2000;
              if (auto date = makeDate(y, m, a)) {
                const std::size_t end = p + 2 + nm + ny;
                out.push_back({*date, i, end - i});
                i = end;
                continue;
              }
            }
          }
        }
        // 12 March 2025, 12th March, 2025
        p = skipOrdinal(t, p);
        const std::size_t w = skipSpaces(t, p);
        if (w > p || w == p) {
          const std::size_t nw = readWord(t, w, word);
          const int m = nw > 0 ? monthNumber(word) : 0;
          if (m > 0) {
            std::size_t q = w + nw;
            if (q < t.size() && t[q] == '.') ++q;  // "Sept."
            q = skipSpaces(t, q);
            int y = 0;
            if (readNumber(t, q, 4, y) == 4) {
              if (auto date = makeDate(y, m, a)) {
                out.push_back({*date, i, q + 4 - i});
                i = q + 4;
                continue;
              }
            }
          }
        }
      }
      i += std::max<std::size_t>(na, 1);
      continue;
    }
    if (isAlpha(t[i])) {
      const std::size_t nw = readWord(t, i, word);
      const int m = monthNumber(word);
      if (m > 0) {  // March 12, 2025
        std::size_t q = skipSpaces(t, i + nw);
        int d = 0, y = 0;
        const std::size_t nd = readNumber(t, q, 2, d);
        if (nd > 0) {
          std::size_t r = skipSpaces(t, skipOrdinal(t, q + nd));
          if (r > q + nd && readNumber(t, r, 4, y) == 4) {
            if (auto date = makeDate(y, m, d)) {
              out.push_back({*date, i, r + 4 - i});
              i = r + 4;
              continue;
            }
          }
        }
      }
      i += nw;
      continue;
    }
    ++i;
  }
  return out;
}

std::optional<Date> parseIsoDate(std::string_view text) {
  if (text.size() < 10) return std::nullopt;
  int y = 0, m = 0, d = 0;
  if (readNumber(text, 0, 4, y) != 4 || text[4] != '-' || readNumber(text, 5, 2, m) != 2 ||
      text[7] != '-' || readNumber(text, 8, 2, d) != 2) {
    return std::nullopt;
  }
  if (text.size() > 10 && text[10] != 'T' && text[10] != ' ') return std::nullopt;
  return makeDate(y, m, d);
}

std::string formatIsoDate(Date date) {
  const year_month_day ymd{date};
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buffer;
}

namespace {

// Words after a cue that make it a time frame. Each list is matched against the lower-cased
// words that follow the cue.
bool isPeriodWord(const std::string& w) {
  return w == "day" || w == "days" || w == "week" || w == "weeks" || w == "month" ||
         w == "months" || w == "term" || w == "terms" || w == "year" || w == "years" ||
         w == "half" || w == "academic";
}
bool isNumberWord(const std::string& w) {
  static const std::array<std::string_view, 13> kWords = {
      "a",   "an",   "one", "two",    "three",    "four", "five",
      "six", "nine", "ten", "twelve", "eighteen", "eight"};
  for (auto k : kWords) {
    if (w == k) return true;
  }
  return false;
}

class Words {
 public:
  explicit Words(std::string_view text) {
    std::string current;
    for (char c : text) {
      if (isAlpha(c) || isDigit(c)) {
        current.push_back(static_cast<char>(lowerAscii(static_cast<unsigned char>(c))));
      } else if (!current.empty()) {
        words_.push_back(std::move(current));
        current.clear();
      }
    }
    if (!current.empty()) words_.push_back(std::move(current));
  }
  std::size_t size() const { return words_.size(); }
  const std::string& at(std::size_t i) const {
    static const std::string kEmpty;
    return i < words_.size() ? words_[i] : kEmpty;
  }

 private:
  std::vector<std::string> words_;
};

bool isYearNumber(const std::string& w) {
  return w.size() == 4 && isDigit(w[0]) && isDigit(w[3]) && (w[0] == '2' || w[0] == '1');
}
bool isSmallNumber(const std::string& w) { return !w.empty() && w.size() <= 2 && isDigit(w[0]); }

}  // namespace

bool hasTimeFrame(std::string_view text) {
  const Words words(text);
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words.at(i);
    if (w == "by" || w == "before") {
      const std::string& n1 = words.at(i + 1);
      const std::string& n2 = words.at(i + 2);
      if (n1 == "the" && (n2 == "end" || n2 == "time" || n2 == "age" || n2 == "start" ||
                          n2 == "summer" || n2 == "spring" || n2 == "autumn")) {
        return true;
      }
      if (n1 == "age" || n1 == "year" || n1 == "yr" || n1 == "christmas" || n1 == "easter" ||
          n1 == "half" || n1 == "reception" || n1 == "transition" || n1 == "transfer") {
        return true;
      }
      if ((n1 == "summer" || n1 == "spring" || n1 == "autumn") &&
          (n2 == "term" || isYearNumber(n2))) {
        return true;
      }
      if (monthNumber(n1) > 0 && n1 != "may") return true;
      if (n1 == "may" && isYearNumber(n2)) return true;
      if (isYearNumber(n1) || (isSmallNumber(n1) && monthNumber(n2) > 0)) return true;
      if (isSmallNumber(n1) && !findDates(text).empty()) return true;
      if (w == "before" && (n1 == "he" || n1 == "she" || n1 == "they") &&
          (n2.starts_with("leave") || n2.starts_with("move") || n2.starts_with("transfer"))) {
        return true;
      }
    } else if (w == "within" || w == "over" || w == "in") {
      // within 12 months, within a term, within the next term, over the next year, in six weeks
      std::size_t j = i + 1;
      bool qualified = false;
      if (words.at(j) == "the") ++j;
      if (words.at(j) == "next" || words.at(j) == "coming") {
        ++j;
        qualified = true;
      }
      const std::string& n = words.at(j);
      if ((isSmallNumber(n) || isNumberWord(n)) && isPeriodWord(words.at(j + 1))) return true;
      if (isPeriodWord(n) && (qualified || (w == "within" && j > i + 1))) return true;
    } else if (w == "end" && words.at(i + 1) == "of") {
      // "at the end of Key Stage 3", "End of Year 5" in a "by when" column
      const std::string& n = words.at(i + 2) == "the" ? words.at(i + 3) : words.at(i + 2);
      if (n == "year" || n == "key" || n == "reception" || n == "term" || n == "academic" ||
          n == "summer" || n == "spring" || n == "autumn" || n == "nursery" || n == "ks1" ||
          n == "ks2" || n == "ks3" || n == "ks4" || n == "school" || n == "plan" ||
          isYearNumber(n) || monthNumber(n) > 0) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace sendflow::prescreen
