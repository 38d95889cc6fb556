// The Graph connector against the fake: redirects, upload sessions, delta paging and resync.
#include "connectors/graph/graph_source.h"

#include <gtest/gtest.h>

#include <Poco/TemporaryFile.h>

#include <fstream>
#include <set>
#include <sstream>

#include "tests/connectors/fakes/fake_graph.h"

namespace sendflow::connectors {
namespace {

using std::chrono::milliseconds;

struct Listing {
  std::vector<Item> items;
  std::string cursor;
  bool resynced = false;
  int pages = 0;
};

class GraphSourceTest : public ::testing::Test {
 protected:
  GraphSourceTest() : graph_(tokens_) {
    for (int n = 1; n <= 4; ++n) {
      graph_.addDocument("plan-00" + std::to_string(n) + ".docx", "plan " + std::to_string(n),
                         {{"Locality", "West"}});
    }
  }
  std::unique_ptr<GraphSource> connect() {
    GraphOptions options =
        testing::graphOptions(graph_, tokens_, testing::FakeTokenEndpoint::kSecret);
    options.page_size = 2;
    options.simple_upload_limit = 1024 * 1024;
    options.upload_chunk_bytes = 320 * 1024;
    options.http.retry.initial_backoff = milliseconds(1);
    options.http.sleep = [](milliseconds) {};
    return std::make_unique<GraphSource>(options, clock_);
  }
  Listing listAll(DocumentSource& source, std::string cursor) {
    Listing listing;
    for (int guard = 0; guard < 50; ++guard) {
      auto page = source.listPage(cursor);
      EXPECT_TRUE(page.isOk()) << page.status().toString();
      if (!page.isOk()) break;
      ++listing.pages;
      listing.resynced = listing.resynced || page->resynced;
      for (auto& item : page->items) listing.items.push_back(item);
      cursor = page->next_cursor;
      if (!page->more) break;
    }
    listing.cursor = cursor;
    return listing;
  }
  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  testing::FakeTokenEndpoint tokens_;
  testing::FakeGraph graph_;
  core::SystemClock clock_;
};

TEST_F(GraphSourceTest, DownloadFollowsTheRedirectWithoutTheAuthorizationHeader) {
  auto source = connect();
  const Listing listing = listAll(*source, "");
  ASSERT_EQ(listing.items.size(), 4u);
  const std::string destination = Poco::TemporaryFile::tempName();
  ASSERT_TRUE(source->download(listing.items[0], destination).isOk());
  EXPECT_EQ(read(destination), "plan 1");
  EXPECT_EQ(graph_.count("GET", "/download/"), 1);
  EXPECT_EQ(graph_.authorizationLeaks(), 0);
  std::remove(destination.c_str());
}

TEST_F(GraphSourceTest, LargeDocumentsGoThroughAnUploadSessionInRanges) {
  auto source = connect();
  std::string big;
  for (int i = 0; i < 1100 * 1024; ++i) big += static_cast<char>(i * 7);
  std::istringstream content(big);
  DocumentMetadata metadata;
  metadata.document_type = "Board pack";
  auto item = source->publish({"packs/board-pack.docx", &content, "", metadata});
  ASSERT_TRUE(item.isOk()) << item.status().toString();
  EXPECT_EQ(item->metadata.document_type, "Board pack");
  EXPECT_EQ(graph_.uploadChunks(), 4);  // 3 x 320 KiB + the rest
  EXPECT_EQ(graph_.count("PUT", ":/content"), 0);
  EXPECT_EQ(graph_.authorizationLeaks(), 0);
  const std::string destination = Poco::TemporaryFile::tempName();
  ASSERT_TRUE(source->download(*item, destination).isOk());
  EXPECT_EQ(read(destination), big);
  std::remove(destination.c_str());
}

TEST_F(GraphSourceTest, SmallDocumentsArePutInOneRequest) {
  auto source = connect();
  std::istringstream content("small");
  ASSERT_TRUE(source->publish({"small.docx", &content, "", {}}).isOk());
  EXPECT_EQ(graph_.count("PUT", ":/content"), 1);
  EXPECT_EQ(graph_.uploadChunks(), 0);
}

TEST_F(GraphSourceTest, DeltaPagesThroughManyChangesWithoutLosingAny) {
  auto source = connect();
  const std::string cursor = listAll(*source, "").cursor;
  for (int n = 10; n < 17; ++n) graph_.addDocument("plan-0" + std::to_string(n) + ".docx", "x", {});
  const Listing changes = listAll(*source, cursor);
  EXPECT_GE(changes.pages, 3);  // the fake pages delta by three
  std::set<std::string> names;
  for (const auto& item : changes.items) names.insert(item.name);
  EXPECT_EQ(names.size(), 7u);
  EXPECT_EQ(changes.items.size(), 7u);
  EXPECT_FALSE(changes.resynced);
}

TEST_F(GraphSourceTest, GoneDeltaTokenStartsAFullResync) {
  auto source = connect();
  const std::string cursor = listAll(*source, "").cursor;
  graph_.invalidateDeltaTokens();
  const Listing again = listAll(*source, cursor);
  EXPECT_TRUE(again.resynced);
  EXPECT_EQ(again.items.size(), 4u);
  graph_.addDocument("plan-099.docx", "late", {});
  const Listing after = listAll(*source, again.cursor);
  ASSERT_EQ(after.items.size(), 1u);
  EXPECT_EQ(after.items[0].name, "plan-099.docx");
}

TEST_F(GraphSourceTest, ThrottlingAndDropsWhileWalkingLoseNothing) {
  graph_.inject({testing::FaultKind::kStatus, "/children", 429, 0});
  graph_.inject({testing::FaultKind::kDrop, "/children"});
  auto source = connect();
  EXPECT_EQ(listAll(*source, "").items.size(), 4u);
}

TEST_F(GraphSourceTest, AMalformedCursorIsAnErrorNotACrash) {
  auto source = connect();
  for (const char* cursor : {R"({"mode": 7})", R"({"mode": "delta", "link": ["x"]})",
                             R"({"mode": "walk", "queue": [1], "known": [], "next": ""})"}) {
    auto page = source->listPage(cursor);
    ASSERT_FALSE(page.isOk()) << cursor;
    EXPECT_EQ(page.status().code(), core::StatusCode::kInvalidArgument) << page.status().toString();
  }
}

TEST_F(GraphSourceTest, MalformedJsonNamesTheRequest) {
  graph_.inject({testing::FaultKind::kMalformedJson, "/children"});
  auto source = connect();
  auto page = source->listPage("");
  ASSERT_FALSE(page.isOk());
  EXPECT_NE(page.status().message().find("graph connector: list the library"), std::string::npos)
      << page.status().toString();
}

}  // namespace
}  // namespace sendflow::connectors
