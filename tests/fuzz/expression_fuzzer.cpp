// Compiles arbitrary text as an expression and as a decision-table test, and evaluates what
// compiles against fixed data: errors are fine, crashes, hangs and sanitizer reports are not.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/engine/expression.h"

namespace {

using sendflow::engine::Expression;
using sendflow::engine::SourceLocation;
using sendflow::engine::TypeEnvironment;
using sendflow::engine::ValueType;

const TypeEnvironment& environment() {
  static const TypeEnvironment env = {
      {"today", ValueType::kDate},      {"now", ValueType::kDateTime},
      {"grade", ValueType::kString},    {"count_ri", ValueType::kNumber},
      {"sample", ValueType::kList},     {"plan", ValueType::kAny},
      {"window", ValueType::kDuration}, {"flag", ValueType::kBoolean},
      {"audit", ValueType::kObject},
  };
  return env;
}

const nlohmann::json& context() {
  static const nlohmann::json data = {
      {"today", "2026-12-24"},
      {"now", "2026-12-24T16:30:00Z"},
      {"grade", "Requires Improvement"},
      {"count_ri", 2},
      {"sample", {1, "two", {{"locality", "North"}}, nullptr, {1, 2}}},
      {"plan", {{"locality", "South"}, {"finalised", "2026-11-02"}, {"tags", {"a", "b"}}}},
      {"window", "P10WD"},
      {"flag", true},
      {"audit", {{"standard_1", "Good"}}},
      {"?", 3},
  };
  return data;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const SourceLocation where{"fuzz.xml", 1, 1};
  auto compiled = Expression::compile(text, environment(), where);
  if (compiled.isOk()) (void)(*compiled)->evaluate(context());
  auto test = Expression::compileUnaryTest(text, ValueType::kNumber, environment(), where);
  if (test.isOk() && *test) (void)(*test)->evaluate(context());
  return 0;
}
