#include "server/web/form_view.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "server/core/json_text.h"

namespace sendflow::web {
namespace {

using nlohmann::json;

std::string normaliseNewlines(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string trim(const std::string& text) {
  std::size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  return text.substr(b, e - b);
}

bool parseNumber(const std::string& text, double& out) {
  const std::string t = trim(text);
  if (t.empty()) return false;
  char* end = nullptr;
  out = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size() && std::isfinite(out);
}

std::string numberText(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<long long>(value));
  }
  return json(value).dump();
}

// The text a JSON value shows in an input.
std::string valueText(const json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return numberText(value.get<double>());
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  return value.dump(2);
}

bool ticked(const std::string& value) { return value == "true" || value == "on" || value == "1"; }

std::string describedBy(const json& view) {
  std::string out;
  const std::string id = view["id"];
  auto add = [&](const char* member, const char* suffix) {
    const auto it = view.find(member);
    if (it != view.end() && !it->is_null() && !(it->is_boolean() && !it->get<bool>()) &&
        !(it->is_string() && it->get<std::string>().empty())) {
      out += (out.empty() ? "" : " ") + id + suffix;
    }
  };
  add("hint", "-hint");
  add("condition", "-condition");
  add("limit_text", "-limit");
  add("error", "-error");
  return out;
}

json baseView(const std::string& name, const std::string& label, const std::string& hint,
              bool required, const std::string& error) {
  json view = {
      {"name", name},         {"id", fieldId(name)},  {"label", label.empty() ? name : label},
      {"hint", hint},         {"required", required}, {"error", error},
      {"is_fieldset", false}, {"is_checkbox", false}, {"is_single", false},
      {"is_textarea", false}, {"is_select", false},   {"is_input", false}};
  return view;
}

void finish(json& view) { view["described_by"] = describedBy(view); }

json radioOptions(const std::string& name, const std::vector<std::string>& choices,
                  const std::string& selected) {
  json options = json::array();
  for (std::size_t i = 0; i < choices.size(); ++i) {
    options.push_back({{"option_id", fieldId(name) + (i == 0 ? "" : "-" + std::to_string(i + 1))},
                       {"value", choices[i]},
                       {"text", choices[i]},
                       {"checked", choices[i] == selected}});
  }
  return options;
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace

std::string fieldId(const std::string& name) {
  std::string id = "field-";
  for (unsigned char c : name) {
    id.push_back(std::isalnum(c) || c == '-' || c == '_' ? static_cast<char>(c) : '-');
  }
  return id;
}

std::string postedValue(const PostedFields& posted, const std::string& name) {
  const auto it = posted.find(name);
  return it == posted.end() ? "" : it->second;
}

json formFieldView(const engine::FormField& field, const PostedFields* posted, const json& initial,
                   const std::string& error) {
  json view = baseView(field.name, field.label, field.help, field.required, error);
  if (!field.required && field.required_if) {
    view["condition"] = conditionInWords(field.required_if->text());
  }
  const bool has_posted = posted != nullptr && posted->count(field.name) > 0;
  const std::string value =
      posted != nullptr ? postedValue(*posted, field.name) : valueText(initial);
  switch (field.type) {
    case engine::FieldType::kGrade:
    case engine::FieldType::kChoice: {
      std::vector<std::string> choices = field.choices;
      if (field.type == engine::FieldType::kGrade) {
        choices.assign(std::begin(engine::kQualityGrades), std::end(engine::kQualityGrades));
      }
      json options = radioOptions(field.name, choices, value);
      // Radios for a few choices; a select when there are many.
      if (choices.size() <= 6) {
        view["is_fieldset"] = true;
        view["inline"] = false;
      } else {
        view["is_single"] = true;
        view["is_select"] = true;
      }
      view["options"] = std::move(options);
      break;
    }
    case engine::FieldType::kBoolean:
      view["is_checkbox"] = true;
      view["checked"] = posted != nullptr ? (has_posted && ticked(value))
                                          : (initial.is_boolean() && initial.get<bool>());
      break;
    case engine::FieldType::kLongText:
      view["is_single"] = true;
      view["is_textarea"] = true;
      view["value"] = value;
      break;
    case engine::FieldType::kText:
    case engine::FieldType::kNumber:
    case engine::FieldType::kInteger:
    case engine::FieldType::kDate:
      view["is_single"] = true;
      view["is_input"] = true;
      view["value"] = value;
      view["input_type"] = "text";
      if (field.type == engine::FieldType::kDate) view["input_type"] = "date";
      if (field.type == engine::FieldType::kNumber || field.type == engine::FieldType::kInteger) {
        view["input_type"] = "number";
        view["step"] = field.type == engine::FieldType::kInteger ? "1" : "any";
        if (field.type == engine::FieldType::kInteger) view["inputmode"] = "numeric";
        if (field.min) view["min"] = numberText(*field.min);
        if (field.max) view["max"] = numberText(*field.max);
      }
      break;
  }
  if (field.max_length) {
    view["max_length"] = std::to_string(*field.max_length);
    view["limit_text"] =
        "You can enter up to " + std::to_string(*field.max_length) + " characters.";
  }
  finish(view);
  return view;
}

json inputFieldView(const engine::InputDecl& input, const PostedFields* posted,
                    const std::string& error) {
  std::string label = input.name;
  for (char& c : label) {
    if (c == '_') c = ' ';
  }
  if (!label.empty())
    label[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(label[0])));
  const bool required = input.required && !input.default_value;
  json view = baseView(input.name, label, input.description, required, error);
  const json initial = input.default_value ? *input.default_value : json();
  const std::string value =
      posted != nullptr ? postedValue(*posted, input.name) : valueText(initial);
  std::string extra_hint;
  switch (input.type) {
    case engine::ValueType::kBoolean:
      view["is_checkbox"] = true;
      view["checked"] =
          posted != nullptr ? ticked(value) : (initial.is_boolean() && initial.get<bool>());
      break;
    case engine::ValueType::kNumber:
      view["is_single"] = true;
      view["is_input"] = true;
      view["input_type"] = "number";
      view["step"] = "any";
      view["value"] = value;
      break;
    case engine::ValueType::kDate:
      view["is_single"] = true;
      view["is_input"] = true;
      view["input_type"] = "date";
      view["value"] = value;
      break;
    case engine::ValueType::kDateTime:
      extra_hint = "A date and time, for example 2026-11-02T09:00:00Z.";
      view["is_single"] = true;
      view["is_input"] = true;
      view["input_type"] = "text";
      view["value"] = value;
      break;
    case engine::ValueType::kDuration:
      extra_hint = "A length of time, for example 12 weeks, 10 working days or 1 month.";
      view["is_single"] = true;
      view["is_input"] = true;
      view["input_type"] = "text";
      view["value"] = value;
      break;
    case engine::ValueType::kString:
      view["is_single"] = true;
      view["is_input"] = true;
      view["input_type"] = "text";
      view["value"] = value;
      break;
    default:
      extra_hint = "A value in JSON.";
      view["is_single"] = true;
      view["is_textarea"] = true;
      view["value"] = value;
      break;
  }
  if (!extra_hint.empty()) {
    view["hint"] = input.description.empty() ? extra_hint : input.description + ". " + extra_hint;
  }
  finish(view);
  return view;
}

json textFieldView(const std::string& name, const std::string& label, const std::string& hint,
                   bool long_text, std::size_t max_length, const std::string& value,
                   const std::string& error) {
  json view = baseView(name, label, hint, false, error);
  view["is_single"] = true;
  view[long_text ? "is_textarea" : "is_input"] = true;
  view["input_type"] = "text";
  view["autocomplete"] = "off";
  view["value"] = value;
  if (max_length > 0) {
    view["max_length"] = std::to_string(max_length);
    if (long_text)
      view["limit_text"] = "You can enter up to " + std::to_string(max_length) + " characters.";
  }
  finish(view);
  return view;
}

json formData(const engine::Form& form, const PostedFields& posted) {
  json data = json::object();
  for (const engine::FormField& field : form.fields) {
    const bool present = posted.count(field.name) > 0;
    const std::string raw = normaliseNewlines(postedValue(posted, field.name));
    switch (field.type) {
      case engine::FieldType::kBoolean:
        data[field.name] = present && ticked(raw);
        break;
      case engine::FieldType::kNumber:
      case engine::FieldType::kInteger: {
        if (trim(raw).empty()) break;
        double n = 0;
        if (parseNumber(raw, n)) {
          if (n == std::floor(n) && std::fabs(n) < 9e15) {
            data[field.name] = static_cast<long long>(n);
          } else {
            data[field.name] = n;
          }
        } else {
          data[field.name] = raw;  // the engine names it: "must be a number"
        }
        break;
      }
      case engine::FieldType::kDate:
      case engine::FieldType::kChoice:
      case engine::FieldType::kGrade:
        if (!trim(raw).empty()) data[field.name] = trim(raw);
        break;
      case engine::FieldType::kText:
      case engine::FieldType::kLongText:
        if (!trim(raw).empty()) data[field.name] = raw;
        break;
    }
  }
  return data;
}

json inputData(const std::vector<engine::InputDecl>& inputs, const PostedFields& posted) {
  json data = json::object();
  for (const engine::InputDecl& input : inputs) {
    const std::string raw = normaliseNewlines(postedValue(posted, input.name));
    if (input.type == engine::ValueType::kBoolean) {
      data[input.name] = ticked(raw);
      continue;
    }
    if (trim(raw).empty()) continue;
    switch (input.type) {
      case engine::ValueType::kNumber: {
        double n = 0;
        if (parseNumber(raw, n)) {
          data[input.name] =
              n == std::floor(n) && std::fabs(n) < 9e15 ? json(static_cast<long long>(n)) : json(n);
        } else {
          data[input.name] = raw;
        }
        break;
      }
      case engine::ValueType::kList:
      case engine::ValueType::kObject:
      case engine::ValueType::kAny: {
        // Text that is not JSON stays text: the start names the input that is not a list.
        auto parsed = core::parseJsonText(raw);
        data[input.name] = parsed.isOk() ? std::move(parsed).value() : json(raw);
        break;
      }
      default:
        data[input.name] = trim(raw);
        break;
    }
  }
  return data;
}

std::vector<FieldError> fieldErrors(const std::string& message,
                                    const std::vector<std::string>& known) {
  auto knownAt = [&](const std::string& text, std::size_t at) -> std::string {
    for (const std::string& name : known) {
      if (text.compare(at, name.size() + 2, name + ": ") == 0) return name;
    }
    return "";
  };
  std::string text = message;
  // Drop a leading context such as "workflow 'x' inputs: " before the first field.
  if (knownAt(text, 0).empty()) {
    for (std::size_t at = text.find(": "); at != std::string::npos; at = text.find(": ", at + 1)) {
      if (!knownAt(text, at + 2).empty()) {
        text = text.substr(at + 2);
        break;
      }
    }
  }
  std::vector<FieldError> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    // A segment ends at the next "; " followed by a known field name.
    std::size_t end = text.find("; ", pos);
    while (end != std::string::npos && knownAt(text, end + 2).empty()) {
      end = text.find("; ", end + 2);
    }
    const std::string segment =
        text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    const std::string name = knownAt(segment, 0);
    if (!name.empty()) {
      out.push_back({name, segment.substr(name.size() + 2)});
    } else if (!segment.empty()) {
      out.push_back({"", segment});
    }
    if (end == std::string::npos) break;
    pos = end + 2;
  }
  return out;
}

