#include "server/app/module_actions.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include <Poco/SHA1Engine.h>
#include <nlohmann/json.hpp>

#include "connectors/connector/item_json.h"
#include "connectors/factory/connector_factory.h"
#include "server/core/private_files.h"
#include "server/docgen/template_library.h"
#include "server/prescreen/plan_screener.h"
#include "server/prescreen/prescreen_action.h"
#include "server/prescreen/screening_rules.h"

namespace sendflow::app {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Which document type each collection a workflow names holds. A council overrides or adds
// mappings with collections.<name>.document_type.
const std::map<std::string, std::string>& defaultCollections() {
  static const std::map<std::string, std::string> kDefaults = {
      {"ehc-plans", "EHC plan"},
      {"annual-reviews", "Annual review"},
      {"panel-decisions", "Panel decision"},
      {"ep-advice", "EP advice"},
      {"health-advice", "Health advice"},
      {"social-care-advice", "Social care advice"},
  };
  return kDefaults;
}

std::string stringParam(const json& params, const char* name) {
  auto it = params.find(name);
  return it != params.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A file name made only of safe characters, for documents the service writes.
std::string safeFileName(std::string text) {
  for (char& c : text) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    if (!ok) c = '-';
  }
  if (text.empty() || text[0] == '.') text.insert(0, "doc");
  return text;
}

json itemJson(const connectors::Item& item) { return connectors::itemToWorkflowJson(item); }

class DocumentsPull {
 public:
  DocumentsPull(const Settings& settings, std::map<std::string, std::string> environment,
                const core::Clock& clock, std::string spool_dir)
      : settings_(settings),
        environment_(std::move(environment)),
        clock_(clock),
        spool_dir_(std::move(spool_dir)) {}

  // params: collection (required), finalised_since / completed_since / decided_since (a date:
  // keeps documents finalised on or after it), locality (optional), download (bool).
  core::StatusOr<json> operator()(const json& params, engine::ActionContext& context) const {
    const std::string collection = stringParam(params, "collection");
    if (collection.empty()) {
      return core::invalidArgument("documents.pull: the parameter 'collection' is required");
    }
    std::string document_type;
    if (settings_.has("collections." + collection + ".document_type")) {
      document_type = *settings_.getString("collections." + collection + ".document_type", "");
    } else if (auto it = defaultCollections().find(collection); it != defaultCollections().end()) {
      document_type = it->second;
    } else {
      return core::invalidArgument("documents.pull: unknown collection '" + collection +
                                   "'; map it with collections." + collection +
                                   ".document_type in the configuration");
    }
    std::string since;
    for (const char* key : {"finalised_since", "completed_since", "decided_since"}) {
      if (!stringParam(params, key).empty()) since = stringParam(params, key);
    }
    const std::string locality = stringParam(params, "locality");
    const bool download = params.value("download", false);

    auto source = connectors::makeDocumentSource(settings_.section("connector"), settings_.source(),
                                                 environment_, clock_);
    if (!source.isOk()) return source.status();
    json items = json::array();
    json problems = json::array();
    std::string cursor;
    int pages = 0;
    while (true) {
      auto page = (*source)->listPage(cursor);
      if (!page.isOk()) return page.status().withContext("documents.pull");
      for (const auto& problem : page->problems) {
        problems.push_back({{"item", problem.item}, {"message", problem.status.message()}});
      }
      for (const auto& item : page->items) {
        const auto& m = item.metadata;
        if (m.document_type != document_type) continue;
        if (!since.empty() && (m.finalised_date.empty() || m.finalised_date < since)) continue;
        if (!locality.empty() && m.locality != locality) continue;
        json entry = itemJson(item);
        if (download) {
          const fs::path dir = fs::path(spool_dir_) / safeFileName(context.instance_id);
          SENDFLOW_RETURN_IF_ERROR(
              core::createPrivateFolders(dir.string()).withContext("documents.pull"));
          const fs::path target = dir / safeFileName(item.name);
          // Re-running after a crash finds the file already there: same etag, same content.
          if (!fs::exists(target)) {
            const core::Status status = (*source)->download(item, target.string());
            if (!status.isOk()) {
              problems.push_back({{"item", item.path}, {"message", status.message()}});
              continue;
            }
          }
          entry["local_path"] = target.string();
        }
        items.push_back(std::move(entry));
      }
      if (!page->more) break;
      cursor = page->next_cursor;
      if (++pages > 100'000) return core::internalError("documents.pull: the listing never ends");
    }
    std::sort(items.begin(), items.end(),
              [](const json& a, const json& b) { return a["path"] < b["path"]; });
    return json{{"collection", collection},
                {"document_type", document_type},
                {"count", items.size()},
                {"items", std::move(items)},
                {"problems", std::move(problems)}};
  }

 private:
  const Settings settings_;
  const std::map<std::string, std::string> environment_;
  const core::Clock& clock_;
  const std::string spool_dir_;
};

class DocumentsPublish {
 public:
  DocumentsPublish(const Settings& settings, std::map<std::string, std::string> environment,
                   const core::Clock& clock)
      : settings_(settings), environment_(std::move(environment)), clock_(clock) {}

