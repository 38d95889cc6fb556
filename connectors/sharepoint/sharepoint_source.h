#pragma once
// The SharePoint REST connector (SharePoint Online and on-premises 2016/2019/SE), over a document
// library's list items: /_api/web/lists/GetByTitle('<list>')/items with $select, $expand (person
// columns by Title), $filter (modified since the cursor) and $orderby Modified,Id; paging follows
// `__next` (odata=verbose) or `odata.nextLink` (odata=nometadata), whichever shape is configured.
// Download is GetFileByServerRelativeUrl('...')/$value; upload is
// GetFolderByServerRelativeUrl('...')/Files/add(url='...',overwrite=true) followed by a MERGE of
// the metadata columns on the file's ListItemAllFields. Writes carry an X-RequestDigest from
// /_api/contextinfo, cached until it times out and refreshed once after a 403 that says the
// digest expired. Bearer tokens come from the client-credentials flow (see access_token.h).
//
// The cursor is a high-water mark of (Modified, Id) plus the next-page link while a pass is
// under way. Person columns are not written when publishing (they need a site user id); text,
// date and number columns are. Not thread-safe.

#include <memory>
#include <string>
#include <vector>

#include "connectors/connector/access_token.h"
#include "connectors/connector/content_limits.h"
#include "connectors/connector/document_source.h"
#include "connectors/connector/field_mapping.h"
#include "connectors/connector/http_transport.h"

namespace sendflow::connectors {

struct SharePointOptions {
  std::string site_url;    // https://contoso.sharepoint.com/sites/send
  std::string list_title;  // the document library's title, "EHC plans"
  std::string folder_url;  // its server-relative root folder, "/sites/send/EHC plans"
  bool verbose = false;    // odata=verbose instead of odata=nometadata
  std::string filter;      // an extra $filter clause ANDed with the cursor's, "" for none
  // Person or lookup columns, expanded by Title. Empty: the caseworker and contributors columns.
  std::vector<std::string> person_columns;
  int page_size = 100;
  FieldMapping fields;
  ContentLimits limits;
  HttpOptions http;
  CredentialConfig credential;
  std::chrono::seconds digest_margin{60};
};

class SharePointSource final : public DocumentSource {
 public:
  // `clock` must outlive the source; it times digests and tokens.
  SharePointSource(SharePointOptions options, const core::Clock& clock);

  std::string kind() const override { return "sharepoint"; }
  core::StatusOr<Page> listPage(const std::string& cursor) override;
  core::Status download(const Item& item, const std::string& destination) override;
  core::StatusOr<Item> publish(const PublishRequest& request) override;

  HttpTransport& transport() { return transport_; }

 private:
  core::StatusOr<HttpResponse> send(HttpRequest request, const std::string& what);
  core::StatusOr<nlohmann::json> getJson(const std::string& url, const std::string& what);
  core::StatusOr<std::string> digest(bool refresh);
  core::StatusOr<HttpResponse> sendWithDigest(HttpRequest request, const std::string& what);
  core::StatusOr<Item> toItem(const nlohmann::json& entry) const;
  std::string selectAndExpand() const;
  bool isPerson(const std::string& column) const;

  SharePointOptions options_;
  const core::Clock& clock_;
  HttpTransport transport_;
  std::unique_ptr<CredentialSource> credential_;
  std::string digest_;
  core::TimePoint digest_expires_{};
  std::string entity_type_;  // ListItemEntityTypeFullName, for verbose MERGE bodies
};

// Quotes `text` for an OData string literal inside a URL: doubles single quotes, then
// percent-encodes (keeping "/").
std::string odataLiteral(const std::string& text);

}  // namespace sendflow::connectors
