#pragma once
// The statutory windows and wording lists that pre-screening applies. Every window is a setting
// (keys under "prescreen." in config/sendflow.properties), never a constant in the rules' code,
// so a council or a change in the regulations moves them without a rebuild.
//
// Plain value type; safe to share between threads once built.

#include <map>
#include <string>
#include <vector>

#include "server/core/status.h"

namespace sendflow::prescreen {

struct ScreeningRules {
  // Advice in section K must be dated no later than this many days after the request for advice
  // (SEND Regulations 2014 reg 8(1): 6 weeks).
  int advice_window_days = 42;
  // ... and no earlier than this many days before it (older advice was reused, not obtained).
  int advice_stale_days = 42;
  // When section K does not say when advice was requested, it is taken to be this many days
  // after the request for assessment in the metadata (reg 5(1): the decision to assess).
  int assessment_decision_days = 42;
  // The final plan is due this many days after the request for assessment (reg 13(2): 20 weeks).
  int final_plan_days = 140;
  // Preparation-for-adulthood outcomes are expected in section E from this year group (Year 9).
  int pfa_from_year_group = 9;
  // A paragraph of section E with at least this many words that says what the child "will" do is
  // read as an outcome.
  int min_outcome_words = 5;
  // Wording in section F that is not specific or quantified. Matched case-insensitively as whole
  // words.
  std::vector<std::string> vague_phrases = defaultVaguePhrases();

  static std::vector<std::string> defaultVaguePhrases();

  // Builds rules from the "prescreen." section of the settings: keys without the prefix
  // ("advice_window_days", "vague_phrases" as a comma-separated list, ...). Unknown keys and
  // values that are not positive whole numbers fail with "<source>: prescreen.<key>: <problem>".
  static core::StatusOr<ScreeningRules> fromSection(
      const std::map<std::string, std::string>& values, const std::string& source);
};

}  // namespace sendflow::prescreen
