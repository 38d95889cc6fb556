// The SQLite store: migrations, uniqueness of business keys, optimistic updates, job leases,
// durability across reopen, and that a failed unit of work leaves nothing behind.
#include "server/store/sqlite_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

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

namespace sendflow::store {
namespace {

class SqliteServiceTablesTest : public SqliteStoreTest {};

TaskRecord openTask(const std::string& id, const std::string& role, const std::string& assignee) {
  TaskRecord task;
  task.id = id;
  task.instance_id = "a";
  task.step_id = "audit";
  task.frame = "f";
  task.kind = "task";
  task.title = "Audit";
  task.role = role;
  task.assignee = assignee;
  task.status = "open";
  task.created_at = t(std::stoll(id.substr(1)));
  task.subject_json = R"({"reference":"SF-1","contributors":["ep-052"]})";
  return task;
}

TEST_F(SqliteServiceTablesTest, OpenTasksForAUserAreTheirsAndTheirRolesQueues) {
  ASSERT_TRUE(store_
                  ->transact([&](Transaction& tx) -> core::Status {
                    SENDFLOW_RETURN_IF_ERROR(tx.insertTask(openTask("t1", "auditor", "")));
                    SENDFLOW_RETURN_IF_ERROR(tx.insertTask(openTask("t2", "auditor", "aud-002")));
                    SENDFLOW_RETURN_IF_ERROR(tx.insertTask(openTask("t3", "moderator", "")));
                    SENDFLOW_RETURN_IF_ERROR(tx.insertTask(openTask("t4", "manager", "aud-001")));
                    TaskRecord done = openTask("t5", "auditor", "aud-001");
                    done.status = "completed";
                    done.completed_by = "aud-001";
                    return tx.insertTask(done);
                  })
                  .isOk());
  ASSERT_TRUE(
      store_
          ->transact([&](Transaction& tx) -> core::Status {
            SENDFLOW_ASSIGN_OR_RETURN(auto mine, tx.listOpenTasksFor("aud-001", {"auditor"}, 0));
            std::vector<std::string> ids;
            for (const auto& task : mine) ids.push_back(task.id);
            EXPECT_EQ(ids, (std::vector<std::string>{"t1", "t4"}));
            EXPECT_EQ(mine[0].subject_json, R"({"reference":"SF-1","contributors":["ep-052"]})");
            SENDFLOW_ASSIGN_OR_RETURN(auto none, tx.listOpenTasksFor("nobody", {}, 0));
            EXPECT_TRUE(none.empty());
            SENDFLOW_ASSIGN_OR_RETURN(auto history, tx.listTasksOfUser("aud-001", 0));
            EXPECT_EQ(history.size(), 2u);  // t4 assigned, t5 completed
            return core::Status::ok();
          })
          .isOk());
}

TEST_F(SqliteServiceTablesTest, AnApprovalTokenIsUsedOnce) {
  ApprovalTokenRecord token;
  token.token_hash = "ab12";
  token.task_id = "t1";
  token.approver = "mgr-001";
  token.decision = "approve";
  token.created_at = t(1);
  token.expires_at = t(100);
  ASSERT_TRUE(
      store_->transact([&](Transaction& tx) { return tx.insertApprovalToken(token); }).isOk());
  EXPECT_TRUE(store_
                  ->transact([&](Transaction& tx) {
                    return tx.markApprovalTokenUsed("ab12", t(5), "10.0.0.7");
                  })
                  .isOk());
  const core::Status again = store_->transact(
      [&](Transaction& tx) { return tx.markApprovalTokenUsed("ab12", t(6), "10.0.0.8"); });
  EXPECT_EQ(again.code(), core::StatusCode::kConflict);
  ASSERT_TRUE(store_
                  ->transact([&](Transaction& tx) -> core::Status {
                    SENDFLOW_ASSIGN_OR_RETURN(auto read, tx.approvalToken("ab12"));
                    EXPECT_TRUE(read.has_value());
                    EXPECT_EQ(read->used_at, std::optional<TimePoint>(t(5)));
                    EXPECT_EQ(read->used_from, "10.0.0.7");
                    SENDFLOW_ASSIGN_OR_RETURN(auto missing, tx.approvalToken("cd34"));
                    EXPECT_FALSE(missing.has_value());
                    SENDFLOW_ASSIGN_OR_RETURN(auto of_task, tx.listApprovalTokens("t1"));
                    EXPECT_EQ(of_task.size(), 1u);
                    return core::Status::ok();
                  })
                  .isOk());
}

TEST_F(SqliteServiceTablesTest, UsersIdempotencyDocumentsAndStateValuesRoundTrip) {
  ASSERT_TRUE(store_
                  ->transact([&](Transaction& tx) -> core::Status {
                    UserRecord u;
                    u.id = "mgr-001";
                    u.name = "Head of Service";
                    u.email = "hos@council.example";
                    u.roles_json = R"(["manager"])";
                    u.source = "directory";
                    u.updated_at = t(1);
                    SENDFLOW_RETURN_IF_ERROR(tx.upsertUser(u));
                    u.email = "head@council.example";
                    u.source = "sign-in";
                    SENDFLOW_RETURN_IF_ERROR(tx.upsertUser(u));
                    IdempotencyRecord i{"qa-001", "key-1", "sha", "inst-1", t(2)};
                    SENDFLOW_RETURN_IF_ERROR(tx.insertIdempotency(i));
                    DocumentRecord d;
                    d.id = "d1";
                    d.instance_id = "inst-1";
                    d.step_id = "render";
                    d.name = "briefing.docx";
                    d.path = "var/documents/inst-1/briefing.docx";
                    d.media_type = "application/octet-stream";
                    d.size = 1234;
                    d.created_at = t(3);
                    SENDFLOW_RETURN_IF_ERROR(tx.insertDocument(d));
                    SENDFLOW_RETURN_IF_ERROR(tx.setStateValue("webhook.cursor", "1"));
                    return tx.setStateValue("webhook.cursor", "2");
                  })
                  .isOk());
  const core::Status duplicate = store_->transact([&](Transaction& tx) {
    return tx.insertIdempotency({"qa-001", "key-1", "other", "inst-2", t(4)});
  });
  EXPECT_EQ(duplicate.code(), core::StatusCode::kAlreadyExists);
  ASSERT_TRUE(store_
                  ->transact([&](Transaction& tx) -> core::Status {
                    SENDFLOW_ASSIGN_OR_RETURN(auto users, tx.listUsers());
                    EXPECT_EQ(users.size(), 1u);
                    EXPECT_EQ(users[0].email, "head@council.example");
                    EXPECT_EQ(users[0].source, "sign-in");
                    SENDFLOW_ASSIGN_OR_RETURN(auto key, tx.idempotency("qa-001", "key-1"));
                    EXPECT_TRUE(key.has_value() && key->instance_id == "inst-1");
                    SENDFLOW_ASSIGN_OR_RETURN(auto other, tx.idempotency("aud-001", "key-1"));
                    EXPECT_FALSE(other.has_value());
                    SENDFLOW_ASSIGN_OR_RETURN(auto docs, tx.listDocuments("inst-1"));
                    EXPECT_EQ(docs.size(), 1u);
                    EXPECT_EQ(docs[0].size, 1234);
                    SENDFLOW_ASSIGN_OR_RETURN(auto value, tx.stateValue("webhook.cursor"));
                    EXPECT_EQ(value, std::optional<std::string>("2"));
                    return core::Status::ok();
                  })
                  .isOk());
}

TEST_F(SqliteServiceTablesTest, AFailedMailWaitsForItsNextAttemptAndADeadOneStops) {
  OutboxRecord mail;
  mail.instance_id = "a";
  mail.recipient = "role:manager";
  mail.subject = "Approval needed";
  mail.body = "text";
  mail.html_body = "<p>text</p>";
  mail.created_at = t(1);
  ASSERT_TRUE(store_->transact([&](Transaction& tx) { return tx.insertOutbox(mail); }).isOk());
  auto pendingAt = [&](long long at) {
    std::vector<OutboxRecord> out;
    EXPECT_TRUE(store_
                    ->transact([&](Transaction& tx) -> core::Status {
                      SENDFLOW_ASSIGN_OR_RETURN(out, tx.pendingOutbox(t(at), 10));
                      return core::Status::ok();
                    })
                    .isOk());
    return out;
  };
  ASSERT_EQ(pendingAt(2).size(), 1u);
  EXPECT_EQ(pendingAt(2)[0].html_body, "<p>text</p>");
  ASSERT_TRUE(store_
                  ->transact([&](Transaction& tx) {
                    return tx.markOutboxFailed(mail.id, t(60000), "421 try later");
                  })
                  .isOk());
  EXPECT_TRUE(pendingAt(59999).empty());
  ASSERT_EQ(pendingAt(60000).size(), 1u);
  EXPECT_EQ(pendingAt(60000)[0].attempts, 1);
  EXPECT_EQ(pendingAt(60000)[0].last_error, "421 try later");
  ASSERT_TRUE(store_
                  ->transact([&](Transaction& tx) {
                    return tx.markOutboxDead(mail.id, "550 no such user");
                  })
                  .isOk());
  EXPECT_TRUE(pendingAt(1000000).empty());
}

}  // namespace
}  // namespace sendflow::store

