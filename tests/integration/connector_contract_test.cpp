// The contract every DocumentSource keeps, run against each connector and its peer: the folder
// connector on a temporary directory, WebDAV on a real lighttpd with mod_webdav, and SharePoint
// REST and Microsoft Graph on the fakes in tests/connectors/fakes (both OData shapes for
// SharePoint). A peer is seeded behind the connector's back, as a council's staff would.

#include <gtest/gtest.h>

#include <Poco/TemporaryFile.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "connectors/connector/document_source.h"
#include "connectors/connector/field_mapping.h"
#include "connectors/folder/folder_source.h"
#include "connectors/webdav/webdav_source.h"
#include "server/core/clock.h"
#include "tests/connectors/fakes/fake_graph.h"
#include "tests/connectors/fakes/fake_sharepoint.h"
#include "tests/connectors/fakes/fake_token_endpoint.h"
#include "tests/integration/lighttpd_webdav.h"

namespace sendflow::connectors {
namespace {

namespace fs = std::filesystem;

// Short waits so that injected faults cost milliseconds, not seconds.
HttpOptions fastHttp() {
  HttpOptions http;
  http.connect_timeout = std::chrono::milliseconds(2000);
  http.io_timeout = std::chrono::milliseconds(2000);
  http.retry.initial_backoff = std::chrono::milliseconds(2);
  http.retry.max_backoff = std::chrono::milliseconds(10);
  http.sleep = [](std::chrono::milliseconds) {};
  http.jitter_seed = 7;
  return http;
}

std::string documentBytes(int n) {
  std::string bytes = "PK\x03\x04 EHC plan " + std::to_string(n) + "\n";
  for (int i = 0; i < 3000 + n * 137; ++i) bytes += static_cast<char>((i * 31 + n) & 0xff);
  return bytes;
}

nlohmann::json planColumns(int n) {
  static const char* kLocalities[] = {"North", "South", "East", "West", "Central", "Coastal"};
  return {{"Locality", kLocalities[n % 6]},
          {"DateFinalised", "2026-10-0" + std::to_string(1 + n % 9)},
          {"RequestDate", "2026-05-11"},
          {"Caseworker", "cw-01" + std::to_string(n % 10)},
          {"Contributors", {"ep-003", "hv-010"}},
          {"YearGroup", n % 2 == 0 ? nlohmann::json(9) : nlohmann::json("R")},
          {"Setting", "Mainstream primary"},
          {"DocumentType", "EHC plan"}};
}

// A peer the contract runs against: seeds documents directly and builds connectors to it.
class ContractPeer {
 public:
  virtual ~ContractPeer() = default;
  virtual void seed(const std::string& name, const std::string& content,
                    const nlohmann::json& columns) = 0;
  virtual std::unique_ptr<DocumentSource> connect() = 0;
  // A connector with credentials the peer refuses; nullptr when the peer has none.
  virtual std::unique_ptr<DocumentSource> connectWithBadCredentials() = 0;
};

class FolderPeer final : public ContractPeer {
 public:
  FolderPeer() : root_(Poco::TemporaryFile::tempName()) {
    fs::create_directories(root_ + "/EHC plans");
  }
  ~FolderPeer() override { fs::remove_all(root_); }
  void seed(const std::string& name, const std::string& content,
            const nlohmann::json& columns) override {
    const fs::path path = fs::path(root_) / "EHC plans" / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path.string() + ".meta.json") << columns.dump();
    std::ofstream(path, std::ios::binary) << content;
  }
  std::unique_ptr<DocumentSource> connect() override {
    FolderOptions options;
    options.root = root_;
    options.library = "EHC plans";
    options.page_size = 3;
    return std::make_unique<FolderSource>(options);
  }
  std::unique_ptr<DocumentSource> connectWithBadCredentials() override { return nullptr; }

