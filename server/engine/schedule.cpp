#include "server/engine/schedule.h"

#include <array>
#include <bitset>
#include <cctype>
#include <cstdio>
#include <vector>

namespace sendflow::engine {
namespace {

using namespace std::chrono;

struct CronField {
  const char* name;
  int low;
  int high;
};

constexpr CronField kCronFields[] = {
    {"minute", 0, 59}, {"hour", 0, 23},       {"day-of-month", 1, 31},
    {"month", 1, 12},  {"day-of-week", 0, 7},
};

struct CronSpec {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;
  std::bitset<13> months;
  std::bitset<8> weekdays;  // 0 = Sunday
  bool days_restricted = false;
  bool weekdays_restricted = false;
};

int nameValue(std::string_view word, int field) {
  static const char* kMonths[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                  "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
  static const char* kDays[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};
  std::string upper;
  for (char c : word) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (field == 3) {
    for (int i = 0; i < 12; ++i) {
      if (upper == kMonths[i]) return i + 1;
    }
  }
  if (field == 4) {
    for (int i = 0; i < 7; ++i) {
      if (upper == kDays[i]) return i;
    }
  }
  return -1;
}

core::Status parseValue(std::string_view text, int field, int& out) {
  const CronField& f = kCronFields[field];
  const std::string prefix = "cron field " + std::to_string(field + 1) + " (" + f.name + "): ";
  if (text.empty()) return core::invalidArgument(prefix + "a value is missing");
  if (std::isalpha(static_cast<unsigned char>(text[0]))) {
    out = nameValue(text, field);
    if (out < 0)
      return core::invalidArgument(prefix + "'" + std::string(text) +
                                   "' is not a number or a name");
    return core::Status::ok();
  }
  int value = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c)) || value > 1000) {
      return core::invalidArgument(prefix + "'" + std::string(text) + "' is not a number");
    }
    value = value * 10 + (c - '0');
  }
  if (value < f.low || value > f.high) {
    return core::invalidArgument(prefix + std::to_string(value) + " is out of range " +
                                 std::to_string(f.low) + "-" + std::to_string(f.high));
  }
  out = value;
  return core::Status::ok();
}

core::Status parseField(std::string_view text, int field, std::vector<int>& values, bool& star) {
  const CronField& f = kCronFields[field];
  star = text == "*";
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(pos, comma - pos);
    int step = 1;
    if (const std::size_t slash = item.find('/'); slash != std::string_view::npos) {
      const std::string_view step_text = item.substr(slash + 1);
      step = 0;
      for (char c : step_text) {
        if (!std::isdigit(static_cast<unsigned char>(c)) || step > 1000) {
          step = 0;
          break;
        }
        step = step * 10 + (c - '0');
      }
      if (step <= 0) {
        return core::invalidArgument("cron field " + std::to_string(field + 1) + " (" + f.name +
                                     "): '" + std::string(step_text) + "' is not a step");
      }
      item = item.substr(0, slash);
    }
    int low = f.low, high = f.high;
    if (item != "*") {
      const std::size_t dash = item.find('-');
      SENDFLOW_RETURN_IF_ERROR(parseValue(item.substr(0, dash), field, low));
      if (dash != std::string_view::npos) {
        SENDFLOW_RETURN_IF_ERROR(parseValue(item.substr(dash + 1), field, high));
        if (high < low) {
          return core::invalidArgument("cron field " + std::to_string(field + 1) + " (" + f.name +
                                       "): the range '" + std::string(item) + "' runs backwards");
        }
      } else if (step != 1) {
        high = f.high;
      } else {
        high = low;
      }
    }
    for (int v = low; v <= high; v += step) values.push_back(v);
    pos = comma + 1;
  }
  return core::Status::ok();
}

core::StatusOr<CronSpec> parseCron(std::string_view cron) {
  std::vector<std::string_view> fields;
  std::size_t pos = 0;
  while (pos < cron.size()) {
    while (pos < cron.size() && std::isspace(static_cast<unsigned char>(cron[pos]))) ++pos;
    std::size_t end = pos;
    while (end < cron.size() && !std::isspace(static_cast<unsigned char>(cron[end]))) ++end;
    if (end > pos) fields.push_back(cron.substr(pos, end - pos));
    pos = end;
  }
  if (fields.size() != 5) {
    return core::invalidArgument(
        "cron needs 5 fields (minute hour day-of-month month day-of-week), found " +
        std::to_string(fields.size()));
  }
  CronSpec spec;
  for (int i = 0; i < 5; ++i) {
    std::vector<int> values;
    bool star = false;
    SENDFLOW_RETURN_IF_ERROR(parseField(fields[i], i, values, star));
    for (int v : values) {
      switch (i) {
        case 0:
          spec.minutes.set(v);
          break;
        case 1:
          spec.hours.set(v);
          break;
        case 2:
          spec.days.set(v);
          break;
        case 3:
          spec.months.set(v);
          break;
        default:
          spec.weekdays.set(v % 7);
          break;
      }
    }
    if (i == 2) spec.days_restricted = !star;
    if (i == 4) spec.weekdays_restricted = !star;
  }
  return spec;
}

bool dayMatches(const CronSpec& spec, sys_days day) {
  const year_month_day ymd{day};
  if (!spec.months.test(unsigned(ymd.month()))) return false;
  const bool dom = spec.days.test(unsigned(ymd.day()));
  const bool dow = spec.weekdays.test(weekday(day).c_encoding());
  if (spec.days_restricted && spec.weekdays_restricted) return dom || dow;
  return dom && dow;
}

