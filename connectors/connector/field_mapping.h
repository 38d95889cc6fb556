#pragma once
// The mapping from a council's column names to sendflow's metadata fields. Councils name their
// columns differently ("Locality" or "Area", "DateFinalised" or "Final issued"), so the
// configuration says which column holds which field: connector.fields.locality = Locality.
//
// read() turns a document's columns (as JSON values, the shape SharePoint, Graph, a sidecar file
// or WebDAV properties give) into DocumentMetadata, validating dates and year groups; a bad value
// fails with kInvalidArgument naming the column and the value. write() is the inverse, used when
// publishing. Immutable after construction; thread-safe.

#include <array>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "connectors/connector/document_source.h"
#include "server/core/status.h"

namespace sendflow::connectors {

enum class MetadataField {
  kLocality,
  kFinalisedDate,
  kRequestDate,
  kReviewDate,
  kCaseworker,
  kContributors,
  kYearGroup,
  kSetting,
  kDocumentType,
};
inline constexpr std::size_t kMetadataFieldCount = 9;

// "locality", "finalised_date", ... (the key after connector.fields.)
const char* metadataFieldName(MetadataField field);

class FieldMapping {
 public:
  // Locality, DateFinalised, RequestDate, ReviewDue, Caseworker, Contributors, YearGroup,
  // Setting, DocumentType: the layout `sendflow sample-data` writes.
  FieldMapping();

  // Overrides the defaults with `fields` (keys such as "locality", values the column names).
  // An unknown key or an empty column name fails naming "<source>: connector.fields.<key>".
  static core::StatusOr<FieldMapping> fromConfig(const std::map<std::string, std::string>& fields,
                                                 const std::string& source);

  const std::string& column(MetadataField field) const {
    return columns_[static_cast<std::size_t>(field)];
  }

  // `columns` is a JSON object of the council's columns. Absent or null columns leave the field
  // empty. Person values may be a string, {"Title": ...}, {"LookupValue": ...},
  // {"displayName": ...}, or lists of them (also OData verbose {"results": [...]}).
  core::StatusOr<DocumentMetadata> read(const nlohmann::json& columns) const;

  // The council's columns for `metadata`; empty fields are left out. Contributors become a JSON
  // array of strings, everything else a string.
  nlohmann::json write(const DocumentMetadata& metadata) const;

 private:
  std::array<std::string, kMetadataFieldCount> columns_;
};

// A JSON column value as text a person would read: strings as they are, numbers without a
// trailing ".0", person objects by name, lists joined with "; ".
std::string columnText(const nlohmann::json& value);

// Every column of `columns` as text (for Item::columns).
std::map<std::string, std::string> columnsAsText(const nlohmann::json& columns);

}  // namespace sendflow::connectors
