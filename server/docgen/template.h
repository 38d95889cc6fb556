#pragma once
// A document template (DOCX or ODT) compiled once and rendered many times with JSON-shaped data.
//
// Tags use Mustache semantics ({{name}}, {{a.b}}, {{#section}}..{{/section}}, {{^inverted}}..,
// {{> partial}}, {{! comment}}), plus document tags ({{image logo}}, {{chart grades}},
// {{page-break}}, {{toc}}) and formatters ({{date_finalised | date:"d MMMM yyyy"}}); see
// docs/templates.md. Tags may be split across Word runs, proofing marks, bookmarks and
// revisions: they are made whole before compiling. Values are always escaped; data cannot
// inject markup.
//
// Loading reads the package defensively (archive::ZipReader limits, macro-enabled files
// rejected, XML parsed without network, entities or DTDs), then compiles every part that can
// hold tags into a program. Problems in the tags themselves (an unclosed section, a mismatched
// close, an unknown partial, ...) do not fail load(): they are collected, every one of them, in
// problems(), and render() refuses to run while there are any.
//
// A Template is immutable after load and owns everything it needs (the compressed bytes of the
// parts it copies unchanged, the compiled programs, its partials). render() is const and
// thread-safe: share one Template between threads.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "server/archive/zip_reader.h"
#include "server/core/status.h"

namespace sendflow::docgen {

enum class DocumentFormat { kDocx, kOdt };

// Where a problem is: the part, and the paragraph or table cell in it.
struct TemplateProblem {
  std::string part;              // "word/document.xml", "styles.xml", ...
  std::string location;          // "table 2, row 3, cell 1, paragraph 1" or "paragraph 14"
  std::string message;           // "section 'actions' is opened here but never closed"
  std::string toString() const;  // "word/document.xml, paragraph 14: section ..."
};

// One tag found in the template, for `sendflow template check`.
struct TemplateTag {
  std::string text;  // the tag as written, made whole: "{{#moderators}}"
  std::string part;
  std::string location;
};

struct TemplateOptions {
  archive::ZipLimits limits;
  // Where {{> name}} finds partials (name.docx / name.odt) and {{image}} finds picture files
  // given as paths. load(path) defaults it to the template's folder; empty means none.
  std::filesystem::path resource_dir;
  int deflate_level = 6;  // zlib level for the parts that change
  int max_partial_depth = 8;
};

class Template {
 public:
  // kNotFound when the file is missing; kInvalidArgument for a file that is not a DOCX/ODT
  // package, is macro-enabled, or holds malformed XML; kResourceExhausted for zip bombs.
  static core::StatusOr<Template> load(const std::filesystem::path& path,
                                       TemplateOptions options = {});
  // `label` names the template in messages; `format` comes from the package's content.
  static core::StatusOr<Template> loadBytes(std::string bytes, std::string label,
                                            TemplateOptions options = {});

  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;
  ~Template();

  DocumentFormat format() const;
  const std::string& label() const;
  // Every problem found while compiling; empty for a template that can render.
  const std::vector<TemplateProblem>& problems() const;
  // Every tag, in document order, part by part.
  const std::vector<TemplateTag>& tags() const;

  // The filled document's bytes (a zip of the same format). kFailedPrecondition when the
  // template has problems; kInvalidArgument when data is unusable for a document tag (a
  // picture that is not PNG/JPEG/GIF, a chart without series), kPermissionDenied for a picture
  // path outside the template's folder, kNotFound for a missing picture file; each message
  // names the tag, the part and the paragraph.
  core::StatusOr<std::string> render(const nlohmann::json& data) const;

  struct Compiled;  // internal

 private:
  explicit Template(std::unique_ptr<Compiled> compiled);
  std::unique_ptr<Compiled> compiled_;
};

// "docx" / "odt" from a file name's extension (case-insensitive); kInvalidArgument otherwise,
// with a specific message for macro-enabled .docm/.dotm/.odm names.
core::StatusOr<DocumentFormat> formatFromFileName(const std::string& name);

}  // namespace sendflow::docgen
