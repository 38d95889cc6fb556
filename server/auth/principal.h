#pragma once
// Who is asking: the signed-in person (or automation) behind a request, as every layer above the
// store sees it. Made by the authenticators (OIDC bearer tokens, browser sessions, API keys, the
// development sign-in) and read by the service layer's authorisation checks.
//
// `id` is the stable user id written into history and task assignments (the configured claim of
// the intranet's tokens, by default `preferred_username`). `roles` are sendflow's own role ids,
// already mapped from the identity provider's roles or groups by configuration:
//   auditor, moderator, manager, qa-lead, team-manager, panel-chair  (the workflows' roles)
//   admin        may see and do everything an operator needs (reassign, retry, all instances)
//   automation   an API key that may start workflows and read their results
// A value type; safe to copy between threads.

#include <set>
#include <string>

namespace sendflow::auth {

struct Principal {
  std::string id;
  std::string name;   // display name; falls back to id
  std::string email;  // may be empty (API keys)
  std::set<std::string> roles;
  std::string via;  // "oidc" | "session" | "api-key" | "development"

  bool hasRole(const std::string& role) const { return roles.count(role) > 0; }
  bool hasAnyRole(std::initializer_list<const char*> wanted) const {
    for (const char* r : wanted) {
      if (roles.count(r) > 0) return true;
    }
    return false;
  }
};

}  // namespace sendflow::auth
