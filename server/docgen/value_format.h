#pragma once
// Turning data into document text: Mustache name lookup on a context stack, truthiness, UK
// formatting (dates, numbers, percentages, pounds) and XML-safe text for each format.
// Pure functions over nlohmann::json; thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/docgen/tag.h"

namespace sendflow::docgen {

// The Mustache context stack: innermost last. Pointers borrow from the caller's data.
using ContextStack = std::vector<const nlohmann::json*>;

// Resolves `path` ("." when empty) on the stack as Mustache does: the first segment is looked
// up from the innermost context outwards, the rest descend from there. nullptr when absent.
const nlohmann::json* lookup(const ContextStack& stack, const std::vector<std::string>& path);

// false for a missing value, null, false, 0, "" and []; true otherwise.
bool isTruthy(const nlohmann::json* value);

// The text of a value after its formatters; `error` is set (and "" returned) when a formatter
// cannot apply (a date that is not ISO 8601, a number that is not a number).
std::string formatValue(const nlohmann::json* value, const std::vector<Formatter>& formatters,
                        std::string& error);

// Items when the value is a list: a JSON array of scalars, or text whose every non-empty line
// starts with "- ", "* " or "• ". Empty when it is not a list.
std::vector<std::string> listItems(const nlohmann::json* value,
                                   const std::vector<Formatter>& formatters);

// "14 March 2026" from "2026-03-14" with pattern "d MMMM yyyy" (tokens d dd ddd dddd M MM MMM
// MMMM yy yyyy H HH mm ss, text in single quotes kept). false when `iso` is not a date.
bool formatUkDate(std::string_view iso, std::string_view pattern, std::string& out);
// "1,234.50" with `decimals` places and comma thousands separators.
std::string formatUkNumber(double value, int decimals);

// Appends `text` to `out` as XML character data: invalid UTF-8 becomes U+FFFD, characters XML
// cannot hold are dropped, & < > " are escaped. Then, per target:
//  - kDocxRun: inside <w:t>: '\n' closes the text and adds <w:br/>, '\t' adds <w:tab/>;
//  - kOdtText: inside <text:p>/<text:span>: <text:line-break/>, <text:tab/>, <text:s/> runs;
//  - kPlain: character data only (document properties).
enum class TextTarget { kDocxRun, kOdtText, kPlain };
void appendXmlText(std::string& out, std::string_view text, TextTarget target);

// Escapes for an attribute value or plain character data (no newline handling).
void appendEscaped(std::string& out, std::string_view text);

}  // namespace sendflow::docgen
