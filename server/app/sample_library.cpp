#include "server/app/sample_library.h"

#include <filesystem>
#include <ostream>

#include "server/sampledata/library_writer.h"

namespace sendflow::app {

core::StatusOr<bool> ensureSampleLibrary(const Settings& settings, const core::Clock& clock,
                                         std::ostream& out) {
  SENDFLOW_ASSIGN_OR_RETURN(const bool enabled, settings.getBool("sample.first_start", true));
  SENDFLOW_ASSIGN_OR_RETURN(const std::string type, settings.getString("connector.type", "folder"));
  if (!enabled || type != "folder") return false;
  SENDFLOW_ASSIGN_OR_RETURN(const std::string root,
                            settings.getPath("connector.folder.root", "var/intranet"));
  SENDFLOW_ASSIGN_OR_RETURN(const std::string library,
                            settings.getString("connector.library", "SEND Library"));
  if (std::filesystem::exists(std::filesystem::path(root) / library)) return false;
  SENDFLOW_ASSIGN_OR_RETURN(const long long plans, settings.getInt("sample.plans", 60));
  if (plans < 1 || plans > 100'000) return settings.badValue("sample.plans", "must be 1 to 100000");
  SENDFLOW_ASSIGN_OR_RETURN(const long long seed, settings.getInt("sample.seed", 1));

  sampledata::LibraryOptions options;
  options.plans = static_cast<int>(plans);
  options.seed = static_cast<std::uint64_t>(seed);
  options.library = library;
  options.plan.as_of = std::chrono::floor<std::chrono::days>(clock.now());
  auto summary = sampledata::writeLibrary(root, options);
  if (!summary.isOk()) return summary.status().withContext("the sample intranet library");
  out << "sendflow: first start: wrote a sample intranet library of " << summary->plans
      << " EHC plans to " << summary->root << std::endl;
  return true;
}

}  // namespace sendflow::app
