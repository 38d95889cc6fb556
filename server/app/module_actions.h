#pragma once
// The workflow actions that cross modules, wired here because only the app sees every concrete
// type (the engine knows none of docgen, connectors or prescreen):
//
//   documents.pull     lists a library of the configured intranet connector, filtered by
//                      collection (document type) and dates, optionally downloading each document
//   documents.publish  publishes a generated document back to the intranet with metadata
//   document.render    fills a template from templates.dir with the step's parameters
//   prescreen.plans    pre-screens EHC plans (files, folders, or items pulled by documents.pull)
//   grades.summarise   the grade distribution of a list of audits, for reports and charts
//
// docs/workflows.md documents each action's parameters and result. Each handler builds what it
// needs per call (connectors are not thread-safe) or shares what is immutable (the prescreener,
// the template library), so handlers may run on several worker threads at once.

#include <map>
#include <string>

#include "server/app/settings.h"
#include "server/core/clock.h"
#include "server/core/status.h"
#include "server/engine/action_registry.h"

namespace sendflow::app {

// The folder generated documents are written in (documents.dir, default var/documents), and
// documents.pull's downloads under it.
core::StatusOr<std::string> documentsFolder(const Settings& settings);

// Registers the actions above. A bad configuration value (a prescreen window, a collection
// mapping) fails naming the file and key. `clock` must outlive the registry.
core::Status registerModuleActions(engine::ActionRegistry& registry, const Settings& settings,
                                   const std::map<std::string, std::string>& environment,
                                   const core::Clock& clock);

}  // namespace sendflow::app
