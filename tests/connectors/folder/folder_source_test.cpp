#include "connectors/folder/folder_source.h"

#include <gtest/gtest.h>

#include <Poco/TemporaryFile.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace sendflow::connectors {
namespace {

namespace fs = std::filesystem;

class FolderSourceTest : public ::testing::Test {
 protected:
  FolderSourceTest() : root_(Poco::TemporaryFile::tempName()) {
    fs::create_directories(root_ + "/SEND Library/EHC Plans");
  }
  ~FolderSourceTest() override { fs::remove_all(root_); }
  void write(const std::string& relative, const std::string& text) {
    std::ofstream(root_ + "/SEND Library/" + relative, std::ios::binary) << text;
  }
  FolderSource source(int page_size = 10) {
    FolderOptions options;
    options.root = root_;
    options.library = "SEND Library";
    options.page_size = page_size;
    return FolderSource(options);
  }
  std::string root_;
};

TEST_F(FolderSourceTest, SkipsSidecarsHiddenAndUnfinishedFiles) {
  write("EHC Plans/SF-1.docx", "plan");
  write("EHC Plans/SF-1.docx.meta.json", R"({"Locality": "North"})");
  write("EHC Plans/.SF-2.docx.sendflow-tmp-1-0", "half");
  write(".DS_Store", "x");
  auto page = source().listPage("");
  ASSERT_TRUE(page.isOk()) << page.status().toString();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "EHC Plans/SF-1.docx");
  EXPECT_EQ(page->items[0].metadata.locality, "North");
  EXPECT_EQ(page->items[0].columns.at("Locality"), "North");
}

TEST_F(FolderSourceTest, ABrokenSidecarIsAProblemNamingTheFileAndTheRestIsListed) {
  write("EHC Plans/SF-1.docx", "plan");
  write("EHC Plans/SF-1.docx.meta.json", R"({"Locality": )");
  write("EHC Plans/SF-2.docx", "plan");
  auto page = source().listPage("");
  ASSERT_TRUE(page.isOk());
  ASSERT_EQ(page->items.size(), 1u);
  ASSERT_EQ(page->problems.size(), 1u);
  EXPECT_EQ(page->problems[0].item, "EHC Plans/SF-1.docx");
  EXPECT_NE(page->problems[0].status.message().find("SF-1.docx.meta.json"), std::string::npos)
      << page->problems[0].status.toString();
}

TEST_F(FolderSourceTest, DocumentsOutsideTheLimitsAreProblems) {
  write("EHC Plans/notes.xlsx", "x");
  FolderOptions options;
  options.root = root_;
  options.library = "SEND Library";
  options.limits.max_bytes = 3;
  write("EHC Plans/big.docx", "four");
  auto page = FolderSource(options).listPage("");
  ASSERT_TRUE(page.isOk());
  EXPECT_TRUE(page->items.empty());
  ASSERT_EQ(page->problems.size(), 2u);
  for (const auto& p : page->problems) {
    if (p.item == "EHC Plans/big.docx")
      EXPECT_EQ(p.status.code(), core::StatusCode::kResourceExhausted);
    if (p.item == "EHC Plans/notes.xlsx")
      EXPECT_NE(p.status.message().find("content type"), std::string::npos);
  }
}

TEST_F(FolderSourceTest, ACopiedInFileWithAnOldModificationTimeIsStillSeen) {
  write("EHC Plans/SF-1.docx", "plan");
  auto folder = source();
  auto first = folder.listPage("");
  ASSERT_TRUE(first.isOk());
  write("EHC Plans/SF-old.docx", "restored from backup");
  fs::last_write_time(root_ + "/SEND Library/EHC Plans/SF-old.docx",
                      fs::file_time_type::clock::now() - std::chrono::hours(24 * 365));
  auto next = folder.listPage(first->next_cursor);
  ASSERT_TRUE(next.isOk());
  ASSERT_EQ(next->items.size(), 1u) << "the inode change time moved even though mtime went back";
  EXPECT_EQ(next->items[0].name, "SF-old.docx");
}

TEST_F(FolderSourceTest, SymbolicLinksAreNeitherListedNorDownloaded) {
  std::ofstream(root_ + "/outside.docx") << "not in the library";
  fs::create_symlink(root_ + "/outside.docx", root_ + "/SEND Library/EHC Plans/link.docx");
  auto page = source().listPage("");
  ASSERT_TRUE(page.isOk());
  EXPECT_TRUE(page->items.empty());
  Item item;
  item.id = "EHC Plans/link.docx";
  EXPECT_EQ(source().download(item, root_ + "/copy").code(), core::StatusCode::kInvalidArgument);
}

