#pragma once
// A compiled part: the part's XML cut into literal bytes and operations, so that rendering is
// appending strings and looking up data, with no XML parsing. Built by compilePart(), run by
// runProgram(). Immutable once built; safe to share between threads.

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "server/docgen/tag.h"
#include "server/docgen/value_format.h"

namespace sendflow::docgen {

struct Op {
  enum class Kind {
    kLiteral,            // text: bytes copied as they are
    kVariable,           // a value inside running text
    kParagraphVariable,  // a value alone in its paragraph: text is the paragraph before it,
                         // suffix after it; a list value becomes list paragraphs
    kSectionOpen,        // match: index of the kSectionClose
    kSectionClose,       // match: index of the kSectionOpen
    kPartial,            // a sub-template's body, rendered with the current context
    kImage,              // a picture from data
    kChart,              // a native chart from data
  };
  Kind kind = Kind::kLiteral;
  std::string text;
  std::string suffix;
  std::string list_item_open;   // kParagraphVariable: opens one list paragraph (to the text)
  std::string list_item_close;  // ... and closes it
  std::string list_open;        // around all list paragraphs (ODT <text:list>), may be empty
  std::string list_close;
  Tag tag;
  bool inverted = false;
  std::size_t match = 0;
  std::string where;  // "word/document.xml, paragraph 4" for render-time errors
};

struct Program {
  std::vector<Op> ops;
  TextTarget target = TextTarget::kPlain;
};

}  // namespace sendflow::docgen
