#pragma once
// Streams the text of a word-processing document (DOCX or ODT) paragraph by paragraph, with the
// layout facts that heading detection needs: heading style or outline level, bold, and the table
// cell a paragraph sits in. The XML is read with libxml2's xmlTextReader (no DOM): memory stays
// the size of one paragraph whatever the document's length.
//
// Thread-safe: each call uses its own reader. libxml2 errors never reach stderr; they come back
// as a Status naming the document, the part and the line.

#include <string>
#include <string_view>

#include "server/archive/zip_reader.h"
#include "server/core/status.h"

namespace sendflow::prescreen {

enum class DocumentFormat { kDocx, kOdt };
const char* documentFormatName(DocumentFormat format);  // "docx", "odt"

// One paragraph of the document body (headers, footers and comments are not part of the body).
struct TextBlock {
  std::string_view text;  // whitespace collapsed, trimmed; valid only during onBlock()
  bool heading =
      false;  // a heading style (Word "Heading N" or "Title", ODF text:h or heading style)
  int heading_level = 0;  // 1.. when `heading`
  bool bold = false;      // every run that carries text is bold
  int table = 0;          // 1-based index of the top-level table, 0 outside tables
  int row = 0;            // 1-based row and cell of the top-level table
  int cell = 0;
  int paragraph = 0;  // 1-based index among all body paragraphs with text
};

class BlockSink {
 public:
  virtual ~BlockSink() = default;
  // Called once per paragraph that has text, in document order.
  virtual void onBlock(const TextBlock& block) = 0;
};

// Detects the format from the package's parts. kInvalidArgument when the package is neither a
// Word nor an OpenDocument text document, or when it is an encrypted OpenDocument package.
core::StatusOr<DocumentFormat> detectFormat(const archive::ZipReader& package);

// Reads the main part of `package` (word/document.xml or content.xml) and calls `sink` for each
// paragraph. kInvalidArgument, naming the document, part and line, when the XML is malformed;
// paragraphs delivered before the error stay delivered.
core::Status streamDocument(const archive::ZipReader& package, DocumentFormat format,
                            BlockSink& sink);

}  // namespace sendflow::prescreen
