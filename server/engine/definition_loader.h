#pragma once
// Loads workflow definitions (the XML files in workflows/) into Definition values.
//
// A file goes through four gates, and every problem found is reported, not just the first:
//   1. well-formed XML, read by libxml2 without network access, without entity substitution
//      and without DTDs (a DOCTYPE is rejected before parsing);
//   2. the schema workflows/schema/workflow.xsd (compiled into the binary);
//   3. the model: typed inputs and defaults, schedules (cron syntax), forms, expressions
//      compiled and type-checked against the variables each one can see;
//   4. the meaning: step ids unique, every next/goto/otherwise/on-reject naming a step in the
//      same block, no unreachable step, for-each over a list, durations that are durations,
//      decision tables without overlapping rules under the unique hit policy, roles declared,
//      tasks with a role or an assignee, known actions and sub-workflows (when the caller
//      gives the known names), sound form fields.
// Each problem reads "FILE:LINE:COLUMN: message" (column 0 when the position is unknown).
// Nothing is half-loaded: a file with any problem yields no Definition.
//
// Thread-safety: the functions are safe to call from several threads at once.

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "server/core/status.h"
#include "server/engine/calendar.h"
#include "server/engine/definition.h"

namespace sendflow::engine {

// The XML namespace every workflow file declares: <workflow xmlns="urn:sendflow:workflow:1">.
inline constexpr const char* kWorkflowNamespace = "urn:sendflow:workflow:1";

struct LoaderOptions {
  // Action names the runtime registers; when empty, action names are not checked.
  std::set<std::string> known_actions;
  // Workflow ids a <subworkflow> may start; when empty, they are not checked.
  std::set<std::string> known_workflows;
  // Working days for expressions; nullptr means WorkingCalendar::defaultCalendar().
  std::shared_ptr<const WorkingCalendar> calendar;
};

struct DefinitionProblem {
  SourceLocation where;
  std::string message;
  std::string toString() const { return where.toString() + ": " + message; }
};

struct LoadResult {
  std::shared_ptr<const Definition> definition;  // null whenever `problems` is not empty
  std::vector<DefinitionProblem> problems;       // sorted by line and column

  bool isOk() const { return definition != nullptr; }
  // OK, or kInvalidArgument whose message lists every problem, one per line.
  core::Status status() const;
};

struct DirectoryLoadResult {
  std::vector<std::shared_ptr<const Definition>> definitions;  // the files without problems
  std::vector<DefinitionProblem> problems;                     // of every other file
};

class DefinitionLoader {
 public:
  // Reads and loads `path`; source_file is set to `path` as given. A file that cannot be read
  // is one problem at line 0.
  static LoadResult loadFile(const std::string& path, const LoaderOptions& options = {});

  // Loads `text`, naming it `label` in problems and in source_file.
  static LoadResult loadString(std::string_view text, const std::string& label,
                               const LoaderOptions& options = {});

  // Loads every *.xml under `dir`, recursively, except the schema/ folder. Sub-workflows are
  // checked against the ids of the files found (plus options.known_workflows). Two files with
  // the same id and version are a problem of the second. Files are visited in path order.
  static DirectoryLoadResult loadDirectory(const std::string& dir,
                                           const LoaderOptions& options = {});

  // The `id` attribute of the root element of the workflow in `path`, or "" when the file
  // cannot be read or parsed. Cheap: no schema or semantic checks.
  static std::string peekWorkflowId(const std::string& path);
};

}  // namespace sendflow::engine
