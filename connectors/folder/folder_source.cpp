#include "connectors/folder/folder_source.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "connectors/connector/change_cursor.h"
#include "server/core/json_text.h"

namespace sendflow::connectors {
namespace fs = std::filesystem;
namespace {

constexpr const char* kSidecarSuffix = ".meta.json";
constexpr const char* kTempMarker = ".sendflow-tmp-";

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Latest of mtime and ctime in ns; -1 when the file does not exist.
long long changeTick(const std::string& path, std::int64_t* size = nullptr,
                     long long* mtime_ns = nullptr) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  const long long m = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
  const long long c = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
  if (size != nullptr) *size = st.st_size;
  if (mtime_ns != nullptr) *mtime_ns = m;
  return std::max(m, c);
}

bool isSkipped(const std::string& name) {
  return name.empty() || name[0] == '.' || endsWith(name, kSidecarSuffix) ||
         name.find(kTempMarker) != std::string::npos;
}

std::string uniqueSuffix() {
  static std::atomic<unsigned> counter{0};
  return std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// Writes `content` to a temporary file beside `path` and renames it into place.
core::Status writeAtomically(const std::string& path, std::istream& content, std::int64_t max_bytes,
                             const std::string& what) {
  const fs::path target(path);
  const std::string temp =
      (target.parent_path() / ("." + target.filename().string() + kTempMarker + uniqueSuffix()))
          .string();
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) return core::internalError(what + ": cannot create " + temp);
    char buffer[64 * 1024];
    std::int64_t total = 0;
    while (content) {
      content.read(buffer, sizeof buffer);
      const std::streamsize n = content.gcount();
      if (n <= 0) break;
      total += n;
      if (max_bytes >= 0 && total > max_bytes) {
        out.close();
        std::remove(temp.c_str());
        return core::resourceExhausted(what + ": more than the limit of " +
                                       std::to_string(max_bytes) + " bytes");
      }
      out.write(buffer, n);
    }
    out.flush();
    if (!out) {
      out.close();
      std::remove(temp.c_str());
      return core::internalError(what + ": cannot write " + temp);
    }
  }
  std::error_code ec;
  fs::rename(temp, target, ec);
  if (ec) {
    std::remove(temp.c_str());
    return core::internalError(what + ": cannot rename into place: " + ec.message());
  }
  return core::Status::ok();
}

}  // namespace

std::string sidecarPath(const std::string& document_path) { return document_path + kSidecarSuffix; }

FolderSource::FolderSource(FolderOptions options)
    : options_(std::move(options)),
      library_path_((fs::path(options_.root) / options_.library).lexically_normal().string()) {
  if (options_.page_size < 1) options_.page_size = 1;
}

core::StatusOr<std::string> FolderSource::resolve(const std::string& id) const {
  const fs::path relative = fs::path(id).lexically_normal();
  if (id.empty() || relative.is_absolute() || relative.empty() ||
      *relative.begin() == fs::path("..")) {
    return core::invalidArgument("folder connector: '" + id + "' is not a path inside the library");
  }
  return (fs::path(library_path_) / relative).string();
}

core::StatusOr<Item> FolderSource::readItem(const std::string& id, long long tick) const {
  SENDFLOW_ASSIGN_OR_RETURN(const std::string path, resolve(id));
  Item item;
  item.id = id;
  item.path = id;
  item.name = fs::path(id).filename().string();
  long long mtime_ns = 0;
  if (changeTick(path, &item.size, &mtime_ns) < 0) {
    return core::notFound("folder connector: " + id + ": no such document in " + library_path_);
  }
  item.modified = core::TimePoint(std::chrono::milliseconds(mtime_ns / 1000000));
  item.etag = std::to_string(tick) + "-" + std::to_string(item.size);
  item.content_type = contentTypeForName(item.name);
  const std::string sidecar = sidecarPath(path);
  std::ifstream in(sidecar, std::ios::binary);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = core::parseJsonText(text.str());
    if (!parsed.isOk()) return parsed.status().withContext(id + kSidecarSuffix);
    const nlohmann::json columns = std::move(parsed).value();
    if (!columns.is_object()) {
      return core::invalidArgument(id + kSidecarSuffix + ": not a JSON object of columns");
    }
    auto metadata = options_.fields.read(columns);
    if (!metadata.isOk()) return metadata.status().withContext(id + kSidecarSuffix);
    item.metadata = std::move(metadata).value();
    item.columns = columnsAsText(columns);
  }
  return item;
}

