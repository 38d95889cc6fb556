#include "server/sampledata/word_document.h"

#include <zip.h>

#include <array>
#include <cstdio>

#include "server/core/markup_escape.h"

namespace sendflow::sampledata {
namespace {

void appendEscaped(std::string& out, std::string_view text) {
  core::appendMarkupEscaped(out, text);
}

constexpr const char* kDocxContentTypes =
    R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>
<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>
</Types>)";

constexpr const char* kDocxRootRels =
    R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>
</Relationships>)";

constexpr const char* kDocxDocumentRels =
    R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
</Relationships>)";

constexpr const char* kDocxStyles =
    R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Arial" w:hAnsi="Arial"/><w:sz w:val="22"/></w:rPr></w:rPrDefault></w:docDefaults>
<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:pPr><w:spacing w:after="120"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/><w:pPr><w:outlineLvl w:val="0"/></w:pPr><w:rPr><w:b/><w:sz w:val="36"/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:pPr><w:keepNext/><w:spacing w:before="240"/><w:outlineLvl w:val="0"/></w:pPr><w:rPr><w:b/><w:sz w:val="28"/></w:rPr></w:style>
<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:pPr><w:keepNext/><w:outlineLvl w:val="1"/></w:pPr><w:rPr><w:b/><w:sz w:val="24"/></w:rPr></w:style>
<w:style w:type="table" w:styleId="TableGrid"><w:name w:val="Table Grid"/><w:tblPr><w:tblBorders><w:top w:val="single" w:sz="4"/><w:left w:val="single" w:sz="4"/><w:bottom w:val="single" w:sz="4"/><w:right w:val="single" w:sz="4"/><w:insideH w:val="single" w:sz="4"/><w:insideV w:val="single" w:sz="4"/></w:tblBorders></w:tblPr></w:style>
</w:styles>)";

void docxRun(std::string& out, std::string_view text, bool bold) {
  out += "<w:r>";
  if (bold) out += "<w:rPr><w:b/></w:rPr>";
  out += "<w:t xml:space=\"preserve\">";
  appendEscaped(out, text);
  out += "</w:t></w:r>";
}

void docxTable(std::string& out, const std::vector<std::vector<std::string>>& rows, bool shaded) {
  out +=
      "<w:tbl><w:tblPr><w:tblStyle w:val=\"TableGrid\"/><w:tblW w:w=\"5000\" "
      "w:type=\"pct\"/></w:tblPr>";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    out += "<w:tr>";
    for (const std::string& cell : rows[r]) {
      out += "<w:tc><w:tcPr>";
      if (shaded) out += "<w:shd w:val=\"clear\" w:color=\"auto\" w:fill=\"D9E2F3\"/>";
      out += "</w:tcPr><w:p>";
      docxRun(out, cell, r == 0);
      out += "</w:p></w:tc>";
    }
    out += "</w:tr>";
  }
  out += "</w:tbl>";
}

std::string coreProperties(const std::string& title) {
  std::string out =
      R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>)";
  appendEscaped(out, title);
  out += "</dc:title><dc:creator>sendflow sample data</dc:creator></cp:coreProperties>";
  return out;
}

constexpr const char* kOdtManifest =
    R"(<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
<manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="application/vnd.oasis.opendocument.text"/>
<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>
<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>
</manifest:manifest>)";

constexpr const char* kOdtStyles =
    R"(<?xml version="1.0" encoding="UTF-8"?>
<office:document-styles xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" office:version="1.2">
<office:styles>
<style:style style:name="Standard" style:family="paragraph"><style:text-properties fo:font-size="11pt"/></style:style>
<style:style style:name="Heading_20_1" style:display-name="Heading 1" style:family="paragraph" style:parent-style-name="Standard" style:default-outline-level="1"><style:text-properties fo:font-size="14pt" fo:font-weight="bold"/></style:style>
<style:style style:name="Heading_20_2" style:display-name="Heading 2" style:family="paragraph" style:parent-style-name="Standard" style:default-outline-level="2"><style:text-properties fo:font-size="12pt" fo:font-weight="bold"/></style:style>
</office:styles>
</office:document-styles>)";

std::string odtMeta(const std::string& title) {
  std::string out =
      R"(<?xml version="1.0" encoding="UTF-8"?>
<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/" office:version="1.2"><office:meta><dc:title>)";
  appendEscaped(out, title);
  out += "</dc:title></office:meta></office:document-meta>";
  return out;
}

