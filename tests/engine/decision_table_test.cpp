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

namespace sendflow::engine {
namespace {

TEST(ShippedWorkflowTest, EhcpAuditQualityTreeGradesAsDocumented) {
  LoadResult result =
      DefinitionLoader::loadFile(std::string(SENDFLOW_SOURCE_DIR) + "/workflows/ehcp-audit.xml");
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  const Step* step = result.definition->findStep("overall");
  ASSERT_TRUE(step && step->table);
  auto overall = [&](std::vector<std::string> five) {
    auto value = step->table->evaluate({{"standard_grades", five}});
    EXPECT_TRUE(value.isOk()) << value.status().toString();
    return value.isOk() ? value->get<std::string>() : "";
  };
  const std::string O = "Outstanding", G = "Good", R = "Requires Improvement", I = "Inadequate";
  EXPECT_EQ(overall({O, O, O, O, I}), I);
  EXPECT_EQ(overall({G, R, R, G, O}), R);
  EXPECT_EQ(overall({G, R, O, O, O}), G);
  EXPECT_EQ(overall({O, O, O, G, G}), O);
  EXPECT_EQ(overall({O, O, G, G, G}), G);
  EXPECT_EQ(overall({G, G, G, G, G}), G);
  // Every combination of five grades gets exactly one grade (the unique policy would say
  // otherwise).
  const std::string all[] = {O, G, R, I};
  int combinations = 0;
  for (const auto& a : all)
    for (const auto& b : all)
      for (const auto& c : all)
        for (const auto& d : all)
          for (const auto& e : all) {
            EXPECT_TRUE(step->table->evaluate({{"standard_grades", {a, b, c, d, e}}}).isOk());
            ++combinations;
          }
  EXPECT_EQ(combinations, 1024);
}

TEST(ShippedWorkflowTest, AnnualReviewTimescalesAreInputsWithDefaults) {
  LoadResult result = DefinitionLoader::loadFile(std::string(SENDFLOW_SOURCE_DIR) +
                                                 "/workflows/annual-review-audit.xml");
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  std::map<std::string, nlohmann::json> defaults;
  for (const InputDecl& input : result.definition->inputs) {
    if (input.default_value) defaults[input.name] = *input.default_value;
  }
  EXPECT_EQ(defaults["review_report_due"], "P2W");
  EXPECT_EQ(defaults["decision_due"], "P4W");
  EXPECT_EQ(defaults["amended_plan_due"], "P12W");
  const Step* timeliness = result.definition->findStep("timeliness");
  ASSERT_TRUE(timeliness);
  nlohmann::json context = {{"audit",
                             {{"meeting_date", "2026-10-05"},
                              {"notice_date", "2026-09-18"},
                              {"report_date", "2026-10-20"},
                              {"decision_date", "2026-10-30"},
                              {"decision", "Maintain"},
                              {"voice", "Good"},
                              {"outcomes_reviewed", "Good"},
                              {"provision_reviewed", "Requires Improvement"},
                              {"preparing_for_adulthood", "Outstanding"}}}};
  for (const auto& [name, value] : defaults) context[name] = value;
  std::map<std::string, nlohmann::json> out;
  for (const auto& [name, expr] : timeliness->assignments) {
    auto value = expr->evaluate(context);
    ASSERT_TRUE(value.isOk()) << name << ": " << value.status().toString();
    out[name] = *value;
  }
  EXPECT_EQ(out["notice_on_time"], true);    // 17 days before: at least 2 weeks
  EXPECT_EQ(out["report_on_time"], false);   // 15 days after: more than 2 weeks
  EXPECT_EQ(out["decision_on_time"], true);  // 25 days after: within 4 weeks
  EXPECT_EQ(out["amendment_on_time"], true);
  EXPECT_EQ(out["review_grades"].size(), 4u);
  // An optional date left empty reads as null, so the report counts as late.
  context["audit"].erase("report_date");
  EXPECT_EQ(*timeliness->assignments[1].second->evaluate(context), false);
}

}  // namespace
}  // namespace sendflow::engine
