#pragma once
// Writes a zip package (DOCX, ODT, ...) into memory, entry by entry, in the order given.
//
// Two kinds of entry:
//  - copyRaw(): an entry taken from a ZipReader (or a RawZipEntry captured from one earlier) is
//    copied with its compressed bytes untouched, so unchanged parts of a template cost a memcpy;
//  - beginDeflated() / write() / finish(): a changed part is deflated as it is produced, so a
//    large rendered part never has to exist uncompressed in memory all at once.
//
// Entries are written with known sizes (the local header is patched once an entry ends), no
// data descriptors, no zip64: each entry and the whole package must stay under 4 GiB, which
// close() reports as kResourceExhausted. A ZipWriter is movable, not copyable, not thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/archive/zip_reader.h"
#include "server/core/status.h"

namespace sendflow::archive {

// One entry's compressed bytes and the directory facts needed to write it again unchanged.
struct RawZipEntry {
  std::string name;
  std::uint16_t compression_method = 0;  // 0 stored, 8 deflate
  std::uint32_t crc32 = 0;
  std::uint64_t size = 0;  // uncompressed
  std::string compressed;  // exactly as stored in the package
};

// Reads entry `name` of `reader` without inflating it. kNotFound when absent.
core::StatusOr<RawZipEntry> readRawEntry(const ZipReader& reader, std::string_view name);

class ZipWriter {
 public:
  // `level` is the zlib compression level for deflated entries (1 fastest .. 9 smallest).
  explicit ZipWriter(int level = 6);
  ZipWriter(ZipWriter&&) noexcept;
  ZipWriter& operator=(ZipWriter&&) noexcept;
  ~ZipWriter();

  // Copies a raw entry unchanged.
  core::Status copyRaw(const RawZipEntry& entry);
  // Adds `data` as one entry; `store` keeps it uncompressed (the ODF "mimetype" entry).
  core::Status add(std::string_view name, std::string_view data, bool store = false);

  // Streaming: begin an entry, write() its bytes in any number of pieces, finish() it.
  // Only one streamed entry may be open at a time.
  core::Status beginDeflated(std::string_view name);
  core::Status write(std::string_view bytes);
  core::Status finishEntry();

  // Writes the central directory and returns the package's bytes; the writer is then empty.
  core::StatusOr<std::string> close();

  // Bytes written so far (compressed entries and headers).
  std::size_t bytesWritten() const { return out_.size(); }

 private:
  struct CentralRecord {
    std::string name;
    std::uint16_t method = 0;
    std::uint32_t crc32 = 0;
    std::uint64_t compressed_size = 0;
    std::uint64_t size = 0;
    std::uint64_t local_header_offset = 0;
  };
  void writeLocalHeader(const CentralRecord& record);
  core::Status deflateChunk(std::string_view bytes, bool finish);

  int level_;
  std::string out_;
  std::vector<CentralRecord> records_;
  struct Stream;
  std::unique_ptr<Stream> stream_;  // the open streamed entry, if any
};

}  // namespace sendflow::archive
