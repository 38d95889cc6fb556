#pragma once
// Sign-out that sticks. A session cookie is signed, not stored, so without this a copy of it
// (a shared computer, a proxy log, a stolen cookie) keeps working until it expires. Signing out
// records the session's id as revoked until the cookie's own expiry; SessionCodec::open refuses
// a revoked session on every request.
//
// The store is the truth: several service processes sharing one store see each other's
// sign-outs at once. There is no in-process cache (an answer "not revoked" cached here could let
// a session signed out through another process work again); the check is one read by primary
// key. Rows of expired sessions are deleted whenever a session is revoked.
//
// Thread-safe; the store and the clock must outlive it.

#include "server/core/clock.h"
#include "server/core/status.h"
#include "server/store/store.h"

namespace sendflow::auth {

struct Session;

class SessionRevocations {
 public:
  SessionRevocations(store::Store& store, const core::Clock& clock);

  // Records `session` as signed out until it expires. kInvalidArgument for a session without an
  // id; the store's error (nothing recorded) when it cannot write.
  core::Status revoke(const Session& session);

  // OK when `session` was not signed out; kUnauthenticated when it was; kUnavailable when the
  // store cannot tell (the session must then be refused).
  core::Status check(const Session& session) const;

 private:
  store::Store& store_;
  const core::Clock& clock_;
};

}  // namespace sendflow::auth
