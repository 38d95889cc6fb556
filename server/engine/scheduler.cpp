#include "server/engine/scheduler.h"

namespace sendflow::engine {

Scheduler::Scheduler(Runtime& runtime, const core::Clock& clock, FiringCalculator next_firing)
    : runtime_(runtime), clock_(clock), next_firing_(std::move(next_firing)) {}

core::StatusOr<int> Scheduler::tick() {
  int started = 0;
  core::Status first_error;
  const core::TimePoint now = clock_.now();
  for (const auto& def : runtime_.definitions()) {
    for (const Schedule& schedule : def->schedules) {
      const std::string key = def->id + "/" + schedule.id;
      core::Status st = runtime_.store().transact([&](store::Transaction& tx) -> core::Status {
        SENDFLOW_ASSIGN_OR_RETURN(auto last, tx.scheduleLastFired(key));
        if (!last) return tx.setScheduleLastFired(key, now);
        std::optional<core::TimePoint> due = next_firing_(schedule, *last);
        if (!due || *due > now) return core::Status::ok();
        // Skip to the latest firing that has come due; the earlier ones were missed.
        for (int guard = 0; guard < 100000; ++guard) {
          std::optional<core::TimePoint> following = next_firing_(schedule, *due);
          if (!following || *following > now || *following <= *due) break;
          due = following;
        }
        const std::string business_key = schedule.id + "@" + core::formatIso8601(*due);
        SENDFLOW_ASSIGN_OR_RETURN(
            StartResult r,
            runtime_.startInTransaction(tx, def->id, schedule.input, business_key, "scheduler"));
        if (r.created) ++started;
        return tx.setScheduleLastFired(key, *due);
      });
      if (!st.isOk() && first_error.isOk()) first_error = st.withContext("schedule " + key);
    }
  }
  if (!first_error.isOk()) return first_error;
  return started;
}

}  // namespace sendflow::engine