  // params: document (the result of document.render: {path, name}), folder (optional sub-folder
  // of the library, default "QA Reports"), document_type (optional metadata).
  core::StatusOr<json> operator()(const json& params, engine::ActionContext&) const {
    const auto document = params.find("document");
    if (document == params.end() || !document->is_object() || !document->contains("path")) {
      return core::invalidArgument(
          "documents.publish: the parameter 'document' must be the result of document.render");
    }
    const std::string path = document->value("path", "");
    std::ifstream in(path, std::ios::binary);
    if (!in) return core::notFound("documents.publish: " + path + " cannot be read");
    std::string folder = stringParam(params, "folder");
    if (folder.empty()) folder = "QA Reports";
    auto source = connectors::makeDocumentSource(settings_.section("connector"), settings_.source(),
                                                 environment_, clock_);
    if (!source.isOk()) return source.status();
    connectors::PublishRequest request;
    request.name = folder + "/" + document->value("name", fs::path(path).filename().string());
    request.content = &in;
    request.metadata.document_type = stringParam(params, "document_type");
    if (request.metadata.document_type.empty()) request.metadata.document_type = "QA report";
    auto item = (*source)->publish(request);
    if (!item.isOk()) return item.status().withContext("documents.publish");
    return itemJson(*item);
  }

 private:
  const Settings settings_;
  const std::map<std::string, std::string> environment_;
  const core::Clock& clock_;
};

// Builds a nested object from parameters whose names have dots: {"audit.count": 3} becomes
// {"audit": {"count": 3}}, so a workflow can shape a template's data one value at a time.
json nestDottedNames(const json& params) {
  json out = json::object();
  for (const auto& [name, value] : params.items()) {
    json* node = &out;
    std::size_t start = 0;
    while (true) {
      const std::size_t dot = name.find('.', start);
      const std::string part = name.substr(start, dot == std::string::npos ? dot : dot - start);
      if (dot == std::string::npos) {
        (*node)[part] = value;
        break;
      }
      if (!node->contains(part) || !(*node)[part].is_object()) (*node)[part] = json::object();
      node = &(*node)[part];
      start = dot + 1;
    }
  }
  return out;
}

class DocumentRender {
 public:
  DocumentRender(std::shared_ptr<docgen::TemplateLibrary> library, std::string output_dir,
                 std::string council)
      : library_(std::move(library)),
        output_dir_(std::move(output_dir)),
        council_(std::move(council)) {}

  // params: template ("five-minute-briefing", or with .docx/.odt), everything else is the
  // template's data (dotted names nest). The data also gets council, date_issued and reference.
  core::StatusOr<json> operator()(const json& params, engine::ActionContext& context) const {
    std::string name = stringParam(params, "template");
    if (name.empty()) {
      return core::invalidArgument("document.render: the parameter 'template' is required");
    }
    if (fs::path(name).extension().empty()) name += ".docx";
    json data = nestDottedNames(params);
    data.erase("template");
    if (!data.contains("council")) data["council"] = council_;
    if (!data.contains("date_issued")) {
      data["date_issued"] = core::formatIso8601(context.now).substr(0, 10);
    }
    data["reference"] = context.instance_id;
    auto rendered = library_->render(name, data);
    if (!rendered.isOk()) return rendered.status().withContext("document.render");

    const fs::path dir = fs::path(output_dir_) / safeFileName(context.instance_id);
    const std::string file_name =
        safeFileName(fs::path(name).stem().string() + "-" + context.step_id) + rendered->extension;
    const fs::path target = dir / file_name;
    // Documents about children: 0600 in a 0700 folder, whatever the umask.
    SENDFLOW_RETURN_IF_ERROR(
        core::createPrivateFolders(dir.string()).withContext("document.render"));
    SENDFLOW_RETURN_IF_ERROR(
        core::writePrivateFile(target.string(), rendered->bytes).withContext("document.render"));
    Poco::SHA1Engine sha;
    sha.update(context.idempotency_key);
    engine::DocumentOutput document;
    document.id = Poco::DigestEngine::digestToHex(sha.digest()).substr(0, 24);
    document.name = file_name;
    document.path = target.string();
    document.media_type = rendered->content_type;
    document.size = static_cast<long long>(rendered->bytes.size());
    context.documents.push_back(document);
    return json{{"path", target.string()},
                {"document_id", document.id},
                {"name", file_name},
                {"template", name},
                {"content_type", rendered->content_type},
                {"size", rendered->bytes.size()}};
  }

