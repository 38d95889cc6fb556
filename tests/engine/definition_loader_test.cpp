#include "server/engine/definition_loader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace sendflow::engine {
namespace {

const std::string kFixtures = std::string(SENDFLOW_SOURCE_DIR) + "/tests/fixtures/workflows/";

// Every problem of the fixture, "FILE:LINE:COLUMN: message", with FILE shortened to its name.
std::vector<std::string> problemsOf(const std::string& name, const LoaderOptions& options = {}) {
  LoadResult result = DefinitionLoader::loadFile(kFixtures + name, options);
  EXPECT_FALSE(result.isOk()) << name << " loaded but should not";
  EXPECT_EQ(result.definition, nullptr) << "nothing may be half-loaded";
  std::vector<std::string> out;
  for (const DefinitionProblem& p : result.problems) {
    std::string line = p.toString();
    if (line.starts_with(kFixtures)) line = line.substr(kFixtures.size());
    out.push_back(line);
  }
  return out;
}

using Problems = std::vector<std::string>;

TEST(DefinitionLoaderTest, ReportsMalformedXmlWithLineAndColumn) {
  EXPECT_EQ(
      problemsOf("malformed.xml"),
      (Problems{"malformed.xml:4:11: Opening and ending tag mismatch: end line 3 and steps",
                "malformed.xml:5:12: Opening and ending tag mismatch: steps line 2 and workflow",
                "malformed.xml:6:1: Premature end of data in tag workflow line 1"}));
}

TEST(DefinitionLoaderTest, RejectsADoctypeBeforeParsing) {
  EXPECT_EQ(problemsOf("doctype.xml"),
            (Problems{"doctype.xml:2:1: a DOCTYPE is not allowed in a workflow definition (DTDs "
                      "and entities are switched off)"}));
}

TEST(DefinitionLoaderTest, ReportsSchemaViolationsAtTheAttribute) {
  EXPECT_EQ(problemsOf("schema-violation.xml"),
            (Problems{"schema-violation.xml:4:27: Element 'task', attribute 'rol': The attribute "
                      "'rol' is not allowed."}));
}

TEST(DefinitionLoaderTest, ReportsUnknownStepReferences) {
  EXPECT_EQ(problemsOf("unknown-step.xml"),
            (Problems{"unknown-step.xml:5:48: decision 'route' goes to 'moderate', but there is no "
                      "step 'moderate' in the same block"}));
}

TEST(DefinitionLoaderTest, ReportsJumpsIntoAnotherBlock) {
  EXPECT_EQ(problemsOf("cross-block-jump.xml"),
            (Problems{"cross-block-jump.xml:4:36: set 'left' goes next to 'right', but there is no "
                      "step 'right' in the same block (it is on line 5, inside another block; a "
                      "step can only jump within its own block)"}));
}

TEST(DefinitionLoaderTest, ReportsUnreachableSteps) {
  EXPECT_EQ(problemsOf("unreachable.xml"),
            (Problems{"unreachable.xml:4:5: set 'orphan' can never be reached: no step before it "
                      "falls through or jumps to it"}));
}

TEST(DefinitionLoaderTest, ReportsDuplicateIds) {
  EXPECT_EQ(
      problemsOf("duplicate-id.xml"),
      (Problems{"duplicate-id.xml:4:14: duplicate step id 'step_one' (first used on line 3)"}));
}

TEST(DefinitionLoaderTest, ReportsAForEachOverANonList) {
  EXPECT_EQ(problemsOf("foreach-not-list.xml"),
            (Problems{"foreach-not-list.xml:5:36: the items of foreach 'each_plan' must be a list, "
                      "but 'sample_size' gives a number"}));
}

TEST(DefinitionLoaderTest, ReportsInvalidDurations) {
  EXPECT_EQ(problemsOf("invalid-duration.xml"),
            (Problems{"invalid-duration.xml:3:29: invalid duration '3 fortnights' in the 'after' "
                      "of timer 'wait': write for example '2 weeks', '10 working days' or '4 "
                      "hours'"}));
}

TEST(DefinitionLoaderTest, ReportsExpressionTypeErrorsAtTheOperator) {
  EXPECT_EQ(problemsOf("type-error.xml"),
            (Problems{"type-error.xml:8:52: cannot add a date to a string"}));
}

TEST(DefinitionLoaderTest, ReportsOverlappingRulesUnderTheUniquePolicy) {
  EXPECT_EQ(problemsOf("overlapping-rules.xml"),
            (Problems{"overlapping-rules.xml:8:7: decision table 'overall' has overlapping rules "
                      "under the unique hit policy: rule 1 (line 7) and rule 2 (line 8) can both "
                      "match; make them exclusive or use hit-policy=\"first\""}));
}

TEST(DefinitionLoaderTest, ChecksActionNamesOnlyWhenTheyAreGiven) {
  EXPECT_TRUE(DefinitionLoader::loadFile(kFixtures + "unknown-action.xml").isOk());
  LoaderOptions options;
  options.known_actions = {"noop.record", "sample.select"};
  EXPECT_EQ(problemsOf("unknown-action.xml", options),
            (Problems{"unknown-action.xml:3:31: unknown action 'sample.selekt' in action 'pick' "
                      "(known actions: noop.record, sample.select)"}));
}

TEST(DefinitionLoaderTest, ReportsUndeclaredRoles) {
  EXPECT_EQ(problemsOf("unknown-role.xml"),
            (Problems{"unknown-role.xml:4:35: approval 'sign_off' names role 'manager', which is "
                      "not declared in <roles>"}));
}

TEST(DefinitionLoaderTest, ReportsATaskWithNeitherRoleNorAssignee) {
  EXPECT_EQ(problemsOf("task-without-role.xml"),
            (Problems{"task-without-role.xml:3:5: task 'audit' has neither a role nor an assignee: "
                      "add role=\"...\" or assignee=\"...\""}));
}

TEST(DefinitionLoaderTest, ChecksSubWorkflowsAgainstTheKnownIds) {
  EXPECT_TRUE(DefinitionLoader::loadFile(kFixtures + "unknown-subworkflow.xml").isOk());
  LoaderOptions options;
  options.known_workflows = {"ehcp-audit"};
  EXPECT_EQ(problemsOf("unknown-subworkflow.xml", options),
            (Problems{"unknown-subworkflow.xml:3:39: subworkflow 'child' starts workflow "
                      "'moderation-cycle', which is not a workflow in the same folder"}));
}

TEST(DefinitionLoaderTest, ReportsEveryBadFormField) {
  EXPECT_EQ(
      problemsOf("bad-choices.xml"),
      (Problems{
          "bad-choices.xml:6:56: field 'agreement' of task 'moderate' lists the choice "
          "'Agree' twice",
          "bad-choices.xml:7:52: field 'comment' of task 'moderate' has choices, but only a "
          "field of type 'choice' takes them",
          "bad-choices.xml:8:9: field 'finding' of task 'moderate' is a choice but has no "
          "choices (add choices=\"A|B|C\")",
          "bad-choices.xml:9:48: field 'score' of task 'moderate': min 5 is greater than max 1"}));
}

TEST(DefinitionLoaderTest, ReadsIntegerInputsWithTheirRange) {
  const std::string text =
      R"xml(<workflow xmlns="urn:sendflow:workflow:1" id="r" version="1" title="R">
  <inputs>
    <input name="per_locality" type="integer" min="1" max="100" default="2"/>
    <input name="target" type="number" min="0" max="100" default="80"/>
  </inputs>
  <steps><end id="done"/></steps>
</workflow>)xml";
  LoadResult result = DefinitionLoader::loadString(text, "r.xml");
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  const InputDecl& per = result.definition->inputs[0];
  EXPECT_EQ(per.type, ValueType::kNumber);
  EXPECT_TRUE(per.whole_number);
  EXPECT_STREQ(per.typeName(), "integer");
  EXPECT_EQ(per.min, 1.0);
  EXPECT_EQ(per.max, 100.0);
  EXPECT_EQ(*per.default_value, 2);
  EXPECT_FALSE(result.definition->inputs[1].whole_number);
  EXPECT_STREQ(result.definition->inputs[1].typeName(), "number");
}

