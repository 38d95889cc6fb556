// Damaged documents: the main XML part of the fixture plans is cut, corrupted and repeated in
// seeded ways and repackaged; pre-screening must always come back with a report (readable or
// not) and never crash, hang or read out of bounds (run it in the sanitizer build).
#include <zip.h>

#include <gtest/gtest.h>

#include <cstdint>

#include "server/archive/zip_reader.h"
#include "server/prescreen/plan_screener.h"

namespace sendflow::prescreen {
namespace {

std::string fixture(const std::string& name) {
  return std::string(SENDFLOW_SOURCE_DIR) + "/tests/fixtures/plans/" + name;
}

// A zip package in memory with one part, encrypted with `password` when it is not empty.
std::string package(const std::string& part_name, const std::string& content,
                    const char* password = "") {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  zip_source_keep(buffer);
  zip_source_t* part = zip_source_buffer(archive, content.data(), content.size(), 0);
  const zip_int64_t index = zip_file_add(archive, part_name.c_str(), part, ZIP_FL_ENC_UTF_8);
  if (*password != '\0') {
    zip_file_set_encryption(archive, static_cast<zip_uint64_t>(index), ZIP_EM_AES_256, password);
  }
  zip_close(archive);
  std::string bytes;
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_source_stat(buffer, &st) == 0 && zip_source_open(buffer) == 0) {
    bytes.resize(static_cast<std::size_t>(st.size));
    zip_source_read(buffer, bytes.data(), bytes.size());
    zip_source_close(buffer);
  }
  zip_source_free(buffer);
  zip_error_fini(&error);
  return bytes;
}

class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  std::string mutate(std::string xml) {
    const int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits && !xml.empty(); ++e) {
      const std::size_t at = next() % xml.size();
      switch (next() % 5) {
        case 0:
          xml.resize(at);
          break;  // cut
        case 1:
          xml[at] = static_cast<char>(next() & 0xFF);
          break;  // corrupt a byte
        case 2:
          xml.insert(at, xml.substr(at, next() % 2000));
          break;  // repeat a slice
        case 3:
          xml.erase(at, next() % 300);
          break;  // drop a slice
        default:
          xml.insert(at, "<w:p><w:r><w:t>Section F: x</w:t></w:r></w:p>");
          break;
      }
    }
    return xml;
  }

 private:
  std::uint64_t state_;
};

TEST(DamagedDocumentTest, EveryDamagedPlanGivesAReport) {
  const Prescreener prescreener{ScreeningRules{}};
  const std::vector<std::pair<std::string, std::string>> sources = {
      {"good_plan.docx", "word/document.xml"},
      {"flawed_plan.docx", "word/document.xml"},
      {"good_plan.odt", "content.xml"},
      {"flawed_plan.odt", "content.xml"}};
  int unreadable = 0, readable = 0;
  for (const auto& [name, part] : sources) {
    auto original = archive::ZipReader::openFile(fixture(name));
    ASSERT_TRUE(original.isOk());
    auto xml = original->read(part);
    ASSERT_TRUE(xml.isOk());
    Mutator mutator(0x5EED0000u + static_cast<std::uint64_t>(name.size()) * 7919u + part.size());
    for (int i = 0; i < 150; ++i) {
      const std::string label = name + "#" + std::to_string(i);
      const PlanReport report =
          prescreener.screenBytes(package(part, mutator.mutate(*xml)), label, PlanMetadata{});
      EXPECT_EQ(report.document, label);
      if (!report.readable) {
        ++unreadable;
        ASSERT_EQ(report.findings.size(), 1u);
        EXPECT_EQ(report.findings[0].kind, FindingKind::kUnreadable);
        EXPECT_NE(report.findings[0].detail.find(label), std::string::npos);
      } else {
        ++readable;
      }
    }
  }
  // Both outcomes occur, so the test exercises the reader and the error path.
  EXPECT_GT(unreadable, 50);
  EXPECT_GT(readable, 20);
}

TEST(DamagedDocumentTest, AZipWithAnEncryptedPartIsUnreadableAndSaysSo) {
  if (zip_encryption_method_supported(ZIP_EM_AES_256, 1) == 0) {
    GTEST_SKIP() << "this libzip cannot write AES-encrypted entries";
  }
  auto original = archive::ZipReader::openFile(fixture("good_plan.docx"));
  ASSERT_TRUE(original.isOk());
  auto xml = original->read("word/document.xml");
  ASSERT_TRUE(xml.isOk());
  const Prescreener prescreener{ScreeningRules{}};
  const PlanReport report = prescreener.screenBytes(package("word/document.xml", *xml, "secret"),
                                                    "locked.docx", PlanMetadata{});
  EXPECT_FALSE(report.readable);
  ASSERT_EQ(report.findings.size(), 1u);
  EXPECT_NE(report.findings[0].detail.find("locked.docx: entry 'word/document.xml' is encrypted"),
            std::string::npos)
      << report.findings[0].detail;
}

}  // namespace
}  // namespace sendflow::prescreen