std::string friendlyProblem(const std::string& label, engine::FieldType type,
                            const std::string& problem) {
  const std::string quoted = "“" + label + "”";
  if (problem == "required") {
    switch (type) {
      case engine::FieldType::kGrade:
        return "Choose a grade for " + quoted;
      case engine::FieldType::kChoice:
        return "Choose an answer for " + quoted;
      case engine::FieldType::kBoolean:
        return "Tick " + quoted;
      case engine::FieldType::kDate:
        return "Enter a date for " + quoted;
      default:
        return "Answer " + quoted;
    }
  }
  if (problem.rfind("must be ", 0) == 0) {
    const auto comma = problem.find(", not ");
    return quoted + " " + problem.substr(0, comma);
  }
  if (problem.find("is not a date") != std::string::npos) {
    return quoted + " must be a real date, like 2026-11-30";
  }
  if (const auto more = problem.find("characters long, more than the ");
      more != std::string::npos && problem.rfind("is ", 0) == 0) {
    const std::string allowed = problem.substr(more + 31, problem.find(' ', more + 31) - more - 31);
    return quoted + " must be " + allowed + " characters or fewer (it has " +
           problem.substr(3, problem.find(' ', 3) - 3) + ")";
  }
  if (problem.find(" is not one of ") != std::string::npos) {
    return (type == engine::FieldType::kGrade ? "Choose one of the four grades for "
                                              : "Choose one of the answers for ") +
           quoted;
  }
  if (problem.find("less than the minimum") != std::string::npos ||
      problem.find("more than the maximum") != std::string::npos) {
    return quoted + ": " + problem;
  }
  return quoted + ": " + problem;
}

