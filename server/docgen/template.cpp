#include "server/docgen/template.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "server/archive/zip_writer.h"
#include "server/docgen/media.h"
#include "server/docgen/part_compiler.h"
#include "server/docgen/program.h"

namespace sendflow::docgen {

namespace {

using nlohmann::json;

constexpr std::size_t kFlushBytes = 16 * 1024;
constexpr int kMaxRenderDepth = 64;

enum class EntryPlan { kCopy, kProgram, kPatch };

bool startsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool endsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}
std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Which parts of a package hold tags, and how they are read.
std::optional<PartKind> partKind(DocumentFormat format, const std::string& name) {
  if (format == DocumentFormat::kDocx) {
    if (name == "word/document.xml" || name == "word/footnotes.xml" ||
        name == "word/endnotes.xml" ||
        ((startsWith(name, "word/header") || startsWith(name, "word/footer")) &&
         endsWith(name, ".xml") && name.find('/', 5) == std::string::npos)) {
      return PartKind::kFlow;
    }
    if (name == "docProps/core.xml" || name == "docProps/app.xml" ||
        name == "docProps/custom.xml") {
      return PartKind::kProperties;
    }
    return std::nullopt;
  }
  if (name == "content.xml" || name == "styles.xml") return PartKind::kFlow;
  if (name == "meta.xml") return PartKind::kProperties;
  return std::nullopt;
}

bool patchable(DocumentFormat format, const std::string& name) {
  if (format == DocumentFormat::kDocx) {
    return name == "[Content_Types].xml" || name == "word/settings.xml" ||
           (startsWith(name, "word/_rels/") && endsWith(name, ".rels"));
  }
  return name == "META-INF/manifest.xml";
}

}  // namespace

struct Template::Compiled {
  DocumentFormat format = DocumentFormat::kDocx;
  std::string label;
  TemplateOptions options;
  struct Entry {
    std::string name;
    EntryPlan plan = EntryPlan::kCopy;
    archive::RawZipEntry raw;   // kCopy, kPatch (written as it was when nothing is added)
    Program program;            // kProgram
    bool fill_odt_toc = false;  // kProgram: list the rendered headings in the contents
    std::string text;           // kPatch: the part's uncompressed text
  };
  std::vector<Entry> entries;
  std::map<std::string, std::shared_ptr<const Program>> partials;
  std::vector<TemplateProblem> problems;
  std::vector<TemplateTag> tags;
  bool update_fields = false;
};

namespace {

// Appends rendered bytes to the open zip entry in large pieces.
class PartSink {
 public:
  // `hold` keeps the whole part in memory until flush() (for a part that is edited after
  // rendering, such as an ODT table of contents).
  explicit PartSink(archive::ZipWriter& zip, bool hold = false) : zip_(zip), hold_(hold) {
    buffer_.reserve(kFlushBytes + 4096);
  }
  std::string& buffer() { return buffer_; }
  core::Status maybeFlush() {
    if (hold_ || buffer_.size() < kFlushBytes) return core::Status::ok();
    return flush();
  }
  core::Status flush() {
    core::Status s = zip_.write(buffer_);
    buffer_.clear();
    return s;
  }

