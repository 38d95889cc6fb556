// Commands of the docgen area; see cli.h for the conventions.
//   sendflow render TEMPLATE DATA.json -o OUT [--pdf]
//   sendflow template check TEMPLATE
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "server/app/cli.h"
#include "server/core/json_text.h"
#include "server/docgen/pdf_converter.h"
#include "server/docgen/template.h"

namespace sendflow::app {
namespace {

namespace fs = std::filesystem;
using docgen::DocumentFormat;

const char* formatName(DocumentFormat f) { return f == DocumentFormat::kDocx ? "DOCX" : "ODT"; }

// Takes "-o OUT" or "--output OUT".
bool takeOutput(std::vector<std::string>& args, std::string& value) {
  for (auto it = args.begin(); it != args.end(); ++it) {
    if (*it == "-o" && it + 1 != args.end()) {
      value = *(it + 1);
      args.erase(it, it + 2);
      return true;
    }
  }
  return takeOption(args, "output", value);
}

int printProblems(const docgen::Template& t, std::ostream& err) {
  for (const auto& problem : t.problems()) err << "  " << problem.toString() << "\n";
  return kExitInvalidInput;
}

int runRender(CommandContext& ctx) {
  std::string output;
  const bool want_pdf = takeFlag(ctx.args, "pdf");
  if (!takeOutput(ctx.args, output) || ctx.args.size() != 2) {
    ctx.err << "usage: sendflow render TEMPLATE DATA.json -o OUT [--pdf]\n";
    return kExitUsage;
  }
  const fs::path template_path = ctx.args[0];
  const fs::path data_path = ctx.args[1];
  fs::path out_path = output;
  auto loaded = docgen::Template::load(template_path);
  if (!loaded.isOk()) {
    ctx.err << "sendflow: " << loaded.status().message() << "\n";
    return kExitInvalidInput;
  }
  const docgen::Template& t = *loaded;
  if (!t.problems().empty()) {
    ctx.err << "sendflow: " << template_path.string() << " has " << t.problems().size()
            << " problem(s):\n";
    return printProblems(t, ctx.err);
  }
  std::ifstream data_in(data_path);
  if (!data_in) {
    ctx.err << "sendflow: " << data_path.string() << ": cannot open the data file\n";
    return kExitInvalidInput;
  }
  std::stringstream data_text;
  data_text << data_in.rdbuf();
  auto parsed = core::parseJsonText(data_text.str());
  if (!parsed.isOk()) {
    ctx.err << "sendflow: " << data_path.string() << ": not valid JSON ("
            << parsed.status().message() << ")\n";
    return kExitInvalidInput;
  }
  nlohmann::json data = std::move(parsed).value();
  std::string extension = out_path.extension().string();
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool pdf_only = extension == ".pdf";
  const std::string native = t.format() == DocumentFormat::kDocx ? ".docx" : ".odt";
  if (!pdf_only && extension != native) {
    ctx.err << "sendflow: " << out_path.string() << ": a " << formatName(t.format())
            << " template renders to " << native << " (or .pdf)\n";
    return kExitUsage;
  }
  auto rendered = t.render(data);
  if (!rendered.isOk()) {
    ctx.err << "sendflow: " << rendered.status().message() << "\n";
    return rendered.status().code() == core::StatusCode::kInternal ? kExitFailure
                                                                   : kExitInvalidInput;
  }
  fs::path document_path = pdf_only ? fs::path(out_path).replace_extension(native) : out_path;
  if (document_path.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(document_path.parent_path(), ec);
  }
  {
    std::ofstream out(document_path, std::ios::binary);
    out.write(rendered->data(), static_cast<std::streamsize>(rendered->size()));
    if (!out) {
      ctx.err << "sendflow: cannot write " << document_path.string() << "\n";
      return kExitFailure;
    }
  }
  if (pdf_only || want_pdf) {
    const fs::path pdf_path = fs::path(out_path).replace_extension(".pdf");
    const core::Status converted = docgen::convertToPdf(document_path, pdf_path);
    if (pdf_only) fs::remove(document_path);
    if (!converted.isOk()) {
      ctx.err << "sendflow: " << converted.message() << "\n";
      return kExitFailure;
    }
    ctx.out << pdf_path.string() << "\n";
  }
  if (!pdf_only) ctx.out << document_path.string() << "\n";
  return kExitOk;
}

int runTemplateCheck(CommandContext& ctx) {
  if (ctx.args.size() != 1) {
    ctx.err << "usage: sendflow template check TEMPLATE\n";
    return kExitUsage;
  }
  auto loaded = docgen::Template::load(ctx.args[0]);
  if (!loaded.isOk()) {
    ctx.err << "sendflow: " << loaded.status().message() << "\n";
    return kExitInvalidInput;
  }
  const docgen::Template& t = *loaded;
  ctx.out << ctx.args[0] << ": " << formatName(t.format()) << " template, " << t.tags().size()
          << " tag(s)\n";
  for (const auto& tag : t.tags()) {
    ctx.out << "  " << tag.text << "  " << tag.part << ", " << tag.location << "\n";
  }
  if (t.problems().empty()) {
    ctx.out << "no problems\n";
    return kExitOk;
  }
  ctx.err << t.problems().size() << " problem(s):\n";
  return printProblems(t, ctx.err);
}

}  // namespace

void registerDocgenCommands(CommandTable& table) {
  table.push_back({"render", "render TEMPLATE DATA.json -o OUT [--pdf]",
                   "fill a .docx/.odt template with JSON data; OUT.pdf or --pdf converts with "
                   "LibreOffice",
                   runRender});
  table.push_back({"template check", "template check TEMPLATE",
                   "list a template's tags and report every problem in it (exit 1 if any)",
                   runTemplateCheck});
}

}  // namespace sendflow::app