std::string conditionInWords(const std::string& expression) {
  std::string out;
  std::size_t i = 0;
  const std::string& e = expression;
  auto word = [&](const std::string& w) {
    if (!out.empty() && out.back() != ' ') out += ' ';
    out += w;
  };
  while (i < e.size()) {
    const char c = e[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '\'' || c == '"') {
      const std::size_t close = e.find(c, i + 1);
      word(e.substr(i + 1, close == std::string::npos ? std::string::npos : close - i - 1));
      i = close == std::string::npos ? e.size() : close + 1;
    } else if (e.compare(i, 2, "==") == 0) {
      word("is");
      i += 2;
    } else if (e.compare(i, 2, "!=") == 0) {
      word("is not");
      i += 2;
    } else if (e.compare(i, 2, ">=") == 0) {
      word("is at least");
      i += 2;
    } else if (e.compare(i, 2, "<=") == 0) {
      word("is at most");
      i += 2;
    } else if (c == '>') {
      word("is more than");
      ++i;
    } else if (c == '<') {
      word("is less than");
      ++i;
    } else if (c == '[' || c == ']' || c == '(' || c == ')') {
      ++i;
    } else if (c == ',') {
      out += ',';
      ++i;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.') {
      std::size_t j = i;
      while (j < e.size() &&
             (std::isalnum(static_cast<unsigned char>(e[j])) || e[j] == '_' || e[j] == '.')) {
        ++j;
      }
      std::string token = e.substr(i, j - i);
      if (token == "in") {
        word("is one of");
      } else if (token == "null") {
        word("empty");
      } else {
        word(replaceAll(replaceAll(token, "_", " "), ".", " "));
      }
      i = j;
    } else {
      word(std::string(1, c));
      ++i;
    }
  }
  out = replaceAll(out, "is not empty", "is filled in");
  return "Required if " + out + ".";
}

}  // namespace sendflow::web
