#include "server/workbench/directory.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "server/core/json_text.h"

namespace sendflow::workbench {

namespace {

using nlohmann::json;

// A sign-in that says the same as the last one written is not written again for this long.
constexpr std::chrono::hours kSignInRefresh{1};

// kInternal when the stored roles are damaged.
core::StatusOr<Person> personOf(const store::UserRecord& record) {
  SENDFLOW_ASSIGN_OR_RETURN(
      const json parsed,
      core::parseStoredJson(record.roles_json, "user " + record.id + ": roles", json::array()));
  std::vector<std::string> roles;
  if (parsed.is_array()) {
    for (const json& r : parsed) {
      if (r.is_string()) roles.push_back(r.get<std::string>());
    }
  }
  return Person{record.id, record.name, record.email, std::move(roles)};
}

bool hasRole(const Person& person, const std::string& role) {
  return std::find(person.roles.begin(), person.roles.end(), role) != person.roles.end();
}

std::string signInFingerprint(const auth::Principal& who) {
  std::string out = who.name + '\n' + who.email + '\n';
  for (const std::string& role : who.roles) out += role + ',';
  return out;
}

}  // namespace

Directory::Directory(store::Store& store, const core::Clock& clock)
    : store_(store), clock_(clock) {}

core::Status Directory::loadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::invalidArgument(path + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  auto read = core::parseJsonText(text.str());
  if (!read.isOk()) return read.status().withContext(path);
  const json parsed = std::move(read).value();
  // config/users.json wraps the list as {"users": [...]}; a bare list is accepted too.
  const json* list = &parsed;
  if (parsed.is_object() && parsed.contains("users")) list = &parsed["users"];
  if (!list->is_array()) {
    return core::invalidArgument(path + ": expected a list of people (or {\"users\": [...]})");
  }
  std::vector<store::UserRecord> records;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& entry = (*list)[i];
    const std::string where = path + ": entry " + std::to_string(i + 1);
    if (!entry.is_object()) return core::invalidArgument(where + ": not an object");
    const auto text_member = [&](const char* name, bool required,
                                 std::string& out) -> core::Status {
      auto it = entry.find(name);
      if (it == entry.end() || it->is_null()) {
        if (required) return core::invalidArgument(where + ": '" + name + "' is missing");
        return core::Status::ok();
      }
      if (!it->is_string()) return core::invalidArgument(where + ": '" + name + "' must be text");
      out = it->get<std::string>();
      return core::Status::ok();
    };
    store::UserRecord record;
    SENDFLOW_RETURN_IF_ERROR(text_member("id", true, record.id));
    if (record.id.empty()) return core::invalidArgument(where + ": 'id' is empty");
    SENDFLOW_RETURN_IF_ERROR(text_member("name", false, record.name));
    SENDFLOW_RETURN_IF_ERROR(text_member("email", false, record.email));
    if (!seen.insert(record.id).second) {
      return core::invalidArgument(where + ": id '" + record.id + "' appears twice");
    }
    json roles = json::array();
    if (auto it = entry.find("roles"); it != entry.end()) {
      if (!it->is_array()) return core::invalidArgument(where + ": 'roles' must be a list");
      for (const json& role : *it) {
        if (!role.is_string() || role.get<std::string>().empty()) {
          return core::invalidArgument(where + ": 'roles' must hold role ids (text)");
        }
        roles.push_back(role);
      }
    }
    if (record.name.empty()) record.name = record.id;
    record.roles_json = roles.dump();
    record.source = "directory";
    record.updated_at = clock_.now();
    records.push_back(std::move(record));
  }
  return store_.transact([&](store::Transaction& tx) -> core::Status {
    for (const store::UserRecord& record : records) SENDFLOW_RETURN_IF_ERROR(tx.upsertUser(record));
    return core::Status::ok();
  });
}

