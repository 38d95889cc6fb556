#include "server/prescreen/section_heading.h"

#include <string>
#include <vector>

#include "server/prescreen/phrase_matcher.h"

namespace sendflow::prescreen {
namespace {

struct SectionTitles {
  const char* canonical;
  std::vector<std::string_view> accepted;  // lower-case prefixes of a title
};

const std::array<SectionTitles, kSectionCount>& titles() {
  static const std::array<SectionTitles, kSectionCount> kTitles = {{
      {"views, interests and aspirations",
       {"views, interests and aspirations", "views interests and aspirations",
        "the views, interests and aspirations", "the child's views", "the young person's views",
        "views, wishes", "all about me"}},
      {"special educational needs",
       {"special educational needs", "the child's special educational needs",
        "the young person's special educational needs"}},
      {"health needs", {"health needs", "the child's health needs", "medical needs"}},
      {"social care needs", {"social care needs", "the child's social care needs"}},
      {"outcomes", {"outcomes", "the outcomes sought"}},
      {"special educational provision", {"special educational provision"}},
      {"health provision", {"health provision"}},
      {"social care provision", {"social care provision", "other social care provision"}},
      {"placement",
       {"placement", "educational placement", "name and type of school", "the name of the school",
        "name of school", "school or other institution"}},
      {"personal budget", {"personal budget"}},
      {"advice and information",
       {"advice and information", "advice obtained", "the advice and information"}},
  }};
  return kTitles;
}

// Skips spaces and one separator (":", "-", ".", ")", en or em dash) with the spaces after it.
// `had_separator` tells whether a separator was there.
std::size_t skipSeparator(std::string_view s, std::size_t pos, bool& had_separator) {
  had_separator = false;
  while (pos < s.size() && s[pos] == ' ') ++pos;
  if (pos < s.size() && (s[pos] == ':' || s[pos] == '-' || s[pos] == '.' || s[pos] == ')')) {
    had_separator = true;
    ++pos;
  } else if (s.substr(pos, 3) == "\xE2\x80\x93" || s.substr(pos, 3) == "\xE2\x80\x94") {
    had_separator = true;
    pos += 3;
  }
  while (pos < s.size() && s[pos] == ' ') ++pos;
  return pos;
}

// The section at the start of `s` ("a".."k", "h1", "h2"), with its length; -1 when none.
int sectionLetterAt(std::string_view s, std::size_t pos, std::size_t& length) {
  if (pos >= s.size()) return -1;
  const char c = s[pos];
  if (c < 'a' || c > 'k') return -1;
  length = 1;
  if (c == 'h' && pos + 1 < s.size() && (s[pos + 1] == '1' || s[pos + 1] == '2')) length = 2;
  if (pos + length < s.size() && isWordByte(static_cast<unsigned char>(s[pos + length]))) {
    return -1;  // "about", "E1" ...
  }
  return c - 'a';
}

bool startsWithTitle(std::string_view rest, int section) {
  for (std::string_view title : titles()[static_cast<std::size_t>(section)].accepted) {
    if (rest.starts_with(title) && (rest.size() == title.size() ||
                                    !isWordByte(static_cast<unsigned char>(rest[title.size()])))) {
      return true;
    }
  }
  return false;
}

int wordCount(std::string_view s) {
  int words = 0;
  bool in_word = false;
  for (char c : s) {
    const bool w = c != ' ';
    if (w && !in_word) ++words;
    in_word = w;
  }
  return words;
}

}  // namespace

const char* sectionTitle(int section) {
  return titles()[static_cast<std::size_t>(section)].canonical;
}

std::optional<SectionHeading> detectSectionHeading(std::string_view text, bool heading_like) {
  constexpr std::size_t kLongest = 160;  // longer paragraphs are prose, not headings
  if (text.empty() || text.size() > kLongest) return std::nullopt;
  if (!heading_like) {
    // Without heading looks only "Section X..." or "X: ..." can be a heading: reject the rest of
    // the body text before any work.
    const unsigned char first = lowerAscii(static_cast<unsigned char>(text[0]));
    const bool letter_then_break =
        first >= 'a' && first <= 'k' &&
        (text.size() == 1 || !isWordByte(static_cast<unsigned char>(text[1])) ||
         (first == 'h' && (text[1] == '1' || text[1] == '2')));
    if (first != 's' && !letter_then_break) return std::nullopt;
  }
  char buffer[kLongest];
  for (std::size_t i = 0; i < text.size(); ++i) {
    buffer[i] = static_cast<char>(lowerAscii(static_cast<unsigned char>(text[i])));
  }
  const std::string_view s(buffer, text.size());
  const int words = wordCount(s);

  // "Section A ..." / "Section H1 ..."
  if (s.starts_with("section ")) {
    std::size_t length = 0;
    const int section = sectionLetterAt(s, 8, length);
    if (section >= 0) {
      bool separator = false;
      const std::size_t rest = skipSeparator(s, 8 + length, separator);
      const std::string_view tail = s.substr(rest);
      if (tail.empty() || separator || heading_like || startsWithTitle(tail, section) ||
          (tail.starts_with("(") && words <= 12)) {
        return SectionHeading{section, true};
      }
    }
    return std::nullopt;
  }

  // "A: Views ...", "F - Special educational provision", "H1 Social care provision"
  std::size_t length = 0;
  const int section = sectionLetterAt(s, 0, length);
  if (section >= 0) {
    bool separator = false;
    const std::size_t rest = skipSeparator(s, length, separator);
    const std::string_view tail = s.substr(rest);
    const bool titled = startsWithTitle(tail, section);
    if ((separator || length == 2 || titled) &&
        (titled || (heading_like && words <= 12 && separator))) {
      return SectionHeading{section, true};
    }
  }

  // A title alone, in a heading: the section is there but not labelled with its letter.
  if (heading_like && words <= 10) {
    for (int k = 0; k < kSectionCount; ++k) {
      if (startsWithTitle(s, k)) return SectionHeading{k, false};
    }
  }
  return std::nullopt;
}

}  // namespace sendflow::prescreen
