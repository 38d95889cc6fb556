#pragma once
// When a workflow's schedules fire. All times are UTC: `minute_of_day` 540 is 09:00 UTC (10:00
// in British Summer Time); a council that wants 09:00 local all year uses a cron schedule per
// season or accepts the hour's drift.
//
// Academic cadences fire at `minute_of_day` on the first working day (WorkingCalendar) on or
// after `day_of_month` of each month of the cadence (definition.h lists the months). Cron
// schedules use five fields "minute hour day-of-month month day-of-week" with lists (1,15),
// ranges (1-5), steps (*/15, 8-18/2) and names (JAN-DEC, SUN-SAT; 0 and 7 are Sunday); when both
// day fields are restricted, a day matching either fires (as in Vixie cron).
//
// The functions are pure and thread-safe.

#include <optional>
#include <string>
#include <string_view>

#include "server/core/clock.h"
#include "server/core/status.h"
#include "server/engine/calendar.h"
#include "server/engine/definition.h"

namespace sendflow::engine {

// OK when `cron` is a valid five-field expression, otherwise kInvalidArgument naming the field:
// "cron field 2 (hour): 25 is out of range 0-23".
core::Status checkCron(std::string_view cron);

// The first firing strictly after `after`. An invalid cron expression (the loader rejects
// them) or a cron that never fires (30 February) gives core::TimePoint::max().
core::TimePoint nextFiring(const Schedule& schedule, core::TimePoint after);
core::TimePoint nextFiring(const Schedule& schedule, core::TimePoint after,
                           const WorkingCalendar& calendar);

// The last firing at or before `at`, if any in the preceding six years. After downtime the
// scheduler starts this one firing once instead of one per missed period.
std::optional<core::TimePoint> lastFiring(const Schedule& schedule, core::TimePoint at);
std::optional<core::TimePoint> lastFiring(const Schedule& schedule, core::TimePoint at,
                                          const WorkingCalendar& calendar);

// The period a firing belongs to, for idempotent business keys "schedule-id@period":
// "2026-09" for the academic cadences, the firing's "YYYY-MM-DDTHH:MM" for cron.
std::string schedulePeriod(const Schedule& schedule, core::TimePoint firing);

}  // namespace sendflow::engine