namespace sendflow::store {
namespace {

class SqliteReadTest : public SqliteStoreTest {};

TEST_F(SqliteReadTest, AReadSeesCommittedDataAndNotAWriteInProgress) {
  ASSERT_TRUE(
      store_->transact([&](Transaction& tx) { return tx.insertInstance(instance("a", "")); })
          .isOk());
  std::atomic<bool> writing{false};
  std::atomic<bool> release{false};
  std::thread writer([&] {
    EXPECT_TRUE(store_
                    ->transact([&](Transaction& tx) -> core::Status {
                      SENDFLOW_RETURN_IF_ERROR(tx.insertInstance(instance("b", "")));
                      writing = true;
                      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                      return core::Status::ok();
                    })
                    .isOk());
  });
  while (!writing) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // The writer holds its transaction open: a read neither waits for it nor sees its rows.
  long long seen = -1;
  ASSERT_TRUE(store_
                  ->read([&](Transaction& tx) -> core::Status {
                    SENDFLOW_ASSIGN_OR_RETURN(seen, tx.countInstances({}));
                    return core::Status::ok();
                  })
                  .isOk());
  EXPECT_EQ(seen, 1);
  release = true;
  writer.join();
  ASSERT_TRUE(store_
                  ->read([&](Transaction& tx) -> core::Status {
                    SENDFLOW_ASSIGN_OR_RETURN(seen, tx.countInstances({}));
                    return core::Status::ok();
                  })
                  .isOk());
  EXPECT_EQ(seen, 2);
}

TEST_F(SqliteReadTest, AWriteThroughAReadFails) {
  const core::Status st =
      store_->read([&](Transaction& tx) { return tx.insertInstance(instance("a", "")); });
  EXPECT_FALSE(st.isOk());
  long long seen = -1;
  ASSERT_TRUE(store_
                  ->transact([&](Transaction& tx) -> core::Status {
                    SENDFLOW_ASSIGN_OR_RETURN(seen, tx.countInstances({}));
                    return core::Status::ok();
                  })
                  .isOk());
  EXPECT_EQ(seen, 0);
}

TEST_F(SqliteReadTest, ManyThreadsReadAtOnce) {
  ASSERT_TRUE(
      store_->transact([&](Transaction& tx) { return tx.insertInstance(instance("a", "")); })
          .isOk());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 50; ++j) {
        const core::Status st = store_->read([&](Transaction& tx) -> core::Status {
          SENDFLOW_ASSIGN_OR_RETURN(auto found, tx.instance("a"));
          return found ? core::Status::ok() : core::notFound("a");
        });
        if (st.isOk()) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 600);
}

}  // namespace
}  // namespace sendflow::store
