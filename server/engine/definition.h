#pragma once
// The in-memory form of a workflow definition (a file in workflows/), as produced by
// DefinitionLoader (definition_loader.h) and run by the runtime. Immutable once loaded: the
// runtime shares one `std::shared_ptr<const Definition>` between every instance started on that
// version, so every member here is safe to read from any thread.
//
// The language is block-structured. A Block is a list of steps run in order; a step may name
// `next` (a step id in the same block) to jump instead of falling through, and the block
// completes when its last step completes or an `end` step is reached. Parallel branches and the
// body of a for-each are blocks of their own. Every step id is unique within the definition.
//
// Instance data is one JSON object. Inputs are its initial members; each step that produces a
// value stores it under its `into` name (default: the step id). Expressions read that object.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/engine/expression.h"

namespace sendflow::engine {

// A workflow input or a form field's value type. Dates travel in JSON as "YYYY-MM-DD",
// date-times as ISO 8601 UTC, durations as ISO 8601 durations ("P2W", "P10D", "PT4H").
struct InputDecl {
  std::string name;
  ValueType type = ValueType::kString;
  bool required = true;
  std::optional<nlohmann::json> default_value;
  std::string description;
  SourceLocation where;
  bool whole_number = false;  // type="integer": a kNumber without a fraction
  std::optional<double> min;  // kNumber: the smallest and the largest value accepted
  std::optional<double> max;

  // "integer" for a whole number, else valueTypeName(type).
  const char* typeName() const;
  // The problem with `value` given for this input ("-1 is less than the minimum 1"), or "" when
  // it is fine. Checks the type; for numbers min and max, and for integers a whole number of at
  // most 2^53 either way; a date as YYYY-MM-DD; a date-time in ISO 8601; a duration of zero or
  // more and at most 100 years (a window or a look-back, never negative).
  std::string problemWith(const nlohmann::json& value) const;
};

enum class FieldType { kText, kLongText, kNumber, kInteger, kBoolean, kDate, kChoice, kGrade };

// The four quality grades a kGrade field accepts, best first.
extern const char* const kQualityGrades[4];

struct FormField {
  std::string name;
  std::string label;
  std::string help;
  FieldType type = FieldType::kText;
  bool required = false;
  std::vector<std::string> choices;  // kChoice; kGrade uses the four grades
  std::optional<double> min;         // kNumber, kInteger
  std::optional<double> max;
  std::optional<std::size_t> max_length;  // kText, kLongText
  // Shown and required only when true (for example: "grade == 'Inadequate'" for a reason field).
  std::shared_ptr<const Expression> required_if;
  SourceLocation where;
};

struct Form {
  std::vector<FormField> fields;

  // Checks `data` against every field and returns kInvalidArgument naming *every* bad field
  // ("grade_standard_1: required; review_date: '2026-13-01' is not a date"), or OK. `context`
  // is the instance data, for required_if. Unknown members of `data` are an error too.
  core::Status validate(const nlohmann::json& data, const nlohmann::json& context) const;
};

// A reminder sent `before` the due date to the assignee.
struct Reminder {
  std::shared_ptr<const Expression> before;  // a duration
  SourceLocation where;
};

// After the due date has passed by `after`, the task is escalated: a mail to `to_role`
// (or the user from `to`), and optionally reassigned.
struct Escalation {
  std::shared_ptr<const Expression> after;  // a duration; zero means at the due date
  std::string to_role;
  std::shared_ptr<const Expression> to;  // a user id; optional
  bool reassign = false;
  SourceLocation where;
};

enum class Cadence { kCron, kMonthly, kTermly, kSixMonthly, kQuarterly, kAnnually };

// A schedule that starts the workflow. The academic cadences follow the English school year:
// termly = autumn (September), spring (January), summer (April); six-monthly = September and
// March; quarterly = January, April, July, October; annually = September.
struct Schedule {
  std::string id;
  Cadence cadence = Cadence::kMonthly;
  std::string cron;      // kCron only: five fields "min hour day-of-month month day-of-week"
  int day_of_month = 1;  // first working day on or after this day of the period's month
  int minute_of_day = 9 * 60;
  nlohmann::json input = nlohmann::json::object();  // the instance's inputs
  SourceLocation where;
};

enum class StepKind {
  kTask,           // a human task with a form
  kApproval,       // a human yes/no decision, which may come by an email link
  kAction,         // an automatic action from the ActionRegistry
  kSet,            // assigns values to instance data
  kDecision,       // conditional jump
  kDecisionTable,  // evaluates a DecisionTable into instance data
  kParallel,       // runs branches at once and waits for all of them
  kForEach,        // runs its body once per item of a list, at once
  kTimer,          // waits until a date-time or for a duration
  kSubWorkflow,    // starts another workflow and waits for it to end
  kEnd,            // ends the instance
};

const char* stepKindName(StepKind kind);

struct Step;

struct Block {
  std::vector<Step> steps;
};

struct DecisionBranch {
  std::shared_ptr<const Expression> condition;  // a boolean
  std::string next;                             // a step id in the same block
  SourceLocation where;
};

enum class HitPolicy { kUnique, kFirst, kCollect };

struct DecisionRule {
  // One unary test per input column; nullptr means "-" (any value). A test is compiled with
  // the column's value bound to `?`, so "in ['Good', 'Outstanding']" or ">= 3" work.
  std::vector<std::shared_ptr<const Expression>> tests;
  std::vector<std::shared_ptr<const Expression>> outputs;  // one per output column
  SourceLocation where;
};

struct DecisionTable {
  std::string id;
  HitPolicy hit_policy = HitPolicy::kUnique;
  std::vector<std::string> input_labels;
  std::vector<std::shared_ptr<const Expression>> inputs;
  std::vector<std::string> outputs;  // output column names
  std::vector<DecisionRule> rules;
  SourceLocation where;

