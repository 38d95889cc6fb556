#include "server/prescreen/section_heading.h"

#include <gtest/gtest.h>

namespace sendflow::prescreen {
namespace {

int sectionOf(std::string_view text, bool heading_like, bool* labelled = nullptr) {
  auto h = detectSectionHeading(text, heading_like);
  if (!h) return -1;
  if (labelled != nullptr) *labelled = h->labelled;
  return h->section;
}

TEST(SectionHeadingTest, RecognisesTheUsualWritings) {
  EXPECT_EQ(sectionOf("Section A: Views, interests and aspirations", false), 0);
  EXPECT_EQ(sectionOf("Section A", false), 0);
  EXPECT_EQ(sectionOf("SECTION F \xE2\x80\x93 Special educational provision", false), 5);
  EXPECT_EQ(sectionOf("F: Special educational provision", false), 5);
  EXPECT_EQ(sectionOf("K - Advice and information", true), 10);
  EXPECT_EQ(sectionOf("E. Outcomes", false), 4);
  EXPECT_EQ(sectionOf("H1: Social care provision under the CSDPA", false), 7);
  EXPECT_EQ(sectionOf("Section H2", true), 7);
  EXPECT_EQ(sectionOf("Section B (special educational needs)", false), 1);
}

TEST(SectionHeadingTest, ATitleAloneIsAnUnlabelledSectionOnlyWhenItLooksLikeAHeading) {
  bool labelled = true;
  EXPECT_EQ(sectionOf("Personal budget", true, &labelled), 9);
  EXPECT_FALSE(labelled);
  EXPECT_EQ(sectionOf("Personal budget", false), -1);
  EXPECT_EQ(sectionOf("Health needs:", true, &labelled), 2);
}

TEST(SectionHeadingTest, IgnoresSentencesThatStartLikeHeadings) {
  EXPECT_EQ(sectionOf("Section F of the plan will be reviewed next year by the panel", false), -1);
  EXPECT_EQ(sectionOf("A: she said she likes it", false), -1);
  EXPECT_EQ(sectionOf("About me", true), -1);
  EXPECT_EQ(sectionOf("I am happy at school", true), -1);
  EXPECT_EQ(sectionOf("Social, emotional and mental health", true), -1);
  EXPECT_EQ(sectionOf("Section Z: Other", true), -1);
}

TEST(SectionHeadingTest, LetterWithSeparatorNeedsHeadingLooksOrTheTitle) {
  EXPECT_EQ(sectionOf("G: Health provision", false), 6);
  EXPECT_EQ(sectionOf("G: Therapies", true), 6);
  EXPECT_EQ(sectionOf("G: Therapies", false), -1);
}

}  // namespace
}  // namespace sendflow::prescreen
