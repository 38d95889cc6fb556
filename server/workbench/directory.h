#pragma once
// The people the service knows (store::UserRecord): loaded from the directory file at start
// (workbench.directory_file; the embedded default uses config/users.json, the development
// sign-in's list) and updated from each sign-in (name, email and roles as the identity provider
// last said). Used to resolve mail recipients ("role:manager" -> every manager's address), to
// send approval links to each approver, and to check that a reassignment names a real person
// with the right role.
//
// Thread-safety: safe from many threads (the people are in the store; what each sign-in last
// wrote is remembered under a mutex).

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "server/auth/principal.h"
#include "server/core/clock.h"
#include "server/core/status.h"
#include "server/store/store.h"

namespace sendflow::workbench {

struct Person {
  std::string id;
  std::string name;
  std::string email;
  std::vector<std::string> roles;
};

class Directory {
 public:
  Directory(store::Store& store, const core::Clock& clock);

  // Reads a JSON file [{"id", "name", "email", "roles": [...]}, ...] (the format of
  // config/users.json) and upserts every entry (source "directory"). kInvalidArgument naming
  // the file and the entry for a bad one; nothing is written then.
  core::Status loadFile(const std::string& path);
  // Records what a sign-in said about the person (source "sign-in"). Called on every
  // authenticated request, so it writes only when the name, email or roles changed since the
  // last write for that person, or an hour has passed. kInvalidArgument without a user id.
  core::Status recordSignIn(const auth::Principal& who);

  core::StatusOr<std::optional<Person>> find(const std::string& id) const;
  core::StatusOr<std::vector<Person>> withRole(const std::string& role) const;
  core::StatusOr<std::vector<Person>> all() const;
  // Inside a caller's transaction (approval links are made in the task's transaction).
  static core::StatusOr<std::vector<Person>> withRole(store::Transaction& tx,
                                                      const std::string& role);
  static core::StatusOr<std::optional<Person>> find(store::Transaction& tx, const std::string& id);

  // For the mailer: an address stays itself; a user id becomes their address; "role:<r>" every
  // address of a user with role r. kInvalidArgument when nobody with an address is found.
  core::StatusOr<std::vector<std::string>> resolveRecipients(const std::string& recipient) const;

 private:
  struct SignInWritten {
    std::string fingerprint;  // name, email and roles as last written
    core::TimePoint written_at;
  };

  store::Store& store_;
  const core::Clock& clock_;
  std::mutex mutex_;
  std::map<std::string, SignInWritten> last_sign_in_;  // guarded by mutex_
};

}  // namespace sendflow::workbench
