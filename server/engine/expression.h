#pragma once
// The sandboxed, typed expression language used in workflow definitions: conditions, due
// dates, sample sizes, decision-table cells. It can read instance data and call a fixed set of
// pure functions; it cannot touch files, the network, the clock (`now` and `today` are passed
// in), or run anything. Dates, date-times and durations are first-class values:
//   meeting_date + 4 weeks      today + 10 working days      due - now < 2 days
//   grade in ['Requires Improvement', 'Inadequate']          count(sample) >= 3
//
// Compiling checks syntax and types against the declared variables and reports errors with
// the line and column of the offending token inside the definition file. An Expression is
// immutable after compile() and safe to evaluate from many threads at once.

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "server/core/status.h"

namespace sendflow::engine {

// Where something is in a definition file. line and column are 1-based; 0 means unknown.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
  std::string toString() const;  // "workflows/ehcp-audit.xml:12:7"
};

enum class ValueType {
  kAny,  // not known until run time (data from an action, for example)
  kNull,
  kBoolean,
  kNumber,
  kString,
  kDate,
  kDateTime,
  kDuration,
  kList,
  kObject,
};

const char* valueTypeName(ValueType type);  // "date", "list", ...
// Parses "string", "number", "date", ... as written in definitions. False when unknown.
bool parseValueType(std::string_view text, ValueType& out);

// The variables visible to an expression, with their static types.
using TypeEnvironment = std::map<std::string, ValueType>;

class Expression {
 public:
  virtual ~Expression() = default;

  // Compiles `text`. `where` locates the first character of `text` in its file, so errors point
  // at the exact line and column. Fails with kInvalidArgument: "file:line:col: message".
  static core::StatusOr<std::shared_ptr<const Expression>> compile(
      std::string_view text, const TypeEnvironment& variables, const SourceLocation& where);

  const std::string& text() const { return text_; }
  const SourceLocation& where() const { return where_; }
  ValueType resultType() const { return result_type_; }

  // Evaluates against `context`, a JSON object of variable name to value (instance data plus
  // `now` and `today`, which the runtime supplies from its clock). Dates, date-times and
  // durations come out in their JSON string forms. Run-time errors (a missing member, a
  // division by zero, a value of the wrong type in kAny data) give kInvalidArgument with the
  // expression's location.
  virtual core::StatusOr<nlohmann::json> evaluate(const nlohmann::json& context) const = 0;

 protected:
  Expression(std::string text, SourceLocation where, ValueType result_type)
      : text_(std::move(text)), where_(std::move(where)), result_type_(result_type) {}

 private:
  std::string text_;
  SourceLocation where_;
  ValueType result_type_;
};

}  // namespace sendflow::engine