void odtTable(std::string& out, const std::vector<std::vector<std::string>>& rows, int& tables) {
  const std::size_t columns = rows.empty() ? 1 : rows.front().size();
  out += "<table:table table:name=\"Table" + std::to_string(++tables) + "\">";
  out += "<table:table-column table:number-columns-repeated=\"" + std::to_string(columns) + "\"/>";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    out += "<table:table-row>";
    for (const std::string& cell : rows[r]) {
      out += "<table:table-cell office:value-type=\"string\"><text:p";
      if (r == 0) out += " text:style-name=\"PBold\"";
      out += ">";
      appendEscaped(out, cell);
      out += "</text:p></table:table-cell>";
    }
    out += "</table:table-row>";
  }
  out += "</table:table>";
}

// Builds a zip package in memory, then writes it with one open and one write: file creation is
// the slow part of writing tens of thousands of small documents.
class ZipWriter {
 public:
  explicit ZipWriter(const std::string& path) : path_(path) {
    zip_error_t error;
    zip_error_init(&error);
    source_ = zip_source_buffer_create(nullptr, 0, 0, &error);
    if (source_ != nullptr) {
      archive_ = zip_open_from_source(source_, ZIP_TRUNCATE, &error);
      if (archive_ == nullptr) {
        zip_source_free(source_);
        source_ = nullptr;
      } else {
        zip_source_keep(source_);  // read the bytes back after zip_close()
      }
    }
    if (archive_ == nullptr) {
      status_ =
          core::internalError(path + ": cannot start a zip package: " + zip_error_strerror(&error));
    }
    zip_error_fini(&error);
  }
  ~ZipWriter() {
    if (archive_ != nullptr) zip_discard(archive_);
    if (source_ != nullptr) zip_source_free(source_);
  }
  ZipWriter(const ZipWriter&) = delete;
  ZipWriter& operator=(const ZipWriter&) = delete;

  // `content` must outlive close().
  void add(const char* name, const std::string& content, bool compress, int level) {
    if (!status_.isOk()) return;
    zip_source_t* source = zip_source_buffer(archive_, content.data(), content.size(), 0);
    const zip_int64_t index =
        source != nullptr ? zip_file_add(archive_, name, source, ZIP_FL_ENC_UTF_8) : -1;
    if (index < 0) {
      if (source != nullptr) zip_source_free(source);
      status_ = core::internalError(path_ + ": cannot add " + name + ": " + zip_strerror(archive_));
      return;
    }
    zip_set_file_compression(archive_, static_cast<zip_uint64_t>(index),
                             compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE,
                             compress ? static_cast<zip_uint32_t>(level) : 0);
  }

  core::Status close() {
    if (!status_.isOk()) return status_;
    if (zip_close(archive_) != 0) {
      status_ =
          core::internalError(path_ + ": cannot build the package: " + zip_strerror(archive_));
      return status_;
    }
    archive_ = nullptr;
    std::string bytes;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_source_stat(source_, &st) == 0 && zip_source_open(source_) == 0) {
      bytes.resize(static_cast<std::size_t>(st.size));
      const zip_int64_t n = zip_source_read(source_, bytes.data(), bytes.size());
      zip_source_close(source_);
      if (n != static_cast<zip_int64_t>(bytes.size())) bytes.clear();
    }
    if (bytes.empty()) return core::internalError(path_ + ": cannot read the built package back");
    std::FILE* file = std::fopen(path_.c_str(), "wb");
    if (file == nullptr) return core::unavailable(path_ + ": cannot create the file");
    const bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
    if (std::fclose(file) != 0 || !written) return core::unavailable(path_ + ": cannot write");
    return core::Status::ok();
  }

 private:
  std::string path_;
  zip_source_t* source_ = nullptr;
  zip_t* archive_ = nullptr;
  core::Status status_;
};

}  // namespace