TEST_F(FolderSourceTest, ChangesDuringAPassAreNeitherLostNorFatal) {
  for (int n = 1; n <= 5; ++n) write("EHC Plans/SF-" + std::to_string(n) + ".docx", "plan");
  auto folder = source(/*page_size=*/2);
  auto first = folder.listPage("");
  ASSERT_TRUE(first.isOk());
  ASSERT_TRUE(first->more);
  std::set<std::string> seen;
  for (const auto& item : first->items) seen.insert(item.name);
  // Mid-pass: one document not yet delivered is removed, a new one arrives.
  for (int n = 1; n <= 5; ++n) {
    const std::string name = "SF-" + std::to_string(n) + ".docx";
    if (!seen.count(name)) {
      fs::remove(root_ + "/SEND Library/EHC Plans/" + name);
      break;
    }
  }
  write("EHC Plans/SF-new.docx", "plan");
  std::string cursor = first->next_cursor;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = folder.listPage(cursor);
    ASSERT_TRUE(page.isOk()) << page.status().toString();
    EXPECT_TRUE(page->problems.empty());
    for (const auto& item : page->items) EXPECT_TRUE(seen.insert(item.name).second) << item.name;
    cursor = page->next_cursor;
    if (!page->more) break;
  }
  auto next_pass = folder.listPage(cursor);
  ASSERT_TRUE(next_pass.isOk());
  for (const auto& item : next_pass->items) EXPECT_TRUE(seen.insert(item.name).second) << item.name;
  EXPECT_EQ(seen.size(), 5u);  // four of the five, and the new one
  EXPECT_TRUE(seen.count("SF-new.docx"));
}

TEST_F(FolderSourceTest, PathsOutsideTheLibraryAreRefused) {
  Item item;
  item.id = "../../etc/passwd";
  const core::Status status = source().download(item, root_ + "/out");
  EXPECT_EQ(status.code(), core::StatusCode::kInvalidArgument);
  std::istringstream content("x");
  auto published = source().publish({"../escape.docx", &content, "", {}});
  EXPECT_FALSE(published.isOk());
  EXPECT_FALSE(fs::exists(root_ + "/escape.docx"));
}

TEST_F(FolderSourceTest, PublishWritesTheDocumentAndItsSidecarWholeOrNotAtAll) {
  DocumentMetadata metadata;
  metadata.locality = "East";
  metadata.contributors = {"ep-003"};
  std::istringstream content("report body");
  auto item = source().publish({"Reports/audit.docx", &content, "", metadata});
  ASSERT_TRUE(item.isOk()) << item.status().toString();
  EXPECT_EQ(item->metadata, metadata);
  std::ifstream sidecar(root_ + "/SEND Library/Reports/audit.docx.meta.json");
  std::stringstream text;
  text << sidecar.rdbuf();
  EXPECT_EQ(nlohmann::json::parse(text.str())["Locality"], "East");
  for (const auto& entry : fs::directory_iterator(root_ + "/SEND Library/Reports")) {
    EXPECT_EQ(entry.path().filename().string().find("sendflow-tmp"), std::string::npos);
  }

  FolderOptions options;
  options.root = root_;
  options.library = "SEND Library";
  options.limits.max_bytes = 4;
  std::istringstream too_big("more than four bytes");
  auto refused = FolderSource(options).publish({"Reports/big.docx", &too_big, "", {}});
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), core::StatusCode::kResourceExhausted);
  EXPECT_FALSE(fs::exists(root_ + "/SEND Library/Reports/big.docx"));
}

TEST_F(FolderSourceTest, AMissingLibraryNamesTheFolderAndTheKeys) {
  FolderOptions options;
  options.root = root_;
  options.library = "No Such Library";
  auto page = FolderSource(options).listPage("");
  ASSERT_FALSE(page.isOk());
  EXPECT_EQ(page.status().code(), core::StatusCode::kNotFound);
  EXPECT_NE(page.status().message().find("No Such Library"), std::string::npos);
  EXPECT_NE(page.status().message().find("connector.folder.root"), std::string::npos);
}

}  // namespace
}  // namespace sendflow::connectors
