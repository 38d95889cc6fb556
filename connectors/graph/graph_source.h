#pragma once
// The Microsoft Graph connector, for a SharePoint Online document library (or OneDrive) reached
// through Graph: https://graph.microsoft.com/v1.0/drives/{drive-id}/items/{folder-id}.
//
// A full pass walks /children of the library folder and its sub-folders, following
// @odata.nextLink, with each file's list item columns through $expand=listItem($expand=fields).
// Before walking it takes a delta baseline (/root/delta?token=latest); when the walk ends the
// saved cursor is that @odata.deltaLink, so later passes list only changes (each changed file's
// columns are read from its listItem). A delta link that Graph no longer honours (410 Gone)
// starts a full pass again, marked Page::resynced.
//
// Download asks /content, which answers 302 to a pre-authenticated URL; that second request is
// sent WITHOUT the Authorization header. Upload is a simple PUT below `simple_upload_limit` (4 MB)
// and an upload session with ranged PUTs (no Authorization either) above it. Metadata columns are
// then PATCHed onto listItem/fields; if that fails the new file is deleted again. Person columns
// are not written (Graph needs their site user lookup id). Not thread-safe.

#include <memory>
#include <string>

#include "connectors/connector/access_token.h"
#include "connectors/connector/content_limits.h"
#include "connectors/connector/document_source.h"
#include "connectors/connector/field_mapping.h"
#include "connectors/connector/http_transport.h"

namespace sendflow::connectors {

struct GraphOptions {
  std::string base_url = "https://graph.microsoft.com/v1.0";
  std::string drive_id;
  std::string folder_id = "root";  // the library folder's drive item id
  int page_size = 200;
  std::int64_t simple_upload_limit = 4LL * 1024 * 1024;
  std::int64_t upload_chunk_bytes = 10LL * 320 * 1024;  // a multiple of 320 KiB, as Graph requires
  // Person columns, left out when publishing. Empty: the caseworker and contributors columns.
  std::vector<std::string> person_columns;
  FieldMapping fields;
  ContentLimits limits;
  HttpOptions http;
  CredentialConfig credential;
};

class GraphSource final : public DocumentSource {
 public:
  // `clock` must outlive the source.
  GraphSource(GraphOptions options, const core::Clock& clock);

  std::string kind() const override { return "graph"; }
  core::StatusOr<Page> listPage(const std::string& cursor) override;
  core::Status download(const Item& item, const std::string& destination) override;
  core::StatusOr<Item> publish(const PublishRequest& request) override;

  HttpTransport& transport() { return transport_; }

 private:
  core::StatusOr<HttpResponse> send(HttpRequest request, const std::string& what);
  core::StatusOr<nlohmann::json> call(HttpRequest request, const std::string& what);
  core::StatusOr<Item> toItem(const nlohmann::json& drive_item) const;
  core::StatusOr<Page> startPass(bool resynced);
  core::StatusOr<Page> walk(nlohmann::json state);
  core::StatusOr<Page> delta(nlohmann::json state);
  core::StatusOr<nlohmann::json> uploadInSession(const std::string& item_path,
                                                 std::istream& content, std::int64_t length,
                                                 const std::string& what);
  std::string driveUrl() const {
    return options_.base_url + "/drives/" + percentEncode(options_.drive_id);
  }
  bool sameOrigin(const std::string& url) const;

  GraphOptions options_;
  HttpTransport transport_;
  std::unique_ptr<CredentialSource> credential_;
};

}  // namespace sendflow::connectors
