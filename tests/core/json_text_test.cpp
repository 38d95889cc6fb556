#include "server/core/json_text.h"

#include <gtest/gtest.h>

#include <string>

namespace sendflow::core {
namespace {

using nlohmann::json;

std::string nestedArrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

// The message of the refusal of `text`, or a failure when it parsed.
std::string refusal(std::string_view text, const JsonLimits& limits = {}) {
  auto parsed = parseJsonText(text, limits);
  EXPECT_FALSE(parsed.isOk()) << "parsed: " << std::string(text.substr(0, 80));
  if (parsed.isOk()) return "";
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  return parsed.status().message();
}

TEST(JsonTextTest, ParsesEveryKindOfValue) {
  auto parsed = parseJsonText(
      R"( {"s": "caf\u00e9", "n": -12, "u": 18446744073709551615, "f": 1.5e3, "b": true,
           "z": null, "a": [1, [2, {}]], "o": {"k": []}} )");
  ASSERT_TRUE(parsed.isOk()) << parsed.status().toString();
  EXPECT_EQ(*parsed, json::parse(R"({"s": "café", "n": -12, "u": 18446744073709551615,
                                     "f": 1500.0, "b": true, "z": null, "a": [1, [2, {}]],
                                     "o": {"k": []}})"));
  EXPECT_TRUE((*parsed)["n"].is_number_integer());
  EXPECT_TRUE((*parsed)["u"].is_number_unsigned());
  EXPECT_TRUE((*parsed)["f"].is_number_float());
}

TEST(JsonTextTest, ParsesAScalarAtTheTop) {
  auto parsed = parseJsonText("\"text\"");
  ASSERT_TRUE(parsed.isOk());
  EXPECT_EQ(*parsed, json("text"));
}

TEST(JsonTextTest, AcceptsNestingUpToTheLimit) {
  EXPECT_TRUE(parseJsonText(nestedArrays(64)).isOk());
  EXPECT_TRUE(parseJsonText(nestedArrays(5), JsonLimits{5}).isOk());
  std::string objects;
  for (int i = 0; i < 64; ++i) objects += "{\"a\":";
  objects += "1" + std::string(64, '}');
  EXPECT_TRUE(parseJsonText(objects).isOk());
}

TEST(JsonTextTest, RefusesNestingOneLevelOverTheLimitNamingWhere) {
  EXPECT_EQ(refusal(nestedArrays(65)),
            "[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
            "[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
            "[0][0][0][0][0][0][0][0][0][0]: line 1, column 65: more than 64 levels of nesting");
  EXPECT_EQ(refusal("{\"input\": {\"reference\": [1, [[]]]}}", JsonLimits{3}),
            "input.reference[1]: line 1, column 29: more than 3 levels of nesting");
}

TEST(JsonTextTest, RefusesAHundredThousandNestedArraysWithoutCrashing) {
  const std::string deep =
      "{\"workflow\":\"three-step\",\"input\":{\"reference\":" + nestedArrays(100000) + "}}";
  EXPECT_NE(refusal(deep).find("line 1, column 109: more than 64 levels of nesting"),
            std::string::npos);
  // Unclosed, and objects: the same.
  EXPECT_NE(refusal(std::string(100000, '[')).find("more than 64 levels"), std::string::npos);
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  EXPECT_NE(refusal(objects).find("more than 64 levels"), std::string::npos);
}

TEST(JsonTextTest, StoredLimitsAllowDeeperValues) {
  EXPECT_TRUE(parseJsonText(nestedArrays(200), kStoredJsonLimits).isOk());
  EXPECT_FALSE(parseJsonText(nestedArrays(257), kStoredJsonLimits).isOk());
}

TEST(JsonTextTest, RefusesDuplicateKeysAtAnyDepthNamingKeyAndPosition) {
  EXPECT_EQ(refusal(R"({"workflow":"three-step","workflow":"ehcp-audit"})"),
            "line 1, column 26: duplicate key \"workflow\"");
  EXPECT_EQ(refusal("{\"input\": {\n  \"per_locality\": 2,\n  \"per_locality\": 9}}"),
            "input: line 3, column 3: duplicate key \"per_locality\"");
  EXPECT_EQ(refusal(R"([{"a": 1}, {"b": [{"c": 1, "c\"": 2, "c": 3}]}])"),
            "[1].b[0]: line 1, column 38: duplicate key \"c\"");
  // The same key in different objects is fine.
  EXPECT_TRUE(parseJsonText(R"([{"a": 1}, {"a": {"a": 2}}])").isOk());
}

