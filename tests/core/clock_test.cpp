#include "server/core/clock.h"

#include <gtest/gtest.h>

namespace sendflow::core {
namespace {

using namespace std::chrono;

TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
  TimePoint start;
  ASSERT_TRUE(parseIso8601("2026-09-01T09:00:00Z", start));
  ManualClock clock(start);
  EXPECT_EQ(clock.now(), start);
  clock.advance(hours(24 * 7));
  EXPECT_EQ(formatIso8601(clock.now()), "2026-09-08T09:00:00.000Z");
}

TEST(ClockTest, ParsesDatesDateTimesAndOffsets) {
  TimePoint t;
  ASSERT_TRUE(parseIso8601("2026-11-22", t));
  EXPECT_EQ(formatIso8601(t), "2026-11-22T00:00:00.000Z");
  ASSERT_TRUE(parseIso8601("2026-06-01T10:30:00+01:00", t));
  EXPECT_EQ(formatIso8601(t), "2026-06-01T09:30:00.000Z");
  ASSERT_TRUE(parseIso8601("2026-06-01T10:30:00.5Z", t));
  EXPECT_EQ(formatIso8601(t), "2026-06-01T10:30:00.500Z");
}

TEST(ClockTest, RejectsMalformedTimestamps) {
  TimePoint t;
  EXPECT_FALSE(parseIso8601("2026-13-01", t));
  EXPECT_FALSE(parseIso8601("2026-02-30", t));
  EXPECT_FALSE(parseIso8601("22/11/2026", t));
  EXPECT_FALSE(parseIso8601("2026-11-22T25:00:00Z", t));
  EXPECT_FALSE(parseIso8601("2026-11-22T10:00:00Zjunk", t));
}

}  // namespace
}  // namespace sendflow::core
