#include "server/prescreen/phrase_matcher.h"

#include <gtest/gtest.h>

namespace sendflow::prescreen {
namespace {

std::vector<std::string> matched(const PhraseMatcher& m, std::string_view text) {
  std::vector<PhraseMatch> out;
  m.match(text, out);
  std::vector<std::string> phrases;
  for (const auto& x : out) phrases.push_back(std::string(text.substr(x.offset, x.length)));
  return phrases;
}

TEST(PhraseMatcherTest, FindsWholeWordsIgnoringCase) {
  PhraseMatcher m({"may", "access to", "as required"});
  EXPECT_EQ(matched(m, "She MAY have Access To therapy, as required."),
            (std::vector<std::string>{"MAY", "Access To", "as required"}));
}

TEST(PhraseMatcherTest, IgnoresPhrasesInsideLongerWords) {
  PhraseMatcher m({"may", "regular"});
  EXPECT_TRUE(matched(m, "The mayor spoke irregularly; dismayed").empty());
  EXPECT_EQ(matched(m, "regular, may."), (std::vector<std::string>{"regular", "may"}));
}

TEST(PhraseMatcherTest, ReportsOverlappingPhrases) {
  PhraseMatcher m({"up to", "to", "opportunity", "opportunities"});
  EXPECT_EQ(matched(m, "up to opportunities"),
            (std::vector<std::string>{"up to", "to", "opportunities"}));
}

TEST(PhraseMatcherTest, EmptyListMatchesNothing) {
  PhraseMatcher m({});
  EXPECT_TRUE(matched(m, "anything at all").empty());
}

}  // namespace
}  // namespace sendflow::prescreen
