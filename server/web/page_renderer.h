#pragma once
// Renders the web part's pages: a page template (templates/<name>.mustache) inside the one
// layout (templates/layout.mustache), with kainjow mustache. The page model is JSON: objects,
// arrays, strings, booleans and numbers become mustache data (null and "" are false, so a
// section {{#hint}}...{{/hint}} is left out for an empty hint). Every value is
// HTML-escaped by {{ }}; the templates never use triple mustaches, so no model value is ever
// written unescaped.
//
// The layout reads these members of the model (set by the web part for every page): title,
// council_name, user {name, roles_text}, sign_out_csrf, nav [{href, label, current}],
// development, no_referrer, notice, has_errors. The partials error_summary and form_field are
// available to every page.
//
// Thread-safe: templates are parsed for each render from the embedded, immutable text.

#include <string>

#include <nlohmann/json.hpp>

#include "server/core/status.h"

namespace sendflow::web {

class PageRenderer {
 public:
  PageRenderer();

  // The page `name` ("tasks" for templates/tasks.mustache) in the layout. kNotFound for an
  // unknown template (and for "layout" itself); kInternal when a template does not parse (a build
  // defect: the tests render every template).
  core::StatusOr<std::string> render(const std::string& name, const nlohmann::json& model) const;

  // The first 12 hex digits of the stylesheet's and script's SHA-256: their URLs carry it
  // (?v=...) so they can be cached for a year and still change with each release.
  const std::string& assetVersion() const { return asset_version_; }

 private:
  std::string asset_version_;
};

}  // namespace sendflow::web
