#include "server/docgen/part_compiler.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace sendflow::docgen {
namespace {

constexpr const char* kW = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
constexpr const char* kText = "urn:oasis:names:tc:opendocument:xmlns:text:1.0";
constexpr const char* kTable = "urn:oasis:names:tc:opendocument:xmlns:table:1.0";
constexpr const char* kOffice = "urn:oasis:names:tc:opendocument:xmlns:office:1.0";
constexpr const char* kStyle = "urn:oasis:names:tc:opendocument:xmlns:style:1.0";
constexpr const char* kDraw = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0";

constexpr const char* kDocxPageBreak = "</w:t><w:br w:type=\"page\"/><w:t xml:space=\"preserve\">";
constexpr const char* kDocxToc =
    "</w:t><w:fldChar w:fldCharType=\"begin\" w:dirty=\"true\"/><w:instrText "
    "xml:space=\"preserve\"> TOC \\o \"1-3\" \\h \\z \\u </w:instrText><w:fldChar "
    "w:fldCharType=\"separate\"/><w:t>The table of contents is updated when the document is "
    "opened.</w:t><w:fldChar w:fldCharType=\"end\"/><w:t xml:space=\"preserve\">";
constexpr const char* kOdtToc =
    "<text:table-of-content text:protected=\"true\" text:name=\"Contents\">"
    "<text:table-of-content-source text:outline-level=\"3\">"
    "<text:index-title-template>Contents</text:index-title-template>"
    "</text:table-of-content-source><text:index-body>" SENDFLOW_ODT_TOC_BODY
    "</text:index-body></text:table-of-content>";

bool isElement(const xmlNode* n, const char* ns, const char* local) {
  return n != nullptr && n->type == XML_ELEMENT_NODE && n->ns != nullptr &&
         n->ns->href != nullptr && xmlStrEqual(n->name, BAD_CAST local) &&
         xmlStrEqual(n->ns->href, BAD_CAST ns);
}
bool inNamespace(const xmlNode* n, const char* ns) {
  return n != nullptr && n->type == XML_ELEMENT_NODE && n->ns != nullptr &&
         n->ns->href != nullptr && xmlStrEqual(n->ns->href, BAD_CAST ns);
}
std::string localName(const xmlNode* n) { return reinterpret_cast<const char*>(n->name); }

struct XmlDocDeleter {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocDeleter>;

core::StatusOr<XmlDocPtr> parseSafely(const std::string& xml, const std::string& part) {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
  xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
  if (ctxt == nullptr) return core::internalError(part + ": cannot create an XML parser");
  // No network, no entity substitution, no DTD loading; errors come back as values.
  const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
  xmlDocPtr raw = xmlCtxtReadMemory(ctxt, xml.data(), static_cast<int>(xml.size()), part.c_str(),
                                    nullptr, options);
  if (raw == nullptr) {
    const xmlError* e = xmlCtxtGetLastError(ctxt);
    std::string message = e != nullptr && e->message != nullptr ? e->message : "unknown error";
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
      message.pop_back();
    const int line = e != nullptr ? e->line : 0;
    xmlFreeParserCtxt(ctxt);
    return core::invalidArgument(part + ", line " + std::to_string(line) +
                                 ": not well-formed XML: " + message);
  }
  xmlFreeParserCtxt(ctxt);
  XmlDocPtr doc(raw);
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    return core::invalidArgument(part + ": declares a DTD (<!DOCTYPE>); templates may not");
  }
  return doc;
}

// Where a token is, and what it does once scopes are decided.
enum class Role { kInline, kStructural, kParagraphVariable, kReplacesParagraph, kNothing };

struct Token {
  Tag tag;
  std::string raw;  // "{{#rows}}"
  xmlNode* carrier = nullptr;
  xmlNode* paragraph = nullptr;
  std::size_t begin = 0, end = 0;  // in the carrier's (merged) text
  Role role = Role::kInline;
  // An inline section whose two tags sit at different depths (one in a hyperlink or a span, the
  // other not): the elements between the paragraph level they share and this tag's text, which
  // are closed before the tag's operation and opened again after it.
  std::vector<xmlNode*> split_chain;
};

struct CarrierText {
  std::string value;
  bool changed = false;
  std::vector<std::size_t> tokens;  // indices into tokens_
};

class PartCompiler {
 public:
  explicit PartCompiler(const PartCompileInput& in) : in_(in) {}

  core::StatusOr<PartCompileResult> run() {
    SENDFLOW_ASSIGN_OR_RETURN(doc_, parseSafely(in_.xml, in_.part_name));
    xmlNode* root = xmlDocGetRootElement(doc_.get());
    if (root == nullptr) return core::invalidArgument(in_.part_name + ": has no root element");
    collect(root);
    for (xmlNode* p : paragraphs_) mergeAndTokenise(p);
    matchSections();
    if (!result_.problems.empty()) return std::move(result_);
    decideScopes();
    dropEmptyParagraphs();
    if (result_.needs_list_style || result_.needs_page_break_style) addOdtStyles(root);
    result_.program.target = in_.kind == PartKind::kProperties     ? TextTarget::kPlain
                             : in_.format == DocumentFormat::kDocx ? TextTarget::kDocxRun
                                                                   : TextTarget::kOdtText;
    if (in_.kind == PartKind::kFragment) {
      xmlNode* body = findBody(root);
      if (body == nullptr) {
        return core::invalidArgument(in_.part_name + ": has no document body to include");
      }
      for (xmlNode* c = body->children; c != nullptr; c = c->next) {
        if (isElement(c, kW, "sectPr") || isElement(c, kText, "sequence-decls") ||
            isElement(c, kOffice, "forms") || isElement(c, kText, "variable-decls")) {
          continue;
        }
        emitNode(c);
      }
    } else {
      lit_ = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";
      for (xmlNode* c = doc_->children; c != nullptr; c = c->next) emitNode(c);
    }
    flush();
    return std::move(result_);
  }

