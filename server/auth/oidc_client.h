#pragma once
// The browser sign-in against the intranet identity provider: the OpenID Connect authorization
// code flow with PKCE (S256), `state` and `nonce`.
//
//   1. begin(redirect_uri) gives the URL to send the browser to, and the state, nonce and PKCE
//      code verifier the web layer keeps (in a short-lived signed cookie) until the callback.
//   2. The provider redirects to redirect_uri?code=...&state=...; the web layer checks that
//      `state` equals the one it kept, then calls finish() with the code and the kept values.
//   3. finish() posts the code to the token endpoint (client_id and client_secret, form-encoded,
//      with the code verifier), verifies the returned `id_token` with the OidcVerifier (RS256,
//      iss, exp, nbf, audience = client_id, nonce) and maps its claims to a Principal.
//
// Errors: kUnavailable when the provider cannot be reached or its token endpoint answers a server
// error; kUnauthenticated when it refuses the code (the body's `error` is in the message) or the
// ID token fails a check; kInvalidArgument when client_id is not configured.
//
// Thread-safe; the verifier must outlive the client.

#include <string>
#include <vector>

#include "server/auth/oidc_verifier.h"
#include "server/auth/principal.h"
#include "server/core/status.h"

namespace sendflow::auth {

struct SignInRequest {
  std::string authorization_url;  // the provider's authorization endpoint with every parameter
  std::string state;              // 32 random bytes, base64url
  std::string nonce;              // 32 random bytes, base64url
  std::string code_verifier;      // PKCE, 32 random bytes, base64url (43 characters)
};

class OidcClient {
 public:
  // `scopes` are sent space-separated; "openid" is always first.
  explicit OidcClient(const OidcVerifier& verifier,
                      std::vector<std::string> scopes = {"openid", "profile", "email"});

  // Fresh state, nonce and code verifier, and the authorization URL built from the provider's
  // discovery document. The only error is that of OidcVerifier::metadata() (kUnavailable), which
  // is why this returns a StatusOr.
  core::StatusOr<SignInRequest> begin(const std::string& redirect_uri) const;

  // Redeems the authorization code; see the steps above. `redirect_uri` must be the one given to
  // begin().
  core::StatusOr<Principal> finish(const std::string& code, const std::string& code_verifier,
                                   const std::string& nonce, const std::string& redirect_uri) const;

  // The provider's sign-out URL (end_session_endpoint with client_id and, when not empty,
  // post_logout_redirect_uri), or kNotFound when the provider has none.
  core::StatusOr<std::string> signOutUrl(const std::string& post_logout_redirect_uri) const;

  // base64url(SHA-256(code_verifier)), the PKCE S256 challenge.
  static std::string codeChallenge(const std::string& code_verifier);

 private:
  const OidcVerifier& verifier_;
  std::vector<std::string> scopes_;
};

}  // namespace sendflow::auth
