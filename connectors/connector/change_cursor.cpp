#include "connectors/connector/change_cursor.h"

#include "server/core/json_text.h"

namespace sendflow::connectors {

void HighWaterMark::advance(long long tick, const std::string& id) {
  if (!started_ || tick > tick_) {
    started_ = true;
    tick_ = tick;
    ids_at_tick_ = {id};
  } else if (tick == tick_) {
    ids_at_tick_.insert(id);
  }
}

void HighWaterMark::merge(const HighWaterMark& other) {
  if (!other.started_) return;
  if (!started_ || other.tick_ > tick_) {
    *this = other;
  } else if (other.tick_ == tick_) {
    ids_at_tick_.insert(other.ids_at_tick_.begin(), other.ids_at_tick_.end());
  }
}

nlohmann::json HighWaterMark::toJson() const {
  if (!started_) return nlohmann::json::object();
  return {{"t", tick_}, {"ids", ids_at_tick_}};
}

core::StatusOr<HighWaterMark> HighWaterMark::fromJson(const nlohmann::json& j,
                                                      const std::string& what) {
  HighWaterMark mark;
  if (j.is_object() && j.empty()) return mark;
  if (!j.is_object() || !j.contains("t") || !j["t"].is_number_integer() || !j.contains("ids") ||
      !j["ids"].is_array()) {
    return core::invalidArgument(what + ": cursor high-water mark is malformed: " + j.dump());
  }
  mark.started_ = true;
  mark.tick_ = j["t"].get<long long>();
  for (const auto& id : j["ids"]) {
    if (!id.is_string()) {
      return core::invalidArgument(what +
                                   ": cursor high-water mark has a non-text id: " + id.dump());
    }
    mark.ids_at_tick_.insert(id.get<std::string>());
  }
  return mark;
}

core::StatusOr<nlohmann::json> parseCursor(const std::string& cursor, const std::string& kind) {
  if (cursor.empty()) return nlohmann::json::object();
  auto j = core::parseJsonText(cursor);
  if (!j.isOk() || !j->is_object()) {
    return core::invalidArgument(kind + " connector: cursor '" + cursor.substr(0, 80) +
                                 "' is not one this connector wrote");
  }
  return j;
}

}  // namespace sendflow::connectors
