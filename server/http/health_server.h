#pragma once
// The HTTP face of `sendflow serve` for now: liveness and readiness probes.
//   GET /healthz  200 "ok" while the process serves requests.
//   GET /readyz   200 "ready" when the readiness check passes (the store answers), else 503
//                 with the reason.
// Anything else is 404. The full API is a later issue and will add its routes here.
//
// Thread-safety: start() and stop() from one thread; requests are served by Poco's pool.

#include <functional>
#include <memory>
#include <string>

#include "server/core/status.h"

namespace sendflow::http {

// Returns OK when ready, or a Status whose message says why not.
using ReadinessCheck = std::function<core::Status()>;

class HealthServer {
 public:
  HealthServer(std::string address, int port, ReadinessCheck ready);
  ~HealthServer();

  // Binds and starts serving; port 0 picks a free port (see port()). kUnavailable naming the
  // address when it cannot bind.
  core::Status start();
  // Stops accepting, finishes requests in flight.
  void stop();
  // The bound port, after start().
  int port() const { return bound_port_; }

 private:
  struct Impl;
  std::string address_;
  int port_;
  int bound_port_ = 0;
  ReadinessCheck ready_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sendflow::http
