#include "server/sampledata/library_writer.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

namespace sendflow::sampledata {
namespace {

namespace fs = std::filesystem;

core::Status writeText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return core::unavailable(path.string() + ": cannot write");
  return core::Status::ok();
}

core::Status writeDocument(const fs::path& root, const SyntheticDocument& doc) {
  const fs::path path = root / doc.folder / doc.file_name;
  SENDFLOW_RETURN_IF_ERROR(doc.odt ? writeOdt(doc.content, path.string())
                                   : writeDocx(doc.content, path.string()));
  return writeText(path.string() + ".meta.json", sidecarJson(doc.metadata));
}

}  // namespace

std::string sidecarJson(const DocumentMetadata& m) {
  auto dateOrNull = [](const std::string& d) {
    return d.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(d);
  };
  nlohmann::ordered_json json;
  json["PlanRef"] = m.plan_ref;
  json["DocumentType"] = m.document_type;
  json["Locality"] = m.locality;
  json["DateFinalised"] = dateOrNull(m.date_finalised);
  json["RequestDate"] = dateOrNull(m.request_date);
  json["ReviewDue"] = dateOrNull(m.review_due);
  json["Caseworker"] = m.caseworker;
  json["Contributors"] = m.contributors;
  json["YearGroup"] = m.year_group;
  json["Setting"] = m.setting;
  return json.dump(2) + "\n";
}

core::StatusOr<LibrarySummary> writeLibrary(const std::string& dir, const LibraryOptions& options) {
  if (options.plans < 1 || options.plans > 1'000'000) {
    return core::invalidArgument("sample-data: --plans must be from 1 to 1000000, not " +
                                 std::to_string(options.plans));
  }
  if (options.library.empty() || options.library.find('/') != std::string::npos ||
      options.library == "." || options.library == "..") {
    return core::invalidArgument("sample-data: the library name '" + options.library +
                                 "' must be a single folder name");
  }
  LibrarySummary summary;
  const fs::path root = fs::path(dir) / options.library;
  summary.root = root.string();
  for (const char* folder : {"EHC Plans", "Annual Reviews", "Advice"}) {
    std::error_code ec;
    fs::create_directories(root / folder, ec);
    if (ec) {
      return core::unavailable((root / folder).string() +
                               ": cannot create the folder: " + ec.message());
    }
  }

  summary.plan_records.resize(static_cast<std::size_t>(options.plans));
  std::atomic<int> next{0};
  std::atomic<int> reviews{0}, advice{0}, odt{0};
  std::mutex mutex;
  core::Status first_error;  // guarded by mutex
  std::atomic<bool> failed{false};

  auto worker = [&] {
    while (!failed.load()) {
      const int index = next.fetch_add(1);
      if (index >= options.plans) return;
      SyntheticPlan plan = generatePlan(options.seed, index, options.plan);
      core::Status status = writeDocument(root, plan.plan);
      for (const SyntheticDocument& doc : plan.related) {
        if (!status.isOk()) break;
        status = writeDocument(root, doc);
        (doc.folder == "Advice" ? advice : reviews).fetch_add(1);
      }
      if (!status.isOk()) {
        std::lock_guard<std::mutex> lock(mutex);
        if (first_error.isOk()) first_error = status;
        failed = true;
        return;
      }
      if (plan.plan.odt) odt.fetch_add(1);
      auto& record = summary.plan_records[static_cast<std::size_t>(index)];
      record.path = (root / plan.plan.folder / plan.plan.file_name).string();
      record.plan_ref = plan.plan.metadata.plan_ref;
      record.year_group = plan.plan.metadata.year_group;
      record.flaws = std::move(plan.flaws);
    }
  };
  int jobs =
      options.jobs > 0 ? options.jobs : static_cast<int>(std::thread::hardware_concurrency());
  jobs = std::clamp(jobs, 1, 64);
  std::vector<std::thread> threads;
  for (int i = 1; i < jobs; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (!first_error.isOk()) return first_error;

  summary.plans = options.plans;
  summary.annual_reviews = reviews.load();
  summary.advice = advice.load();
  summary.odt = odt.load();
  summary.docx = options.plans - summary.odt;
  return summary;
}

}  // namespace sendflow::sampledata
