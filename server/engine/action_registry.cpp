#include "server/engine/action_registry.h"

namespace sendflow::engine {

core::Status ActionRegistry::add(const std::string& name, ActionHandler handler, ActionMode mode) {
  if (name.empty()) return core::invalidArgument("an action needs a name");
  if (!handler) return core::invalidArgument("action '" + name + "' has no handler");
  if (!handlers_.emplace(name, RegisteredAction{std::move(handler), mode}).second) {
    return core::alreadyExists("action '" + name + "' is already registered");
  }
  return core::Status::ok();
}

const RegisteredAction* ActionRegistry::find(const std::string& name) const {
  auto it = handlers_.find(name);
  return it == handlers_.end() ? nullptr : &it->second;
}

std::vector<std::string> ActionRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, handler] : handlers_) out.push_back(name);
  return out;
}

}  // namespace sendflow::engine