  // Evaluates the table against `context`. With one output column the result is that value,
  // otherwise an object of output name to value; under kCollect, a list of those. No rule
  // matching under kUnique or kFirst gives kNotFound naming the table and the input values;
  // two rules matching under kUnique gives kConflict naming both rules' lines.
  core::StatusOr<nlohmann::json> evaluate(const nlohmann::json& context) const;
};

struct Step {
  std::string id;
  StepKind kind = StepKind::kEnd;
  std::string title;
  std::string description;  // what the step asks of people (tasks and approvals)
  std::string next;         // optional jump; empty falls through to the following step
  std::string into;         // where the step's result goes in instance data; empty = the step id
  SourceLocation where;

  // kTask, kApproval
  std::string role;                            // who may be assigned
  std::shared_ptr<const Expression> assignee;  // a user id; optional (then: the role's queue)
  std::shared_ptr<const Expression> due;       // a date or date-time; optional
  std::vector<Reminder> reminders;
  std::vector<Escalation> escalations;
  Form form;              // kTask; kApproval has a fixed form
  std::string on_reject;  // kApproval: step to go to when rejected

  // kAction
  std::string action;  // registry name, e.g. "sample.select"
  std::map<std::string, std::shared_ptr<const Expression>> params;
  int max_attempts = 3;
  std::shared_ptr<const Expression> backoff;      // first retry delay, a duration; doubles
  std::shared_ptr<const Expression> max_backoff;  // cap, a duration

  // kSet
  std::vector<std::pair<std::string, std::shared_ptr<const Expression>>> assignments;

  // kDecision
  std::vector<DecisionBranch> branches;
  std::string otherwise;  // step id; empty falls through

  // kDecisionTable
  std::shared_ptr<const DecisionTable> table;

  // kParallel
  std::vector<Block> branches_blocks;

  // kForEach
  std::shared_ptr<const Expression> items;       // a list
  std::string item_name = "item";                // bound inside the body
  std::shared_ptr<const Expression> completion;  // optional boolean over `completed`, `total`
  Block body;

  // kTimer
  std::shared_ptr<const Expression> until;  // a date-time
  std::shared_ptr<const Expression> after;  // a duration

  // kSubWorkflow
  std::string workflow;  // definition id; started on its latest version
  std::map<std::string, std::shared_ptr<const Expression>> inputs;

  // kEnd
  std::string end_status = "completed";  // completed | cancelled | failed
};

struct Definition {
  std::string id;
  int version = 1;
  std::string title;
  std::string description;
  std::vector<std::string> roles;
  std::vector<InputDecl> inputs;
  std::vector<Schedule> schedules;
  Block body;
  std::string source_file;
  std::string source_sha256;  // of the file's bytes; the store keeps each version's source

  // The step with `id` anywhere in the definition, or nullptr.
  const Step* findStep(const std::string& id) const;
};

}  // namespace sendflow::engine
