#include "server/archive/zip_writer.h"

#include <zip.h>
#include <zlib.h>

#include <limits>

namespace sendflow::archive {
namespace {

constexpr std::uint64_t kMaxZip32 = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint16_t kUtf8NamesFlag = 0x0800;
constexpr std::uint16_t kDosDate1980 = 0x0021;  // 1 January 1980: reproducible output

void put16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}
void put32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void patch32(std::string& out, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

struct ZipWriter::Stream {
  z_stream z{};
  CentralRecord record;
  std::size_t header_offset = 0;
  std::size_t data_offset = 0;
  std::uint32_t crc = 0;
  std::uint64_t size = 0;
};

core::StatusOr<RawZipEntry> readRawEntry(const ZipReader& reader, std::string_view name) {
  const ZipEntry* entry = reader.find(name);
  if (entry == nullptr) {
    return core::notFound(reader.label() + ": has no part '" + std::string(name) + "'");
  }
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(reader.handle(), entry->index, 0, &st) != 0 || !(st.valid & ZIP_STAT_CRC)) {
    return core::invalidArgument(reader.label() + ": part '" + entry->name +
                                 "' has an unreadable directory record");
  }
  zip_file_t* file = zip_fopen_index(reader.handle(), entry->index, ZIP_FL_COMPRESSED);
  if (file == nullptr) {
    return core::invalidArgument(reader.label() + ": part '" + entry->name +
                                 "' cannot be opened: " + zip_strerror(reader.handle()));
  }
  RawZipEntry raw;
  raw.name = entry->name;
  raw.compression_method = entry->compression_method;
  raw.crc32 = st.crc;
  raw.size = entry->size;
  raw.compressed.resize(static_cast<std::size_t>(entry->compressed_size));
  std::size_t filled = 0;
  while (filled < raw.compressed.size()) {
    const zip_int64_t n =
        zip_fread(file, raw.compressed.data() + filled, raw.compressed.size() - filled);
    if (n <= 0) {
      zip_fclose(file);
      return core::invalidArgument(reader.label() + ": part '" + entry->name +
                                   "' is truncated; the file is corrupt");
    }
    filled += static_cast<std::size_t>(n);
  }
  zip_fclose(file);
  if (raw.compression_method != 0 && raw.compression_method != 8) {
    return core::invalidArgument(
        reader.label() + ": part '" + entry->name + "' uses compression method " +
        std::to_string(raw.compression_method) + "; only stored and deflated parts are supported");
  }
  return raw;
}

ZipWriter::ZipWriter(int level) : level_(level) {}
ZipWriter::ZipWriter(ZipWriter&&) noexcept = default;
ZipWriter& ZipWriter::operator=(ZipWriter&&) noexcept = default;
ZipWriter::~ZipWriter() {
  if (stream_) deflateEnd(&stream_->z);
}

void ZipWriter::writeLocalHeader(const CentralRecord& r) {
  put32(out_, 0x04034b50);
  put16(out_, 20);
  put16(out_, kUtf8NamesFlag);
  put16(out_, r.method);
  put16(out_, 0);
  put16(out_, kDosDate1980);
  put32(out_, r.crc32);
  put32(out_, static_cast<std::uint32_t>(r.compressed_size));
  put32(out_, static_cast<std::uint32_t>(r.size));
  put16(out_, static_cast<std::uint16_t>(r.name.size()));
  put16(out_, 0);
  out_ += r.name;
}

core::Status ZipWriter::copyRaw(const RawZipEntry& entry) {
  if (stream_) return core::failedPrecondition("zip: an entry is still open");
  if (entry.size > kMaxZip32 || entry.compressed.size() > kMaxZip32) {
    return core::resourceExhausted("zip: part '" + entry.name + "' is larger than 4 GiB");
  }
  CentralRecord r{entry.name,  entry.compression_method,
                  entry.crc32, entry.compressed.size(),
                  entry.size,  out_.size()};
  writeLocalHeader(r);
  out_ += entry.compressed;
  records_.push_back(std::move(r));
  return core::Status::ok();
}

core::Status ZipWriter::add(std::string_view name, std::string_view data, bool store) {
  if (store) {
    if (stream_) return core::failedPrecondition("zip: an entry is still open");
    const auto crc = static_cast<std::uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    CentralRecord r{std::string(name), 0, crc, data.size(), data.size(), out_.size()};
    writeLocalHeader(r);
    out_ += data;
    records_.push_back(std::move(r));
    return core::Status::ok();
  }
  SENDFLOW_RETURN_IF_ERROR(beginDeflated(name));
  SENDFLOW_RETURN_IF_ERROR(write(data));
  return finishEntry();
}

core::Status ZipWriter::beginDeflated(std::string_view name) {
  if (stream_) return core::failedPrecondition("zip: an entry is still open");
  auto stream = std::make_unique<Stream>();
  // Negative window bits: raw deflate, as zip stores it.
  if (deflateInit2(&stream->z, level_, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return core::internalError("zip: deflate cannot start");
  }
  stream->record.name = std::string(name);
  stream->record.method = 8;
  stream->record.local_header_offset = out_.size();
  stream->header_offset = out_.size();
  writeLocalHeader(stream->record);
  stream->data_offset = out_.size();
  stream->crc = static_cast<std::uint32_t>(crc32(0, nullptr, 0));
  stream_ = std::move(stream);
  return core::Status::ok();
}

core::Status ZipWriter::deflateChunk(std::string_view bytes, bool finish) {
  z_stream& z = stream_->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  while (true) {
    const std::size_t room = std::max<std::size_t>(bytes.size() / 2 + 64, 16 * 1024);
    const std::size_t before = out_.size();
    out_.resize(before + room);
    z.next_out = reinterpret_cast<Bytef*>(out_.data() + before);
    z.avail_out = static_cast<uInt>(room);
    const int rc = deflate(&z, finish ? Z_FINISH : Z_NO_FLUSH);
    out_.resize(before + (room - z.avail_out));
    if (rc == Z_STREAM_ERROR) return core::internalError("zip: deflate failed");
    if (finish) {
      if (rc == Z_STREAM_END) return core::Status::ok();
    } else if (z.avail_in == 0 && z.avail_out != 0) {
      return core::Status::ok();
    }
  }
}

core::Status ZipWriter::write(std::string_view bytes) {
  if (!stream_) return core::failedPrecondition("zip: no entry is open");
  if (bytes.empty()) return core::Status::ok();
  constexpr std::size_t kMaxPiece = 1u << 30;
  while (!bytes.empty()) {
    const std::string_view piece = bytes.substr(0, std::min(bytes.size(), kMaxPiece));
    stream_->crc =
        static_cast<std::uint32_t>(crc32(stream_->crc, reinterpret_cast<const Bytef*>(piece.data()),
                                         static_cast<uInt>(piece.size())));
    stream_->size += piece.size();
    SENDFLOW_RETURN_IF_ERROR(deflateChunk(piece, false));
    bytes.remove_prefix(piece.size());
  }
  return core::Status::ok();
}

core::Status ZipWriter::finishEntry() {
  if (!stream_) return core::failedPrecondition("zip: no entry is open");
  SENDFLOW_RETURN_IF_ERROR(deflateChunk({}, true));
  deflateEnd(&stream_->z);
  CentralRecord r = std::move(stream_->record);
  r.crc32 = stream_->crc;
  r.size = stream_->size;
  r.compressed_size = out_.size() - stream_->data_offset;
  const std::size_t header = stream_->header_offset;
  stream_.reset();
  if (r.size > kMaxZip32 || r.compressed_size > kMaxZip32) {
    return core::resourceExhausted("zip: part '" + r.name + "' is larger than 4 GiB");
  }
  patch32(out_, header + 14, r.crc32);
  patch32(out_, header + 18, static_cast<std::uint32_t>(r.compressed_size));
  patch32(out_, header + 22, static_cast<std::uint32_t>(r.size));
  records_.push_back(std::move(r));
  return core::Status::ok();
}

core::StatusOr<std::string> ZipWriter::close() {
  if (stream_) return core::failedPrecondition("zip: an entry is still open");
  if (records_.size() > 0xffff || out_.size() > kMaxZip32) {
    return core::resourceExhausted("zip: the package needs zip64, which is not supported");
  }
  const std::size_t directory_offset = out_.size();
  for (const CentralRecord& r : records_) {
    put32(out_, 0x02014b50);
    put16(out_, 20);
    put16(out_, 20);
    put16(out_, kUtf8NamesFlag);
    put16(out_, r.method);
    put16(out_, 0);
    put16(out_, kDosDate1980);
    put32(out_, r.crc32);
    put32(out_, static_cast<std::uint32_t>(r.compressed_size));
    put32(out_, static_cast<std::uint32_t>(r.size));
    put16(out_, static_cast<std::uint16_t>(r.name.size()));
    put16(out_, 0);
    put16(out_, 0);
    put16(out_, 0);
    put16(out_, 0);
    put32(out_, 0);
    put32(out_, static_cast<std::uint32_t>(r.local_header_offset));
    out_ += r.name;
  }
  const std::size_t directory_size = out_.size() - directory_offset;
  put32(out_, 0x06054b50);
  put16(out_, 0);
  put16(out_, 0);
  put16(out_, static_cast<std::uint16_t>(records_.size()));
  put16(out_, static_cast<std::uint16_t>(records_.size()));
  put32(out_, static_cast<std::uint32_t>(directory_size));
  put32(out_, static_cast<std::uint32_t>(directory_offset));
  put16(out_, 0);
  records_.clear();
  return std::move(out_);
}

}  // namespace sendflow::archive
