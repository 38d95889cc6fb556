#pragma once
// Checks of a rendered page against the web part's accessibility and security rules, on the
// HTML text (the pages are generated from our own templates, so attribute values are always
// double-quoted and tags are not split oddly; the checks rely on that):
//   lang="en-GB"; a skip link to <main id="main">; exactly one h1; heading levels that never
//   skip one going down; unique ids; every input, select and textarea (except hidden ones and
//   buttons) with an id and a <label for> naming it; aria-describedby naming existing ids;
//   every <th> with a scope; no inline script, style attribute, <style> element or event
//   handler attribute; every button with text.

#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace sendflow::web::testing {

// The value of attribute `name` in a tag's attribute text, or nullopt when absent.
inline std::optional<std::string> attribute(const std::string& attributes,
                                            const std::string& name) {
  std::smatch m;
  if (std::regex_search(attributes, m, std::regex("(?:^|\\s)" + name + "=\"([^\"]*)\""))) {
    return m[1].str();
  }
  if (std::regex_search(attributes, m, std::regex("(?:^|\\s)" + name + "(?=\\s|$)"))) return "";
  return std::nullopt;
}

inline std::vector<std::pair<std::string, std::string>> tags(const std::string& html,
                                                             const std::string& names) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::regex tag("<(" + names + ")(\\s[^>]*)?>", std::regex::icase);
  for (auto it = std::sregex_iterator(html.begin(), html.end(), tag); it != std::sregex_iterator();
       ++it) {
    out.emplace_back((*it)[1].str(), (*it)[2].str());
  }
  return out;
}

inline std::vector<std::string> pageProblems(const std::string& html) {
  std::vector<std::string> problems;
  auto problem = [&](const std::string& p) { problems.push_back(p); };
  if (html.find("<html lang=\"en-GB\">") == std::string::npos) problem("no lang=\"en-GB\"");
  if (html.find("href=\"#main\"") == std::string::npos) problem("no skip link to #main");
  if (html.find("<main id=\"main\"") == std::string::npos) problem("no <main id=\"main\">");

  // Headings.
  int h1 = 0;
  int previous = 1;
  const std::regex heading("<h([1-6])[\\s>]");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), heading);
       it != std::sregex_iterator(); ++it) {
    const int level = std::stoi((*it)[1].str());
    if (level == 1) ++h1;
    if (level > previous + 1) {
      problem("heading h" + std::to_string(level) + " follows h" + std::to_string(previous));
    }
    previous = level;
  }
  if (h1 != 1) problem(std::to_string(h1) + " h1 elements");

  // Ids.
  std::set<std::string> ids;
  const std::regex id_attribute("\\sid=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), id_attribute);
       it != std::sregex_iterator(); ++it) {
    if (!ids.insert((*it)[1].str()).second) problem("duplicate id " + (*it)[1].str());
  }
  std::set<std::string> labelled;
  for (const auto& [name, attrs] : tags(html, "label")) {
    if (auto f = attribute(attrs, "for")) labelled.insert(*f);
  }
  for (const auto& [name, attrs] : tags(html, "input|select|textarea")) {
    const std::string type = attribute(attrs, "type").value_or("");
    if (type == "hidden" || type == "submit" || type == "button") continue;
    const auto id = attribute(attrs, "id");
    if (!id || id->empty()) {
      problem("<" + name + attrs + "> has no id");
    } else if (labelled.count(*id) == 0) {
      problem("<" + name + " id=\"" + *id + "\"> has no label");
    }
  }
  for (const auto& [name, attrs] : tags(html, "[a-z0-9]+")) {
    if (auto described = attribute(attrs, "aria-describedby")) {
      std::istringstream words(*described);
      std::string ref;
      while (words >> ref) {
        if (ids.count(ref) == 0) problem("aria-describedby names missing id " + ref);
      }
    }
    if (attribute(attrs, "style")) problem("inline style on <" + name + ">");
    if (std::regex_search(attrs, std::regex("\\son[a-z]+=")))
      problem("event handler on <" + name + ">");
  }
  for (const auto& [name, attrs] : tags(html, "th")) {
    if (!attribute(attrs, "scope")) problem("<th> without scope");
  }
  for (const auto& [name, attrs] : tags(html, "script")) {
    if (!attribute(attrs, "src")) problem("inline <script>");
  }
  if (html.find("<style") != std::string::npos) problem("<style> element");
  if (html.find("javascript:") != std::string::npos) problem("javascript: URL");
  const std::regex empty_button("<button[^>]*>\\s*</button>");
  if (std::regex_search(html, empty_button)) problem("a button without text");
  return problems;
}

}  // namespace sendflow::web::testing
