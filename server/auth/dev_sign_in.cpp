#include "server/auth/dev_sign_in.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "server/core/json_text.h"

namespace sendflow::auth {

core::StatusOr<DevSignIn> DevSignIn::load(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return core::notFound(path + ": the development users file does not exist (auth.dev.users)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::invalidArgument(path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return core::invalidArgument(path + ": cannot be read");
  return parse(text.str(), path);
}

core::StatusOr<DevSignIn> DevSignIn::parse(const std::string& json_text, const std::string& label) {
  auto parsed = core::parseJsonText(json_text);
  if (!parsed.isOk()) {
    return core::invalidArgument(label + ": not valid JSON: " + parsed.status().message());
  }
  const nlohmann::json doc = std::move(parsed).value();
  const nlohmann::json* list = &doc;
  if (doc.is_object()) {
    auto it = doc.find("users");
    if (it == doc.end()) return core::invalidArgument(label + ": has no \"users\" array");
    list = &*it;
  }
  if (!list->is_array()) {
    return core::invalidArgument(label + ": expected an array of users (or {\"users\": [...]})");
  }
  DevSignIn result;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const nlohmann::json& entry = (*list)[i];
    std::string where = label + ": users[" + std::to_string(i) + "]";
    if (!entry.is_object()) return core::invalidArgument(where + ": is not an object");
    auto text = [&](const char* name, bool required, std::string& out) -> core::Status {
      auto it = entry.find(name);
      if (it == entry.end()) {
        return required ? core::invalidArgument(where + ": " + name + ": is missing")
                        : core::Status::ok();
      }
      if (!it->is_string()) return core::invalidArgument(where + ": " + name + ": is not a string");
      out = it->get<std::string>();
      if (required && out.empty()) return core::invalidArgument(where + ": " + name + ": is empty");
      return core::Status::ok();
    };
    DevUser user;
    SENDFLOW_RETURN_IF_ERROR(text("id", true, user.id));
    where += " (" + user.id + ")";
    SENDFLOW_RETURN_IF_ERROR(text("name", true, user.name));
    SENDFLOW_RETURN_IF_ERROR(text("email", false, user.email));
    auto roles = entry.find("roles");
    if (roles == entry.end() || !roles->is_array() || roles->empty()) {
      return core::invalidArgument(where + ": roles: must be a non-empty array of role ids");
    }
    for (const auto& r : *roles) {
      if (!r.is_string() || r.get<std::string>().empty()) {
        return core::invalidArgument(where + ": roles: every role must be a non-empty string");
      }
      user.roles.insert(r.get<std::string>());
    }
    for (const auto& [key, value] : entry.items()) {
      if (key != "id" && key != "name" && key != "email" && key != "roles" && key != "note") {
        return core::invalidArgument(where + ": unknown field '" + key + "'");
      }
    }
    if (!seen.insert(user.id).second) {
      return core::invalidArgument(where + ": id: '" + user.id + "' appears twice");
    }
    result.users_.push_back(std::move(user));
  }
  if (result.users_.empty()) return core::invalidArgument(label + ": lists no users");
  return result;
}

core::StatusOr<Principal> DevSignIn::signIn(const std::string& user_id) const {
  for (const auto& user : users_) {
    if (user.id == user_id) {
      Principal p;
      p.id = user.id;
      p.name = user.name;
      p.email = user.email;
      p.roles = user.roles;
      p.via = "development";
      return p;
    }
  }
  return core::unauthenticated("no development user '" + user_id + "'");
}

}  // namespace sendflow::auth
