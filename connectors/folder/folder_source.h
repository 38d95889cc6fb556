#pragma once
// The folder connector, the embedded default: a root directory with one sub-directory per
// library. Each document NAME.docx may have a sidecar NAME.docx.meta.json holding the council's
// columns ({"Locality": "North", "DateFinalised": "2026-10-02", ...}), mapped through the
// FieldMapping. Libraries are walked recursively; hidden files, sidecars, symbolic links and
// temporary files of an unfinished publish are skipped.
//
// The cursor is a high-water mark of (change time in ns, path), where a document's change time is
// the latest of the modification and inode-change times of the document and its sidecar, so a
// file copied in with an old modification time is still seen. A bad sidecar is an ItemProblem
// naming the file; the listing goes on.
// publish writes the sidecar and then the document each to a temporary file renamed into place,
// so a reader never sees half a document. Not thread-safe.

#include <string>
#include <vector>

#include "connectors/connector/change_cursor.h"
#include "connectors/connector/content_limits.h"
#include "connectors/connector/document_source.h"
#include "connectors/connector/field_mapping.h"

namespace sendflow::connectors {

struct FolderOptions {
  std::string root;     // connector.folder.root
  std::string library;  // connector.library: the sub-directory of root
  int page_size = 100;
  FieldMapping fields;
  ContentLimits limits;
};

class FolderSource final : public DocumentSource {
 public:
  explicit FolderSource(FolderOptions options);

  std::string kind() const override { return "folder"; }
  core::StatusOr<Page> listPage(const std::string& cursor) override;
  core::Status download(const Item& item, const std::string& destination) override;
  core::StatusOr<Item> publish(const PublishRequest& request) override;

  // The directory listed: root/library.
  const std::string& libraryPath() const { return library_path_; }

 private:
  core::StatusOr<std::string> resolve(const std::string& id) const;
  core::StatusOr<Item> readItem(const std::string& id, long long tick) const;

  struct Candidate {
    long long tick;
    std::string id;
  };

  FolderOptions options_;
  std::string library_path_;
  // The rest of the current pass, sorted, so that each page does not walk the library again:
  // valid while listPage is called with `pass_cursor_`, the cursor the last page returned.
  std::string pass_cursor_;
  std::vector<Candidate> pass_rest_;

  // The library's documents newer than `mark`, sorted by (tick, id).
  core::StatusOr<std::vector<Candidate>> scan(const HighWaterMark& mark) const;
};

// The sidecar path of a document: "plan.docx" -> "plan.docx.meta.json".
std::string sidecarPath(const std::string& document_path);

}  // namespace sendflow::connectors
