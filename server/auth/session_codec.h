#pragma once
// Stateless signed browser sessions. A session cookie's value is
//   base64url(JSON payload) "." base64url(HMAC-SHA256(secret, base64url(JSON payload)))
// where the payload holds the principal (id, name, email, roles), the session's CSRF secret and
// the expiry (seconds since the epoch). Nothing is stored on the server, so signing out is the
// browser forgetting the cookie; a stolen cookie is valid until it expires (keep lifetimes short,
// cookies HttpOnly, Secure and SameSite=Lax).
//
// The signature is compared in constant time (CRYPTO_memcmp). A tampered, expired or malformed
// cookie gives kUnauthenticated with a message saying which (never an exception).
//
// Thread-safe (no mutable state); the clock must outlive the codec.

#include <chrono>
#include <string>

#include "server/auth/principal.h"
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
  Principal principal;  // via is "session" once opened
  std::string csrf_secret;
  core::TimePoint expires_at;
};

class SessionCodec {
 public:
  // `secret` must be at least kMinSessionSecretBytes long: a shorter one is a programming error
  // (AuthConfig rejects it first) and throws std::invalid_argument. `lifetime` > 0.
  SessionCodec(std::string secret, const core::Clock& clock, std::chrono::seconds lifetime);

  // The cookie value for `principal`, expiring `lifetime` from now. `csrf_secret` is normally
  // randomToken(32). `purpose` is signed into the cookie: a cookie sealed for one purpose (say
  // "sign-in-flow") is refused when opened for another, so short-lived helper cookies made with
  // the same codec can never pass as a session.
  std::string seal(const Principal& principal, std::string csrf_secret,
                   const std::string& purpose = kSessionPurpose) const;

  // Checks the signature, the purpose and the expiry and returns the session
  // (principal.via = "session").
  core::StatusOr<Session> open(const std::string& cookie_value,
                               const std::string& purpose = kSessionPurpose) const;

  std::chrono::seconds lifetime() const { return lifetime_; }

  // base64url (no padding) of `bytes` bytes from OpenSSL's RAND_bytes. `bytes` > 0.
  static std::string randomToken(int bytes);

 private:
  std::string secret_;
  const core::Clock& clock_;
  std::chrono::seconds lifetime_;
};

// The CSRF token of a form: base64url(HMAC-SHA256(session.csrf_secret, form_id)). Forms carry it
// in a hidden field; the handler checks it with checkCsrf.
std::string csrfToken(const Session& session, const std::string& form_id);
// True when `token` is csrfToken(session, form_id) (constant-time comparison). False for an empty
// token or a session without a CSRF secret.
bool checkCsrf(const Session& session, const std::string& form_id, const std::string& token);

}  // namespace sendflow::auth