TEST(JsonTextTest, RefusesNumbersOutOfRangeOfADouble) {
  EXPECT_EQ(refusal(R"({"input": {"per_locality": 1e400}})"),
            "input.per_locality: line 1, column 28: the number 1e400 is out of range");
  EXPECT_NE(refusal("[-1e400]").find("the number -1e400 is out of range"), std::string::npos);
  // The largest double and integers beyond 64 bits (read as doubles) are in range.
  EXPECT_TRUE(parseJsonText("1.7976931348623157e308").isOk());
  EXPECT_TRUE(parseJsonText("123456789012345678901234567890").isOk());
}

TEST(JsonTextTest, RefusesStringsThatAreNotUtf8) {
  const std::string message = refusal("{\"name\": \"caf\xE9\"}");
  EXPECT_NE(message.find("name: line 1, column"), std::string::npos) << message;
  EXPECT_NE(message.find("UTF-8"), std::string::npos) << message;
  EXPECT_FALSE(parseJsonText("[\"\xED\xA0\x80\"]").isOk());  // an encoded surrogate
  EXPECT_FALSE(parseJsonText("[\"\xC0\xAF\"]").isOk());      // an overlong form
}

TEST(JsonTextTest, RefusesTextAfterTheValue) {
  const std::string message = refusal("{\"a\": 1} x");
  EXPECT_EQ(message.rfind("line 1, column 10: syntax error", 0), 0u) << message;
  EXPECT_NE(message.find("expected end of input"), std::string::npos) << message;
  EXPECT_NE(refusal("[1] [2]").find("line 1, column 5: syntax error"), std::string::npos);
}

TEST(JsonTextTest, RefusesEmptyText) {
  EXPECT_EQ(refusal(""), "line 1, column 1: empty text, a JSON value was expected");
  EXPECT_EQ(refusal(" \n\t"), "line 1, column 1: empty text, a JSON value was expected");
}

TEST(JsonTextTest, SyntaxErrorsNameLineAndColumnAndPath) {
  const std::string message = refusal("{\n  \"a\": [1,\n    2,\n    tru]\n}");
  EXPECT_EQ(message.rfind("a[2]: line 4, column 8: syntax error", 0), 0u) << message;
  EXPECT_EQ(message.find("; "), std::string::npos) << "'; ' separates problems: " << message;
  EXPECT_NE(refusal("{\"a\": 1,").find("line 1, column 9: syntax error"), std::string::npos);
}

TEST(JsonTextTest, RefusesTextOverTheSizeLimit) {
  EXPECT_EQ(refusal("[1, 2, 3]", JsonLimits{64, 8}),
            "the text is 9 bytes, more than the limit of 8");
  EXPECT_TRUE(parseJsonText("[1, 2, 3]", JsonLimits{64, 9}).isOk());
}

TEST(JsonTextTest, KeepsMessagesShortAndValidUtf8) {
  const std::string message = refusal("\"" + std::string(100000, 'a') + "\xFF\"");
  EXPECT_LT(message.size(), 400u);
  const std::string number = refusal("1" + std::string(1000, '0') + "e400");
  EXPECT_LT(number.size(), 200u) << number;
}

TEST(JsonTextTest, StoredJsonThatIsDamagedIsAnInternalErrorNamingTheRow) {
  auto damaged = parseStoredJson("{\"frames\": {", "instance 6a97: state");
  ASSERT_FALSE(damaged.isOk());
  EXPECT_EQ(damaged.status().code(), StatusCode::kInternal);
  EXPECT_EQ(damaged.status().message().rfind(
                "instance 6a97: state: stored JSON is damaged: frames: line 1, column 13: ", 0),
            0u)
      << damaged.status().message();
  auto empty = parseStoredJson("", "task 7: result", json::object());
  ASSERT_TRUE(empty.isOk());
  EXPECT_EQ(*empty, json::object());
  auto deep = parseStoredJson(nestedArrays(100), "instance 6a97: data");
  EXPECT_TRUE(deep.isOk());
}

}  // namespace
}  // namespace sendflow::core
