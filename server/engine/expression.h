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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/core/clock.h"
#include "server/core/status.h"
#include "server/engine/calendar.h"

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

// A span of time. Calendar months, working days and a fixed part are kept apart because the
// first two only have a length against a date: `meeting + 1 month` lands on the same day of
// the next month (clamped to its end), `today + 10 working days` skips weekends and bank
// holidays. `4 weeks` and `3 days` are fixed (28 and 3 days of 24 hours; times are UTC).
struct Duration {
  long months = 0;
  long working_days = 0;
  long long millis = 0;

  bool isFixed() const { return months == 0 && working_days == 0; }
  bool operator==(const Duration&) const = default;
};

// Parses a duration as definitions and instance data write it: ISO 8601 ("P2W", "P1M10D",
// "PT4H30M", "-P3D"), the sendflow extension "P10WD" for working days, or words ("2 weeks",
// "10 working days", "1 month 3 days", "4 hours"). False on anything else.
bool parseDuration(std::string_view text, Duration& out);
// The ISO 8601 form: "P4W", "P10D", "PT2H", "P1M", "P10WD"; "PT0S" for zero.
std::string formatDuration(const Duration& duration);
// `t` moved by `d`: months first (day clamped to the month's end), then working days (counted on
// the date, the time of day kept), then the fixed part.
core::TimePoint addDuration(core::TimePoint t, const Duration& d, const WorkingCalendar& calendar);

// What a decision-table unary test accepts when it is made only of literals ("'Good',
// 'Outstanding'", "[1..5]", ">= 3", "not('Inadequate')"). The loader uses it to prove that two
// rules of a unique table overlap. Tests with variables or functions have no such set.
struct LiteralTestSet {
  struct Range {
    double low;   // -infinity when unbounded
    double high;  // +infinity when unbounded
    bool low_open = false;
    bool high_open = false;
  };
  bool negated = false;
  std::vector<nlohmann::json> values;  // numbers, strings, booleans
  std::vector<Range> ranges;           // numbers only

  // True when some value passes both tests (and so two rules holding them can both match).
  bool intersects(const LiteralTestSet& other) const;
};

struct CompileOptions {
  // Used for working-day arithmetic; nullptr means WorkingCalendar::defaultCalendar() at
  // compile time.
  std::shared_ptr<const WorkingCalendar> calendar;
  // Where each byte of the text is in the file (line, column), for text decoded from XML whose
  // entities (&gt;) or line breaks make counting from `where` wrong. Empty: count from `where`.
  // Used for compile errors and kept for run-time errors.
  std::vector<std::pair<int, int>> positions;
};

class Expression {
 public:
  virtual ~Expression() = default;

  // Compiles `text`. `where` locates the first character of `text` in its file, so errors point
  // at the exact line and column. Fails with kInvalidArgument: "file:line:col: message".
  static core::StatusOr<std::shared_ptr<const Expression>> compile(std::string_view text,
                                                                   const TypeEnvironment& variables,
                                                                   const SourceLocation& where);
  static core::StatusOr<std::shared_ptr<const Expression>> compile(std::string_view text,
                                                                   const TypeEnvironment& variables,
                                                                   const SourceLocation& where,
                                                                   const CompileOptions& options);

  // Compiles a decision-table unary test for a column of type `column_type`: "-" (any value:
  // gives nullptr), a value ("'Good'", "3"), a comparison ("< 3", ">= 3", "!= 'Good'"), a range
  // ("[1..5]", "(1..5]", "[1..5)"), a comma-separated list of those ("'Good', 'Outstanding'"),
  // "not(...)" around a list, or any boolean expression using `?`, the column's value. The result
  // is a boolean expression that reads the column value from the context member "?".
  static core::StatusOr<std::shared_ptr<const Expression>> compileUnaryTest(
      std::string_view text, ValueType column_type, const TypeEnvironment& variables,
      const SourceLocation& where, const CompileOptions& options = {});

  // Set for unary tests built only from literals; see LiteralTestSet.
  const std::optional<LiteralTestSet>& literalTest() const { return literal_test_; }

  const std::string& text() const { return text_; }
  const SourceLocation& where() const { return where_; }
  ValueType resultType() const { return result_type_; }

  // Evaluates against `context`, a JSON object of variable name to value (instance data plus
  // `now` and `today`, which the runtime supplies from its clock). Dates, date-times and
  // durations come out in their JSON string forms. A variable or object member that is absent
  // reads as null (an optional input or form field left empty). Run-time errors (reading a
  // member of null, a division by zero, a value of the wrong type in kAny data) give
  // kInvalidArgument with the expression's location.
  //
  // Cost is bounded: at most 64 levels of nesting, 10,000 characters of text, lists of 100,000
  // items, text of 1,000,000 characters and 1,000,000 evaluation steps; beyond that, an error.
  virtual core::StatusOr<nlohmann::json> evaluate(const nlohmann::json& context) const = 0;

 protected:
  Expression(std::string text, SourceLocation where, ValueType result_type)
      : text_(std::move(text)), where_(std::move(where)), result_type_(result_type) {}
  void setLiteralTest(LiteralTestSet set) { literal_test_ = std::move(set); }

 private:
  std::optional<LiteralTestSet> literal_test_;
  std::string text_;
  SourceLocation where_;
  ValueType result_type_;
};

}  // namespace sendflow::engine
