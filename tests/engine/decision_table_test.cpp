#include <gtest/gtest.h>

#include "server/engine/definition_loader.h"

namespace sendflow::engine {
namespace {

using nlohmann::json;

// A workflow with one decision-table step over five standard grades.
std::shared_ptr<const DecisionTable> loadTable(
    const std::string& policy, const std::string& rules,
    const std::string& outputs = "<output name=\"grade\"/>") {
  const std::string text =
      R"xml(<workflow xmlns="urn:sendflow:workflow:1" id="t" version="1" title="T">
  <inputs><input name="grades" type="list"/></inputs>
  <steps>
    <decision-table id="overall" hit-policy=")xml" +
      policy + R"xml(">
      <input label="Inadequate" expr="count(grades, 'Inadequate')"/>
      <input label="Requires Improvement" expr="count(grades, 'Requires Improvement')"/>
      <input label="Outstanding" expr="count(grades, 'Outstanding')"/>
      )xml" +
      outputs + rules + R"xml(
    </decision-table>
  </steps>
</workflow>)xml";
  LoadResult result = DefinitionLoader::loadString(text, "table.xml");
  EXPECT_TRUE(result.isOk()) << result.status().toString();
  if (!result.isOk()) return nullptr;
  return result.definition->body.steps[0].table;
}

// The default quality decision tree shipped in workflows/ehcp-audit.xml.
const char* kQualityRules = R"xml(
      <rule><test>&gt;= 1</test><test>-</test><test>-</test><result>'Inadequate'</result></rule>
      <rule><test>0</test><test>&gt;= 2</test><test>-</test><result>'Requires Improvement'</result></rule>
      <rule><test>0</test><test>1</test><test>-</test><result>'Good'</result></rule>
      <rule><test>0</test><test>0</test><test>&gt;= 3</test><result>'Outstanding'</result></rule>
      <rule><test>0</test><test>0</test><test>[0..2]</test><result>'Good'</result></rule>)xml";

json grades(std::initializer_list<const char*> g) {
  json list = json::array();
  for (const char* x : g) list.push_back(x);
  return {{"grades", list}};
}

TEST(DecisionTableTest, UniquePolicyGivesTheOneMatchingRule) {
  auto table = loadTable("unique", kQualityRules);
  ASSERT_TRUE(table);
  auto overall = [&](json context) { return *table->evaluate(context); };
  EXPECT_EQ(overall(grades({"Good", "Good", "Inadequate", "Outstanding", "Good"})), "Inadequate");
  EXPECT_EQ(
      overall(grades({"Good", "Requires Improvement", "Requires Improvement", "Good", "Good"})),
      "Requires Improvement");
  EXPECT_EQ(overall(grades(
                {"Good", "Requires Improvement", "Outstanding", "Outstanding", "Outstanding"})),
            "Good");
  EXPECT_EQ(overall(grades({"Outstanding", "Outstanding", "Outstanding", "Good", "Good"})),
            "Outstanding");
  EXPECT_EQ(overall(grades({"Outstanding", "Outstanding", "Good", "Good", "Good"})), "Good");
}

TEST(DecisionTableTest, UniquePolicyReportsTwoMatchingRulesAsAConflict) {
  // Not provably overlapping at load time (the tests are not literals), but both match.
  auto table = loadTable("unique", R"xml(
      <rule><test>? &gt;= 0</test><test>-</test><test>-</test><result>'a'</result></rule>
      <rule><test>? &lt; 5</test><test>-</test><test>-</test><result>'b'</result></rule>)xml");
  ASSERT_TRUE(table);
  auto result = table->evaluate(grades({"Good"}));
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), core::StatusCode::kConflict);
  EXPECT_NE(result.status().message().find("the rules on lines 9 and 10 both match"),
            std::string::npos)
      << result.status().message();
}

TEST(DecisionTableTest, NoMatchingRuleIsNotFoundNamingTheInputs) {
  auto table = loadTable("first", R"xml(
      <rule><test>&gt;= 1</test><test>-</test><test>-</test><result>'Inadequate'</result></rule>)xml");
  ASSERT_TRUE(table);
  auto result = table->evaluate(grades({"Good"}));
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), core::StatusCode::kNotFound);
  EXPECT_EQ(result.status().message(),
            "decision table 'overall' (table.xml:4:5) has no rule for Inadequate = 0, Requires "
            "Improvement = 0, Outstanding = 0");
}

TEST(DecisionTableTest, FirstPolicyTakesTheEarliestMatch) {
  auto table = loadTable("first", R"xml(
      <rule><test>&gt;= 1</test><test>-</test><test>-</test><result>'Inadequate'</result></rule>
      <rule><test>-</test><test>-</test><test>-</test><result>'Good'</result></rule>)xml");
  ASSERT_TRUE(table);
  EXPECT_EQ(*table->evaluate(grades({"Inadequate"})), "Inadequate");
  EXPECT_EQ(*table->evaluate(grades({"Good"})), "Good");
}

TEST(DecisionTableTest, CollectPolicyListsEveryMatchWithSeveralOutputs) {
  auto table = loadTable("collect", R"xml(
      <rule><test>&gt;= 1</test><test>-</test><test>-</test><result>'Inadequate'</result><result>true</result></rule>
      <rule><test>-</test><test>&gt;= 1</test><test>-</test><result>'Requires Improvement'</result><result>true</result></rule>
      <rule><test>-</test><test>-</test><test>&gt;= 1</test><result>'Outstanding'</result><result>false</result></rule>)xml",
                         "<output name=\"finding\"/><output name=\"moderate\"/>");
  ASSERT_TRUE(table);
  EXPECT_EQ(*table->evaluate(grades({"Inadequate", "Outstanding"})),
            json::parse(R"([{"finding": "Inadequate", "moderate": true},
                            {"finding": "Outstanding", "moderate": false}])"));
  EXPECT_EQ(*table->evaluate(grades({"Good"})), json::array());
}

TEST(DecisionTableTest, LoaderFindsOverlapsOnlyUnderTheUniquePolicy) {
  const std::string overlapping = R"xml(
      <rule><test>[0..1]</test><test>-</test><test>-</test><result>'a'</result></rule>
      <rule><test>1</test><test>0</test><test>-</test><result>'b'</result></rule>)xml";
  EXPECT_TRUE(loadTable("first", overlapping));
  const std::string text =
      R"xml(<workflow xmlns="urn:sendflow:workflow:1" id="t" version="1" title="T">
  <inputs><input name="n" type="number"/><input name="g" type="string"/></inputs>
  <steps>
    <decision-table id="d">
      <input expr="n"/><input expr="g"/>
      <output name="x"/>
      <rule><test>&lt; 3</test><test>'Good', 'Outstanding'</test><result>1</result></rule>
      <rule><test>&gt;= 3</test><test>'Good'</test><result>2</result></rule>
      <rule><test>&lt; 3</test><test>not('Good', 'Outstanding')</test><result>3</result></rule>
      <rule><test>2</test><test>'Outstanding'</test><result>4</result></rule>
    </decision-table>
  </steps>
</workflow>)xml";
  LoadResult result = DefinitionLoader::loadString(text, "d.xml");
  ASSERT_EQ(result.problems.size(), 1u) << result.status().toString();
  EXPECT_EQ(
      result.problems[0].toString(),
      "d.xml:10:7: decision table 'd' has overlapping rules under the unique hit policy: rule "
      "1 (line 7) and rule 4 (line 10) can both match; make them exclusive or use "
      "hit-policy=\"first\"");
}

}  // namespace
}  // namespace sendflow::engine
