#pragma once
// Escaping text for XML and HTML character data and attribute values: & < > " ' become
// entities (' as &#39;, which both XML and HTML accept). Nothing else changes: callers that
// must drop control characters or keep line breaks (docgen's document text) do that first.
// Thread-safe (pure functions).

#include <string>
#include <string_view>

namespace sendflow::core {

void appendMarkupEscaped(std::string& out, std::string_view text);
std::string markupEscaped(std::string_view text);

}  // namespace sendflow::core
