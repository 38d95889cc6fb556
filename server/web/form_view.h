#pragma once
// The HTML form side of engine forms and workflow inputs: the view models that
// templates/form_field.mustache renders (one per field: label, hint, "(required)" in words, the
// condition of a required_if field in words, the input kind, the value typed so far, the error
// and the ids aria-describedby names), the conversion of a posted
// application/x-www-form-urlencoded body into the JSON the engine validates, and the mapping of
// the engine's validation message ("standard_1: required; evidence: ...") back to the fields.
//
// Ids: a field named `evidence` has the element id "field-evidence" (the first radio of a group
// has it too, the others "field-<name>-2", ...), so the error summary links to "#field-<name>".
//
// Pure functions; thread-safe.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/engine/definition.h"

namespace sendflow::web {

using PostedFields = std::multimap<std::string, std::string>;

struct FieldError {
  std::string field;    // the field's name; empty: about the whole form
  std::string message;  // for people, already naming the field
};

// The element id of field `name` ("field-" + name, characters other than letters, digits, '-'
// and '_' replaced by '-').
std::string fieldId(const std::string& name);

// The view of `field` for form_field.mustache. `posted` is what the person typed (kept after an
// error); when null, `initial` (a JSON value, e.g. a default) fills the field.
nlohmann::json formFieldView(const engine::FormField& field, const PostedFields* posted,
                             const nlohmann::json& initial, const std::string& error);
// The same for a workflow input on the start page.
nlohmann::json inputFieldView(const engine::InputDecl& input, const PostedFields* posted,
                              const std::string& error);
// A free-text field that is not in the engine's form (the approval comment, the cycle name).
nlohmann::json textFieldView(const std::string& name, const std::string& label,
                             const std::string& hint, bool long_text, std::size_t max_length,
                             const std::string& value, const std::string& error);

// The task data from the posted fields: only the form's fields are taken; empty text is left
// out (so "required" is reported), numbers that do not parse stay text (so the engine names
// them), an unticked checkbox is false, CR LF becomes LF.
nlohmann::json formData(const engine::Form& form, const PostedFields& posted);
// The workflow input from the posted fields: empty fields are left out (defaults apply).
nlohmann::json inputData(const std::vector<engine::InputDecl>& inputs, const PostedFields& posted);

// Splits an engine validation message into errors of the fields in `known` (by name); what
// cannot be tied to a field is one error with an empty field.
std::vector<FieldError> fieldErrors(const std::string& message,
                                    const std::vector<std::string>& known);

// A person-friendly message for `problem` (as Form::validate words it) with field `label`:
// "required" on a grade becomes "Choose a grade for “label”".
std::string friendlyProblem(const std::string& label, engine::FieldType type,
                            const std::string& problem);

// A required_if condition in words: "standard_1 == 'Inadequate' or x != 2" becomes
// "Required if standard 1 is Inadequate or x is not 2".
std::string conditionInWords(const std::string& expression);

// The first value of `name` in `posted`, or "".
std::string postedValue(const PostedFields& posted, const std::string& name);

}  // namespace sendflow::web
