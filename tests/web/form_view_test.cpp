// The HTML side of engine forms: field views, posted fields to task data, validation messages
// back to fields, required-if conditions in words, and every template rendering.

#include "server/web/form_view.h"

#include <gtest/gtest.h>

#include "server/web/embedded_files.h"
#include "server/web/page_renderer.h"

namespace sendflow::web {
namespace {

using nlohmann::json;

engine::FormField field(std::string name, engine::FieldType type, bool required = false) {
  engine::FormField f;
  f.name = std::move(name);
  f.label = "Label of " + f.name;
  f.type = type;
  f.required = required;
  return f;
}

TEST(FormViewTest, PostedFieldsBecomeTypedData) {
  engine::Form form;
  form.fields = {field("grade", engine::FieldType::kGrade, true),
                 field("count", engine::FieldType::kInteger),
                 field("ratio", engine::FieldType::kNumber),
                 field("flag", engine::FieldType::kBoolean),
                 field("other_flag", engine::FieldType::kBoolean),
                 field("notes", engine::FieldType::kLongText),
                 field("empty", engine::FieldType::kText),
                 field("when", engine::FieldType::kDate),
                 field("bad_number", engine::FieldType::kNumber)};
  const PostedFields posted = {
      {"grade", "Good"},      {"count", "3"},          {"ratio", "0.5"},
      {"flag", "true"},       {"notes", "a\r\nb"},     {"empty", "  "},
      {"when", "2026-11-02"}, {"bad_number", "three"}, {"csrf_token", "ignored"}};
  const json data = formData(form, posted);
  EXPECT_EQ(data, json({{"grade", "Good"},
                        {"count", 3},
                        {"ratio", 0.5},
                        {"flag", true},
                        {"other_flag", false},
                        {"notes", "a\nb"},
                        {"when", "2026-11-02"},
                        {"bad_number", "three"}}));
}

TEST(FormViewTest, ValidationMessagesAreSplitByField) {
  const auto errors = fieldErrors(
      "grade: required; notes: is 9 characters long, more than the 5 allowed; count: must be a "
      "whole number, not 2.5; something else",
      {"grade", "notes", "count"});
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].field, "grade");
  EXPECT_EQ(errors[0].message, "required");
  EXPECT_EQ(errors[1].field, "notes");
  EXPECT_EQ(errors[2].field, "count");
  // A "; " inside a problem that is not followed by a field name stays with that problem.
  EXPECT_EQ(errors[2].message, "must be a whole number, not 2.5; something else");
  // A prefix before the first field (the runtime's input check) is dropped.
  const auto inputs = fieldErrors("workflow 'x' inputs: plans: required", {"plans"});
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].field, "plans");
  const auto general = fieldErrors("the form data must be a JSON object", {"plans"});
  ASSERT_EQ(general.size(), 1u);
  EXPECT_EQ(general[0].field, "");
}

TEST(FormViewTest, ProblemsAreWordedForPeople) {
  EXPECT_EQ(friendlyProblem("Overall grade", engine::FieldType::kGrade, "required"),
            "Choose a grade for “Overall grade”");
  EXPECT_EQ(friendlyProblem("Evidence", engine::FieldType::kLongText, "required"),
            "Answer “Evidence”");
  EXPECT_EQ(friendlyProblem("Evidence", engine::FieldType::kLongText,
                            "is 9 characters long, more than the 5 allowed"),
            "“Evidence” must be 5 characters or fewer (it has 9)");
  EXPECT_EQ(
      friendlyProblem("Count", engine::FieldType::kInteger, "must be a number, not \"three\""),
      "“Count” must be a number");
  EXPECT_EQ(friendlyProblem("Review", engine::FieldType::kDate,
                            "\"2026-13-01\" is not a date (write YYYY-MM-DD)"),
            "“Review” must be a real date, like 2026-11-30");
}

TEST(FormViewTest, ConditionsReadAsWords) {
  EXPECT_EQ(conditionInWords("standard_1 == 'Inadequate' or standard_2 == 'Inadequate'"),
            "Required if standard 1 is Inadequate or standard 2 is Inadequate.");
  EXPECT_EQ(conditionInWords("grade in ['Requires Improvement', 'Inadequate']"),
            "Required if grade is one of Requires Improvement, Inadequate.");
  EXPECT_EQ(conditionInWords("count >= 3 and reason != null"),
            "Required if count is at least 3 and reason is filled in.");
}

