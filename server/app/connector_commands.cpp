// Commands of the connector area; see cli.h for the conventions.
#include "server/app/cli.h"

#include <charconv>
#include <ostream>

#include "server/prescreen/prescreen_run.h"
#include "server/prescreen/report_format.h"
#include "server/sampledata/library_writer.h"

namespace sendflow::app {
namespace {

// "--name N" as a whole number within [low, high]; false (with the message printed) otherwise.
bool takeNumberOption(CommandContext& context, const std::string& name, long long low,
                      long long high, long long& value) {
  std::string text;
  if (!takeOption(context.args, name, text)) return true;
  long long parsed = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (error != std::errc() || end != text.data() + text.size() || parsed < low || parsed > high) {
    context.err << "sendflow: --" << name << ": '" << text << "' is not a whole number from "
                << low << " to " << high << "\n";
    return false;
  }
  value = parsed;
  return true;
}

// sample-data --plans N --out DIR [--seed S] [--library NAME] [--jobs N]
int runSampleData(CommandContext& context) {
  sampledata::LibraryOptions options;
  std::string out;
  long long plans = 0, seed = 1, jobs = 0;
  if (!takeOption(context.args, "out", out) ||
      !takeNumberOption(context, "plans", 1, 1'000'000, plans) || plans == 0 ||
      !takeNumberOption(context, "seed", 0, 1'000'000'000'000'000LL, seed) ||
      !takeNumberOption(context, "jobs", 0, 64, jobs)) {
    context.err << "usage: sendflow sample-data --plans N --out DIR [--seed S] [--library NAME] "
                   "[--jobs N]\n";
    return kExitUsage;
  }
  takeOption(context.args, "library", options.library);
  if (!context.args.empty()) {
    context.err << "sendflow: sample-data: unexpected argument '" << context.args.front() << "'\n";
    return kExitUsage;
  }
  options.plans = static_cast<int>(plans);
  options.seed = static_cast<std::uint64_t>(seed);
  options.jobs = static_cast<int>(jobs);
  auto summary = sampledata::writeLibrary(out, options);
  if (!summary.isOk()) {
    context.err << "sendflow: " << summary.status().message() << "\n";
    return summary.status().code() == core::StatusCode::kInvalidArgument ? kExitInvalidInput
                                                                        : kExitFailure;
  }
  context.out << "wrote " << summary->plans << " EHC plans (" << summary->docx << " docx, "
              << summary->odt << " odt), " << summary->annual_reviews << " annual reviews and "
              << summary->advice << " advice documents to " << summary->root << "\n";
  return kExitOk;
}

// prescreen PATH... [--json] [--jobs N] [--all-types]
int runPrescreen(CommandContext& context) {
  const bool json = takeFlag(context.args, "json");
  const bool all_types = takeFlag(context.args, "all-types");
  long long jobs = 0;
  if (!takeNumberOption(context, "jobs", 0, 64, jobs)) return kExitUsage;
  for (const std::string& arg : context.args) {
    if (arg.starts_with("--")) {
      context.err << "sendflow: prescreen: unknown option " << arg << "\n";
      return kExitUsage;
    }
  }
  if (context.args.empty()) {
    context.err << "usage: sendflow prescreen PATH... [--json] [--jobs N] [--all-types]\n";
    return kExitUsage;
  }
  auto rules = prescreen::ScreeningRules::fromSection(context.settings.section("prescreen"),
                                                      context.settings.source());
  if (!rules.isOk()) {
    context.err << "sendflow: " << rules.status().message() << "\n";
    return kExitFailure;
  }
  auto documents = prescreen::collectDocuments(context.args);
  if (!documents.isOk()) {
    context.err << "sendflow: prescreen: " << documents.status().message() << "\n";
    return kExitInvalidInput;
  }
  const prescreen::Prescreener prescreener(std::move(*rules));
  prescreen::RunOptions options;
  options.jobs = static_cast<int>(jobs);
  options.plans_only = !all_types;
  bool first = true;
  if (json) context.out << "{\"documents\": [";
  const prescreen::RunSummary summary = prescreen::screenDocuments(
      prescreener, *documents, options, [&](const prescreen::PlanReport& report) {
        if (json) {
          context.out << (first ? "\n" : ",\n") << prescreen::reportToJson(report).dump();
        } else {
          prescreen::writeTextReport(report, context.out);
        }
        first = false;
      });
  if (json) {
    context.out << "\n], \"summary\": " << prescreen::summaryToJson(summary).dump() << "}\n";
  } else {
    if (!first) context.out << "\n";
    prescreen::writeTextSummary(summary, context.out);
  }
  return kExitOk;
}

}  // namespace

void registerConnectorCommands(CommandTable& table) {
  table.push_back({"sample-data", "sample-data --plans N --out DIR [--seed S] [--library NAME]",
                   "write a synthetic, anonymised intranet library of EHC plans, reviews and advice",
                   runSampleData});
  table.push_back({"prescreen", "prescreen PATH... [--json] [--jobs N] [--all-types]",
                   "pre-screen EHC plans (DOCX, ODT) for compliance evidence; never a grade",
                   runPrescreen});
}

}  // namespace sendflow::app