 private:
  bool docx() const { return in_.format == DocumentFormat::kDocx; }
  bool isParagraph(const xmlNode* n) const {
    if (in_.kind == PartKind::kProperties) return property_elements_.count(n) > 0;
    return docx() ? isElement(n, kW, "p") : (isElement(n, kText, "p") || isElement(n, kText, "h"));
  }
  bool isRow(const xmlNode* n) const {
    return docx() ? isElement(n, kW, "tr") : isElement(n, kTable, "table-row");
  }
  bool isCell(const xmlNode* n) const {
    return docx() ? isElement(n, kW, "tc") : isElement(n, kTable, "table-cell");
  }
  bool isTable(const xmlNode* n) const {
    return docx() ? isElement(n, kW, "tbl") : isElement(n, kTable, "table");
  }
  // Containers that must keep at least one paragraph.
  bool needsParagraph(const xmlNode* n) const {
    if (docx()) {
      return isElement(n, kW, "tc") || isElement(n, kW, "txbxContent") ||
             isElement(n, kW, "footnote") || isElement(n, kW, "endnote") ||
             isElement(n, kW, "hdr") || isElement(n, kW, "ftr");
    }
    return isElement(n, kTable, "table-cell") || isElement(n, kText, "note-body") ||
           isElement(n, kDraw, "text-box");
  }
  xmlNode* nearest(xmlNode* n, bool (PartCompiler::*pred)(const xmlNode*) const) const {
    for (xmlNode* a = n; a != nullptr && a->type == XML_ELEMENT_NODE; a = a->parent) {
      if ((this->*pred)(a)) return a;
    }
    return nullptr;
  }
  xmlNode* findBody(xmlNode* root) const {
    if (docx()) {
      for (xmlNode* c = root->children; c; c = c->next)
        if (isElement(c, kW, "body")) return c;
      return nullptr;
    }
    for (xmlNode* c = root->children; c; c = c->next) {
      if (!isElement(c, kOffice, "body")) continue;
      for (xmlNode* t = c->children; t; t = t->next)
        if (isElement(t, kOffice, "text")) return t;
    }
    return nullptr;
  }

  // Document order pass: paragraphs, table numbering, TOC fields.
  void collect(xmlNode* n) {
    for (xmlNode* c = n; c != nullptr; c = c->next) {
      if (c->type != XML_ELEMENT_NODE) continue;
      if (in_.kind == PartKind::kProperties) {
        bool has_text = false;
        for (xmlNode* t = c->children; t; t = t->next) {
          has_text = has_text || (t->type == XML_TEXT_NODE && t->content && t->content[0]);
        }
        if (has_text) property_elements_.insert(c);
      }
      if (isRow(c)) rows_in_order_.push_back(c);
      if (isTable(c)) table_number_[c] = static_cast<int>(table_number_.size()) + 1;
      if (isParagraph(c)) {
        paragraphs_.push_back(c);
        paragraph_number_[c] = static_cast<int>(paragraphs_.size());
      }
      if (docx() && (isElement(c, kW, "instrText") || isElement(c, kW, "fldSimple"))) {
        xmlChar* text = isElement(c, kW, "fldSimple")
                            ? xmlGetNsProp(c, BAD_CAST "instr", BAD_CAST kW)
                            : xmlNodeGetContent(c);
        if (text != nullptr) {
          if (std::string(reinterpret_cast<char*>(text)).find("TOC") != std::string::npos) {
            result_.has_toc = true;
          }
          xmlFree(text);
        }
      }
      collect(c->children);
    }
  }

  // Text nodes of a paragraph that hold its visible text, not those of nested paragraphs.
  void carriersOf(xmlNode* n, std::vector<xmlNode*>& out, bool top) {
    for (xmlNode* c = n->children; c != nullptr; c = c->next) {
      if (c->type == XML_TEXT_NODE) {
        if (in_.kind == PartKind::kProperties || !docx())
          out.push_back(c);
        else if (isElement(n, kW, "t"))
          out.push_back(c);
        continue;
      }
      if (c->type != XML_ELEMENT_NODE) continue;
      if (isParagraph(c) || in_.kind == PartKind::kProperties) continue;
      if (docx() && (isElement(c, kW, "delText") || isElement(c, kW, "instrText"))) continue;
      if (!docx() && (isElement(c, kOffice, "annotation") || isElement(c, kText, "note-citation") ||
                      isElement(c, kText, "tracked-changes") || inNamespace(c, kDraw))) {
        continue;
      }
      carriersOf(c, out, false);
    }
  }

