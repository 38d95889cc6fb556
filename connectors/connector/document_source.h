#pragma once
// The seam between sendflow and a council's intranet: a DocumentSource lists the documents of
// one library page by page (and incrementally from a saved cursor), downloads one document's
// content, and publishes a document with metadata back beside them. One implementation per
// intranet: folder (embedded default), WebDAV, SharePoint REST, Microsoft Graph.
//
// Errors are values. A call that cannot be done at all (peer down after every retry, credentials
// refused, a malformed listing) returns a non-OK Status whose message names the connector and the
// request. A listing in which only some items are bad still succeeds: the bad items come back as
// ItemProblems naming the item and the field, so a run goes on with the other items.
//
// Implementations are not thread-safe: use one instance per thread (they are cheap to build).

#include <cstdint>
#include <istream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "server/core/clock.h"
#include "server/core/status.h"

namespace sendflow::connectors {

// The metadata sendflow reads from a document's columns, mapped through a FieldMapping from the
// council's own column names. Empty strings and lists mean "the column is empty or absent".
struct DocumentMetadata {
  std::string locality;                   // "North"
  std::string finalised_date;             // ISO date, "2026-10-02"
  std::string request_date;               // ISO date of the EHC needs assessment request
  std::string review_date;                // ISO date of the next annual review
  std::string caseworker;                 // "cw-014"
  std::vector<std::string> contributors;  // professionals who gave advice: "ep-003", "hv-010"
  std::string year_group;     // "9", "R" (Reception), "N" (Nursery), "" when not at school
  std::string setting;        // "Mainstream primary"
  std::string document_type;  // "EHC plan", "Annual review", "Advice"

  bool operator==(const DocumentMetadata&) const = default;
};

// One document in the intranet library.
struct Item {
  std::string id;    // stable identifier within the source (path, list item id, drive item id)
  std::string name;  // file name, "plan-0001.docx"
  std::string path;  // path within the library, or the document's URL on the intranet
  std::int64_t size = -1;    // bytes, -1 when the source does not say
  std::string content_type;  // MIME type, from the source or from the file name
  core::TimePoint modified{};
  std::string etag;  // version tag; changes whenever content or metadata change
  DocumentMetadata metadata;
  std::map<std::string, std::string> columns;  // the council's raw columns, as text
};

// An item the source could not read properly; the run goes on with the others.
struct ItemProblem {
  std::string item;  // the item's path or id, as a person would recognise it
  core::Status status;
};

struct Page {
  std::vector<Item> items;
  std::vector<ItemProblem> problems;
  // Pass this to the next listPage call. When `more` is false the pass is complete and
  // `next_cursor` is the incremental cursor to save: a later listPage(next_cursor) returns only
  // documents added or changed since, even from a new process.
  std::string next_cursor;
  bool more = false;
  // True when the source could not continue from the given cursor (e.g. Graph answered 410
  // Gone) and restarted a full listing: items already seen may come again with the same etag.
  bool resynced = false;
};

// What to publish: a document's bytes, read from `content` (streamed, not held in memory).
struct PublishRequest {
  std::string name;  // file name within the library; may contain "/" for a sub-folder
  std::istream* content = nullptr;  // not owned; read from its current position to the end
  std::string content_type;         // empty: from the name
  DocumentMetadata metadata;
};

class DocumentSource {
 public:
  virtual ~DocumentSource() = default;

  // "folder", "webdav", "sharepoint", "graph".
  virtual std::string kind() const = 0;

  // One page of the library's documents changed since `cursor` ("" = everything), in an order
  // such that saving `next_cursor` after each page loses and repeats nothing across restarts.
  virtual core::StatusOr<Page> listPage(const std::string& cursor) = 0;

  // Streams `item`'s content to the file `destination`: written to a temporary file beside it
  // and renamed into place only when complete, so on error nothing is left at `destination`.
  // Content larger than the configured limit fails with kResourceExhausted.
  virtual core::Status download(const Item& item, const std::string& destination) = 0;

  // Uploads a document and sets its metadata columns; returns the item as now listed.
  // Replaces an existing document of the same name.
  virtual core::StatusOr<Item> publish(const PublishRequest& request) = 0;
};

// Downloads `item` into a spool file under `spool_dir` and returns a stream on it. The spool file
// is unlinked at once, so the space is freed when the stream is destroyed.
core::StatusOr<std::unique_ptr<std::istream>> openContent(DocumentSource& source, const Item& item,
                                                          const std::string& spool_dir);

}  // namespace sendflow::connectors
