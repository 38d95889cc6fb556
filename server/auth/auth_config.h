#pragma once
// The "auth" section of the configuration, parsed and checked. Takes plain key/value maps so the
// auth module does not depend on server/app: the app passes Settings::section("auth") (keys
// without the "auth." prefix) and the value of deployment.environment.
//
//   auth.mode                    development (default) | oidc
//   auth.oidc.issuer             required with oidc
//   auth.oidc.audience           comma list of accepted access-token audiences (default client_id)
//   auth.oidc.client_id          the browser sign-in's client (required with oidc)
//   auth.oidc.client_secret      (better from SENDFLOW_AUTH_OIDC_CLIENT_SECRET)
//   auth.oidc.user_claim         default preferred_username
//   auth.oidc.name_claim         default name
//   auth.oidc.email_claim        default email
//   auth.oidc.role_claims        comma list, default roles,groups
//   auth.oidc.role_map.<value>   comma list of sendflow roles for that role or group value
//   auth.oidc.leeway             duration, default 60s
//   auth.oidc.jwks_ttl           duration, default 1h
//   auth.oidc.http_timeout       duration, default 5s
//   auth.oidc.proxy              HOST:PORT of the outbound proxy to the provider; empty: direct
//   auth.session.secret          at least 32 characters; empty: generated once into
//                                auth.session.secret_file
//   auth.session.secret_file     default var/session.secret
//   auth.session.lifetime        duration, default 8h
//   auth.dev.users               default config/users.json
//   auth.api_key.<name>.sha256 / .roles   see api_keys.h
// Durations are "30s", "5m", "8h", "1d" or a bare number of seconds.
//
// Errors are kInvalidArgument naming the full key: "auth.session.lifetime: '8 hours' is not a
// duration".

#include <chrono>
#include <map>
#include <string>

#include "server/auth/api_keys.h"
#include "server/auth/oidc_verifier.h"
#include "server/core/status.h"

namespace sendflow::auth {

enum class AuthMode { kDevelopment, kOidc };
enum class DeploymentEnvironment { kDevelopment, kProduction };

const char* authModeName(AuthMode mode);  // "development" | "oidc"
const char* deploymentEnvironmentName(DeploymentEnvironment environment);

struct AuthConfig {
  AuthMode mode = AuthMode::kDevelopment;
  DeploymentEnvironment environment = DeploymentEnvironment::kDevelopment;
  OidcOptions oidc;            // filled when mode is kOidc
  std::string session_secret;  // empty: use loadOrCreateSessionSecret(session_secret_file)
  std::string session_secret_file = "var/session.secret";
  std::chrono::seconds session_lifetime{8 * 3600};
  std::string dev_users_path = "config/users.json";
  ApiKeys api_keys;
};

// Parses `auth_section` (keys without "auth.") and `deployment_environment` (the value of
// deployment.environment; empty means development). Unknown keys under auth. are errors (a typo
// must not silently turn a setting off).
core::StatusOr<AuthConfig> parseAuthConfig(const std::map<std::string, std::string>& auth_section,
                                           const std::string& deployment_environment);

// Called by the app at start-up, after parsing. In production: refuses auth.mode = development
// (anyone could sign in as anyone) and a session secret shorter than 32 bytes; kFailedPrecondition
// naming deployment.environment and auth.mode. OK otherwise.
core::Status checkProductionSafety(const AuthConfig& config);

// The session secret: `config.session_secret` when set, else the content of session_secret_file,
// created with 48 random bytes (base64url, mode 0600) when it does not exist. kUnavailable when
// the file cannot be read or written; kInvalidArgument when its content is too short.
core::StatusOr<std::string> loadOrCreateSessionSecret(const AuthConfig& config);

}  // namespace sendflow::auth
