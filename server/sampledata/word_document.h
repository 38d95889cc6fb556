#pragma once
// A small word-processing document model, and writers that turn it into a minimal valid Word
// (.docx, WordprocessingML) or OpenDocument (.odt) package with libzip. Enough for headings
// (as a heading style, as a bold paragraph, or as a table's first cell), paragraphs and tables:
// what the sample library's plans, reviews and advice need. LibreOffice and Word open both.
//
// Plain values; the writers keep no state and are safe to call from many threads at once.

#include <string>
#include <vector>

#include "server/core/status.h"

namespace sendflow::sampledata {

// How a heading is marked up.
enum class HeadingLook {
  kStyle,      // a heading style (Word "Heading 1", ODF text:h)
  kBold,       // a body paragraph in bold
  kTableCell,  // a one-row, one-cell shaded table
};

struct Block {
  enum class Kind { kHeading, kParagraph, kTable };
  Kind kind = Kind::kParagraph;
  std::string text;  // heading or paragraph
  int level = 1;     // heading level
  HeadingLook look = HeadingLook::kStyle;
  std::vector<std::vector<std::string>> rows;  // table cells; the first row is the header
};

struct WordDocument {
  std::string title;  // document properties title
  std::vector<Block> blocks;

  void heading(std::string text, int level, HeadingLook look) {
    blocks.push_back({Block::Kind::kHeading, std::move(text), level, look, {}});
  }
  void paragraph(std::string text) {
    blocks.push_back({Block::Kind::kParagraph, std::move(text), 0, HeadingLook::kStyle, {}});
  }
  void table(std::vector<std::vector<std::string>> rows) {
    blocks.push_back({Block::Kind::kTable, "", 0, HeadingLook::kStyle, std::move(rows)});
  }
};

// Write `document` to `path` (replacing it). kUnavailable naming the path when it cannot be
// written. `compression_level` 1 (fastest) .. 9.
core::Status writeDocx(const WordDocument& document, const std::string& path,
                       int compression_level = 1);
core::Status writeOdt(const WordDocument& document, const std::string& path,
                      int compression_level = 1);

// The main XML part alone (word/document.xml, content.xml), for tests.
std::string docxDocumentXml(const WordDocument& document);
std::string odtContentXml(const WordDocument& document);

}  // namespace sendflow::sampledata