 private:
  std::string root_;
};

class WebDavPeer final : public ContractPeer {
 public:
  WebDavPeer() : admin_(fastHttp(), clock_) {}
  void seed(const std::string& name, const std::string& content,
            const nlohmann::json& columns) override {
    // Behind the connector's back: plain PUT and PROPPATCH, as another WebDAV client would.
    const std::string auth =
        basicAuthorization(testing::LighttpdWebDav::kUser, testing::LighttpdWebDav::kPassword);
    const std::string url = server_.baseUrl() + "/EHC%20plans/" + percentEncodePath(name);
    auto send = [&](HttpRequest r) {
      r.headers.emplace_back("Authorization", auth);
      auto response = admin_.send(r);
      ASSERT_TRUE(response.isOk()) << response.status().toString();
      ASSERT_LT(response->status, 300) << r.method << " " << r.url << ": " << response->body;
    };
    const auto slash = name.rfind('/');
    for (std::string dir :
         {std::string(""), slash == std::string::npos ? "" : name.substr(0, slash)}) {
      HttpRequest mkcol{.method = "MKCOL",
                        .url = server_.baseUrl() + "/EHC%20plans/" + percentEncodePath(dir)};
      mkcol.headers.emplace_back("Authorization", auth);
      (void)admin_.send(mkcol);  // 405 when it exists
    }
    send(HttpRequest{.method = "PUT", .url = url, .body = content});
    std::string body = "<?xml version=\"1.0\"?><D:propertyupdate xmlns:D=\"DAV:\" xmlns:S=\"" +
                       std::string(kSendflowPropertyNamespace) + "\">";
    for (const auto& [column, value] : columns.items()) {
      body += "<D:set><D:prop><S:" + column + ">" + xmlEscape(columnText(value)) + "</S:" + column +
              "></D:prop></D:set>";
    }
    body += "</D:propertyupdate>";
    send(HttpRequest{
        .method = "PROPPATCH", .url = url, .content_type = "application/xml", .body = body});
  }
  std::unique_ptr<DocumentSource> connect() override {
    return make(testing::LighttpdWebDav::kPassword);
  }
  std::unique_ptr<DocumentSource> connectWithBadCredentials() override { return make("wrong"); }

 private:
  std::unique_ptr<DocumentSource> make(const std::string& password) {
    WebDavOptions options;
    options.base_url = server_.baseUrl();
    options.library = "EHC plans";
    options.http = fastHttp();
    options.credential.kind = CredentialConfig::Kind::kBasic;
    options.credential.username = testing::LighttpdWebDav::kUser;
    options.credential.secret = password;
    return std::make_unique<WebDavSource>(options, clock_);
  }
  testing::LighttpdWebDav server_;
  core::SystemClock clock_;
  HttpTransport admin_;
};

class SharePointPeer final : public ContractPeer {
 public:
  explicit SharePointPeer(bool verbose) : verbose_(verbose), sharepoint_(tokens_) {}
  void seed(const std::string& name, const std::string& content,
            const nlohmann::json& columns) override {
    sharepoint_.addDocument(name, content, columns);
  }
  std::unique_ptr<DocumentSource> connect() override {
    return make(testing::FakeTokenEndpoint::kSecret);
  }
  std::unique_ptr<DocumentSource> connectWithBadCredentials() override { return make("wrong"); }

 private:
  std::unique_ptr<DocumentSource> make(const std::string& secret) {
    SharePointOptions options = testing::sharePointOptions(sharepoint_, tokens_, secret, verbose_);
    options.http = fastHttp();
    options.page_size = 3;
    return std::make_unique<SharePointSource>(options, clock_);
  }
  bool verbose_;
  testing::FakeTokenEndpoint tokens_;
  testing::FakeSharePoint sharepoint_;
  core::SystemClock clock_;
};

class GraphPeer final : public ContractPeer {
 public:
  GraphPeer() : graph_(tokens_) {}
  void seed(const std::string& name, const std::string& content,
            const nlohmann::json& columns) override {
    graph_.addDocument(name, content, columns);
  }
  std::unique_ptr<DocumentSource> connect() override {
    return make(testing::FakeTokenEndpoint::kSecret);
  }
  std::unique_ptr<DocumentSource> connectWithBadCredentials() override { return make("wrong"); }