TEST(FormViewTest, FieldViewsKeepWhatWasTypedAndDescribeErrors) {
  engine::FormField notes = field("notes", engine::FieldType::kLongText, true);
  notes.help = "Say what you saw";
  notes.max_length = 100;
  const PostedFields posted = {{"notes", "typed <b>"}};
  const json view = formFieldView(notes, &posted, json(), "Answer “notes”");
  EXPECT_EQ(view["id"], "field-notes");
  EXPECT_EQ(view["value"], "typed <b>");
  EXPECT_EQ(view["is_textarea"], true);
  EXPECT_EQ(view["max_length"], "100");
  EXPECT_EQ(view["described_by"], "field-notes-hint field-notes-limit field-notes-error");

  const json grade =
      formFieldView(field("g", engine::FieldType::kGrade, true), nullptr, "Good", "");
  ASSERT_EQ(grade["options"].size(), 4u);
  EXPECT_EQ(grade["options"][0]["option_id"], "field-g");
  EXPECT_EQ(grade["options"][1]["option_id"], "field-g-2");
  EXPECT_EQ(grade["options"][1]["checked"], true);
  EXPECT_EQ(grade["described_by"], "");

  EXPECT_EQ(fieldId("a b\"c"), "field-a-b-c");
}

TEST(FormViewTest, InputsPrefillDefaultsAndConvertPostedValues) {
  engine::InputDecl number;
  number.name = "per_locality";
  number.type = engine::ValueType::kNumber;
  number.default_value = 2;
  engine::InputDecl list;
  list.name = "plans";
  list.type = engine::ValueType::kList;
  engine::InputDecl flag;
  flag.name = "dry_run";
  flag.type = engine::ValueType::kBoolean;
  flag.default_value = true;
  const json view = inputFieldView(number, nullptr, "");
  EXPECT_EQ(view["value"], "2");
  EXPECT_EQ(view["label"], "Per locality");
  EXPECT_EQ(view["required"], false);
  EXPECT_EQ(inputFieldView(flag, nullptr, "")["checked"], true);
  const json data = inputData({number, list, flag}, {{"per_locality", "3"}, {"plans", "[1,2]"}});
  EXPECT_EQ(data, json({{"per_locality", 3}, {"plans", {1, 2}}, {"dry_run", false}}));
  EXPECT_EQ(inputData({number}, {{"per_locality", ""}}), json::object());  // default applies
}

TEST(PageRendererTest, EveryTemplateIsEmbeddedAndRenders) {
  PageRenderer renderer;
  EXPECT_EQ(renderer.assetVersion().size(), 12u);
  int pages = 0;
  for (const EmbeddedFile& file : embeddedFiles()) {
    if (file.name.rfind("templates/", 0) != 0 || file.name.find(".mustache") == std::string::npos)
      continue;
    const std::string name(file.name.substr(10, file.name.size() - 10 - 9));
    if (name == "layout") {
      EXPECT_FALSE(renderer.render(name, json::object()).isOk());
      continue;
    }
    auto html = renderer.render(name, {{"title", "T"}, {"council_name", "C"}});
    EXPECT_TRUE(html.isOk()) << name << ": " << html.status().toString();
    ++pages;
  }
  EXPECT_GE(pages, 12);
  EXPECT_NE(embeddedFile("assets/sendflow.css"), nullptr);
  EXPECT_FALSE(renderer.render("no-such-page", json::object()).isOk());
}

TEST(PageRendererTest, ValuesAreEscaped) {
  PageRenderer renderer;
  auto html = renderer.render("message", {{"title", "<x>"},
                                          {"council_name", "C"},
                                          {"heading", "<script>alert('x')</script>"},
                                          {"paragraphs", {"a & b", "\"quoted\""}}});
  ASSERT_TRUE(html.isOk());
  EXPECT_EQ(html->find("<script>alert"), std::string::npos);
  EXPECT_NE(html->find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html->find("a &amp; b"), std::string::npos);
}

TEST(PageRendererTest, DashboardGradesAreATableWithDecorativeBars) {
  PageRenderer renderer;
  auto html = renderer.render(
      "dashboard",
      {{"title", "Dashboard"},
       {"council_name", "C"},
       {"has_grades", true},
       {"graded_total", "4"},
       {"grades",
        {{{"grade", "Good"}, {"count", "3"}, {"percent", "75"}, {"bar", "75"}},
         {{"grade", "Inadequate"}, {"count", "1"}, {"percent", "25"}, {"bar", "25"}}}}});
  ASSERT_TRUE(html.isOk());
  EXPECT_NE(html->find("<th scope=\"row\">Good</th>"), std::string::npos);
  EXPECT_NE(html->find("<span class=\"bar bar--w75\" aria-hidden=\"true\"></span>"),
            std::string::npos);
  EXPECT_NE(html->find("<caption>Final grades of completed audits (4 audits"), std::string::npos);
}

}  // namespace
}  // namespace sendflow::web