 private:
  archive::ZipWriter& zip_;
  bool hold_;
  std::string buffer_;
};

// Replaces the placeholder body of an ODT table of contents with one paragraph per rendered
// heading (text:h, levels 1-3), in the "Contents N" styles. Page numbers are left to
// LibreOffice (Tools, Update), which cannot be told to refresh indexes on opening.
void fillOdtContents(std::string& xml) {
  const std::string placeholder = SENDFLOW_ODT_TOC_BODY;
  const std::size_t at = xml.find(placeholder);
  if (at == std::string::npos) return;
  std::string entries;
  std::size_t pos = 0;
  while ((pos = xml.find("<text:h", pos)) != std::string::npos) {
    const char after = pos + 7 < xml.size() ? xml[pos + 7] : '\0';
    if (after != ' ' && after != '>') {  // <text:hidden-text>, <text:hidden-paragraph>, ...
      pos += 7;
      continue;
    }
    const std::size_t open_end = xml.find('>', pos);
    if (open_end == std::string::npos) break;
    const std::size_t close = xml.find("</text:h>", open_end);
    if (close == std::string::npos) break;
    const std::string open_tag = xml.substr(pos, open_end - pos);
    int level = 1;
    if (const std::size_t l = open_tag.find("text:outline-level=\""); l != std::string::npos) {
      level = std::atoi(open_tag.c_str() + l + 20);
    }
    std::string text;
    bool in_tag = false;
    for (std::size_t i = open_end + 1; i < close; ++i) {
      if (xml[i] == '<') in_tag = true;
      if (!in_tag) text += xml[i];
      if (xml[i] == '>') in_tag = false;
    }
    if (level >= 1 && level <= 3 && !text.empty() && open_tag.back() != '/') {
      entries += "<text:p text:style-name=\"Contents_20_" + std::to_string(level) + "\">" + text +
                 "</text:p>";
    }
    pos = close;
  }
  if (!entries.empty()) xml.replace(at, placeholder.size(), entries);
}

struct RenderRun {
  const Template::Compiled& t;
  std::string part;
  TextTarget target;
  PartSink& sink;
  RenderedMedia& media;
  ContextStack stack;
  int depth = 0;

