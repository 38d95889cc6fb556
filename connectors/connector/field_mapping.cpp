#include "connectors/connector/field_mapping.h"

#include <cmath>
#include <cstdio>

namespace sendflow::connectors {
namespace {

constexpr std::array<const char*, kMetadataFieldCount> kFieldNames = {
    "locality",     "finalised_date", "request_date", "review_date",  "caseworker",
    "contributors", "year_group",     "setting",      "document_type"};
constexpr std::array<const char*, kMetadataFieldCount> kDefaultColumns = {
    "Locality",     "DateFinalised", "RequestDate", "ReviewDue",   "Caseworker",
    "Contributors", "YearGroup",     "Setting",     "DocumentType"};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// A person value by display name, or "" when it has none.
std::string personName(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_object()) return "";
  for (const char* key : {"Title", "LookupValue", "displayName", "DisplayName", "Email", "email"}) {
    auto it = v.find(key);
    if (it != v.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

std::string numberText(double d) {
  if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", d);
  return buf;
}

const nlohmann::json* listOf(const nlohmann::json& v) {
  if (v.is_array()) return &v;
  if (v.is_object()) {
    auto it = v.find("results");  // OData verbose collections
    if (it != v.end() && it->is_array()) return &*it;
  }
  return nullptr;
}

bool isDeferred(const nlohmann::json& v) { return v.is_object() && v.contains("__deferred"); }

// Normalises a date column to "YYYY-MM-DD". SharePoint and Graph give "2026-10-02T00:00:00Z".
core::StatusOr<std::string> readDate(const std::string& column, const nlohmann::json& v) {
  if (!v.is_string()) {
    return core::invalidArgument("column '" + column + "': expected a date, got " + v.dump());
  }
  const std::string text = trim(v.get<std::string>());
  if (text.empty()) return std::string();
  core::TimePoint t;
  if (!core::parseIso8601(text, t)) {
    return core::invalidArgument("column '" + column + "': '" + text +
                                 "' is not a date (expected YYYY-MM-DD)");
  }
  return core::formatIso8601(t).substr(0, 10);
}

core::StatusOr<std::string> readYearGroup(const std::string& column, const nlohmann::json& v) {
  std::string text;
  if (v.is_number()) {
    text = numberText(v.get<double>());
  } else if (v.is_string()) {
    text = trim(v.get<std::string>());
  } else {
    return core::invalidArgument("column '" + column + "': expected a year group, got " + v.dump());
  }
  if (text.empty()) return std::string();
  if (text == "R" || text == "Reception") return std::string("R");
  if (text == "N" || text == "Nursery") return std::string("N");
  if (text.rfind("Year ", 0) == 0) text = text.substr(5);
  if (text.size() <= 2 && text.find_first_not_of("0123456789") == std::string::npos) {
    const int year = std::stoi(text);
    if (year >= 0 && year <= 14) return std::to_string(year);
  }
  return core::invalidArgument("column '" + column + "': '" + text +
                               "' is not a year group (expected 0 to 14, R or N)");
}

core::StatusOr<std::string> readText(const std::string& column, const nlohmann::json& v) {
  if (isDeferred(v)) {
    return core::invalidArgument("column '" + column +
                                 "' is a person or lookup column that was not expanded");
  }
  if (v.is_string()) return trim(v.get<std::string>());
  if (v.is_number()) return numberText(v.get<double>());
  if (v.is_object()) {
    std::string name = trim(personName(v));
    if (!name.empty()) return name;
  }
  if (const nlohmann::json* list = listOf(v); list != nullptr && list->size() <= 1) {
    return list->empty() ? std::string() : readText(column, list->front());
  }
  return core::invalidArgument("column '" + column + "': expected text, got " + v.dump());
}

core::StatusOr<std::vector<std::string>> readPeople(const std::string& column,
                                                    const nlohmann::json& v) {
  std::vector<std::string> people;
  if (isDeferred(v)) {
    return core::invalidArgument("column '" + column +
                                 "' is a person or lookup column that was not expanded");
  }
  if (const nlohmann::json* list = listOf(v)) {
    for (const auto& entry : *list) {
      std::string name = trim(personName(entry));
      if (name.empty()) {
        return core::invalidArgument("column '" + column + "': entry " + entry.dump() +
                                     " has no name");
      }
      people.push_back(std::move(name));
    }
    return people;
  }
  if (v.is_string()) {  // "ep-003; hv-010" (WebDAV properties, CSV exports)
    const std::string text = v.get<std::string>();
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t end = text.find_first_of(";,", start);
      if (end == std::string::npos) end = text.size();
      std::string name = trim(text.substr(start, end - start));
      if (!name.empty()) people.push_back(std::move(name));
      start = end + 1;
    }
    return people;
  }
  std::string name = trim(personName(v));
  if (!name.empty()) return std::vector<std::string>{name};
  return core::invalidArgument("column '" + column + "': expected a list of people, got " +
                               v.dump());
}

}  // namespace

const char* metadataFieldName(MetadataField field) {
  return kFieldNames[static_cast<std::size_t>(field)];
}

FieldMapping::FieldMapping() {
  for (std::size_t i = 0; i < kMetadataFieldCount; ++i) columns_[i] = kDefaultColumns[i];
}

core::StatusOr<FieldMapping> FieldMapping::fromConfig(
    const std::map<std::string, std::string>& fields, const std::string& source) {
  FieldMapping mapping;
  for (const auto& [key, column] : fields) {
    std::size_t index = kMetadataFieldCount;
    for (std::size_t i = 0; i < kMetadataFieldCount; ++i) {
      if (key == kFieldNames[i]) index = i;
    }
    if (index == kMetadataFieldCount) {
      std::string known;
      for (const char* name : kFieldNames) known += std::string(known.empty() ? "" : ", ") + name;
      return core::invalidArgument(source + ": connector.fields." + key +
                                   ": unknown field (known: " + known + ")");
    }
    if (trim(column).empty()) {
      return core::invalidArgument(source + ": connector.fields." + key + ": empty column name");
    }
    mapping.columns_[index] = trim(column);
  }
  return mapping;
}

core::StatusOr<DocumentMetadata> FieldMapping::read(const nlohmann::json& columns) const {
  DocumentMetadata m;
  if (!columns.is_object()) {
    return core::invalidArgument("metadata is not a JSON object: " + columns.dump());
  }
  auto value = [&](MetadataField f) -> const nlohmann::json* {
    auto it = columns.find(column(f));
    if (it == columns.end() || it->is_null()) return nullptr;
    return &*it;
  };
  using F = MetadataField;
  if (auto* v = value(F::kLocality)) {
    SENDFLOW_ASSIGN_OR_RETURN(m.locality, readText(column(F::kLocality), *v));
  }
  if (auto* v = value(F::kFinalisedDate)) {
    SENDFLOW_ASSIGN_OR_RETURN(m.finalised_date, readDate(column(F::kFinalisedDate), *v));
  }
  if (auto* v = value(F::kRequestDate)) {
    SENDFLOW_ASSIGN_OR_RETURN(m.request_date, readDate(column(F::kRequestDate), *v));
  }
  if (auto* v = value(F::kReviewDate)) {
    SENDFLOW_ASSIGN_OR_RETURN(m.review_date, readDate(column(F::kReviewDate), *v));
  }
  if (auto* v = value(F::kCaseworker)) {
    SENDFLOW_ASSIGN_OR_RETURN(m.caseworker, readText(column(F::kCaseworker), *v));
  }
  if (auto* v = value(F::kContributors)) {
    SENDFLOW_ASSIGN_OR_RETURN(m.contributors, readPeople(column(F::kContributors), *v));
  }
  if (auto* v = value(F::kYearGroup)) {
    SENDFLOW_ASSIGN_OR_RETURN(m.year_group, readYearGroup(column(F::kYearGroup), *v));
  }
  if (auto* v = value(F::kSetting)) {
    SENDFLOW_ASSIGN_OR_RETURN(m.setting, readText(column(F::kSetting), *v));
  }
  if (auto* v = value(F::kDocumentType)) {
    SENDFLOW_ASSIGN_OR_RETURN(m.document_type, readText(column(F::kDocumentType), *v));
  }
  return m;
}

nlohmann::json FieldMapping::write(const DocumentMetadata& m) const {
  nlohmann::json out = nlohmann::json::object();
  using F = MetadataField;
  auto put = [&](F f, const std::string& v) {
    if (!v.empty()) out[column(f)] = v;
  };
  put(F::kLocality, m.locality);
  put(F::kFinalisedDate, m.finalised_date);
  put(F::kRequestDate, m.request_date);
  put(F::kReviewDate, m.review_date);
  put(F::kCaseworker, m.caseworker);
  if (!m.contributors.empty()) out[column(F::kContributors)] = m.contributors;
  put(F::kYearGroup, m.year_group);
  put(F::kSetting, m.setting);
  put(F::kDocumentType, m.document_type);
  return out;
}

std::string columnText(const nlohmann::json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number()) return numberText(value.get<double>());
  if (const nlohmann::json* list = listOf(value)) {
    std::string text;
    for (const auto& entry : *list) text += (text.empty() ? "" : "; ") + columnText(entry);
    return text;
  }
  std::string name = personName(value);
  return name.empty() ? value.dump() : name;
}

std::map<std::string, std::string> columnsAsText(const nlohmann::json& columns) {
  std::map<std::string, std::string> text;
  if (!columns.is_object()) return text;
  for (const auto& [key, value] : columns.items()) {
    if (key.rfind("__", 0) == 0 || key.rfind("odata.", 0) == 0 || key.rfind("@odata", 0) == 0) {
      continue;
    }
    text[key] = columnText(value);
  }
  return text;
}

}  // namespace sendflow::connectors
