#pragma once
// Compiles one XML part of a template into a Program: parses it safely, makes tags split across
// runs whole, decides the scope of every section (inline, table row, or a range of paragraphs,
// list items and tables), drops paragraphs that held only section tags, and cuts the result
// into literal bytes and operations. Thread-safe (no shared state; libxml2 is initialised once).

#include <map>
#include <string>
#include <vector>

#include "server/core/status.h"
#include "server/docgen/program.h"
#include "server/docgen/template.h"

// The placeholder body of an ODT table of contents; render() replaces it with the headings.
#define SENDFLOW_ODT_TOC_BODY "<text:p>Update the contents with Tools, Update, Update All.</text:p>"

namespace sendflow::docgen {

enum class PartKind {
  kFlow,        // paragraphs: word/document.xml, headers, footers, footnotes, content.xml, ...
  kProperties,  // docProps/*.xml, meta.xml: tags in plain element text
  kFragment,    // a partial's body: only the children of w:body / office:text are kept
};

struct PartCompileInput {
  DocumentFormat format = DocumentFormat::kDocx;
  PartKind kind = PartKind::kFlow;
  std::string part_name;              // for messages
  std::string xml;                    // the part's bytes
  bool list_style_available = false;  // DOCX: styles.xml defines "ListBullet"
};

struct PartCompileResult {
  Program program;
  std::vector<TemplateProblem> problems;
  std::vector<TemplateTag> tags;
  std::map<std::string, std::string> partials;  // {{> name}}: name -> where first used
  bool has_toc = false;                         // DOCX: a TOC field (Word updates it on opening)
  bool has_odt_toc = false;       // ODT: the index body holds SENDFLOW_ODT_TOC_BODY, to be filled
  bool needs_list_style = false;  // ODT: the program refers to the SfBullets list style
  bool needs_page_break_style = false;  // ODT: the program refers to the SfPageBreak style
};

// kInvalidArgument when the part is not well-formed XML, declares a DTD, or refers to
// entities; problems in the tags go to `problems`, not to the status.
core::StatusOr<PartCompileResult> compilePart(const PartCompileInput& input);

// Checks that `xml` is well-formed with the same safe parser (used by tests and by render
// self-checks). kInvalidArgument with the line and libxml2's message when it is not.
core::Status checkWellFormed(const std::string& xml, const std::string& part_name);

}  // namespace sendflow::docgen
