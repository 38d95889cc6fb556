// Commands of the connector area; see cli.h for the conventions.
#include "server/app/cli.h"

#include <charconv>
#include <ostream>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "connectors/factory/connector_factory.h"
#include "server/core/clock.h"
#include "server/core/json_text.h"
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
    context.err << "sendflow: --" << name << ": '" << text << "' is not a whole number from " << low
                << " to " << high << "\n";
    return false;
  }
  value = parsed;
  return true;
}

// sample-data --plans N --out DIR [--seed S] [--library NAME] [--as-of DATE] [--jobs N]
// [--plans-only]
int runSampleData(CommandContext& context) {
  sampledata::LibraryOptions options;
  std::string out;
  long long plans = 0, seed = 1, jobs = 0;
  if (!takeOption(context.args, "out", out) ||
      !takeNumberOption(context, "plans", 1, 1'000'000, plans) || plans == 0 ||
      !takeNumberOption(context, "seed", 0, 1'000'000'000'000'000LL, seed) ||
      !takeNumberOption(context, "jobs", 0, 64, jobs)) {
    context.err << "usage: sendflow sample-data --plans N --out DIR [--seed S] [--library NAME] "
                   "[--as-of DATE] [--jobs N] [--plans-only]\n";
    return kExitUsage;
  }
  takeOption(context.args, "library", options.library);
  std::string as_of;
  if (takeOption(context.args, "as-of", as_of)) {
    core::TimePoint day;
    if (as_of.size() != 10 || !core::parseIso8601(as_of, day)) {
      context.err << "sendflow: sample-data: --as-of '" << as_of
                  << "' is not a date (YYYY-MM-DD)\n";
      return kExitUsage;
    }
    options.plan.as_of = std::chrono::floor<std::chrono::days>(day);
  }
  options.plan.related_documents = !takeFlag(context.args, "plans-only");
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

// --- connector list / fetch / publish: the configured intranet connector (connector.*) ---

// The configured connector, or nullptr with the configuration problem printed.
std::unique_ptr<connectors::DocumentSource> configuredConnector(CommandContext& context,
                                                                const core::Clock& clock) {
  auto source = connectors::makeDocumentSource(context.settings.section("connector"),
                                               context.settings.source(),
                                               Settings::processEnvironment(), clock);
  if (!source.isOk()) {
    context.err << "sendflow: " << source.status().message() << "\n";
    return nullptr;
  }
  return std::move(source).value();
}

int connectorExitCode(const core::Status& status) {
  switch (status.code()) {
    case core::StatusCode::kInvalidArgument:
    case core::StatusCode::kNotFound:
      return kExitInvalidInput;
    default:
      return kExitFailure;
  }
}

nlohmann::json itemToJson(const connectors::Item& item) {
  const connectors::DocumentMetadata& m = item.metadata;
  return {{"id", item.id},
          {"name", item.name},
          {"path", item.path},
          {"size", item.size},
          {"content_type", item.content_type},
          {"modified", core::formatIso8601(item.modified)},
          {"etag", item.etag},
          {"metadata",
           {{"locality", m.locality},
            {"finalised_date", m.finalised_date},
            {"request_date", m.request_date},
            {"review_date", m.review_date},
            {"caseworker", m.caseworker},
            {"contributors", m.contributors},
            {"year_group", m.year_group},
            {"setting", m.setting},
            {"document_type", m.document_type}}}};
}

// connector list [--since CURSOR] [--json]: every document changed since CURSOR, all pages; the
// last line (or the JSON's "cursor") is the cursor to pass next time.
int runConnectorList(CommandContext& context) {
  std::string cursor;
  takeOption(context.args, "since", cursor);
  const bool json = takeFlag(context.args, "json");
  if (!context.args.empty()) {
    context.err << "usage: sendflow connector list [--since CURSOR] [--json]\n";
    return kExitUsage;
  }
  core::SystemClock clock;
  auto source = configuredConnector(context, clock);
  if (!source) return kExitFailure;
  nlohmann::json items = nlohmann::json::array();
  nlohmann::json problems = nlohmann::json::array();
  bool resynced = false;
  for (;;) {
    auto page = source->listPage(cursor);
    if (!page.isOk()) {
      context.err << "sendflow: " << page.status().message() << "\n";
      if (!json) context.out << "cursor: " << cursor << "\n";  // where to resume
      return connectorExitCode(page.status());
    }
    resynced = resynced || page->resynced;
    for (const auto& item : page->items) {
      if (json) {
        items.push_back(itemToJson(item));
      } else {
        context.out << item.id << "\t" << item.path << "\t" << item.metadata.document_type << "\t"
                    << item.metadata.locality << "\t" << item.metadata.finalised_date << "\n";
      }
    }
    for (const auto& problem : page->problems) {
      context.err << "sendflow: " << problem.item << ": " << problem.status.message() << "\n";
      problems.push_back({{"item", problem.item}, {"problem", problem.status.message()}});
    }
    cursor = page->next_cursor;
    if (!page->more) break;
  }
  if (json) {
    context.out << nlohmann::json{{"items", items},
                                  {"problems", problems},
                                  {"cursor", cursor},
                                  {"resynced", resynced}}
                       .dump(2)
                << "\n";
  } else {
    context.out << "cursor: " << cursor << "\n";
  }
  return problems.empty() ? kExitOk : kExitInvalidInput;
}

// connector fetch ID -o FILE: ID is the first column of `connector list` (SharePoint: the path).
int runConnectorFetch(CommandContext& context) {
  std::string output;
  takeOption(context.args, "output", output);
  for (auto it = context.args.begin(); it != context.args.end(); ++it) {
    if (*it == "-o" && it + 1 != context.args.end()) {
      output = *(it + 1);
      context.args.erase(it, it + 2);
      break;
    }
  }
  if (context.args.size() != 1 || output.empty()) {
    context.err << "usage: sendflow connector fetch ID -o FILE\n";
    return kExitUsage;
  }
  core::SystemClock clock;
  auto source = configuredConnector(context, clock);
  if (!source) return kExitFailure;
  connectors::Item item;
  item.id = context.args.front();
  item.path = item.id;
  item.name = std::filesystem::path(item.id).filename().string();
  const core::Status status = source->download(item, output);
  if (!status.isOk()) {
    context.err << "sendflow: " << status.message() << "\n";
    return connectorExitCode(status);
  }
  context.out << "wrote " << output << "\n";
  return kExitOk;
}

// connector publish FILE [--name NAME] [--meta JSON]: JSON keys are sendflow's field names.
int runConnectorPublish(CommandContext& context) {
  std::string name, meta = "{}";
  takeOption(context.args, "name", name);
  takeOption(context.args, "meta", meta);
  if (context.args.size() != 1) {
    context.err << "usage: sendflow connector publish FILE [--name NAME] [--meta JSON]\n";
    return kExitUsage;
  }
  const std::string file = context.args.front();
  if (name.empty()) name = std::filesystem::path(file).filename().string();
  auto parsed = core::parseJsonText(meta);
  if (!parsed.isOk()) {
    context.err << "sendflow: connector publish: --meta is not JSON (" << parsed.status().message()
                << ")\n";
    return kExitInvalidInput;
  }
  const nlohmann::json fields = std::move(parsed).value();
  if (!fields.is_object()) {
    context.err << "sendflow: connector publish: --meta is not a JSON object\n";
    return kExitInvalidInput;
  }
  connectors::DocumentMetadata m;
  for (const auto& [key, value] : fields.items()) {
    std::string* text = key == "locality"         ? &m.locality
                        : key == "finalised_date" ? &m.finalised_date
                        : key == "request_date"   ? &m.request_date
                        : key == "review_date"    ? &m.review_date
                        : key == "caseworker"     ? &m.caseworker
                        : key == "year_group"     ? &m.year_group
                        : key == "setting"        ? &m.setting
                        : key == "document_type"  ? &m.document_type
                                                  : nullptr;
    if (key == "contributors" && value.is_array()) {
      for (const auto& c : value)
        m.contributors.push_back(c.is_string() ? c.get<std::string>() : c.dump());
    } else if (text != nullptr && (value.is_string() || value.is_number())) {
      *text = value.is_string() ? value.get<std::string>() : value.dump();
    } else {
      context.err << "sendflow: connector publish: --meta: '" << key
                  << "' is not a sendflow field (locality, finalised_date, request_date, "
                     "review_date, caseworker, contributors, year_group, setting, document_type)"
                     " or has the wrong type\n";
      return kExitInvalidInput;
    }
  }
  std::ifstream content(file, std::ios::binary);
  if (!content) {
    context.err << "sendflow: connector publish: cannot read " << file << "\n";
    return kExitInvalidInput;
  }
  core::SystemClock clock;
  auto source = configuredConnector(context, clock);
  if (!source) return kExitFailure;
  auto item = source->publish({name, &content, "", m});
  if (!item.isOk()) {
    context.err << "sendflow: " << item.status().message() << "\n";
    return connectorExitCode(item.status());
  }
  context.out << "published " << item->path << " (" << item->id << ")\n";
  return kExitOk;
}

}  // namespace

void registerConnectorCommands(CommandTable& table) {
  table.push_back(
      {"sample-data",
       "sample-data --plans N --out DIR [--seed S] [--library NAME] [--as-of DATE] [--plans-only]",
       "write a synthetic, anonymised intranet library of EHC plans, reviews and advice",
       runSampleData});
  table.push_back({"prescreen", "prescreen PATH... [--json] [--jobs N] [--all-types]",
                   "pre-screen EHC plans (DOCX, ODT) for compliance evidence; never a grade",
                   runPrescreen});
  table.push_back({"connector list", "connector list [--since CURSOR] [--json]",
                   "list the intranet library's documents (changed since CURSOR)",
                   runConnectorList});
  table.push_back({"connector fetch", "connector fetch ID -o FILE",
                   "download one document from the intranet library", runConnectorFetch});
  table.push_back({"connector publish", "connector publish FILE [--name NAME] [--meta JSON]",
                   "publish a document with metadata to the intranet library",
                   runConnectorPublish});
}

}  // namespace sendflow::app