  std::string location(xmlNode* p) const {
    std::string where;
    xmlNode* cell = nearest(p->parent, &PartCompiler::isCell);
    if (cell != nullptr) {
      xmlNode* row = nearest(cell, &PartCompiler::isRow);
      xmlNode* table = row != nullptr ? nearest(row, &PartCompiler::isTable) : nullptr;
      auto position = [this](xmlNode* n, bool (PartCompiler::*pred)(const xmlNode*) const) {
        int k = 1;
        for (xmlNode* s = n->prev; s; s = s->prev)
          if ((this->*pred)(s)) ++k;
        return k;
      };
      int row_number = 1;
      if (row != nullptr) {
        // Rows may sit inside header-row groups: count every row of the table before this one.
        int k = 0;
        for (xmlNode* q : rows_in_order_) {
          if (nearest(q->parent, &PartCompiler::isTable) == table) ++k;
          if (q == row) break;
        }
        row_number = k;
      }
      auto tn = table != nullptr ? table_number_.find(table) : table_number_.end();
      where = "table " + std::to_string(tn != table_number_.end() ? tn->second : 0) + ", row " +
              std::to_string(row_number) + ", cell " +
              std::to_string(position(cell, &PartCompiler::isCell)) + ", paragraph " +
              std::to_string(position(p, &PartCompiler::isParagraph));
    } else {
      auto it = paragraph_number_.find(p);
      where = (in_.kind == PartKind::kProperties
                   ? "element <" + localName(p) + ">"
                   : "paragraph " + std::to_string(it != paragraph_number_.end() ? it->second : 0));
    }
    auto text = paragraph_text_.find(p);
    if (text != paragraph_text_.end() && !text->second.empty()) {
      std::string excerpt = text->second.substr(0, 60);
      if (text->second.size() > 60) excerpt += "...";
      where += " (\"" + excerpt + "\")";
    }
    return where;
  }

  void problem(xmlNode* p, std::string message) {
    result_.problems.push_back(TemplateProblem{in_.part_name, location(p), std::move(message)});
  }

  void mergeAndTokenise(xmlNode* p) {
    std::vector<xmlNode*> carriers;
    if (in_.kind == PartKind::kProperties) {
      for (xmlNode* t = p->children; t; t = t->next)
        if (t->type == XML_TEXT_NODE) carriers.push_back(t);
    } else {
      carriersOf(p, carriers, true);
    }
    std::string all;
    std::vector<std::size_t> start;
    for (xmlNode* c : carriers) {
      start.push_back(all.size());
      all += reinterpret_cast<const char*>(c->content != nullptr ? c->content : BAD_CAST "");
    }
    paragraph_text_[p] = all;
    if (all.find("{{") == std::string::npos) return;
    std::size_t unterminated = std::string::npos;
    const std::vector<TagSpan> spans = findTags(all, unterminated);
    if (unterminated != std::string::npos) {
      problem(p, "'" + all.substr(unterminated, 30) +
                     "' opens a tag that is not closed with }} in the same paragraph");
    }
    // Each character belongs to a carrier; a tag's characters all move to the carrier where the
    // tag starts, so its formatting applies to the value.
    auto carrierAt = [&](std::size_t offset) {
      return static_cast<std::size_t>(std::upper_bound(start.begin(), start.end(), offset) -
                                      start.begin()) -
             1;
    };
    std::vector<std::size_t> owner(all.size());
    for (std::size_t k = 0; k < all.size(); ++k) owner[k] = carrierAt(k);
    for (const TagSpan& s : spans) {
      const std::size_t first = carrierAt(s.begin);
      for (std::size_t k = s.begin; k < s.end; ++k) owner[k] = first;
    }
    std::vector<std::string> values(carriers.size());
    for (std::size_t k = 0; k < all.size(); ++k) values[owner[k]] += all[k];
    std::vector<std::size_t> value_start(carriers.size(), 0);
    for (std::size_t k = all.size(); k-- > 0;) value_start[owner[k]] = k;
    for (std::size_t i = 0; i < carriers.size(); ++i) {
      if (values[i].empty()) value_start[i] = all.size();
    }
    for (std::size_t i = 0; i < carriers.size(); ++i) {
      CarrierText& info = carrier_text_[carriers[i]];
      info.changed =
          values[i] !=
          all.substr(start[i], (i + 1 < start.size() ? start[i + 1] : all.size()) - start[i]);
      info.value = std::move(values[i]);
    }
    for (const TagSpan& s : spans) {
      const std::size_t ci = carrierAt(s.begin);
      Token token;
      token.raw = all.substr(s.begin, s.end - s.begin);
      token.carrier = carriers[ci];
      token.paragraph = p;
      token.begin = s.begin - value_start[ci];
      token.end = s.end - value_start[ci];
      std::string error;
      if (!parseTag(s.inner, token.tag, error)) {
        problem(p, token.raw + ": " + error);
        continue;
      }
      carrier_text_[carriers[ci]].tokens.push_back(tokens_.size());
      result_.tags.push_back(TemplateTag{token.raw, in_.part_name, ""});
      tokens_.push_back(std::move(token));
    }
  }

