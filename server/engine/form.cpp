// Form::validate and the checks of InputDecl (declared in definition.h).
#include <cmath>
#include <optional>
#include <string>

#include "server/core/clock.h"
#include "server/engine/definition.h"

namespace sendflow::engine {

const char* const kQualityGrades[4] = {"Outstanding", "Good", "Requires Improvement", "Inadequate"};

namespace {

std::size_t characterCount(const std::string& text) {
  std::size_t count = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++count;  // count UTF-8 lead bytes
  }
  return count;
}

// The largest whole number a double holds exactly (2^53): beyond it "whole" means nothing.
constexpr double kLargestWholeNumber = 9007199254740992.0;
// The longest duration an input may give: 100 years, in days.
constexpr double kLongestDurationDays = 36525.0;

// `value` as JSON for a message: at most 60 bytes, never throwing on text that is not UTF-8.
std::string shown(const nlohmann::json& value) {
  constexpr std::size_t kShown = 60;
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > kShown) text = text.substr(0, kShown) + "...";
  return text;
}

std::string number(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<long long>(value));
  }
  return nlohmann::json(value).dump();  // the shortest form that reads back the same: 1e+308
}

// The problem with the number `value` (whole, within min and max), or "".
std::string numberProblem(const nlohmann::json& value, bool whole, const std::optional<double>& min,
                          const std::optional<double>& max) {
  if (!value.is_number()) return "must be a number, not " + shown(value);
  const double n = value.get<double>();
  if (whole && (n != std::floor(n) || std::fabs(n) > kLargestWholeNumber)) {
    return "must be a whole number, not " + number(n);
  }
  if (min && n < *min) return number(n) + " is less than the minimum " + number(*min);
  if (max && n > *max) return number(n) + " is more than the maximum " + number(*max);
  return "";
}

std::string joinChoices(const std::vector<std::string>& choices) {
  std::string out;
  for (const std::string& choice : choices) out += (out.empty() ? "" : ", ") + ("'" + choice + "'");
  return out;
}

// The problem with `value` for `field`, or "" when it is fine. `value` is not null.
std::string checkValue(const FormField& field, const nlohmann::json& value) {
  switch (field.type) {
    case FieldType::kText:
    case FieldType::kLongText: {
      if (!value.is_string()) return "must be text, not " + shown(value);
      const std::size_t length = characterCount(value.get_ref<const std::string&>());
      if (field.max_length && length > *field.max_length) {
        return "is " + std::to_string(length) + " characters long, more than the " +
               std::to_string(*field.max_length) + " allowed";
      }
      return "";
    }
    case FieldType::kNumber:
    case FieldType::kInteger:
      return numberProblem(value, field.type == FieldType::kInteger, field.min, field.max);
    case FieldType::kBoolean:
      return value.is_boolean() ? "" : "must be true or false, not " + shown(value);
    case FieldType::kDate: {
      core::TimePoint t;
      if (!value.is_string() || value.get_ref<const std::string&>().size() != 10 ||
          !core::parseIso8601(value.get<std::string>(), t)) {
        return shown(value) + " is not a date (write YYYY-MM-DD)";
      }
      return "";
    }
    case FieldType::kChoice:
    case FieldType::kGrade: {
      std::vector<std::string> allowed = field.choices;
      if (field.type == FieldType::kGrade)
        allowed.assign(std::begin(kQualityGrades), std::end(kQualityGrades));
      if (value.is_string()) {
        for (const std::string& choice : allowed) {
          if (choice == value.get_ref<const std::string&>()) return "";
        }
      }
      return shown(value) + " is not one of " + joinChoices(allowed);
    }
  }
  return "";
}

}  // namespace

const char* InputDecl::typeName() const { return whole_number ? "integer" : valueTypeName(type); }

std::string InputDecl::problemWith(const nlohmann::json& value) const {
  const auto given = [&] { return shown(value); };
  switch (type) {
    case ValueType::kString:
      return value.is_string() ? "" : given() + " is not a string";
    case ValueType::kNumber:
      return numberProblem(value, whole_number, min, max);
    case ValueType::kBoolean:
      return value.is_boolean() ? "" : given() + " is not true or false";
    case ValueType::kDate: {
      core::TimePoint t;
      const bool ok = value.is_string() && value.get_ref<const std::string&>().size() == 10 &&
                      core::parseIso8601(value.get<std::string>(), t);
      return ok ? "" : given() + " is not a date (write YYYY-MM-DD)";
    }
    case ValueType::kDateTime: {
      core::TimePoint t;
      const bool ok = value.is_string() && core::parseIso8601(value.get<std::string>(), t);
      return ok ? "" : given() + " is not a date-time (write YYYY-MM-DDTHH:MM:SSZ)";
    }
    case ValueType::kDuration: {
      Duration d;
      if (!value.is_string() || !parseDuration(value.get<std::string>(), d)) {
        return given() + " is not a duration (write for example '2 weeks' or 'P2W')";
      }
      if (d.months < 0 || d.working_days < 0 || d.millis < 0) {
        return given() + " is negative (a duration here is a length of time)";
      }
      const double days = static_cast<double>(d.months) * 30.44 +
                          static_cast<double>(d.working_days) * 1.4 +
                          static_cast<double>(d.millis) / 86400000.0;
      return days <= kLongestDurationDays ? "" : given() + " is longer than 100 years";
    }
    case ValueType::kList:
      return value.is_array() ? "" : given() + " is not a list";
    case ValueType::kObject:
      return value.is_object() ? "" : given() + " is not an object";
    case ValueType::kNull:
      return value.is_null() ? "" : given() + " is not null";
    case ValueType::kAny:
      return "";
  }
  return "";
}

core::Status Form::validate(const nlohmann::json& data, const nlohmann::json& context) const {
  if (!data.is_object()) return core::invalidArgument("the form data must be a JSON object");
  // required-if reads the instance data with the submitted fields on top.
  nlohmann::json scope = context.is_object() ? context : nlohmann::json::object();
  for (const FormField& field : fields) {
    const auto it = data.find(field.name);
    scope[field.name] = it != data.end() ? *it : nlohmann::json();
  }
  std::vector<std::string> problems;
  for (const FormField& field : fields) {
    const auto it = data.find(field.name);
    const bool present = it != data.end() && !it->is_null() &&
                         !(it->is_string() && it->get_ref<const std::string&>().empty());
    bool required = field.required;
    if (!required && field.required_if) {
      auto condition = field.required_if->evaluate(scope);
      if (!condition.isOk()) {
        problems.push_back(field.name + ": cannot check when it is required (" +
                           condition.status().message() + ")");
        continue;
      }
      required = *condition == true;
    }
    if (!present) {
      if (required) problems.push_back(field.name + ": required");
      continue;
    }
    const std::string problem = checkValue(field, *it);
    if (!problem.empty()) problems.push_back(field.name + ": " + problem);
  }
  for (const auto& [name, value] : data.items()) {
    bool known = false;
    for (const FormField& field : fields) known = known || field.name == name;
    if (!known) problems.push_back(name + ": not a field of this form");
  }
  if (problems.empty()) return core::Status::ok();
  std::string message;
  for (const std::string& p : problems) message += (message.empty() ? "" : "; ") + p;
  return core::invalidArgument(message);
}

}  // namespace sendflow::engine
