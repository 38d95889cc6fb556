#include "server/core/private_files.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace sendflow::core {
namespace {

constexpr mode_t kOwnerOnlyFile = 0600;
constexpr mode_t kOwnerOnlyFolder = 0700;
constexpr mode_t kGroupAndOther = 077;
constexpr std::size_t kProbeBytes = 4096;

Status systemError(const std::string& what, const std::string& path, int error) {
  return unavailable(what + " " + path + ": " + std::strerror(error));
}

// Writes all of `bytes` to `fd`, through short writes and interrupted calls. 0 or an errno.
int writeAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

// A new file of mode 0600 named after `pattern` (ending in XXXXXX), opened for writing.
int createUniqueFile(std::string& pattern) {
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd >= 0) pattern.assign(name.data());
  return fd;
}

}  // namespace

Status createPrivateFolders(const std::string& folder) {
  if (folder.empty()) return Status::ok();
  std::filesystem::path prefix;
  for (const auto& part : std::filesystem::path(folder)) {
    prefix /= part;
    if (part.empty() || part == "/" || part == "." || part == "..") continue;
    if (::mkdir(prefix.c_str(), kOwnerOnlyFolder) == 0) continue;
    const int error = errno;
    struct stat st {};
    if (error == EEXIST && ::stat(prefix.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
    return systemError("cannot create the folder", prefix.string(),
                       error == EEXIST ? ENOTDIR : error);
  }
  return Status::ok();
}

Status writePrivateFile(const std::string& path, std::string_view bytes) {
  const std::filesystem::path target(path);
  std::string temp =
      (target.parent_path() / ("." + target.filename().string() + ".XXXXXX")).string();
  const int fd = createUniqueFile(temp);
  if (fd < 0) return systemError("cannot create a file beside", path, errno);
  int error = writeAll(fd, bytes);
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error == 0 && ::rename(temp.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    ::unlink(temp.c_str());
    return systemError("cannot write", path, error);
  }
  return Status::ok();
}

Status ensurePrivateFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, kOwnerOnlyFile);
  if (fd < 0) return systemError("cannot create", path, errno);
  struct stat st {};
  int error = ::fstat(fd, &st) == 0 ? 0 : errno;
  if (error == 0 && (st.st_mode & kGroupAndOther) != 0 && ::fchmod(fd, st.st_mode & 07700) != 0) {
    error = errno;
  }
  ::close(fd);
  if (error != 0) return systemError("cannot make private", path, error);
  return Status::ok();
}

Status restrictToOwner(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? Status::ok() : systemError("cannot read the mode of", path, errno);
  }
  if ((st.st_mode & kGroupAndOther) != 0 && ::chmod(path.c_str(), st.st_mode & 07700) != 0) {
    return systemError("cannot make private", path, errno);
  }
  return Status::ok();
}

Status checkFolderWritable(const std::string& folder) {
  std::string probe = (std::filesystem::path(folder) / ".sendflow-write-probe.XXXXXX").string();
  const int fd = createUniqueFile(probe);
  if (fd < 0) return systemError("cannot write in", folder, errno);
  int error = writeAll(fd, std::string(kProbeBytes, '\0'));
  if (::close(fd) != 0 && error == 0) error = errno;
  ::unlink(probe.c_str());
  if (error != 0) return systemError("cannot write in", folder, error);
  return Status::ok();
}

}  // namespace sendflow::core
