#pragma once
// The registry of automatic actions a workflow's `action` steps name ("sample.select",
// "mail.send", later "document.render", ...). Each action is a C++ handler registered once at
// start-up by app wiring (builtin_actions.h registers the built-in ones).
//
// The execution contract (see runtime.h): a handler runs outside any store transaction, at
// least once per step visit. A crash after the handler returned but before its completion was
// committed runs it again with the same `idempotency_key`, so a handler with an external effect
// must de-duplicate on that key (the key is stable across retries and restarts; it names the
// instance, the step, the iteration and the visit, never the attempt). The handler's result and
// the effects it asks for through the context (mails, workflow starts) commit in the same
// transaction as the step's completion, so in effect they happen exactly once.
//
// A handler whose only effects are its result and what it asks for through the context (no
// file, network or other system touched) may be registered kInTransaction: the runtime then runs
// it inside the transition that reaches the step, so its result commits with that transition
// and no job is needed. A retryable failure falls back to a job with backoff as above.
//
// A handler returns a JSON result (stored in instance data under the step's `into`) or a
// Status: kUnavailable and kDeadlineExceeded are retried with capped exponential backoff and
// jitter; any other error, or the last failed attempt, raises an incident on the instance.
//
// Thread-safety: register everything before the runtime starts; after that, lookups are safe
// from any thread and handlers may be called from several worker threads at once.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/core/clock.h"
#include "server/core/status.h"

namespace sendflow::engine {

// A mail an action asks the runtime to put in the outbox.
struct MailMessage {
  std::string to;
  std::string subject;
  std::string body;
};

// A document an action produced (document.render), recorded so people can download it.
struct DocumentOutput {
  std::string id;  // stable across retries (derived from the idempotency key)
  std::string name;
  std::string path;
  std::string media_type;
  long long size = 0;
};

// A workflow an action asks the runtime to start (idempotent on `business_key`).
struct StartRequest {
  std::string workflow_id;
  nlohmann::json input = nlohmann::json::object();
  std::string business_key;
};

struct ActionContext {
  std::string instance_id;
  std::string workflow_id;
  std::string step_id;
  std::string idempotency_key;  // "<instance>:<frame path>/<step>#<visit>"
  int attempt = 1;              // 1 for the first try
  core::TimePoint now;
  // Effects committed with the step's completion, in the same transaction.
  std::vector<MailMessage> mails;
  std::vector<StartRequest> starts;
  std::vector<DocumentOutput> documents;
};

using ActionHandler = std::function<core::StatusOr<nlohmann::json>(const nlohmann::json& params,
                                                                   ActionContext& context)>;

enum class ActionMode {
  kExternal,       // runs as a job, outside any transaction (the default)
  kInTransaction,  // pure: runs inside the transition that reaches the step
};

struct RegisteredAction {
  ActionHandler handler;
  ActionMode mode = ActionMode::kExternal;
};

class ActionRegistry {
 public:
  // Registers `handler` under `name`. kAlreadyExists when the name is taken, kInvalidArgument
  // for an empty name or handler.
  core::Status add(const std::string& name, ActionHandler handler,
                   ActionMode mode = ActionMode::kExternal);
  // The action registered as `name`, or nullptr.
  const RegisteredAction* find(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, RegisteredAction> handlers_;
};

}  // namespace sendflow::engine
