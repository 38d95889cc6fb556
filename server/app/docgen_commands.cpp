// Commands of the docgen area; see cli.h for the conventions.
#include "server/app/cli.h"

namespace sendflow::app {

void registerDocgenCommands(CommandTable& table) {}

}  // namespace sendflow::app