  core::Status run(const Program& program, std::size_t begin, std::size_t end) {
    const std::vector<Op>& ops = program.ops;
    for (std::size_t i = begin; i < end; ++i) {
      const Op& op = ops[i];
      std::string& out = sink.buffer();
      switch (op.kind) {
        case Op::Kind::kLiteral:
          out += op.text;
          break;
        case Op::Kind::kVariable: {
          std::string error;
          const json* value = lookup(stack, op.tag.path);
          std::string text = formatValue(value, op.tag.formatters, error);
          if (!error.empty() && value != nullptr) text = formatValue(value, {}, error);
          appendXmlText(out, text, target);
          break;
        }
        case Op::Kind::kParagraphVariable: {
          const json* value = lookup(stack, op.tag.path);
          const std::vector<std::string> items = listItems(value, op.tag.formatters);
          if (items.empty()) {
            std::string error;
            std::string text = formatValue(value, op.tag.formatters, error);
            if (!error.empty() && value != nullptr) text = formatValue(value, {}, error);
            out += op.text;
            appendXmlText(out, text, target);
            out += op.suffix;
          } else {
            out += op.list_open;
            for (const std::string& item : items) {
              out += op.list_item_open;
              appendXmlText(out, item, target);
              out += op.list_item_close;
            }
            out += op.list_close;
          }
          break;
        }
        case Op::Kind::kSectionOpen: {
          const json* value = lookup(stack, op.tag.path);
          const bool truthy = isTruthy(value);
          if (op.inverted) {
            if (!truthy) SENDFLOW_RETURN_IF_ERROR(run(program, i + 1, op.match));
          } else if (truthy && value->is_array()) {
            for (const json& item : *value) {
              stack.push_back(&item);
              core::Status s = run(program, i + 1, op.match);
              stack.pop_back();
              SENDFLOW_RETURN_IF_ERROR(s);
            }
          } else if (truthy) {
            stack.push_back(value);
            core::Status s = run(program, i + 1, op.match);
            stack.pop_back();
            SENDFLOW_RETURN_IF_ERROR(s);
          }
          i = op.match;
          break;
        }
        case Op::Kind::kSectionClose:
          break;
        case Op::Kind::kPartial: {
          auto partial = t.partials.find(op.tag.name);
          if (partial == t.partials.end()) {
            return core::internalError(op.where + ": partial '" + op.tag.name + "' was not loaded");
          }
          if (++depth > kMaxRenderDepth) {
            return core::resourceExhausted(op.where + ": partials nest more than " +
                                           std::to_string(kMaxRenderDepth) + " deep");
          }
          SENDFLOW_RETURN_IF_ERROR(run(*partial->second, 0, partial->second->ops.size()));
          --depth;
          break;
        }
        case Op::Kind::kImage:
          SENDFLOW_RETURN_IF_ERROR(renderImage(lookup(stack, op.tag.path),
                                               op.where + ", {{image " + op.tag.name + "}}", part,
                                               t.format, t.options.resource_dir, media, out));
          break;
        case Op::Kind::kChart:
          SENDFLOW_RETURN_IF_ERROR(renderChart(lookup(stack, op.tag.path),
                                               op.where + ", {{chart " + op.tag.name + "}}", part,
                                               t.format, media, out));
          break;
      }
      SENDFLOW_RETURN_IF_ERROR(sink.maybeFlush());
    }
    return core::Status::ok();
  }
};

std::string relsPathFor(const std::string& part) {
  const std::size_t slash = part.rfind('/');
  return part.substr(0, slash + 1) + "_rels/" + part.substr(slash + 1) + ".rels";
}

void insertBefore(std::string& text, std::string_view closing, const std::string& addition) {
  const std::size_t at = text.rfind(closing);
  if (at != std::string::npos) text.insert(at, addition);
}

std::string escapedAttr(std::string_view v) {
  std::string out;
  appendEscaped(out, v);
  return out;
}

core::Status loadPartials(Template::Compiled& c, const std::map<std::string, std::string>& wanted,
                          const std::string& from_part, int depth);

core::Status compileInto(Template::Compiled& c, const std::string& part_name, PartKind kind,
                         std::string xml, bool list_style, Program& program, bool& odt_toc) {
  PartCompileInput input{c.format, kind, part_name, std::move(xml), list_style};
  SENDFLOW_ASSIGN_OR_RETURN(PartCompileResult result, compilePart(input));
  program = std::move(result.program);
  odt_toc = result.has_odt_toc;
  c.problems.insert(c.problems.end(), result.problems.begin(), result.problems.end());
  c.tags.insert(c.tags.end(), result.tags.begin(), result.tags.end());
  c.update_fields = c.update_fields || result.has_toc;
  return loadPartials(c, result.partials, part_name, 0);
}

core::Status loadPartials(Template::Compiled& c, const std::map<std::string, std::string>& wanted,
                          const std::string& from_part, int depth) {
  for (const auto& [name, where] : wanted) {
    if (c.partials.count(name)) continue;
    const std::string extension = c.format == DocumentFormat::kDocx ? ".docx" : ".odt";
    const bool safe_name = std::all_of(name.begin(), name.end(), [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
    });
    const std::filesystem::path file = c.options.resource_dir / (name + extension);
    std::error_code ec;
    if (!safe_name || c.options.resource_dir.empty() ||
        !std::filesystem::is_regular_file(file, ec)) {
      c.problems.push_back({from_part, where,
                            "unknown partial '" + name + "': there is no " + name + extension +
                                " beside the template (names use letters, digits, '_' and '-')"});
      continue;
    }
    if (depth >= c.options.max_partial_depth) {
      c.problems.push_back({from_part, where,
                            "partial '" + name + "' nests deeper than " +
                                std::to_string(c.options.max_partial_depth) +
                                " levels; is it including itself?"});
      continue;
    }
    c.partials[name] = nullptr;  // placeholder: a partial may include itself
    SENDFLOW_ASSIGN_OR_RETURN(auto reader,
                              archive::ZipReader::openFile(file.string(), c.options.limits));
    const std::string body =
        c.format == DocumentFormat::kDocx ? "word/document.xml" : "content.xml";
    SENDFLOW_ASSIGN_OR_RETURN(std::string xml, reader.read(body));
    const std::string label = name + extension;
    PartCompileInput input{c.format, PartKind::kFragment, label + ":" + body, std::move(xml),
                           false};
    SENDFLOW_ASSIGN_OR_RETURN(PartCompileResult result, compilePart(input));
    c.problems.insert(c.problems.end(), result.problems.begin(), result.problems.end());
    c.tags.insert(c.tags.end(), result.tags.begin(), result.tags.end());
    c.partials[name] = std::make_shared<const Program>(std::move(result.program));
    SENDFLOW_RETURN_IF_ERROR(loadPartials(c, result.partials, label, depth + 1));
  }
  return core::Status::ok();
}

}  // namespace