core::StatusOr<std::vector<FolderSource::Candidate>> FolderSource::scan(
    const HighWaterMark& mark) const {
  std::error_code ec;
  if (!fs::is_directory(library_path_, ec)) {
    return core::notFound("folder connector: library folder " + library_path_ +
                          " does not exist (connector.folder.root, connector.library)");
  }
  std::vector<Candidate> candidates;
  fs::recursive_directory_iterator it(library_path_, fs::directory_options::skip_permission_denied,
                                      ec);
  if (ec)
    return core::unavailable("folder connector: cannot read " + library_path_ + ": " +
                             ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec)
      return core::unavailable("folder connector: cannot read " + library_path_ + ": " +
                               ec.message());
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    // Symbolic links are not followed: one could point outside the library.
    if (it->is_symlink(ec) || !it->is_regular_file(ec) || isSkipped(name)) continue;
    const std::string path = it->path().string();
    const long long tick = std::max(changeTick(path), changeTick(sidecarPath(path)));
    if (tick < 0) continue;  // removed while listing
    std::string id = it->path().lexically_relative(library_path_).generic_string();
    if (mark.isNew(tick, id)) candidates.push_back({tick, std::move(id)});
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.tick != b.tick ? a.tick < b.tick : a.id < b.id;
  });
  return candidates;
}

core::StatusOr<Page> FolderSource::listPage(const std::string& cursor) {
  SENDFLOW_ASSIGN_OR_RETURN(const nlohmann::json state, parseCursor(cursor, kind()));
  SENDFLOW_ASSIGN_OR_RETURN(
      HighWaterMark mark,
      HighWaterMark::fromJson(state.value("hwm", nlohmann::json::object()), "folder connector"));
  std::vector<Candidate> candidates;
  const bool continuing = !cursor.empty() && cursor == pass_cursor_;
  if (continuing) {
    candidates = std::move(pass_rest_);
  } else {
    SENDFLOW_ASSIGN_OR_RETURN(candidates, scan(mark));
  }
  pass_cursor_.clear();
  pass_rest_.clear();
  Page page;
  const std::size_t count = std::min<std::size_t>(candidates.size(), options_.page_size);
  for (std::size_t i = 0; i < count; ++i) {
    const Candidate& c = candidates[i];
    mark.advance(c.tick, c.id);
    auto item = readItem(c.id, c.tick);
    if (!item.isOk() && item.status().code() == core::StatusCode::kNotFound) continue;  // removed
    if (!item.isOk()) {
      page.problems.push_back({c.id, item.status()});
      continue;
    }
    if (core::Status limit = options_.limits.check(*item); !limit.isOk()) {
      page.problems.push_back({c.id, limit});
      continue;
    }
    page.items.push_back(std::move(item).value());
  }
  page.more = candidates.size() > count;
  page.next_cursor = nlohmann::json{{"hwm", mark.toJson()}}.dump();
  if (page.more) {
    pass_cursor_ = page.next_cursor;
    pass_rest_.assign(
        std::make_move_iterator(candidates.begin() + static_cast<std::ptrdiff_t>(count)),
        std::make_move_iterator(candidates.end()));
  }
  return page;
}

core::Status FolderSource::download(const Item& item, const std::string& destination) {
  SENDFLOW_ASSIGN_OR_RETURN(const std::string path, resolve(item.id));
  std::error_code ec;
  if (fs::is_symlink(path, ec)) {
    return core::invalidArgument("folder connector: " + item.id +
                                 ": symbolic links are not followed");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return core::notFound("folder connector: " + item.id + ": no such document in " +
                          library_path_);
  return writeAtomically(destination, in, options_.limits.max_bytes,
                         "folder connector: " + item.id);
}

core::StatusOr<Item> FolderSource::publish(const PublishRequest& request) {
  const std::string what = "folder connector: publish " + request.name;
  if (request.content == nullptr) return core::invalidArgument(what + ": no content");
  if (isSkipped(fs::path(request.name).filename().string())) {
    return core::invalidArgument(what + ": the name is hidden, a sidecar or a temporary name");
  }
  SENDFLOW_ASSIGN_OR_RETURN(const std::string path, resolve(request.name));
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec)
    return core::internalError(what + ": cannot create " + fs::path(path).parent_path().string());
  std::istringstream sidecar(options_.fields.write(request.metadata).dump(2) + "\n");
  SENDFLOW_RETURN_IF_ERROR(writeAtomically(sidecarPath(path), sidecar, -1, what));
  SENDFLOW_RETURN_IF_ERROR(
      writeAtomically(path, *request.content, options_.limits.max_bytes, what));
  const std::string id = fs::path(request.name).lexically_normal().generic_string();
  return readItem(id, std::max(changeTick(path), changeTick(sidecarPath(path))));
}

}  // namespace sendflow::connectors
