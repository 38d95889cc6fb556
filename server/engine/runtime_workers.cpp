#include "server/engine/runtime_workers.h"

namespace sendflow::engine {

WorkerPool::WorkerPool(Runtime& runtime, WorkerOptions options, std::function<void()> housekeeping)
    : runtime_(runtime), options_(options), housekeeping_(std::move(housekeeping)) {}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::start() {
  stopping_ = false;
  const int n = std::max(1, options_.threads);
  for (int i = 0; i < n; ++i) threads_.emplace_back([this, i] { loop(i); });
}

void WorkerPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

std::string WorkerPool::lastError() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_error_;
}

void WorkerPool::loop(int index) {
  auto next_housekeeping = std::chrono::steady_clock::now();
  while (!stopping_) {
    if (index == 0 && housekeeping_ && std::chrono::steady_clock::now() >= next_housekeeping) {
      housekeeping_();
      next_housekeeping = std::chrono::steady_clock::now() + options_.poll;
    }
    auto ran = runtime_.runDueJobs(options_.batch);
    if (!ran.isOk()) {
      std::lock_guard<std::mutex> lock(mutex_);
      last_error_ = ran.status().toString();
    } else {
      jobs_run_ += *ran;
      if (*ran > 0) continue;  // more may be due
    }
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait_for(lock, options_.poll, [this] { return stopping_.load(); });
  }
}

}  // namespace sendflow::engine
