// The SharePoint connector against the fake: the failure modes the contract suite does not reach.
#include "connectors/sharepoint/sharepoint_source.h"

#include <gtest/gtest.h>

#include <Poco/TemporaryFile.h>

#include <fstream>
#include <sstream>

#include "tests/connectors/fakes/fake_sharepoint.h"

namespace sendflow::connectors {
namespace {

using std::chrono::milliseconds;

class SharePointSourceTest : public ::testing::TestWithParam<bool> {
 protected:
  SharePointSourceTest() : sharepoint_(tokens_) {
    for (int n = 1; n <= 5; ++n) {
      sharepoint_.addDocument("plan-00" + std::to_string(n) + ".docx",
                              "content " + std::to_string(n),
                              {{"Locality", "North"}, {"Caseworker", "cw-00" + std::to_string(n)}});
    }
  }
  std::unique_ptr<SharePointSource> connect(int page_size = 2) {
    SharePointOptions options = testing::sharePointOptions(
        sharepoint_, tokens_, testing::FakeTokenEndpoint::kSecret, GetParam());
    options.page_size = page_size;
    options.http.retry.initial_backoff = milliseconds(1);
    options.http.io_timeout = milliseconds(300);
    options.http.sleep = [this](milliseconds d) { sleeps_.push_back(d); };
    return std::make_unique<SharePointSource>(options, clock_);
  }
  std::vector<std::string> listNames(DocumentSource& source) {
    std::vector<std::string> names;
    std::string cursor;
    for (int guard = 0; guard < 20; ++guard) {
      auto page = source.listPage(cursor);
      EXPECT_TRUE(page.isOk()) << page.status().toString();
      if (!page.isOk()) break;
      for (const auto& item : page->items) names.push_back(item.name);
      cursor = page->next_cursor;
      if (!page->more) break;
    }
    return names;
  }

  testing::FakeTokenEndpoint tokens_;
  testing::FakeSharePoint sharepoint_;
  core::SystemClock clock_;
  std::vector<milliseconds> sleeps_;
};

TEST_P(SharePointSourceTest, PagesWithTheShapesNextLinkAndExpandsPersonColumns) {
  auto source = connect();
  EXPECT_EQ(listNames(*source).size(), 5u);
  const auto requests = sharepoint_.requests();
  int listings = 0;
  for (const auto& r : requests) {
    if (r.path.find("/items") == std::string::npos) continue;
    ++listings;
    if (r.params.count("$skiptoken")) continue;
    EXPECT_NE(r.params.at("$select").find("Caseworker/Title"), std::string::npos);
    EXPECT_NE(r.params.at("$expand").find("Caseworker"), std::string::npos);
    EXPECT_EQ(r.params.at("$orderby"), "Modified asc,Id asc");
    EXPECT_EQ(r.header("accept"),
              GetParam() ? "application/json;odata=verbose" : "application/json;odata=nometadata");
  }
  EXPECT_EQ(listings, 3);  // 2 + 2 + 1
}

TEST_P(SharePointSourceTest, HonoursRetryAfterOn429And503WhileListing) {
  sharepoint_.inject({testing::FaultKind::kStatus, "/items", 429, 3});
  sharepoint_.inject({testing::FaultKind::kStatus, "/items", 503, 1});
  auto source = connect();
  EXPECT_EQ(listNames(*source).size(), 5u);
  ASSERT_EQ(sleeps_.size(), 2u);
  EXPECT_EQ(sleeps_[0], milliseconds(3000));
  EXPECT_EQ(sleeps_[1], milliseconds(1000));
}

TEST_P(SharePointSourceTest, MalformedJsonFailsNamingTheList) {
  sharepoint_.inject({testing::FaultKind::kMalformedJson, "/items"});
  auto source = connect();
  auto page = source->listPage("");
  ASSERT_FALSE(page.isOk());
  EXPECT_EQ(page.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(page.status().message().find("list 'EHC plans'"), std::string::npos)
      << page.status().toString();
  EXPECT_NE(page.status().message().find("not valid JSON"), std::string::npos);
  EXPECT_TRUE(source->listPage("").isOk()) << "the next run goes on";
}

TEST_P(SharePointSourceTest, ExpiredDigestIsRefreshedOnceAndThePublishGoesThrough) {
  auto source = connect();
  std::istringstream first("first report");
  ASSERT_TRUE(source->publish({"report-1.docx", &first, "", {}}).isOk());
  sharepoint_.expireDigests();
  std::istringstream second("second report");
  DocumentMetadata metadata;
  metadata.locality = "South";
  auto item = source->publish({"report-2.docx", &second, "", metadata});
  ASSERT_TRUE(item.isOk()) << item.status().toString();
  EXPECT_EQ(item->metadata.locality, "South");
  EXPECT_EQ(sharepoint_.count("POST", "/_api/contextinfo"), 2);
  const std::string destination = Poco::TemporaryFile::tempName();
  ASSERT_TRUE(source->download(*item, destination).isOk());
  std::ifstream in(destination);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "second report") << "the body was sent again after the 403";
  std::remove(destination.c_str());
}

TEST_P(SharePointSourceTest, ARevokedTokenIsReplacedAfterA401) {
  auto source = connect();
  ASSERT_TRUE(source->listPage("").isOk());
  tokens_.revokeAll();
  ASSERT_TRUE(source->listPage("").isOk());
  EXPECT_EQ(tokens_.issued(), 2);
}

TEST_P(SharePointSourceTest, ADroppedDownloadIsRetriedAndComplete) {
  auto source = connect(10);
  auto page = source->listPage("");
  ASSERT_TRUE(page.isOk());
  sharepoint_.inject({testing::FaultKind::kDrop, "/$value"});
  sharepoint_.inject({testing::FaultKind::kSlow, "/$value", 0, -1, milliseconds(700)});
  const std::string destination = Poco::TemporaryFile::tempName();
  ASSERT_TRUE(source->download(page->items.front(), destination).isOk());
  std::ifstream in(destination);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "content 1");
  EXPECT_EQ(source->transport().attempts() >= 4, true);
  std::remove(destination.c_str());
}

TEST_P(SharePointSourceTest, ANextLinkToAnotherHostIsRefused) {
  auto source = connect();
  auto page = source->listPage(R"({"next": "https://attacker.example/steal"})");
  ASSERT_FALSE(page.isOk());
  EXPECT_NE(page.status().message().find("is not on"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(BothShapes, SharePointSourceTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "verbose" : "nometadata";
                         });

}  // namespace
}  // namespace sendflow::connectors
