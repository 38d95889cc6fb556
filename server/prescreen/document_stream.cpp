#include "server/prescreen/document_stream.h"

#include <libxml/xmlreader.h>

#include <cstring>
#include <memory>
#include <unordered_map>

namespace sendflow::prescreen {
namespace {

// Collects a paragraph's text with whitespace collapsed as it arrives.
class ParagraphText {
 public:
  // Space, tab, line feed, carriage return, or a no-break space (UTF-8 C2 A0).
  static bool isSpaceAt(const char* p) {
    const auto c = static_cast<unsigned char>(*p);
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
           (c == 0xC2 && static_cast<unsigned char>(p[1]) == 0xA0);
  }
  void clear() {
    text_.clear();
    pending_space_ = false;
    all_bold_ = true;
    any_text_ = false;
  }
  void space() { pending_space_ = !text_.empty(); }
  // Appends a run of text; `bold` is whether that run is bold.
  void append(const char* s, bool bold) {
    bool had_visible = false;
    const char* p = s;
    while (*p != '\0') {
      // Copy a run of visible bytes at once.
      const char* run = p;
      while (*p != '\0' && !isSpaceAt(p)) ++p;
      if (p > run) {
        if (pending_space_) text_.push_back(' ');
        pending_space_ = false;
        text_.append(run, static_cast<std::size_t>(p - run));
        had_visible = true;
      }
      while (*p != '\0' && isSpaceAt(p)) {
        p += static_cast<unsigned char>(*p) == 0xC2 ? 2 : 1;
        pending_space_ = !text_.empty();
      }
    }
    if (had_visible) {
      any_text_ = true;
      if (!bold) all_bold_ = false;
    }
  }
  std::string_view view() const { return text_; }
  bool empty() const { return text_.empty(); }
  bool allBold() const { return any_text_ && all_bold_; }

 private:
  std::string text_;
  bool pending_space_ = false;
  bool all_bold_ = true;
  bool any_text_ = false;
};

struct XmlError {
  std::string message;
  int line = 0;
};

void onXmlError(void* context, xmlErrorPtr error) {
  auto* first = static_cast<XmlError*>(context);
  if (!first->message.empty() || error == nullptr || error->level < XML_ERR_ERROR) return;
  first->message = error->message != nullptr ? error->message : "malformed XML";
  while (!first->message.empty() &&
         (first->message.back() == '\n' || first->message.back() == ' ')) {
    first->message.pop_back();
  }
  first->line = error->line;
}

struct ReaderDeleter {
  void operator()(xmlTextReaderPtr r) const { xmlFreeTextReader(r); }
};
using Reader = std::unique_ptr<xmlTextReader, ReaderDeleter>;

inline bool is(const xmlChar* name, const char* literal) {
  return name != nullptr && name[0] == static_cast<unsigned char>(literal[0]) &&
         std::strcmp(reinterpret_cast<const char*>(name), literal) == 0;
}

// The value of the attribute with local name `local` on the current element, or "" (copied).
std::string attribute(xmlTextReaderPtr r, const char* local) {
  std::string value;
  if (xmlTextReaderMoveToFirstAttribute(r) == 1) {
    do {
      if (is(xmlTextReaderConstLocalName(r), local)) {
        const xmlChar* v = xmlTextReaderConstValue(r);
        value = v != nullptr ? reinterpret_cast<const char*>(v) : "";
        break;
      }
    } while (xmlTextReaderMoveToNextAttribute(r) == 1);
    xmlTextReaderMoveToElement(r);
  }
  return value;
}

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != prefix[i]) return false;
  }
  return true;
}

int trailingNumber(std::string_view s, int fallback) {
  std::size_t i = s.size();
  while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9') --i;
  if (i == s.size()) return fallback;
  int n = 0;
  for (std::size_t k = i; k < s.size() && k < i + 3; ++k) n = n * 10 + (s[k] - '0');
  return n;
}

