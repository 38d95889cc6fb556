// Commands of the mail area; see cli.h for the conventions.
//   mail list [--status pending|sent|failed] [--json]   the outbox, oldest first: each mail's
//                                                       status, attempts, next attempt and the
//                                                       last error
#include <nlohmann/json.hpp>

#include "server/app/cli.h"
#include "server/app/engine_services.h"

namespace sendflow::app {
namespace {

using nlohmann::json;

int runMailList(CommandContext& ctx) {
  std::string status;
  takeOption(ctx.args, "status", status);
  const bool as_json = takeFlag(ctx.args, "json");
  if (!ctx.args.empty() ||
      (!status.empty() && status != "pending" && status != "sent" && status != "failed")) {
    ctx.err << "usage: sendflow mail list [--status pending|sent|failed] [--json]\n";
    return kExitUsage;
  }
  auto engine = openEngine(ctx.settings, false, ctx.err);
  if (!engine.isOk()) {
    ctx.err << "sendflow mail list: " << engine.status().message() << "\n";
    return engine.status().code() == core::StatusCode::kInvalidArgument ? kExitInvalidInput
                                                                        : kExitFailure;
  }
  std::vector<store::OutboxRecord> mails;
  const core::Status st = (*engine)->store->transact([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(mails, tx.listOutbox());
    return core::Status::ok();
  });
  if (!st.isOk()) {
    ctx.err << "sendflow mail list: " << st.message() << "\n";
    return kExitFailure;
  }
  json out = json::array();
  for (const store::OutboxRecord& m : mails) {
    if (!status.empty() && m.status != status) continue;
    if (as_json) {
      out.push_back(
          {{"id", m.id},
           {"instance", m.instance_id},
           {"recipient", m.recipient},
           {"subject", m.subject},
           {"status", m.status},
           {"attempts", m.attempts},
           {"last_error", m.last_error},
           {"created_at", core::formatIso8601(m.created_at)},
           {"next_attempt_at",
            m.status == "pending" ? json(core::formatIso8601(m.next_attempt_at)) : json(nullptr)},
           {"sent_at", m.sent_at ? json(core::formatIso8601(*m.sent_at)) : json(nullptr)}});
      continue;
    }
    ctx.out << m.id << "  " << m.status << "  attempts " << m.attempts << "  " << m.recipient
            << "  " << m.subject;
    if (m.status == "pending" && m.attempts > 0) {
      ctx.out << "  next " << core::formatIso8601(m.next_attempt_at);
    }
    if (m.sent_at) ctx.out << "  sent " << core::formatIso8601(*m.sent_at);
    if (!m.last_error.empty() && m.status != "sent") ctx.out << "  error: " << m.last_error;
    ctx.out << "\n";
  }
  if (as_json) ctx.out << out.dump(2) << "\n";
  return kExitOk;
}

}  // namespace

void registerMailCommands(CommandTable& table) {
  table.push_back({"mail list", "mail list [--status pending|sent|failed] [--json]",
                   "lists the outbox: status, attempts, next attempt and last error of each mail",
                   runMailList});
}

}  // namespace sendflow::app
