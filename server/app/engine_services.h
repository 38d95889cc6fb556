#pragma once
// The engine wired from the configuration: the store, the action registry with the built-in
// actions, the runtime with every definition of `workflows.dir` deployed, the scheduler, the
// outbox dispatcher. Used by the engine commands (engine_commands.cpp) and their tests.
//
// Keys read (config/sendflow.properties documents them):
//   store.sqlite.path, store.sqlite.synchronous (normal | full), store.sqlite.max_size,
//   workflows.dir, documents.dir,
//   engine.workers, engine.poll_interval, engine.job_lease, engine.inline_jobs,
//   engine.audit_file, http.address, http.port, mail.transport, mail.outbox.dir, mail.from,
//   mail.from_name, mail.smtp.*, mail.retry.*

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "server/app/settings.h"
#include "server/core/clock.h"
#include "server/engine/action_registry.h"
#include "server/engine/runtime.h"
#include "server/engine/scheduler.h"
#include "server/mail/mailer.h"
#include "server/mail/outbox_dispatcher.h"
#include "server/store/store.h"

namespace sendflow::app {

struct EngineServices {
  std::unique_ptr<core::Clock> clock;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<engine::ActionRegistry> actions;
  std::unique_ptr<engine::Runtime> runtime;
  std::unique_ptr<engine::Scheduler> scheduler;
  std::unique_ptr<mail::Mailer> mailer;
  std::unique_ptr<mail::OutboxDispatcher> outbox;
  // Where the outbox dispatcher's lines go (one per failed attempt or given-up mail): plain text
  // on stderr by default; `serve` replaces the function with its JSON log before workers start.
  std::shared_ptr<std::function<void(const std::string&)>> mail_log;
  int workers = 2;
  std::chrono::milliseconds poll_interval{1000};
  std::string http_address = "127.0.0.1";
  int http_port = 8080;
  int definitions_loaded = 0;
  // The folders the service writes besides the store's (the mail folder of the folder transport,
  // documents.dir), created 0700 at open; /readyz checks that each can be written.
  std::vector<std::string> state_folders;
};

// Opens the store and, when `load_definitions`, loads and deploys every workflow file; files
// with problems are reported on `err` ("FILE:LINE:COLUMN: message") and skipped, the others
// still load. A bad configuration value fails naming the file and key.
core::StatusOr<std::unique_ptr<EngineServices>> openEngine(const Settings& settings,
                                                           bool load_definitions,
                                                           std::ostream& err);

}  // namespace sendflow::app
