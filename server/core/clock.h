#pragma once
// The time source. Everything that computes a deadline, a timer, a schedule or a token expiry
// takes a Clock so that tests move time by hand. Implementations are thread-safe.

#include <atomic>
#include <chrono>

namespace sendflow::core {

using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;

class Clock {
 public:
  virtual ~Clock() = default;
  // The current UTC time, to the millisecond.
  virtual TimePoint now() const = 0;
};

// Wall-clock time.
class SystemClock final : public Clock {
 public:
  TimePoint now() const override;
};

// A clock that only moves when told to. Starts at `start`.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start) : now_ms_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(std::chrono::milliseconds(now_ms_.load())); }
  void set(TimePoint t) { now_ms_ = t.time_since_epoch().count(); }
  void advance(std::chrono::milliseconds d) { now_ms_ += d.count(); }

 private:
  std::atomic<long long> now_ms_;
};

// ISO 8601 UTC with milliseconds: "2026-11-22T09:30:00.000Z".
std::string formatIso8601(TimePoint t);
// Parses "2026-11-22", "2026-11-22T09:30:00Z", "2026-11-22T09:30:00.123Z" or with "+01:00".
// Returns false on anything else.
bool parseIso8601(const std::string& text, TimePoint& out);

}  // namespace sendflow::core
