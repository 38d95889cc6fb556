#pragma once
// The service's configuration: a properties file (config/sendflow.properties by default, or the
// global --config FILE), overridden by environment variables. A key `store.sqlite.path` is
// overridden by SENDFLOW_STORE_SQLITE_PATH (upper case, dots become underscores).
//
// Typed getters fail with a message that names the file and the key, so a bad configuration
// stops start-up loudly: "config/sendflow.properties: http.port: 'eighty' is not a number".
// Relative paths are resolved against the directory the process was started in.
// Thread-safe for reading after construction.

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "server/core/status.h"

namespace sendflow::app {

class Settings {
 public:
  // Loads `path`. A missing or unreadable file, or a line that is not "key = value", fails
  // with the file and line. `environment` is normally the process environment (see
  // fromEnvironment); tests pass their own.
  static core::StatusOr<Settings> load(const std::string& path,
                                       const std::map<std::string, std::string>& environment);
  // Builds settings from key/value pairs only (tests, and commands run with no file).
  static Settings fromMap(std::map<std::string, std::string> values,
                          std::string label = "(defaults)");
  static std::map<std::string, std::string> processEnvironment();

  const std::string& source() const { return source_; }
  bool has(const std::string& key) const;

  // `fallback` is used when the key is absent; a present but malformed value is an error.
  core::StatusOr<std::string> getString(const std::string& key, const std::string& fallback) const;
  core::StatusOr<std::string> requireString(const std::string& key) const;
  core::StatusOr<long long> getInt(const std::string& key, long long fallback) const;
  core::StatusOr<bool> getBool(const std::string& key, bool fallback) const;
  // "30s", "5m", "2h", "14d", or a bare number of seconds.
  core::StatusOr<std::chrono::milliseconds> getDuration(const std::string& key,
                                                        std::chrono::milliseconds fallback) const;
  // A file or directory path; relative paths stay relative to the working directory.
  core::StatusOr<std::string> getPath(const std::string& key, const std::string& fallback) const {
    return getString(key, fallback);
  }
  // All keys starting with `prefix` + ".", with the prefix removed.
  std::map<std::string, std::string> section(const std::string& prefix) const;

  // The message for a bad value: "<source>: <key>: <problem>".
  core::Status badValue(const std::string& key, const std::string& problem) const;

 private:
  std::string source_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::string> origin_;  // key -> "file:line" or "environment SENDFLOW_X"
};

}  // namespace sendflow::app
