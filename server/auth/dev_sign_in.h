#pragma once
// The development sign-in of the embedded default (auth.mode = development): a page lists the
// fictional staff of config/users.json and anyone may sign in as any of them, without a password.
// It exists so that a demo and the tests can act as an auditor, a moderator or a manager. It is
// refused when deployment.environment = production (see checkProductionSafety in auth_config.h).
//
// The file is a JSON array (or an object with a "users" array) of
//   {"id": "aud-001", "name": "...", "email": "...@council.example", "roles": ["auditor"]}
// id and name are required non-empty strings, ids unique; email a string (may be empty); roles a
// non-empty array of strings.
//
// Immutable after load; thread-safe.

#include <set>
#include <string>
#include <vector>

#include "server/auth/principal.h"
#include "server/core/status.h"

namespace sendflow::auth {

struct DevUser {
  std::string id;
  std::string name;
  std::string email;
  std::set<std::string> roles;
};

class DevSignIn {
 public:
  // kInvalidArgument naming the file (and the entry "users[3] (aud-002): roles: ...") for an
  // unreadable file, bad JSON or a bad entry; kNotFound when the file does not exist.
  static core::StatusOr<DevSignIn> load(const std::string& path);
  // The same from JSON text; `label` names it in errors.
  static core::StatusOr<DevSignIn> parse(const std::string& json_text, const std::string& label);

  const std::vector<DevUser>& users() const { return users_; }

  // The user's Principal with via = "development"; kUnauthenticated for an unknown id.
  core::StatusOr<Principal> signIn(const std::string& user_id) const;

 private:
  std::vector<DevUser> users_;
};

}  // namespace sendflow::auth
