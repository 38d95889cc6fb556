#include "server/engine/expression.h"

#include <gtest/gtest.h>

namespace sendflow::engine {
namespace {

using nlohmann::json;

const SourceLocation kWhere{"workflows/x.xml", 12, 10};

TypeEnvironment planEnvironment() {
  return {{"meeting_date", ValueType::kDate}, {"today", ValueType::kDate},
          {"now", ValueType::kDateTime},      {"grade", ValueType::kString},
          {"sample", ValueType::kList},       {"plan", ValueType::kAny},
          {"count_ri", ValueType::kNumber},   {"due", ValueType::kDateTime},
          {"note", ValueType::kString},       {"flag", ValueType::kBoolean},
          {"window", ValueType::kDuration}};
}

json evaluate(const std::string& text, const json& context,
              const TypeEnvironment& env = planEnvironment()) {
  auto compiled = Expression::compile(text, env, kWhere);
  EXPECT_TRUE(compiled.isOk()) << text << ": " << compiled.status().toString();
  if (!compiled.isOk()) return nullptr;
  auto value = (*compiled)->evaluate(context);
  EXPECT_TRUE(value.isOk()) << text << ": " << value.status().toString();
  return value.isOk() ? *value : json();
}

std::string compileError(const std::string& text, const TypeEnvironment& env = planEnvironment()) {
  auto compiled = Expression::compile(text, env, kWhere);
  EXPECT_FALSE(compiled.isOk()) << text;
  return compiled.isOk() ? "" : compiled.status().message();
}

std::string runError(const std::string& text, const json& context) {
  auto compiled = Expression::compile(text, planEnvironment(), kWhere);
  EXPECT_TRUE(compiled.isOk()) << compiled.status().toString();
  if (!compiled.isOk()) return "";
  auto value = (*compiled)->evaluate(context);
  EXPECT_FALSE(value.isOk()) << text;
  return value.isOk() ? "" : value.status().message();
}

TEST(ExpressionTest, ArithmeticFollowsPrecedence) {
  EXPECT_EQ(evaluate("1 + 2 * 3", {}), 7);
  EXPECT_EQ(evaluate("(1 + 2) * 3", {}), 9);
  EXPECT_EQ(evaluate("10 / 4", {}), 2.5);
  EXPECT_EQ(evaluate("7 % 3", {}), 1);
  EXPECT_EQ(evaluate("-3 + 5", {}), 2);
  EXPECT_EQ(evaluate("'EHC' + \" plan\"", {}), "EHC plan");
}

TEST(ExpressionTest, LogicAndComparison) {
  EXPECT_EQ(evaluate("1 < 2 and not (2 < 1)", {}), true);
  EXPECT_EQ(evaluate("false or 3 >= 3", {}), true);
  EXPECT_EQ(evaluate("grade in ['Requires Improvement', 'Inadequate']", {{"grade", "Inadequate"}}),
            true);
  EXPECT_EQ(evaluate("grade not in ['Good']", {{"grade", "Good"}}), false);
  EXPECT_EQ(evaluate("if count_ri >= 2 then 'RI' else 'Good'", {{"count_ri", 2}}), "RI");
  EXPECT_EQ(evaluate("null == null", {}), true);
  EXPECT_EQ(evaluate("note == null", json::object()), true);
}

TEST(ExpressionTest, MemberAccessAndIndexing) {
  const json context = {{"plan", {{"locality", "North"}, {"sections", {"A", "B", "F"}}}},
                        {"sample", {10, 20, 30}}};
  EXPECT_EQ(evaluate("plan.locality", context), "North");
  EXPECT_EQ(evaluate("plan.sections[2]", context), "F");
  EXPECT_EQ(evaluate("plan['locality'] == 'North'", context), true);
  EXPECT_EQ(evaluate("sample[0] + sample[2]", context), 40);
  EXPECT_EQ(evaluate("count(sample) >= 3", context), true);
}

TEST(ExpressionTest, DatesAndDurations) {
  const json context = {{"meeting_date", "2026-03-02"}, {"today", "2026-03-10"}};
  EXPECT_EQ(evaluate("meeting_date + 4 weeks", context), "2026-03-30");
  EXPECT_EQ(evaluate("meeting_date + 2 weeks + 3 days", context), "2026-03-19");
  EXPECT_EQ(evaluate("date('2026-01-31') + 1 month", context), "2026-02-28");
  EXPECT_EQ(evaluate("today - meeting_date", context), "P8D");
  EXPECT_EQ(evaluate("today - meeting_date > 1 week", context), true);
  EXPECT_EQ(evaluate("4 weeks", context), "P4W");
  EXPECT_EQ(evaluate("weeks(6)", context), "P6W");
  EXPECT_EQ(evaluate("2 hours", context), "PT2H");
  EXPECT_EQ(evaluate("datetime('2026-03-02T09:00:00Z') + 2 hours", context),
            "2026-03-02T11:00:00.000Z");
  EXPECT_EQ(evaluate("year(meeting_date) * 100 + month(meeting_date)", context), 202603);
  EXPECT_EQ(evaluate("weekday(meeting_date)", context), 1);  // a Monday
}

TEST(ExpressionTest, WorkingDaysSkipWeekendsAndBankHolidays) {
  // Thursday 2 April 2026; Good Friday 3 April and Easter Monday 6 April are bank holidays.
  const json context = {{"today", "2026-04-02"}};
  EXPECT_EQ(evaluate("today + 1 working day", context), "2026-04-07");
  EXPECT_EQ(evaluate("today + 10 working days", context), "2026-04-20");
  EXPECT_EQ(evaluate("addWorkingDays(today, 2)", context), "2026-04-08");
  EXPECT_EQ(evaluate("workingDaysBetween(today, date('2026-04-20'))", context), 10);
  EXPECT_EQ(evaluate("today - 1 working day", context), "2026-04-01");
  // Christmas 2026: Friday 25 and the substitute Monday 28 December.
  EXPECT_EQ(evaluate("date('2026-12-24') + workingDays(1)", context), "2026-12-29");
  EXPECT_EQ(evaluate("isWorkingDay(date('2026-12-28'))", context), false);
}

TEST(ExpressionTest, ACalendarCanBeConfiguredInCode) {
  auto calendar = WorkingCalendar::parse("2026-04-07");
  ASSERT_TRUE(calendar.isOk());
  CompileOptions options;
  options.calendar = *calendar;
  auto compiled =
      Expression::compile("today + 1 working day", {{"today", ValueType::kDate}}, kWhere, options);
  ASSERT_TRUE(compiled.isOk());
  auto value = (*compiled)->evaluate({{"today", "2026-04-02"}});
  ASSERT_TRUE(value.isOk());
  EXPECT_EQ(*value, "2026-04-03");  // Good Friday is a working day in this calendar; 6th too
}

TEST(ExpressionTest, FunctionsOnListsAndText) {
  const json context = {{"sample", {3, 1, 4, 1, 5}}};
  EXPECT_EQ(evaluate("sum(sample)", context), 14);
  EXPECT_EQ(evaluate("min(sample)", context), 1);
  EXPECT_EQ(evaluate("max(sample)", context), 5);
  EXPECT_EQ(evaluate("avg(sample)", context), 2.8);
  EXPECT_EQ(evaluate("count(sample, 1)", context), 2);
  EXPECT_EQ(evaluate("round(percent(4, 5), 1)", context), 80);
  EXPECT_EQ(evaluate("round(2.345, 2)", context), 2.35);
  EXPECT_EQ(evaluate("floor(2.7)", context), 2);
  EXPECT_EQ(evaluate("max(2, 9, 4)", context), 9);
  EXPECT_EQ(evaluate("lower('GOOD') == 'good' and upper('ri') == 'RI'", context), true);
  EXPECT_EQ(evaluate("contains('access to regular support', 'regular')", context), true);
  EXPECT_EQ(evaluate("contains(sample, 4)", context), true);
  EXPECT_EQ(evaluate("startsWith('EHCP-123', 'EHCP')", context), true);
  EXPECT_EQ(evaluate("len('abc') + len(sample)", context), 8);
  EXPECT_EQ(evaluate("coalesce(note, 'none')", json::object()), "none");
  const json audits = {{"plan",
                        {{{"grade", "Good"}, {"locality", "North"}},
                         {{"grade", "Inadequate"}, {"locality", "South"}},
                         {{"grade", "Good"}, {"locality", "South"}}}}};
  EXPECT_EQ(evaluate("pluck(plan, 'grade')", audits), json({"Good", "Inadequate", "Good"}));
  EXPECT_EQ(evaluate("count(pluck(plan, 'grade'), 'Good')", audits), 2);
  EXPECT_EQ(evaluate("count(where(plan, 'locality', 'South'))", audits), 2);
  EXPECT_EQ(evaluate("where(plan, 'locality', 'North')[0].grade", audits), "Good");
}

TEST(ExpressionTest, UntypedDataHoldingDatesTakesPartInDateArithmetic) {
  const json context = {{"plan", {{"finalised", "2026-05-01"}}}, {"today", "2026-05-20"}};
  EXPECT_EQ(evaluate("plan.finalised + 20 weeks", context), "2026-09-18");
  EXPECT_EQ(evaluate("plan.finalised < today", context), true);
}

TEST(ExpressionTest, TypeErrorsPointAtTheOperator) {
  EXPECT_EQ(compileError("note + meeting_date"),
            "workflows/x.xml:12:15: cannot add a date to a string");
  EXPECT_EQ(compileError("meeting_date * 2"),
            "workflows/x.xml:12:23: cannot multiply a date by a number");
  EXPECT_EQ(compileError("grade < 3"),
            "workflows/x.xml:12:16: cannot compare a string with a number");
  EXPECT_EQ(
      compileError("flag and 3"),
      "workflows/x.xml:12:15: 'and' needs booleans on both sides, but the right side is a number");
  EXPECT_EQ(compileError("count(grade)"),
            "workflows/x.xml:12:16: count() needs a list, not a string");
  EXPECT_EQ(compileError("grade in 3"),
            "workflows/x.xml:12:16: 'in' needs a list (or text) on its right, not a number");
  EXPECT_EQ(compileError("note weeks"),
            "workflows/x.xml:12:15: a duration needs a number before 'weeks', not a string");
}

TEST(ExpressionTest, SyntaxErrorsPointAtTheToken) {
  EXPECT_EQ(compileError("unknown_thing + 1"),
            "workflows/x.xml:12:10: unknown name 'unknown_thing'");
  EXPECT_EQ(compileError("1 +"), "workflows/x.xml:12:13: the expression ends too early");
  EXPECT_EQ(compileError("(1 + 2"),
            "workflows/x.xml:12:16: expected ')' but found end of expression");
  EXPECT_EQ(compileError("'open"),
            "workflows/x.xml:12:10: the text starting here has no closing '");
  EXPECT_EQ(compileError("grade = 'Good'"), "workflows/x.xml:12:16: use '==' to compare");
  EXPECT_EQ(compileError("nosuch(1)"), "workflows/x.xml:12:10: unknown function 'nosuch'");
  EXPECT_EQ(compileError("date('2026-13-01')"),
            "workflows/x.xml:12:15: '2026-13-01' is not a date (write YYYY-MM-DD)");
  EXPECT_EQ(compileError("3 fortnights"),
            "workflows/x.xml:12:12: unexpected 'fortnights' after a complete expression");
  EXPECT_EQ(compileError("percent(1)"),
            "workflows/x.xml:12:10: percent() takes 2 arguments, not 1");
  EXPECT_EQ(compileError(""), "workflows/x.xml:12:10: the expression is empty");
}

TEST(ExpressionTest, ErrorsOnLaterLinesCountLines) {
  auto compiled = Expression::compile("1 +\n  'a'", {}, kWhere);
  ASSERT_FALSE(compiled.isOk());
  EXPECT_EQ(compiled.status().message(), "workflows/x.xml:12:12: cannot add a string to a number");
  auto second = Expression::compile("1 +\n  nope", {}, kWhere);
  ASSERT_FALSE(second.isOk());
  EXPECT_EQ(second.status().message(), "workflows/x.xml:13:3: unknown name 'nope'");
}

TEST(ExpressionTest, AnyDataIsCheckedAtRunTime) {
  EXPECT_EQ(runError("plan.locality + 1", {{"plan", {{"locality", "North"}}}}),
            "workflows/x.xml:12:24: cannot add a number to a string");
  EXPECT_EQ(evaluate("plan.missing == null", {{"plan", json::object()}}), true);
  EXPECT_EQ(runError("plan.missing.deeper", {{"plan", json::object()}}),
            "workflows/x.xml:12:23: cannot read 'deeper' of a missing (null) value");
  EXPECT_EQ(runError("count_ri / 0", {{"count_ri", 3}}), "workflows/x.xml:12:19: division by zero");
  EXPECT_EQ(runError("sample[5]", {{"sample", {1}}}),
            "workflows/x.xml:12:16: index 5 is outside the 1 items");
}

TEST(ExpressionTest, ResultTypesAreKnownAtCompileTime) {
  auto env = planEnvironment();
  auto due = Expression::compile("meeting_date + 4 weeks", env, kWhere);
  ASSERT_TRUE(due.isOk());
  EXPECT_EQ((*due)->resultType(), ValueType::kDate);
  auto gap = Expression::compile("now - due", env, kWhere);
  ASSERT_TRUE(gap.isOk());
  EXPECT_EQ((*gap)->resultType(), ValueType::kDuration);
  auto any = Expression::compile("plan.sample", env, kWhere);
  ASSERT_TRUE(any.isOk());
  EXPECT_EQ((*any)->resultType(), ValueType::kAny);
}

TEST(ExpressionTest, GuardsAgainstDeepNestingAndHugeLists) {
  std::string deep(200, '(');
  deep += "1";
  deep += std::string(200, ')');
  EXPECT_NE(compileError(deep).find("nested too deeply"), std::string::npos);
  json big = json::array();
  for (int i = 0; i < 100001; ++i) big.push_back(i);
  EXPECT_NE(runError("count(sample)", {{"sample", big}}).find("more than the 100000"),
            std::string::npos);
}

TEST(ExpressionTest, DurationsParseAndFormat) {
  Duration d;
  ASSERT_TRUE(parseDuration("P2W", d));
  EXPECT_EQ(formatDuration(d), "P2W");
  ASSERT_TRUE(parseDuration("10 working days", d));
  EXPECT_EQ(d.working_days, 10);
  EXPECT_EQ(formatDuration(d), "P10WD");
  ASSERT_TRUE(parseDuration("P10WD", d));
  EXPECT_EQ(d.working_days, 10);
  ASSERT_TRUE(parseDuration("PT4H30M", d));
  EXPECT_EQ(d.millis, (4 * 60 + 30) * 60000LL);
  ASSERT_TRUE(parseDuration("1 month 3 days", d));
  EXPECT_EQ(formatDuration(d), "P1M3D");
  ASSERT_TRUE(parseDuration("-P3D", d));
  EXPECT_EQ(formatDuration(d), "-P3D");
  EXPECT_FALSE(parseDuration("3 fortnights", d));
  EXPECT_FALSE(parseDuration("P", d));
  EXPECT_FALSE(parseDuration("", d));
}

TEST(UnaryTestTest, AcceptsTheDecisionTableForms) {
  auto check = [](const std::string& test, ValueType column, const json& value) {
    auto compiled = Expression::compileUnaryTest(test, column, {}, kWhere);
    EXPECT_TRUE(compiled.isOk()) << test << ": " << compiled.status().toString();
    if (!compiled.isOk() || !*compiled) return false;
    auto result = (*compiled)->evaluate({{"?", value}});
    EXPECT_TRUE(result.isOk()) << result.status().toString();
    return result.isOk() && *result == true;
  };
  EXPECT_TRUE(check("< 3", ValueType::kNumber, 2));
  EXPECT_FALSE(check("< 3", ValueType::kNumber, 3));
  EXPECT_TRUE(check(">= 3", ValueType::kNumber, 3));
  EXPECT_TRUE(check("[1..5]", ValueType::kNumber, 5));
  EXPECT_FALSE(check("[1..5)", ValueType::kNumber, 5));
  EXPECT_TRUE(check("2", ValueType::kNumber, 2));
  EXPECT_TRUE(check("'Good', 'Outstanding'", ValueType::kString, "Outstanding"));
  EXPECT_FALSE(check("'Good', 'Outstanding'", ValueType::kString, "Inadequate"));
  EXPECT_TRUE(check("not('Inadequate')", ValueType::kString, "Good"));
  EXPECT_FALSE(check("not('Inadequate')", ValueType::kString, "Inadequate"));
  EXPECT_TRUE(check("['Good', 'Outstanding']", ValueType::kString, "Good"));
  EXPECT_TRUE(check("? > 1 and ? < 4", ValueType::kNumber, 2));
  auto any = Expression::compileUnaryTest("-", ValueType::kString, {}, kWhere);
  ASSERT_TRUE(any.isOk());
  EXPECT_EQ(*any, nullptr);
}

TEST(UnaryTestTest, LiteralTestsExposeTheirSetsForOverlapChecks) {
  auto shape = [](const std::string& test) {
    auto compiled =
        Expression::compileUnaryTest(test, ValueType::kNumber, {{"x", ValueType::kNumber}}, kWhere);
    EXPECT_TRUE(compiled.isOk()) << compiled.status().toString();
    return compiled.isOk() && *compiled ? (*compiled)->literalTest() : std::nullopt;
  };
  ASSERT_TRUE(shape("[1..5]"));
  ASSERT_TRUE(shape("> 5"));
  EXPECT_FALSE(shape("[1..5]")->intersects(*shape("> 5")));
  EXPECT_TRUE(shape("[1..5]")->intersects(*shape(">= 5")));
  EXPECT_TRUE(shape("0")->intersects(*shape("< 1")));
  EXPECT_FALSE(shape("0")->intersects(*shape(">= 1")));
  EXPECT_FALSE(shape("not(1, 2)")->intersects(*shape("1")));
  EXPECT_TRUE(shape("not(1, 2)")->intersects(*shape("[1..3]")));
  EXPECT_FALSE(shape("> x"));  // not made of literals
}

TEST(UnaryTestTest, TypeErrorsNameTheColumnType) {
  auto compiled = Expression::compileUnaryTest("< 'Good'", ValueType::kNumber, {}, kWhere);
  ASSERT_FALSE(compiled.isOk());
  EXPECT_EQ(compiled.status().message(),
            "workflows/x.xml:12:10: cannot compare a number with a string");
}

}  // namespace
}  // namespace sendflow::engine

namespace sendflow::engine {
namespace {

TEST(ExpressionLimitsTest, HugeDurationsAreRefusedInsteadOfOverflowing) {
  auto compiled = Expression::compile("window + window + window",
                                      {{"window", ValueType::kDuration}}, {"x.xml", 1, 1});
  ASSERT_TRUE(compiled.isOk());
  auto value = (*compiled)->evaluate({{"window", "P900000000W"}});
  ASSERT_FALSE(value.isOk());
  EXPECT_EQ(value.status().message(), "x.xml:1:8: the duration is too long");
  EXPECT_FALSE(Expression::compile("1000000 working days", {}, {"x.xml", 1, 1}).isOk());
  Duration d;
  EXPECT_FALSE(parseDuration("P1000000WD", d));
}

}  // namespace
}  // namespace sendflow::engine
