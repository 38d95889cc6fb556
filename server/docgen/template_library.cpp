#include "server/docgen/template_library.h"

#include <nlohmann/json.hpp>

namespace sendflow::docgen {

TemplateLibrary::TemplateLibrary(std::filesystem::path folder, TemplateOptions options)
    : folder_(std::move(folder)), options_(std::move(options)) {}

core::StatusOr<std::shared_ptr<const Template>> TemplateLibrary::get(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name.find('\\') != std::string::npos ||
      name.front() == '.') {
    return core::permissionDenied("template '" + name +
                                  "': give a file name in the template folder, not a path");
  }
  if (auto format = formatFromFileName(name); !format.isOk()) return format.status();
  const std::filesystem::path path = folder_ / name;
  std::error_code ec;
  const auto modified = std::filesystem::last_write_time(path, ec);
  const auto size = ec ? 0 : std::filesystem::file_size(path, ec);
  if (ec) return core::notFound("template '" + name + "' is not in " + folder_.string());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = cache_.find(name);
    if (it != cache_.end() && it->second.modified == modified && it->second.size == size) {
      return it->second.compiled;
    }
  }
  // Compile outside the lock: other templates keep rendering meanwhile.
  TemplateOptions options = options_;
  options.resource_dir = folder_;
  SENDFLOW_ASSIGN_OR_RETURN(Template compiled, Template::load(path, options));
  if (!compiled.problems().empty()) {
    std::string message = "template '" + name + "' has " +
                          std::to_string(compiled.problems().size()) + " problem(s):";
    for (const auto& problem : compiled.problems()) message += "\n  " + problem.toString();
    return core::invalidArgument(message);
  }
  auto shared = std::make_shared<const Template>(std::move(compiled));
  std::lock_guard<std::mutex> lock(mutex_);
  cache_[name] = Entry{modified, size, shared};
  return shared;
}

core::StatusOr<RenderedDocument> TemplateLibrary::render(const std::string& name,
                                                         const nlohmann::json& data) {
  SENDFLOW_ASSIGN_OR_RETURN(std::shared_ptr<const Template> compiled, get(name));
  SENDFLOW_ASSIGN_OR_RETURN(std::string bytes, compiled->render(data));
  RenderedDocument document;
  document.bytes = std::move(bytes);
  document.format = compiled->format();
  const bool docx = document.format == DocumentFormat::kDocx;
  document.content_type =
      docx ? "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
           : "application/vnd.oasis.opendocument.text";
  document.extension = docx ? ".docx" : ".odt";
  return document;
}

}  // namespace sendflow::docgen
