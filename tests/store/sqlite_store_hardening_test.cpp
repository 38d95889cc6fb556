// The SQLite store as operations need it: its files readable by the service's user only, a write
// probe that tells a store that cannot write (full, folder gone) from one that can, the revoked
// sessions that make sign-out stick, and page caches given back when writes stop.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "server/store/sqlite_store.h"

namespace sendflow::store {
namespace {

namespace fs = std::filesystem;

TimePoint t(long long ms) { return TimePoint(std::chrono::milliseconds(ms)); }

unsigned modeOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class SqliteStoreHardeningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sendflow-store-hardening-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "var" / "sendflow.db").string();
    // The usual umask of a shell: without explicit modes, files would be 0644 and folders 0755.
    old_umask_ = ::umask(022);
  }
  void TearDown() override {
    store_.reset();
    ::umask(old_umask_);
    fs::remove_all(dir_);
  }

  void open(const SqliteOptions& options = {}) {
    auto opened = SqliteStore::open(path_, options);
    ASSERT_TRUE(opened.isOk()) << opened.status().toString();
    store_ = std::move(*opened);
  }
  core::Status write(const std::string& key, const std::string& value) {
    return store_->transact([&](Transaction& tx) { return tx.setStateValue(key, value); });
  }

  fs::path dir_;
  std::string path_;
  mode_t old_umask_ = 0;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreHardeningTest, TheDatabaseItsWalAndShmAndItsFolderAreTheOwnersOnly) {
  open();
  ASSERT_TRUE(write("k", "v").isOk());
  ASSERT_TRUE(fs::exists(path_ + "-wal"));
  ASSERT_TRUE(fs::exists(path_ + "-shm"));
  EXPECT_EQ(modeOf(path_), 0600u);
  EXPECT_EQ(modeOf(path_ + "-wal"), 0600u);
  EXPECT_EQ(modeOf(path_ + "-shm"), 0600u);
  EXPECT_EQ(modeOf(dir_ / "var"), 0700u);
}

TEST_F(SqliteStoreHardeningTest, AWorldReadableDatabaseFromBeforeIsMadePrivateAtOpen) {
  // A database made by an earlier version (0644), still open in another process.
  fs::create_directories(dir_ / "var");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "PRAGMA journal_mode = WAL; CREATE TABLE t (x)", nullptr, nullptr, nullptr),
      SQLITE_OK);
  ASSERT_EQ(modeOf(path_), 0644u);
  ASSERT_EQ(modeOf(path_ + "-wal"), 0644u);
  ASSERT_EQ(modeOf(path_ + "-shm"), 0644u);
  open();
  EXPECT_EQ(modeOf(path_), 0600u);
  EXPECT_EQ(modeOf(path_ + "-wal"), 0600u);
  EXPECT_EQ(modeOf(path_ + "-shm"), 0600u);
  sqlite3_close(db);
}

TEST_F(SqliteStoreHardeningTest, TheWriteProbePassesAndKeepsNothing) {
  open();
  EXPECT_TRUE(store_->checkWritable().isOk()) << store_->checkWritable().toString();
  ASSERT_TRUE(store_
                  ->transact([&](Transaction& tx) -> core::Status {
                    SENDFLOW_ASSIGN_OR_RETURN(auto probe, tx.stateValue("sendflow.write_probe"));
                    EXPECT_FALSE(probe.has_value());
                    return core::Status::ok();
                  })
                  .isOk());
  for (const auto& entry : fs::directory_iterator(dir_ / "var")) {
    EXPECT_EQ(entry.path().filename().string().find("write-probe"), std::string::npos)
        << "the probe file is left: " << entry.path();
  }
}

// A full disk, simulated by the size limit (SQLite's max_page_count): every write fails, and so
// does the probe, saying why; reads still work.
TEST_F(SqliteStoreHardeningTest, TheWriteProbeFailsWhenTheDatabaseIsFull) {
  SqliteOptions options;
  options.max_bytes = 512 * 1024;
  open(options);
  ASSERT_TRUE(store_->checkWritable().isOk());
  const std::string chunk(16 * 1024, 'x');
  core::Status last;
  for (int i = 0; i < 100 && last.isOk(); ++i) last = write("fill-" + std::to_string(i), chunk);
  ASSERT_FALSE(last.isOk()) << "the limit was never reached";
  EXPECT_NE(last.message().find("full"), std::string::npos) << last.toString();

  const core::Status probe = store_->checkWritable();
  EXPECT_EQ(probe.code(), core::StatusCode::kUnavailable);
  EXPECT_NE(probe.message().find("full"), std::string::npos) << probe.toString();
  EXPECT_TRUE(store_->healthy()) << "a full store still answers reads";
}

