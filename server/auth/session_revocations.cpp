#include "server/auth/session_revocations.h"

#include "server/auth/session_codec.h"

namespace sendflow::auth {

SessionRevocations::SessionRevocations(store::Store& store, const core::Clock& clock)
    : store_(store), clock_(clock) {}

core::Status SessionRevocations::revoke(const Session& session) {
  if (session.id.empty()) return core::invalidArgument("the session has no id to revoke");
  const core::TimePoint now = clock_.now();
  return store_.transact([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_RETURN_IF_ERROR(tx.insertRevokedSession(session.id, session.expires_at));
    return tx.purgeRevokedSessions(now).status();
  });
}

core::Status SessionRevocations::check(const Session& session) const {
  bool revoked = true;
  const core::Status read = store_.read([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(revoked, tx.sessionRevoked(session.id));
    return core::Status::ok();
  });
  if (!read.isOk()) {
    return core::unavailable("cannot tell whether the session was signed out: " + read.message());
  }
  if (revoked) return core::unauthenticated("the session was signed out; sign in again");
  return core::Status::ok();
}

}  // namespace sendflow::auth
