// The `sendflow` executable: the only place that sees every concrete type. It parses the global
// options, loads the configuration and hands over to a command from the table.

#include <sys/stat.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "server/app/cli.h"
#include "server/app/settings.h"

namespace {

using sendflow::app::Command;
using sendflow::app::CommandTable;

constexpr const char* kDefaultConfig = "config/sendflow.properties";

void printHelp(const CommandTable& table, std::ostream& out) {
  out << "usage: sendflow [--config FILE] COMMAND [ARGS]\n\ncommands:\n";
  for (const Command& c : table) {
    out << "  " << c.usage << "\n      " << c.summary << "\n";
  }
  out << "\nThe configuration defaults to " << kDefaultConfig
      << " (or $SENDFLOW_CONFIG); any key can be overridden\nby an environment variable: "
         "store.sqlite.path -> SENDFLOW_STORE_SQLITE_PATH.\n";
}

}  // namespace

int main(int argc, char** argv) {
  // What any command creates (the store, mails holding approval links, documents about
  // children, keys, spooled downloads, what libraries write) is its user's alone: files 0600,
  // folders 0700. The sensitive files are also created 0600 explicitly, whatever the umask.
  ::umask(077);
  std::vector<std::string> args(argv + 1, argv + argc);
  CommandTable table;
  sendflow::app::registerDefinitionCommands(table);
  sendflow::app::registerEngineCommands(table);
  sendflow::app::registerDocgenCommands(table);
  sendflow::app::registerConnectorCommands(table);
  sendflow::app::registerMailCommands(table);
  sendflow::app::registerAuthCommands(table);

  std::string config_path;
  const bool explicit_config = sendflow::app::takeOption(args, "config", config_path);
  if (!explicit_config) {
    const char* env = std::getenv("SENDFLOW_CONFIG");
    config_path = env != nullptr ? env : kDefaultConfig;
  }
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    printHelp(table, std::cout);
    return args.empty() ? sendflow::app::kExitUsage : sendflow::app::kExitOk;
  }

  // Longest match first, so "template check" wins over a hypothetical "template".
  const Command* command = nullptr;
  std::size_t words = 0;
  for (const Command& c : table) {
    const bool two_words = c.name.find(' ') != std::string::npos;
    if (two_words && args.size() >= 2 && c.name == args[0] + " " + args[1]) {
      command = &c;
      words = 2;
      break;
    }
    if (!two_words && c.name == args[0] && command == nullptr) {
      command = &c;
      words = 1;
    }
  }
  if (command == nullptr) {
    std::cerr << "sendflow: unknown command '" << args[0] << "'; run 'sendflow help'\n";
    return sendflow::app::kExitUsage;
  }

  auto environment = sendflow::app::Settings::processEnvironment();
  auto settings = sendflow::app::Settings::load(config_path, environment);
  if (!settings.isOk()) {
    if (explicit_config || settings.status().code() != sendflow::core::StatusCode::kNotFound) {
      std::cerr << "sendflow: " << settings.status().message() << "\n";
      return sendflow::app::kExitFailure;
    }
    // No configuration file in this directory: run on built-in defaults and the environment.
    settings = sendflow::app::Settings::fromMap({}, "(built-in defaults)");
  }
  sendflow::app::CommandContext context{
      *settings, {args.begin() + static_cast<long>(words), args.end()}, std::cout, std::cerr};
  return command->run(context);
}
