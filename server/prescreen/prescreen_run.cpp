#include "server/prescreen/prescreen_run.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "server/core/json_text.h"

namespace sendflow::prescreen {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxSidecar = 1 << 20;

bool isDocumentName(const std::string& name) {
  if (name.empty() || name[0] == '.' || name.starts_with("~$")) return false;
  auto ends = [&](std::string_view suffix) {
    if (name.size() < suffix.size()) return false;
    for (std::size_t i = 0; i < suffix.size(); ++i) {
      char c = name[name.size() - suffix.size() + i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      if (c != suffix[i]) return false;
    }
    return true;
  };
  return ends(".docx") || ends(".odt");
}

// Appends the documents under `folder` in name order. Only names are held while a folder is
// sorted (a filesystem::path per entry would cost several allocations each).
void walk(const std::string& folder, std::vector<std::string>& out) {
  std::vector<std::pair<std::string, bool>> entries;  // name, is a folder
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code type_ec;
    if (it->is_directory(type_ec)) {
      entries.emplace_back(std::move(name), true);
    } else if (isDocumentName(name) && it->is_regular_file(type_ec)) {
      entries.emplace_back(std::move(name), false);
    }
  }
  std::sort(entries.begin(), entries.end());
  const std::string prefix = folder.ends_with('/') ? folder : folder + "/";
  for (auto& [name, is_folder] : entries) {
    if (is_folder) {
      walk(prefix + name, out);
    } else {
      out.push_back(prefix + name);
    }
  }
}

core::StatusOr<std::optional<Date>> dateField(const nlohmann::json& object, const std::string& key,
                                              const std::string& label) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::optional<Date>();
  if (!it->is_string()) {
    return core::invalidArgument(label + ": " + key + ": expected a date as \"YYYY-MM-DD\"");
  }
  const std::string text = it->get<std::string>();
  if (text.empty()) return std::optional<Date>();
  auto date = parseIsoDate(text);
  if (!date) {
    return core::invalidArgument(label + ": " + key + ": '" + text + "' is not a date YYYY-MM-DD");
  }
  return std::optional<Date>(*date);
}

}  // namespace

core::StatusOr<std::vector<std::string>> collectDocuments(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const std::string& path : paths) {
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      return core::notFound(path + ": no such file or folder");
    }
    if (fs::is_directory(status)) {
      walk(path, out);
    } else {
      out.push_back(path);
    }
  }
  return out;
}

core::StatusOr<PlanMetadata> metadataFromJson(const std::string& json, const std::string& label,
                                              const SidecarColumns& columns) {
  auto parsed = core::parseJsonText(json);
  if (!parsed.isOk()) {
    return core::invalidArgument(label + ": not valid JSON (" + parsed.status().message() +
                                 "); fix or delete the metadata file");
  }
  nlohmann::json object = std::move(parsed).value();
  if (!object.is_object()) return core::invalidArgument(label + ": expected a JSON object");
  PlanMetadata m;
  if (auto it = object.find(columns.plan_ref); it != object.end() && it->is_string()) {
    m.plan_ref = it->get<std::string>();
  }
  if (auto it = object.find(columns.document_type); it != object.end() && it->is_string()) {
    m.document_type = it->get<std::string>();
  }
  if (auto it = object.find(columns.year_group); it != object.end() && !it->is_null()) {
    long long year = -1;
    if (it->is_number_integer()) {
      year = it->get<long long>();
    } else if (it->is_string()) {
      std::string text = it->get<std::string>();
      if (text == "R" || text == "Reception") {
        year = 0;
      } else {
        if (text.starts_with("Year ")) text = text.substr(5);
        try {
          std::size_t used = 0;
          year = std::stoll(text, &used);
          if (used != text.size()) year = -1;
        } catch (const std::exception&) {
          year = -1;
        }
      }
    }
    if (year < 0 || year > 14) {
      return core::invalidArgument(label + ": " + columns.year_group + ": '" + it->dump() +
                                   "' is not a year group from 0 (Reception) to 14");
    }
    m.year_group = static_cast<int>(year);
  }
  SENDFLOW_ASSIGN_OR_RETURN(m.request_date, dateField(object, columns.request_date, label));
  SENDFLOW_ASSIGN_OR_RETURN(m.date_finalised, dateField(object, columns.date_finalised, label));
  return m;
}

