#include <gtest/gtest.h>

#include "server/engine/definition_loader.h"

namespace sendflow::engine {
namespace {

using nlohmann::json;

Form auditForm() {
  const char* text = R"xml(<workflow xmlns="urn:sendflow:workflow:1" id="f" version="1" title="F">
  <roles><role id="auditor"/></roles>
  <inputs><input name="plan_type" type="string" default="new"/></inputs>
  <steps>
    <task id="audit" role="auditor">
      <form>
        <field name="standard_1" type="grade" required="true"/>
        <field name="reason" type="long-text" max-length="10" required-if="standard_1 == 'Inadequate'"/>
        <field name="review_date" type="date"/>
        <field name="hours" type="number" min="0" max="37.5"/>
        <field name="plans" type="integer" min="1"/>
        <field name="agreed" type="boolean"/>
        <field name="outcome" type="choice" choices="Agree|Disagree"/>
        <field name="transfer_note" type="text" required-if="plan_type == 'transfer'"/>
      </form>
    </task>
  </steps>
</workflow>)xml";
  LoadResult result = DefinitionLoader::loadString(text, "form.xml");
  EXPECT_TRUE(result.isOk()) << result.status().toString();
  return result.isOk() ? result.definition->body.steps[0].form : Form{};
}

TEST(FormTest, AcceptsAValidSubmission) {
  const Form form = auditForm();
  const json data = {{"standard_1", "Good"}, {"review_date", "2026-10-01"},
                     {"hours", 7.5},         {"plans", 3},
                     {"agreed", true},       {"outcome", "Agree"}};
  EXPECT_TRUE(form.validate(data, {{"plan_type", "new"}}).isOk());
}

TEST(FormTest, NamesEveryBadField) {
  const Form form = auditForm();
  const json data = {
      {"review_date", "2026-13-01"}, {"hours", 40},     {"plans", 1.5}, {"agreed", "yes"},
      {"outcome", "Maybe"},          {"colour", "blue"}};
  const core::Status status = form.validate(data, {{"plan_type", "new"}});
  ASSERT_FALSE(status.isOk());
  EXPECT_EQ(status.code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "standard_1: required; review_date: \"2026-13-01\" is not a date (write YYYY-MM-DD); "
            "hours: 40 is more than the maximum 37.5; plans: must be a whole number, not 1.5; "
            "agreed: must be true or false, not \"yes\"; outcome: \"Maybe\" is not one of 'Agree', "
            "'Disagree'; colour: not a field of this form");
}

TEST(FormTest, RequiredIfReadsTheFormAndTheInstanceData) {
  const Form form = auditForm();
  EXPECT_EQ(form.validate({{"standard_1", "Inadequate"}}, {}).message(), "reason: required");
  EXPECT_TRUE(form.validate({{"standard_1", "Inadequate"}, {"reason", "No views"}}, {}).isOk());
  EXPECT_EQ(form.validate({{"standard_1", "Good"}}, {{"plan_type", "transfer"}}).message(),
            "transfer_note: required");
}

TEST(FormTest, ChecksGradesAndLengths) {
  const Form form = auditForm();
  EXPECT_EQ(
      form.validate({{"standard_1", "Excellent"}}, {}).message(),
      "standard_1: \"Excellent\" is not one of 'Outstanding', 'Good', 'Requires Improvement', "
      "'Inadequate'");
  EXPECT_EQ(
      form.validate({{"standard_1", "Inadequate"}, {"reason", "far too long text"}}, {}).message(),
      "reason: is 17 characters long, more than the 10 allowed");
  EXPECT_EQ(form.validate(json::array(), {}).message(), "the form data must be a JSON object");
}

// What a start checks of each typed input (the runtime and the loader's defaults use it).
TEST(InputDeclTest, NumbersAreCheckedForWholenessAndRange) {
  InputDecl per;
  per.name = "per_locality";
  per.type = ValueType::kNumber;
  per.whole_number = true;
  per.min = 1;
  per.max = 100;
  EXPECT_EQ(per.problemWith(2), "");
  EXPECT_EQ(per.problemWith(2.0), "");  // 2.0 is a whole number
  EXPECT_EQ(per.problemWith(-1), "-1 is less than the minimum 1");
  EXPECT_EQ(per.problemWith(1.5), "must be a whole number, not 1.5");
  EXPECT_EQ(per.problemWith(1e308), "must be a whole number, not 1e+308");
  EXPECT_EQ(per.problemWith(101), "101 is more than the maximum 100");
  EXPECT_EQ(per.problemWith("2"), "must be a number, not \"2\"");
  // Without a range, an integer is still at most 2^53 either way.
  per.min.reset();
  per.max.reset();
  EXPECT_EQ(per.problemWith(9007199254740992.0), "");
  EXPECT_EQ(per.problemWith(1e300), "must be a whole number, not 1e+300");
  InputDecl ratio = per;
  ratio.whole_number = false;
  EXPECT_EQ(ratio.problemWith(1.5), "");
  EXPECT_EQ(ratio.problemWith(1e308), "");
}

TEST(InputDeclTest, DatesAndDurationsAreCheckedForTheirForm) {
  InputDecl date;
  date.type = ValueType::kDate;
  EXPECT_EQ(date.problemWith("2026-11-30"), "");
  EXPECT_EQ(date.problemWith("2026-13-01"), "\"2026-13-01\" is not a date (write YYYY-MM-DD)");
  EXPECT_EQ(date.problemWith("2026-11-30T10:00:00Z"),
            "\"2026-11-30T10:00:00Z\" is not a date (write YYYY-MM-DD)");
  InputDecl window;
  window.type = ValueType::kDuration;
  EXPECT_EQ(window.problemWith("P2W"), "");
  EXPECT_EQ(window.problemWith("10 working days"), "");
  EXPECT_EQ(window.problemWith("PT0S"), "");
  EXPECT_EQ(window.problemWith("-P2W"),
            "\"-P2W\" is negative (a duration here is a length of time)");
  EXPECT_EQ(window.problemWith("P999Y"), "\"P999Y\" is longer than 100 years");
  EXPECT_EQ(window.problemWith("soon"),
            "\"soon\" is not a duration (write for example '2 weeks' or 'P2W')");
  // Long values are cut short in the message.
  EXPECT_LT(window.problemWith(std::string(1000, 'x')).size(), 130u);
}

}  // namespace
}  // namespace sendflow::engine
