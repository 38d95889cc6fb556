#include "server/engine/builtin_actions.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>

namespace sendflow::engine {

using nlohmann::json;

namespace {

unsigned long long fnv1a(const std::string& text) {
  unsigned long long h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// Cuts a torn last line off the audit file open on `fd`: a process killed in the middle of a
// write(2) that crosses a page boundary leaves the start of its line without the newline, and the
// next line appended would join it. The cut bytes are a key whose write never returned, so its
// job runs again and writes it whole. 0 or an errno.
int cutTornLastLine(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno;
  off_t end = st.st_size;
  char last = '\n';
  if (end == 0 || ::pread(fd, &last, 1, end - 1) != 1 || last == '\n') return 0;
  char buffer[4096];
  while (end > 0) {
    const off_t n = std::min<off_t>(end, sizeof buffer);
    if (::pread(fd, buffer, static_cast<std::size_t>(n), end - n) != n) return EIO;
    for (off_t i = n; i > 0; --i) {
      if (buffer[i - 1] == '\n') return ::ftruncate(fd, end - n + i) == 0 ? 0 : errno;
    }
    end -= n;
  }
  return ::ftruncate(fd, 0) == 0 ? 0 : errno;
}

// Appends each idempotency key once, one write(2) per line with O_APPEND, under an exclusive
// lock (flock) shared by every process appending to the file; a torn last line left by a process
// that was killed is cut before the next line goes in. Keys already in the file (from before a
// restart) are read at first use.
class AuditFile {
 public:
  explicit AuditFile(std::string path) : path_(std::move(path)) {}

  core::Status record(const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!loaded_) {
      std::ifstream in(path_, std::ios::binary);
      const std::string text((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
      for (std::string& line : auditFileKeys(text)) seen_.insert(std::move(line));
      loaded_ = true;
    }
    if (seen_.count(key) != 0) return core::Status::ok();
    const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return core::unavailable("noop.record: cannot open audit file " + path_);
    const std::string line = key + "\n";
    bool written = ::flock(fd, LOCK_EX) == 0 && cutTornLastLine(fd) == 0;
    written = written && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(fd);
    if (!written) return core::unavailable("noop.record: cannot write audit file " + path_);
    seen_.insert(key);
    return core::Status::ok();
  }

 private:
  std::string path_;
  std::mutex mutex_;
  bool loaded_ = false;         // guarded by mutex_
  std::set<std::string> seen_;  // guarded by mutex_
};

core::StatusOr<std::vector<std::string>> recipients(const json& to) {
  std::vector<std::string> out;
  if (to.is_string()) out.push_back(to.get<std::string>());
  if (to.is_array()) {
    for (const json& r : to) {
      if (!r.is_string())
        return core::invalidArgument("mail.send: to: every recipient must be text");
      out.push_back(r.get<std::string>());
    }
  }
  if (out.empty()) return core::invalidArgument("mail.send: to: a recipient is required");
  return out;
}

}  // namespace

std::vector<std::string> auditFileKeys(std::string_view text) {
  std::vector<std::string> keys;
  std::size_t start = 0;
  for (std::size_t end = text.find('\n'); end != std::string_view::npos;
       start = end + 1, end = text.find('\n', start)) {
    if (end > start) keys.emplace_back(text.substr(start, end - start));
  }
  return keys;
}

core::StatusOr<json> selectSample(const json& params, unsigned long long seed) {
  if (!params.contains("items") || !params["items"].is_array()) {
    return core::invalidArgument("sample.select: items: must be a list");
  }
  const std::string field = params.value("stratify_by", "");
  long long per = 0;
  const char* count_name = field.empty() ? "size" : "per_stratum";
  if (params.contains(count_name)) {
    if (!params[count_name].is_number_integer() || params[count_name].get<long long>() < 0) {
      return core::invalidArgument(std::string("sample.select: ") + count_name +
                                   ": must be a whole number, 0 or more");
    }
    per = params[count_name].get<long long>();
  } else {
    return core::invalidArgument(std::string("sample.select: ") + count_name + ": required");
  }
  std::map<std::string, std::vector<json>> strata;
  for (const json& item : params["items"]) {
    std::string key = "all";
    if (!field.empty()) {
      const json v = item.is_object() && item.contains(field) ? item[field] : json();
      key = v.is_string() ? v.get<std::string>() : v.is_null() ? "(none)" : v.dump();
    }
    strata[key].push_back(item);
  }
  std::mt19937_64 random(seed);
  json sample = json::array();
  json summary = json::object();
  for (auto& [name, items] : strata) {
    // Fisher-Yates with a portable bounded draw (std::uniform_int_distribution is not
    // specified bit-for-bit across standard libraries).
    for (std::size_t i = items.size(); i > 1; --i) {
      const std::size_t j = static_cast<std::size_t>(random() % i);
      std::swap(items[i - 1], items[j]);
    }
    const std::size_t take = std::min<std::size_t>(items.size(), static_cast<std::size_t>(per));
    for (std::size_t i = 0; i < take; ++i) sample.push_back(items[i]);
    summary[name] = {{"available", items.size()}, {"selected", take}};
  }
  return json{{"seed", seed}, {"stratify_by", field}, {"sample", sample}, {"strata", summary}};
}

core::Status registerBuiltinActions(ActionRegistry& registry, const BuiltinActionOptions& options) {
  std::shared_ptr<AuditFile> audit;
  if (!options.audit_file.empty()) audit = std::make_shared<AuditFile>(options.audit_file);
  SENDFLOW_RETURN_IF_ERROR(registry.add(
      "noop.record",
      [audit](const json& params, ActionContext& ctx) -> core::StatusOr<json> {
        if (audit) SENDFLOW_RETURN_IF_ERROR(audit->record(ctx.idempotency_key));
        return params;
      },
      // With an audit file it has an effect outside the store, so it runs as a job.
      audit ? ActionMode::kExternal : ActionMode::kInTransaction));
  SENDFLOW_RETURN_IF_ERROR(registry.add(
      "sample.select",
      [](const json& params, ActionContext& ctx) -> core::StatusOr<json> {
        unsigned long long seed = fnv1a(ctx.idempotency_key);
        if (params.contains("seed")) {
          if (!params["seed"].is_number_integer()) {
            return core::invalidArgument("sample.select: seed: must be a whole number");
          }
          seed = params["seed"].get<unsigned long long>();
        }
        return selectSample(params, seed);
      },
      ActionMode::kInTransaction));
  SENDFLOW_RETURN_IF_ERROR(registry.add(
      "mail.send",
      [](const json& params, ActionContext& ctx) -> core::StatusOr<json> {
        SENDFLOW_ASSIGN_OR_RETURN(auto to, recipients(params.value("to", json())));
        const json subject = params.value("subject", json());
        if (!subject.is_string() || subject.get<std::string>().empty()) {
          return core::invalidArgument("mail.send: subject: required text");
        }
        const json body = params.value("body", json(""));
        for (const std::string& r : to) {
          ctx.mails.push_back({r, subject.get<std::string>(),
                               body.is_string() ? body.get<std::string>() : body.dump()});
        }
        return json{{"queued", to.size()}, {"to", to}};
      },
      ActionMode::kInTransaction));
  SENDFLOW_RETURN_IF_ERROR(registry.add(
      "workflow.start",
      [](const json& params, ActionContext& ctx) -> core::StatusOr<json> {
        const json workflow = params.value("workflow", json());
        if (!workflow.is_string() || workflow.get<std::string>().empty()) {
          return core::invalidArgument("workflow.start: workflow: required text");
        }
        const json input = params.value("input", json::object());
        if (!input.is_object())
          return core::invalidArgument("workflow.start: input: must be an object");
        std::string key = ctx.idempotency_key;
        if (params.contains("key") && params["key"].is_string())
          key = params["key"].get<std::string>();
        ctx.starts.push_back({workflow.get<std::string>(), input, key});
        return json{{"workflow", workflow}, {"business_key", key}};
      },
      ActionMode::kInTransaction));
  return core::Status::ok();
}

}  // namespace sendflow::engine
