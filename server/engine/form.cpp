// Form::validate (declared in definition.h).
#include <cmath>
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

std::string number(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<long long>(value));
  }
  std::string text = std::to_string(value);
  while (!text.empty() && text.back() == '0') text.pop_back();
  return text;
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
      if (!value.is_string()) return "must be text, not " + value.dump();
      const std::size_t length = characterCount(value.get_ref<const std::string&>());
      if (field.max_length && length > *field.max_length) {
        return "is " + std::to_string(length) + " characters long, more than the " +
               std::to_string(*field.max_length) + " allowed";
      }
      return "";
    }
    case FieldType::kNumber:
    case FieldType::kInteger: {
      if (!value.is_number()) return "must be a number, not " + value.dump();
      const double n = value.get<double>();
      if (field.type == FieldType::kInteger && n != std::floor(n)) {
        return "must be a whole number, not " + number(n);
      }
      if (field.min && n < *field.min)
        return number(n) + " is less than the minimum " + number(*field.min);
      if (field.max && n > *field.max)
        return number(n) + " is more than the maximum " + number(*field.max);
      return "";
    }
    case FieldType::kBoolean:
      return value.is_boolean() ? "" : "must be true or false, not " + value.dump();
    case FieldType::kDate: {
      core::TimePoint t;
      if (!value.is_string() || value.get_ref<const std::string&>().size() != 10 ||
          !core::parseIso8601(value.get<std::string>(), t)) {
        return value.dump() + " is not a date (write YYYY-MM-DD)";
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
      return value.dump() + " is not one of " + joinChoices(allowed);
    }
  }
  return "";
}

}  // namespace

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
