#pragma once
// The WebDAV connector (RFC 4918), for intranets that speak WebDAV (Apache mod_dav, lighttpd
// mod_webdav, Nextcloud, IIS). Listing is a PROPFIND Depth 1 per collection, one collection per
// page, walking sub-collections breadth first. Metadata columns are dead properties in
// `property_namespace`, named after the council's columns (characters not allowed in an XML name
// become '_'); contributors are one property, "ep-003; hv-010".
//
// The cursor is a high-water mark of (getlastmodified, path) plus, while a pass is under way, the
// collections still to list. publish PUTs to a hidden temporary name, sets the properties with
// PROPPATCH (one D:set per property: lighttpd keeps only the first property of each D:set), then
// MOVEs it over the final name, so a lister never sees a half-written document.
// Authentication: none, Basic, or a bearer token. Not thread-safe.

#include <memory>
#include <string>

#include "connectors/connector/access_token.h"
#include "connectors/connector/content_limits.h"
#include "connectors/connector/document_source.h"
#include "connectors/connector/field_mapping.h"
#include "connectors/connector/http_transport.h"
#include "connectors/webdav/multistatus_parser.h"

namespace sendflow::connectors {

inline constexpr const char* kSendflowPropertyNamespace = "urn:x-sendflow:metadata";

struct WebDavOptions {
  std::string base_url;  // http(s)://intranet.example/dav
  std::string library;   // collection under base_url, "EHC plans"
  std::string property_namespace = kSendflowPropertyNamespace;
  FieldMapping fields;
  ContentLimits limits;
  HttpOptions http;
  CredentialConfig credential;
};

class WebDavSource final : public DocumentSource {
 public:
  // `clock` must outlive the source.
  WebDavSource(WebDavOptions options, const core::Clock& clock);

  std::string kind() const override { return "webdav"; }
  core::StatusOr<Page> listPage(const std::string& cursor) override;
  core::Status download(const Item& item, const std::string& destination) override;
  core::StatusOr<Item> publish(const PublishRequest& request) override;

  HttpTransport& transport() { return transport_; }

 private:
  std::string urlOf(const std::string& relative_path) const;
  core::StatusOr<std::vector<DavResource>> propfind(const std::string& relative_path, int depth);
  core::StatusOr<Item> toItem(const DavResource& resource, const std::string& id) const;
  core::Status ensureCollections(const std::string& relative_dir);
  core::Status call(HttpRequest request, const std::string& what, HttpResponse* out = nullptr);

  WebDavOptions options_;
  HttpTransport transport_;
  std::unique_ptr<CredentialSource> credential_;
  std::string library_path_;  // decoded absolute path of the library collection, ending in "/"
};

}  // namespace sendflow::connectors
