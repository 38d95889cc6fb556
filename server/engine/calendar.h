#pragma once
// Working days: Monday to Friday, minus bank holidays. The statutory SEND timescales that are
// counted in working days ("10 working days") and the academic schedules ("the first working
// day on or after the 1st") use a WorkingCalendar.
//
// The default calendar holds the England and Wales bank holidays 2025-2028. A council can
// replace it (for example from the `calendar.bank_holidays` setting, a comma-separated list of
// ISO dates) with WorkingCalendar::setDefault(); expressions compiled afterwards use the new one.
//
// A WorkingCalendar is immutable and safe to share between threads. setDefault()/defaultCalendar()
// are thread-safe.

#include <chrono>
#include <memory>
#include <set>
#include <string_view>
#include <vector>

#include "server/core/status.h"

namespace sendflow::engine {

using Date = std::chrono::sys_days;

class WorkingCalendar {
 public:
  explicit WorkingCalendar(std::vector<Date> bank_holidays);

  // England and Wales bank holidays 2025-2028 (gov.uk list, with substitute days).
  static std::shared_ptr<const WorkingCalendar> englandAndWales();
  // The calendar used by expressions and schedules when none is given. Never null.
  static std::shared_ptr<const WorkingCalendar> defaultCalendar();
  // Replaces the default; nullptr restores englandAndWales().
  static void setDefault(std::shared_ptr<const WorkingCalendar> calendar);

  // Parses "2026-12-25, 2026-12-28" (commas, spaces or newlines between dates). An empty text
  // gives a calendar with no bank holidays. kInvalidArgument names the first bad entry.
  static core::StatusOr<std::shared_ptr<const WorkingCalendar>> parse(std::string_view list);

  bool isBankHoliday(Date day) const { return bank_holidays_.count(day) != 0; }
  bool isWorkingDay(Date day) const;

  // The day `n` working days after `from` (n > 0), before it (n < 0), or `from` itself (n == 0).
  // `from` need not be a working day: 1 working day after a Saturday is the Monday (if it is
  // not a bank holiday).
  Date addWorkingDays(Date from, long n) const;
  // Working days in (from, to]: 0 when equal, negative when `to` is before `from`. So
  // workingDaysBetween(d, addWorkingDays(d, n)) == n for every n.
  long workingDaysBetween(Date from, Date to) const;
  // `day` when it is a working day, otherwise the next working day.
  Date firstWorkingDayOnOrAfter(Date day) const;

  const std::set<Date>& bankHolidays() const { return bank_holidays_; }

 private:
  std::set<Date> bank_holidays_;
};

// Weekday of `day`: 1 = Monday ... 7 = Sunday (ISO 8601).
int isoWeekday(Date day);

}  // namespace sendflow::engine
