#pragma once
// The seam the rest of sendflow renders documents through (a workflow's `document.render`
// action, the HTTP API): a TemplateRenderer renders a named template with data. TemplateLibrary
// is the real one: templates are files in one folder, compiled on first use, kept compiled, and
// compiled again when the file changes on disk.

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "server/core/status.h"
#include "server/docgen/template.h"

namespace sendflow::docgen {

struct RenderedDocument {
  std::string bytes;
  DocumentFormat format = DocumentFormat::kDocx;
  std::string content_type;  // the MIME type for a download or an e-mail attachment
  std::string extension;     // ".docx" or ".odt"
};

class TemplateRenderer {
 public:
  virtual ~TemplateRenderer() = default;
  // Renders template `name` ("five-minute-briefing.docx") with `data`. Errors as Template's.
  virtual core::StatusOr<RenderedDocument> render(const std::string& name,
                                                  const nlohmann::json& data) = 0;
};

// Thread-safe: any number of threads may render at once; compiled templates are shared.
class TemplateLibrary : public TemplateRenderer {
 public:
  explicit TemplateLibrary(std::filesystem::path folder, TemplateOptions options = {});

  // The compiled template `name`: kPermissionDenied for a name with a folder in it ("../x"),
  // kNotFound when there is no such file, kInvalidArgument for a file that is not a template or
  // has problems (all of them listed in the message).
  core::StatusOr<std::shared_ptr<const Template>> get(const std::string& name);

  core::StatusOr<RenderedDocument> render(const std::string& name,
                                          const nlohmann::json& data) override;

 private:
  struct Entry {
    std::filesystem::file_time_type modified;
    std::uintmax_t size = 0;
    std::shared_ptr<const Template> compiled;
  };
  const std::filesystem::path folder_;
  const TemplateOptions options_;
  std::mutex mutex_;
  std::map<std::string, Entry> cache_;  // guarded by mutex_
};

}  // namespace sendflow::docgen
