#include "server/engine/definition_loader.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "server/core/json_text.h"
#include "server/engine/schedule.h"

namespace sendflow::engine {

extern const char kWorkflowSchemaText[];  // workflows/schema/workflow.xsd, compiled in

namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Positions. libxml2 gives elements a line but no column and attributes neither, so the raw
// text is scanned once for start tags; the n-th start tag is the n-th element in document order.

struct TagPosition {
  int line = 0;
  int column = 0;
  int content_line = 0;  // just after the start tag's '>'
  int content_column = 0;
  std::map<std::string, std::pair<int, int>> attributes;  // name -> start of the value
};

struct ScannedText {
  std::vector<TagPosition> tags;
  bool has_doctype = false;
  int doctype_line = 0;
  int doctype_column = 0;
  // Byte offset in the text of each attribute value's first character and of each element's
  // first non-blank content character, by (line, column): maps expression errors, which are
  // counted in the decoded text, back to the file (entities such as &gt; are longer there).
  std::map<std::pair<int, int>, std::size_t> offsets;
};

ScannedText scanTags(std::string_view text) {
  ScannedText out;
  int line = 1, column = 1;
  std::size_t pos = 0;
  auto advance = [&](std::size_t to) {
    for (; pos < to && pos < text.size(); ++pos) {
      if (text[pos] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
  };
  auto skipPast = [&](std::string_view end) {
    const std::size_t found = text.find(end, pos);
    advance(found == std::string_view::npos ? text.size() : found + end.size());
  };
  while (pos < text.size()) {
    const std::size_t lt = text.find('<', pos);
    if (lt == std::string_view::npos) break;
    advance(lt);
    const std::string_view rest = text.substr(pos);
    if (rest.starts_with("<!--")) {
      skipPast("-->");
    } else if (rest.starts_with("<![CDATA[")) {
      skipPast("]]>");
    } else if (rest.starts_with("<?")) {
      skipPast("?>");
    } else if (rest.starts_with("<!")) {
      if (rest.starts_with("<!DOCTYPE") && !out.has_doctype) {
        out.has_doctype = true;
        out.doctype_line = line;
        out.doctype_column = column;
      }
      skipPast(">");
    } else if (rest.starts_with("</")) {
      skipPast(">");
    } else {
      TagPosition tag;
      tag.line = line;
      tag.column = column;
      advance(pos + 1);
      while (pos < text.size() && !std::isspace(static_cast<unsigned char>(text[pos])) &&
             text[pos] != '>' && text[pos] != '/') {
        advance(pos + 1);
      }
      // Attributes: name = "value" | 'value'
      while (pos < text.size() && text[pos] != '>') {
        if (std::isspace(static_cast<unsigned char>(text[pos])) || text[pos] == '/') {
          advance(pos + 1);
          continue;
        }
        const std::size_t name_start = pos;
        while (pos < text.size() && text[pos] != '=' && text[pos] != '>' &&
               !std::isspace(static_cast<unsigned char>(text[pos]))) {
          advance(pos + 1);
        }
        std::string name(text.substr(name_start, pos - name_start));
        while (pos < text.size() &&
               (std::isspace(static_cast<unsigned char>(text[pos])) || text[pos] == '=')) {
          advance(pos + 1);
        }
        if (pos < text.size() && (text[pos] == '"' || text[pos] == '\'')) {
          const char quote = text[pos];
          advance(pos + 1);
          tag.attributes[name] = {line, column};
          out.offsets[{line, column}] = pos;
          const std::size_t close = text.find(quote, pos);
          advance(close == std::string_view::npos ? text.size() : close + 1);
        }
      }
      advance(pos + 1);  // '>'
      tag.content_line = line;
      tag.content_column = column;
      {
        std::size_t p = pos;
        int l = line, c = column;
        while (p < text.size() &&
               (text[p] == ' ' || text[p] == '\t' || text[p] == '\r' || text[p] == '\n')) {
          if (text[p] == '\n') {
            ++l;
            c = 1;
          } else {
            ++c;
          }
          ++p;
        }
        out.offsets[{l, c}] = p;
      }
      out.tags.push_back(std::move(tag));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// libxml2 plumbing

struct DocFree {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocFree>;

struct RawError {
  int line = 0;
  int column = 0;
  xmlNode* node = nullptr;
  std::string message;
};

void ignoreGenericError(void*, const char*, ...) {}

void collectError(void* sink, xmlError* error) {
  if (!error || !sink) return;
  if (error->level == XML_ERR_WARNING) return;
  RawError raw;
  raw.line = error->line;
  raw.column = error->int2;
  raw.node = static_cast<xmlNode*>(error->node);
  raw.message = error->message ? error->message : "unknown XML error";
  while (!raw.message.empty() && (raw.message.back() == '\n' || raw.message.back() == ' ')) {
    raw.message.pop_back();
  }
  static_cast<std::vector<RawError>*>(sink)->push_back(std::move(raw));
}

// Sets libxml2's (thread-local) structured error handler for the life of the object.
class ErrorCapture {
 public:
  explicit ErrorCapture(std::vector<RawError>* sink) {
    xmlSetStructuredErrorFunc(sink, collectError);
    xmlSetGenericErrorFunc(nullptr, ignoreGenericError);
  }
  ~ErrorCapture() {
    xmlSetStructuredErrorFunc(nullptr, nullptr);
    xmlSetGenericErrorFunc(nullptr, nullptr);
  }
  ErrorCapture(const ErrorCapture&) = delete;
  ErrorCapture& operator=(const ErrorCapture&) = delete;
};

constexpr int kParseOptions = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOWARNING;

// The compiled schema, built once. xmlSchema is read-only after parsing, so validation
// contexts made from it may run on several threads at once.
xmlSchema* workflowSchema() {
  static xmlSchema* schema = [] {
    std::vector<RawError> errors;
    ErrorCapture capture(&errors);
    const std::string_view text(kWorkflowSchemaText);
    xmlSchemaParserCtxt* parser =
        xmlSchemaNewMemParserCtxt(text.data(), static_cast<int>(text.size()));
    xmlSchema* compiled = parser ? xmlSchemaParse(parser) : nullptr;
    if (parser) xmlSchemaFreeParserCtxt(parser);
    return compiled;
  }();
  return schema;
}

std::string stripNamespace(std::string message) {
  const std::string braced = std::string("{") + kWorkflowNamespace + "}";
  for (std::size_t at = message.find(braced); at != std::string::npos; at = message.find(braced)) {
    message.erase(at, braced.size());
  }
  return message;
}

std::optional<std::string> attribute(xmlNode* node, const char* name) {
  xmlChar* value = xmlGetProp(node, reinterpret_cast<const xmlChar*>(name));
  if (!value) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(value));
  xmlFree(value);
  return out;
}

std::string textOf(xmlNode* node) {
  xmlChar* value = xmlNodeGetContent(node);
  if (!value) return "";
  std::string out(reinterpret_cast<const char*>(value));
  xmlFree(value);
  return out;
}

std::string_view nameOf(xmlNode* node) { return reinterpret_cast<const char*>(node->name); }

std::vector<xmlNode*> children(xmlNode* node, std::string_view name = {}) {
  std::vector<xmlNode*> out;
  for (xmlNode* child = node->children; child; child = child->next) {
    if (child->type != XML_ELEMENT_NODE) continue;
    if (name.empty() || nameOf(child) == name) out.push_back(child);
  }
  return out;
}

xmlNode* firstChild(xmlNode* node, std::string_view name) {
  for (xmlNode* child : children(node, name)) return child;
  return nullptr;
}

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

// Parses a literal default or schedule value for an input of `type`.
bool valueForType(ValueType type, const std::string& text, json& out, std::string& error) {
  switch (type) {
    case ValueType::kString:
      out = text;
      return true;
    case ValueType::kNumber: {
      char* end = nullptr;
      const double n = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || !std::isfinite(n)) {
        error = "'" + text + "' is not a number";
        return false;
      }
      if (n == std::floor(n) && std::fabs(n) < 1e15)
        out = static_cast<long long>(n);
      else
        out = n;
      return true;
    }
    case ValueType::kBoolean:
      if (text == "true" || text == "false") {
        out = text == "true";
        return true;
      }
      error = "'" + text + "' is not true or false";
      return false;
    case ValueType::kDate: {
      core::TimePoint t;
      if (text.size() == 10 && core::parseIso8601(text, t)) {
        out = text;
        return true;
      }
      error = "'" + text + "' is not a date (write YYYY-MM-DD)";
      return false;
    }
    case ValueType::kDateTime: {
      core::TimePoint t;
      if (core::parseIso8601(text, t)) {
        out = core::formatIso8601(t);
        return true;
      }
      error = "'" + text + "' is not a date-time (write YYYY-MM-DDTHH:MM:SSZ)";
      return false;
    }
    case ValueType::kDuration: {
      Duration d;
      if (parseDuration(text, d)) {
        out = formatDuration(d);
        return true;
      }
      error = "'" + text + "' is not a duration (write for example '2 weeks' or 'P2W')";
      return false;
    }
    case ValueType::kList:
    case ValueType::kObject:
    case ValueType::kNull:
    case ValueType::kAny: {
      auto value = core::parseJsonText(text);
      if (!value.isOk()) {
        if (type == ValueType::kAny) {
          out = text;
          return true;
        }
        error = "'" + text + "' is not JSON (" + value.status().message() + ")";
        return false;
      }
      json parsed = std::move(value).value();
      if (type == ValueType::kList && !parsed.is_array()) {
        error = "'" + text + "' is not a JSON list";
        return false;
      }
      if (type == ValueType::kObject && !parsed.is_object()) {
        error = "'" + text + "' is not a JSON object";
        return false;
      }
      out = std::move(parsed);
      return true;
    }
  }
  return false;
}

// Parses a literal default or schedule value of `input` and checks it as a start would.
bool inputValue(const InputDecl& input, const std::string& text, json& out, std::string& error) {
  if (!valueForType(input.type, text, out, error)) return false;
  error = input.problemWith(out);
  return error.empty();
}

ValueType fieldValueType(FieldType type) {
  switch (type) {
    case FieldType::kNumber:
    case FieldType::kInteger:
      return ValueType::kNumber;
    case FieldType::kBoolean:
      return ValueType::kBoolean;
    case FieldType::kDate:
      return ValueType::kDate;
    default:
      return ValueType::kString;
  }
}

bool parseFieldType(std::string_view text, FieldType& out) {
  static const std::pair<std::string_view, FieldType> kTypes[] = {
      {"text", FieldType::kText},       {"long-text", FieldType::kLongText},
      {"number", FieldType::kNumber},   {"integer", FieldType::kInteger},
      {"boolean", FieldType::kBoolean}, {"date", FieldType::kDate},
      {"choice", FieldType::kChoice},   {"grade", FieldType::kGrade},
  };
  for (const auto& [name, type] : kTypes) {
    if (name == text) {
      out = type;
      return true;
    }
  }
  return false;
}

std::string listTypes(std::initializer_list<ValueType> types) {
  std::string out;
  std::size_t i = 0;
  for (ValueType t : types) {
    if (i > 0) out += i + 1 == types.size() ? " or " : ", ";
    out += valueTypeName(t);
    ++i;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Building a Definition from a schema-valid document

class DefinitionBuilder {
 public:
  DefinitionBuilder(std::string label, const LoaderOptions& options,
                    std::map<xmlNode*, const TagPosition*> positions, std::string_view source,
                    const std::map<std::pair<int, int>, std::size_t>& offsets)
      : label_(std::move(label)),
        options_(options),
        positions_(std::move(positions)),
        source_(source),
        offsets_(offsets) {
    compile_options_.calendar = options.calendar;
  }

  std::vector<DefinitionProblem>& problems() { return problems_; }

  std::shared_ptr<Definition> build(xmlNode* root) {
    auto definition = std::make_shared<Definition>();
    definition->id = attribute(root, "id").value_or("");
    definition->version = std::atoi(attribute(root, "version").value_or("1").c_str());
    definition->title = attribute(root, "title").value_or("");
    if (xmlNode* description = firstChild(root, "description")) {
      definition->description = trim(textOf(description));
    }
    if (xmlNode* roles = firstChild(root, "roles")) readRoles(roles, *definition);
    if (xmlNode* inputs = firstChild(root, "inputs")) readInputs(inputs, *definition);
    xmlNode* steps = firstChild(root, "steps");
    environment_["now"] = ValueType::kDateTime;
    environment_["today"] = ValueType::kDate;
    for (const InputDecl& input : definition->inputs) {
      environment_[input.name] = input.type;
      input_names_.insert(input.name);
      input_types_[input.name] = input.type;
    }
    if (steps) collectResultNames(steps);
    if (xmlNode* schedules = firstChild(root, "schedules")) readSchedules(schedules, *definition);
    if (steps) definition->body = readBlock(steps, environment_);
    checkBlocks(definition->body);
    return definition;
  }

 private:
  // --- positions and problems ---
  SourceLocation at(xmlNode* node) const {
    SourceLocation where{label_, node ? static_cast<int>(xmlGetLineNo(node)) : 0, 0};
    if (const auto it = positions_.find(node); it != positions_.end()) {
      where.line = it->second->line;
      where.column = it->second->column;
    }
    return where;
  }
  SourceLocation atAttribute(xmlNode* node, const char* name) const {
    if (const auto it = positions_.find(node); it != positions_.end()) {
      if (const auto a = it->second->attributes.find(name); a != it->second->attributes.end()) {
        return SourceLocation{label_, a->second.first, a->second.second};
      }
    }
    return at(node);
  }
  SourceLocation atContent(xmlNode* node) const {
    if (const auto it = positions_.find(node); it != positions_.end()) {
      SourceLocation where{label_, it->second->content_line, it->second->content_column};
      // Leading blanks of the text do not count.
      const std::string raw = textOf(node);
      for (char c : raw) {
        if (c == '\n') {
          ++where.line;
          where.column = 1;
        } else if (c == ' ' || c == '\t' || c == '\r') {
          ++where.column;
        } else {
          break;
        }
      }
      return where;
    }
    return at(node);
  }

  void problem(const SourceLocation& where, std::string message) {
    problems_.push_back({where, std::move(message)});
  }

  // A compile failure's message already starts with "file:line:column: ".
  void problemFromStatus(const core::Status& status, const SourceLocation& fallback) {
    const std::string& message = status.message();
    const std::string prefix = label_ + ":";
    if (message.starts_with(prefix)) {
      int line = 0, column = 0, consumed = 0;
      if (std::sscanf(message.c_str() + prefix.size(), "%d:%d: %n", &line, &column, &consumed) ==
              2 &&
          consumed > 0) {
        problem({label_, line, column}, message.substr(prefix.size() + consumed));
        return;
      }
    }
    problem(fallback, message);
  }

  // Options for compiling `text`, decoded from the file at `start`: when entities (&gt;) or
  // line breaks make the decoded text differ from the file, each byte's position in the file,
  // so that errors point at the right column.
  CompileOptions optionsFor(const SourceLocation& start, const std::string& text) const {
    CompileOptions options = compile_options_;
    const auto origin = offsets_.find({start.line, start.column});
    if (origin == offsets_.end()) return options;
    std::vector<std::pair<int, int>> positions;
    positions.reserve(text.size());
    bool differs = false;
    int line = start.line, column = start.column;
    std::size_t raw = origin->second;
    for (std::size_t i = 0; i < text.size() && raw < source_.size(); ++i) {
      positions.emplace_back(line, column);
      const char ch = source_[raw];
      if (ch == '&') {
        const std::size_t semicolon = source_.find(';', raw);
        if (semicolon != std::string_view::npos && semicolon - raw < 12) {
          column += static_cast<int>(semicolon - raw + 1);
          raw = semicolon + 1;
          differs = true;
          continue;
        }
      }
      if (ch == '\r' && raw + 1 < source_.size() && source_[raw + 1] == '\n') ++raw;
      if (source_[raw] == '\n') {
        ++line;
        column = 1;
        differs = differs || text[i] != '\n';
      } else {
        ++column;
      }
      ++raw;
    }
    if (differs) options.positions = std::move(positions);
    return options;
  }

  // --- expressions ---
  std::shared_ptr<const Expression> compileText(const std::string& text,
                                                const SourceLocation& where,
                                                const TypeEnvironment& env) {
    auto compiled = Expression::compile(text, env, where, optionsFor(where, text));
    if (!compiled.isOk()) {
      problemFromStatus(compiled.status(), where);
      return nullptr;
    }
    return *compiled;
  }

  // Compiles attribute `name` of `node` when present; checks its type against `allowed`.
  std::shared_ptr<const Expression> expression(xmlNode* node, const char* name,
                                               const TypeEnvironment& env,
                                               std::initializer_list<ValueType> allowed,
                                               const std::string& what) {
    const std::optional<std::string> text = attribute(node, name);
    if (!text) return nullptr;
    const SourceLocation where = atAttribute(node, name);
    auto compiled = compileText(*text, where, env);
    if (compiled) checkType(*compiled, where, allowed, what);
    return compiled;
  }

  void checkType(const Expression& e, const SourceLocation& where,
                 std::initializer_list<ValueType> allowed, const std::string& what) {
    if (allowed.size() == 0 || e.resultType() == ValueType::kAny) return;
    for (ValueType t : allowed) {
      if (t == e.resultType()) return;
    }
    problem(where, what + " must be a " + listTypes(allowed) + ", but '" + e.text() + "' gives " +
                       withArticleName(e.resultType()));
  }

  static std::string withArticleName(ValueType t) {
    const std::string name = valueTypeName(t);
    return (std::string("aeiou").find(name[0]) != std::string::npos ? "an " : "a ") + name;
  }

  // A duration attribute: "2 weeks", "10 working days", "P2W", or an expression giving one.
  std::shared_ptr<const Expression> duration(xmlNode* node, const char* name,
                                             const TypeEnvironment& env, const std::string& what,
                                             const char* fallback = nullptr) {
    std::optional<std::string> text = attribute(node, name);
    SourceLocation where = atAttribute(node, name);
    if (!text) {
      if (!fallback) return nullptr;
      text = fallback;
      where = at(node);
    }
    Duration literal;
    if (parseDuration(*text, literal) && !text->empty() && (*text)[0] == 'P') {
      // ISO 8601 written directly: wrap it so it compiles.
      return compileText("duration('" + *text + "')", where, env);
    }
    auto compiled = Expression::compile(*text, env, where, compile_options_);
    if (!compiled.isOk()) {
      problem(where, "invalid duration '" + *text + "' in " + what +
                         ": write for example '2 weeks', '10 working days' or '4 hours'");
      return nullptr;
    }
    if ((*compiled)->resultType() != ValueType::kDuration &&
        (*compiled)->resultType() != ValueType::kAny) {
      problem(where, "invalid duration '" + *text + "' in " + what + ": it gives " +
                         withArticleName((*compiled)->resultType()) +
                         "; write for example '2 weeks', '10 working days' or '4 hours'");
      return nullptr;
    }
    return *compiled;
  }

  // --- header parts ---
  void readRoles(xmlNode* roles, Definition& definition) {
    for (xmlNode* role : children(roles, "role")) {
      const std::string id = attribute(role, "id").value_or("");
      if (role_lines_.count(id)) {
        problem(atAttribute(role, "id"), "duplicate role '" + id + "' (first declared on line " +
                                             std::to_string(role_lines_[id]) + ")");
        continue;
      }
      role_lines_[id] = at(role).line;
      definition.roles.push_back(id);
    }
  }

  // The min and max attributes of a field or an input (`label`), which only `numeric` ones take
  // (`kinds`: "fields", "inputs", for the message).
  void readRange(xmlNode* node, const std::string& label, bool numeric, const char* kinds,
                 std::optional<double>& min, std::optional<double>& max) {
    for (const char* bound : {"min", "max"}) {
      if (const auto text = attribute(node, bound)) {
        if (!numeric) {
          problem(atAttribute(node, bound),
                  label + ": '" + bound + "' only applies to number and integer " + kinds);
          continue;
        }
        (std::string_view(bound) == "min" ? min : max) = std::strtod(text->c_str(), nullptr);
      }
    }
    if (min && max && *min > *max) {
      problem(atAttribute(node, "min"), label + ": min " + attribute(node, "min").value_or("") +
                                            " is greater than max " +
                                            attribute(node, "max").value_or(""));
    }
  }

  void readInputs(xmlNode* inputs, Definition& definition) {
    std::map<std::string, int> seen;
    for (xmlNode* node : children(inputs, "input")) {
      InputDecl input;
      input.name = attribute(node, "name").value_or("");
      input.where = at(node);
      if (seen.count(input.name)) {
        problem(atAttribute(node, "name"), "duplicate input '" + input.name +
                                               "' (first declared on line " +
                                               std::to_string(seen[input.name]) + ")");
        continue;
      }
      seen[input.name] = input.where.line;
      const std::string type_text = attribute(node, "type").value_or("string");
      if (type_text == "integer") {
        input.type = ValueType::kNumber;
        input.whole_number = true;
      } else {
        parseValueType(type_text, input.type);
      }
      input.required = attribute(node, "required").value_or("true") == "true";
      input.description = attribute(node, "description").value_or("");
      readRange(node, "input '" + input.name + "'", input.type == ValueType::kNumber, "inputs",
                input.min, input.max);
      if (const auto text = attribute(node, "default")) {
        json value;
        std::string error;
        if (inputValue(input, *text, value, error)) {
          input.default_value = std::move(value);
        } else {
          problem(atAttribute(node, "default"),
                  "the default of input '" + input.name + "' is invalid: " + error);
        }
      }
      definition.inputs.push_back(std::move(input));
    }
  }

  void readSchedules(xmlNode* schedules, Definition& definition) {
    std::map<std::string, int> seen;
    for (xmlNode* node : children(schedules, "schedule")) {
      Schedule schedule;
      schedule.id = attribute(node, "id").value_or("");
      schedule.where = at(node);
      if (seen.count(schedule.id)) {
        problem(atAttribute(node, "id"), "duplicate schedule '" + schedule.id +
                                             "' (first declared on line " +
                                             std::to_string(seen[schedule.id]) + ")");
      }
      seen[schedule.id] = schedule.where.line;
      const std::string cadence = attribute(node, "cadence").value_or("monthly");
      parseCadence(cadence, schedule.cadence);
      schedule.day_of_month = std::atoi(attribute(node, "day-of-month").value_or("1").c_str());
      const std::string time = attribute(node, "time").value_or("09:00");
      schedule.minute_of_day =
          std::atoi(time.substr(0, 2).c_str()) * 60 + std::atoi(time.substr(3, 2).c_str());
      if (schedule.cadence == Cadence::kCron) {
        if (const auto cron = attribute(node, "cron")) {
          schedule.cron = *cron;
          const core::Status valid = checkCron(*cron);
          if (!valid.isOk()) {
            problem(atAttribute(node, "cron"),
                    "schedule '" + schedule.id + "': " + valid.message());
          }
        } else {
          problem(at(node), "schedule '" + schedule.id +
                                "' has cadence 'cron' but no cron attribute (for example "
                                "cron=\"0 9 1 * *\")");
        }
      } else if (attribute(node, "cron")) {
        problem(atAttribute(node, "cron"),
                "schedule '" + schedule.id + "': a cron attribute needs cadence=\"cron\"");
      }
      for (xmlNode* input_node : children(node, "input")) {
        const std::string name = attribute(input_node, "name").value_or("");
        const std::string text = attribute(input_node, "value").value_or("");
        const auto declared = std::find_if(definition.inputs.begin(), definition.inputs.end(),
                                           [&](const InputDecl& d) { return d.name == name; });
        if (declared == definition.inputs.end()) {
          problem(atAttribute(input_node, "name"),
                  "schedule '" + schedule.id + "' gives input '" + name +
                      "', which the workflow does not declare in <inputs>");
          continue;
        }
        json value;
        std::string error;
        if (!inputValue(*declared, text, value, error)) {
          problem(atAttribute(input_node, "value"),
                  "schedule '" + schedule.id + "', input '" + name + "': " + error);
          continue;
        }
        schedule.input[name] = std::move(value);
      }
      for (const InputDecl& input : definition.inputs) {
        if (input.required && !input.default_value && !schedule.input.contains(input.name)) {
          problem(at(node), "schedule '" + schedule.id + "' does not give the required input '" +
                                input.name + "' (add <input name=\"" + input.name +
                                "\" value=\"...\"/> or a default)");
        }
      }
      definition.schedules.push_back(std::move(schedule));
    }
  }

  static bool parseCadence(std::string_view text, Cadence& out) {
    static const std::pair<std::string_view, Cadence> kCadences[] = {
        {"cron", Cadence::kCron},           {"monthly", Cadence::kMonthly},
        {"termly", Cadence::kTermly},       {"six-monthly", Cadence::kSixMonthly},
        {"quarterly", Cadence::kQuarterly}, {"annually", Cadence::kAnnually},
    };
    for (const auto& [name, cadence] : kCadences) {
      if (name == text) {
        out = cadence;
        return true;
      }
    }
    return false;
  }

  // --- the names step results are stored under, visible to every expression ---
  void collectResultNames(xmlNode* block) {
    for (xmlNode* node : children(block)) {
      const std::string_view kind = nameOf(node);
      const std::string id = attribute(node, "id").value_or("");
      const std::string name = attribute(node, "into").value_or(id);
      auto declare = [&](const std::string& n, ValueType t) {
        if (n.empty()) return;
        const auto it = environment_.find(n);
        if (it == environment_.end())
          environment_[n] = t;
        else if (!input_names_.count(n) && it->second != t)
          it->second = ValueType::kAny;
      };
      if (kind == "task" || kind == "approval" || kind == "subworkflow") {
        declare(name, ValueType::kObject);
      } else if (kind == "action" || kind == "decision-table") {
        declare(name, ValueType::kAny);
      } else if (kind == "foreach") {
        declare(name, ValueType::kList);
        collectResultNames(node);
      } else if (kind == "set") {
        for (xmlNode* assign : children(node, "assign")) {
          declare(attribute(assign, "name").value_or(""), ValueType::kAny);
        }
      } else if (kind == "parallel") {
        for (xmlNode* branch : children(node, "branch")) collectResultNames(branch);
      }
    }
  }

  // --- blocks and steps ---
  Block readBlock(xmlNode* container, const TypeEnvironment& env) {
    Block block;
    for (xmlNode* node : children(container)) {
      if (nameOf(node) == "branch") continue;
      block.steps.push_back(readStep(node, env));
    }
    return block;
  }

  Step readStep(xmlNode* node, const TypeEnvironment& env) {
    Step step;
    step.id = attribute(node, "id").value_or("");
    step.title = attribute(node, "title").value_or("");
    if (xmlNode* description = firstChild(node, "description")) {
      // Collapse the indentation of the XML into single spaces.
      std::string text;
      bool space = false;
      for (char c : trim(textOf(description))) {
        const bool ws = c == ' ' || c == '\n' || c == '\t' || c == '\r';
        if (ws && !space) text.push_back(' ');
        if (!ws) text.push_back(c);
        space = ws;
      }
      step.description = text;
    }
    step.next = attribute(node, "next").value_or("");
    step.into = attribute(node, "into").value_or("");
    step.where = at(node);
    if (!step.next.empty()) ref_where_[step.id]["next"] = atAttribute(node, "next");
    if (const auto it = step_lines_.find(step.id); it != step_lines_.end()) {
      problem(atAttribute(node, "id"), "duplicate step id '" + step.id + "' (first used on line " +
                                           std::to_string(it->second) + ")");
    } else {
      step_lines_[step.id] = step.where.line;
    }
    const std::string_view kind = nameOf(node);
    const std::string label = std::string(kind) + " '" + step.id + "'";
    if (kind == "task" || kind == "approval") {
      step.kind = kind == "task" ? StepKind::kTask : StepKind::kApproval;
      readHuman(node, step, env, label);
      if (kind == "task") {
        if (xmlNode* form = firstChild(node, "form")) step.form = readForm(form, step, env);
      } else {
        step.on_reject = attribute(node, "on-reject").value_or("");
        ref_where_[step.id]["on-reject"] = atAttribute(node, "on-reject");
      }
    } else if (kind == "action") {
      step.kind = StepKind::kAction;
      step.action = attribute(node, "action").value_or("");
      if (!options_.known_actions.empty() && !options_.known_actions.count(step.action)) {
        std::string known;
        for (const std::string& name : options_.known_actions) {
          known += (known.empty() ? "" : ", ") + name;
        }
        problem(atAttribute(node, "action"), "unknown action '" + step.action + "' in " + label +
                                                 " (known actions: " + known + ")");
      }
      if (const auto retries = attribute(node, "retries")) {
        step.max_attempts = std::atoi(retries->c_str()) + 1;
      }
      step.backoff = duration(node, "backoff", env, "the backoff of " + label);
      step.max_backoff = duration(node, "max-backoff", env, "the max-backoff of " + label);
      for (xmlNode* param : children(node, "param")) {
        const std::string name = attribute(param, "name").value_or("");
        if (step.params.count(name)) {
          problem(atAttribute(param, "name"), "duplicate parameter '" + name + "' in " + label);
          continue;
        }
        step.params[name] = expression(param, "expr", env, {}, "parameter '" + name + "'");
      }
    } else if (kind == "set") {
      step.kind = StepKind::kSet;
      for (xmlNode* assign : children(node, "assign")) {
        const std::string name = attribute(assign, "name").value_or("");
        auto value = expression(assign, "expr", env, {}, "value of '" + name + "'");
        const auto declared = environment_.find(name);
        if (value && input_types_.count(name) && declared != environment_.end()) {
          checkType(*value, atAttribute(assign, "expr"), {declared->second, ValueType::kNull},
                    "the new value of input '" + name + "'");
        }
        step.assignments.emplace_back(name, value);
      }
    } else if (kind == "decision") {
      step.kind = StepKind::kDecision;
      for (xmlNode* when : children(node, "when")) {
        DecisionBranch branch;
        branch.where = at(when);
        branch.next = attribute(when, "goto").value_or("");
        ref_where_[step.id]["goto#" + std::to_string(step.branches.size())] =
            atAttribute(when, "goto");
        branch.condition = expression(when, "test", env, {ValueType::kBoolean},
                                      "the test of a 'when' in " + label);
        step.branches.push_back(std::move(branch));
      }
      if (xmlNode* otherwise = firstChild(node, "otherwise")) {
        step.otherwise = attribute(otherwise, "goto").value_or("");
        ref_where_[step.id]["otherwise"] = atAttribute(otherwise, "goto");
      }
    } else if (kind == "decision-table") {
      step.kind = StepKind::kDecisionTable;
      step.table = readDecisionTable(node, step, env);
    } else if (kind == "parallel") {
      step.kind = StepKind::kParallel;
      for (xmlNode* branch : children(node, "branch")) {
        step.branches_blocks.push_back(readBlock(branch, env));
      }
    } else if (kind == "foreach") {
      step.kind = StepKind::kForEach;
      step.item_name = attribute(node, "as").value_or("item");
      step.items = expression(node, "items", env, {}, "");
      if (step.items && step.items->resultType() != ValueType::kList &&
          step.items->resultType() != ValueType::kAny) {
        problem(atAttribute(node, "items"), "the items of " + label + " must be a list, but '" +
                                                step.items->text() + "' gives " +
                                                withArticleName(step.items->resultType()));
      }
      TypeEnvironment body_env = env;
      body_env[step.item_name] = ValueType::kAny;
      body_env["index"] = ValueType::kNumber;  // 0-based position of the item
      TypeEnvironment completion_env = env;
      completion_env["completed"] = ValueType::kNumber;
      completion_env["total"] = ValueType::kNumber;
      step.completion = expression(node, "complete-when", completion_env, {ValueType::kBoolean},
                                   "the complete-when of " + label);
      step.body = readBlock(node, body_env);
    } else if (kind == "timer") {
      step.kind = StepKind::kTimer;
      const bool has_until = attribute(node, "until").has_value();
      const bool has_after = attribute(node, "after").has_value();
      if (has_until == has_after) {
        problem(at(node), label +
                              " needs exactly one of 'until' (a date or date-time) and 'after' "
                              "(a duration)");
      }
      step.until = expression(node, "until", env, {ValueType::kDate, ValueType::kDateTime},
                              "the 'until' of " + label);
      step.after = duration(node, "after", env, "the 'after' of " + label);
    } else if (kind == "subworkflow") {
      step.kind = StepKind::kSubWorkflow;
      step.workflow = attribute(node, "workflow").value_or("");
      if (!options_.known_workflows.empty() && !options_.known_workflows.count(step.workflow)) {
        problem(atAttribute(node, "workflow"), label + " starts workflow '" + step.workflow +
                                                   "', which is not a workflow in the same folder");
      }
      for (xmlNode* input : children(node, "input")) {
        const std::string name = attribute(input, "name").value_or("");
        if (step.inputs.count(name)) {
          problem(atAttribute(input, "name"), "duplicate input '" + name + "' in " + label);
          continue;
        }
        step.inputs[name] = expression(input, "expr", env, {}, "input '" + name + "'");
      }
    } else if (kind == "end") {
      step.kind = StepKind::kEnd;
      step.end_status = attribute(node, "status").value_or("completed");
      if (!step.next.empty()) problem(atAttribute(node, "next"), label + " cannot have 'next'");
    }
    return step;
  }

  void readHuman(xmlNode* node, Step& step, const TypeEnvironment& env, const std::string& label) {
    step.role = attribute(node, "role").value_or("");
    step.assignee =
        expression(node, "assignee", env, {ValueType::kString}, "the assignee of " + label);
    if (!step.role.empty() && !role_lines_.count(step.role)) {
      problem(atAttribute(node, "role"),
              label + " names role '" + step.role + "', which is not declared in <roles>");
    }
    if (step.role.empty() && !attribute(node, "assignee")) {
      problem(at(node), label +
                            " has neither a role nor an assignee: add role=\"...\" or "
                            "assignee=\"...\"");
    }
    step.due = expression(node, "due", env, {ValueType::kDate, ValueType::kDateTime},
                          "the due date of " + label);
    for (xmlNode* reminder_node : children(node, "reminder")) {
      Reminder reminder;
      reminder.where = at(reminder_node);
      reminder.before = duration(reminder_node, "before", env, "a reminder of " + label);
      step.reminders.push_back(std::move(reminder));
    }
    if (!step.due && !step.reminders.empty()) {
      problem(step.reminders.front().where, label + " has reminders but no due date");
    }
    for (xmlNode* escalation_node : children(node, "escalation")) {
      Escalation escalation;
      escalation.where = at(escalation_node);
      escalation.after =
          duration(escalation_node, "after", env, "an escalation of " + label, "0 days");
      escalation.to_role = attribute(escalation_node, "to-role").value_or("");
      escalation.to = expression(escalation_node, "to", env, {ValueType::kString},
                                 "the 'to' of an escalation of " + label);
      escalation.reassign = attribute(escalation_node, "reassign").value_or("false") == "true";
      if (!escalation.to_role.empty() && !role_lines_.count(escalation.to_role)) {
        problem(atAttribute(escalation_node, "to-role"), "an escalation of " + label +
                                                             " names role '" + escalation.to_role +
                                                             "', which is not declared in <roles>");
      }
      if (escalation.to_role.empty() && !escalation.to &&
          !attribute(escalation_node, "to").has_value()) {
        problem(escalation.where, "an escalation of " + label + " needs to-role or to");
      }
      if (!step.due) problem(escalation.where, label + " has an escalation but no due date");
      step.escalations.push_back(std::move(escalation));
    }
  }

  Form readForm(xmlNode* form_node, const Step& step, const TypeEnvironment& env) {
    Form form;
    std::map<std::string, int> seen;
    TypeEnvironment field_env = env;
    std::vector<xmlNode*> fields = children(form_node, "field");
    for (xmlNode* node : fields) {
      FieldType type = FieldType::kText;
      parseFieldType(attribute(node, "type").value_or("text"), type);
      field_env[attribute(node, "name").value_or("")] = fieldValueType(type);
    }
    for (xmlNode* node : fields) {
      FormField field;
      field.name = attribute(node, "name").value_or("");
      field.where = at(node);
      const std::string label = "field '" + field.name + "' of task '" + step.id + "'";
      if (seen.count(field.name)) {
        problem(atAttribute(node, "name"),
                "duplicate " + label + " (first on line " + std::to_string(seen[field.name]) + ")");
        continue;
      }
      seen[field.name] = field.where.line;
      parseFieldType(attribute(node, "type").value_or("text"), field.type);
      field.label = attribute(node, "label").value_or(field.name);
      field.help = attribute(node, "help").value_or("");
      field.required = attribute(node, "required").value_or("false") == "true";
      if (const auto choices = attribute(node, "choices")) {
        const SourceLocation where = atAttribute(node, "choices");
        if (field.type != FieldType::kChoice) {
          problem(where, label + " has choices, but only a field of type 'choice' takes them");
        }
        std::set<std::string> distinct;
        std::stringstream split(*choices);
        std::string choice;
        while (std::getline(split, choice, '|')) {
          choice = trim(choice);
          if (choice.empty()) {
            problem(where, label + " has an empty choice (choices are separated by '|')");
            continue;
          }
          if (!distinct.insert(choice).second) {
            problem(where, label + " lists the choice '" + choice + "' twice");
            continue;
          }
          field.choices.push_back(choice);
        }
        if (!choices->empty() && choices->back() == '|') {
          problem(where, label + " has an empty choice (choices are separated by '|')");
        }
      } else if (field.type == FieldType::kChoice) {
        problem(at(node), label + " is a choice but has no choices (add choices=\"A|B|C\")");
      }
      readRange(node, label, field.type == FieldType::kNumber || field.type == FieldType::kInteger,
                "fields", field.min, field.max);
      if (const auto text = attribute(node, "max-length")) {
        if (field.type != FieldType::kText && field.type != FieldType::kLongText) {
          problem(atAttribute(node, "max-length"),
                  label + ": 'max-length' only applies to text and long-text fields");
        } else {
          field.max_length = static_cast<std::size_t>(std::strtoul(text->c_str(), nullptr, 10));
        }
      }
      field.required_if = expression(node, "required-if", field_env, {ValueType::kBoolean},
                                     "the required-if of " + label);
      form.fields.push_back(std::move(field));
    }
    return form;
  }

  std::shared_ptr<const DecisionTable> readDecisionTable(xmlNode* node, const Step& step,
                                                         const TypeEnvironment& env) {
    auto table = std::make_shared<DecisionTable>();
    table->id = step.id;
    table->where = step.where;
    const std::string hit = attribute(node, "hit-policy").value_or("unique");
    table->hit_policy = hit == "first"     ? HitPolicy::kFirst
                        : hit == "collect" ? HitPolicy::kCollect
                                           : HitPolicy::kUnique;
    std::vector<ValueType> column_types;
    for (xmlNode* input : children(node, "input")) {
      auto compiled = expression(input, "expr", env, {}, "");
      table->input_labels.push_back(
          attribute(input, "label").value_or(attribute(input, "expr").value_or("")));
      column_types.push_back(compiled ? compiled->resultType() : ValueType::kAny);
      table->inputs.push_back(std::move(compiled));
    }
    std::set<std::string> outputs;
    for (xmlNode* output : children(node, "output")) {
      const std::string name = attribute(output, "name").value_or("");
      if (!outputs.insert(name).second) {
        problem(atAttribute(output, "name"),
                "decision table '" + step.id + "' has the output '" + name + "' twice");
      }
      table->outputs.push_back(name);
    }
    int number = 0;
    for (xmlNode* rule_node : children(node, "rule")) {
      ++number;
      DecisionRule rule;
      rule.where = at(rule_node);
      const std::vector<xmlNode*> tests = children(rule_node, "test");
      const std::vector<xmlNode*> results = children(rule_node, "result");
      const std::string label =
          "rule " + std::to_string(number) + " of decision table '" + step.id + "'";
      if (tests.size() != table->inputs.size()) {
        problem(rule.where, label + " has " + std::to_string(tests.size()) + " test" +
                                (tests.size() == 1 ? "" : "s") + " but the table has " +
                                std::to_string(table->inputs.size()) + " input" +
                                (table->inputs.size() == 1 ? "" : "s"));
      }
      if (results.size() != table->outputs.size()) {
        problem(rule.where, label + " has " + std::to_string(results.size()) + " result" +
                                (results.size() == 1 ? "" : "s") + " but the table has " +
                                std::to_string(table->outputs.size()) + " output" +
                                (table->outputs.size() == 1 ? "" : "s"));
      }
      for (std::size_t i = 0; i < tests.size(); ++i) {
        const ValueType column = i < column_types.size() ? column_types[i] : ValueType::kAny;
        const SourceLocation where = atContent(tests[i]);
        const std::string test_text = trim(textOf(tests[i]));
        auto compiled = Expression::compileUnaryTest(test_text, column, env, where,
                                                     optionsFor(where, test_text));
        if (!compiled.isOk()) {
          problemFromStatus(compiled.status(), where);
          rule.tests.push_back(nullptr);
        } else {
          rule.tests.push_back(*compiled);
        }
      }
      for (xmlNode* result : results) {
        rule.outputs.push_back(compileText(trim(textOf(result)), atContent(result), env));
      }
      table->rules.push_back(std::move(rule));
    }
    if (table->hit_policy == HitPolicy::kUnique) checkOverlaps(*table);
    return table;
  }

  // Two rules overlap when, column by column, their tests can hold for the same value. Only
  // literal tests can be compared; a column with anything else is given the benefit of doubt.
  void checkOverlaps(const DecisionTable& table) {
    for (std::size_t a = 0; a < table.rules.size(); ++a) {
      for (std::size_t b = a + 1; b < table.rules.size(); ++b) {
        const DecisionRule& ra = table.rules[a];
        const DecisionRule& rb = table.rules[b];
        if (ra.tests.size() != table.inputs.size() || rb.tests.size() != table.inputs.size()) {
          continue;
        }
        bool overlap = true;
        for (std::size_t c = 0; c < table.inputs.size() && overlap; ++c) {
          const auto& ta = ra.tests[c];
          const auto& tb = rb.tests[c];
          if (!ta || !tb) continue;  // "-" matches everything
          if (!ta->literalTest() || !tb->literalTest()) {
            overlap = false;  // cannot prove it
            continue;
          }
          overlap = ta->literalTest()->intersects(*tb->literalTest());
        }
        if (overlap) {
          problem(rb.where,
                  "decision table '" + table.id +
                      "' has overlapping rules under the unique hit policy: rule " +
                      std::to_string(a + 1) + " (line " + std::to_string(ra.where.line) +
                      ") and rule " + std::to_string(b + 1) + " (line " +
                      std::to_string(rb.where.line) +
                      ") can both match; make them exclusive or use hit-policy=\"first\"");
        }
      }
    }
  }

  // --- references and reachability, block by block ---
  void checkBlocks(const Block& block) {
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < block.steps.size(); ++i) index[block.steps[i].id] = i;
    auto target = [&](const Step& step, const std::string& to, const char* how,
                      const std::string& ref, std::vector<std::size_t>& next) {
      if (to.empty()) return;
      const auto it = index.find(to);
      if (it != index.end()) {
        next.push_back(it->second);
        return;
      }
      std::string message = std::string(stepKindName(step.kind)) + " '" + step.id + "' " + how +
                            " '" + to + "', but there is no step '" + to + "' in the same block";
      if (step_lines_.count(to)) {
        message += " (it is on line " + std::to_string(step_lines_[to]) +
                   ", inside another block; a step can only jump within its own block)";
      }
      SourceLocation where = step.where;
      if (const auto refs = ref_where_.find(step.id); refs != ref_where_.end()) {
        if (const auto it = refs->second.find(ref); it != refs->second.end()) where = it->second;
      }
      problem(where, message);
    };
    std::vector<std::vector<std::size_t>> successors(block.steps.size());
    for (std::size_t i = 0; i < block.steps.size(); ++i) {
      const Step& step = block.steps[i];
      std::vector<std::size_t>& next = successors[i];
      const bool falls_through = i + 1 < block.steps.size();
      switch (step.kind) {
        case StepKind::kEnd:
          break;
        case StepKind::kDecision:
          for (std::size_t b = 0; b < step.branches.size(); ++b) {
            target(step, step.branches[b].next, "goes to", "goto#" + std::to_string(b), next);
          }
          if (!step.otherwise.empty()) {
            target(step, step.otherwise, "otherwise goes to", "otherwise", next);
          } else if (falls_through) {
            next.push_back(i + 1);
          }
          break;
        default:
          if (!step.next.empty()) {
            target(step, step.next, "goes next to", "next", next);
          } else if (falls_through) {
            next.push_back(i + 1);
          }
          if (step.kind == StepKind::kApproval) {
            target(step, step.on_reject, "on reject goes to", "on-reject", next);
          }
          break;
      }
      for (const Block& branch : step.branches_blocks) checkBlocks(branch);
      if (step.kind == StepKind::kForEach) checkBlocks(step.body);
    }
    std::vector<bool> reached(block.steps.size(), false);
    std::vector<std::size_t> pending;
    if (!block.steps.empty()) {
      reached[0] = true;
      pending.push_back(0);
    }
    while (!pending.empty()) {
      const std::size_t i = pending.back();
      pending.pop_back();
      for (std::size_t n : successors[i]) {
        if (!reached[n]) {
          reached[n] = true;
          pending.push_back(n);
        }
      }
    }
    for (std::size_t i = 0; i < block.steps.size(); ++i) {
      if (!reached[i]) {
        const Step& step = block.steps[i];
        problem(step.where, std::string(stepKindName(step.kind)) + " '" + step.id +
                                "' can never be reached: no step before it falls through or "
                                "jumps to it");
      }
    }
  }

  std::string label_;
  const LoaderOptions& options_;
  std::map<xmlNode*, const TagPosition*> positions_;
  std::string_view source_;
  const std::map<std::pair<int, int>, std::size_t>& offsets_;
  CompileOptions compile_options_;
  std::vector<DefinitionProblem> problems_;
  TypeEnvironment environment_;
  std::set<std::string> input_names_;
  std::map<std::string, ValueType> input_types_;
  std::map<std::string, int> role_lines_;
  std::map<std::string, int> step_lines_;
  // Where each step's references are written: [step id]["next" | "otherwise" | "on-reject" |
  // "goto#N"].
  std::map<std::string, std::map<std::string, SourceLocation>> ref_where_;
};

void mapPositions(xmlNode* node, const std::vector<TagPosition>& tags, std::size_t& next,
                  std::map<xmlNode*, const TagPosition*>& out) {
  for (xmlNode* n = node; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    if (next < tags.size()) out[n] = &tags[next];
    ++next;
    mapPositions(n->children, tags, next, out);
  }
}

void sortProblems(std::vector<DefinitionProblem>& problems) {
  std::stable_sort(problems.begin(), problems.end(),
                   [](const DefinitionProblem& a, const DefinitionProblem& b) {
                     if (a.where.line != b.where.line) return a.where.line < b.where.line;
                     return a.where.column < b.where.column;
                   });
}

}  // namespace

core::Status LoadResult::status() const {
  if (problems.empty() && definition) return core::Status::ok();
  std::string message;
  for (const DefinitionProblem& p : problems) {
    if (!message.empty()) message += "\n";
    message += p.toString();
  }
  if (message.empty()) message = "the definition could not be loaded";
  return core::invalidArgument(message);
}

LoadResult DefinitionLoader::loadString(std::string_view text, const std::string& label,
                                        const LoaderOptions& options) {
  LoadResult result;
  const ScannedText scanned = scanTags(text);
  if (scanned.has_doctype) {
    result.problems.push_back({{label, scanned.doctype_line, scanned.doctype_column},
                               "a DOCTYPE is not allowed in a workflow definition (DTDs and "
                               "entities are switched off)"});
    return result;
  }
  if (text.size() > 8 * 1024 * 1024) {
    result.problems.push_back({{label, 0, 0}, "the file is larger than 8 MiB"});
    return result;
  }
  std::vector<RawError> errors;
  DocPtr doc;
  {
    ErrorCapture capture(&errors);
    doc.reset(xmlReadMemory(text.data(), static_cast<int>(text.size()), label.c_str(), nullptr,
                            kParseOptions));
  }
  if (!doc || !errors.empty()) {
    for (const RawError& e : errors)
      result.problems.push_back({{label, e.line, e.column}, e.message});
    if (result.problems.empty()) result.problems.push_back({{label, 0, 0}, "the file is not XML"});
    sortProblems(result.problems);
    return result;
  }
  xmlNode* root = xmlDocGetRootElement(doc.get());
  std::map<xmlNode*, const TagPosition*> positions;
  std::size_t next_tag = 0;
  mapPositions(root, scanned.tags, next_tag, positions);
  if (next_tag != scanned.tags.size()) positions.clear();  // fall back to libxml2's lines

  // Gate 2: the schema.
  xmlSchema* schema = workflowSchema();
  if (!schema) {
    result.problems.push_back(
        {{label, 0, 0}, "internal error: the workflow schema does not compile"});
    return result;
  }
  {
    errors.clear();
    ErrorCapture capture(&errors);
    xmlSchemaValidCtxt* validator = xmlSchemaNewValidCtxt(schema);
    xmlSchemaSetValidStructuredErrors(validator, collectError, &errors);
    const int rc = xmlSchemaValidateDoc(validator, doc.get());
    xmlSchemaFreeValidCtxt(validator);
    if (rc != 0 || !errors.empty()) {
      for (const RawError& e : errors) {
        SourceLocation where{label, e.line, 0};
        if (const auto it = positions.find(e.node); it != positions.end()) {
          where.line = it->second->line;
          where.column = it->second->column;
          // "Element 'task', attribute 'rol': ..." points at that attribute.
          const std::size_t a = e.message.find("attribute '");
          if (a != std::string::npos) {
            const std::size_t end = e.message.find('\'', a + 11);
            const std::string name = e.message.substr(a + 11, end - a - 11);
            if (const auto at = it->second->attributes.find(name);
                at != it->second->attributes.end()) {
              where.line = at->second.first;
              where.column = at->second.second;
            }
          }
        }
        result.problems.push_back({where, stripNamespace(e.message)});
      }
      if (result.problems.empty()) {
        result.problems.push_back({{label, 0, 0}, "the file does not follow the workflow schema"});
      }
      sortProblems(result.problems);
      return result;
    }
  }

  // Gates 3 and 4.
  DefinitionBuilder builder(label, options, std::move(positions), text, scanned.offsets);
  std::shared_ptr<Definition> definition = builder.build(root);
  if (!builder.problems().empty()) {
    result.problems = std::move(builder.problems());
    sortProblems(result.problems);
    return result;
  }
  definition->source_file = label;
  definition->source_sha256 = sha256Hex(text);
  result.definition = std::move(definition);
  return result;
}

LoadResult DefinitionLoader::loadFile(const std::string& path, const LoaderOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult result;
    result.problems.push_back({{path, 0, 0}, "cannot read the file"});
    return result;
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return loadString(bytes.str(), path, options);
}

std::string DefinitionLoader::peekWorkflowId(const std::string& path) {
  std::vector<RawError> errors;
  ErrorCapture capture(&errors);
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream bytes;
  bytes << in.rdbuf();
  const std::string text = bytes.str();
  if (scanTags(text).has_doctype) return "";
  DocPtr doc(xmlReadMemory(text.data(), static_cast<int>(text.size()), path.c_str(), nullptr,
                           kParseOptions));
  if (!doc) return "";
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root || nameOf(root) != "workflow") return "";
  return attribute(root, "id").value_or("");
}

DirectoryLoadResult DefinitionLoader::loadDirectory(const std::string& dir,
                                                    const LoaderOptions& options) {
  namespace fs = std::filesystem;
  DirectoryLoadResult result;
  std::vector<std::string> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec), end;
  if (ec) {
    result.problems.push_back({{dir, 0, 0}, "cannot read the folder: " + ec.message()});
    return result;
  }
  for (; it != end; it.increment(ec)) {
    if (ec) break;
    if (it->is_directory() && it->path().filename() == "schema") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && it->path().extension() == ".xml") {
      files.push_back(it->path().string());
    }
  }
  std::sort(files.begin(), files.end());
  LoaderOptions with_ids = options;
  for (const std::string& file : files) {
    const std::string id = peekWorkflowId(file);
    if (!id.empty()) with_ids.known_workflows.insert(id);
  }
  std::map<std::pair<std::string, int>, std::string> seen;
  for (const std::string& file : files) {
    LoadResult loaded = loadFile(file, with_ids);
    if (!loaded.isOk()) {
      result.problems.insert(result.problems.end(), loaded.problems.begin(), loaded.problems.end());
      continue;
    }
    const auto key = std::make_pair(loaded.definition->id, loaded.definition->version);
    if (const auto other = seen.find(key); other != seen.end()) {
      result.problems.push_back({{file, 1, 0},
                                 "workflow '" + key.first + "' version " +
                                     std::to_string(key.second) + " is already defined in " +
                                     other->second});
      continue;
    }
    seen[key] = file;
    result.definitions.push_back(std::move(loaded.definition));
  }
  return result;
}

}  // namespace sendflow::engine
