// Commands of the engine area; see cli.h for the conventions.
#include "server/app/cli.h"

namespace sendflow::app {

void registerEngineCommands(CommandTable& table) {}

}  // namespace sendflow::app
