#pragma once
// Errors as values. Domain code returns Status or StatusOr<T>; exceptions are caught at the
// edges (Poco, libxml2, libzip adapters) and turned into one of these. The message is written
// for the person who has to act on it: it names the file, line, field or item at fault.

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace sendflow::core {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is wrong (a bad field, a malformed file)
  kNotFound,            // the thing named does not exist
  kAlreadyExists,       // a create collided with an existing thing
  kConflict,            // the state changed under the caller (already decided, version moved)
  kPermissionDenied,    // the caller may not do this
  kUnauthenticated,     // the caller is not signed in or the credentials failed
  kFailedPrecondition,  // the system is not in a state that allows this
  kResourceExhausted,   // a limit was hit (size, count, rate)
  kUnavailable,         // a peer is down or answered a retryable error; try again later
  kDeadlineExceeded,    // a timeout
  kInternal,            // a bug or an invariant broken; never the caller's fault
};

// Returns "invalid argument", "not found", ...
const char* statusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool isOk() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "not found: workflow 'ehcp-audit' has no version 4"
  std::string toString() const;

  // Returns a copy whose message is prefixed with `context` and ": ".
  Status withContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status notFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status alreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
inline Status permissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status unauthenticated(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}
inline Status failedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status resourceExhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status deadlineExceeded(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status internalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Either a value or a non-OK Status. Constructing from an OK Status is a bug (asserts).
template <typename T>
class StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!status_.isOk() && "StatusOr built from an OK status");
    if (status_.isOk()) status_ = internalError("StatusOr built from an OK status");
  }

  bool isOk() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(value_);
    return *value_;
  }
  const T& value() const& {
    assert(value_);
    return *value_;
  }
  T&& value() && {
    assert(value_);
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace sendflow::core

// Returns early from the enclosing function when `expr` (a Status) is not OK.
#define SENDFLOW_RETURN_IF_ERROR(expr)                     \
  do {                                                     \
    ::sendflow::core::Status sendflow_status_ = (expr);    \
    if (!sendflow_status_.isOk()) return sendflow_status_; \
  } while (false)

#define SENDFLOW_CONCAT_INNER_(a, b) a##b
#define SENDFLOW_CONCAT_(a, b) SENDFLOW_CONCAT_INNER_(a, b)
// Declares `lhs` from a StatusOr expression, or returns its Status from the enclosing function.
#define SENDFLOW_ASSIGN_OR_RETURN(lhs, expr) \
  SENDFLOW_ASSIGN_OR_RETURN_IMPL_(SENDFLOW_CONCAT_(sendflow_statusor_, __LINE__), lhs, expr)
#define SENDFLOW_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.isOk()) return tmp.status();                 \
  lhs = std::move(tmp).value()
