#pragma once
// The demo's first start: when the configured connector is the folder connector and its library
// folder does not exist yet, a small synthetic library is written there (sendflow sample-data),
// dated as of today, so that a new installation has plans to audit at once.
//
// Keys read: connector.type, connector.folder.root, connector.library, sample.first_start
// (default true), sample.plans (default 60), sample.seed (default 1).

#include <iosfwd>

#include "server/app/settings.h"
#include "server/core/clock.h"
#include "server/core/status.h"

namespace sendflow::app {

// Returns true when a library was written, false when none was needed (another connector, the
// folder already exists, or sample.first_start is false). Errors name the key or the folder.
core::StatusOr<bool> ensureSampleLibrary(const Settings& settings, const core::Clock& clock,
                                         std::ostream& out);

}  // namespace sendflow::app
