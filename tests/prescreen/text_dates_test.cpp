#include "server/prescreen/text_dates.h"

#include <gtest/gtest.h>

namespace sendflow::prescreen {
namespace {

std::vector<std::string> isoDates(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& d : findDates(text)) out.push_back(formatIsoDate(d.date));
  return out;
}

TEST(TextDatesTest, FindsTheWaysPlansWriteDates) {
  EXPECT_EQ(isoDates("Advice dated 12 March 2025 and 3rd April, 2025."),
            (std::vector<std::string>{"2025-03-12", "2025-04-03"}));
  EXPECT_EQ(isoDates("Received 12/03/2025, 17.03.2025 and 2025-03-20"),
            (std::vector<std::string>{"2025-03-12", "2025-03-17", "2025-03-20"}));
  EXPECT_EQ(isoDates("on March 5, 2025 and 1 Sept 2024"),
            (std::vector<std::string>{"2025-03-05", "2024-09-01"}));
}

TEST(TextDatesTest, SkipsImpossibleAndPartialDates) {
  EXPECT_TRUE(isoDates("31/02/2025, July 2027, 45 March 2025, 123/4/2025").empty());
}

TEST(TextDatesTest, ParsesAndFormatsIsoDates) {
  ASSERT_TRUE(parseIsoDate("2024-02-29").has_value());
  EXPECT_EQ(formatIsoDate(*parseIsoDate("2024-02-29T10:00:00Z")), "2024-02-29");
  EXPECT_FALSE(parseIsoDate("2025-02-29").has_value());
  EXPECT_FALSE(parseIsoDate("29/02/2024").has_value());
  EXPECT_FALSE(parseIsoDate("2024-02-291").has_value());
}

TEST(TextDatesTest, RecognisesTimeFrames) {
  for (const char* text :
       {"By the end of Year 6, Ali will read fluently.", "Ali will read fluently by July 2027.",
        "Within 12 months Ali will dress independently.",
        "Ali will travel by bus within the next term.", "By the age of 16, Ali will manage money.",
        "Ali will count to 20 by 31/07/2026.", "Ali will swim 25 metres | End of Year 5",
        "At the end of Key Stage 2 Ali will write a paragraph.",
        "Ali will cook a meal in six weeks."}) {
    EXPECT_TRUE(hasTimeFrame(text)) << text;
  }
}

TEST(TextDatesTest, OutcomesWithoutTimeFramesAreNotTimed) {
  for (const char* text : {"Ali will improve his reading.", "Ali will travel by bus to school.",
                           "Ali will be happy in school | Ongoing", "Ali may need help in May.",
                           "Ali will work in small groups."}) {
    EXPECT_FALSE(hasTimeFrame(text)) << text;
  }
}

}  // namespace
}  // namespace sendflow::prescreen
