#include "server/auth/oidc_verifier.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <cmath>
#include <mutex>
#include <optional>
#include <utility>

#include "server/auth/crypto.h"
#include "server/auth/provider_http.h"
#include "server/core/json_text.h"

namespace sendflow::auth {
namespace {

// Larger than any real access token (Entra ID tokens with many groups stay under 16 KiB).
constexpr std::size_t kMaxTokenBytes = 64 * 1024;
// RSA keys shorter than this are ignored when the JWKS is read.
constexpr int kMinRsaBits = 2048;
// A token without `kid` is tried against at most this many keys.
constexpr std::size_t kMaxKeysTried = 8;

using PublicKey = std::shared_ptr<EVP_PKEY>;

struct SigningKey {
  std::string kid;  // may be empty: the key is then a candidate for every token
  PublicKey key;
};

struct KeySet {
  std::vector<SigningKey> keys;
};

std::string trimTrailingSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::string joinList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

std::string formatEpoch(double seconds) {
  if (!std::isfinite(seconds) || std::fabs(seconds) > 1e13) return std::to_string(seconds);
  return core::formatIso8601(
      core::TimePoint(std::chrono::milliseconds(static_cast<long long>(seconds * 1000))));
}

// The RSA public key of a JWK's `n` and `e` (base64url big-endian integers), or nullptr.
PublicKey rsaKeyFromJwk(const std::string& n_b64, const std::string& e_b64, std::string& why) {
  auto n = crypto::base64UrlDecode(n_b64);
  auto e = crypto::base64UrlDecode(e_b64);
  if (!n || !e || n->empty() || e->empty()) {
    why = "n or e is not base64url";
    return nullptr;
  }
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                           static_cast<int>(n->size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                           static_cast<int>(e->size()), nullptr);
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  EVP_PKEY_CTX* ctx = nullptr;
  EVP_PKEY* pkey = nullptr;
  if (bn_n != nullptr && bn_e != nullptr && builder != nullptr &&
      OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
      OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1) {
    params = OSSL_PARAM_BLD_to_param(builder);
  }
  if (params != nullptr) ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  if (ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1 &&
      EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    pkey = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(builder);
  BN_free(bn_n);
  BN_free(bn_e);
  if (pkey == nullptr) {
    why = "not a usable RSA public key";
    return nullptr;
  }
  if (EVP_PKEY_get_bits(pkey) < kMinRsaBits) {
    why = "RSA key shorter than " + std::to_string(kMinRsaBits) + " bits";
    EVP_PKEY_free(pkey);
    return nullptr;
  }
  return PublicKey(pkey, EVP_PKEY_free);
}

bool verifyRs256(const PublicKey& key, std::string_view signed_part, std::string_view signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(signed_part.data()),
                       signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

// Reads the RS256-capable RSA keys of a JWKS; keys of other types or uses are skipped.
core::StatusOr<std::shared_ptr<const KeySet>> parseJwks(const nlohmann::json& jwks,
                                                        const std::string& url) {
  auto it = jwks.find("keys");
  if (it == jwks.end() || !it->is_array()) {
    return core::unavailable("JWKS " + url + " has no \"keys\" array");
  }
  auto set = std::make_shared<KeySet>();
  for (const auto& jwk : *it) {
    if (!jwk.is_object()) continue;
    auto text = [&](const char* name) {
      auto f = jwk.find(name);
      return f != jwk.end() && f->is_string() ? f->get<std::string>() : std::string();
    };
    if (text("kty") != "RSA") continue;
    if (!text("use").empty() && text("use") != "sig") continue;
    if (!text("alg").empty() && text("alg") != "RS256") continue;
    std::string why;
    PublicKey key = rsaKeyFromJwk(text("n"), text("e"), why);
    if (!key) continue;
    set->keys.push_back({text("kid"), std::move(key)});
  }
  return std::shared_ptr<const KeySet>(std::move(set));
}

core::StatusOr<ProviderMetadata> fetchMetadata(const OidcOptions& options) {
  std::string url = trimTrailingSlash(options.issuer) + "/.well-known/openid-configuration";
  SENDFLOW_ASSIGN_OR_RETURN(nlohmann::json doc,
                            providerGetJson(url, {options.http_timeout, options.proxy}));
  auto text = [&](const char* name) {
    auto f = doc.find(name);
    return f != doc.end() && f->is_string() ? f->get<std::string>() : std::string();
  };
  ProviderMetadata m;
  m.issuer = text("issuer");
  m.jwks_uri = text("jwks_uri");
  m.authorization_endpoint = text("authorization_endpoint");
  m.token_endpoint = text("token_endpoint");
  m.end_session_endpoint = text("end_session_endpoint");
  if (m.issuer != options.issuer) {
    return core::unavailable("discovery document " + url + " names the issuer '" + m.issuer +
                             "', not the configured auth.oidc.issuer '" + options.issuer + "'");
  }
  if (m.jwks_uri.empty()) {
    return core::unavailable("discovery document " + url + " has no jwks_uri");
  }
  return m;
}

}  // namespace

struct OidcVerifier::Cache {
  std::mutex mutex;
  // All guarded by mutex.
  std::optional<ProviderMetadata> metadata;
  core::TimePoint metadata_fetched_at;
  std::optional<core::TimePoint> metadata_attempted_at;
  core::Status metadata_error;
  std::shared_ptr<const KeySet> keys;
  core::TimePoint keys_fetched_at;
  std::optional<core::TimePoint> keys_attempted_at;
  core::Status keys_error;
  int fetch_count = 0;

  // The provider's metadata; fetched when absent or older than jwks_ttl. While the provider is
  // unreachable, a stale copy is used and the fetch is retried at most once per min_jwks_refresh.
  core::StatusOr<ProviderMetadata> metadataLocked(const OidcOptions& options, core::TimePoint now) {
    bool fresh = metadata && now - metadata_fetched_at < options.jwks_ttl;
    if (fresh) return *metadata;
    bool may_try =
        !metadata_attempted_at || now - *metadata_attempted_at >= options.min_jwks_refresh;
    if (may_try) {
      metadata_attempted_at = now;
      auto fetched = fetchMetadata(options);
      if (fetched.isOk()) {
        metadata = *fetched;
        metadata_fetched_at = now;
        metadata_error = core::Status::ok();
        return *metadata;
      }
      metadata_error = fetched.status();
    }
    if (metadata) return *metadata;
    return metadata_error.isOk() ? core::unavailable("the identity provider has not answered yet")
                                 : metadata_error;
  }

  core::Status fetchKeysLocked(const OidcOptions& options, core::TimePoint now) {
    keys_attempted_at = now;
    auto meta = metadataLocked(options, now);
    if (!meta.isOk()) {
      keys_error = meta.status();
      return keys_error;
    }
    ++fetch_count;
    auto doc = providerGetJson(meta->jwks_uri, {options.http_timeout, options.proxy});
    if (!doc.isOk()) {
      keys_error = doc.status();
      return keys_error;
    }
    auto parsed = parseJwks(*doc, meta->jwks_uri);
    if (!parsed.isOk()) {
      keys_error = parsed.status();
      return keys_error;
    }
    keys = *parsed;
    keys_fetched_at = now;
    keys_error = core::Status::ok();
    return core::Status::ok();
  }

  bool mayFetchKeys(const OidcOptions& options, core::TimePoint now) const {
    return !keys_attempted_at || now - *keys_attempted_at >= options.min_jwks_refresh;
  }

  // The keys that may have signed a token with `kid` ("" when the token has none).
  core::StatusOr<std::vector<PublicKey>> candidates(const OidcOptions& options, core::TimePoint now,
                                                    const std::string& kid) {
    std::lock_guard<std::mutex> lock(mutex);
    bool stale = !keys || now - keys_fetched_at >= options.jwks_ttl;
    bool fetched_now = false;
    if (stale && mayFetchKeys(options, now)) {
      fetched_now = true;
      core::Status st = fetchKeysLocked(options, now);
      if (!st.isOk() && !keys) return st;
    }
    if (!keys) {
      return keys_error.isOk() ? core::unavailable("the identity provider's keys are not loaded")
                               : keys_error;
    }
    auto matching = [&] {
      std::vector<PublicKey> out;
      for (const auto& k : keys->keys) {
        if (kid.empty() || k.kid.empty() || k.kid == kid) out.push_back(k.key);
        if (out.size() >= kMaxKeysTried) break;
      }
      return out;
    };
    std::vector<PublicKey> found = matching();
    bool known = false;
    for (const auto& k : keys->keys) known = known || (!kid.empty() && k.kid == kid);
    if (!kid.empty() && !known && !fetched_now && mayFetchKeys(options, now)) {
      // A key id we have not seen: the provider may have rotated its keys.
      core::Status st = fetchKeysLocked(options, now);
      if (!st.isOk()) return st;
      found = matching();
      known = false;
      for (const auto& k : keys->keys) known = known || k.kid == kid;
    }
    if (found.empty()) {
      return core::unauthenticated(kid.empty()
                                       ? "the identity provider publishes no RS256 signing key"
                                       : "the token is signed with an unknown key (kid '" +
                                             kid.substr(0, 80) + "')");
    }
    return found;
  }
};

OidcVerifier::OidcVerifier(OidcOptions options, const core::Clock& clock)
    : options_(std::move(options)), clock_(clock), cache_(std::make_unique<Cache>()) {}

OidcVerifier::~OidcVerifier() = default;

core::Status OidcVerifier::validate(const OidcOptions& options) {
  if (options.issuer.empty()) return core::invalidArgument("auth.oidc.issuer: is required");
  if (options.issuer.rfind("http://", 0) != 0 && options.issuer.rfind("https://", 0) != 0) {
    return core::invalidArgument("auth.oidc.issuer: '" + options.issuer +
                                 "' is not an http or https URL");
  }
  if (options.audiences.empty()) {
    return core::invalidArgument("auth.oidc.audience: at least one audience is required");
  }
  for (const auto& a : options.audiences) {
    if (a.empty()) return core::invalidArgument("auth.oidc.audience: an audience is empty");
  }
  if (options.user_claim.empty()) return core::invalidArgument("auth.oidc.user_claim: is empty");
  if (options.leeway.count() < 0) return core::invalidArgument("auth.oidc.leeway: is negative");
  if (options.jwks_ttl.count() <= 0)
    return core::invalidArgument("auth.oidc.jwks_ttl: must be > 0");
  if (options.http_timeout.count() <= 0) {
    return core::invalidArgument("auth.oidc.http_timeout: must be > 0");
  }
  std::string proxy_host;
  unsigned short proxy_port = 0;
  if (!options.proxy.empty() && !parseProxy(options.proxy, proxy_host, proxy_port)) {
    return core::invalidArgument("auth.oidc.proxy: '" + options.proxy + "' is not HOST:PORT");
  }
  return core::Status::ok();
}

core::StatusOr<ProviderMetadata> OidcVerifier::metadata() const {
  std::lock_guard<std::mutex> lock(cache_->mutex);
  return cache_->metadataLocked(options_, clock_.now());
}

int OidcVerifier::jwksFetchCount() const {
  std::lock_guard<std::mutex> lock(cache_->mutex);
  return cache_->fetch_count;
}

core::StatusOr<nlohmann::json> OidcVerifier::verifyClaims(
    const std::string& jwt, const std::vector<std::string>& audiences) const {
  if (jwt.empty()) return core::unauthenticated("the token is empty");
  if (jwt.size() > kMaxTokenBytes) {
    return core::unauthenticated("the token is longer than " + std::to_string(kMaxTokenBytes) +
                                 " bytes");
  }
  std::size_t dot1 = jwt.find('.');
  std::size_t dot2 = dot1 == std::string::npos ? std::string::npos : jwt.find('.', dot1 + 1);
  if (dot1 == std::string::npos || dot2 == std::string::npos ||
      jwt.find('.', dot2 + 1) != std::string::npos) {
    return core::unauthenticated("the token is not a JWT (expected three dot-separated parts)");
  }
  std::string_view view(jwt);
  std::string_view header_b64 = view.substr(0, dot1);
  std::string_view payload_b64 = view.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view signature_b64 = view.substr(dot2 + 1);

  auto header_text = crypto::base64UrlDecode(header_b64);
  if (!header_text) return core::unauthenticated("the token's header is not base64url");
  auto header_json = core::parseJsonText(*header_text);
  if (!header_json.isOk() || !header_json->is_object()) {
    return core::unauthenticated("the token's header is not a JSON object");
  }
  const nlohmann::json header = std::move(header_json).value();
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) {
    return core::unauthenticated("the token's header has no alg");
  }
  if (alg->get<std::string>() != "RS256") {
    return core::unauthenticated("the token's alg '" + alg->get<std::string>().substr(0, 20) +
                                 "' is not accepted (only RS256)");
  }
  if (header.contains("crit")) {
    return core::unauthenticated("the token's header has critical extensions (crit)");
  }
  std::string kid;
  if (auto k = header.find("kid"); k != header.end()) {
    if (!k->is_string()) return core::unauthenticated("the token's kid is not a string");
    kid = k->get<std::string>();
  }

  auto payload_text = crypto::base64UrlDecode(payload_b64);
  if (!payload_text) return core::unauthenticated("the token's payload is not base64url");
  auto claims_json = core::parseJsonText(*payload_text);
  if (!claims_json.isOk() || !claims_json->is_object()) {
    return core::unauthenticated("the token's payload is not a JSON object");
  }
  nlohmann::json claims = std::move(claims_json).value();
  auto signature = crypto::base64UrlDecode(signature_b64);
  if (!signature || signature->empty()) {
    return core::unauthenticated("the token's signature is missing or not base64url");
  }

  core::TimePoint now = clock_.now();
  SENDFLOW_ASSIGN_OR_RETURN(std::vector<PublicKey> keys, cache_->candidates(options_, now, kid));
  std::string_view signed_part = view.substr(0, dot2);
  bool verified = false;
  for (const auto& key : keys) {
    if (verifyRs256(key, signed_part, *signature)) {
      verified = true;
      break;
    }
  }
  if (!verified) return core::unauthenticated("the token's signature does not verify");

  auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string() || iss->get<std::string>() != options_.issuer) {
    std::string got = iss != claims.end() && iss->is_string() ? iss->get<std::string>() : "";
    return core::unauthenticated("the token's issuer '" + got.substr(0, 200) +
                                 "' is not the configured issuer '" + options_.issuer + "'");
  }

