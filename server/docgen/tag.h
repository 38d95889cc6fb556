#pragma once
// The syntax of one tag ("{{#moderators}}", "{{date | date:\"d MMMM yyyy\"}}", "{{image logo}}")
// and where tags are in a piece of text. Pure functions; thread-safe.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sendflow::docgen {

enum class TagKind {
  kVariable,   // {{name}}, {{a.b | formatter}}, {{{name}}}, {{&name}} (all escaped)
  kSection,    // {{#name}}
  kInverted,   // {{^name}}
  kClose,      // {{/name}}
  kPartial,    // {{> name}}
  kComment,    // {{! text}}
  kImage,      // {{image name}}
  kChart,      // {{chart name}}
  kPageBreak,  // {{page-break}}
  kToc,        // {{toc}}
};

struct Formatter {
  std::string name;               // "date", "number", "percent", "currency", "upper", ...
  std::vector<std::string> args;  // unquoted arguments
};

struct Tag {
  TagKind kind = TagKind::kVariable;
  std::string name;               // "moderators", "a.b", "." (as written, trimmed)
  std::vector<std::string> path;  // name split on '.', empty for "."
  std::vector<Formatter> formatters;
};

// Parses the inside of a tag (between the braces). Returns false with `error` set for an
// empty tag, a bad name or an unknown formatter.
bool parseTag(std::string_view inner, Tag& tag, std::string& error);

// A tag's position in a text: [begin, end) covers the braces.
struct TagSpan {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string_view inner;
};

// Finds every "{{...}}" (and "{{{...}}}") in `text`. An opening "{{" without a closing "}}"
// sets `unterminated_at` to its offset (npos when every tag is closed) and ends the scan.
std::vector<TagSpan> findTags(std::string_view text, std::size_t& unterminated_at);

}  // namespace sendflow::docgen