std::string TemplateProblem::toString() const {
  return part + (location.empty() ? "" : ", " + location) + ": " + message;
}

core::StatusOr<DocumentFormat> formatFromFileName(const std::string& name) {
  const std::string ext = lower(std::filesystem::path(name).extension().string());
  if (ext == ".docx" || ext == ".dotx") return DocumentFormat::kDocx;
  if (ext == ".odt" || ext == ".ott") return DocumentFormat::kOdt;
  if (ext == ".docm" || ext == ".dotm") {
    return core::invalidArgument(name +
                                 ": macro-enabled Word files are not accepted; save it as .docx");
  }
  return core::invalidArgument(name + ": the file name must end in .docx or .odt");
}

Template::Template(std::unique_ptr<Compiled> compiled) : compiled_(std::move(compiled)) {}
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
Template::~Template() = default;

DocumentFormat Template::format() const { return compiled_->format; }
const std::string& Template::label() const { return compiled_->label; }
const std::vector<TemplateProblem>& Template::problems() const { return compiled_->problems; }
const std::vector<TemplateTag>& Template::tags() const { return compiled_->tags; }

core::StatusOr<Template> Template::load(const std::filesystem::path& path,
                                        TemplateOptions options) {
  const std::string ext = lower(path.extension().string());
  if (ext == ".docm" || ext == ".dotm") {
    return core::invalidArgument(path.string() +
                                 ": macro-enabled Word files are not accepted; save it as .docx");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::notFound(path.string() + ": cannot open the template");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (options.resource_dir.empty())
    options.resource_dir = path.parent_path().empty() ? "." : path.parent_path();
  return loadBytes(bytes.str(), path.string(), std::move(options));
}

core::StatusOr<Template> Template::loadBytes(std::string bytes, std::string label,
                                             TemplateOptions options) {
  SENDFLOW_ASSIGN_OR_RETURN(
      auto reader, archive::ZipReader::openBuffer(std::move(bytes), label, options.limits));
  auto c = std::make_unique<Compiled>();
  c->label = label;
  c->options = std::move(options);
  if (reader.contains("word/document.xml")) {
    c->format = DocumentFormat::kDocx;
    for (const auto& e : reader.entries()) {
      const std::string name = lower(e.name);
      if (endsWith(name, "vbaproject.bin") || endsWith(name, "vbadata.xml")) {
        return core::invalidArgument(label + ": holds Word macros ('" + e.name +
                                     "'); save it as a plain .docx document");
      }
      if (startsWith(name, "word/activex/")) {
        return core::invalidArgument(label + ": holds ActiveX controls ('" + e.name +
                                     "'); remove them and save it as a plain .docx document");
      }
    }
    SENDFLOW_ASSIGN_OR_RETURN(std::string types, reader.read("[Content_Types].xml"));
    if (types.find("macroEnabled") != std::string::npos) {
      return core::invalidArgument(label + ": is a macro-enabled document; save it as .docx");
    }
  } else if (reader.contains("content.xml") && reader.contains("mimetype")) {
    c->format = DocumentFormat::kOdt;
    SENDFLOW_ASSIGN_OR_RETURN(std::string mimetype, reader.read("mimetype"));
    if (mimetype != "application/vnd.oasis.opendocument.text" &&
        mimetype != "application/vnd.oasis.opendocument.text-template") {
      return core::invalidArgument(label + ": is an OpenDocument '" + mimetype.substr(0, 60) +
                                   "', not a text document (.odt)");
    }
    for (const auto& e : reader.entries()) {
      if (startsWith(e.name, "Basic/") || startsWith(e.name, "Scripts/")) {
        return core::invalidArgument(label + ": holds macros or scripts ('" + e.name +
                                     "'); remove them (Tools, Macros) and save again");
      }
    }
  } else {
    return core::invalidArgument(label +
                                 ": is neither a Word (.docx) nor an OpenDocument (.odt) "
                                 "text document");
  }
  if (c->format == DocumentFormat::kOdt) {
    // Event listeners that call macros (in this document or elsewhere) make it macro-enabled.
    for (const char* part : {"content.xml", "styles.xml"}) {
      if (!reader.contains(part)) continue;
      SENDFLOW_ASSIGN_OR_RETURN(std::string xml, reader.read(part));
      if (xml.find("script:event-listener") != std::string::npos ||
          xml.find("vnd.sun.star.script:") != std::string::npos ||
          xml.find("macro://") != std::string::npos) {
        return core::invalidArgument(label + ": " + part +
                                     " calls macros (event listeners or macro links); remove "
                                     "them (Tools, Customise, Events) and save again");
      }
    }
  }
  bool list_style = false;
  if (c->format == DocumentFormat::kDocx && reader.contains("word/styles.xml")) {
    SENDFLOW_ASSIGN_OR_RETURN(std::string styles, reader.read("word/styles.xml"));
    list_style = styles.find("w:styleId=\"ListBullet\"") != std::string::npos;
  }
  for (const auto& e : reader.entries()) {
    Compiled::Entry entry;
    entry.name = e.name;
    const auto kind = partKind(c->format, e.name);
    // Every XML part is parsed once here, with the same safe parser, whether or not it holds
    // tags: a damaged part or one that declares a DTD is refused rather than passed through.
    const bool xml_part = endsWith(e.name, ".xml") || endsWith(e.name, ".rels");
    if (xml_part && !kind) {
      SENDFLOW_ASSIGN_OR_RETURN(std::string xml, reader.read(e.name));
      SENDFLOW_RETURN_IF_ERROR(checkWellFormed(xml, e.name).withContext(label));
    }
    if (patchable(c->format, e.name)) {
      SENDFLOW_ASSIGN_OR_RETURN(entry.text, reader.read(e.name));
      SENDFLOW_ASSIGN_OR_RETURN(entry.raw, archive::readRawEntry(reader, e.name));
      entry.plan = EntryPlan::kPatch;
    } else if (kind) {
      SENDFLOW_ASSIGN_OR_RETURN(std::string xml, reader.read(e.name));
      if (xml.find('{') == std::string::npos) {
        SENDFLOW_RETURN_IF_ERROR(checkWellFormed(xml, e.name).withContext(label));
        SENDFLOW_ASSIGN_OR_RETURN(entry.raw, archive::readRawEntry(reader, e.name));
      } else {
        entry.plan = EntryPlan::kProgram;
        SENDFLOW_RETURN_IF_ERROR(compileInto(*c, e.name, *kind, std::move(xml), list_style,
                                             entry.program, entry.fill_odt_toc));
      }
    } else {
      SENDFLOW_ASSIGN_OR_RETURN(entry.raw, archive::readRawEntry(reader, e.name));
    }
    c->entries.push_back(std::move(entry));
  }
  return Template(std::move(c));
}

core::StatusOr<std::string> Template::render(const json& data) const {
  const Compiled& c = *compiled_;
  if (!c.problems.empty()) {
    std::string message =
        c.label + ": the template has " + std::to_string(c.problems.size()) +
        " problem(s); run 'sendflow template check': " + c.problems.front().toString();
    return core::failedPrecondition(message);
  }
  archive::ZipWriter zip(c.options.deflate_level);
  RenderedMedia media;
  std::vector<const Compiled::Entry*> deferred;
  for (const Compiled::Entry& e : c.entries) {
    switch (e.plan) {
      case EntryPlan::kCopy:
        SENDFLOW_RETURN_IF_ERROR(zip.copyRaw(e.raw));
        break;
      case EntryPlan::kPatch:
        deferred.push_back(&e);
        break;
      case EntryPlan::kProgram: {
        SENDFLOW_RETURN_IF_ERROR(zip.beginDeflated(e.name));
        PartSink sink(zip, e.fill_odt_toc);
        RenderRun run{c, e.name, e.program.target, sink, media, {&data}, 0};
        SENDFLOW_RETURN_IF_ERROR(run.run(e.program, 0, e.program.ops.size()));
        if (e.fill_odt_toc) fillOdtContents(sink.buffer());
        SENDFLOW_RETURN_IF_ERROR(sink.flush());
        SENDFLOW_RETURN_IF_ERROR(zip.finishEntry());
        break;
      }
    }
  }
  for (const Compiled::Entry* e : deferred) {
    std::string text = e->text;
    if (e->name == "[Content_Types].xml") {
      std::string add;
      for (const auto& [ext, type] : media.content_defaults) {
        if (text.find("Extension=\"" + ext + "\"") == std::string::npos) {
          add += "<Default Extension=\"" + ext + "\" ContentType=\"" + type + "\"/>";
        }
      }
      for (const auto& [part, type] : media.content_overrides) {
        add += "<Override PartName=\"" + part + "\" ContentType=\"" + type + "\"/>";
      }
      insertBefore(text, "</Types>", add);
    } else if (e->name == "word/settings.xml") {
      if (c.update_fields && text.find("updateFields") == std::string::npos) {
        // Fields (the table of contents) are refreshed when Word opens the document.
        const std::size_t root = text.find("<w:settings");
        const std::size_t end = root == std::string::npos ? root : text.find('>', root);
        if (end != std::string::npos) text.insert(end + 1, "<w:updateFields w:val=\"true\"/>");
      }
    } else if (e->name == "META-INF/manifest.xml") {
      std::string add;
      for (const auto& [path, type] : media.manifest) {
        add += "<manifest:file-entry manifest:full-path=\"" + escapedAttr(path) +
               "\" manifest:media-type=\"" + type + "\"/>";
      }
      insertBefore(text, "</manifest:manifest>", add);
    } else {
      // word/_rels/X.rels: add the relationships of pictures and charts made for X.
      for (const auto& [part, rels] : media.relationships) {
        if (relsPathFor(part) != e->name) continue;
        std::string add;
        for (const auto& r : rels) {
          add +=
              "<Relationship Id=\"" + r[0] + "\" Type=\"" + r[1] + "\" Target=\"" + r[2] + "\"/>";
        }
        insertBefore(text, "</Relationships>", add);
      }
    }
    // Unchanged (no pictures, charts or contents this time): copied as it was.
    SENDFLOW_RETURN_IF_ERROR(text == e->text ? zip.copyRaw(e->raw) : zip.add(e->name, text));
  }
  // Parts that had no relationships file yet (a header with its first picture).
  for (const auto& [part, rels] : media.relationships) {
    const std::string path = relsPathFor(part);
    bool exists = false;
    for (const Compiled::Entry& e : c.entries) exists = exists || e.name == path;
    if (exists) continue;
    std::string text =
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships "
        "xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">";
    for (const auto& r : rels) {
      text += "<Relationship Id=\"" + r[0] + "\" Type=\"" + r[1] + "\" Target=\"" + r[2] + "\"/>";
    }
    text += "</Relationships>";
    SENDFLOW_RETURN_IF_ERROR(zip.add(path, text));
  }
  for (const MediaPart& part : media.parts) {
    SENDFLOW_RETURN_IF_ERROR(zip.add(part.name, part.bytes, part.store));
  }
  return zip.close();
}

}  // namespace sendflow::docgen
