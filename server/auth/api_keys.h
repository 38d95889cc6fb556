#pragma once
// API keys for automation (scripts, the council's scheduler, Power Automate). A key reads
//   sfk_<name>_<43 characters: base64url of 32 random bytes>
// where <name> is 1 to 64 of [a-z0-9-]. Configuration never holds the key, only its SHA-256:
//   auth.api_key.<name>.sha256 = <64 hex digits of SHA-256 of the whole key>
//   auth.api_key.<name>.roles  = automation,qa-lead
// `sendflow api-key create NAME` (ApiKeys::generate) prints a new key once and the two lines to
// paste. Rotating a key is generating a new one under a new name (or the same name) and removing
// the old lines.
//
// Thread-safe for authenticate() after construction (immutable).

#include <map>
#include <set>
#include <string>

#include "server/auth/principal.h"
#include "server/core/status.h"

namespace sendflow::auth {

inline constexpr char kApiKeyPrefix[] = "sfk_";

struct GeneratedKey {
  std::string name;
  std::string key;          // shown once; never stored
  std::string sha256_line;  // "auth.api_key.<name>.sha256 = <hex>"
  std::string roles_line;   // "auth.api_key.<name>.roles = automation"
};

class ApiKeys {
 public:
  ApiKeys() = default;  // no keys: every key is refused

  // Reads the keys of the "auth.api_key" section (keys without the "auth.api_key." prefix:
  // "<name>.sha256", "<name>.roles"). kInvalidArgument naming the full key for a bad name, a
  // hash that is not 64 hex digits, a missing .sha256 or .roles, a role list that is empty, or
  // an unknown sub-key.
  static core::StatusOr<ApiKeys> fromSection(const std::map<std::string, std::string>& section);

  // The Principal of a configured key: id "api-key:<name>", name "API key <name>", no email, the
  // configured roles, via "api-key". kUnauthenticated for a malformed key, an unknown name or a
  // wrong secret (the hash is compared in constant time).
  core::StatusOr<Principal> authenticate(const std::string& key) const;

  // A new random key for `name` and the configuration lines (roles "automation"). Returns a key
  // with an empty `key` when `name` is not a valid key name (check with isValidName first).
  static GeneratedKey generate(const std::string& name);

  static bool isValidName(const std::string& name);
  // True when `text` has the shape of an API key (prefix, name, 43 characters).
  static bool looksLikeKey(const std::string& text);

  bool empty() const { return keys_.empty(); }
  std::set<std::string> names() const;

 private:
  struct Entry {
    std::string sha256;  // 32 raw bytes
    std::set<std::string> roles;
  };
  std::map<std::string, Entry> keys_;
};

}  // namespace sendflow::auth
