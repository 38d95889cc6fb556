#include <gtest/gtest.h>

#include <kainjow/mustache.hpp>
#include <nlohmann/json.hpp>

#include "server/docgen/tag.h"
#include "server/docgen/template.h"
#include "server/docgen/value_format.h"
#include "tests/docgen/package_builder.h"

namespace sendflow::docgen {
namespace {

using nlohmann::json;

std::string format(const json& value, const std::string& tag_text) {
  Tag tag;
  std::string error;
  EXPECT_TRUE(parseTag(tag_text, tag, error)) << error;
  return formatValue(&value, tag.formatters, error);
}

TEST(ValueFormatTest, FormatsUkDates) {
  EXPECT_EQ(format("2026-11-05", "d | date"), "5 November 2026");
  EXPECT_EQ(format("2026-11-05T14:30:00Z", "d | date:\"dd/MM/yyyy HH:mm\""), "05/11/2026 14:30");
  EXPECT_EQ(format("2026-11-05", "d | date:\"dddd d MMMM\""), "Thursday 5 November");
  // Word's curly quotes are accepted around arguments.
  EXPECT_EQ(format("2026-01-31",
                   "d | date:\xE2\x80\x9C"
                   "d MMM yyyy\xE2\x80\x9D"),
            "31 Jan 2026");
  std::string out;
  EXPECT_FALSE(formatUkDate("31/01/2026", "d", out));
  EXPECT_FALSE(formatUkDate("2026-02-30", "d", out));
}

TEST(ValueFormatTest, FormatsNumbersPercentagesAndPounds) {
  EXPECT_EQ(format(1234567, "n | number"), "1,234,567");
  EXPECT_EQ(format(1234.5, "n | number:2"), "1,234.50");
  EXPECT_EQ(format(0.875, "n | percent"), "88%");
  EXPECT_EQ(format(0.8, "n | percent:1"), "80.0%");
  EXPECT_EQ(format(-42.5, "n | currency"),
            "-\xC2\xA3"
            "42.50");
  EXPECT_EQ(format("17", "n | number:1"), "17.0");
  EXPECT_EQ(format(nullptr, "n | default:\"not recorded\""), "not recorded");
  EXPECT_EQ(format("Good", "n | upper"), "GOOD");
}

TEST(ValueFormatTest, LooksUpNamesLikeMustache) {
  const json root = {{"a", {{"b", {{"c", 1}}}}}, {"x", "outer"}};
  const json inner = {{"y", 2}};
  ContextStack stack{&root, &inner};
  EXPECT_EQ(*lookup(stack, {"x"}), "outer");
  EXPECT_EQ(*lookup(stack, {"a", "b", "c"}), 1);
  EXPECT_EQ(lookup(stack, {"a", "z"}), nullptr);
  EXPECT_EQ(*lookup(stack, {}), inner);
  EXPECT_FALSE(isTruthy(nullptr));
  for (const json& falsy : {json(false), json(0), json(""), json::array()})
    EXPECT_FALSE(isTruthy(&falsy));
  for (const json& truthy : {json(true), json(1), json("x"), json::object()})
    EXPECT_TRUE(isTruthy(&truthy));
}

TEST(ValueFormatTest, RecognisesSimpleLists) {
  const json dashes = "- one\n* two\n\xE2\x80\xA2 three\n";
  EXPECT_EQ(listItems(&dashes, {}), (std::vector<std::string>{"one", "two", "three"}));
  const json prose = "one\n- two";
  EXPECT_TRUE(listItems(&prose, {}).empty());
  const json array = {"a", "b"};
  EXPECT_EQ(listItems(&array, {}), (std::vector<std::string>{"a", "b"}));
}

TEST(ValueFormatTest, EscapesAndDropsCharactersXmlCannotHold) {
  std::string out;
  appendXmlText(out, std::string("a\x01<b>&\"\xFF\xEF\xBF\xBE", 11), TextTarget::kPlain);
  EXPECT_EQ(out, "a&lt;b&gt;&amp;&quot;\xEF\xBF\xBD");
}

// The renderer's Mustache semantics agree with kainjow's on text: the same template rendered
// by both gives the same words.
TEST(ValueFormatTest, AgreesWithKainjowMustacheOnText) {
  const std::vector<std::string> templates = {
      "{{name}} has {{#plans}}{{id}}:{{grade}} {{/plans}}",
      "{{#council}}{{name}} ({{region}}){{/council}}",
      "{{^plans}}none{{/plans}}{{#flag}}yes{{/flag}}",
      "{{#plans}}{{#child}}{{initials}}{{/child}}/{{name}} {{/plans}}",
      "{{a.b.c}} {{#a}}{{b.c}}{{/a}}",
  };
  const json data = {{"name", "Torbay"},
                     {"flag", true},
                     {"council", {{"name", "Dorset"}, {"region", "South West"}}},
                     {"plans",
                      {{{"id", 1}, {"grade", "Good"}, {"child", {{"initials", "AB"}}}},
                       {{"id", 2}, {"grade", "RI"}, {"child", {{"initials", "CD"}}}}}},
                     {"a", {{"b", {{"c", "deep"}}}}}};
  // The same data for kainjow, built by hand from the JSON.
  std::function<kainjow::mustache::data(const json&)> convert = [&](const json& j) {
    using kainjow::mustache::data;
    if (j.is_object()) {
      data d;
      for (auto it = j.begin(); it != j.end(); ++it) d.set(it.key(), convert(it.value()));
      return d;
    }
    if (j.is_array()) {
      data list{data::type::list};
      for (const json& item : j) list.push_back(convert(item));
      return list;
    }
    if (j.is_boolean()) return data{j.get<bool>() ? data::type::bool_true : data::type::bool_false};
    if (j.is_string()) return data{j.get<std::string>()};
    return data{j.dump()};
  };
  const kainjow::mustache::data kdata = convert(data);
  for (const std::string& text : templates) {
    kainjow::mustache::mustache reference{text};
    ASSERT_TRUE(reference.is_valid()) << reference.error_message();
    const std::string expected = reference.render(kdata);
    auto t = Template::loadBytes(testing::makeDocx(testing::p(testing::r(text))), "t.docx");
    ASSERT_TRUE(t.isOk() && t->problems().empty()) << text;
    auto out = t->render(data);
    ASSERT_TRUE(out.isOk());
    EXPECT_EQ(testing::XmlView(testing::readPart(*out, "word/document.xml")).text("//w:body"),
              expected)
        << text;
  }
}

}  // namespace
}  // namespace sendflow::docgen