  void matchSections() {
    std::vector<std::size_t> open;
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
      Token& t = tokens_[i];
      result_.tags[i].location = location(t.paragraph);
      const TagKind k = t.tag.kind;
      if (k == TagKind::kComment) t.role = Role::kNothing;
      if (in_.kind == PartKind::kProperties &&
          (k == TagKind::kImage || k == TagKind::kChart || k == TagKind::kPartial ||
           k == TagKind::kPageBreak || k == TagKind::kToc)) {
        problem(t.paragraph, t.raw +
                                 ": pictures, charts, partials, page breaks and contents "
                                 "cannot go in document properties");
      }
      if (k == TagKind::kPartial) result_.partials.emplace(t.tag.name, location(t.paragraph));
      if (k == TagKind::kSection || k == TagKind::kInverted) open.push_back(i);
      if (k != TagKind::kClose) continue;
      if (open.empty()) {
        problem(t.paragraph, t.raw + " closes a section that was never opened");
        continue;
      }
      if (tokens_[open.back()].tag.name != t.tag.name) {
        const Token& top = tokens_[open.back()];
        auto deeper = std::find_if(open.rbegin(), open.rend(), [&](std::size_t j) {
          return tokens_[j].tag.name == t.tag.name;
        });
        problem(t.paragraph, t.raw + " does not match " + top.raw + " opened at " +
                                 location(top.paragraph) + "; close " + top.raw + " first");
        if (deeper == open.rend()) continue;  // a stray close: skip it
        while (tokens_[open.back()].tag.name != t.tag.name) {
          const Token& unclosed = tokens_[open.back()];
          problem(unclosed.paragraph, unclosed.raw + " is opened here but never closed");
          open.pop_back();
        }
      }
      pairs_.emplace_back(open.back(), i);
      open.pop_back();
    }
    for (std::size_t j : open) {
      problem(tokens_[j].paragraph, tokens_[j].raw + " is opened here but never closed");
    }
    std::sort(pairs_.begin(), pairs_.end());
  }

  // The text of everything under `n`, as merged.
  void textUnder(xmlNode* n, std::string& out) {
    for (xmlNode* c = n->children; c; c = c->next) {
      if (c->type == XML_TEXT_NODE) {
        auto it = carrier_text_.find(c);
        if (it != carrier_text_.end()) out += it->second.value;
      } else if (c->type == XML_ELEMENT_NODE) {
        textUnder(c, out);
      }
    }
  }
  static std::string trimmed(const std::string& s) {
    const std::size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
  }
  bool wraps(xmlNode* n, const Token& open, const Token& close) {
    std::string text;
    textUnder(n, text);
    text = trimmed(text);
    return text.size() >= open.raw.size() + close.raw.size() &&
           text.compare(0, open.raw.size(), open.raw) == 0 &&
           text.compare(text.size() - close.raw.size(), close.raw.size(), close.raw) == 0;
  }
  bool isListItem(xmlNode* p) const {
    if (!docx()) return isElement(p->parent, kText, "list-item");
    for (xmlNode* c = p->children; c; c = c->next) {
      if (!isElement(c, kW, "pPr")) continue;
      for (xmlNode* q = c->children; q; q = q->next) {
        if (isElement(q, kW, "numPr")) return true;
        if (isElement(q, kW, "pStyle")) {
          xmlChar* v = xmlGetNsProp(q, BAD_CAST "val", BAD_CAST kW);
          const bool list =
              v != nullptr && std::string(reinterpret_cast<char*>(v)).rfind("List", 0) == 0;
          if (v) xmlFree(v);
          if (list) return true;
        }
      }
    }
    return false;
  }

  void decideScopes() {
    for (auto [o, c] : pairs_) {
      Token& open = tokens_[o];
      Token& close = tokens_[c];
      if (in_.kind == PartKind::kProperties && open.paragraph != close.paragraph) {
        problem(open.paragraph,
                open.raw + " and " + close.raw + " must be in the same property of the document");
        continue;
      }
      xmlNode* first = nullptr;
      xmlNode* last = nullptr;
      if (open.paragraph == close.paragraph) {
        xmlNode* row = nearest(open.paragraph, &PartCompiler::isRow);
        if (row != nullptr && wraps(row, open, close)) {
          first = last = row;
        } else if (isListItem(open.paragraph) && wraps(open.paragraph, open, close)) {
          first = last = docx() ? open.paragraph : open.paragraph->parent;
        }
      } else {
        xmlNode* cell_o = nearest(open.paragraph, &PartCompiler::isCell);
        xmlNode* row_o = nearest(open.paragraph, &PartCompiler::isRow);
        if (row_o != nullptr && row_o == nearest(close.paragraph, &PartCompiler::isRow) &&
            cell_o != nearest(close.paragraph, &PartCompiler::isCell)) {
          first = last = row_o;
        } else {
          std::vector<xmlNode*> up_o, up_c;
          for (xmlNode* a = open.paragraph; a && a->type == XML_ELEMENT_NODE; a = a->parent)
            up_o.push_back(a);
          for (xmlNode* a = close.paragraph; a && a->type == XML_ELEMENT_NODE; a = a->parent)
            up_c.push_back(a);
          std::reverse(up_o.begin(), up_o.end());
          std::reverse(up_c.begin(), up_c.end());
          std::size_t k = 0;
          while (k < up_o.size() && k < up_c.size() && up_o[k] == up_c[k]) ++k;
          // up_o[k] and up_c[k] are the children of the common ancestor holding the tags.
          if (k < up_o.size() && k < up_c.size()) {
            first = up_o[k];
            last = up_c[k];
          }
        }
      }
      if (first == nullptr && open.paragraph != close.paragraph) {
        problem(open.paragraph,
                open.raw + " and " + close.raw +
                    " must both be inside the text box (or note), or both outside it");
        continue;
      }
      if (first == nullptr) {  // inline: the ops stay where the tags are
        splitChains(open, close);
        continue;
      }
      open.role = Role::kStructural;
      close.role = Role::kStructural;
      xmlNode* open_marker =
          xmlNewDocNode(doc_.get(), nullptr, BAD_CAST "sendflow-marker", nullptr);
      xmlNode* close_marker =
          xmlNewDocNode(doc_.get(), nullptr, BAD_CAST "sendflow-marker", nullptr);
      xmlAddPrevSibling(first, open_marker);
      xmlAddNextSibling(last, close_marker);
      markers_[open_marker] = o;
      markers_[close_marker] = c;
    }
    // Tags that take a whole paragraph.
    for (Token& t : tokens_) {
      const TagKind k = t.tag.kind;
      const bool alone = paragraphHoldsOnly(t);
      if (k == TagKind::kPartial || (k == TagKind::kToc && !docx())) {
        if (!alone) {
          problem(t.paragraph, t.raw + " must be alone in its paragraph");
          continue;
        }
        t.role = Role::kReplacesParagraph;
        paragraph_replacement_[t.paragraph] = &t;
      } else if (k == TagKind::kVariable && alone && in_.kind != PartKind::kProperties &&
                 simpleRunPath(t)) {
        t.role = Role::kParagraphVariable;
        paragraph_variable_[t.paragraph] = &t;
        if (!docx()) result_.needs_list_style = true;
      } else if (k == TagKind::kPageBreak && !docx()) {
        t.role = Role::kNothing;
        page_break_after_.insert(t.paragraph);
        result_.needs_page_break_style = true;
      }
    }
  }

