// The SQLite store: migrations, uniqueness of business keys, optimistic updates, job leases,
// durability across reopen, and that a failed unit of work leaves nothing behind.
#include "server/store/sqlite_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

namespace sendflow::store {
namespace {

namespace fs = std::filesystem;

TimePoint t(long long ms) { return TimePoint(std::chrono::milliseconds(ms)); }

InstanceRecord instance(const std::string& id, const std::string& key) {
  InstanceRecord i;
  i.id = id;
  i.definition_id = "ehcp-audit";
  i.definition_version = 1;
  i.business_key = key;
  i.status = "running";
  i.created_at = i.updated_at = t(1000);
  return i;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sendflow-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    path_ = (dir_ / "nested" / "sendflow.db").string();
    auto opened = SqliteStore::open(path_);
    ASSERT_TRUE(opened.isOk()) << opened.status().toString();
    store_ = std::move(*opened);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  fs::path dir_;
  std::string path_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreTest, CreatesTheFolderUsesWalAndRecordsTheSchemaVersion) {
  EXPECT_TRUE(fs::exists(path_));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT MAX(version) FROM schema_migrations", -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), SqliteStore::schemaVersion());
  sqlite3_finalize(st);
  sqlite3_close(db);
  EXPECT_TRUE(store_->healthy());
}

TEST_F(SqliteStoreTest, RefusesASchemaNewerThanThisBuild) {
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (99, 0)", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  auto reopened = SqliteStore::open(path_);
  ASSERT_FALSE(reopened.isOk());
  EXPECT_EQ(reopened.status().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(reopened.status().message().find("schema version 99"), std::string::npos);
}

TEST_F(SqliteStoreTest, CommittedWorkSurvivesReopenAndFailedWorkLeavesNothing) {
  ASSERT_TRUE(
      store_->transact([](Transaction& tx) { return tx.insertInstance(instance("a", "k1")); })
          .isOk());
  const core::Status failed = store_->transact([](Transaction& tx) -> core::Status {
    SENDFLOW_RETURN_IF_ERROR(tx.insertInstance(instance("b", "k2")));
    return core::invalidArgument("the form was invalid");
  });
  EXPECT_EQ(failed.code(), core::StatusCode::kInvalidArgument);
  store_.reset();
  auto reopened = SqliteStore::open(path_);
  ASSERT_TRUE(reopened.isOk());
  ASSERT_TRUE((*reopened)
                  ->transact([](Transaction& tx) -> core::Status {
                    SENDFLOW_ASSIGN_OR_RETURN(auto a, tx.instance("a"));
                    SENDFLOW_ASSIGN_OR_RETURN(auto b, tx.instance("b"));
                    EXPECT_TRUE(a.has_value());
                    EXPECT_FALSE(b.has_value());
                    return core::Status::ok();
                  })
                  .isOk());
}

TEST_F(SqliteStoreTest, BusinessKeysAreUniquePerDefinition) {
  ASSERT_TRUE(
      store_->transact([](Transaction& tx) { return tx.insertInstance(instance("a", "2026-11")); })
          .isOk());
  const core::Status dup =
      store_->transact([](Transaction& tx) { return tx.insertInstance(instance("b", "2026-11")); });
  EXPECT_EQ(dup.code(), core::StatusCode::kAlreadyExists) << dup.toString();
  EXPECT_NE(dup.message().find("2026-11"), std::string::npos);
  // Empty keys never collide, and another definition may use the same key.
  ASSERT_TRUE(store_
                  ->transact([](Transaction& tx) -> core::Status {
                    SENDFLOW_RETURN_IF_ERROR(tx.insertInstance(instance("c", "")));
                    SENDFLOW_RETURN_IF_ERROR(tx.insertInstance(instance("d", "")));
                    InstanceRecord other = instance("e", "2026-11");
                    other.definition_id = "annual-review-audit";
                    SENDFLOW_RETURN_IF_ERROR(tx.insertInstance(other));
                    SENDFLOW_ASSIGN_OR_RETURN(auto found,
                                              tx.instanceByKey("ehcp-audit", "2026-11"));
                    EXPECT_TRUE(found && found->id == "a");
                    SENDFLOW_ASSIGN_OR_RETURN(auto none, tx.instanceByKey("ehcp-audit", ""));
                    EXPECT_FALSE(none.has_value());
                    return core::Status::ok();
                  })
                  .isOk());
}

TEST_F(SqliteStoreTest, AnUpdateFromAStaleRevisionIsAConflict) {
  ASSERT_TRUE(store_->transact([](Transaction& tx) { return tx.insertInstance(instance("a", "")); })
                  .isOk());
  InstanceRecord first, second;
  ASSERT_TRUE(store_
                  ->transact([&](Transaction& tx) -> core::Status {
                    SENDFLOW_ASSIGN_OR_RETURN(auto a, tx.instance("a"));
                    first = second = *a;
                    return core::Status::ok();
                  })
                  .isOk());
  first.status = "completed";
  ASSERT_TRUE(store_->transact([&](Transaction& tx) { return tx.updateInstance(first); }).isOk());
  EXPECT_EQ(first.revision, 1);
  second.status = "cancelled";
  EXPECT_EQ(store_->transact([&](Transaction& tx) { return tx.updateInstance(second); }).code(),
            core::StatusCode::kConflict);
}

TEST_F(SqliteStoreTest, DueJobsAreLeasedOnceUntilTheLeaseExpires) {
  ASSERT_TRUE(store_
                  ->transact([](Transaction& tx) -> core::Status {
                    for (int i = 0; i < 3; ++i) {
                      JobRecord j;
                      j.instance_id = "a";
                      j.kind = "timer";
                      j.due_at = t(1000 * (i + 1));
                      SENDFLOW_RETURN_IF_ERROR(tx.insertJob(j));
                      EXPECT_GT(j.id, 0);
                    }
                    return core::Status::ok();
                  })
                  .isOk());
  auto claim = [&](long long now, const std::string& owner) {
    std::vector<JobRecord> out;
    EXPECT_TRUE(store_
                    ->transact([&](Transaction& tx) -> core::Status {
                      SENDFLOW_ASSIGN_OR_RETURN(out,
                                                tx.claimDueJobs(t(now), owner, t(now + 5000), 10));
                      return core::Status::ok();
                    })
                    .isOk());
    return out;
  };
  auto first = claim(2000, "worker-1");
  ASSERT_EQ(first.size(), 2u);  // the third is not due yet
  EXPECT_EQ(first[0].lease_owner, "worker-1");
  EXPECT_TRUE(claim(2500, "worker-2").empty());  // leased
  auto after_expiry = claim(7001, "worker-2");   // worker-1 died; its leases ran out
  EXPECT_EQ(after_expiry.size(), 3u);
  long long released = 0;
  ASSERT_TRUE(store_
                  ->transact([&](Transaction& tx) -> core::Status {
                    SENDFLOW_ASSIGN_OR_RETURN(released, tx.releaseAllLeases());
                    return core::Status::ok();
                  })
                  .isOk());
  EXPECT_EQ(released, 3);
  EXPECT_EQ(claim(7002, "worker-3").size(), 3u);
}

TEST_F(SqliteStoreTest, DefinitionsKeepEveryVersion) {
  ASSERT_TRUE(store_
                  ->transact([](Transaction& tx) -> core::Status {
                    SENDFLOW_RETURN_IF_ERROR(
                        tx.insertDefinition({"ehcp-audit", 1, "<v1/>", "aa", "a.xml", t(1)}));
                    SENDFLOW_RETURN_IF_ERROR(
                        tx.insertDefinition({"ehcp-audit", 2, "<v2/>", "bb", "a.xml", t(2)}));
                    SENDFLOW_ASSIGN_OR_RETURN(auto latest, tx.latestDefinition("ehcp-audit"));
                    EXPECT_EQ(latest->version, 2);
                    SENDFLOW_ASSIGN_OR_RETURN(auto v1, tx.definition("ehcp-audit", 1));
                    EXPECT_EQ(v1->source, "<v1/>");
                    SENDFLOW_ASSIGN_OR_RETURN(auto none, tx.latestDefinition("missing"));
                    EXPECT_FALSE(none.has_value());
                    return core::Status::ok();
                  })
                  .isOk());
  EXPECT_EQ(store_
                ->transact([](Transaction& tx) {
                  return tx.insertDefinition({"ehcp-audit", 2, "<again/>", "cc", "a.xml", t(3)});
                })
                .code(),
            core::StatusCode::kAlreadyExists);
}

TEST_F(SqliteStoreTest, HistoryOutboxAndSchedulesRoundTrip) {
  ASSERT_TRUE(store_
                  ->transact([](Transaction& tx) -> core::Status {
                    HistoryRecord h{0,        "a",  t(5),        "qa-lead",  "task.completed",
                                    "review", "{}", "{\"x\":1}", "{\"x\":2}"};
                    SENDFLOW_RETURN_IF_ERROR(tx.appendHistory(h));
                    OutboxRecord o;
                    o.instance_id = "a";
                    o.recipient = "lead@council.example";
                    o.subject = "Panel";
                    o.created_at = t(6);
                    SENDFLOW_RETURN_IF_ERROR(tx.insertOutbox(o));
                    SENDFLOW_RETURN_IF_ERROR(tx.markOutboxSent(o.id, t(7)));
                    SENDFLOW_RETURN_IF_ERROR(tx.setScheduleLastFired("ehcp-audit/monthly", t(8)));
                    SENDFLOW_RETURN_IF_ERROR(tx.setScheduleLastFired("ehcp-audit/monthly", t(9)));
                    SENDFLOW_ASSIGN_OR_RETURN(auto history, tx.listHistory("a"));
                    EXPECT_EQ(history.size(), 1u);
                    EXPECT_EQ(history[0].data_after_json, "{\"x\":2}");
                    SENDFLOW_ASSIGN_OR_RETURN(auto pending, tx.pendingOutbox(t(10), 10));
                    EXPECT_TRUE(pending.empty());
                    SENDFLOW_ASSIGN_OR_RETURN(auto fired,
                                              tx.scheduleLastFired("ehcp-audit/monthly"));
                    EXPECT_EQ(fired, std::optional<TimePoint>(t(9)));
                    return core::Status::ok();
                  })
                  .isOk());
}

}  // namespace
}  // namespace sendflow::store
