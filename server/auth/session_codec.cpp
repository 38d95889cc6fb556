#include "server/auth/session_codec.h"

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <utility>

#include "server/auth/crypto.h"
#include "server/core/json_text.h"

namespace sendflow::auth {
namespace {

// Cookies beyond this are not ours (browsers keep a cookie under 4 KiB anyway).
constexpr std::size_t kMaxCookieBytes = 8 * 1024;
// 2: the session id ("sid"). Cookies of version 1 cannot be revoked and are refused.
constexpr int kPayloadVersion = 2;
// Bytes of randomness in a session id.
constexpr int kSessionIdBytes = 16;

// The cookie key is derived from the configured secret so that the same secret, reused by another
// feature with its own label, never yields interchangeable signatures.
std::string cookieKey(const std::string& secret) {
  return crypto::hmacSha256(secret, "sendflow session cookie v1");
}

}  // namespace

SessionCodec::SessionCodec(std::string secret, const core::Clock& clock,
                           std::chrono::seconds lifetime, SessionRevocations* revocations)
    : clock_(clock), lifetime_(lifetime), revocations_(revocations) {
  if (secret.size() < kMinSessionSecretBytes) {
    throw std::invalid_argument("session secret shorter than " +
                                std::to_string(kMinSessionSecretBytes) + " bytes");
  }
  if (lifetime.count() <= 0) throw std::invalid_argument("session lifetime must be > 0");
  secret_ = cookieKey(secret);
}

std::string SessionCodec::seal(const Principal& principal, std::string csrf_secret,
                               const std::string& purpose) const {
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch());
  nlohmann::json payload = {
      {"v", kPayloadVersion},
      {"p", purpose},
      {"sid", randomToken(kSessionIdBytes)},
      {"id", principal.id},
      {"name", principal.name},
      {"email", principal.email},
      {"roles", principal.roles},
      {"csrf", std::move(csrf_secret)},
      {"exp", (now_s + lifetime_).count()},
  };
  // Replace invalid UTF-8 rather than throw: names come from the identity provider.
  std::string body = crypto::base64UrlEncode(
      payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return body + "." + crypto::base64UrlEncode(crypto::hmacSha256(secret_, body));
}

core::StatusOr<Session> SessionCodec::open(const std::string& cookie_value,
                                           const std::string& purpose) const {
  if (cookie_value.empty()) return core::unauthenticated("no session cookie");
  if (cookie_value.size() > kMaxCookieBytes) {
    return core::unauthenticated("the session cookie is too long");
  }
  std::size_t dot = cookie_value.find('.');
  if (dot == std::string::npos || cookie_value.find('.', dot + 1) != std::string::npos) {
    return core::unauthenticated("the session cookie is malformed");
  }
  std::string_view body = std::string_view(cookie_value).substr(0, dot);
  auto mac = crypto::base64UrlDecode(std::string_view(cookie_value).substr(dot + 1));
  if (!mac || !crypto::constantTimeEquals(*mac, crypto::hmacSha256(secret_, body))) {
    return core::unauthenticated(
        "the session cookie's signature does not match (tampered, or "
        "signed with another secret)");
  }
  auto text = crypto::base64UrlDecode(body);
  auto parsed = text ? core::parseJsonText(*text) : core::invalidArgument("not base64url");
  if (!parsed.isOk() || !parsed->is_object()) {
    return core::unauthenticated("the session cookie's payload is malformed");
  }
  const nlohmann::json payload = std::move(parsed).value();
  auto field = [&](const char* name) -> const nlohmann::json* {
    auto it = payload.find(name);
    return it == payload.end() ? nullptr : &*it;
  };
  const nlohmann::json* version = field("v");
  const nlohmann::json* session_id = field("sid");
  const nlohmann::json* id = field("id");
  const nlohmann::json* exp = field("exp");
  if (version == nullptr || !version->is_number_integer() ||
      version->get<long long>() != kPayloadVersion || session_id == nullptr ||
      !session_id->is_string() || session_id->get<std::string>().empty() || id == nullptr ||
      !id->is_string() || id->get<std::string>().empty() || exp == nullptr ||
      !exp->is_number_integer()) {
    return core::unauthenticated("the session cookie's payload is malformed");
  }
  const nlohmann::json* sealed_for = field("p");
  std::string sealed_purpose =
      sealed_for != nullptr && sealed_for->is_string() ? sealed_for->get<std::string>() : "";
  if (sealed_purpose != purpose) {
    return core::unauthenticated("the cookie was not made for this (" +
                                 sealed_purpose.substr(0, 40) + ", not " + purpose + ")");
  }
  Session session;
  session.id = session_id->get<std::string>();
  session.expires_at = core::TimePoint(std::chrono::seconds(exp->get<long long>()));
  if (clock_.now() >= session.expires_at) {
    return core::unauthenticated("the session expired at " +
                                 core::formatIso8601(session.expires_at) + "; sign in again");
  }
  auto optionalText = [&](const char* name) {
    const nlohmann::json* f = field(name);
    return f != nullptr && f->is_string() ? f->get<std::string>() : std::string();
  };
  session.principal.id = id->get<std::string>();
  session.principal.name = optionalText("name");
  if (session.principal.name.empty()) session.principal.name = session.principal.id;
  session.principal.email = optionalText("email");
  if (const nlohmann::json* roles = field("roles"); roles != nullptr && roles->is_array()) {
    for (const auto& r : *roles) {
      if (r.is_string()) session.principal.roles.insert(r.get<std::string>());
    }
  }
  session.principal.via = "session";
  session.csrf_secret = optionalText("csrf");
  if (purpose == kSessionPurpose && revocations_ != nullptr) {
    SENDFLOW_RETURN_IF_ERROR(revocations_->check(session));
  }
  return session;
}

core::Status SessionCodec::revoke(const Session& session) const {
  if (revocations_ == nullptr) {
    return core::failedPrecondition("sessions cannot be revoked: no revocations are configured");
  }
  return revocations_->revoke(session);
}

std::string SessionCodec::randomToken(int bytes) {
  return crypto::base64UrlEncode(crypto::randomBytes(bytes > 0 ? bytes : 1));
}

std::string csrfToken(const Session& session, const std::string& form_id) {
  return crypto::base64UrlEncode(crypto::hmacSha256(session.csrf_secret, "csrf:" + form_id));
}

bool checkCsrf(const Session& session, const std::string& form_id, const std::string& token) {
  if (token.empty() || session.csrf_secret.empty()) return false;
  return crypto::constantTimeEquals(token, csrfToken(session, form_id));
}

}  // namespace sendflow::auth
