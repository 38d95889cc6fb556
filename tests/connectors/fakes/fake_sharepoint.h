#pragma once
// A fake SharePoint site (/sites/send) with one document library "EHC plans", speaking the REST
// wire format in both odata=verbose and odata=nometadata shapes, chosen by the Accept header as
// SharePoint does: list items with $select/$expand/$filter/$orderby/$top and paging links,
// GetFileByServerRelativeUrl(...)/$value, Files/add(url=...,overwrite=true), folders/add,
// ListItemAllFields GET and MERGE, /_api/contextinfo digests (which can be expired on demand:
// writes then answer 403 -2130575251). Every request needs a bearer token from the
// FakeTokenEndpoint. Modified advances one second every two changes, so items share seconds.
// Thread-safe.

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "connectors/sharepoint/sharepoint_source.h"
#include "tests/connectors/fakes/fake_http_server.h"
#include "tests/connectors/fakes/fake_token_endpoint.h"

namespace sendflow::testing {

class FakeSharePoint final : public FakeHttpServer {
 public:
  static constexpr const char* kSite = "/sites/send";
  static constexpr const char* kList = "EHC plans";
  static constexpr const char* kFolder = "/sites/send/EHC plans";

  explicit FakeSharePoint(FakeTokenEndpoint& tokens) : tokens_(tokens) { start(); }
  ~FakeSharePoint() override { stop(); }

  // Adds or replaces a document; `relative_name` may have a sub-folder ("archive/plan.docx").
  void addDocument(const std::string& relative_name, const std::string& content,
                   const nlohmann::json& columns);
  void expireDigests();
  std::string siteUrl() const { return baseUrl() + kSite; }

 protected:
  FakeReply handle(const FakeRequest& request) override;

 private:
  struct Document {
    int id = 0;
    std::string file_ref;  // server-relative URL
    std::string content;
    nlohmann::json columns;
    long long modified_s = 0;
    int version = 1;
  };
  void touch(Document& doc);  // guarded by mutex_
  FakeReply listItems(const FakeRequest& request, bool verbose);
  nlohmann::json render(const Document& doc, const std::set<std::string>& select,
                        const std::set<std::string>& expand, bool verbose) const;

  FakeTokenEndpoint& tokens_;
  std::mutex mutex_;
  std::map<std::string, Document> documents_;  // by file_ref; guarded by mutex_
  std::set<std::string> digests_;              // valid digests; guarded by mutex_
  int next_id_ = 1;                            // guarded by mutex_
  int changes_ = 0;                            // guarded by mutex_
};

// Options for a SharePointSource against `fake`, authenticating at `tokens` with `secret`.
connectors::SharePointOptions sharePointOptions(const FakeSharePoint& fake,
                                                const FakeTokenEndpoint& tokens,
                                                const std::string& secret, bool verbose);

}  // namespace sendflow::testing
