// Commands of the definition area; see cli.h for the conventions.
//
//   sendflow validate [--actions a,b,...] [--no-action-check] FILE|FOLDER...
//
// Loads each workflow file (a folder: every *.xml under it except schema/) with every check of
// DefinitionLoader and prints one line per problem, "FILE:LINE:COLUMN: message", on stderr.
// Exit 0 when every file is valid (each valid file prints "FILE: ok" on stdout), 1 when any
// file has a problem, 2 on a usage error.
//
// Sub-workflows are checked against the workflow ids found in each file's folder and in the
// files given. Action names are checked against the actions this build registers (the
// built-in ones plus those later modules register from app wiring), or against --actions.
// Working days use the `calendar.bank_holidays` setting when present.
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>

#include "server/app/cli.h"
#include "server/app/module_actions.h"
#include "server/engine/action_registry.h"
#include "server/engine/builtin_actions.h"
#include "server/engine/calendar.h"
#include "server/engine/definition_loader.h"

namespace sendflow::app {
namespace {

namespace fs = std::filesystem;

// Every action the service registers: the engine's built-in ones and the ones app wiring adds
// (module_actions.h), so validation knows exactly what `serve` will run.
std::set<std::string> knownActions(const Settings& settings) {
  engine::ActionRegistry registry;
  const core::SystemClock clock;
  std::set<std::string> names;
  if (engine::registerBuiltinActions(registry).isOk() &&
      registerModuleActions(registry, settings, Settings::processEnvironment(), clock).isOk()) {
    for (const std::string& name : registry.names()) names.insert(name);
  }
  return names;
}

std::set<std::string> splitList(const std::string& text) {
  std::set<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.insert(item);
  }
  return out;
}

// The workflow files named by `args`: files as given, folders expanded (sorted).
bool collectFiles(const std::vector<std::string>& args, std::vector<std::string>& files,
                  std::ostream& err) {
  for (const std::string& arg : args) {
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<std::string> found;
      for (fs::recursive_directory_iterator it(arg, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_directory() && it->path().filename() == "schema") {
          it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file() && it->path().extension() == ".xml") {
          found.push_back(it->path().string());
        }
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(arg);
    }
  }
  return true;
}

int validate(CommandContext& ctx) {
  std::vector<std::string> args = ctx.args;
  std::string actions_option;
  const bool explicit_actions = takeOption(args, "actions", actions_option);
  const bool no_action_check = takeFlag(args, "no-action-check");
  if (args.empty()) {
    ctx.err << "usage: sendflow validate [--actions a,b,...] [--no-action-check] FILE|FOLDER...\n";
    return kExitUsage;
  }
  for (const std::string& arg : args) {
    if (arg.rfind("--", 0) == 0) {
      ctx.err << "validate: unknown option " << arg << "\n";
      return kExitUsage;
    }
  }
  engine::LoaderOptions base;
  if (!no_action_check)
    base.known_actions = explicit_actions ? splitList(actions_option) : knownActions(ctx.settings);
  auto holidays = ctx.settings.getString("calendar.bank_holidays", "");
  if (!holidays.isOk()) {
    ctx.err << holidays.status().message() << "\n";
    return kExitFailure;
  }
  if (!holidays->empty()) {
    auto calendar = engine::WorkingCalendar::parse(*holidays);
    if (!calendar.isOk()) {
      ctx.err
          << ctx.settings.badValue("calendar.bank_holidays", calendar.status().message()).message()
          << "\n";
      return kExitFailure;
    }
    base.calendar = *calendar;
  }

  std::vector<std::string> files;
  collectFiles(args, files, ctx.err);
  std::set<std::string> given_ids;
  for (const std::string& file : files) {
    const std::string id = engine::DefinitionLoader::peekWorkflowId(file);
    if (!id.empty()) given_ids.insert(id);
  }
  int failed = 0;
  for (const std::string& file : files) {
    engine::LoaderOptions options = base;
    options.known_workflows = given_ids;
    std::error_code ec;
    const fs::path folder =
        fs::path(file).parent_path().empty() ? fs::path(".") : fs::path(file).parent_path();
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file() && it->path().extension() == ".xml") {
        const std::string id = engine::DefinitionLoader::peekWorkflowId(it->path().string());
        if (!id.empty()) options.known_workflows.insert(id);
      }
    }
    const engine::LoadResult result = engine::DefinitionLoader::loadFile(file, options);
    if (result.isOk()) {
      ctx.out << file << ": ok\n";
      continue;
    }
    ++failed;
    for (const engine::DefinitionProblem& problem : result.problems) {
      ctx.err << problem.toString() << "\n";
    }
  }
  return failed == 0 ? kExitOk : kExitInvalidInput;
}

}  // namespace

void registerDefinitionCommands(CommandTable& table) {
  table.push_back(Command{
      "validate", "validate [--actions a,b,...] [--no-action-check] FILE|FOLDER...",
      "check workflow definitions; one line per problem, FILE:LINE:COLUMN: message", validate});
}

}  // namespace sendflow::app
