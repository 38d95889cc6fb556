#include "server/app/settings.h"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

extern char** environ;

namespace sendflow::app {
namespace {

std::string environmentName(const std::string& key) {
  std::string name = "SENDFLOW_";
  for (char c : key) {
    name += (c == '.' || c == '-') ? '_'
                                   : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::map<std::string, std::string> Settings::processEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry = *e;
    const auto eq = entry.find('=');
    if (eq != std::string::npos) env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return env;
}

core::StatusOr<Settings> Settings::load(const std::string& path,
                                        const std::map<std::string, std::string>& environment) {
  Settings settings;
  settings.source_ = path;
  try {
    if (!Poco::File(path).exists()) {
      return core::notFound(path + ": configuration file not found");
    }
    Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> file(
        new Poco::Util::PropertyFileConfiguration(path));
    Poco::Util::AbstractConfiguration::Keys stack{""};
    // Walk the key tree: PropertyFileConfiguration exposes dotted keys as a hierarchy.
    while (!stack.empty()) {
      const std::string prefix = stack.back();
      stack.pop_back();
      Poco::Util::AbstractConfiguration::Keys children;
      file->keys(prefix, children);
      for (const auto& child : children) {
        const std::string key = prefix.empty() ? child : prefix + "." + child;
        if (file->hasOption(key)) {
          settings.values_[key] = trim(file->getRawString(key));
          settings.origin_[key] = path;
        }
        stack.push_back(key);
      }
    }
  } catch (const Poco::Exception& e) {
    return core::invalidArgument(path + ": cannot read configuration: " + e.displayText());
  }
  // Environment overrides apply to every key, including ones the file does not mention:
  // SENDFLOW_HTTP_PORT overrides http.port. Keys are matched against the known file keys first,
  // then taken as lower-case dotted names.
  std::map<std::string, std::string> by_env_name;
  for (const auto& [key, value] : settings.values_) by_env_name[environmentName(key)] = key;
  for (const auto& [name, value] : environment) {
    if (name.rfind("SENDFLOW_", 0) != 0 || name == "SENDFLOW_CONFIG") continue;
    std::string key;
    if (auto it = by_env_name.find(name); it != by_env_name.end()) {
      key = it->second;
    } else {
      key = name.substr(9);
      std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) {
        return c == '_' ? '.' : static_cast<char>(std::tolower(c));
      });
    }
    settings.values_[key] = value;
    settings.origin_[key] = "environment " + name;
  }
  return settings;
}

Settings Settings::fromMap(std::map<std::string, std::string> values, std::string label) {
  Settings settings;
  settings.source_ = std::move(label);
  for (const auto& [key, value] : values) settings.origin_[key] = settings.source_;
  settings.values_ = std::move(values);
  return settings;
}

bool Settings::has(const std::string& key) const { return values_.count(key) > 0; }

core::Status Settings::badValue(const std::string& key, const std::string& problem) const {
  auto it = origin_.find(key);
  const std::string where = it != origin_.end() ? it->second : source_;
  return core::invalidArgument(where + ": " + key + ": " + problem);
}

core::StatusOr<std::string> Settings::getString(const std::string& key,
                                                const std::string& fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

core::StatusOr<std::string> Settings::requireString(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end() || it->second.empty()) {
    return core::invalidArgument(source_ + ": " + key + ": is required but not set (set it in " +
                                 source_ + " or as " + environmentName(key) + ")");
  }
  return it->second;
}

core::StatusOr<long long> Settings::getInt(const std::string& key, long long fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  const std::string& text = it->second;
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end == nullptr || *end != '\0' || errno != 0) {
    return badValue(key, "'" + text + "' is not a whole number");
  }
  return value;
}

core::StatusOr<bool> Settings::getBool(const std::string& key, bool fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  std::string text = it->second;
  std::transform(text.begin(), text.end(), text.begin(), ::tolower);
  if (text == "true" || text == "yes" || text == "on" || text == "1") return true;
  if (text == "false" || text == "no" || text == "off" || text == "0") return false;
  return badValue(key, "'" + it->second + "' is not true or false");
}

core::StatusOr<std::chrono::milliseconds> Settings::getDuration(
    const std::string& key, std::chrono::milliseconds fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  const std::string& text = it->second;
  char* end = nullptr;
  const double number = std::strtod(text.c_str(), &end);
  if (text.empty() || end == text.c_str() || number < 0) {
    return badValue(key, "'" + text + "' is not a duration such as 30s, 5m, 2h or 14d");
  }
  const std::string unit = trim(end);
  double ms = 0;
  if (unit.empty() || unit == "s")
    ms = number * 1000;
  else if (unit == "ms")
    ms = number;
  else if (unit == "m")
    ms = number * 60'000;
  else if (unit == "h")
    ms = number * 3'600'000;
  else if (unit == "d")
    ms = number * 86'400'000;
  else
    return badValue(key, "'" + text + "' is not a duration such as 30s, 5m, 2h or 14d");
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

std::map<std::string, std::string> Settings::section(const std::string& prefix) const {
  std::map<std::string, std::string> out;
  const std::string p = prefix + ".";
  for (auto it = values_.lower_bound(p); it != values_.end() && it->first.rfind(p, 0) == 0; ++it) {
    out[it->first.substr(p.size())] = it->second;
  }
  return out;
}

}  // namespace sendflow::app