constexpr int kSearchDays = 366 * 6;

core::TimePoint nextCron(const CronSpec& spec, core::TimePoint after) {
  const sys_days first = floor<days>(after);
  for (int i = 0; i < kSearchDays; ++i) {
    const sys_days day = first + days(i);
    if (!dayMatches(spec, day)) continue;
    for (int h = 0; h < 24; ++h) {
      if (!spec.hours.test(h)) continue;
      for (int m = 0; m < 60; ++m) {
        if (!spec.minutes.test(m)) continue;
        const core::TimePoint t(day.time_since_epoch() + hours(h) + minutes(m));
        if (t > after) return t;
      }
    }
  }
  return core::TimePoint::max();
}

std::optional<core::TimePoint> lastCron(const CronSpec& spec, core::TimePoint at) {
  const sys_days first = floor<days>(at);
  for (int i = 0; i < kSearchDays; ++i) {
    const sys_days day = first - days(i);
    if (!dayMatches(spec, day)) continue;
    for (int h = 23; h >= 0; --h) {
      if (!spec.hours.test(h)) continue;
      for (int m = 59; m >= 0; --m) {
        if (!spec.minutes.test(m)) continue;
        const core::TimePoint t(day.time_since_epoch() + hours(h) + minutes(m));
        if (t <= at) return t;
      }
    }
  }
  return std::nullopt;
}

bool cadenceMonth(Cadence cadence, unsigned month) {
  switch (cadence) {
    case Cadence::kMonthly:
      return true;
    case Cadence::kTermly:
      return month == 9 || month == 1 || month == 4;
    case Cadence::kSixMonthly:
      return month == 9 || month == 3;
    case Cadence::kQuarterly:
      return month == 1 || month == 4 || month == 7 || month == 10;
    case Cadence::kAnnually:
      return month == 9;
    case Cadence::kCron:
      return false;
  }
  return false;
}

// The firing of the cadence in month `index` (months since year 0), if that month is in it.
std::optional<core::TimePoint> firingInMonth(const Schedule& s, long index,
                                             const WorkingCalendar& calendar) {
  const int y = static_cast<int>(index / 12);
  const unsigned m = static_cast<unsigned>(index % 12) + 1;
  if (!cadenceMonth(s.cadence, m)) return std::nullopt;
  const unsigned dom = static_cast<unsigned>(std::clamp(s.day_of_month, 1, 28));
  const sys_days day = calendar.firstWorkingDayOnOrAfter(sys_days{year(y) / month(m) / dom});
  return core::TimePoint(day.time_since_epoch() + minutes(std::clamp(s.minute_of_day, 0, 1439)));
}

long monthIndex(core::TimePoint t) {
  const year_month_day ymd{floor<days>(t)};
  return static_cast<long>(int(ymd.year())) * 12 + unsigned(ymd.month()) - 1;
}

}  // namespace

core::Status checkCron(std::string_view cron) {
  auto spec = parseCron(cron);
  if (!spec.isOk()) return spec.status();
  return core::Status::ok();
}

core::TimePoint nextFiring(const Schedule& schedule, core::TimePoint after) {
  return nextFiring(schedule, after, *WorkingCalendar::defaultCalendar());
}

core::TimePoint nextFiring(const Schedule& schedule, core::TimePoint after,
                           const WorkingCalendar& calendar) {
  if (schedule.cadence == Cadence::kCron) {
    auto spec = parseCron(schedule.cron);
    if (!spec.isOk()) return core::TimePoint::max();
    return nextCron(*spec, after);
  }
  // A firing can spill into the next month (the first working day after the 28th), so start
  // one month back.
  const long start = monthIndex(after) - 1;
  for (long index = start; index < start + 30; ++index) {
    const auto firing = firingInMonth(schedule, index, calendar);
    if (firing && *firing > after) return *firing;
  }
  return core::TimePoint::max();
}

std::optional<core::TimePoint> lastFiring(const Schedule& schedule, core::TimePoint at) {
  return lastFiring(schedule, at, *WorkingCalendar::defaultCalendar());
}

std::optional<core::TimePoint> lastFiring(const Schedule& schedule, core::TimePoint at,
                                          const WorkingCalendar& calendar) {
  if (schedule.cadence == Cadence::kCron) {
    auto spec = parseCron(schedule.cron);
    if (!spec.isOk()) return std::nullopt;
    return lastCron(*spec, at);
  }
  const long start = monthIndex(at) + 1;
  for (long index = start; index > start - 6 * 12; --index) {
    const auto firing = firingInMonth(schedule, index, calendar);
    if (firing && *firing <= at) return *firing;
  }
  return std::nullopt;
}

std::string schedulePeriod(const Schedule& schedule, core::TimePoint firing) {
  const std::string iso = core::formatIso8601(firing);
  if (schedule.cadence == Cadence::kCron) return iso.substr(0, 16);
  // The period is the cadence month, even when the first working day fell in the next month.
  long index = monthIndex(firing);
  const auto in_month = [&](long i) {
    const auto f = firingInMonth(schedule, i, *WorkingCalendar::defaultCalendar());
    return f && *f == firing;
  };
  if (!in_month(index) && in_month(index - 1)) --index;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04ld-%02ld", index / 12, index % 12 + 1);
  return buf;
}

}  // namespace sendflow::engine
