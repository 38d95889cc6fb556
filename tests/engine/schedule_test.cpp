#include "server/engine/schedule.h"

#include <gtest/gtest.h>

namespace sendflow::engine {
namespace {

core::TimePoint at(const std::string& iso) {
  core::TimePoint t;
  EXPECT_TRUE(core::parseIso8601(iso, t)) << iso;
  return t;
}

std::string iso(core::TimePoint t) { return core::formatIso8601(t); }

Schedule academic(Cadence cadence, int day = 1, int minute = 9 * 60) {
  Schedule s;
  s.id = "s";
  s.cadence = cadence;
  s.day_of_month = day;
  s.minute_of_day = minute;
  return s;
}

Schedule cron(const std::string& expression) {
  Schedule s;
  s.id = "c";
  s.cadence = Cadence::kCron;
  s.cron = expression;
  return s;
}

TEST(ScheduleTest, MonthlyFiresOnTheFirstWorkingDay) {
  const Schedule s = academic(Cadence::kMonthly);
  // 1 November 2026 is a Sunday: Monday 2nd.
  EXPECT_EQ(iso(nextFiring(s, at("2026-10-15T00:00:00Z"))), "2026-11-02T09:00:00.000Z");
  // Strictly after: at the firing itself, the next month's.
  EXPECT_EQ(iso(nextFiring(s, at("2026-11-02T09:00:00Z"))), "2026-12-01T09:00:00.000Z");
  // Across the year end, past New Year's Day (a Friday in 2027): Monday 4 January.
  EXPECT_EQ(iso(nextFiring(s, at("2026-12-01T10:00:00Z"))), "2027-01-04T09:00:00.000Z");
}

TEST(ScheduleTest, TermlyFiresInSeptemberJanuaryAndApril) {
  const Schedule s = academic(Cadence::kTermly, 3, 8 * 60 + 30);
  EXPECT_EQ(iso(nextFiring(s, at("2026-06-01T00:00:00Z"))), "2026-09-03T08:30:00.000Z");
  EXPECT_EQ(iso(nextFiring(s, at("2026-09-03T08:30:00Z"))), "2027-01-04T08:30:00.000Z");
  // 3 April 2026 is Good Friday and 6 April Easter Monday: Tuesday 7th.
  EXPECT_EQ(iso(nextFiring(s, at("2026-01-10T00:00:00Z"))), "2026-04-07T08:30:00.000Z");
}

TEST(ScheduleTest, SixMonthlyQuarterlyAndAnnually) {
  EXPECT_EQ(iso(nextFiring(academic(Cadence::kSixMonthly), at("2026-09-02T00:00:00Z"))),
            "2027-03-01T09:00:00.000Z");
  EXPECT_EQ(iso(nextFiring(academic(Cadence::kQuarterly), at("2026-10-02T00:00:00Z"))),
            "2027-01-04T09:00:00.000Z");
  EXPECT_EQ(iso(nextFiring(academic(Cadence::kAnnually), at("2026-09-02T00:00:00Z"))),
            "2027-09-01T09:00:00.000Z");
}

TEST(ScheduleTest, LastFiringIsTheOneMissedDuringDowntime) {
  const Schedule s = academic(Cadence::kMonthly);
  const auto last = lastFiring(s, at("2027-03-20T00:00:00Z"));
  ASSERT_TRUE(last);
  EXPECT_EQ(iso(*last), "2027-03-01T09:00:00.000Z");
  EXPECT_EQ(iso(*lastFiring(s, at("2027-03-01T09:00:00Z"))), "2027-03-01T09:00:00.000Z");
  EXPECT_EQ(schedulePeriod(s, *last), "2027-03");
  // A firing that spilled into the next month still belongs to its cadence month.
  const Schedule late = academic(Cadence::kMonthly, 28);
  const auto spilled = nextFiring(late, at("2027-02-27T00:00:00Z"));
  EXPECT_EQ(iso(spilled), "2027-03-01T09:00:00.000Z");  // 28 Feb 2027 is a Sunday
  EXPECT_EQ(schedulePeriod(late, spilled), "2027-02");
}

TEST(ScheduleTest, CronListsRangesStepsAndNames) {
  EXPECT_EQ(iso(nextFiring(cron("*/15 * * * *"), at("2026-11-22T10:07:00Z"))),
            "2026-11-22T10:15:00.000Z");
  EXPECT_EQ(iso(nextFiring(cron("0 7 * * MON-FRI"), at("2026-11-20T08:00:00Z"))),
            "2026-11-23T07:00:00.000Z");
  EXPECT_EQ(iso(nextFiring(cron("30 9 1,15 * *"), at("2026-11-15T09:30:00Z"))),
            "2026-12-01T09:30:00.000Z");
  EXPECT_EQ(iso(nextFiring(cron("0 0 1 1 *"), at("2026-06-01T00:00:00Z"))),
            "2027-01-01T00:00:00.000Z");
  EXPECT_EQ(iso(nextFiring(cron("0 8-18/5 * * *"), at("2026-11-22T13:01:00Z"))),
            "2026-11-22T18:00:00.000Z");
  // Both day fields restricted: either matches (the 13th, or any Friday).
  EXPECT_EQ(iso(nextFiring(cron("0 12 13 * 5"), at("2026-11-21T00:00:00Z"))),
            "2026-11-27T12:00:00.000Z");
  EXPECT_EQ(nextFiring(cron("0 0 30 2 *"), at("2026-01-01T00:00:00Z")), core::TimePoint::max());
  EXPECT_EQ(iso(*lastFiring(cron("0 7 * * MON-FRI"), at("2026-11-22T12:00:00Z"))),
            "2026-11-20T07:00:00.000Z");
  EXPECT_EQ(schedulePeriod(cron("0 7 * * *"), at("2026-11-20T07:00:00Z")), "2026-11-20T07:00");
}

TEST(ScheduleTest, CronErrorsNameTheField) {
  EXPECT_TRUE(checkCron("0 9 1 * *").isOk());
  EXPECT_EQ(checkCron("0 25 * * *").message(), "cron field 2 (hour): 25 is out of range 0-23");
  EXPECT_EQ(checkCron("0 9 * *").message(),
            "cron needs 5 fields (minute hour day-of-month month day-of-week), found 4");
  EXPECT_EQ(checkCron("x 9 * * *").message(),
            "cron field 1 (minute): 'x' is not a number or a name");
  EXPECT_EQ(checkCron("0 9 * * 5-1").message(),
            "cron field 5 (day-of-week): the range '5-1' runs backwards");
  EXPECT_EQ(checkCron("*/0 9 * * *").message(), "cron field 1 (minute): '0' is not a step");
}

}  // namespace
}  // namespace sendflow::engine
