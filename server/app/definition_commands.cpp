// Commands of the definition area; see cli.h for the conventions.
#include "server/app/cli.h"

namespace sendflow::app {

void registerDefinitionCommands(CommandTable& table) {}

}  // namespace sendflow::app