  bool audience_ok = false;
  auto aud = claims.find("aud");
  auto accepted = [&](const nlohmann::json& value) {
    if (!value.is_string()) return false;
    for (const auto& a : audiences) {
      if (value.get<std::string>() == a) return true;
    }
    return false;
  };
  if (aud != claims.end()) {
    if (aud->is_string()) {
      audience_ok = accepted(*aud);
    } else if (aud->is_array()) {
      for (const auto& v : *aud) audience_ok = audience_ok || accepted(v);
    }
  }
  if (!audience_ok) {
    return core::unauthenticated("the token's audience is not one of: " + joinList(audiences));
  }

  double now_s = static_cast<double>(now.time_since_epoch().count()) / 1000.0;
  auto leeway = static_cast<double>(options_.leeway.count());
  auto exp = claims.find("exp");
  if (exp == claims.end() || !exp->is_number()) {
    return core::unauthenticated("the token has no expiry (exp)");
  }
  double exp_s = exp->get<double>();
  if (!(exp_s + leeway > now_s)) {
    return core::unauthenticated("the token expired at " + formatEpoch(exp_s));
  }
  if (auto nbf = claims.find("nbf"); nbf != claims.end()) {
    if (!nbf->is_number()) return core::unauthenticated("the token's nbf is not a number");
    double nbf_s = nbf->get<double>();
    if (!(nbf_s - leeway <= now_s)) {
      return core::unauthenticated("the token is not valid before " + formatEpoch(nbf_s));
    }
  }
  return claims;
}

core::StatusOr<Principal> OidcVerifier::principalFromClaims(const nlohmann::json& claims) const {
  auto text = [&](const std::string& name) {
    auto f = claims.find(name);
    return f != claims.end() && f->is_string() ? f->get<std::string>() : std::string();
  };
  Principal p;
  p.id = text(options_.user_claim);
  if (p.id.empty()) p.id = text("sub");
  if (p.id.empty()) {
    return core::unauthenticated("the token has neither a '" + options_.user_claim +
                                 "' nor a 'sub' claim");
  }
  p.name = text(options_.name_claim);
  if (p.name.empty()) p.name = p.id;
  p.email = text(options_.email_claim);
  auto addRoles = [&](const std::string& value) {
    auto it = options_.role_map.find(value);
    if (it != options_.role_map.end()) p.roles.insert(it->second.begin(), it->second.end());
  };
  for (const auto& claim : options_.role_claims) {
    auto f = claims.find(claim);
    if (f == claims.end()) continue;
    if (f->is_string()) {
      addRoles(f->get<std::string>());
    } else if (f->is_array()) {
      for (const auto& v : *f) {
        if (v.is_string()) addRoles(v.get<std::string>());
      }
    }
  }
  p.via = "oidc";
  return p;
}

core::StatusOr<Principal> OidcVerifier::verifyAccessToken(const std::string& jwt) const {
  SENDFLOW_ASSIGN_OR_RETURN(nlohmann::json claims, verifyClaims(jwt, options_.audiences));
  return principalFromClaims(claims);
}

core::StatusOr<Principal> OidcVerifier::verifyIdToken(const std::string& jwt,
                                                      const std::string& expected_nonce) const {
  if (options_.client_id.empty()) {
    return core::invalidArgument("auth.oidc.client_id: is required for the browser sign-in");
  }
  SENDFLOW_ASSIGN_OR_RETURN(nlohmann::json claims, verifyClaims(jwt, {options_.client_id}));
  if (!expected_nonce.empty()) {
    auto nonce = claims.find("nonce");
    if (nonce == claims.end() || !nonce->is_string() ||
        !crypto::constantTimeEquals(nonce->get<std::string>(), expected_nonce)) {
      return core::unauthenticated("the ID token's nonce does not match the sign-in request");
    }
  }
  return principalFromClaims(claims);
}

}  // namespace sendflow::auth