 private:
  std::unique_ptr<DocumentSource> make(const std::string& secret) {
    GraphOptions options = testing::graphOptions(graph_, tokens_, secret);
    options.http = fastHttp();
    options.page_size = 3;
    return std::make_unique<GraphSource>(options, clock_);
  }
  testing::FakeTokenEndpoint tokens_;
  testing::FakeGraph graph_;
  core::SystemClock clock_;
};

struct PeerParam {
  std::string name;
  std::function<std::unique_ptr<ContractPeer>()> make;
};
void PrintTo(const PeerParam& param, std::ostream* os) { *os << param.name; }

struct Listing {
  std::vector<Item> items;
  std::vector<ItemProblem> problems;
  std::string cursor;
  int pages = 0;
};

Listing listAll(DocumentSource& source, const std::string& cursor) {
  Listing listing;
  listing.cursor = cursor;
  for (int guard = 0; guard < 100; ++guard) {
    auto page = source.listPage(listing.cursor);
    EXPECT_TRUE(page.isOk()) << page.status().toString();
    if (!page.isOk()) break;
    ++listing.pages;
    for (auto& item : page->items) listing.items.push_back(item);
    for (auto& problem : page->problems) listing.problems.push_back(problem);
    listing.cursor = page->next_cursor;
    if (!page->more) break;
  }
  return listing;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ConnectorContractTest : public ::testing::TestWithParam<PeerParam> {
 protected:
  static constexpr int kSeeded = 7;
  void SetUp() override {
    peer_ = GetParam().make();
    for (int n = 1; n <= kSeeded; ++n) seedPlan(n);
    spool_ = Poco::TemporaryFile::tempName();
    fs::create_directories(spool_);
  }
  void TearDown() override { fs::remove_all(spool_); }

  static std::string planName(int n) {
    char name[40];
    std::snprintf(name, sizeof name, "%splan-%03d.%s", n > 4 ? "archive/" : "", n,
                  n == 3 ? "odt" : "docx");
    return name;
  }
  void seedPlan(int n) { peer_->seed(planName(n), documentBytes(n), planColumns(n)); }

  std::unique_ptr<ContractPeer> peer_;
  std::string spool_;
};

TEST_P(ConnectorContractTest, ListsEveryDocumentOnceAcrossPagesWithItsMetadata) {
  auto source = peer_->connect();
  const Listing listing = listAll(*source, "");
  EXPECT_TRUE(listing.problems.empty()) << listing.problems.front().status.toString();
  EXPECT_GE(listing.pages, 2);
  std::multiset<std::string> names;
  for (const Item& item : listing.items) names.insert(item.name);
  std::multiset<std::string> expected;
  for (int n = 1; n <= kSeeded; ++n) expected.insert(fs::path(planName(n)).filename().string());
  EXPECT_EQ(names, expected);
  for (const Item& item : listing.items) {
    if (item.name != "plan-002.docx") continue;
    EXPECT_EQ(item.metadata.locality, "East");
    EXPECT_EQ(item.metadata.finalised_date, "2026-10-03");
    EXPECT_EQ(item.metadata.request_date, "2026-05-11");
    EXPECT_EQ(item.metadata.caseworker, "cw-012");
    EXPECT_EQ(item.metadata.contributors, (std::vector<std::string>{"ep-003", "hv-010"}));
    EXPECT_EQ(item.metadata.year_group, "9");
    EXPECT_EQ(item.metadata.setting, "Mainstream primary");
    EXPECT_EQ(item.metadata.document_type, "EHC plan");
    EXPECT_EQ(item.size, static_cast<std::int64_t>(documentBytes(2).size()));
    EXPECT_EQ(item.content_type,
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  }
}

TEST_P(ConnectorContractTest, IncrementalListingFromASavedCursorSurvivesARestart) {
  std::string cursor;
  {
    auto first_run = peer_->connect();
    cursor = listAll(*first_run, "").cursor;
  }
  auto restarted = peer_->connect();
  const Listing unchanged = listAll(*restarted, cursor);
  EXPECT_TRUE(unchanged.items.empty()) << unchanged.items.front().name << " listed again";
  seedPlan(8);
  const Listing changed = listAll(*restarted, unchanged.cursor);
  ASSERT_EQ(changed.items.size(), 1u);
  EXPECT_EQ(changed.items[0].name, "plan-008.docx");
  EXPECT_EQ(changed.items[0].metadata.locality, "East");
  EXPECT_TRUE(listAll(*restarted, changed.cursor).items.empty());
}

TEST_P(ConnectorContractTest, DownloadedContentIsIdenticalToTheIntranetCopy) {
  auto source = peer_->connect();
  const Listing listing = listAll(*source, "");
  ASSERT_EQ(listing.items.size(), static_cast<std::size_t>(kSeeded));
  for (const Item& item : listing.items) {
    const int n = std::stoi(item.name.substr(5, 3));
    const std::string destination = spool_ + "/" + item.name;
    ASSERT_TRUE(source->download(item, destination).isOk()) << item.name;
    EXPECT_EQ(readFile(destination), documentBytes(n)) << item.name;
  }
  auto stream = openContent(*source, listing.items.front(), spool_);
  ASSERT_TRUE(stream.isOk()) << stream.status().toString();
  std::stringstream copy;
  copy << (*stream)->rdbuf();
  EXPECT_EQ(copy.str().size(), static_cast<std::size_t>(listing.items.front().size));
}

TEST_P(ConnectorContractTest, PublishedDocumentIsListedWithItsMetadata) {
  auto source = peer_->connect();
  const std::string cursor = listAll(*source, "").cursor;
  std::istringstream report(documentBytes(42));
  DocumentMetadata metadata;
  metadata.locality = "North";
  metadata.document_type = "Audit report";
  metadata.finalised_date = "2026-11-20";
  auto published = source->publish({"reports/audit-north-2026-11.docx", &report, "", metadata});
  ASSERT_TRUE(published.isOk()) << published.status().toString();
  EXPECT_EQ(published->name, "audit-north-2026-11.docx");
  EXPECT_EQ(published->metadata.document_type, "Audit report");

  const Listing after = listAll(*source, cursor);
  ASSERT_EQ(after.items.size(), 1u);
  EXPECT_EQ(after.items[0].name, "audit-north-2026-11.docx");
  EXPECT_EQ(after.items[0].metadata.locality, "North");
  EXPECT_EQ(after.items[0].metadata.finalised_date, "2026-11-20");
  const std::string destination = spool_ + "/published.docx";
  ASSERT_TRUE(source->download(after.items[0], destination).isOk());
  EXPECT_EQ(readFile(destination), documentBytes(42));
}

TEST_P(ConnectorContractTest, BadMetadataIsReportedByItemAndTheRunGoesOn) {
  nlohmann::json columns = planColumns(9);
  columns["DateFinalised"] = "31/02/2026";
  peer_->seed("plan-bad.docx", documentBytes(9), columns);
  auto source = peer_->connect();
  const Listing listing = listAll(*source, "");
  EXPECT_EQ(listing.items.size(), static_cast<std::size_t>(kSeeded));
  ASSERT_EQ(listing.problems.size(), 1u);
  EXPECT_NE(listing.problems[0].item.find("plan-bad.docx"), std::string::npos)
      << listing.problems[0].item;
  EXPECT_EQ(listing.problems[0].status.code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(listing.problems[0].status.message().find("DateFinalised"), std::string::npos)
      << listing.problems[0].status.message();
}

TEST_P(ConnectorContractTest, RefusedCredentialsFailAsUnauthenticated) {
  auto source = peer_->connectWithBadCredentials();
  if (!source) GTEST_SKIP() << GetParam().name << " has no credentials";
  auto page = source->listPage("");
  ASSERT_FALSE(page.isOk());
  EXPECT_EQ(page.status().code(), core::StatusCode::kUnauthenticated) << page.status().toString();
  EXPECT_NE(page.status().message().find(source->kind()), std::string::npos)
      << page.status().toString();
}

TEST_P(ConnectorContractTest, DownloadOfAMissingDocumentFailsNamingIt) {
  auto source = peer_->connect();
  const Listing listing = listAll(*source, "");
  ASSERT_FALSE(listing.items.empty());
  Item missing = listing.items.front();
  missing.id += "-missing";
  missing.path += "-missing";
  const std::string destination = spool_ + "/missing.docx";
  const core::Status status = source->download(missing, destination);
  EXPECT_EQ(status.code(), core::StatusCode::kNotFound) << status.toString();
  EXPECT_NE(status.message().find("-missing"), std::string::npos) << status.toString();
  EXPECT_FALSE(fs::exists(destination));
}

INSTANTIATE_TEST_SUITE_P(
    EveryConnector, ConnectorContractTest,
    ::testing::Values(
        PeerParam{"folder", [] { return std::unique_ptr<ContractPeer>(new FolderPeer()); }},
        PeerParam{"sharepoint_nometadata",
                  [] { return std::unique_ptr<ContractPeer>(new SharePointPeer(false)); }},
        PeerParam{"sharepoint_verbose",
                  [] { return std::unique_ptr<ContractPeer>(new SharePointPeer(true)); }},
        PeerParam{"graph", [] { return std::unique_ptr<ContractPeer>(new GraphPeer()); }},
        PeerParam{"webdav_lighttpd",
                  [] { return std::unique_ptr<ContractPeer>(new WebDavPeer()); }}),
    [](const ::testing::TestParamInfo<PeerParam>& info) { return info.param.name; });

}  // namespace
}  // namespace sendflow::connectors