// Shared table and paragraph bookkeeping of both formats.
struct BodyState {
  ParagraphText text;
  int paragraph_depth = 0;
  bool heading = false;
  int heading_level = 0;
  bool paragraph_bold = false;
  int table_depth = 0;
  int table = 0;
  int row = 0;
  int cell = 0;
  int paragraphs = 0;

  void startParagraph() {
    if (paragraph_depth++ > 0) return;  // a paragraph inside a text box or note joins its parent
    text.clear();
    heading = false;
    heading_level = 0;
    paragraph_bold = false;
  }
  void endParagraph(BlockSink& sink) {
    if (paragraph_depth == 0 || --paragraph_depth > 0) return;
    if (text.empty()) return;
    TextBlock block;
    block.text = text.view();
    block.heading = heading;
    block.heading_level = heading ? std::max(heading_level, 1) : 0;
    block.bold = text.allBold();
    if (table_depth > 0) {
      block.table = table;
      block.row = row;
      block.cell = cell;
    }
    block.paragraph = ++paragraphs;
    sink.onBlock(block);
  }
  void startTable() {
    if (table_depth++ == 0) {
      ++table;
      row = 0;
      cell = 0;
    }
  }
  void endTable() {
    if (table_depth > 0) --table_depth;
  }
  void startRow() {
    if (table_depth == 1) {
      ++row;
      cell = 0;
    }
  }
  void startCell() {
    if (table_depth == 1) ++cell;
  }
};

