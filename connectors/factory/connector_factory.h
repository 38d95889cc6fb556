#pragma once
// Builds the DocumentSource the configuration asks for, from the keys of its `connector.`
// section (Settings::section("connector"): keys without the prefix). docs/connectors.md lists
// every key. Secrets never come from the properties file: they are read from the environment
// variable named by connector.secret_env (default SENDFLOW_CONNECTOR_SECRET) or from the file
// named by connector.secret_file.
//
// Every error names the configuration source and the key: "config/sendflow.properties:
// connector.graph.drive_id: required for connector.type = graph". Thread-safe (no state).

#include <map>
#include <memory>
#include <string>

#include "connectors/connector/document_source.h"
#include "server/core/clock.h"
#include "server/core/status.h"

namespace sendflow::connectors {

// `clock` must outlive the returned source.
core::StatusOr<std::unique_ptr<DocumentSource>> makeDocumentSource(
    const std::map<std::string, std::string>& section, const std::string& source,
    const std::map<std::string, std::string>& environment, const core::Clock& clock);

// "500ms", "30s", "5m", "2h" or a bare number of seconds; false for anything else.
bool parseConnectorDuration(const std::string& text, std::chrono::milliseconds& out);

}  // namespace sendflow::connectors
