#pragma once
// The `sendflow` command line: a table of sub-commands. Each module area registers its own
// commands in its own file (engine_commands.cpp, docgen_commands.cpp, ...); main.cpp parses the
// global options, loads the configuration and dispatches.
//
// A command returns the process exit code: 0 success, 1 a problem with the user's input (each
// problem already printed to `err`), 2 a usage error, 3 the system could not do it.

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "server/app/settings.h"

namespace sendflow::app {

constexpr int kExitOk = 0;
constexpr int kExitInvalidInput = 1;
constexpr int kExitUsage = 2;
constexpr int kExitFailure = 3;

struct CommandContext {
  const Settings& settings;
  std::vector<std::string> args;  // after the command name(s)
  std::ostream& out;
  std::ostream& err;
};

struct Command {
  std::string name;     // "validate", or two words: "template check"
  std::string usage;    // "validate FILE..."
  std::string summary;  // one line for `sendflow help`
  std::function<int(CommandContext&)> run;
};

using CommandTable = std::vector<Command>;

void registerEngineCommands(CommandTable& table);      // start, instances, tasks, complete, serve
void registerDefinitionCommands(CommandTable& table);  // validate
void registerDocgenCommands(CommandTable& table);      // render, template check
void registerConnectorCommands(CommandTable& table);   // sample-data, prescreen, connector ...
void registerMailCommands(CommandTable& table);        // mail list
void registerAuthCommands(CommandTable& table);        // api-key create, auth check

// Small argument helpers for commands. `takeOption` removes "--name VALUE" (or "--name=VALUE")
// from args and returns true with `value` set; `takeFlag` removes "--name".
bool takeOption(std::vector<std::string>& args, const std::string& name, std::string& value);
bool takeFlag(std::vector<std::string>& args, const std::string& name);

}  // namespace sendflow::app
