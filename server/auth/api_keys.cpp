#include "server/auth/api_keys.h"

#include <cstring>

#include "server/auth/crypto.h"

namespace sendflow::auth {
namespace {

constexpr std::size_t kSecretChars = 43;  // base64url of 32 bytes, no padding
constexpr std::size_t kMaxNameChars = 64;
constexpr char kSectionPrefix[] = "auth.api_key.";

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  std::size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::set<std::string> parseRoles(const std::string& text) {
  std::set<std::string> roles;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string role = trim(text.substr(start, comma - start));
    if (!role.empty()) roles.insert(role);
    start = comma + 1;
  }
  return roles;
}

// Splits a well-formed key into its name; empty when the key is malformed.
std::string nameOfKey(const std::string& key) {
  std::size_t prefix = std::strlen(kApiKeyPrefix);
  if (key.size() < prefix + 1 + 1 + kSecretChars || key.compare(0, prefix, kApiKeyPrefix) != 0) {
    return "";
  }
  std::size_t secret_start = key.size() - kSecretChars;
  if (key[secret_start - 1] != '_') return "";
  std::string name = key.substr(prefix, secret_start - 1 - prefix);
  if (!ApiKeys::isValidName(name)) return "";
  auto secret = crypto::base64UrlDecode(std::string_view(key).substr(secret_start));
  if (!secret || secret->size() != 32) return "";
  return name;
}

}  // namespace

bool ApiKeys::isValidName(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameChars) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool ApiKeys::looksLikeKey(const std::string& text) { return !nameOfKey(text).empty(); }

core::StatusOr<ApiKeys> ApiKeys::fromSection(const std::map<std::string, std::string>& section) {
  ApiKeys keys;
  std::map<std::string, std::string> roles_text;
  for (const auto& [subkey, raw_value] : section) {
    std::string full = kSectionPrefix + subkey;
    std::size_t dot = subkey.rfind('.');
    if (dot == std::string::npos) {
      return core::invalidArgument(full + ": expected " + kSectionPrefix +
                                   "<name>.sha256 or .roles");
    }
    std::string name = subkey.substr(0, dot);
    std::string field = subkey.substr(dot + 1);
    if (!isValidName(name)) {
      return core::invalidArgument(full + ": '" + name +
                                   "' is not a key name (1 to 64 of a-z, 0-9 and -)");
    }
    std::string value = trim(raw_value);
    if (field == "sha256") {
      auto hash = crypto::fromHex(value);
      if (!hash || hash->size() != 32) {
        return core::invalidArgument(full + ": expected 64 hex digits (the SHA-256 of the key)");
      }
      keys.keys_[name].sha256 = *hash;
    } else if (field == "roles") {
      roles_text[name] = value;
      keys.keys_[name].roles = parseRoles(value);
    } else {
      return core::invalidArgument(full + ": unknown setting '" + field +
                                   "' (expected sha256 or roles)");
    }
  }
  for (const auto& [name, entry] : keys.keys_) {
    std::string base = kSectionPrefix + name;
    if (entry.sha256.empty()) return core::invalidArgument(base + ".sha256: is missing");
    if (roles_text.count(name) == 0) return core::invalidArgument(base + ".roles: is missing");
    if (entry.roles.empty()) {
      return core::invalidArgument(base + ".roles: names no role (a comma list, e.g. automation)");
    }
  }
  return keys;
}

core::StatusOr<Principal> ApiKeys::authenticate(const std::string& key) const {
  std::string name = nameOfKey(key);
  if (name.empty()) return core::unauthenticated("the API key is malformed");
  std::string hash = crypto::sha256(key);
  auto it = keys_.find(name);
  // Compare even for an unknown name, so the answer takes the same time.
  static const std::string kNoHash(32, '\0');
  bool match = crypto::constantTimeEquals(hash, it == keys_.end() ? kNoHash : it->second.sha256);
  if (it == keys_.end() || !match) {
    return core::unauthenticated("the API key is not valid (unknown, revoked or mistyped)");
  }
  Principal p;
  p.id = "api-key:" + name;
  p.name = "API key " + name;
  p.roles = it->second.roles;
  p.via = "api-key";
  return p;
}

GeneratedKey ApiKeys::generate(const std::string& name) {
  GeneratedKey out;
  out.name = name;
  if (!isValidName(name)) return out;
  out.key =
      std::string(kApiKeyPrefix) + name + "_" + crypto::base64UrlEncode(crypto::randomBytes(32));
  out.sha256_line = kSectionPrefix + name + ".sha256 = " + crypto::toHex(crypto::sha256(out.key));
  out.roles_line = kSectionPrefix + name + ".roles = automation";
  return out;
}

std::set<std::string> ApiKeys::names() const {
  std::set<std::string> out;
  for (const auto& [name, entry] : keys_) out.insert(name);
  return out;
}

}  // namespace sendflow::auth