Reader openReader(const std::string& xml, XmlError& error) {
  Reader reader(xmlReaderForMemory(xml.data(), static_cast<int>(xml.size()), nullptr, nullptr,
                                   XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (reader) xmlTextReaderSetStructuredErrorHandler(reader.get(), onXmlError, &error);
  return reader;
}

core::Status xmlFailure(const archive::ZipReader& package, const char* part,
                        const XmlError& error) {
  std::string message = package.label() + ": part '" + part + "'";
  if (error.line > 0) message += " line " + std::to_string(error.line);
  message += " is not well-formed XML (" +
             (error.message.empty() ? std::string("unexpected end") : error.message) +
             "); the document is corrupt";
  return core::invalidArgument(message);
}

bool isOn(const std::string& val) {
  return val.empty() || !(val == "0" || val == "false" || val == "off" || val == "none");
}

core::Status streamDocx(const archive::ZipReader& package, BlockSink& sink) {
  constexpr const char* kPart = "word/document.xml";
  SENDFLOW_ASSIGN_OR_RETURN(const std::string xml, package.read(kPart));
  XmlError error;
  Reader reader = openReader(xml, error);
  if (!reader) return core::internalError(package.label() + ": cannot create an XML reader");
  xmlTextReaderPtr r = reader.get();

  BodyState body;
  bool in_run = false, in_text = false, in_ppr = false, run_bold = false;
  int result;
  while ((result = xmlTextReaderRead(r)) == 1) {
    const int type = xmlTextReaderNodeType(r);
    if (type == XML_READER_TYPE_ELEMENT) {
      const xmlChar* name = xmlTextReaderConstLocalName(r);
      const bool empty = xmlTextReaderIsEmptyElement(r) == 1;
      if (is(name, "p")) {
        if (!empty) body.startParagraph();
      } else if (is(name, "r")) {
        in_run = !empty;
        run_bold = false;
      } else if (is(name, "t")) {
        in_text = in_run && !empty;
      } else if (is(name, "tab") || is(name, "br") || is(name, "cr")) {
        if (in_run) body.text.space();
      } else if (is(name, "pPr")) {
        in_ppr = !empty;
      } else if (is(name, "b") || is(name, "bCs")) {
        if (in_run && !in_ppr && is(name, "b")) run_bold = isOn(attribute(r, "val"));
      } else if (is(name, "rStyle")) {
        const std::string style = attribute(r, "val");
        if (in_run && (style.find("Strong") != std::string::npos ||
                       style.find("Bold") != std::string::npos)) {
          run_bold = true;
        }
      } else if (is(name, "pStyle")) {
        const std::string style = attribute(r, "val");
        if (startsWithNoCase(style, "heading")) {
          body.heading = true;
          body.heading_level = trailingNumber(style, 1);
        } else if (startsWithNoCase(style, "title")) {
          body.heading = true;
          body.heading_level = 1;
        }
      } else if (is(name, "outlineLvl")) {
        const std::string level = attribute(r, "val");
        const int n = trailingNumber(level, 9);
        if (in_ppr && n < 9) {
          body.heading = true;
          body.heading_level = n + 1;
        }
      } else if (is(name, "tbl")) {
        if (!empty) body.startTable();
      } else if (is(name, "tr")) {
        if (!empty) body.startRow();
      } else if (is(name, "tc")) {
        if (!empty) body.startCell();
      } else if (is(name, "del") || is(name, "instrText") || is(name, "commentReference")) {
        if (!empty) xmlTextReaderNext(r);
      }
    } else if (type == XML_READER_TYPE_END_ELEMENT) {
      const xmlChar* name = xmlTextReaderConstLocalName(r);
      if (is(name, "p")) {
        body.endParagraph(sink);
      } else if (is(name, "r")) {
        in_run = false;
      } else if (is(name, "t")) {
        in_text = false;
      } else if (is(name, "pPr")) {
        in_ppr = false;
      } else if (is(name, "tbl")) {
        body.endTable();
      }
    } else if (in_text && (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
                           type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE)) {
      const xmlChar* value = xmlTextReaderConstValue(r);
      if (value != nullptr) body.text.append(reinterpret_cast<const char*>(value), run_bold);
    }
  }
  if (result < 0 || !error.message.empty()) return xmlFailure(package, kPart, error);
  return core::Status::ok();
}

struct OdfStyle {
  bool bold = false;
  int heading_level = 0;
  std::string parent;
};

core::Status streamOdt(const archive::ZipReader& package, BlockSink& sink) {
  constexpr const char* kPart = "content.xml";
  SENDFLOW_ASSIGN_OR_RETURN(const std::string xml, package.read(kPart));
  XmlError error;
  Reader reader = openReader(xml, error);
  if (!reader) return core::internalError(package.label() + ": cannot create an XML reader");
  xmlTextReaderPtr r = reader.get();

  std::unordered_map<std::string, OdfStyle> styles;
  OdfStyle* current_style = nullptr;
  auto styleBold = [&](const std::string& name) {
    auto it = styles.find(name);
    return it != styles.end() && it->second.bold;
  };
  BodyState body;
  std::vector<bool> span_bold;  // stack of open text:span elements
  int result;
  while ((result = xmlTextReaderRead(r)) == 1) {
    const int type = xmlTextReaderNodeType(r);
    if (type == XML_READER_TYPE_ELEMENT) {
      const xmlChar* name = xmlTextReaderConstLocalName(r);
      const bool empty = xmlTextReaderIsEmptyElement(r) == 1;
      if (is(name, "p") || is(name, "h")) {
        if (empty) continue;
        const bool outer = body.paragraph_depth == 0;
        body.startParagraph();
        if (!outer) continue;
        const std::string style = attribute(r, "style-name");
        auto it = styles.find(style);
        if (is(name, "h")) {
          body.heading = true;
          body.heading_level = trailingNumber(attribute(r, "outline-level"), 1);
        } else if (startsWithNoCase(style, "heading")) {
          body.heading = true;
          body.heading_level = trailingNumber(style, 1);
        } else if (it != styles.end() && it->second.heading_level > 0) {
          body.heading = true;
          body.heading_level = it->second.heading_level;
        }
        body.paragraph_bold = it != styles.end() && it->second.bold;
        span_bold.clear();
      } else if (is(name, "span")) {
        if (!empty) span_bold.push_back(styleBold(attribute(r, "style-name")));
      } else if (is(name, "s") || is(name, "tab") || is(name, "line-break")) {
        if (body.paragraph_depth > 0) body.text.space();
      } else if (is(name, "table")) {
        if (!empty) body.startTable();
      } else if (is(name, "table-row")) {
        if (!empty) body.startRow();
      } else if (is(name, "table-cell") || is(name, "covered-table-cell")) {
        body.startCell();
      } else if (is(name, "style") && body.table == 0 && body.paragraphs == 0) {
        const std::string style_name = attribute(r, "name");
        OdfStyle style;
        style.parent = attribute(r, "parent-style-name");
        if (startsWithNoCase(style.parent, "heading")) {
          style.heading_level = trailingNumber(style.parent, 1);
        } else if (auto parent = styles.find(style.parent); parent != styles.end()) {
          style.heading_level = parent->second.heading_level;
          style.bold = parent->second.bold;
        }
        const std::string outline = attribute(r, "default-outline-level");
        if (!outline.empty()) style.heading_level = trailingNumber(outline, 1);
        current_style = &(styles[style_name] = std::move(style));
        if (empty) current_style = nullptr;
      } else if (is(name, "text-properties")) {
        if (current_style != nullptr) {
          const std::string weight = attribute(r, "font-weight");
          if (!weight.empty()) {
            current_style->bold = weight == "bold" || weight == "600" || weight == "700" ||
                                  weight == "800" || weight == "900";
          }
        }
      } else if (is(name, "annotation") || is(name, "tracked-changes") ||
                 is(name, "sequence-decls")) {
        if (!empty) xmlTextReaderNext(r);
      }
    } else if (type == XML_READER_TYPE_END_ELEMENT) {
      const xmlChar* name = xmlTextReaderConstLocalName(r);
      if (is(name, "p") || is(name, "h")) {
        body.endParagraph(sink);
      } else if (is(name, "span")) {
        if (!span_bold.empty()) span_bold.pop_back();
      } else if (is(name, "table")) {
        body.endTable();
      } else if (is(name, "style")) {
        current_style = nullptr;
      }
    } else if (body.paragraph_depth > 0 &&
               (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
                type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE)) {
      const xmlChar* value = xmlTextReaderConstValue(r);
      const bool bold = span_bold.empty() ? body.paragraph_bold : span_bold.back();
      if (value != nullptr) body.text.append(reinterpret_cast<const char*>(value), bold);
    }
  }
  if (result < 0 || !error.message.empty()) return xmlFailure(package, kPart, error);
  return core::Status::ok();
}

}  // namespace

const char* documentFormatName(DocumentFormat format) {
  return format == DocumentFormat::kDocx ? "docx" : "odt";
}

core::StatusOr<DocumentFormat> detectFormat(const archive::ZipReader& package) {
  if (package.contains("word/document.xml")) return DocumentFormat::kDocx;
  if (package.contains("content.xml")) {
    if (package.contains("META-INF/manifest.xml")) {
      SENDFLOW_ASSIGN_OR_RETURN(const std::string manifest, package.read("META-INF/manifest.xml"));
      if (manifest.find("encryption-data") != std::string::npos) {
        return core::invalidArgument(package.label() +
                                     ": the OpenDocument file is password-protected; save it "
                                     "without a password and try again");
      }
    }
    return DocumentFormat::kOdt;
  }
  return core::invalidArgument(package.label() +
                               ": is neither a Word (.docx) nor an OpenDocument (.odt) text "
                               "document (no word/document.xml or content.xml)");
}

core::Status streamDocument(const archive::ZipReader& package, DocumentFormat format,
                            BlockSink& sink) {
  return format == DocumentFormat::kDocx ? streamDocx(package, sink) : streamOdt(package, sink);
}

}  // namespace sendflow::prescreen
