#include "server/auth/auth_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/auth/crypto.h"
#include "server/auth/session_codec.h"
#include "server/core/private_files.h"

namespace sendflow::auth {
namespace {

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  std::size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = trim(text.substr(start, comma - start));
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

// "30s", "5m", "8h", "1d" or a bare number of seconds.
core::StatusOr<std::chrono::seconds> parseDuration(const std::string& key, const std::string& raw) {
  std::string text = trim(raw);
  auto bad = [&] {
    return core::invalidArgument("auth." + key + ": '" + raw +
                                 "' is not a duration (e.g. 30s, 5m, 8h, 1d)");
  };
  if (text.empty()) return bad();
  long long multiplier = 1;
  char unit = text.back();
  if (unit == 's' || unit == 'm' || unit == 'h' || unit == 'd') {
    multiplier = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 86400;
    text.pop_back();
  }
  if (text.empty() || text.size() > 9) return bad();
  long long value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return bad();
    value = value * 10 + (c - '0');
  }
  return std::chrono::seconds(value * multiplier);
}

bool isHttpUrl(const std::string& s) {
  return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0;
}

}  // namespace

const char* authModeName(AuthMode mode) { return mode == AuthMode::kOidc ? "oidc" : "development"; }

const char* deploymentEnvironmentName(DeploymentEnvironment environment) {
  return environment == DeploymentEnvironment::kProduction ? "production" : "development";
}

core::StatusOr<AuthConfig> parseAuthConfig(const std::map<std::string, std::string>& auth_section,
                                           const std::string& deployment_environment) {
  AuthConfig config;
  std::string env = trim(deployment_environment);
  if (env.empty() || env == "development") {
    config.environment = DeploymentEnvironment::kDevelopment;
  } else if (env == "production") {
    config.environment = DeploymentEnvironment::kProduction;
  } else {
    return core::invalidArgument("deployment.environment: '" + deployment_environment +
                                 "' is not development or production");
  }

  std::map<std::string, std::string> api_key_section;
  OidcOptions& oidc = config.oidc;
  bool audience_set = false;
  for (const auto& [key, raw] : auth_section) {
    std::string value = trim(raw);
    std::string full = "auth." + key;
    if (key == "mode") {
      if (value == "development") {
        config.mode = AuthMode::kDevelopment;
      } else if (value == "oidc") {
        config.mode = AuthMode::kOidc;
      } else {
        return core::invalidArgument(full + ": '" + raw + "' is not development or oidc");
      }
    } else if (key.rfind("api_key.", 0) == 0) {
      api_key_section[key.substr(std::strlen("api_key."))] = raw;
    } else if (key.rfind("oidc.role_map.", 0) == 0) {
      std::string claim_value = key.substr(std::strlen("oidc.role_map."));
      if (claim_value.empty()) return core::invalidArgument(full + ": names no claim value");
      std::vector<std::string> roles = splitList(value);
      if (roles.empty()) return core::invalidArgument(full + ": names no sendflow role");
      oidc.role_map[claim_value].insert(roles.begin(), roles.end());
    } else if (key == "oidc.issuer") {
      oidc.issuer = value;
    } else if (key == "oidc.audience") {
      oidc.audiences = splitList(value);
      audience_set = true;
    } else if (key == "oidc.client_id") {
      oidc.client_id = value;
    } else if (key == "oidc.client_secret") {
      oidc.client_secret = value;
    } else if (key == "oidc.user_claim") {
      if (value.empty()) return core::invalidArgument(full + ": is empty");
      oidc.user_claim = value;
    } else if (key == "oidc.name_claim") {
      oidc.name_claim = value;
    } else if (key == "oidc.email_claim") {
      oidc.email_claim = value;
    } else if (key == "oidc.role_claims") {
      oidc.role_claims = splitList(value);
    } else if (key == "oidc.leeway") {
      SENDFLOW_ASSIGN_OR_RETURN(oidc.leeway, parseDuration(key, raw));
    } else if (key == "oidc.jwks_ttl") {
      SENDFLOW_ASSIGN_OR_RETURN(oidc.jwks_ttl, parseDuration(key, raw));
      if (oidc.jwks_ttl.count() <= 0) return core::invalidArgument(full + ": must be more than 0");
    } else if (key == "oidc.min_jwks_refresh") {
      SENDFLOW_ASSIGN_OR_RETURN(oidc.min_jwks_refresh, parseDuration(key, raw));
    } else if (key == "oidc.http_timeout") {
      SENDFLOW_ASSIGN_OR_RETURN(std::chrono::seconds t, parseDuration(key, raw));
      if (t.count() <= 0) return core::invalidArgument(full + ": must be more than 0");
      oidc.http_timeout = t;
    } else if (key == "oidc.proxy") {
      oidc.proxy = value;
    } else if (key == "session.secret") {
      config.session_secret = value;
      if (!value.empty() && value.size() < kMinSessionSecretBytes) {
        return core::invalidArgument(full + ": is shorter than " +
                                     std::to_string(kMinSessionSecretBytes) +
                                     " characters (leave it empty to have one generated)");
      }
    } else if (key == "session.secret_file") {
      if (value.empty()) return core::invalidArgument(full + ": is empty");
      config.session_secret_file = value;
    } else if (key == "session.lifetime") {
      SENDFLOW_ASSIGN_OR_RETURN(config.session_lifetime, parseDuration(key, raw));
      if (config.session_lifetime.count() <= 0) {
        return core::invalidArgument(full + ": must be more than 0");
      }
    } else if (key == "dev.users") {
      if (value.empty()) return core::invalidArgument(full + ": is empty");
      config.dev_users_path = value;
    } else if (key == "mode" || key.rfind("oidc.", 0) == 0 || key.rfind("session.", 0) == 0 ||
               key.rfind("dev.", 0) == 0) {
      // A typo here would silently turn a sign-in setting off.
      return core::invalidArgument(full + ": unknown setting (docs/security.md lists them)");
    }
    // Other auth.* keys belong to other parts of sendflow (authorisation, approval links).
  }
  SENDFLOW_ASSIGN_OR_RETURN(config.api_keys, ApiKeys::fromSection(api_key_section));

  if (config.mode == AuthMode::kOidc) {
    if (oidc.issuer.empty()) {
      return core::invalidArgument("auth.oidc.issuer: is required when auth.mode = oidc");
    }
    if (!isHttpUrl(oidc.issuer)) {
      return core::invalidArgument("auth.oidc.issuer: '" + oidc.issuer +
                                   "' is not an http or https URL");
    }
    if (oidc.client_id.empty()) {
      return core::invalidArgument("auth.oidc.client_id: is required when auth.mode = oidc");
    }
    if (!audience_set || oidc.audiences.empty()) oidc.audiences = {oidc.client_id};
    if (oidc.role_claims.empty()) {
      return core::invalidArgument("auth.oidc.role_claims: names no claim");
    }
    SENDFLOW_RETURN_IF_ERROR(OidcVerifier::validate(oidc));
  }
  return config;
}

