#include "server/sampledata/word_document.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "server/archive/zip_reader.h"
#include "server/prescreen/document_stream.h"

namespace sendflow::sampledata {
namespace {

namespace fs = std::filesystem;

struct Collected : prescreen::BlockSink {
  struct Item {
    std::string text;
    bool heading;
    bool bold;
    int table, row, cell;
  };
  std::vector<Item> items;
  void onBlock(const prescreen::TextBlock& b) override {
    items.push_back({std::string(b.text), b.heading, b.bold, b.table, b.row, b.cell});
  }
};

WordDocument sample() {
  WordDocument d;
  d.title = "Plan & <review>";
  d.heading("Section F: Special educational provision", 1, HeadingLook::kStyle);
  d.heading("Section G \xE2\x80\x93 Health provision", 1, HeadingLook::kBold);
  d.heading("K - Advice and information", 1, HeadingLook::kTableCell);
  d.paragraph("Speech & language \"therapy\" <30 minutes> weekly");
  d.table({{"Provision", "Hours"}, {"ELSA", "1"}});
  return d;
}

class WordDocumentTest : public ::testing::TestWithParam<bool> {};

TEST_P(WordDocumentTest, ReadsBackHeadingsTextAndTables) {
  const bool odt = GetParam();
  const fs::path path =
      fs::temp_directory_path() / (odt ? "sendflow-wd-test.odt" : "sendflow-wd-test.docx");
  ASSERT_TRUE(
      (odt ? writeOdt(sample(), path.string()) : writeDocx(sample(), path.string())).isOk());
  auto zip = archive::ZipReader::openFile(path.string());
  ASSERT_TRUE(zip.isOk()) << zip.status().toString();
  if (odt) {
    // ODF wants "mimetype" first and stored, so tools can sniff the type.
    ASSERT_FALSE(zip->entries().empty());
    EXPECT_EQ(zip->entries()[0].name, "mimetype");
    EXPECT_EQ(zip->entries()[0].compression_method, 0);
    EXPECT_EQ(*zip->read("mimetype"), "application/vnd.oasis.opendocument.text");
  } else {
    EXPECT_TRUE(zip->contains("[Content_Types].xml"));
    EXPECT_TRUE(zip->contains("word/styles.xml"));
  }
  auto format = prescreen::detectFormat(*zip);
  ASSERT_TRUE(format.isOk());
  Collected c;
  ASSERT_TRUE(prescreen::streamDocument(*zip, *format, c).isOk());
  ASSERT_EQ(c.items.size(), 8u);
  EXPECT_EQ(c.items[0].text, "Section F: Special educational provision");
  EXPECT_TRUE(c.items[0].heading);
  EXPECT_FALSE(c.items[1].heading);
  EXPECT_TRUE(c.items[1].bold);
  EXPECT_EQ(c.items[2].table, 1);
  EXPECT_EQ(c.items[2].cell, 1);
  EXPECT_EQ(c.items[3].text, "Speech & language \"therapy\" <30 minutes> weekly");
  EXPECT_EQ(c.items[3].table, 0);
  EXPECT_EQ(c.items[7].text, "1");
  EXPECT_EQ(c.items[7].table, 2);
  EXPECT_EQ(c.items[7].row, 2);
  EXPECT_EQ(c.items[7].cell, 2);
  fs::remove(path);
}

INSTANTIATE_TEST_SUITE_P(DocxAndOdt, WordDocumentTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Odt" : "Docx"; });

TEST(WordDocumentWriteTest, AnUnwritablePathIsUnavailableAndNamed) {
  const auto status = writeDocx(sample(), "/nonexistent-folder/plan.docx");
  EXPECT_EQ(status.code(), core::StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("/nonexistent-folder/plan.docx"), std::string::npos);
}

}  // namespace
}  // namespace sendflow::sampledata