core::StatusOr<std::optional<PlanMetadata>> readSidecar(const std::string& document_path,
                                                        const SidecarColumns& columns) {
  const std::string sidecar = document_path + ".meta.json";
  std::FILE* file = std::fopen(sidecar.c_str(), "rb");
  if (file == nullptr) return std::optional<PlanMetadata>();
  std::string text;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0 && text.size() < kMaxSidecar) {
    text.append(buffer, n);
  }
  std::fclose(file);
  if (text.size() >= kMaxSidecar) {
    return core::invalidArgument(sidecar + ": larger than " + std::to_string(kMaxSidecar) +
                                 " bytes; a sidecar holds a few columns of metadata");
  }
  SENDFLOW_ASSIGN_OR_RETURN(PlanMetadata m, metadataFromJson(text, sidecar, columns));
  return std::optional<PlanMetadata>(std::move(m));
}

RunSummary screenDocuments(const Prescreener& prescreener,
                           const std::vector<std::string>& documents, const RunOptions& options,
                           const std::function<void(const PlanReport&)>& on_report) {
  struct Slot {
    bool done = false;
    bool skipped = false;
    PlanReport report;
  };
  constexpr std::size_t kWindow = 256;  // reports held at most, waiting for their turn
  int jobs =
      options.jobs > 0 ? options.jobs : static_cast<int>(std::thread::hardware_concurrency());
  jobs = std::clamp(jobs, 1, 64);

  RunSummary summary;
  summary.documents = documents.size();
  std::mutex mutex;
  std::condition_variable window_moved;
  std::vector<Slot> ring(kWindow);
  std::size_t next_to_deliver = 0;  // guarded by mutex
  std::size_t next_to_take = 0;     // guarded by mutex

  auto screenOne = [&](std::size_t index, Slot& slot) {
    const std::string& path = documents[index];
    PlanMetadata metadata;
    std::string sidecar_problem;
    auto sidecar = readSidecar(path, options.columns);
    if (!sidecar.isOk()) {
      sidecar_problem = sidecar.status().message();
    } else if (sidecar->has_value()) {
      metadata = **sidecar;
    }
    if (options.plans_only && !metadata.document_type.empty() &&
        metadata.document_type != kPlanDocumentType) {
      slot.skipped = true;
      return;
    }
    slot.report = prescreener.screenFile(path, metadata);
    if (!sidecar_problem.empty()) {
      slot.report.notes.insert(slot.report.notes.begin(), "metadata ignored: " + sidecar_problem);
    }
  };

  bool delivering = false;  // guarded by mutex: one thread at a time calls on_report
  auto deliverReady = [&](std::unique_lock<std::mutex>& lock) {
    // Called with the lock held; delivers consecutive finished slots in order. The report is
    // moved out so that on_report runs without the lock while the other workers go on.
    if (delivering) return;
    delivering = true;
    while (next_to_deliver < documents.size() && ring[next_to_deliver % kWindow].done) {
      Slot slot = std::move(ring[next_to_deliver % kWindow]);
      ring[next_to_deliver % kWindow] = Slot();
      lock.unlock();
      if (!slot.skipped) on_report(slot.report);
      lock.lock();
      if (slot.skipped) {
        ++summary.skipped;
      } else {
        ++(slot.report.readable ? summary.screened : summary.unreadable);
        summary.findings += slot.report.findings.size();
        for (const Finding& f : slot.report.findings) {
          ++summary.findings_by_kind[findingKindId(f.kind)];
        }
      }
      ++next_to_deliver;
      window_moved.notify_all();
    }
    delivering = false;
  };

  auto worker = [&] {
    std::unique_lock<std::mutex> lock(mutex);
    while (true) {
      window_moved.wait(lock, [&] {
        return next_to_take >= documents.size() || next_to_take < next_to_deliver + kWindow;
      });
      if (next_to_take >= documents.size()) return;
      const std::size_t index = next_to_take++;
      lock.unlock();
      Slot result;
      screenOne(index, result);
      lock.lock();
      result.done = true;
      ring[index % kWindow] = std::move(result);
      deliverReady(lock);
    }
  };

  std::vector<std::thread> threads;
  for (int i = 1; i < jobs; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  return summary;
}

}  // namespace sendflow::prescreen