core::Status checkProductionSafety(const AuthConfig& config) {
  if (config.environment != DeploymentEnvironment::kProduction) return core::Status::ok();
  if (config.mode == AuthMode::kDevelopment) {
    return core::failedPrecondition(
        "deployment.environment = production refuses auth.mode = development: the development "
        "sign-in lets anyone act as any user. Set auth.mode = oidc with auth.oidc.issuer and "
        "auth.oidc.client_id");
  }
  if (config.oidc.issuer.rfind("https://", 0) != 0) {
    return core::failedPrecondition(
        "deployment.environment = production refuses auth.oidc.issuer '" + config.oidc.issuer +
        "': the identity provider must be reached over https");
  }
  if (!config.session_secret.empty() && config.session_secret.size() < kMinSessionSecretBytes) {
    return core::failedPrecondition(
        "deployment.environment = production: auth.session.secret is "
        "shorter than 32 characters");
  }
  return core::Status::ok();
}

core::StatusOr<std::string> loadOrCreateSessionSecret(const AuthConfig& config) {
  if (!config.session_secret.empty()) return config.session_secret;
  const std::string& path = config.session_secret_file;
  SENDFLOW_RETURN_IF_ERROR(
      core::createPrivateFolders(std::filesystem::path(path).parent_path().string())
          .withContext("auth.session.secret_file"));
  std::string fresh = crypto::base64UrlEncode(crypto::randomBytes(48));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    std::string line = fresh + "\n";
    bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ok = ::fsync(fd) == 0 && ok;
    ::close(fd);
    if (!ok) {
      ::unlink(path.c_str());
      return core::unavailable("auth.session.secret_file: cannot write " + path);
    }
    return fresh;
  }
  if (errno != EEXIST) {
    return core::unavailable("auth.session.secret_file: cannot create " + path + ": " +
                             std::strerror(errno));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::unavailable("auth.session.secret_file: cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  std::string secret = trim(text.str());
  if (secret.size() < kMinSessionSecretBytes) {
    return core::invalidArgument("auth.session.secret_file: " + path + " holds fewer than " +
                                 std::to_string(kMinSessionSecretBytes) +
                                 " characters; delete it to have a new secret generated");
  }
  return secret;
}

}  // namespace sendflow::auth
