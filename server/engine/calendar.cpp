#include "server/engine/calendar.h"

#include <cstdio>
#include <mutex>
#include <string>

#include "server/core/clock.h"

namespace sendflow::engine {
namespace {

constexpr std::string_view kEnglandAndWales2025To2028[] = {
    // 2025
    "2025-01-01",
    "2025-04-18",
    "2025-04-21",
    "2025-05-05",
    "2025-05-26",
    "2025-08-25",
    "2025-12-25",
    "2025-12-26",
    // 2026 (Boxing Day falls on a Saturday: substitute Monday 28 December)
    "2026-01-01",
    "2026-04-03",
    "2026-04-06",
    "2026-05-04",
    "2026-05-25",
    "2026-08-31",
    "2026-12-25",
    "2026-12-28",
    // 2027 (Christmas Day and Boxing Day fall on a weekend: substitutes 27 and 28 December)
    "2027-01-01",
    "2027-03-26",
    "2027-03-29",
    "2027-05-03",
    "2027-05-31",
    "2027-08-30",
    "2027-12-27",
    "2027-12-28",
    // 2028 (New Year's Day falls on a Saturday: substitute Monday 3 January)
    "2028-01-03",
    "2028-04-14",
    "2028-04-17",
    "2028-05-01",
    "2028-05-29",
    "2028-08-28",
    "2028-12-25",
    "2028-12-26",
};

bool parseDate(std::string_view text, Date& out) {
  if (text.size() != 10) return false;
  core::TimePoint t;
  if (!core::parseIso8601(std::string(text), t)) return false;
  out = std::chrono::floor<std::chrono::days>(t);
  return true;
}

std::mutex default_mutex;
std::shared_ptr<const WorkingCalendar> default_calendar;  // guarded by default_mutex

}  // namespace

int isoWeekday(Date day) {
  const unsigned c = std::chrono::weekday(day).c_encoding();  // 0 = Sunday
  return c == 0 ? 7 : static_cast<int>(c);
}

WorkingCalendar::WorkingCalendar(std::vector<Date> bank_holidays)
    : bank_holidays_(bank_holidays.begin(), bank_holidays.end()) {}

std::shared_ptr<const WorkingCalendar> WorkingCalendar::englandAndWales() {
  static const std::shared_ptr<const WorkingCalendar> calendar = [] {
    std::vector<Date> days;
    for (std::string_view text : kEnglandAndWales2025To2028) {
      Date d;
      if (parseDate(text, d)) days.push_back(d);
    }
    return std::make_shared<const WorkingCalendar>(std::move(days));
  }();
  return calendar;
}

std::shared_ptr<const WorkingCalendar> WorkingCalendar::defaultCalendar() {
  std::lock_guard<std::mutex> lock(default_mutex);
  if (!default_calendar) return englandAndWales();
  return default_calendar;
}

void WorkingCalendar::setDefault(std::shared_ptr<const WorkingCalendar> calendar) {
  std::lock_guard<std::mutex> lock(default_mutex);
  default_calendar = std::move(calendar);
}

core::StatusOr<std::shared_ptr<const WorkingCalendar>> WorkingCalendar::parse(
    std::string_view list) {
  std::vector<Date> days;
  std::size_t pos = 0;
  while (pos < list.size()) {
    while (pos < list.size() && (list[pos] == ',' || list[pos] == ' ' || list[pos] == '\n' ||
                                 list[pos] == '\t' || list[pos] == '\r')) {
      ++pos;
    }
    std::size_t end = pos;
    while (end < list.size() && list[end] != ',' && list[end] != ' ' && list[end] != '\n' &&
           list[end] != '\t' && list[end] != '\r') {
      ++end;
    }
    if (end == pos) break;
    const std::string_view entry = list.substr(pos, end - pos);
    Date d;
    if (!parseDate(entry, d)) {
      return core::invalidArgument("bank holiday '" + std::string(entry) +
                                   "' is not a date (write YYYY-MM-DD)");
    }
    days.push_back(d);
    pos = end;
  }
  return std::make_shared<const WorkingCalendar>(std::move(days));
}

bool WorkingCalendar::isWorkingDay(Date day) const {
  return isoWeekday(day) <= 5 && !isBankHoliday(day);
}

Date WorkingCalendar::addWorkingDays(Date from, long n) const {
  const std::chrono::days step{n >= 0 ? 1 : -1};
  long remaining = n >= 0 ? n : -n;
  Date day = from;
  while (remaining > 0) {
    day += step;
    if (isWorkingDay(day)) --remaining;
  }
  return day;
}

long WorkingCalendar::workingDaysBetween(Date from, Date to) const {
  if (to < from) return -workingDaysBetween(to, from);
  // Whole weeks hold five weekdays each; count the rest day by day, then take out the bank
  // holidays that fall on weekdays in (from, to].
  const long span = (to - from).count();
  long count = (span / 7) * 5;
  for (Date day = from + std::chrono::days((span / 7) * 7 + 1); day <= to;
       day += std::chrono::days(1)) {
    if (isoWeekday(day) <= 5) ++count;
  }
  for (auto it = bank_holidays_.upper_bound(from); it != bank_holidays_.end() && *it <= to; ++it) {
    if (isoWeekday(*it) <= 5) --count;
  }
  return count;
}

Date WorkingCalendar::firstWorkingDayOnOrAfter(Date day) const {
  while (!isWorkingDay(day)) day += std::chrono::days(1);
  return day;
}

}  // namespace sendflow::engine
