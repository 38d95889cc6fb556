#include "connectors/webdav/multistatus_parser.h"

#include <gtest/gtest.h>

namespace sendflow::connectors {
namespace {

constexpr const char* kNs = "urn:x-sendflow:metadata";

TEST(MultistatusParserTest, ReadsLivePropertiesAndOnlyTheFoundDeadOnes) {
  const std::string xml = R"(<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:">
 <D:response><D:href>http://intranet:8080/dav/EHC%20plans/plan%201.docx</D:href>
  <D:propstat><D:prop>
    <D:getlastmodified>Sun, 22 Nov 2026 04:53:44 GMT</D:getlastmodified>
    <D:getcontentlength>1234</D:getcontentlength><D:resourcetype/>
    <D:getetag>"abc"</D:getetag>
    <Locality xmlns="urn:x-sendflow:metadata">North</Locality></D:prop>
   <D:status>HTTP/1.1 200 OK</D:status></D:propstat>
  <D:propstat><D:prop><Caseworker xmlns="urn:x-sendflow:metadata">leak</Caseworker></D:prop>
   <D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>
 </D:response>
 <D:response><D:href>/dav/EHC%20plans/archive/</D:href>
  <D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop>
   <D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
</D:multistatus>)";
  auto resources = parseMultistatus(xml, kNs, "PROPFIND /dav/");
  ASSERT_TRUE(resources.isOk()) << resources.status().toString();
  ASSERT_EQ(resources->size(), 2u);
  const DavResource& plan = (*resources)[0];
  EXPECT_EQ(plan.href, "/dav/EHC plans/plan 1.docx");
  EXPECT_EQ(plan.size, 1234);
  EXPECT_EQ(plan.etag, "\"abc\"");
  EXPECT_TRUE(plan.has_last_modified);
  EXPECT_EQ(core::formatIso8601(plan.last_modified), "2026-11-22T04:53:44.000Z");
  EXPECT_EQ(plan.properties.at("Locality"), "North");
  EXPECT_EQ(plan.properties.count("Caseworker"), 0u);
  EXPECT_TRUE((*resources)[1].is_collection);
}

TEST(MultistatusParserTest, MalformedXmlNamesTheRequestAndTheLine) {
  auto resources = parseMultistatus("<D:multistatus xmlns:D=\"DAV:\">\n<D:response>\n</D:multi",
                                    kNs, "webdav connector: PROPFIND /dav/EHC plans/");
  ASSERT_FALSE(resources.isOk());
  EXPECT_EQ(resources.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(resources.status().message().find("PROPFIND /dav/EHC plans/: malformed XML at line 3"),
            std::string::npos)
      << resources.status().toString();
}

TEST(MultistatusParserTest, RefusesDocumentTypesSoNoEntityIsExpanded) {
  const std::string xml = R"(<?xml version="1.0"?>
<!DOCTYPE D:multistatus [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<D:multistatus xmlns:D="DAV:"><D:response><D:href>&x;</D:href></D:response></D:multistatus>)";
  auto resources = parseMultistatus(xml, kNs, "PROPFIND");
  ASSERT_FALSE(resources.isOk());
  EXPECT_NE(resources.status().message().find("DOCTYPE"), std::string::npos)
      << resources.status().toString();
}

TEST(MultistatusParserTest, MalformedEscapesAndHugeLengthsAreErrorsNotCrashes) {
  // Found by fuzz_webdav_multistatus: Poco's decoder throws on "%2+".
  auto resources = parseMultistatus(
      R"(<D:multistatus xmlns:D="DAV:"><D:response><D:href>/dav/a%2+b.docx</D:href></D:response></D:multistatus>)",
      kNs, "PROPFIND");
  ASSERT_FALSE(resources.isOk());
  EXPECT_NE(resources.status().message().find("malformed %-escape"), std::string::npos);
  resources = parseMultistatus(
      R"(<D:multistatus xmlns:D="DAV:"><D:response><D:href>/a</D:href><D:propstat><D:prop>
         <D:getcontentlength>99999999999999999999999</D:getcontentlength></D:prop>
         <D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>)",
      kNs, "PROPFIND");
  ASSERT_TRUE(resources.isOk());
  EXPECT_EQ(resources->front().size, -1);
}

TEST(MultistatusParserTest, RefusesAnswersThatAreNotMultistatus) {
  EXPECT_FALSE(parseMultistatus("<html><body>Login</body></html>", kNs, "PROPFIND").isOk());
}

TEST(PropertyNamesTest, ColumnNamesBecomeXmlNames) {
  EXPECT_EQ(propertyLocalName("Date Finalised"), "Date_Finalised");
  EXPECT_EQ(propertyLocalName("9Year"), "_9Year");
  EXPECT_EQ(xmlEscape("a<b & 'c'"), "a&lt;b &amp; &#39;c&#39;");
}

}  // namespace
}  // namespace sendflow::connectors