std::string docxDocumentXml(const WordDocument& document) {
  std::string out;
  out.reserve(16 * 1024);
  out += R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
         "\n<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">"
         "<w:body>";
  for (const Block& b : document.blocks) {
    switch (b.kind) {
      case Block::Kind::kHeading:
        if (b.look == HeadingLook::kTableCell) {
          docxTable(out, {{b.text}}, true);
        } else if (b.look == HeadingLook::kBold) {
          out += "<w:p><w:pPr><w:keepNext/></w:pPr>";
          docxRun(out, b.text, true);
          out += "</w:p>";
        } else {
          out += "<w:p><w:pPr><w:pStyle w:val=\"";
          out += b.level <= 0 ? "Title" : (b.level == 1 ? "Heading1" : "Heading2");
          out += "\"/></w:pPr>";
          docxRun(out, b.text, false);
          out += "</w:p>";
        }
        break;
      case Block::Kind::kParagraph:
        out += "<w:p>";
        docxRun(out, b.text, false);
        out += "</w:p>";
        break;
      case Block::Kind::kTable:
        docxTable(out, b.rows, false);
        out += "<w:p/>";
        break;
    }
  }
  out +=
      "<w:sectPr><w:pgSz w:w=\"11906\" w:h=\"16838\"/><w:pgMar w:top=\"1134\" w:right=\"1134\" "
      "w:bottom=\"1134\" w:left=\"1134\" w:header=\"709\" w:footer=\"709\" w:gutter=\"0\"/>"
      "</w:sectPr></w:body></w:document>";
  return out;
}

std::string odtContentXml(const WordDocument& document) {
  std::string out;
  out.reserve(16 * 1024);
  out += R"(<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" office:version="1.2">
<office:automatic-styles><style:style style:name="PBold" style:family="paragraph" style:parent-style-name="Standard"><style:text-properties fo:font-weight="bold"/></style:style></office:automatic-styles>
<office:body><office:text>)";
  int tables = 0;
  for (const Block& b : document.blocks) {
    switch (b.kind) {
      case Block::Kind::kHeading:
        if (b.look == HeadingLook::kTableCell) {
          odtTable(out, {{b.text}}, tables);
        } else if (b.look == HeadingLook::kBold) {
          out += "<text:p text:style-name=\"PBold\">";
          appendEscaped(out, b.text);
          out += "</text:p>";
        } else {
          const int level = std::max(b.level, 1);
          out += "<text:h text:style-name=\"Heading_20_" + std::to_string(level) +
                 "\" text:outline-level=\"" + std::to_string(level) + "\">";
          appendEscaped(out, b.text);
          out += "</text:h>";
        }
        break;
      case Block::Kind::kParagraph:
        out += "<text:p text:style-name=\"Standard\">";
        appendEscaped(out, b.text);
        out += "</text:p>";
        break;
      case Block::Kind::kTable:
        odtTable(out, b.rows, tables);
        break;
    }
  }
  out += "</office:text></office:body></office:document-content>";
  return out;
}

core::Status writeDocx(const WordDocument& document, const std::string& path,
                       int compression_level) {
  const std::string content_types = kDocxContentTypes;
  const std::string root_rels = kDocxRootRels;
  const std::string document_rels = kDocxDocumentRels;
  const std::string styles = kDocxStyles;
  const std::string core_props = coreProperties(document.title);
  const std::string body = docxDocumentXml(document);
  ZipWriter zip(path);
  zip.add("[Content_Types].xml", content_types, true, compression_level);
  zip.add("_rels/.rels", root_rels, true, compression_level);
  zip.add("word/_rels/document.xml.rels", document_rels, true, compression_level);
  zip.add("word/styles.xml", styles, true, compression_level);
  zip.add("docProps/core.xml", core_props, true, compression_level);
  zip.add("word/document.xml", body, true, compression_level);
  return zip.close();
}

core::Status writeOdt(const WordDocument& document, const std::string& path,
                      int compression_level) {
  const std::string mimetype = "application/vnd.oasis.opendocument.text";
  const std::string manifest = kOdtManifest;
  const std::string styles = kOdtStyles;
  const std::string meta = odtMeta(document.title);
  const std::string content = odtContentXml(document);
  ZipWriter zip(path);
  zip.add("mimetype", mimetype, false, 0);  // first and stored, as ODF requires
  zip.add("META-INF/manifest.xml", manifest, true, compression_level);
  zip.add("styles.xml", styles, true, compression_level);
  zip.add("meta.xml", meta, true, compression_level);
  zip.add("content.xml", content, true, compression_level);
  return zip.close();
}

}  // namespace sendflow::sampledata
