#include "server/workbench/approval_links.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <vector>

#include "server/core/json_text.h"
#include "server/core/markup_escape.h"
#include "server/core/utf8.h"

namespace sendflow::workbench {
namespace {

using nlohmann::json;

constexpr int kTokenBytes = 32;
constexpr std::size_t kTokenLength = 43;  // base64url of 32 bytes, no padding
constexpr std::size_t kMaxCommentLength = 4000;

using core::validUtf8;

core::StatusOr<json> subjectOf(const store::TaskRecord& task) {
  return core::parseStoredJson(task.subject_json, "task " + task.id + ": subject", json::object());
}

// 32 bytes of RAND_bytes, base64url without padding.
core::StatusOr<std::string> newToken() {
  std::array<unsigned char, kTokenBytes> bytes{};
  if (RAND_bytes(bytes.data(), kTokenBytes) != 1) {
    return core::internalError("approval links: the random number generator failed");
  }
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve(kTokenLength);
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 0x3f];
  return out;
}

// A token as the links carry it: exactly 43 base64url characters. Anything else is unknown
// without a database read.
bool wellFormed(const std::string& token) {
  if (token.size() != kTokenLength) return false;
  return std::all_of(token.begin(), token.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

// "27 November 2026", with ", 17:30 UTC" when the time is not midnight.
std::string humanDate(core::TimePoint t) {
  static const char* kMonths[] = {"January",   "February", "March",    "April",
                                  "May",       "June",     "July",     "August",
                                  "September", "October",  "November", "December"};
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd(day);
  const auto since_midnight = std::chrono::duration_cast<std::chrono::minutes>(t - day);
  std::string out = std::to_string(static_cast<unsigned>(ymd.day())) + " " +
                    kMonths[static_cast<unsigned>(ymd.month()) - 1] + " " +
                    std::to_string(static_cast<int>(ymd.year()));
  if (since_midnight.count() != 0) {
    char buf[16];
    std::snprintf(buf, sizeof buf, ", %02d:%02d UTC", static_cast<int>(since_midnight.count() / 60),
                  static_cast<int>(since_midnight.count() % 60));
    out += buf;
  }
  return out;
}

// The plan reference of a task subject (the for-each item), or "".
std::string planReference(const json& subject) {
  if (!subject.is_object()) return "";
  for (const char* key : {"plan_ref", "reference", "plan_reference", "name"}) {
    auto it = subject.find(key);
    if (it != subject.end() && it->is_string() && !it->get<std::string>().empty()) {
      return it->get<std::string>();
    }
  }
  return "";
}

std::string stringAt(const json& context, const char* key, const char* member = nullptr) {
  if (!context.is_object()) return "";
  auto it = context.find(key);
  if (it == context.end()) return "";
  if (member != nullptr) {
    if (!it->is_object()) return "";
    auto m = it->find(member);
    return m != it->end() && m->is_string() ? m->get<std::string>() : "";
  }
  return it->is_string() ? it->get<std::string>() : "";
}

struct Approver {
  std::string id;
  std::string name;
  std::string email;
};

core::StatusOr<std::vector<std::string>> rolesOf(const store::UserRecord& user) {
  std::vector<std::string> roles;
  SENDFLOW_ASSIGN_OR_RETURN(
      const json parsed,
      core::parseStoredJson(user.roles_json, "user " + user.id + ": roles", json::array()));
  if (!parsed.is_array()) return roles;
  for (const json& r : parsed) {
    if (r.is_string()) roles.push_back(r.get<std::string>());
  }
  return roles;
}

// Whether `user` may not decide `task`: named in one of the subject's conflict fields, or the
// one who completed a task of another step on the same subject in the same instance.
core::StatusOr<bool> conflicted(store::Transaction& tx, const store::TaskRecord& task,
                                const std::string& user,
                                const std::vector<std::string>& conflict_fields) {
  SENDFLOW_ASSIGN_OR_RETURN(const json subject, subjectOf(task));
  if (subject.is_object()) {
    for (const std::string& field : conflict_fields) {
      auto it = subject.find(field);
      if (it == subject.end()) continue;
      if (it->is_string() && it->get<std::string>() == user) return true;
      if (it->is_array()) {
        for (const json& v : *it) {
          if (v.is_string() && v.get<std::string>() == user) return true;
        }
      }
    }
  }
  SENDFLOW_ASSIGN_OR_RETURN(auto done, tx.listTasks("completed", task.instance_id, 0));
  for (const store::TaskRecord& t : done) {
    if (t.completed_by == user && t.step_id != task.step_id &&
        t.subject_json == task.subject_json) {
      return true;
    }
  }
  return false;
}

// The assignee if set, else every user with the task's role; only those with an address and
// without a conflict.
core::StatusOr<std::vector<Approver>> approversOf(store::Transaction& tx,
                                                  const store::TaskRecord& task,
                                                  const std::vector<std::string>& conflict_fields) {
  std::vector<Approver> candidates;
  if (!task.assignee.empty()) {
    SENDFLOW_ASSIGN_OR_RETURN(auto user, tx.user(task.assignee));
    if (user && !user->email.empty()) candidates.push_back({user->id, user->name, user->email});
  } else if (!task.role.empty()) {
    SENDFLOW_ASSIGN_OR_RETURN(auto users, tx.listUsers());
    for (const store::UserRecord& u : users) {
      SENDFLOW_ASSIGN_OR_RETURN(const auto roles, rolesOf(u));
      if (u.email.empty() || std::find(roles.begin(), roles.end(), task.role) == roles.end()) {
        continue;
      }
      candidates.push_back({u.id, u.name, u.email});
    }
  }
  std::vector<Approver> out;
  for (Approver& a : candidates) {
    SENDFLOW_ASSIGN_OR_RETURN(bool excluded, conflicted(tx, task, a.id, conflict_fields));
    if (!excluded) out.push_back(std::move(a));
  }
  return out;
}

// Who completed the moderation of the same subject in the same instance (the latest one), as
// a display name; "" when there was none.
core::StatusOr<std::string> moderatorOf(store::Transaction& tx, const store::TaskRecord& task) {
  if (task.subject_json.empty() || task.subject_json == "{}") return std::string();
  SENDFLOW_ASSIGN_OR_RETURN(auto done, tx.listTasks("completed", task.instance_id, 0));
  const store::TaskRecord* latest = nullptr;
  for (const store::TaskRecord& t : done) {
    if (t.subject_json != task.subject_json || t.kind != "task") continue;
    if (t.role != "moderator" && t.step_id != "moderate") continue;
    if (latest == nullptr || t.completed_at > latest->completed_at) latest = &t;
  }
  if (latest == nullptr || latest->completed_by.empty()) return std::string();
  SENDFLOW_ASSIGN_OR_RETURN(auto user, tx.user(latest->completed_by));
  if (user && !user->name.empty()) return user->name;
  return latest->completed_by;
}

struct MailFacts {
  std::string task_title;
  std::string description;
  std::string workflow_title;
  std::string plan_reference;
  std::string moderated_grade;
  std::string overall_grade;
  std::string moderator;
  std::optional<core::TimePoint> due_at;
  core::TimePoint expires_at;
  std::string approve_url;
  std::string reject_url;
  std::string task_url;
  std::string service_name;
};

std::string collapseSpaces(const std::string& text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string mailSubject(const MailFacts& f) {
  std::string s = "Approval needed: " + f.task_title;
  if (!f.plan_reference.empty()) s += " \xE2\x80\x94 plan " + f.plan_reference;
  return s;
}

std::string textBody(const MailFacts& f, const std::string& approver_name) {
  std::string b = "Dear " + approver_name + ",\n\n";
  b += "Your approval is needed: " + f.task_title + ".\n";
  if (!f.description.empty()) b += f.description + "\n";
  b += "\n";
  if (!f.workflow_title.empty()) b += "Workflow: " + f.workflow_title + "\n";
  if (!f.plan_reference.empty()) b += "Plan: " + f.plan_reference + "\n";
  if (!f.overall_grade.empty()) b += "Auditor's overall grade: " + f.overall_grade + "\n";
  if (!f.moderated_grade.empty()) b += "Moderated grade: " + f.moderated_grade + "\n";
  if (!f.moderator.empty()) b += "Moderated by: " + f.moderator + "\n";
  if (f.due_at) b += "Due: " + humanDate(*f.due_at) + "\n";
  b += "\nTo approve, open:\n" + f.approve_url + "\n";
  b += "\nTo reject and send it back, open:\n" + f.reject_url + "\n";
  b += "\nTo read everything first, open the task:\n" + f.task_url + "\n";
  b += "\nThe links ask you to sign in with your intranet account and do nothing until you "
       "confirm on the page they open. They work only for you and only once, until " +
       humanDate(f.expires_at) + " or until the approval is decided another way.\n";
  b += "\n" + f.service_name + "\n";
  return b;
}

std::string htmlBody(const MailFacts& f, const std::string& approver_name) {
  const auto row = [](const std::string& label, const std::string& value) {
    return "<tr><th scope=\"row\" style=\"text-align:left;padding:4px 12px 4px 0\">" +
           core::markupEscaped(label) + "</th><td style=\"padding:4px 0\">" +
           core::markupEscaped(value) + "</td></tr>\n";
  };
  const auto link = [](const std::string& url, const std::string& text) {
    return "<a href=\"" + core::markupEscaped(url) + "\" style=\"color:#1d3d8f\">" +
           core::markupEscaped(text) + "</a>";
  };
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
      core::markupEscaped(mailSubject(f)) +
      "</title>\n</head>\n<body style=\"font-family:Arial,Helvetica,sans-serif;font-size:16px;"
      "line-height:1.5;color:#0b0c0c;background:#ffffff\">\n";
  h += "<p>Dear " + core::markupEscaped(approver_name) + ",</p>\n";
  h += "<p>Your approval is needed: <strong>" + core::markupEscaped(f.task_title) +
       "</strong>.</p>\n";
  if (!f.description.empty()) h += "<p>" + core::markupEscaped(f.description) + "</p>\n";
  std::string rows;
  if (!f.workflow_title.empty()) rows += row("Workflow", f.workflow_title);
  if (!f.plan_reference.empty()) rows += row("Plan", f.plan_reference);
  if (!f.overall_grade.empty()) rows += row("Auditor's overall grade", f.overall_grade);
  if (!f.moderated_grade.empty()) rows += row("Moderated grade", f.moderated_grade);
  if (!f.moderator.empty()) rows += row("Moderated by", f.moderator);
  if (f.due_at) rows += row("Due", humanDate(*f.due_at));
  if (!rows.empty()) {
    h += "<table style=\"border-collapse:collapse\">\n" + rows + "</table>\n";
  }
  h += "<ul>\n<li>" + link(f.approve_url, "Approve") + "</li>\n<li>" +
       link(f.reject_url, "Reject and send it back") + "</li>\n<li>" +
       link(f.task_url, "Open the task to read everything first") + "</li>\n</ul>\n";
  h += "<p>The links ask you to sign in with your intranet account and do nothing until you "
       "confirm on the page they open. They work only for you and only once, until " +
       core::markupEscaped(humanDate(f.expires_at)) +
       " or until the approval is decided another way.</p>\n";
  h += "<p>" + core::markupEscaped(f.service_name) + "</p>\n</body>\n</html>\n";
  return h;
}

}  // namespace

const char* approvalLinkStateName(ApprovalLinkState state) {
  switch (state) {
    case ApprovalLinkState::kValid:
      return "valid";
    case ApprovalLinkState::kUsed:
      return "used";
    case ApprovalLinkState::kExpired:
      return "expired";
    case ApprovalLinkState::kClosed:
      return "closed";
    case ApprovalLinkState::kUnknown:
      return "unknown";
  }
  return "unknown";
}

ApprovalLinks::ApprovalLinks(engine::Runtime& runtime, ApprovalLinkOptions options,
                             const core::Clock& clock)
    : runtime_(runtime), options_(std::move(options)), clock_(clock) {
  while (!options_.public_url.empty() && options_.public_url.back() == '/') {
    options_.public_url.pop_back();
  }
  if (options_.service_name.empty()) options_.service_name = "sendflow";
}

std::string ApprovalLinks::hashToken(const std::string& token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(token.data(), token.size(), digest, &length, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0f];
  }
  return out;
}

core::Status ApprovalLinks::taskCreated(store::Transaction& tx, const store::TaskRecord& task,
                                        const engine::Step& step, const nlohmann::json& context) {
  if (task.kind != "approval") return core::Status::ok();
  SENDFLOW_ASSIGN_OR_RETURN(std::vector<Approver> approvers,
                            approversOf(tx, task, options_.conflict_fields));
  if (approvers.empty()) return core::Status::ok();

  const core::TimePoint now = clock_.now();
  MailFacts f;
  // Titles and references go into a mail header: no line breaks.
  f.task_title = collapseSpaces(task.title);
  f.description = collapseSpaces(step.description);
  SENDFLOW_ASSIGN_OR_RETURN(const json subject, subjectOf(task));
  f.plan_reference = collapseSpaces(planReference(subject));
  f.moderated_grade = stringAt(context, "moderate", "moderated_grade");
  f.overall_grade = stringAt(context, "overall_grade");
  SENDFLOW_ASSIGN_OR_RETURN(f.moderator, moderatorOf(tx, task));
  f.due_at = task.due_at;
  f.expires_at = task.due_at ? *task.due_at + options_.link_grace : now + options_.link_max_age;
  f.task_url = options_.public_url + "/tasks/" + task.id;
  f.service_name = options_.service_name;
  SENDFLOW_ASSIGN_OR_RETURN(auto instance, tx.instance(task.instance_id));
  if (instance) {
    for (const auto& def : runtime_.definitions()) {
      if (def->id == instance->definition_id) f.workflow_title = def->title;
    }
  }

  for (const Approver& approver : approvers) {
    std::map<std::string, std::string> urls;
    for (const char* decision : {"approve", "reject"}) {
      SENDFLOW_ASSIGN_OR_RETURN(std::string token, newToken());
      store::ApprovalTokenRecord record;
      record.token_hash = hashToken(token);
      record.task_id = task.id;
      record.approver = approver.id;
      record.decision = decision;
      record.created_at = now;
      record.expires_at = f.expires_at;
      SENDFLOW_RETURN_IF_ERROR(tx.insertApprovalToken(record));
      urls[decision] = options_.public_url + "/approvals/" + token;
    }
    f.approve_url = urls["approve"];
    f.reject_url = urls["reject"];
    const std::string name = approver.name.empty() ? approver.id : approver.name;
    store::OutboxRecord mail;
    mail.instance_id = task.instance_id;
    mail.recipient = approver.email;
    mail.subject = mailSubject(f);
    mail.body = textBody(f, name);
    mail.html_body = htmlBody(f, name);
    mail.next_attempt_at = now;
    mail.created_at = now;
    SENDFLOW_RETURN_IF_ERROR(tx.insertOutbox(mail));
  }
  return core::Status::ok();
}

core::StatusOr<ApprovalLinkView> ApprovalLinks::inspect(const std::string& token) const {
  ApprovalLinkView view;
  if (!wellFormed(token)) return view;
  const std::string hash = hashToken(token);
  std::string definition_id;
  std::string step_id;
  core::Status st = runtime_.store().read([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(auto record, tx.approvalToken(hash));
    if (!record) return core::Status::ok();
    SENDFLOW_ASSIGN_OR_RETURN(auto task, tx.task(record->task_id));
    if (!task) return core::Status::ok();
    view.task_id = task->id;
    view.task_title = task->title;
    step_id = task->step_id;
    view.decision = record->decision;
    view.approver = record->approver;
    view.instance_id = task->instance_id;
    SENDFLOW_ASSIGN_OR_RETURN(const json subject, subjectOf(*task));
    view.plan_reference = planReference(subject);
    view.due_at = task->due_at;
    view.expires_at = record->expires_at;
    view.used_at = record->used_at;
    if (record->used_at) {
      view.state = ApprovalLinkState::kUsed;
    } else if (task->status != "open" ||
               (!task->assignee.empty() && task->assignee != record->approver)) {
      view.state = ApprovalLinkState::kClosed;
    } else if (clock_.now() >= record->expires_at) {
      view.state = ApprovalLinkState::kExpired;
    } else {
      view.state = ApprovalLinkState::kValid;
    }
    SENDFLOW_ASSIGN_OR_RETURN(auto instance, tx.instance(task->instance_id));
    if (instance) definition_id = instance->definition_id;
    // Read only: rolling back is the same as committing, and says so.
    return core::Status::ok();
  });
  SENDFLOW_RETURN_IF_ERROR(st);
  if (view.state == ApprovalLinkState::kUnknown) return ApprovalLinkView{};
  for (const auto& def : runtime_.definitions()) {
    if (def->id != definition_id) continue;
    view.workflow_title = def->title;
    if (const engine::Step* step = def->findStep(step_id)) {
      view.description = collapseSpaces(step->description);
    }
  }
  return view;
}

core::StatusOr<ApprovalDecision> ApprovalLinks::decide(const auth::Principal& who,
                                                       const std::string& token,
                                                       const std::string& comment,
                                                       const RequestOrigin& origin) {
  if (!wellFormed(token)) return core::notFound("no such approval link");
  if (comment.size() > kMaxCommentLength) {
    return core::invalidArgument("comment: at most " + std::to_string(kMaxCommentLength) +
                                 " characters");
  }
  if (!core::isValidUtf8(comment)) return core::invalidArgument("comment: not valid UTF-8 text");
  const std::string hash = hashToken(token);
  // Read the link first: an unknown link or someone else's link is refused before anything
  // about the task's state is said. The guard checks it all again inside the transaction.
  std::optional<store::ApprovalTokenRecord> record;
  std::string instance_id;
  SENDFLOW_RETURN_IF_ERROR(runtime_.store().read([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(record, tx.approvalToken(hash));
    if (!record) return core::Status::ok();
    SENDFLOW_ASSIGN_OR_RETURN(auto task, tx.task(record->task_id));
    if (task) instance_id = task->instance_id;
    return core::Status::ok();
  }));
  if (!record) return core::notFound("no such approval link");
  if (who.id.empty() || who.id != record->approver) {
    return core::permissionDenied(
        "this approval link was sent to someone else; sign in as the person it was sent to");
  }

  ApprovalDecision result;
  result.decision = record->decision;
  result.task_id = record->task_id;
  result.instance_id = instance_id;
  bool already_decided = false;
  const engine::TaskGuard guard = [&](store::Transaction& tx,
                                      const store::TaskRecord& task) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(auto current, tx.approvalToken(hash));
    if (!current || current->task_id != task.id) {
      return core::notFound("no such approval link");
    }
    if (current->approver != who.id) {
      return core::permissionDenied("this approval link was sent to someone else");
    }
    if (current->used_at) {
      already_decided = true;
      return core::conflict("the approval link was used already");
    }
    // Who may decide now: the approval may have been given to someone else since the mail.
    if (!task.assignee.empty() && task.assignee != who.id) {
      return core::permissionDenied("this approval was reassigned to someone else");
    }
    if (task.assignee.empty() && !who.hasRole(task.role)) {
      return core::permissionDenied("deciding this approval needs the role '" + task.role + "'");
    }
    SENDFLOW_ASSIGN_OR_RETURN(bool excluded,
                              conflicted(tx, task, who.id, options_.conflict_fields));
    if (excluded) {
      return core::permissionDenied(
          "you took part in this work (a contributor, the caseworker or an earlier step), so "
          "you may not approve it");
    }
    const core::TimePoint now = clock_.now();
    if (now >= current->expires_at) {
      return core::failedPrecondition("the approval link expired on " +
                                      core::formatIso8601(current->expires_at));
    }
    core::Status used = tx.markApprovalTokenUsed(hash, now, origin.client_address);
    if (used.code() == core::StatusCode::kConflict) already_decided = true;
    return used;
  };
  engine::TaskChangeOptions change;
  change.guard = guard;
  // Header values are the client's bytes: history is JSON, so only valid UTF-8 goes in.
  change.audit = {{"via", "email-link"},
                  {"channel", "email-link"},
                  {"client", validUtf8(origin.client_address.substr(0, 100))},
                  {"user_agent", validUtf8(origin.user_agent.substr(0, 300))},
                  {"request_id", validUtf8(origin.request_id.substr(0, 100))},
                  {"signed_in_via", validUtf8(who.via)}};
  core::Status st = runtime_.completeTask(
      record->task_id, {{"decision", record->decision}, {"comment", comment}}, who.id, change);
  if (st.code() == core::StatusCode::kConflict) already_decided = true;
  if (already_decided) {
    result.outcome = ApprovalOutcome::kAlreadyDecided;
    return result;
  }
  SENDFLOW_RETURN_IF_ERROR(st);
  result.outcome = ApprovalOutcome::kDecided;
  return result;
}

}  // namespace sendflow::workbench