TEST(DefinitionLoaderTest, ReportsInputRangesThatCannotHold) {
  const std::string text =
      R"xml(<workflow xmlns="urn:sendflow:workflow:1" id="r" version="1" title="R">
  <inputs>
    <input name="size" type="integer" min="1" max="10" default="1.5" required="false"/>
    <input name="count" type="integer" min="5" max="1" default="0" required="false"/>
    <input name="label" type="string" min="1" required="false"/>
    <input name="window" type="duration" default="-P2W" required="false"/>
  </inputs>
  <schedules>
    <schedule id="monthly" cadence="monthly" day-of-month="1" time="09:00">
      <input name="size" value="11"/>
    </schedule>
  </schedules>
  <steps><end id="done"/></steps>
</workflow>)xml";
  LoadResult result = DefinitionLoader::loadString(text, "r.xml");
  ASSERT_FALSE(result.isOk());
  std::vector<std::string> lines;
  for (const auto& p : result.problems) lines.push_back(p.toString());
  EXPECT_EQ(lines,
            (Problems{
                "r.xml:3:65: the default of input 'size' is invalid: must be a whole number, "
                "not 1.5",
                "r.xml:4:45: input 'count': min 5 is greater than max 1",
                "r.xml:4:65: the default of input 'count' is invalid: 0 is less than the "
                "minimum 5",
                "r.xml:5:44: input 'label': 'min' only applies to number and integer inputs",
                "r.xml:6:51: the default of input 'window' is invalid: \"-P2W\" is negative (a "
                "duration here is a length of time)",
                "r.xml:10:33: schedule 'monthly', input 'size': 11 is more than the maximum 10",
            }));
}

