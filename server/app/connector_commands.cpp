// Commands of the connector area; see cli.h for the conventions.
#include "server/app/cli.h"

namespace sendflow::app {

void registerConnectorCommands(CommandTable& table) {}

}  // namespace sendflow::app
