#pragma once
// Signed browser sessions. A session cookie's value is
//   base64url(JSON payload) "." base64url(HMAC-SHA256(secret, base64url(JSON payload)))
// where the payload holds a random session id, the principal (id, name, email, roles), the
// session's CSRF secret and the expiry (seconds since the epoch). The session itself is not
// stored on the server; signing out records its id with SessionRevocations, and `open` refuses a
// revoked session from then on (every process sharing the store), so a copy of the cookie stops
// working at sign-out rather than at its expiry.
//
// The signature is compared in constant time (CRYPTO_memcmp). A tampered, expired, signed-out or
// malformed cookie gives kUnauthenticated with a message saying which (never an exception);
// kUnavailable when the store cannot say whether the session was signed out.
//
// Thread-safe (no mutable state); the clock and the revocations must outlive the codec.

#include <chrono>
#include <string>

#include "server/auth/principal.h"
#include "server/auth/session_revocations.h"
#include "server/core/clock.h"
#include "server/core/status.h"

namespace sendflow::auth {

// The name the web layer gives the session cookie.
inline constexpr char kSessionCookieName[] = "sendflow_session";
// The shortest session secret accepted, in bytes.
inline constexpr std::size_t kMinSessionSecretBytes = 32;
// The purpose of a browser session cookie (see SessionCodec::seal).
inline constexpr char kSessionPurpose[] = "session";

struct Session {
  std::string id;       // random, made by seal; what sign-out revokes
  Principal principal;  // via is "session" once opened
  std::string csrf_secret;
  core::TimePoint expires_at;
};

class SessionCodec {
 public:
  // `secret` must be at least kMinSessionSecretBytes long: a shorter one is a programming error
  // (AuthConfig rejects it first) and throws std::invalid_argument. `lifetime` > 0.
  // `revocations` is what `open` checks and `revoke` records in; the service always has one.
  // Without one (nullptr: the codec's own tests, the fuzzer) sessions cannot be revoked.
  SessionCodec(std::string secret, const core::Clock& clock, std::chrono::seconds lifetime,
               SessionRevocations* revocations = nullptr);

  // The cookie value for `principal`, expiring `lifetime` from now. `csrf_secret` is normally
  // randomToken(32). `purpose` is signed into the cookie: a cookie sealed for one purpose (say
  // "sign-in-flow") is refused when opened for another, so short-lived helper cookies made with
  // the same codec can never pass as a session.
  std::string seal(const Principal& principal, std::string csrf_secret,
                   const std::string& purpose = kSessionPurpose) const;

  // Checks the signature, the purpose and the expiry and, for a session (kSessionPurpose), that
  // it was not signed out; returns the session (principal.via = "session").
  core::StatusOr<Session> open(const std::string& cookie_value,
                               const std::string& purpose = kSessionPurpose) const;

  // Signs `session` out for good: `open` refuses it from now on, also where another copy of the
  // cookie is kept. kFailedPrecondition without revocations; the store's error otherwise.
  core::Status revoke(const Session& session) const;

  std::chrono::seconds lifetime() const { return lifetime_; }

  // base64url (no padding) of `bytes` bytes from OpenSSL's RAND_bytes. `bytes` > 0.
  static std::string randomToken(int bytes);

 private:
  std::string secret_;
  const core::Clock& clock_;
  std::chrono::seconds lifetime_;
  SessionRevocations* revocations_;
};

// The CSRF token of a form: base64url(HMAC-SHA256(session.csrf_secret, form_id)). Forms carry it
// in a hidden field; the handler checks it with checkCsrf.
std::string csrfToken(const Session& session, const std::string& form_id);
// True when `token` is csrfToken(session, form_id) (constant-time comparison). False for an empty
// token or a session without a CSRF secret.
bool checkCsrf(const Session& session, const std::string& form_id, const std::string& token);

}  // namespace sendflow::auth
