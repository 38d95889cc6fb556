#pragma once
// Sends the mails that transitions left in the store's outbox table.
//
// dispatchPending() takes the pending mails that are due (next_attempt_at <= now), resolves each
// one's recipient (an address, a user id or "role:<role>") to addresses, renders the message
// (mime_message.h) and hands it to the Mailer; then records the outcome in the store, one
// transaction per mail, straight after its send:
//   - sent: markOutboxSent.
//   - a transient failure (kUnavailable, a timeout, the relay refusing STARTTLS or the login,
//     the directory not answering): markOutboxFailed with the next attempt after a capped
//     exponential backoff with jitter (RetryPolicy); after the last allowed attempt,
//     markOutboxDead.
//   - a permanent failure (kInvalidArgument or kNotFound: a recipient that resolves to nobody,
//     a header with a line break, a relay answering 5xx for the recipient or the message):
//     markOutboxDead at once.
// last_error holds the reason a person can act on; each failure is also logged as one line.
//
// Delivery is at least once: a crash between a send and its record sends the mail again, with
// the same Message-ID.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "server/core/clock.h"
#include "server/core/status.h"
#include "server/mail/mailer.h"
#include "server/mail/mime_message.h"
#include "server/mail/recipient_resolver.h"
#include "server/store/store.h"

namespace sendflow::mail {

struct RetryPolicy {
  std::chrono::milliseconds initial{std::chrono::minutes(1)};  // mail.retry.initial
  std::chrono::milliseconds max{std::chrono::hours(1)};        // mail.retry.max
  int attempts = 12;  // mail.retry.attempts: sends tried in all before the mail is given up
};

// kInvalidArgument naming the field when initial or max is not positive, max < initial, or
// attempts < 1.
core::Status checkRetryPolicy(const RetryPolicy& policy);

// The wait after the `failed_attempts`-th failed attempt (1 for the first):
// d = min(max, initial * 2^(failed_attempts - 1)), then jittered to d/2 + jitter * d/2 with
// `jitter` in [0, 1). Never more than `max`, never less than half of d.
std::chrono::milliseconds backoffDelay(const RetryPolicy& policy, int failed_attempts,
                                       double jitter);

struct DispatcherOptions {
  MailSender sender;
  RecipientResolver resolver = resolveAddressOnly;
  RetryPolicy retry;
  // Gets one line per failed attempt or given-up mail. Empty: no log.
  std::function<void(const std::string& line)> log;
  // Single-use links are kept in the outbox only until their mail is sent: after a send, the
  // token after each of these path prefixes in the stored text and HTML becomes "[sent]" (the
  // approval links' tokens are then in the recipient's mailbox only; the store keeps their
  // hashes). The mail itself goes out unchanged.
  std::vector<std::string> redact_after_send = {"/approvals/"};
  // A number in [0, 1) for each backoff's jitter. Empty: a pseudo-random generator.
  std::function<double()> jitter;
};

// `text` with the token (the run of [A-Za-z0-9_-] characters) after each occurrence of each
// prefix replaced by "[sent]".
std::string redactLinkTokens(const std::string& text, const std::vector<std::string>& prefixes);

class OutboxDispatcher {
 public:
  // `store`, `mailer` and `clock` must outlive the dispatcher. `options.sender` must pass
  // checkSender and `options.retry` checkRetryPolicy (the configuration checks both).
  OutboxDispatcher(store::Store& store, Mailer& mailer, const core::Clock& clock,
                   DispatcherOptions options);

  // Sends up to `limit` due mails as one batch (one connection for an SMTP mailer); returns how
  // many were sent. A mail that fails is recorded as above and does not stop the batch; an
  // error comes back only when the store fails. Not safe to call from two threads at once.
  core::StatusOr<int> dispatchPending(int limit);

 private:
  // Records a failed attempt of `record` with `error`.
  core::Status recordFailure(const store::OutboxRecord& record, const core::Status& error);
  void log(const std::string& line) const;

  store::Store& store_;
  Mailer& mailer_;
  const core::Clock& clock_;
  DispatcherOptions options_;
};

}  // namespace sendflow::mail
