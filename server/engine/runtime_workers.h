#pragma once
// The worker loop: N threads that claim due jobs (actions, timers, reminders, escalations,
// sub-workflow resumptions) from the store under a lease and run them through the Runtime, plus
// a housekeeping callback (the scheduler tick and the outbox dispatch) run every poll interval
// by the first thread. A crash simply lets the leases expire; the jobs then run again.
//
// Thread-safety: start() and stop() from one controlling thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "server/engine/runtime.h"

namespace sendflow::engine {

struct WorkerOptions {
  int threads = 2;
  std::chrono::milliseconds poll{std::chrono::milliseconds(500)};
  int batch = 16;
};

class WorkerPool {
 public:
  // `runtime` must outlive the pool. `housekeeping` may be empty.
  WorkerPool(Runtime& runtime, WorkerOptions options, std::function<void()> housekeeping);
  ~WorkerPool();  // stops

  void start();
  // Asks the threads to finish the job in hand and joins them.
  void stop();
  // Jobs run since start (for /readyz and tests).
  long long jobsRun() const { return jobs_run_.load(); }
  // The last error a worker saw, if any ("" otherwise).
  std::string lastError() const;

 private:
  void loop(int index);

  Runtime& runtime_;
  WorkerOptions options_;
  std::function<void()> housekeeping_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::atomic<long long> jobs_run_{0};
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::string last_error_;  // guarded by mutex_
};

}  // namespace sendflow::engine
