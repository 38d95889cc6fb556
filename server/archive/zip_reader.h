#pragma once
// Reads a zip package (DOCX, ODT, ...) that came from a user, defensively.
//
// open() checks the whole central directory before anything is read: entry count, names that
// escape the package ("../", absolute paths, backslashes, NUL), encrypted entries, the declared
// uncompressed total and the compression ratio of every entry (zip bombs). read() enforces the
// declared size while inflating, so a lying header cannot inflate past the limits either.
//
// A ZipReader owns its libzip handle and the bytes it was opened from. It is movable, not
// copyable, and not thread-safe: use one per thread.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/core/status.h"

struct zip;

namespace sendflow::archive {

struct ZipLimits {
  std::size_t max_entries = 10'000;
  std::uint64_t max_entry_size = 256ull << 20;     // one entry, uncompressed
  std::uint64_t max_total_size = 1ull << 30;       // all entries, uncompressed
  std::uint64_t max_ratio = 200;                   // uncompressed / compressed, per entry
  std::uint64_t ratio_applies_above = 1ull << 20;  // small entries may compress very well
};

struct ZipEntry {
  std::string name;
  std::uint64_t index = 0;
  std::uint64_t size = 0;  // uncompressed
  std::uint64_t compressed_size = 0;
  std::uint16_t compression_method = 0;  // 0 stored, 8 deflate
};

class ZipReader {
 public:
  // `label` names the package in every error message (usually the file name).
  static core::StatusOr<ZipReader> openFile(const std::string& path, const ZipLimits& limits = {});
  static core::StatusOr<ZipReader> openBuffer(std::string bytes, std::string label,
                                              const ZipLimits& limits = {});

  ZipReader(ZipReader&&) noexcept;
  ZipReader& operator=(ZipReader&&) noexcept;
  ~ZipReader();

  const std::string& label() const { return label_; }
  const std::vector<ZipEntry>& entries() const { return entries_; }
  // nullptr when there is no entry of that name.
  const ZipEntry* find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }

  // The uncompressed bytes of `name`. kNotFound when absent; kInvalidArgument when corrupt.
  core::StatusOr<std::string> read(std::string_view name) const;

  // The underlying libzip archive, for writers that copy entries raw. Owned by this reader.
  zip* handle() const { return archive_; }

 private:
  ZipReader() = default;
  static core::StatusOr<ZipReader> openSource(void* source, std::string label,
                                              const ZipLimits& limits);

  std::string label_;
  std::unique_ptr<std::string> buffer_;  // keeps openBuffer()'s bytes alive for libzip
  zip* archive_ = nullptr;
  std::vector<ZipEntry> entries_;
  ZipLimits limits_;
};

// True when `name` stays inside the package: relative, no "..", no backslash, no NUL.
bool isSafeEntryName(std::string_view name);

}  // namespace sendflow::archive
