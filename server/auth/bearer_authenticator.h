#pragma once
// What the HTTP layer calls for an API request: the Authorization header (and X-Api-Key) to a
// Principal.
//   Authorization: Bearer sfk_...      an API key (ApiKeys)
//   X-Api-Key: sfk_...                 the same, for clients that cannot set Authorization
//   Authorization: Bearer <JWT>        an access token of the identity provider (OidcVerifier)
// The scheme "Bearer" is matched case-insensitively. Either source may be absent (configured
// off): a token of that kind is then refused with kUnauthenticated saying so.
//
// Errors: kUnauthenticated "sign-in required" when there is no credential or the Authorization
// header is not a Bearer one; the ApiKeys or OidcVerifier error otherwise (kUnavailable when the
// provider cannot be reached).
//
// Thread-safe.

#include <memory>
#include <string>

#include "server/auth/api_keys.h"
#include "server/auth/oidc_verifier.h"
#include "server/auth/principal.h"
#include "server/core/status.h"

namespace sendflow::auth {

class BearerAuthenticator {
 public:
  // Either may be null.
  BearerAuthenticator(std::shared_ptr<const ApiKeys> api_keys,
                      std::shared_ptr<const OidcVerifier> oidc);

  core::StatusOr<Principal> authenticate(const std::string& authorization_header) const;
  // Both headers ("" when absent). When both are present the Authorization header wins.
  core::StatusOr<Principal> authenticate(const std::string& authorization_header,
                                         const std::string& x_api_key_header) const;

 private:
  std::shared_ptr<const ApiKeys> api_keys_;
  std::shared_ptr<const OidcVerifier> oidc_;
};

}  // namespace sendflow::auth