  // For an inline section: when the element paths from the lowest common ancestor down to the
  // two tags differ (a tag in a hyperlink, a field result or a span, the other not), repeating the
  // text between them would not nest. Both tags then close their own elements before the section
  // operation and reopen them after it, which splits the runs or spans at the section's edges.
  void splitChains(Token& open, Token& close) {
    std::vector<xmlNode*> up_o, up_c;
    for (xmlNode* a = open.carrier->parent; a != nullptr && a->type == XML_ELEMENT_NODE;
         a = a->parent)
      up_o.push_back(a);
    for (xmlNode* a = close.carrier->parent; a != nullptr && a->type == XML_ELEMENT_NODE;
         a = a->parent)
      up_c.push_back(a);
    std::reverse(up_o.begin(), up_o.end());
    std::reverse(up_c.begin(), up_c.end());
    std::size_t k = 0;
    while (k < up_o.size() && k < up_c.size() && up_o[k] == up_c[k]) ++k;
    std::vector<xmlNode*> chain_o(up_o.begin() + static_cast<long>(k), up_o.end());
    std::vector<xmlNode*> chain_c(up_c.begin() + static_cast<long>(k), up_c.end());
    bool same = chain_o.size() == chain_c.size();
    for (std::size_t i = 0; same && i < chain_o.size(); ++i) {
      same = xmlStrEqual(chain_o[i]->name, chain_c[i]->name) &&
             (chain_o[i]->ns == nullptr) == (chain_c[i]->ns == nullptr) &&
             (chain_o[i]->ns == nullptr || xmlStrEqual(chain_o[i]->ns->href, chain_c[i]->ns->href));
    }
    if (same) return;
    open.split_chain = std::move(chain_o);
    close.split_chain = std::move(chain_c);
  }

  bool paragraphHoldsOnly(const Token& t) {
    auto it = paragraph_text_.find(t.paragraph);
    if (it == paragraph_text_.end()) return false;
    std::string text;
    textUnder(t.paragraph, text);
    return trimmed(text) == t.raw;
  }
  // The text sits in a run (or span) directly in the paragraph, so the paragraph can be split.
  bool simpleRunPath(const Token& t) const {
    xmlNode* parent = t.carrier->parent;
    if (docx()) {
      return isElement(parent, kW, "t") && isElement(parent->parent, kW, "r") &&
             parent->parent->parent == t.paragraph;
    }
    return parent == t.paragraph ||
           (isElement(parent, kText, "span") && parent->parent == t.paragraph);
  }

  bool hasContentElements(xmlNode* n) const {
    for (xmlNode* c = n->children; c; c = c->next) {
      if (c->type != XML_ELEMENT_NODE) continue;
      if (docx()) {
        static const char* kContent[] = {
            "drawing",          "pict",      "object", "fldChar",
            "fldSimple",        "instrText", "sym",    "footnoteReference",
            "endnoteReference", "br",        "tab",    "sectPr"};
        for (const char* name : kContent)
          if (isElement(c, kW, name)) return true;
      } else {
        if (inNamespace(c, kDraw)) return true;
        if (inNamespace(c, kText)) {
          const std::string name = localName(c);
          if (name != "span" && name != "a" && name != "s" && name != "soft-page-break" &&
              name != "bookmark" && name != "bookmark-start" && name != "bookmark-end") {
            return true;
          }
        }
      }
      if (hasContentElements(c)) return true;
    }
    return false;
  }