TEST(DefinitionLoaderTest, ReportsEveryProblemOfAFileNotJustTheFirst) {
  const std::string text =
      R"xml(<workflow xmlns="urn:sendflow:workflow:1" id="many" version="1" title="Many">
  <roles><role id="auditor"/></roles>
  <inputs><input name="size" type="number" default="three"/></inputs>
  <steps>
    <task id="a" role="nobody" due="size + 'x'"/>
    <timer id="t" until="size"/>
    <decision id="d"><when test="size" goto="a"/></decision>
  </steps>
</workflow>)xml";
  LoadResult result = DefinitionLoader::loadString(text, "many.xml");
  ASSERT_FALSE(result.isOk());
  std::vector<std::string> lines;
  for (const auto& p : result.problems) lines.push_back(p.toString());
  EXPECT_EQ(lines,
            (Problems{
                "many.xml:3:53: the default of input 'size' is invalid: 'three' is not a number",
                "many.xml:5:24: task 'a' names role 'nobody', which is not declared in <roles>",
                "many.xml:5:42: cannot add a string to a number",
                "many.xml:6:26: the 'until' of timer 't' must be a date or datetime, but "
                "'size' gives a number",
                "many.xml:7:34: the test of a 'when' in decision 'd' must be a boolean, but "
                "'size' gives a number",
            }));
  EXPECT_NE(result.status().message().find("many.xml:7:34"), std::string::npos);
}

TEST(DefinitionLoaderTest, ErrorPositionsAccountForEntitiesAndLineBreaks) {
  const std::string text =
      R"xml(<workflow xmlns="urn:sendflow:workflow:1" id="e" version="1" title="E">
  <inputs><input name="n" type="number"/></inputs>
  <steps>
    <decision-table id="d" hit-policy="first">
      <input expr="n"/>
      <output name="x"/>
      <rule><test>? &gt; 1 and ? + 'a' == 2</test><result>1</result></rule>
    </decision-table>
    <set id="s"><assign name="y" expr="n &gt;= 1 and
          nothing"/></set>
  </steps>
</workflow>)xml";
  LoadResult result = DefinitionLoader::loadString(text, "e.xml");
  std::vector<std::string> lines;
  for (const auto& p : result.problems) lines.push_back(p.toString());
  EXPECT_EQ(lines, (Problems{"e.xml:7:34: cannot add a string to a number",
                             "e.xml:10:11: unknown name 'nothing'"}));
}

TEST(DefinitionLoaderTest, RunTimeErrorsPointIntoTheFileToo) {
  const std::string text =
      R"xml(<workflow xmlns="urn:sendflow:workflow:1" id="r" version="1" title="R">
  <inputs><input name="n" type="number"/><input name="m" type="any"/></inputs>
  <steps>
    <set id="s"><assign name="y" expr="n &gt; 0 and m + 1 == 2"/></set>
  </steps>
</workflow>)xml";
  LoadResult result = DefinitionLoader::loadString(text, "r.xml");
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  auto value =
      result.definition->body.steps[0].assignments[0].second->evaluate({{"n", 1}, {"m", "text"}});
  ASSERT_FALSE(value.isOk());
  EXPECT_EQ(value.status().message(), "r.xml:4:55: cannot add a number to a string");
}

