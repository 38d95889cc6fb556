// Files and folders only the service's user may open (issue 16): created 0600 / 0700 whatever
// the umask, replaced atomically, loosened ones tightened, and the write probe of /readyz.
#include "server/core/private_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

namespace sendflow::core {
namespace {

namespace fs = std::filesystem;

unsigned modeOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class PrivateFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sendflow-private-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // The loosest umask: whatever is private here is so because it was created so.
    old_umask_ = ::umask(0);
  }
  void TearDown() override {
    ::umask(old_umask_);
    fs::remove_all(dir_);
  }
  std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  fs::path dir_;
  mode_t old_umask_ = 0;
};

TEST_F(PrivateFilesTest, FoldersAreMade0700AndExistingOnesKeepTheirMode) {
  fs::create_directories(dir_ / "var");
  fs::permissions(dir_ / "var", fs::perms(0750));
  ASSERT_TRUE(createPrivateFolders((dir_ / "var" / "outbox" / "2026").string()).isOk());
  EXPECT_EQ(modeOf(dir_ / "var"), 0750u);
  EXPECT_EQ(modeOf(dir_ / "var" / "outbox"), 0700u);
  EXPECT_EQ(modeOf(dir_ / "var" / "outbox" / "2026"), 0700u);
  EXPECT_TRUE(createPrivateFolders((dir_ / "var" / "outbox").string()).isOk());
  EXPECT_TRUE(createPrivateFolders("").isOk());
}

TEST_F(PrivateFilesTest, AFileInThePathOfAFolderIsNamed) {
  std::ofstream(dir_ / "file") << "x";
  const Status st = createPrivateFolders((dir_ / "file" / "outbox").string());
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find((dir_ / "file").string()), std::string::npos) << st.toString();
}

TEST_F(PrivateFilesTest, FilesAreWritten0600AndReplacedWholeWithNothingLeftBeside) {
  const fs::path mail = dir_ / "17.eml";
  ASSERT_TRUE(writePrivateFile(mail.string(), "first\r\n").isOk());
  EXPECT_EQ(modeOf(mail), 0600u);
  ASSERT_TRUE(writePrivateFile(mail.string(), std::string("sec\0ond", 7)).isOk());
  EXPECT_EQ(read(mail), std::string("sec\0ond", 7));
  EXPECT_EQ(modeOf(mail), 0600u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
  EXPECT_EQ(writePrivateFile((dir_ / "missing" / "1.eml").string(), "x").code(),
            StatusCode::kUnavailable);
}

TEST_F(PrivateFilesTest, ALibrarysFileIsCreatedPrivateOrMadePrivate) {
  const fs::path db = dir_ / "sendflow.db";
  ASSERT_TRUE(ensurePrivateFile(db.string()).isOk());
  EXPECT_EQ(modeOf(db), 0600u);
  EXPECT_EQ(fs::file_size(db), 0u);
  fs::permissions(db, fs::perms(0644));
  std::ofstream(db, std::ios::app) << "kept";
  ASSERT_TRUE(ensurePrivateFile(db.string()).isOk());
  EXPECT_EQ(modeOf(db), 0600u);
  EXPECT_EQ(read(db), "kept");

  const fs::path wal = dir_ / "sendflow.db-wal";
  EXPECT_TRUE(restrictToOwner(wal.string()).isOk()) << "a missing file is fine";
  EXPECT_FALSE(fs::exists(wal));
  std::ofstream(wal) << "w";
  fs::permissions(wal, fs::perms(0664));
  ASSERT_TRUE(restrictToOwner(wal.string()).isOk());
  EXPECT_EQ(modeOf(wal), 0600u);
}

TEST_F(PrivateFilesTest, TheWriteProbeLeavesNothingAndNamesAFolderItCannotWriteIn) {
  EXPECT_TRUE(checkFolderWritable(dir_.string()).isOk());
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 0);
  const Status missing = checkFolderWritable((dir_ / "gone").string());
  EXPECT_EQ(missing.code(), StatusCode::kUnavailable);
  EXPECT_NE(missing.message().find((dir_ / "gone").string()), std::string::npos);
}

}  // namespace
}  // namespace sendflow::core
