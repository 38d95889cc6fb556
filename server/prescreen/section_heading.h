#pragma once
// Recognises the headings of an EHC plan's sections A to K (SEND Regulations 2014 reg 12) however
// the council's template writes them: "Section A: Views, interests and aspirations", "Section A",
// "A: ...", "A - ...", "Section A – ...", "H1 Social care provision", or the title alone ("Special
// educational provision"), which counts as an unlabelled section. Pure functions, thread-safe.

#include <array>
#include <optional>
#include <string_view>

namespace sendflow::prescreen {

// A..K in order; H1 and H2 are both section H.
constexpr int kSectionCount = 11;
constexpr std::array<char, kSectionCount> kSectionLetters = {'A', 'B', 'C', 'D', 'E', 'F',
                                                             'G', 'H', 'I', 'J', 'K'};
// "views, interests and aspirations", "special educational needs", ...
const char* sectionTitle(int section);

struct SectionHeading {
  int section = 0;       // 0 for A .. 10 for K
  bool labelled = true;  // false when only the title was written, with no letter
};

// `heading_like` says whether the paragraph looks like a heading (a heading style, bold, or the
// first cell of a table row). A paragraph that starts "Section X" is a heading when short or
// followed by a separator; "X:" / "X -" needs heading looks or the section's title after it; a
// title alone needs heading looks. Returns nullopt for anything else.
std::optional<SectionHeading> detectSectionHeading(std::string_view text, bool heading_like);

}  // namespace sendflow::prescreen