TEST_F(SqliteStoreHardeningTest, TheWriteProbeFailsWhenItsFolderCannotBeWritten) {
  open();
  ASSERT_TRUE(store_->checkWritable().isOk());
  // The open connection still writes its files; a new file beside them cannot be made (as on
  // a full disk or a file system remounted read-only).
  fs::rename(dir_ / "var", dir_ / "moved");
  const core::Status probe = store_->checkWritable();
  EXPECT_EQ(probe.code(), core::StatusCode::kUnavailable);
  EXPECT_NE(probe.message().find((dir_ / "var").string()), std::string::npos) << probe.toString();
}

TEST_F(SqliteStoreHardeningTest, RevokedSessionsAreKeptUntilTheirExpiryThenPurged) {
  open();
  ASSERT_TRUE(store_
                  ->transact([&](Transaction& tx) -> core::Status {
                    SENDFLOW_RETURN_IF_ERROR(tx.insertRevokedSession("s-early", t(1000)));
                    SENDFLOW_RETURN_IF_ERROR(tx.insertRevokedSession("s-late", t(5000)));
                    // Signing out twice (two tabs) is fine.
                    return tx.insertRevokedSession("s-late", t(5000));
                  })
                  .isOk());
  auto revoked = [&](const std::string& id) {
    bool out = false;
    EXPECT_TRUE(store_
                    ->read([&](Transaction& tx) -> core::Status {
                      SENDFLOW_ASSIGN_OR_RETURN(out, tx.sessionRevoked(id));
                      return core::Status::ok();
                    })
                    .isOk());
    return out;
  };
  EXPECT_TRUE(revoked("s-early"));
  EXPECT_TRUE(revoked("s-late"));
  EXPECT_FALSE(revoked("s-other"));
  long long purged = 0;
  ASSERT_TRUE(store_
                  ->transact([&](Transaction& tx) -> core::Status {
                    SENDFLOW_ASSIGN_OR_RETURN(purged, tx.purgeRevokedSessions(t(1000)));
                    return core::Status::ok();
                  })
                  .isOk());
  EXPECT_EQ(purged, 1);
  EXPECT_FALSE(revoked("s-early"));
  EXPECT_TRUE(revoked("s-late"));
}

// Memory: the page cache grows with what is written (about 1.7 KB per workflow instance started,
// up to its bound; not a leak) and is given back once writes stop for the quiet time.
TEST_F(SqliteStoreHardeningTest, ThePageCacheIsGivenBackAfterAQuietSpell) {
  open();
  const std::string row(1024, 'x');
  auto writeRows = [&](int from, int to) {
    ASSERT_TRUE(store_
                    ->transact([&](Transaction& tx) -> core::Status {
                      for (int i = from; i < to; ++i) {
                        SENDFLOW_RETURN_IF_ERROR(tx.setStateValue("row-" + std::to_string(i), row));
                      }
                      return core::Status::ok();
                    })
                    .isOk());
  };
  const sqlite3_int64 before = sqlite3_memory_used();
  for (int batch = 0; batch < 40; ++batch) writeRows(batch * 100, batch * 100 + 100);
  const sqlite3_int64 grown = sqlite3_memory_used() - before;
  ASSERT_GT(grown, 2 << 20) << "4,000 rows of 1 KB are cached";

  EXPECT_FALSE(store_->releaseMemoryWhenIdle(std::chrono::hours(1))) << "not quiet for an hour";
  EXPECT_GE(sqlite3_memory_used() - before, grown * 9 / 10);
  // Polling that changes nothing (as the workers do) does not end the quiet spell.
  ASSERT_TRUE(
      store_->transact([](Transaction& tx) { return tx.stateValue("row-1").status(); }).isOk());
  EXPECT_TRUE(store_->releaseMemoryWhenIdle(std::chrono::milliseconds(0)));
  EXPECT_LT(sqlite3_memory_used() - before, grown / 4);
  EXPECT_FALSE(store_->releaseMemoryWhenIdle(std::chrono::milliseconds(0))) << "once per spell";

  writeRows(5000, 5001);
  EXPECT_TRUE(store_->releaseMemoryWhenIdle(std::chrono::milliseconds(0)));
}

}  // namespace
}  // namespace sendflow::store
