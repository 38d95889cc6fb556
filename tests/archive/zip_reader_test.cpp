#include "server/archive/zip_reader.h"

#include <gtest/gtest.h>
#include <zip.h>

#include <string>
#include <utility>
#include <vector>

namespace sendflow::archive {
namespace {

// Builds a zip in memory from (name, content) pairs, bypassing the reader's own checks.
std::string makeZip(const std::vector<std::pair<std::string, std::string>>& entries) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  zip_source_keep(buffer);
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  // libzip reads the contents at zip_close(), so they live until then.
  for (const auto& [name, content] : entries) {
    zip_source_t* src = zip_source_buffer(archive, content.data(), content.size(), 0);
    zip_file_add(archive, name.c_str(), src, ZIP_FL_ENC_UTF_8);
    zip_set_file_compression(archive, zip_name_locate(archive, name.c_str(), 0), ZIP_CM_DEFLATE, 9);
  }
  zip_close(archive);
  zip_source_open(buffer);
  zip_source_seek(buffer, 0, SEEK_END);
  const auto size = zip_source_tell(buffer);
  zip_source_seek(buffer, 0, SEEK_SET);
  std::string out(static_cast<std::size_t>(size), '\0');
  zip_source_read(buffer, out.data(), static_cast<zip_uint64_t>(size));
  zip_source_close(buffer);
  zip_source_free(buffer);
  zip_error_fini(&error);
  return out;
}

TEST(ZipReaderTest, ReadsEntriesByName) {
  auto reader =
      ZipReader::openBuffer(makeZip({{"word/document.xml", "<w:document/>"}}), "plan.docx");
  ASSERT_TRUE(reader.isOk()) << reader.status().toString();
  EXPECT_TRUE(reader->contains("word/document.xml"));
  auto body = reader->read("word/document.xml");
  ASSERT_TRUE(body.isOk());
  EXPECT_EQ(*body, "<w:document/>");
  EXPECT_EQ(reader->read("missing.xml").status().code(), core::StatusCode::kNotFound);
}

TEST(ZipReaderTest, RejectsEntriesThatEscapeThePackage) {
  auto reader = ZipReader::openBuffer(makeZip({{"../../etc/passwd", "x"}}), "evil.docx");
  ASSERT_FALSE(reader.isOk());
  EXPECT_NE(reader.status().message().find("evil.docx: entry '../../etc/passwd' points outside"),
            std::string::npos);
}

TEST(ZipReaderTest, RejectsTooManyEntries) {
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 20; ++i) many.emplace_back("part" + std::to_string(i), "x");
  ZipLimits limits;
  limits.max_entries = 10;
  auto reader = ZipReader::openBuffer(makeZip(many), "many.docx", limits);
  ASSERT_FALSE(reader.isOk());
  EXPECT_EQ(reader.status().code(), core::StatusCode::kResourceExhausted);
}

TEST(ZipReaderTest, RejectsHighlyCompressedEntriesAsZipBombs) {
  ZipLimits limits;
  limits.ratio_applies_above = 1024;
  auto reader = ZipReader::openBuffer(makeZip({{"bomb.xml", std::string(4 << 20, 'a')}}),
                                      "bomb.docx", limits);
  ASSERT_FALSE(reader.isOk());
  EXPECT_NE(reader.status().message().find("zip bomb"), std::string::npos);
}

TEST(ZipReaderTest, RejectsBytesThatAreNotAZip) {
  auto reader = ZipReader::openBuffer("this is not a zip file", "notes.docx");
  ASSERT_FALSE(reader.isOk());
  EXPECT_EQ(reader.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(reader.status().message().find("notes.docx"), std::string::npos);
}

TEST(ZipReaderTest, SafeEntryNames) {
  EXPECT_TRUE(isSafeEntryName("word/document.xml"));
  EXPECT_TRUE(isSafeEntryName("a..b/c"));
  EXPECT_FALSE(isSafeEntryName("/abs"));
  EXPECT_FALSE(isSafeEntryName("a/../../b"));
  EXPECT_FALSE(isSafeEntryName("a\\b"));
  EXPECT_FALSE(isSafeEntryName("C:/x"));
  EXPECT_FALSE(isSafeEntryName(""));
}

}  // namespace
}  // namespace sendflow::archive