core::Status Directory::recordSignIn(const auth::Principal& who) {
  if (who.id.empty()) return core::invalidArgument("a sign-in without a user id");
  const core::TimePoint now = clock_.now();
  const std::string fingerprint = signInFingerprint(who);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = last_sign_in_.find(who.id);
    if (it != last_sign_in_.end() && it->second.fingerprint == fingerprint &&
        now - it->second.written_at < kSignInRefresh) {
      return core::Status::ok();
    }
  }
  store::UserRecord record;
  record.id = who.id;
  record.name = who.name.empty() ? who.id : who.name;
  record.email = who.email;
  json roles = json::array();
  for (const std::string& role : who.roles) roles.push_back(role);
  record.roles_json = roles.dump();
  record.source = "sign-in";
  record.updated_at = now;
  SENDFLOW_RETURN_IF_ERROR(
      store_.transact([&](store::Transaction& tx) { return tx.upsertUser(record); }));
  std::lock_guard<std::mutex> lock(mutex_);
  last_sign_in_[who.id] = SignInWritten{fingerprint, now};
  return core::Status::ok();
}

core::StatusOr<std::optional<Person>> Directory::find(const std::string& id) const {
  std::optional<Person> out;
  SENDFLOW_RETURN_IF_ERROR(store_.read([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(out, find(tx, id));
    return core::Status::ok();
  }));
  return out;
}

core::StatusOr<std::vector<Person>> Directory::withRole(const std::string& role) const {
  std::vector<Person> out;
  SENDFLOW_RETURN_IF_ERROR(store_.read([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(out, withRole(tx, role));
    return core::Status::ok();
  }));
  return out;
}

core::StatusOr<std::vector<Person>> Directory::all() const {
  std::vector<Person> out;
  SENDFLOW_RETURN_IF_ERROR(store_.read([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(auto users, tx.listUsers());
    for (const store::UserRecord& user : users) {
      SENDFLOW_ASSIGN_OR_RETURN(Person person, personOf(user));
      out.push_back(std::move(person));
    }
    return core::Status::ok();
  }));
  return out;
}

core::StatusOr<std::vector<Person>> Directory::withRole(store::Transaction& tx,
                                                        const std::string& role) {
  SENDFLOW_ASSIGN_OR_RETURN(auto users, tx.listUsers());
  std::vector<Person> out;
  for (const store::UserRecord& user : users) {
    SENDFLOW_ASSIGN_OR_RETURN(Person person, personOf(user));
    if (hasRole(person, role)) out.push_back(std::move(person));
  }
  return out;
}

core::StatusOr<std::optional<Person>> Directory::find(store::Transaction& tx,
                                                      const std::string& id) {
  SENDFLOW_ASSIGN_OR_RETURN(auto user, tx.user(id));
  if (!user) return std::optional<Person>();
  SENDFLOW_ASSIGN_OR_RETURN(Person person, personOf(*user));
  return std::optional<Person>(std::move(person));
}

core::StatusOr<std::vector<std::string>> Directory::resolveRecipients(
    const std::string& recipient) const {
  if (recipient.find('@') != std::string::npos) return std::vector<std::string>{recipient};
  std::vector<std::string> addresses;
  if (recipient.rfind("role:", 0) == 0) {
    const std::string role = recipient.substr(5);
    SENDFLOW_ASSIGN_OR_RETURN(auto people, withRole(role));
    for (const Person& person : people) {
      if (!person.email.empty()) addresses.push_back(person.email);
    }
    if (addresses.empty()) {
      return core::invalidArgument("nobody with the role '" + role + "' has a mail address");
    }
    return addresses;
  }
  SENDFLOW_ASSIGN_OR_RETURN(auto person, find(recipient));
  if (!person) return core::invalidArgument("no user '" + recipient + "' is known");
  if (person->email.empty()) {
    return core::invalidArgument("user '" + recipient + "' has no mail address");
  }
  return std::vector<std::string>{person->email};
}

}  // namespace sendflow::workbench
