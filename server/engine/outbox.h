#pragma once
// The mail outbox. Transitions put mails in the store's outbox table in the same transaction
// as the change that caused them (a reminder, an escalation, mail.send); an OutboxDispatcher
// later hands pending ones to a Mailer and marks them sent. Delivery is at least once: a crash
// between sending and marking sends again, so a Mailer should be idempotent on the message id
// (the FolderMailer is: it writes `<id>.eml` by rename).

#include <string>

#include "server/core/clock.h"
#include "server/core/status.h"
#include "server/store/store.h"

namespace sendflow::engine {

class Mailer {
 public:
  virtual ~Mailer() = default;
  // Delivers one message. kUnavailable when the transport is down (retried later).
  virtual core::Status send(const store::OutboxRecord& message) = 0;
};

// Writes each message as an RFC 5322 file `<folder>/<id>.eml` (a pickup folder for a local
// MTA, or for inspection). Creates the folder. Thread-safe.
class FolderMailer final : public Mailer {
 public:
  FolderMailer(std::string folder, std::string from);
  core::Status send(const store::OutboxRecord& message) override;

 private:
  std::string folder_;
  std::string from_;
};

// Renders a message as the text of an .eml file.
std::string formatEml(const store::OutboxRecord& message, const std::string& from);

class OutboxDispatcher {
 public:
  // All three must outlive the dispatcher.
  OutboxDispatcher(store::Store& store, Mailer& mailer, const core::Clock& clock);
  // Sends up to `limit` pending mails; returns how many were sent. A mail the mailer refuses
  // stays pending with its attempt count raised. Not safe to call from two threads at once.
  core::StatusOr<int> dispatchPending(int limit);

 private:
  store::Store& store_;
  Mailer& mailer_;
  const core::Clock& clock_;
};

}  // namespace sendflow::engine
