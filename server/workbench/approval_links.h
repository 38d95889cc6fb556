#pragma once
// Email approval links: when an approval task is created, each approver gets one mail with an
// "Approve" and a "Reject" link; following a link shows a confirmation page (server/web), and
// only a signed-in POST by that approver decides.
//
// Tokens. Each link carries its own token: 32 bytes from OpenSSL's RAND_bytes (256 bits),
// base64url without padding (43 characters). Only the token's SHA-256 (hex) is stored
// (store::ApprovalTokenRecord), bound to one task, one approver and one decision. A token
// expires at the task's due date plus `link_grace`, or `link_max_age` after it was made when the
// task has no due date, and is never valid once its task is no longer open. It is used up in
// the same transaction that completes the task.
//
// Mail. Made inside the transaction that creates the task (TaskListener), so the tokens and the
// mails commit or roll back with it: one outbox mail per approver with an address (the task's
// assignee if set, else every user with the task's role), text and HTML, with what is asked,
// the plan reference, the grades and the moderator from the context, the due date, the two
// links and the task page. Nothing else about the child goes into the mail.
//
// Never logged: tokens (nor their hashes).
//
// Thread-safety: all methods are safe to call from many threads at once.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/auth/principal.h"
#include "server/core/clock.h"
#include "server/core/status.h"
#include "server/engine/definition.h"
#include "server/engine/runtime.h"
#include "server/store/store.h"
#include "server/workbench/workbench.h"

namespace sendflow::workbench {

struct ApprovalLinkOptions {
  // The service's address as people reach it (http.public_url), without a trailing slash:
  // links are {public_url}/approvals/{token} and {public_url}/tasks/{task_id}.
  std::string public_url;
  // A link stays valid this long after the task's due date (approvals.link_grace).
  std::chrono::milliseconds link_grace{std::chrono::hours(48)};
  // A task without a due date: its links expire this long after they were made
  // (approvals.link_max_age).
  std::chrono::milliseconds link_max_age{std::chrono::hours(24 * 14)};
  // Shown in the mail's signature; empty: "sendflow".
  std::string service_name;
  // Members of the task's subject naming people who may not decide it (workbench.conflict_fields;
  // WorkbenchOptions::conflict_fields). Such people, and whoever completed a task of another step
  // on the same subject in the same instance (the moderator of the outcome to approve), get no
  // links, and their sign-in cannot decide.
  std::vector<std::string> conflict_fields = {"contributors", "caseworker"};
};

enum class ApprovalLinkState {
  kValid,    // the link can decide (after sign-in and confirmation)
  kUsed,     // this link was used already
  kExpired,  // past its expiry
  kClosed,   // the task is no longer open (decided another way, cancelled), or was reassigned
             // to someone other than this link's approver
  kUnknown,  // no such token (or a malformed one)
};

// "valid" | "used" | "expired" | "closed" | "unknown"
const char* approvalLinkStateName(ApprovalLinkState state);

// What the confirmation page may show about a link. For kUnknown only `state` is set.
struct ApprovalLinkView {
  ApprovalLinkState state = ApprovalLinkState::kUnknown;
  std::string task_id;
  std::string task_title;
  std::string description;  // what the step asks
  std::string decision;     // approve | reject
  std::string approver;     // user id the link is bound to
  std::string instance_id;
  std::string workflow_title;
  std::string plan_reference;  // the subject's plan reference, if any; no other child data
  std::optional<core::TimePoint> due_at;
  core::TimePoint expires_at;
  std::optional<core::TimePoint> used_at;
};

enum class ApprovalOutcome {
  kDecided,         // this request completed the task
  kAlreadyDecided,  // the task was decided (or closed) before, or this link was used
};

struct ApprovalDecision {
  ApprovalOutcome outcome = ApprovalOutcome::kDecided;
  std::string decision;  // approve | reject: what this link asks for
  std::string task_id;
  std::string instance_id;
};

class ApprovalLinks final : public engine::TaskListener {
 public:
  // `runtime` and `clock` must outlive this object. The caller registers it with
  // runtime.setTaskListener(&links).
  ApprovalLinks(engine::Runtime& runtime, ApprovalLinkOptions options, const core::Clock& clock);

  // Makes the tokens and mails for an approval task (other kinds: nothing). Errors roll the
  // task's transition back: kInternal when no random bytes can be had, store errors.
  // An approval without any approver with an address makes no mail (the task stays in the
  // queue and is decided on the task page).
  core::Status taskCreated(store::Transaction& tx, const store::TaskRecord& task,
                           const engine::Step& step, const nlohmann::json& context) override;

  // What a link is about and whether it can still decide. Changes nothing (the GET and HEAD of
  // the link page call only this). A malformed or unknown token is state kUnknown, not an
  // error; errors are store failures.
  core::StatusOr<ApprovalLinkView> inspect(const std::string& token) const;

  // Decides the task with the link's decision, as `who`, in one transaction with the token used
  // up (time and client address) and a task.completed history row whose detail has
  // {"via": "email-link", "client", "user_agent", "request_id"}.
  // A link already used, or a task no longer open: outcome kAlreadyDecided (nothing changed).
  // kNotFound for an unknown or malformed token; kFailedPrecondition for an expired one;
  // kPermissionDenied when `who` is not the approver the link was sent to, or may no longer
  // decide (the approval was reassigned to someone else, `who` lost the task's role, or is
  // conflicted); kInvalidArgument for a comment over 4000 characters. Nothing changes on any
  // error.
  core::StatusOr<ApprovalDecision> decide(const auth::Principal& who, const std::string& token,
                                          const std::string& comment, const RequestOrigin& origin);

  // For tests and the mail: the token's stored form (hex SHA-256).
  static std::string hashToken(const std::string& token);

 private:
  engine::Runtime& runtime_;
  ApprovalLinkOptions options_;
  const core::Clock& clock_;
};

}  // namespace sendflow::workbench
