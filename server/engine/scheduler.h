#pragma once
// Starts workflows from the schedules of the loaded definitions, by the injected Clock.
//
// Each schedule ("<definition>/<schedule id>") remembers in the store the last firing it
// started. On a tick, if one or more firings have come due since then, the workflow is started
// ONCE, for the latest of them, with the business key "<schedule id>@<firing, ISO 8601>", and
// the bookkeeping commits in the same transaction: after downtime a missed schedule runs once,
// not once per missed period, and two ticks (or two processes) cannot start it twice. A
// schedule seen for the first time starts counting from that tick.
//
// Timers, reminders and escalations are not here: they are jobs, run by the workers.
// Thread-safety: tick() may be called from any one thread at a time.

#include <functional>
#include <optional>

#include "server/core/clock.h"
#include "server/engine/definition.h"
#include "server/engine/runtime.h"

namespace sendflow::engine {

// The first firing of `schedule` strictly after `after`, or nullopt if it never fires again
// (schedule.h's nextFiring in app wiring).
using FiringCalculator =
    std::function<std::optional<core::TimePoint>(const Schedule& schedule, core::TimePoint after)>;

class Scheduler {
 public:
  // `runtime` and `clock` must outlive the scheduler.
  Scheduler(Runtime& runtime, const core::Clock& clock, FiringCalculator next_firing);

  // Starts what is due. Returns how many instances were started. A schedule whose start fails
  // (bad inputs) is reported in the Status after the others have been tried.
  core::StatusOr<int> tick();

 private:
  Runtime& runtime_;
  const core::Clock& clock_;
  FiringCalculator next_firing_;
};

}  // namespace sendflow::engine
