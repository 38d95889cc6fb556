#include "server/web/page_renderer.h"

#include <kainjow/mustache.hpp>

#include "server/core/markup_escape.h"
#include "server/web/embedded_files.h"

namespace sendflow::web {
namespace {

namespace mustache = kainjow::mustache;

mustache::data toData(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object: {
      mustache::data out{mustache::data::type::object};
      for (const auto& [key, member] : value.items()) out.set(key, toData(member));
      return out;
    }
    case nlohmann::json::value_t::array: {
      mustache::data out{mustache::data::type::list};
      for (const auto& item : value) out.push_back(toData(item));
      return out;
    }
    case nlohmann::json::value_t::string:
      // kainjow treats every string as true in a section; an empty one must hide
      // {{#hint}}...{{/hint}}. As a variable, false renders as nothing, like "".
      if (value.get_ref<const std::string&>().empty()) return mustache::data{false};
      return mustache::data{value.get<std::string>()};
    case nlohmann::json::value_t::boolean:
      return mustache::data{value.get<bool>()};
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      return mustache::data{value.dump()};
    default:
      return mustache::data{false};
  }
}

const EmbeddedFile* templateFile(const std::string& name) {
  return embeddedFile("templates/" + name + ".mustache");
}

}  // namespace

PageRenderer::PageRenderer() {
  std::string combined;
  for (const char* name : {"assets/sendflow.css", "assets/sendflow.js"}) {
    if (const EmbeddedFile* file = embeddedFile(name)) combined += file->sha256;
  }
  asset_version_ = combined.substr(0, 12);
}

core::StatusOr<std::string> PageRenderer::render(const std::string& name,
                                                 const nlohmann::json& model) const {
  const EmbeddedFile* layout = templateFile("layout");
  // The layout includes the page: rendering it as a page would recurse for ever.
  const EmbeddedFile* page = name == "layout" ? nullptr : templateFile(name);
  if (layout == nullptr || page == nullptr) {
    return core::notFound("no page template '" + name + "'");
  }
  mustache::data data = toData(model);
  data.set("asset_version", asset_version_);
  // Partials: the page itself, and the shared pieces.
  for (const char* partial : {"error_summary", "form_field"}) {
    const EmbeddedFile* file = templateFile(partial);
    if (file == nullptr) return core::internalError(std::string("no partial ") + partial);
    const std::string text(file->content);
    data.set(partial, mustache::partial{[text] { return text; }});
  }
  const std::string page_text(page->content);
  data.set("page", mustache::partial{[page_text] { return page_text; }});

  mustache::mustache tmpl{std::string(layout->content)};
  if (!tmpl.is_valid()) {
    return core::internalError("template layout does not parse: " + tmpl.error_message());
  }
  // The service's one escaper for HTML text and attributes (partials inherit it).
  tmpl.set_custom_escape([](const std::string& text) { return core::markupEscaped(text); });
  std::string html = tmpl.render(data);
  if (!tmpl.is_valid()) {
    return core::internalError("template " + name + " does not render: " + tmpl.error_message());
  }
  return html;
}

}  // namespace sendflow::web
