#include "server/mail/outbox_dispatcher.h"

#include <cctype>

#include <algorithm>
#include <memory>
#include <random>

namespace sendflow::mail {

namespace {

bool isPermanent(const core::Status& status) {
  return status.code() == core::StatusCode::kInvalidArgument ||
         status.code() == core::StatusCode::kNotFound;
}

// Ends the mailer's batch however dispatchPending returns.
class BatchGuard {
 public:
  explicit BatchGuard(Mailer& mailer) : mailer_(mailer) {}
  ~BatchGuard() { mailer_.endBatch(); }
  BatchGuard(const BatchGuard&) = delete;
  BatchGuard& operator=(const BatchGuard&) = delete;

 private:
  Mailer& mailer_;
};

}  // namespace

core::Status checkRetryPolicy(const RetryPolicy& policy) {
  if (policy.initial.count() <= 0) return core::invalidArgument("mail.retry.initial: must be > 0");
  if (policy.max < policy.initial) {
    return core::invalidArgument("mail.retry.max: must be at least mail.retry.initial");
  }
  if (policy.attempts < 1) return core::invalidArgument("mail.retry.attempts: must be at least 1");
  return core::Status::ok();
}

std::chrono::milliseconds backoffDelay(const RetryPolicy& policy, int failed_attempts,
                                       double jitter) {
  std::chrono::milliseconds::rep delay = policy.initial.count();
  for (int i = 1; i < failed_attempts && delay < policy.max.count(); ++i) delay *= 2;
  delay = std::min(delay, policy.max.count());
  jitter = std::clamp(jitter, 0.0, 1.0);
  const std::chrono::milliseconds::rep half = delay / 2;
  return std::chrono::milliseconds(
      std::min(delay, half + static_cast<std::chrono::milliseconds::rep>(
                                 jitter * static_cast<double>(delay - half))));
}

OutboxDispatcher::OutboxDispatcher(store::Store& store, Mailer& mailer, const core::Clock& clock,
                                   DispatcherOptions options)
    : store_(store), mailer_(mailer), clock_(clock), options_(std::move(options)) {
  if (!options_.resolver) options_.resolver = resolveAddressOnly;
  if (!options_.jitter) {
    options_.jitter = [engine = std::make_shared<std::mt19937_64>(std::random_device{}())]() {
      return std::uniform_real_distribution<double>(0.0, 1.0)(*engine);
    };
  }
}

void OutboxDispatcher::log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

core::Status OutboxDispatcher::recordFailure(const store::OutboxRecord& record,
                                             const core::Status& error) {
  const int attempt = record.attempts + 1;
  const std::string what = "mail " + std::to_string(record.id) + " to " + record.recipient +
                           ": attempt " + std::to_string(attempt);
  if (isPermanent(error) || attempt >= options_.retry.attempts) {
    const std::string reason = isPermanent(error) ? "failed for good" : "failed, the last allowed";
    log(what + " " + reason + "; gave up: " + error.message());
    return store_.transact(
        [&](store::Transaction& tx) { return tx.markOutboxDead(record.id, error.message()); });
  }
  const core::TimePoint next =
      clock_.now() + backoffDelay(options_.retry, attempt, options_.jitter());
  log(what + " failed; next attempt at " + core::formatIso8601(next) + ": " + error.message());
  return store_.transact([&](store::Transaction& tx) {
    return tx.markOutboxFailed(record.id, next, error.message());
  });
}

core::StatusOr<int> OutboxDispatcher::dispatchPending(int limit) {
  std::vector<store::OutboxRecord> pending;
  SENDFLOW_RETURN_IF_ERROR(store_.transact([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(pending, tx.pendingOutbox(clock_.now(), limit));
    return core::Status::ok();
  }));
  BatchGuard batch(mailer_);
  int sent = 0;
  for (const store::OutboxRecord& record : pending) {
    core::StatusOr<std::vector<std::string>> resolved = options_.resolver(record.recipient);
    if (!resolved.isOk()) {
      SENDFLOW_RETURN_IF_ERROR(recordFailure(record, resolved.status()));
      continue;
    }
    std::vector<std::string> addresses;
    for (const std::string& address : *resolved) {
      if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) {
        addresses.push_back(address);
      }
    }
    if (addresses.empty()) {
      SENDFLOW_RETURN_IF_ERROR(recordFailure(
          record, core::invalidArgument(record.recipient + ": resolves to no email address")));
      continue;
    }
    core::StatusOr<std::string> content = formatMimeMessage(record, addresses, options_.sender);
    if (!content.isOk()) {
      SENDFLOW_RETURN_IF_ERROR(recordFailure(record, content.status()));
      continue;
    }
    OutgoingMessage message{record.id, options_.sender.address, std::move(addresses),
                            std::move(content).value()};
    const core::Status status = mailer_.send(message);
    if (!status.isOk()) {
      SENDFLOW_RETURN_IF_ERROR(recordFailure(record, status));
      continue;
    }
    SENDFLOW_RETURN_IF_ERROR(store_.transact([&](store::Transaction& tx) -> core::Status {
      SENDFLOW_RETURN_IF_ERROR(tx.markOutboxSent(record.id, clock_.now()));
      const std::string body = redactLinkTokens(record.body, options_.redact_after_send);
      const std::string html = redactLinkTokens(record.html_body, options_.redact_after_send);
      if (body == record.body && html == record.html_body) return core::Status::ok();
      return tx.rewriteOutboxBodies(record.id, body, html);
    }));
    ++sent;
  }
  return sent;
}

std::string redactLinkTokens(const std::string& text, const std::vector<std::string>& prefixes) {
  std::string out = text;
  for (const std::string& prefix : prefixes) {
    if (prefix.empty()) continue;
    std::size_t pos = 0;
    while ((pos = out.find(prefix, pos)) != std::string::npos) {
      const std::size_t start = pos + prefix.size();
      std::size_t end = start;
      while (end < out.size() && (std::isalnum(static_cast<unsigned char>(out[end])) ||
                                  out[end] == '-' || out[end] == '_')) {
        ++end;
      }
      if (end > start) out.replace(start, end - start, "[sent]");
      pos = start;
    }
  }
  return out;
}

}  // namespace sendflow::mail
