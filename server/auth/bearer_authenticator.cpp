#include "server/auth/bearer_authenticator.h"

#include <utility>

namespace sendflow::auth {
namespace {

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  std::size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

bool isBearerScheme(const std::string& scheme) {
  static constexpr char kBearer[] = "bearer";
  if (scheme.size() != sizeof(kBearer) - 1) return false;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    char c = scheme[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kBearer[i]) return false;
  }
  return true;
}

core::Status signInRequired() { return core::unauthenticated("sign-in required"); }

}  // namespace

BearerAuthenticator::BearerAuthenticator(std::shared_ptr<const ApiKeys> api_keys,
                                         std::shared_ptr<const OidcVerifier> oidc)
    : api_keys_(std::move(api_keys)), oidc_(std::move(oidc)) {}

core::StatusOr<Principal> BearerAuthenticator::authenticate(
    const std::string& authorization_header) const {
  return authenticate(authorization_header, "");
}

core::StatusOr<Principal> BearerAuthenticator::authenticate(
    const std::string& authorization_header, const std::string& x_api_key_header) const {
  std::string header = trim(authorization_header);
  std::string token;
  bool from_api_key_header = false;
  if (!header.empty()) {
    std::size_t space = header.find_first_of(" \t");
    if (space == std::string::npos || !isBearerScheme(header.substr(0, space))) {
      return signInRequired();
    }
    token = trim(header.substr(space + 1));
    if (token.empty() || token.find_first_of(" \t") != std::string::npos) {
      return core::unauthenticated("the Authorization header's bearer token is malformed");
    }
  } else if (!trim(x_api_key_header).empty()) {
    token = trim(x_api_key_header);
    from_api_key_header = true;
  } else {
    return signInRequired();
  }

  if (from_api_key_header || token.rfind(kApiKeyPrefix, 0) == 0) {
    if (!api_keys_ || api_keys_->empty()) {
      return core::unauthenticated("API keys are not accepted: none is configured");
    }
    return api_keys_->authenticate(token);
  }
  if (!oidc_) {
    return core::unauthenticated(
        "identity provider tokens are not accepted: auth.mode is not oidc");
  }
  return oidc_->verifyAccessToken(token);
}

}  // namespace sendflow::auth
