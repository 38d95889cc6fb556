#pragma once
// Verification of the intranet identity provider's tokens (OpenID Connect, RS256 JWTs).
//
// The verifier reads the provider's discovery document `{issuer}/.well-known/openid-configuration`
// (http or https, with OidcOptions::http_timeout), checks that its `issuer` is the configured one,
// and keeps the provider's signing keys (JWKS, `jwks_uri`) for `jwks_ttl`. A token signed with a
// key id (`kid`) it does not know makes it fetch the JWKS again (key rotation), but not more than
// once per `min_jwks_refresh`, so a flood of tokens with made-up key ids never hammers the
// provider.
//
// Every token must be a compact JWS with `alg` RS256 (anything else, `none` and HS256 included,
// is refused: no algorithm confusion), a valid RSA-SHA256 signature by a key of the JWKS,
// `iss` equal to the configured issuer, `aud` (a string or an array) holding one of the accepted
// audiences, `exp` in the future and `nbf` (when present) in the past, both with `leeway`.
//
// Errors (never an exception):
//   kUnauthenticated   the token is malformed, expired, not yet valid, for another issuer or
//                      audience, badly signed or signed by an unknown key; the message says which
//   kUnavailable       the provider (discovery or JWKS) cannot be reached or answers an error
//   kInvalidArgument   the options are unusable (no issuer, no audience)
//
// Thread-safe: any number of request threads may verify at once. Fetching and caching happen
// under a mutex; signature and claim checks run outside it. The clock is used for exp/nbf and for
// the cache's age; it must outlive the verifier.

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/auth/principal.h"
#include "server/core/clock.h"
#include "server/core/status.h"

namespace sendflow::auth {

struct OidcOptions {
  // The provider's issuer identifier, exactly as its tokens carry it in `iss` (no trailing slash
  // is added or removed).
  std::string issuer;
  // Accepted `aud` values of access tokens; a token must name at least one.
  std::vector<std::string> audiences;
  std::string user_claim = "preferred_username";  // Principal::id; falls back to `sub`
  std::string name_claim = "name";
  std::string email_claim = "email";
  // Claims whose values (a string or an array of strings) are looked up in role_map.
  std::vector<std::string> role_claims = {"roles", "groups"};
  // The provider's role or group value -> sendflow role ids. Values not in the map give no role.
  std::map<std::string, std::set<std::string>> role_map;
  std::chrono::seconds leeway{60};
  std::chrono::seconds jwks_ttl{3600};
  std::chrono::seconds min_jwks_refresh{30};
  std::chrono::milliseconds http_timeout{5000};
  // "HOST:PORT" of the outbound HTTP proxy the provider is reached through (https goes through
  // it with CONNECT); empty: direct.
  std::string proxy;
  // The browser sign-in's client (OidcClient); the ID token's audience is client_id.
  std::string client_id;
  std::string client_secret;
};

// The endpoints read from the discovery document. end_session_endpoint may be empty.
struct ProviderMetadata {
  std::string issuer;
  std::string jwks_uri;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string end_session_endpoint;
};

class OidcVerifier {
 public:
  OidcVerifier(OidcOptions options, const core::Clock& clock);
  ~OidcVerifier();
  OidcVerifier(const OidcVerifier&) = delete;
  OidcVerifier& operator=(const OidcVerifier&) = delete;

  // Checks the options without touching the network: kInvalidArgument naming the field.
  static core::Status validate(const OidcOptions& options);

  // Verifies an access token (a bearer token of the API) against OidcOptions::audiences and maps
  // its claims to a Principal with via = "oidc".
  core::StatusOr<Principal> verifyAccessToken(const std::string& jwt) const;

  // Verifies an ID token from the browser sign-in: the audience must be client_id and, when
  // `expected_nonce` is not empty, the `nonce` claim must equal it. via = "oidc".
  core::StatusOr<Principal> verifyIdToken(const std::string& jwt,
                                          const std::string& expected_nonce) const;

  // Verifies signature, alg, iss, exp, nbf, and that `aud` holds one of `audiences`; returns the
  // token's claims. The building block of the two above.
  core::StatusOr<nlohmann::json> verifyClaims(const std::string& jwt,
                                              const std::vector<std::string>& audiences) const;

  // Maps verified claims to a Principal (id, name, email, roles through role_map; via "oidc").
  // kUnauthenticated when neither the user claim nor `sub` is a non-empty string.
  core::StatusOr<Principal> principalFromClaims(const nlohmann::json& claims) const;

  // The provider's discovery document, fetched on first use and kept for jwks_ttl.
  core::StatusOr<ProviderMetadata> metadata() const;

  const OidcOptions& options() const { return options_; }

  // How many times the JWKS has been fetched (for tests and the health page).
  int jwksFetchCount() const;

 private:
  struct Cache;
  OidcOptions options_;
  const core::Clock& clock_;
  std::unique_ptr<Cache> cache_;
};

}  // namespace sendflow::auth
