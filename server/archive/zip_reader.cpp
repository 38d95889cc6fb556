#include "server/archive/zip_reader.h"

#include <zip.h>

#include <algorithm>

namespace sendflow::archive {
namespace {

std::string zipErrorText(zip_error_t* error) {
  std::string text = zip_error_strerror(error);
  return text;
}

}  // namespace

bool isSafeEntryName(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find('\\') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return false;
  }
  if (name.size() >= 2 && name[1] == ':') return false;  // "C:..."
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t end = std::min(name.find('/', start), name.size());
    const std::string_view segment = name.substr(start, end - start);
    if (segment == "..") return false;
    start = end + 1;
  }
  return true;
}

ZipReader::ZipReader(ZipReader&& other) noexcept
    : label_(std::move(other.label_)),
      buffer_(std::move(other.buffer_)),
      archive_(std::exchange(other.archive_, nullptr)),
      entries_(std::move(other.entries_)),
      limits_(other.limits_) {}

ZipReader& ZipReader::operator=(ZipReader&& other) noexcept {
  if (this != &other) {
    if (archive_ != nullptr) zip_discard(archive_);
    label_ = std::move(other.label_);
    buffer_ = std::move(other.buffer_);
    archive_ = std::exchange(other.archive_, nullptr);
    entries_ = std::move(other.entries_);
    limits_ = other.limits_;
  }
  return *this;
}

ZipReader::~ZipReader() {
  if (archive_ != nullptr) zip_discard(archive_);
}

core::StatusOr<ZipReader> ZipReader::openFile(const std::string& path, const ZipLimits& limits) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_file_create(path.c_str(), 0, -1, &error);
  if (source == nullptr) {
    const std::string text = zipErrorText(&error);
    zip_error_fini(&error);
    return core::notFound(path + ": cannot open: " + text);
  }
  zip_error_fini(&error);
  return openSource(source, path, limits);
}

core::StatusOr<ZipReader> ZipReader::openBuffer(std::string bytes, std::string label,
                                                const ZipLimits& limits) {
  auto buffer = std::make_unique<std::string>(std::move(bytes));
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(buffer->data(), buffer->size(), 0, &error);
  zip_error_fini(&error);
  if (source == nullptr) return core::internalError(label + ": cannot create a zip source");
  auto reader = openSource(source, std::move(label), limits);
  if (reader.isOk()) reader->buffer_ = std::move(buffer);
  return reader;
}

core::StatusOr<ZipReader> ZipReader::openSource(void* raw_source, std::string label,
                                                const ZipLimits& limits) {
  auto* source = static_cast<zip_source_t*>(raw_source);
  zip_error_t error;
  zip_error_init(&error);
  zip_t* archive = zip_open_from_source(source, ZIP_RDONLY, &error);
  if (archive == nullptr) {
    const std::string text = zipErrorText(&error);
    zip_error_fini(&error);
    zip_source_free(source);
    return core::invalidArgument(label + ": not a valid zip package (" + text +
                                 "); is it a .docx/.odt file, and not password-protected?");
  }
  zip_error_fini(&error);

  ZipReader reader;
  reader.label_ = std::move(label);
  reader.archive_ = archive;
  reader.limits_ = limits;

  const zip_int64_t count = zip_get_num_entries(archive, 0);
  if (count < 0 || static_cast<std::uint64_t>(count) > limits.max_entries) {
    return core::resourceExhausted(reader.label_ + ": the package has " + std::to_string(count) +
                                   " entries; at most " + std::to_string(limits.max_entries) +
                                   " are accepted");
  }
  std::uint64_t total = 0;
  reader.entries_.reserve(static_cast<std::size_t>(count));
  for (zip_int64_t i = 0; i < count; ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(archive, static_cast<zip_uint64_t>(i), 0, &st) != 0) {
      return core::invalidArgument(reader.label_ + ": entry " + std::to_string(i) +
                                   " cannot be read from the zip directory");
    }
    const std::string name = st.name != nullptr ? st.name : "";
    if (!isSafeEntryName(name)) {
      return core::invalidArgument(reader.label_ + ": entry '" + name +
                                   "' points outside the package; the file was rejected");
    }
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
      return core::invalidArgument(reader.label_ + ": entry '" + name +
                                   "' is encrypted; remove the password and upload it again");
    }
    if (st.size > limits.max_entry_size) {
      return core::resourceExhausted(reader.label_ + ": entry '" + name + "' unpacks to " +
                                     std::to_string(st.size) + " bytes; the limit is " +
                                     std::to_string(limits.max_entry_size));
    }
    if (st.size > limits.ratio_applies_above &&
        st.size / std::max<std::uint64_t>(st.comp_size, 1) > limits.max_ratio) {
      return core::resourceExhausted(reader.label_ + ": entry '" + name +
                                     "' is compressed more than " +
                                     std::to_string(limits.max_ratio) +
                                     " to 1, which signals a zip bomb; the file was rejected");
    }
    total += st.size;
    if (total > limits.max_total_size) {
      return core::resourceExhausted(reader.label_ + ": the package unpacks to more than " +
                                     std::to_string(limits.max_total_size) + " bytes");
    }
    reader.entries_.push_back(
        ZipEntry{name, static_cast<std::uint64_t>(i), st.size, st.comp_size, st.comp_method});
  }
  return reader;
}

const ZipEntry* ZipReader::find(std::string_view name) const {
  for (const auto& entry : entries_) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

core::StatusOr<std::string> ZipReader::read(std::string_view name) const {
  const ZipEntry* entry = find(name);
  if (entry == nullptr) {
    return core::notFound(label_ + ": has no part '" + std::string(name) + "'");
  }
  zip_file_t* file = zip_fopen_index(archive_, entry->index, 0);
  if (file == nullptr) {
    return core::invalidArgument(label_ + ": part '" + entry->name +
                                 "' cannot be opened: " + zip_strerror(archive_));
  }
  std::string out;
  out.resize(static_cast<std::size_t>(entry->size));
  std::size_t filled = 0;
  while (true) {
    if (filled == out.size()) {
      // Read one more byte to catch an entry longer than its header says.
      char extra;
      const zip_int64_t n = zip_fread(file, &extra, 1);
      zip_fclose(file);
      if (n != 0) {
        return core::invalidArgument(label_ + ": part '" + entry->name +
                                     "' is longer than its declared size; the file is corrupt");
      }
      return out;
    }
    const zip_int64_t n = zip_fread(file, out.data() + filled, out.size() - filled);
    if (n < 0) {
      const std::string text = zip_file_strerror(file);
      zip_fclose(file);
      return core::invalidArgument(label_ + ": part '" + entry->name + "' is corrupt: " + text);
    }
    if (n == 0) {
      zip_fclose(file);
      return core::invalidArgument(label_ + ": part '" + entry->name +
                                   "' is shorter than its declared size; the file is corrupt");
    }
    filled += static_cast<std::size_t>(n);
  }
}

}  // namespace sendflow::archive
