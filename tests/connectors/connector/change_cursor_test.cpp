#include "connectors/connector/change_cursor.h"

#include <gtest/gtest.h>

namespace sendflow::connectors {
namespace {

TEST(HighWaterMarkTest, ItemsSharingATimestampAreNeitherLostNorRepeated) {
  HighWaterMark mark;
  EXPECT_TRUE(mark.isNew(100, "a"));
  mark.advance(100, "a");
  EXPECT_FALSE(mark.isNew(100, "a"));
  EXPECT_TRUE(mark.isNew(100, "b"));  // same second, not yet delivered
  EXPECT_FALSE(mark.isNew(99, "z"));
  mark.advance(100, "b");
  mark.advance(101, "c");
  EXPECT_FALSE(mark.isNew(100, "d")) << "earlier ticks are behind the mark";
  EXPECT_TRUE(mark.isNew(101, "d"));
  EXPECT_FALSE(mark.isNew(101, "c"));
}

TEST(HighWaterMarkTest, SurvivesARoundTripThroughTheCursor) {
  HighWaterMark mark;
  mark.advance(5, "x");
  mark.advance(5, "y");
  auto back = HighWaterMark::fromJson(nlohmann::json::parse(mark.toJson().dump()), "test");
  ASSERT_TRUE(back.isOk());
  EXPECT_FALSE(back->isNew(5, "x"));
  EXPECT_FALSE(back->isNew(5, "y"));
  EXPECT_TRUE(back->isNew(5, "z"));
}

TEST(HighWaterMarkTest, MergeKeepsTheLaterMark) {
  HighWaterMark a, b;
  a.advance(5, "x");
  b.advance(7, "y");
  a.merge(b);
  EXPECT_EQ(a.tick(), 7);
  HighWaterMark c;
  c.advance(7, "z");
  a.merge(c);
  EXPECT_FALSE(a.isNew(7, "y"));
  EXPECT_FALSE(a.isNew(7, "z"));
}

TEST(ChangeCursorTest, ForeignCursorsAreRefusedNamingTheConnector) {
  auto parsed = parseCursor("not json", "webdav");
  ASSERT_FALSE(parsed.isOk());
  EXPECT_NE(parsed.status().message().find("webdav connector"), std::string::npos);
  auto mark =
      HighWaterMark::fromJson(nlohmann::json::parse(R"({"t": "yesterday"})"), "folder connector");
  ASSERT_FALSE(mark.isOk());
  EXPECT_NE(mark.status().message().find("folder connector"), std::string::npos);
}

}  // namespace
}  // namespace sendflow::connectors