 private:
  std::shared_ptr<docgen::TemplateLibrary> library_;
  const std::string output_dir_;
  const std::string council_;
};

// params: audits (a list of objects), field (the member holding the grade, default
// "final_grade"). Result: counts and shares per grade in the fixed order of the four grades,
// the percentage Good or better, and a bar chart ready for a template's {{chart}} tag.
core::StatusOr<json> summariseGrades(const json& params, engine::ActionContext&) {
  static const char* kGrades[] = {"Outstanding", "Good", "Requires Improvement", "Inadequate"};
  const auto audits = params.find("audits");
  if (audits == params.end() || !audits->is_array()) {
    return core::invalidArgument("grades.summarise: the parameter 'audits' must be a list");
  }
  std::string field = stringParam(params, "field");
  if (field.empty()) field = "final_grade";
  int counts[4] = {0, 0, 0, 0};
  int graded = 0;
  for (const json& audit : *audits) {
    if (!audit.is_object() || !audit.contains(field) || !(*audit.find(field)).is_string()) continue;
    const std::string grade = audit[field];
    for (int i = 0; i < 4; ++i) {
      if (grade == kGrades[i]) {
        ++counts[i];
        ++graded;
      }
    }
  }
  json grades = json::array();
  json values = json::array();
  for (int i = 0; i < 4; ++i) {
    const double share = graded == 0 ? 0.0 : static_cast<double>(counts[i]) / graded;
    grades.push_back({{"grade", kGrades[i]}, {"count", counts[i]}, {"share", share}});
    values.push_back(counts[i]);
  }
  const double good_or_better =
      graded == 0 ? 0.0 : 100.0 * (counts[0] + counts[1]) / static_cast<double>(graded);
  return json{{"audited", audits->size()},
              {"graded", graded},
              {"grades", grades},
              {"good_or_better_percent", std::round(good_or_better * 10) / 10},
              {"grades_chart",
               {{"type", "bar"},
                {"title", "Audits by overall grade"},
                {"categories", {kGrades[0], kGrades[1], kGrades[2], kGrades[3]}},
                {"series", json::array({{{"name", "Audits"}, {"values", values}}})}}}};
}

}  // namespace

core::StatusOr<std::string> documentsFolder(const Settings& settings) {
  return settings.getPath("documents.dir", "var/documents");
}

core::Status registerModuleActions(engine::ActionRegistry& registry, const Settings& settings,
                                   const std::map<std::string, std::string>& environment,
                                   const core::Clock& clock) {
  SENDFLOW_ASSIGN_OR_RETURN(const std::string documents_dir, documentsFolder(settings));
  SENDFLOW_ASSIGN_OR_RETURN(const std::string templates_dir,
                            settings.getPath("templates.dir", "templates"));
  SENDFLOW_ASSIGN_OR_RETURN(const std::string council,
                            settings.getString("council.name", "the council"));
  SENDFLOW_ASSIGN_OR_RETURN(auto rules, prescreen::ScreeningRules::fromSection(
                                            settings.section("prescreen"), settings.source()));
  auto prescreener = std::make_shared<const prescreen::Prescreener>(std::move(rules));
  auto library = std::make_shared<docgen::TemplateLibrary>(templates_dir);

  SENDFLOW_RETURN_IF_ERROR(registry.add(
      "documents.pull",
      DocumentsPull(settings, environment, clock, (fs::path(documents_dir) / "pulled").string())));
  SENDFLOW_RETURN_IF_ERROR(
      registry.add("documents.publish", DocumentsPublish(settings, environment, clock)));
  SENDFLOW_RETURN_IF_ERROR(
      registry.add("document.render", DocumentRender(library, documents_dir, council)));
  SENDFLOW_RETURN_IF_ERROR(registry.add(
      "prescreen.plans", [prescreener](const nlohmann::json& params, engine::ActionContext&) {
        return prescreen::runPrescreenAction(*prescreener, params);
      }));
  SENDFLOW_RETURN_IF_ERROR(
      registry.add("grades.summarise", summariseGrades, engine::ActionMode::kInTransaction));
  return core::Status::ok();
}

}  // namespace sendflow::app
