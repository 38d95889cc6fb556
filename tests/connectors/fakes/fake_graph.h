#pragma once
// A fake of Microsoft Graph's drive API (/v1.0) for one drive whose folder "EHC plans" is the
// library: children with @odata.nextLink paging and $expand=listItem($expand=fields), single
// items, /content answering 302 to a pre-authenticated /download URL (which refuses requests
// that carry Authorization), simple PUT uploads up to 4 MB (413 above), upload sessions with
// ranged PUTs (which also refuse Authorization), PATCH of listItem/fields, DELETE, and
// /root/delta with token=latest, paging, @odata.deltaLink, and 410 Gone (resyncRequired) for
// tokens invalidated by invalidateDeltaTokens(). Requests need a FakeTokenEndpoint bearer token.
// Thread-safe.

#include <map>

#include <nlohmann/json.hpp>

#include "connectors/graph/graph_source.h"
#include "tests/connectors/fakes/fake_http_server.h"
#include "tests/connectors/fakes/fake_token_endpoint.h"

namespace sendflow::testing {

class FakeGraph final : public FakeHttpServer {
 public:
  static constexpr const char* kDrive = "b!council-send-drive";
  static constexpr const char* kLibraryId = "01LIBRARYEHCPLANS";
  static constexpr int kDeltaPageSize = 3;

  explicit FakeGraph(FakeTokenEndpoint& tokens);
  ~FakeGraph() override { stop(); }

  // Adds or replaces a document in the library; "archive/plan.docx" creates the sub-folder.
  void addDocument(const std::string& relative_name, const std::string& content,
                   const nlohmann::json& columns);
  // Every delta token issued so far now answers 410 Gone.
  void invalidateDeltaTokens();
  // Requests to the pre-authenticated download or upload URLs that carried Authorization.
  int authorizationLeaks() const;
  int uploadChunks() const;
  std::string apiUrl() const { return baseUrl() + "/v1.0"; }

 protected:
  FakeReply handle(const FakeRequest& request) override;

 private:
  struct Node {
    std::string id;
    std::string name;
    std::string parent_id;
    bool folder = false;
    bool deleted = false;
    std::string content;
    nlohmann::json fields = nlohmann::json::object();
    long long seq = 0;
    int version = 0;
  };
  struct UploadSession {
    std::string parent_id;
    std::string name;
    std::string received;
  };
  void change(Node& node);  // guarded by mutex_
  Node& ensurePath(const std::string& parent_id, const std::string& relative, bool leaf_is_folder);
  nlohmann::json render(const Node& node, bool with_fields, bool with_path) const;
  std::string webUrl(const Node& node) const;
  FakeReply unauthorized() const;
  FakeReply delta(const FakeRequest& request);
  FakeReply children(const FakeRequest& request, const std::string& id);

  FakeTokenEndpoint& tokens_;
  mutable std::mutex mutex_;
  std::map<std::string, Node> nodes_;              // guarded by mutex_
  std::map<std::string, UploadSession> sessions_;  // guarded by mutex_
  long long seq_ = 0;                              // guarded by mutex_
  long long valid_from_ = 0;                       // tokens below this answer 410
  int next_id_ = 1;                                // guarded by mutex_
  int leaks_ = 0;                                  // guarded by mutex_
  int chunks_ = 0;                                 // guarded by mutex_
};

connectors::GraphOptions graphOptions(const FakeGraph& fake, const FakeTokenEndpoint& tokens,
                                      const std::string& secret);

}  // namespace sendflow::testing
