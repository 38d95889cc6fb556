#include "connectors/factory/connector_factory.h"

#include <gtest/gtest.h>

#include <Poco/TemporaryFile.h>

#include <fstream>

namespace sendflow::connectors {
namespace {

const core::SystemClock kClock;

core::Status build(const std::map<std::string, std::string>& section,
                   const std::map<std::string, std::string>& environment = {}) {
  auto source = makeDocumentSource(section, "council.properties", environment, kClock);
  return source.isOk() ? core::Status::ok() : source.status();
}

TEST(ConnectorFactoryTest, BuildsEachTypeFromItsKeys) {
  auto folder = makeDocumentSource({{"library", "SEND Library"}}, "p", {}, kClock);
  ASSERT_TRUE(folder.isOk());
  EXPECT_EQ((*folder)->kind(), "folder");
  auto webdav = makeDocumentSource({{"type", "webdav"},
                                    {"base_url", "https://dav.council.example/dav"},
                                    {"auth", "basic"},
                                    {"username", "svc-sendflow"}},
                                   "p", {{"SENDFLOW_CONNECTOR_SECRET", "pw"}}, kClock);
  ASSERT_TRUE(webdav.isOk()) << webdav.status().toString();
  EXPECT_EQ((*webdav)->kind(), "webdav");
  auto sharepoint = makeDocumentSource({{"type", "sharepoint"},
                                        {"base_url", "https://contoso.sharepoint.com/sites/send"},
                                        {"library", "EHC plans"},
                                        {"tenant", "contoso"},
                                        {"client_id", "app"}},
                                       "p", {{"SENDFLOW_CONNECTOR_SECRET", "s"}}, kClock);
  ASSERT_TRUE(sharepoint.isOk()) << sharepoint.status().toString();
  EXPECT_EQ((*sharepoint)->kind(), "sharepoint");
  const std::string secret_file = Poco::TemporaryFile::tempName();
  std::ofstream(secret_file) << "from-a-file\n";
  auto graph = makeDocumentSource({{"type", "graph"},
                                   {"graph.drive_id", "b!x"},
                                   {"tenant", "t"},
                                   {"client_id", "app"},
                                   {"secret_file", secret_file}},
                                  "p", {}, kClock);
  ASSERT_TRUE(graph.isOk()) << graph.status().toString();
  EXPECT_EQ((*graph)->kind(), "graph");
  std::remove(secret_file.c_str());
}

TEST(ConnectorFactoryTest, ErrorsNameTheFileAndTheKey) {
  const std::pair<std::map<std::string, std::string>, std::string> cases[] = {
      {{{"type", "ftp"}}, "council.properties: connector.type: 'ftp' is not one of"},
      {{{"type", "graph"}}, "council.properties: connector.graph.drive_id: required"},
      {{{"type", "webdav"}, {"base_url", "dav.council.example"}},
       "council.properties: connector.base_url: 'dav.council.example' is not an http"},
      {{{"type", "webdav"}, {"base_url", "https://d"}, {"timeout", "soon"}},
       "council.properties: connector.timeout: 'soon' is not a duration"},
      {{{"type", "graph"}, {"graph.drive_id", "d"}, {"client_id", "a"}},
       "council.properties: connector.tenant: required"},
      {{{"type", "graph"}, {"graph.drive_id", "d"}, {"client_id", "a"}, {"tenant", "t"}},
       "council.properties: connector.secret_env: the environment variable "
       "SENDFLOW_CONNECTOR_SECRET is not set"},
      {{{"library", "L"}, {"fields.postcode", "PC"}},
       "council.properties: connector.fields.postcode"},
      {{{"library", "L"}, {"page_size", "0"}}, "council.properties: connector.page_size: '0'"},
      {{{"type", "webdav"}, {"base_url", "https://d"}, {"proxy", "proxy.council.example"}},
       "council.properties: connector.proxy: 'proxy.council.example' is not HOST:PORT"},
      {{{"type", "sharepoint"},
        {"base_url", "https://s/sites/a"},
        {"library", "L"},
        {"sharepoint.odata", "minimal"}},
       "council.properties: connector.sharepoint.odata"},
  };
  for (const auto& [section, expected] : cases) {
    const core::Status status = build(section);
    EXPECT_FALSE(status.isOk()) << expected;
    EXPECT_NE(status.message().find(expected), std::string::npos) << status.toString();
  }
}

TEST(ConnectorFactoryTest, ParsesDurations) {
  std::chrono::milliseconds d;
  ASSERT_TRUE(parseConnectorDuration("500ms", d));
  EXPECT_EQ(d.count(), 500);
  ASSERT_TRUE(parseConnectorDuration("2m", d));
  EXPECT_EQ(d.count(), 120000);
  ASSERT_TRUE(parseConnectorDuration("30", d));
  EXPECT_EQ(d.count(), 30000);
  EXPECT_FALSE(parseConnectorDuration("-1s", d));
  EXPECT_FALSE(parseConnectorDuration("1w", d));
}

}  // namespace
}  // namespace sendflow::connectors
