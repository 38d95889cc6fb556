#pragma once
// The incremental cursor shared by the connectors that have no change feed of their own (folder,
// WebDAV, SharePoint list items): a high-water mark of (modification tick, ids seen at that
// tick). An item is new when its tick is later than the mark, or equal to it and its id has not
// been seen at that tick, so documents that share a timestamp are neither lost nor repeated
// across pages and restarts. Ticks are in whatever unit the source gives (ns, ms, s).
// Value type; not thread-safe.

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "server/core/status.h"

namespace sendflow::connectors {

class HighWaterMark {
 public:
  bool isNew(long long tick, const std::string& id) const {
    return !started_ || tick > tick_ || (tick == tick_ && ids_at_tick_.count(id) == 0);
  }
  // Records that the item (tick, id) was delivered. Items must be advanced in (tick, id) order
  // within a pass, or through merge() for sources that cannot sort.
  void advance(long long tick, const std::string& id);
  // The later of the two marks (same tick: the union of the ids).
  void merge(const HighWaterMark& other);

  bool started() const { return started_; }
  long long tick() const { return tick_; }

  nlohmann::json toJson() const;
  // Fails naming `what` when the JSON is not a mark written by toJson().
  static core::StatusOr<HighWaterMark> fromJson(const nlohmann::json& j, const std::string& what);

 private:
  bool started_ = false;
  long long tick_ = 0;
  std::set<std::string> ids_at_tick_;
};

// Parses an opaque cursor string produced by a connector: "" is an empty object; anything that is
// not a JSON object fails with kInvalidArgument naming the connector `kind`.
core::StatusOr<nlohmann::json> parseCursor(const std::string& cursor, const std::string& kind);

}  // namespace sendflow::connectors