const char* kComplete = R"xml(<?xml version="1.0"?>
<workflow xmlns="urn:sendflow:workflow:1" id="complete" version="3" title="Every step kind">
  <description>All of it.</description>
  <roles><role id="auditor"/><role id="manager"/></roles>
  <inputs>
    <input name="meeting_date" type="date" default="2026-09-07"/>
    <input name="report_due" type="duration" default="2 weeks"/>
    <input name="plans" type="list" default='[{"id": "p1"}, {"id": "p2"}]'/>
  </inputs>
  <schedules>
    <schedule id="termly" cadence="termly" day-of-month="3" time="08:30"/>
    <schedule id="weekdays" cadence="cron" cron="0 7 * * MON-FRI"/>
  </schedules>
  <steps>
    <action id="pick" action="sample.select" into="sample" retries="4" backoff="30 seconds" max-backoff="P1D">
      <param name="population" expr="plans"/>
    </action>
    <foreach id="audits" items="plans" as="plan" complete-when="completed == total">
      <task id="audit" role="auditor" due="meeting_date + report_due">
        <form>
          <field name="grade" type="grade" required="true"/>
          <field name="reason" type="long-text" required-if="grade == 'Inadequate'" max-length="2000"/>
        </form>
        <reminder before="3 working days"/>
        <escalation after="1 day" to-role="manager" reassign="true"/>
      </task>
    </foreach>
    <parallel id="both">
      <branch><set id="mark"><assign name="marked" expr="true"/></set></branch>
      <branch><timer id="pause" after="P1D"/></branch>
    </parallel>
    <decision-table id="overall" hit-policy="first" into="overall_grade">
      <input label="Inadequate" expr="count(audits, 'Inadequate')"/>
      <output name="grade"/>
      <rule><test>&gt;= 1</test><result>'Inadequate'</result></rule>
      <rule><test>-</test><result>'Good'</result></rule>
    </decision-table>
    <decision id="route">
      <when test="overall_grade == 'Inadequate'" goto="sign_off"/>
      <otherwise goto="child"/>
    </decision>
    <approval id="sign_off" role="manager" on-reject="child"/>
    <subworkflow id="child" workflow="briefing"><input name="grade" expr="overall_grade"/></subworkflow>
    <end id="done" status="completed"/>
  </steps>
</workflow>)xml";

TEST(DefinitionLoaderTest, BuildsTheDefinitionModel) {
  LoadResult result = DefinitionLoader::loadString(kComplete, "complete.xml");
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  const Definition& d = *result.definition;
  EXPECT_EQ(d.id, "complete");
  EXPECT_EQ(d.version, 3);
  EXPECT_EQ(d.description, "All of it.");
  EXPECT_EQ(d.roles, (std::vector<std::string>{"auditor", "manager"}));
  ASSERT_EQ(d.inputs.size(), 3u);
  EXPECT_EQ(d.inputs[1].type, ValueType::kDuration);
  EXPECT_EQ(*d.inputs[1].default_value, "P2W");
  EXPECT_EQ(d.inputs[2].default_value->size(), 2u);
  ASSERT_EQ(d.schedules.size(), 2u);
  EXPECT_EQ(d.schedules[0].cadence, Cadence::kTermly);
  EXPECT_EQ(d.schedules[0].day_of_month, 3);
  EXPECT_EQ(d.schedules[0].minute_of_day, 8 * 60 + 30);
  EXPECT_EQ(d.schedules[1].cron, "0 7 * * MON-FRI");
  EXPECT_EQ(d.source_file, "complete.xml");
  EXPECT_EQ(d.source_sha256.size(), 64u);

  ASSERT_EQ(d.body.steps.size(), 8u);
  const Step& pick = d.body.steps[0];
  EXPECT_EQ(pick.kind, StepKind::kAction);
  EXPECT_EQ(pick.max_attempts, 5);
  EXPECT_EQ(pick.into, "sample");
  ASSERT_TRUE(pick.backoff && pick.max_backoff);
  EXPECT_EQ(*pick.max_backoff->evaluate({}), "P1D");
  EXPECT_EQ(pick.params.count("population"), 1u);

  const Step* audit = d.findStep("audit");
  ASSERT_NE(audit, nullptr);
  EXPECT_EQ(audit->kind, StepKind::kTask);
  EXPECT_EQ(*audit->due->evaluate({{"meeting_date", "2026-09-07"}, {"report_due", "P2W"}}),
            "2026-09-21");
  ASSERT_EQ(audit->form.fields.size(), 2u);
  EXPECT_EQ(audit->form.fields[0].type, FieldType::kGrade);
  EXPECT_EQ(audit->form.fields[1].max_length, 2000u);
  ASSERT_EQ(audit->reminders.size(), 1u);
  EXPECT_EQ(*audit->reminders[0].before->evaluate({}), "P3WD");
  ASSERT_EQ(audit->escalations.size(), 1u);
  EXPECT_EQ(audit->escalations[0].to_role, "manager");
  EXPECT_TRUE(audit->escalations[0].reassign);

  const Step& each = d.body.steps[1];
  EXPECT_EQ(each.kind, StepKind::kForEach);
  EXPECT_EQ(each.item_name, "plan");
  EXPECT_EQ(each.body.steps.size(), 1u);
  ASSERT_TRUE(each.completion);
  EXPECT_EQ(*each.completion->evaluate({{"completed", 2}, {"total", 2}}), true);

  EXPECT_EQ(d.body.steps[2].branches_blocks.size(), 2u);
  EXPECT_EQ(d.findStep("pause")->kind, StepKind::kTimer);
  const Step& table = d.body.steps[3];
  ASSERT_TRUE(table.table);
  EXPECT_EQ(table.table->hit_policy, HitPolicy::kFirst);
  EXPECT_EQ(*table.table->evaluate({{"audits", {"Good", "Inadequate"}}}), "Inadequate");
  EXPECT_EQ(d.body.steps[4].branches.size(), 1u);
  EXPECT_EQ(d.body.steps[4].otherwise, "child");
  EXPECT_EQ(d.findStep("sign_off")->on_reject, "child");
  EXPECT_EQ(d.findStep("child")->workflow, "briefing");
  EXPECT_EQ(d.findStep("done")->end_status, "completed");
}

