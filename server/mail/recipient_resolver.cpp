#include "server/mail/recipient_resolver.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "server/core/json_text.h"
#include "server/mail/mime_message.h"

namespace sendflow::mail {

namespace {

bool isAddress(const std::string& recipient) { return checkAddress(recipient, "").isOk(); }

// kInternal when the user's stored roles are damaged.
core::StatusOr<bool> hasRole(const store::UserRecord& user, const std::string& role) {
  SENDFLOW_ASSIGN_OR_RETURN(const nlohmann::json roles,
                            core::parseStoredJson(user.roles_json, "user " + user.id + ": roles",
                                                  nlohmann::json::array()));
  if (!roles.is_array()) return false;
  return std::any_of(roles.begin(), roles.end(),
                     [&](const nlohmann::json& r) { return r.is_string() && r == role; });
}

}  // namespace

core::StatusOr<std::vector<std::string>> resolveAddressOnly(const std::string& recipient) {
  if (isAddress(recipient)) return std::vector<std::string>{recipient};
  if (recipient.rfind("role:", 0) == 0) {
    return core::invalidArgument(recipient +
                                 ": mail to a role needs the user directory, and this "
                                 "dispatcher sends to email addresses only");
  }
  return core::invalidArgument(recipient +
                               ": not an email address, and there is no user directory to look "
                               "it up in");
}

RecipientResolver userDirectoryResolver(store::Store& store) {
  return [&store](const std::string& recipient) -> core::StatusOr<std::vector<std::string>> {
    if (isAddress(recipient)) return std::vector<std::string>{recipient};
    std::vector<std::string> addresses;
    if (recipient.rfind("role:", 0) == 0) {
      const std::string role = recipient.substr(5);
      std::vector<store::UserRecord> users;
      SENDFLOW_RETURN_IF_ERROR(store.transact([&](store::Transaction& tx) -> core::Status {
        SENDFLOW_ASSIGN_OR_RETURN(users, tx.listUsers());
        return core::Status::ok();
      }));
      std::sort(users.begin(), users.end(),
                [](const store::UserRecord& a, const store::UserRecord& b) { return a.id < b.id; });
      for (const store::UserRecord& user : users) {
        SENDFLOW_ASSIGN_OR_RETURN(const bool has_role, hasRole(user, role));
        if (has_role && isAddress(user.email)) addresses.push_back(user.email);
      }
      if (addresses.empty()) {
        return core::invalidArgument(recipient + ": no user with this role has an email address");
      }
      return addresses;
    }
    std::optional<store::UserRecord> user;
    SENDFLOW_RETURN_IF_ERROR(store.transact([&](store::Transaction& tx) -> core::Status {
      SENDFLOW_ASSIGN_OR_RETURN(user, tx.user(recipient));
      return core::Status::ok();
    }));
    if (!user) {
      return core::notFound(recipient + ": not an email address and no user has this id");
    }
    if (!isAddress(user->email)) {
      return core::invalidArgument(recipient + ": the user has no valid email address ('" +
                                   user->email + "')");
    }
    addresses.push_back(user->email);
    return addresses;
  };
}

}  // namespace sendflow::mail
