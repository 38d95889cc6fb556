#pragma once
// Builds small DOCX and ODT packages in memory for the docgen tests, and reads rendered output
// back as XML and text. Test-only.

#include <map>
#include <string>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "server/archive/zip_reader.h"
#include "server/archive/zip_writer.h"

namespace sendflow::docgen::testing {

inline constexpr const char* kWordNs =
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main";

// A DOCX whose body is `body` (w:p / w:tbl elements); `parts` adds or replaces parts.
inline std::string makeDocx(const std::string& body,
                            std::map<std::string, std::string> parts = {}) {
  const std::string ns =
      "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" "
      "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"";
  std::map<std::string, std::string> all = {
      {"[Content_Types].xml",
       "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types "
       "xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default "
       "Extension=\"rels\" "
       "ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
       "<Default Extension=\"xml\" ContentType=\"application/xml\"/><Override PartName=\"/word/"
       "document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument."
       "wordprocessingml.document.main+xml\"/></Types>"},
      {"_rels/.rels",
       "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships "
       "xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship "
       "Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
       "officeDocument\" Target=\"word/document.xml\"/></Relationships>"},
      {"word/_rels/document.xml.rels",
       "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships "
       "xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"></Relationships>"},
      {"word/document.xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document " + ns +
                                "><w:body>" + body + "<w:sectPr/></w:body></w:document>"},
  };
  for (auto& [k, v] : parts) all[k] = v;
  archive::ZipWriter zip;
  for (const auto& [k, v] : all) (void)zip.add(k, v);
  return std::move(zip.close().value());
}

inline const char* kOdtNs =
    "xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" "
    "xmlns:style=\"urn:oasis:names:tc:opendocument:xmlns:style:1.0\" "
    "xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" "
    "xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" "
    "xmlns:draw=\"urn:oasis:names:tc:opendocument:xmlns:drawing:1.0\" "
    "xmlns:fo=\"urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0\" "
    "xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
    "xmlns:svg=\"urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0\" "
    "xmlns:meta=\"urn:oasis:names:tc:opendocument:xmlns:meta:1.0\" "
    "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" office:version=\"1.3\"";

// An ODT whose office:text holds `body`.
inline std::string makeOdt(const std::string& body, std::map<std::string, std::string> parts = {}) {
  std::map<std::string, std::string> all = {
      {"content.xml",
       std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?><office:document-content ") + kOdtNs +
           "><office:automatic-styles/><office:body><office:text>" + body +
           "</office:text></office:body></office:document-content>"},
      {"META-INF/manifest.xml",
       "<?xml version=\"1.0\" encoding=\"UTF-8\"?><manifest:manifest "
       "xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\" "
       "manifest:version=\"1.3\"><manifest:file-entry manifest:full-path=\"/\" "
       "manifest:media-type=\"application/vnd.oasis.opendocument.text\"/><manifest:file-entry "
       "manifest:full-path=\"content.xml\" manifest:media-type=\"text/xml\"/></manifest:manifest>"},
  };
  for (auto& [k, v] : parts) all[k] = v;
  archive::ZipWriter zip;
  (void)zip.add("mimetype", "application/vnd.oasis.opendocument.text", true);
  for (const auto& [k, v] : all) (void)zip.add(k, v);
  return std::move(zip.close().value());
}

inline std::string readPart(const std::string& package, const std::string& name) {
  auto reader = archive::ZipReader::openBuffer(package, "rendered");
  if (!reader.isOk()) return "<!-- " + reader.status().toString() + " -->";
  auto part = reader->read(name);
  return part.isOk() ? *part : "";
}

// A parsed XML part with XPath helpers (w:, text:, table: prefixes registered).
class XmlView {
 public:
  explicit XmlView(const std::string& xml)
      : doc_(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "part.xml", nullptr,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)) {}
  ~XmlView() {
    if (doc_) xmlFreeDoc(doc_);
  }
  XmlView(const XmlView&) = delete;
  XmlView& operator=(const XmlView&) = delete;
  bool wellFormed() const { return doc_ != nullptr; }

  int count(const std::string& xpath) const {
    int n = -1;
    eval(xpath, [&](xmlXPathObjectPtr r) { n = r->nodesetval ? r->nodesetval->nodeNr : 0; });
    return n;
  }
  // Text of each matching node.
  std::vector<std::string> texts(const std::string& xpath) const {
    std::vector<std::string> out;
    eval(xpath, [&](xmlXPathObjectPtr r) {
      for (int i = 0; r->nodesetval && i < r->nodesetval->nodeNr; ++i) {
        xmlChar* t = xmlNodeGetContent(r->nodesetval->nodeTab[i]);
        out.emplace_back(t ? reinterpret_cast<char*>(t) : "");
        xmlFree(t);
      }
    });
    return out;
  }
  std::string text(const std::string& xpath = "/") const {
    std::string all;
    for (const auto& t : texts(xpath)) all += t;
    return all;
  }

 private:
  template <typename F>
  void eval(const std::string& xpath, F f) const {
    if (!doc_) return;
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc_);
    xmlXPathRegisterNs(ctx, BAD_CAST "w", BAD_CAST kWordNs);
    xmlXPathRegisterNs(ctx, BAD_CAST "text",
                       BAD_CAST "urn:oasis:names:tc:opendocument:xmlns:text:1.0");
    xmlXPathRegisterNs(ctx, BAD_CAST "table",
                       BAD_CAST "urn:oasis:names:tc:opendocument:xmlns:table:1.0");
    xmlXPathRegisterNs(ctx, BAD_CAST "office",
                       BAD_CAST "urn:oasis:names:tc:opendocument:xmlns:office:1.0");
    xmlXPathRegisterNs(ctx, BAD_CAST "draw",
                       BAD_CAST "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0");
    xmlXPathRegisterNs(ctx, BAD_CAST "c",
                       BAD_CAST "http://schemas.openxmlformats.org/drawingml/2006/chart");
    xmlXPathRegisterNs(ctx, BAD_CAST "chart",
                       BAD_CAST "urn:oasis:names:tc:opendocument:xmlns:chart:1.0");
    xmlXPathRegisterNs(ctx, BAD_CAST "dc", BAD_CAST "http://purl.org/dc/elements/1.1/");
    xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST xpath.c_str(), ctx);
    if (r) f(r);
    xmlXPathFreeObject(r);
    xmlXPathFreeContext(ctx);
  }
  xmlDocPtr doc_;
};

// Paragraph helpers for the DOCX tests.
inline std::string p(const std::string& runs) { return "<w:p>" + runs + "</w:p>"; }
inline std::string r(const std::string& text, const std::string& rpr = "") {
  return "<w:r>" + (rpr.empty() ? "" : "<w:rPr>" + rpr + "</w:rPr>") +
         "<w:t xml:space=\"preserve\">" + text + "</w:t></w:r>";
}
inline std::string row(const std::vector<std::string>& cells) {
  std::string out = "<w:tr>";
  for (const auto& c : cells) out += "<w:tc>" + p(r(c)) + "</w:tc>";
  return out + "</w:tr>";
}

}  // namespace sendflow::docgen::testing
