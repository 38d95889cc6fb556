#include "server/prescreen/screening_rules.h"

#include <charconv>

namespace sendflow::prescreen {
namespace {

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const auto end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

core::Status parseDays(const std::string& source, const std::string& key, const std::string& text,
                       int& out) {
  const std::string value = trim(text);
  int parsed = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (error != std::errc() || end != value.data() + value.size() || parsed <= 0) {
    return core::invalidArgument(source + ": prescreen." + key + ": '" + text +
                                 "' is not a positive whole number");
  }
  out = parsed;
  return core::Status::ok();
}

}  // namespace

std::vector<std::string> ScreeningRules::defaultVaguePhrases() {
  return {"access to",      "regular",
          "regularly",      "as required",
          "as needed",      "when needed",
          "if needed",      "opportunities",
          "opportunity",    "may",
          "might",          "could",
          "should",         "up to",
          "as appropriate", "where appropriate",
          "if appropriate", "where possible",
          "when possible",  "would benefit from",
          "encouraged to",  "from time to time",
          "support with",   "input from"};
}

core::StatusOr<ScreeningRules> ScreeningRules::fromSection(
    const std::map<std::string, std::string>& values, const std::string& source) {
  ScreeningRules rules;
  const std::map<std::string, int*> day_keys = {
      {"advice_window_days", &rules.advice_window_days},
      {"advice_stale_days", &rules.advice_stale_days},
      {"assessment_decision_days", &rules.assessment_decision_days},
      {"final_plan_days", &rules.final_plan_days},
      {"pfa_from_year_group", &rules.pfa_from_year_group},
      {"min_outcome_words", &rules.min_outcome_words},
  };
  for (const auto& [key, value] : values) {
    if (auto it = day_keys.find(key); it != day_keys.end()) {
      SENDFLOW_RETURN_IF_ERROR(parseDays(source, key, value, *it->second));
    } else if (key == "vague_phrases") {
      std::vector<std::string> phrases;
      std::size_t start = 0;
      while (start <= value.size()) {
        const std::size_t comma = std::min(value.find(',', start), value.size());
        std::string phrase = trim(value.substr(start, comma - start));
        if (!phrase.empty()) phrases.push_back(std::move(phrase));
        start = comma + 1;
      }
      if (phrases.empty()) {
        return core::invalidArgument(source + ": prescreen.vague_phrases: the list is empty");
      }
      rules.vague_phrases = std::move(phrases);
    } else {
      return core::invalidArgument(source + ": prescreen." + key +
                                   ": unknown key (see docs/prescreen.md)");
    }
  }
  return rules;
}

}  // namespace sendflow::prescreen
