#include "server/engine/calendar.h"

#include <gtest/gtest.h>

namespace sendflow::engine {
namespace {

using namespace std::chrono;

Date d(int y, unsigned m, unsigned day) {
  return sys_days{year(y) / month(m) / std::chrono::day(day)};
}

TEST(WorkingCalendarTest, KnowsEnglandAndWalesBankHolidays) {
  auto calendar = WorkingCalendar::englandAndWales();
  EXPECT_TRUE(calendar->isBankHoliday(d(2025, 8, 25)));
  EXPECT_TRUE(calendar->isBankHoliday(d(2026, 12, 28)));  // substitute Boxing Day
  EXPECT_TRUE(calendar->isBankHoliday(d(2027, 3, 26)));   // Good Friday
  EXPECT_TRUE(calendar->isBankHoliday(d(2028, 1, 3)));    // substitute New Year's Day
  EXPECT_EQ(calendar->bankHolidays().size(), 32u);
  EXPECT_FALSE(calendar->isWorkingDay(d(2026, 11, 21)));  // Saturday
  EXPECT_TRUE(calendar->isWorkingDay(d(2026, 11, 23)));
}

TEST(WorkingCalendarTest, AddsAndCountsWorkingDaysBothWays) {
  auto calendar = WorkingCalendar::englandAndWales();
  const Date friday = d(2026, 12, 18);
  EXPECT_EQ(calendar->addWorkingDays(friday, 5), d(2026, 12, 29));  // skips 25 and 28 December
  EXPECT_EQ(calendar->addWorkingDays(d(2026, 12, 29), -5), friday);
  EXPECT_EQ(calendar->addWorkingDays(friday, 0), friday);
  EXPECT_EQ(calendar->addWorkingDays(d(2026, 11, 21), 1), d(2026, 11, 23));
  for (int n = -40; n <= 40; ++n) {
    EXPECT_EQ(calendar->workingDaysBetween(friday, calendar->addWorkingDays(friday, n)), n) << n;
  }
  EXPECT_EQ(calendar->firstWorkingDayOnOrAfter(d(2027, 1, 1)), d(2027, 1, 4));
}

TEST(WorkingCalendarTest, ParsesAListOfDatesAndNamesABadOne) {
  auto calendar = WorkingCalendar::parse("2026-01-01, 2026-12-25\n2026-12-28");
  ASSERT_TRUE(calendar.isOk());
  EXPECT_EQ((*calendar)->bankHolidays().size(), 3u);
  auto bad = WorkingCalendar::parse("2026-01-01, 25/12/2026");
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().message(), "bank holiday '25/12/2026' is not a date (write YYYY-MM-DD)");
}

TEST(WorkingCalendarTest, DefaultCanBeReplacedAndRestored) {
  auto custom = std::make_shared<const WorkingCalendar>(std::vector<Date>{});
  WorkingCalendar::setDefault(custom);
  EXPECT_EQ(WorkingCalendar::defaultCalendar(), custom);
  WorkingCalendar::setDefault(nullptr);
  EXPECT_EQ(WorkingCalendar::defaultCalendar(), WorkingCalendar::englandAndWales());
}

}  // namespace
}  // namespace sendflow::engine
