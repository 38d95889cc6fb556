#pragma once
// Pre-screening over many documents: files and folders as a person names them on the command
// line, or the items a connector lists for the workflow action `prescreen.plans`. Each document's
// sidecar metadata (NAME.docx.meta.json, the council's columns) is read when present.
//
// A run goes on past every bad document: an unreadable file or a malformed sidecar becomes a
// finding or a note on that document's report, never an error of the run. Reports are delivered
// in a stable order (the order of `documents`) while at most a bounded window of them is held in
// memory, so memory stays flat however many plans are screened.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "server/core/status.h"
#include "server/prescreen/plan_screener.h"

namespace sendflow::prescreen {

// The sidecar's column names for each metadata field. The defaults are the sample library's
// (and the folder connector's) names; a council maps its own through the connector settings.
struct SidecarColumns {
  std::string plan_ref = "PlanRef";
  std::string document_type = "DocumentType";
  std::string year_group = "YearGroup";
  std::string request_date = "RequestDate";
  std::string date_finalised = "DateFinalised";
};

// The document type a plan's metadata carries; other types are skipped by a run.
inline constexpr const char* kPlanDocumentType = "EHC plan";

// Expands `paths` into the .docx and .odt files to screen: a file is taken as it is, a folder is
// walked recursively (names sorted, hidden entries and "~$" lock files skipped). kNotFound naming
// the first path that does not exist.
core::StatusOr<std::vector<std::string>> collectDocuments(const std::vector<std::string>& paths);

// Reads `document_path` + ".meta.json". nullopt when there is no sidecar; kInvalidArgument naming
// the sidecar and the field when it is malformed (not JSON, a date that is not YYYY-MM-DD, a year
// group that is not a whole number from 0 to 14).
core::StatusOr<std::optional<PlanMetadata>> readSidecar(const std::string& document_path,
                                                        const SidecarColumns& columns = {});
// The same from JSON text already in hand (a connector's item metadata); `label` names it.
core::StatusOr<PlanMetadata> metadataFromJson(const std::string& json, const std::string& label,
                                              const SidecarColumns& columns = {});

struct RunSummary {
  std::size_t documents = 0;   // documents considered
  std::size_t screened = 0;    // plans read and checked
  std::size_t skipped = 0;     // not plans, by their metadata's document type
  std::size_t unreadable = 0;  // corrupt, encrypted, not a document
  std::size_t findings = 0;
  std::map<std::string, std::size_t> findings_by_kind;  // by findingKindId()
};

struct RunOptions {
  int jobs = 1;            // worker threads; 0 means one per core
  bool plans_only = true;  // skip documents whose metadata says they are not EHC plans
  SidecarColumns columns;
};

// Screens `documents` (paths) with `jobs` threads and calls `on_report` once per screened or
// unreadable document, in the order of `documents`, from one thread at a time. Skipped documents
// are only counted. Thread-safe if `on_report` is.
RunSummary screenDocuments(const Prescreener& prescreener,
                           const std::vector<std::string>& documents, const RunOptions& options,
                           const std::function<void(const PlanReport&)>& on_report);

}  // namespace sendflow::prescreen