TEST(DefinitionLoaderTest, ASameTextHasTheSameHash) {
  auto a = DefinitionLoader::loadString(kComplete, "a.xml");
  auto b = DefinitionLoader::loadString(std::string(kComplete) + "\n", "a.xml");
  ASSERT_TRUE(a.isOk() && b.isOk());
  EXPECT_NE(a.definition->source_sha256, b.definition->source_sha256);
  EXPECT_EQ(a.definition->source_sha256,
            DefinitionLoader::loadString(kComplete, "c.xml").definition->source_sha256);
}

TEST(DefinitionLoaderTest, AMissingFileIsOneProblem) {
  LoadResult result = DefinitionLoader::loadFile(kFixtures + "no-such-file.xml");
  ASSERT_EQ(result.problems.size(), 1u);
  EXPECT_EQ(result.problems[0].message, "cannot read the file");
}

TEST(DefinitionLoaderTest, LoadsADirectoryAndChecksSubWorkflowsAgainstIt) {
  const auto dir = std::filesystem::temp_directory_path() / "sendflow-loader-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "schema");
  std::filesystem::create_directories(dir / "nested");
  auto write = [&](const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path) << text;
  };
  write(dir / "parent.xml",
        R"xml(<workflow xmlns="urn:sendflow:workflow:1" id="parent" version="1" title="P">
  <steps><subworkflow id="c" workflow="child"/><subworkflow id="x" workflow="missing"/></steps>
</workflow>)xml");
  write(dir / "nested" / "child.xml",
        R"xml(<workflow xmlns="urn:sendflow:workflow:1" id="child" version="1" title="C">
  <steps><end id="done"/></steps>
</workflow>)xml");
  write(dir / "nested" / "child-again.xml",
        R"xml(<workflow xmlns="urn:sendflow:workflow:1" id="child" version="1" title="C">
  <steps><end id="done"/></steps>
</workflow>)xml");
  write(dir / "schema" / "ignored.xml", "not even xml");
  DirectoryLoadResult result = DefinitionLoader::loadDirectory(dir.string());
  ASSERT_EQ(result.definitions.size(), 1u);
  EXPECT_EQ(result.definitions[0]->id, "child");
  ASSERT_EQ(result.problems.size(), 2u);
  EXPECT_NE(result.problems[0].toString().find("is already defined in"), std::string::npos);
  EXPECT_NE(result.problems[1].toString().find(
                "parent.xml:2:78: subworkflow 'x' starts workflow 'missing'"),
            std::string::npos)
      << result.problems[1].toString();
  std::filesystem::remove_all(dir);
}

TEST(DefinitionLoaderTest, EveryShippedWorkflowValidates) {
  // Action names are checked against the real registry by ValidateCommandTest (tests/app).
  LoaderOptions options;
  DirectoryLoadResult result =
      DefinitionLoader::loadDirectory(std::string(SENDFLOW_SOURCE_DIR) + "/workflows", options);
  for (const auto& p : result.problems) ADD_FAILURE() << p.toString();
  std::set<std::string> ids;
  for (const auto& d : result.definitions) ids.insert(d->id);
  for (const char* id :
       {"three-step", "ehcp-audit", "annual-review-audit", "panel-standardisation"}) {
    EXPECT_TRUE(ids.count(id)) << id;
  }
}

}  // namespace
}  // namespace sendflow::engine