  void dropEmptyParagraphs() {
    std::unordered_set<xmlNode*> candidates;
    for (const Token& t : tokens_) {
      if (t.role != Role::kStructural || candidates.count(t.paragraph)) continue;
      bool empty = true;
      std::vector<xmlNode*> carriers;
      carriersOf(t.paragraph, carriers, true);
      for (xmlNode* c : carriers) {
        const CarrierText& info = carrier_text_[c];
        std::string rest;
        std::size_t pos = 0;
        for (std::size_t ti : info.tokens) {
          const Token& other = tokens_[ti];
          if (other.role != Role::kStructural && other.role != Role::kNothing) empty = false;
          if (other.tag.kind == TagKind::kPageBreak) empty = false;
          rest += info.value.substr(pos, other.begin - pos);
          pos = other.end;
        }
        rest += info.value.substr(std::min(pos, info.value.size()));
        if (!trimmed(rest).empty()) empty = false;
      }
      if (empty && !hasContentElements(t.paragraph)) candidates.insert(t.paragraph);
    }
    for (xmlNode* p : candidates) {
      xmlNode* parent = p->parent;
      if (needsParagraph(parent)) {
        // Keep the last paragraph of a cell, note or text box when all of them would go.
        bool survivor = false, later_candidate = false;
        for (xmlNode* s = parent->children; s; s = s->next) {
          if (isParagraph(s) && !candidates.count(s)) survivor = true;
        }
        for (xmlNode* s = p->next; s; s = s->next) later_candidate |= candidates.count(s) > 0;
        if (!survivor && !later_candidate) continue;
      }
      if (!docx() && isElement(parent, kText, "list-item")) {
        int children = 0;
        for (xmlNode* s = parent->children; s; s = s->next) children += s->type == XML_ELEMENT_NODE;
        if (children == 1) {
          skip_.insert(parent);
          continue;
        }
      }
      skip_.insert(p);
    }
  }

  void addOdtStyles(xmlNode* root) {
    xmlNode* automatic = nullptr;
    for (xmlNode* c = root->children; c; c = c->next) {
      if (isElement(c, kOffice, "automatic-styles")) automatic = c;
    }
    if (automatic == nullptr) {
      xmlNs* office = xmlSearchNsByHref(doc_.get(), root, BAD_CAST kOffice);
      automatic = xmlNewDocNode(doc_.get(), office, BAD_CAST "automatic-styles", nullptr);
      if (root->children != nullptr)
        xmlAddPrevSibling(root->children, automatic);
      else
        xmlAddChild(root, automatic);
    }
    odt_extra_styles_ = automatic;
  }

  // ---- emission ----
  void flush() {
    if (lit_.empty()) return;
    Op op;
    op.kind = Op::Kind::kLiteral;
    op.text = std::move(lit_);
    result_.program.ops.push_back(std::move(op));
    lit_.clear();
  }
  void pushOp(Op op) {
    flush();
    if (op.kind == Op::Kind::kSectionOpen) open_ops_.push_back(result_.program.ops.size());
    if (op.kind == Op::Kind::kSectionClose && !open_ops_.empty()) {
      op.match = open_ops_.back();
      result_.program.ops[open_ops_.back()].match = result_.program.ops.size();
      open_ops_.pop_back();
    }
    result_.program.ops.push_back(std::move(op));
  }
  Op opFor(const Token& t) {
    Op op;
    op.tag = t.tag;
    op.where = in_.part_name + ", " + location(t.paragraph);
    switch (t.tag.kind) {
      case TagKind::kSection:
        op.kind = Op::Kind::kSectionOpen;
        break;
      case TagKind::kInverted:
        op.kind = Op::Kind::kSectionOpen;
        op.inverted = true;
        break;
      case TagKind::kClose:
        op.kind = Op::Kind::kSectionClose;
        break;
      case TagKind::kPartial:
        op.kind = Op::Kind::kPartial;
        break;
      case TagKind::kImage:
        op.kind = Op::Kind::kImage;
        break;
      case TagKind::kChart:
        op.kind = Op::Kind::kChart;
        break;
      default:
        op.kind = Op::Kind::kVariable;
        break;
    }
    return op;
  }

  static void escapeInto(std::string& out, const char* s, bool attribute) {
    for (; *s; ++s) {
      switch (*s) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          if (attribute)
            out += "&quot;";
          else
            out += '"';
          break;
        case '\n':
          if (attribute)
            out += "&#10;";
          else
            out += '\n';
          break;
        case '\t':
          if (attribute)
            out += "&#9;";
          else
            out += '\t';
          break;
        case '\r':
          out += "&#13;";
          break;
        default:
          out += *s;
      }
    }
  }
  void escapeInto(std::string& out, std::string_view s) {
    const std::string copy(s);
    escapeInto(out, copy.c_str(), false);
  }

  void emitNode(xmlNode* n) {
    if (skip_.count(n)) return;
    switch (n->type) {
      case XML_ELEMENT_NODE: {
        if (auto m = markers_.find(n); m != markers_.end()) {
          pushOp(opFor(tokens_[m->second]));
          return;
        }
        if (auto r = paragraph_replacement_.find(n); r != paragraph_replacement_.end()) {
          if (r->second->tag.kind == TagKind::kToc) {
            lit_ += kOdtToc;
            result_.has_odt_toc = true;
          } else {
            pushOp(opFor(*r->second));
          }
          return;
        }
        if (auto v = paragraph_variable_.find(n); v != paragraph_variable_.end()) {
          emitParagraphVariable(n, *v->second);
          return;
        }
        emitElement(n);
        if (page_break_after_.count(n)) lit_ += "<text:p text:style-name=\"SfPageBreak\"/>";
        return;
      }
      case XML_TEXT_NODE:
        emitText(n);
        return;
      case XML_CDATA_SECTION_NODE:
        lit_ += "<![CDATA[";
        lit_ += reinterpret_cast<const char*>(n->content ? n->content : BAD_CAST "");
        lit_ += "]]>";
        return;
      case XML_COMMENT_NODE:
        lit_ += "<!--";
        lit_ += reinterpret_cast<const char*>(n->content ? n->content : BAD_CAST "");
        lit_ += "-->";
        return;
      case XML_PI_NODE:
        lit_ += "<?";
        lit_ += reinterpret_cast<const char*>(n->name);
        if (n->content) {
          lit_ += ' ';
          lit_ += reinterpret_cast<const char*>(n->content);
        }
        lit_ += "?>";
        return;
      default:
        return;  // entity references cannot occur: documents with a DTD are refused
    }
  }

  void qname(std::string& out, const xmlNode* n) {
    if (n->ns != nullptr && n->ns->prefix != nullptr) {
      out += reinterpret_cast<const char*>(n->ns->prefix);
      out += ':';
    }
    out += reinterpret_cast<const char*>(n->name);
  }

  void emitElement(xmlNode* n) {
    lit_ += '<';
    qname(lit_, n);
    for (xmlNs* ns = n->nsDef; ns != nullptr; ns = ns->next) {
      lit_ += ns->prefix ? " xmlns:" : " xmlns";
      if (ns->prefix) lit_ += reinterpret_cast<const char*>(ns->prefix);
      lit_ += "=\"";
      escapeInto(lit_, reinterpret_cast<const char*>(ns->href ? ns->href : BAD_CAST ""), true);
      lit_ += '"';
    }
    bool has_space = false;
    for (xmlAttr* a = n->properties; a != nullptr; a = a->next) {
      lit_ += ' ';
      if (a->ns != nullptr && a->ns->prefix != nullptr) {
        lit_ += reinterpret_cast<const char*>(a->ns->prefix);
        lit_ += ':';
        has_space |=
            xmlStrEqual(a->name, BAD_CAST "space") && xmlStrEqual(a->ns->prefix, BAD_CAST "xml");
      }
      lit_ += reinterpret_cast<const char*>(a->name);
      lit_ += "=\"";
      for (xmlNode* v = a->children; v; v = v->next) {
        if (v->content) escapeInto(lit_, reinterpret_cast<const char*>(v->content), true);
      }
      lit_ += '"';
    }
    if (docx() && !has_space && isElement(n, kW, "t")) {
      for (xmlNode* c = n->children; c; c = c->next) {
        auto it = carrier_text_.find(c);
        if (it != carrier_text_.end() && (it->second.changed || !it->second.tokens.empty())) {
          lit_ += " xml:space=\"preserve\"";
          break;
        }
      }
    }
    if (n->children == nullptr && !(odt_extra_styles_ == n)) {
      lit_ += "/>";
      return;
    }
    lit_ += '>';
    for (xmlNode* c = n->children; c != nullptr; c = c->next) emitNode(c);
    if (odt_extra_styles_ == n) emitOdtStyles();
    lit_ += "</";
    qname(lit_, n);
    lit_ += '>';
  }

  void emitOdtStyles() {
    if (result_.needs_page_break_style) {
      lit_ +=
          "<style:style style:name=\"SfPageBreak\" style:family=\"paragraph\">"
          "<style:paragraph-properties fo:break-before=\"page\"/></style:style>";
    }
    if (result_.needs_list_style) {
      lit_ +=
          "<text:list-style style:name=\"SfBullets\"><text:list-level-style-bullet "
          "text:level=\"1\" text:bullet-char=\"\xE2\x80\xA2\"><style:list-level-properties "
          "text:list-level-position-and-space-mode=\"label-alignment\"><style:list-level-"
          "label-alignment text:label-followed-by=\"listtab\" text:list-tab-stop-position="
          "\"0.635cm\" fo:text-indent=\"-0.635cm\" fo:margin-left=\"0.635cm\"/></style:list-"
          "level-properties></text:list-level-style-bullet></text:list-style>";
    }
  }

  void emitText(xmlNode* n) {
    auto it = carrier_text_.find(n);
    if (it == carrier_text_.end()) {
      escapeInto(lit_, reinterpret_cast<const char*>(n->content ? n->content : BAD_CAST ""), false);
      return;
    }
    const CarrierText& info = it->second;
    std::size_t pos = 0;
    for (std::size_t ti : info.tokens) {
      const Token& t = tokens_[ti];
      escapeInto(lit_, std::string_view(info.value).substr(pos, t.begin - pos));
      pos = t.end;
      if (t.role == Role::kStructural || t.role == Role::kNothing) continue;
      if (t.tag.kind == TagKind::kPageBreak) {
        lit_ += kDocxPageBreak;
        continue;
      }
      if (t.tag.kind == TagKind::kToc) {
        lit_ += kDocxToc;
        result_.has_toc = true;
        continue;
      }
      for (auto it = t.split_chain.rbegin(); it != t.split_chain.rend(); ++it) {
        lit_ += "</";
        qname(lit_, *it);
        lit_ += '>';
      }
      pushOp(opFor(t));
      for (xmlNode* element : t.split_chain) lit_ += reopen(element);
    }
    escapeInto(lit_, std::string_view(info.value).substr(std::min(pos, info.value.size())));
  }

  // The start tag of `n` with its attributes, and for a Word run its properties, so that text
  // after a split keeps its formatting.
  std::string reopen(xmlNode* n) {
    std::string out = "<";
    qname(out, n);
    for (xmlAttr* a = n->properties; a != nullptr; a = a->next) {
      out += ' ';
      if (a->ns != nullptr && a->ns->prefix != nullptr) {
        out += reinterpret_cast<const char*>(a->ns->prefix);
        out += ':';
      }
      out += reinterpret_cast<const char*>(a->name);
      out += "=\"";
      for (xmlNode* v = a->children; v; v = v->next) {
        if (v->content) escapeInto(out, reinterpret_cast<const char*>(v->content), true);
      }
      out += '"';
    }
    if (docx() && isElement(n, kW, "t") && !xmlHasProp(n, BAD_CAST "space")) {
      out += " xml:space=\"preserve\"";
    }
    out += '>';
    if (docx() && isElement(n, kW, "r")) {
      if (xmlNode* rpr = child(n, "rPr")) out += serialisePlain(rpr);
    }
    return out;
  }

  // Serialises a node that holds no tags (run or paragraph properties) into a string.
  std::string serialisePlain(xmlNode* n) {
    std::string saved = std::move(lit_);
    lit_.clear();
    emitElement(n);
    std::string out = std::move(lit_);
    lit_ = std::move(saved);
    return out;
  }
  xmlNode* child(xmlNode* n, const char* local) {
    for (xmlNode* c = n ? n->children : nullptr; c; c = c->next)
      if (isElement(c, kW, local)) return c;
    return nullptr;
  }

  void emitParagraphVariable(xmlNode* p, const Token& t) {
    flush();
    const std::size_t start = result_.program.ops.size();
    emitElement(p);
    flush();
    Op op = opFor(t);
    op.kind = Op::Kind::kParagraphVariable;
    bool after = false;
    for (std::size_t i = start; i < result_.program.ops.size(); ++i) {
      Op& piece = result_.program.ops[i];
      if (piece.kind == Op::Kind::kVariable)
        after = true;
      else
        (after ? op.suffix : op.text) += piece.text;
    }
    result_.program.ops.resize(start);
    if (docx()) {
      xmlNode* run = t.carrier->parent->parent;
      xmlNode* rpr = child(run, "rPr");
      const std::string run_open =
          "<w:r>" + (rpr ? serialisePlain(rpr) : "") + "<w:t xml:space=\"preserve\">";
      if (in_.list_style_available) {
        op.list_item_open = "<w:p><w:pPr><w:pStyle w:val=\"ListBullet\"/></w:pPr>" + run_open;
      } else {
        xmlNode* ppr = child(p, "pPr");
        op.list_item_open = "<w:p>" + (ppr ? serialisePlain(ppr) : "") + run_open + "\xE2\x80\xA2 ";
      }
      op.list_item_close = "</w:t></w:r></w:p>";
    } else {
      xmlChar* style = xmlGetNsProp(p, BAD_CAST "style-name", BAD_CAST kText);
      std::string style_attr;
      if (style != nullptr) {
        style_attr = " text:style-name=\"";
        escapeInto(style_attr, reinterpret_cast<const char*>(style), true);
        style_attr += '"';
        xmlFree(style);
      }
      op.list_open = "<text:list text:style-name=\"SfBullets\">";
      op.list_close = "</text:list>";
      op.list_item_open = "<text:list-item><text:p" + style_attr + ">";
      op.list_item_close = "</text:p></text:list-item>";
    }
    pushOp(std::move(op));
  }

  const PartCompileInput& in_;
  XmlDocPtr doc_;
  PartCompileResult result_;
  std::vector<xmlNode*> paragraphs_;
  std::vector<xmlNode*> rows_in_order_;
  std::unordered_set<const xmlNode*> property_elements_;
  std::unordered_map<const xmlNode*, int> paragraph_number_;
  std::unordered_map<const xmlNode*, int> table_number_;
  std::unordered_map<const xmlNode*, std::string> paragraph_text_;
  std::unordered_map<const xmlNode*, CarrierText> carrier_text_;
  std::vector<Token> tokens_;
  std::vector<std::pair<std::size_t, std::size_t>> pairs_;
  std::unordered_map<const xmlNode*, std::size_t> markers_;
  std::unordered_map<const xmlNode*, const Token*> paragraph_replacement_;
  std::unordered_map<const xmlNode*, const Token*> paragraph_variable_;
  std::unordered_set<const xmlNode*> page_break_after_;
  std::unordered_set<const xmlNode*> skip_;
  xmlNode* odt_extra_styles_ = nullptr;
  std::string lit_;
  std::vector<std::size_t> open_ops_;
};

}  // namespace

core::StatusOr<PartCompileResult> compilePart(const PartCompileInput& input) {
  PartCompiler compiler(input);
  return compiler.run();
}

core::Status checkWellFormed(const std::string& xml, const std::string& part_name) {
  auto doc = parseSafely(xml, part_name);
  return doc.isOk() ? core::Status::ok() : doc.status();
}

}  // namespace sendflow::docgen
