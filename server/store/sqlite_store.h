#pragma once
// The embedded Store: one SQLite database file through Poco::Data, in WAL mode, with the schema
// migrated forward at open (versions in sqlite_store.cpp, recorded in `schema_migrations`).
//
// Durability: every transaction commits to the write-ahead log. With synchronous=NORMAL (the
// default) a committed transition survives a crash of the process (SIGKILL) but the last few
// may be lost on power failure; synchronous=FULL also survives power loss at the cost of one
// fsync per commit. SQLite allows one writer, so the SQLite store is meant for one sendflow
// process; write transactions from its threads are serialized by a mutex, and read-only units of
// work (read) run at once on a small pool of reader connections.
//
// Thread-safety: safe to share between threads.

#include <memory>
#include <mutex>
#include <string>

#include "server/store/store.h"

namespace sendflow::store {

enum class SqliteSync { kNormal, kFull };

struct SqliteOptions {
  SqliteSync synchronous = SqliteSync::kNormal;
  int busy_timeout_ms = 5000;
  // Read-only connections for Store::read (WAL lets them read beside the writer). Not used for
  // ":memory:", whose data only its own connection sees.
  int readers = 4;
};

class SqliteStore final : public Store {
 public:
  // Opens (creating when missing) the database at `path`, or an in-memory database for
  // ":memory:", and migrates its schema. The parent folder of `path` is created. Fails with
  // kUnavailable naming the path when it cannot be opened, kFailedPrecondition when the file's
  // schema is newer than this build knows.
  static core::StatusOr<std::unique_ptr<SqliteStore>> open(const std::string& path,
                                                           const SqliteOptions& options = {});
  ~SqliteStore() override;

  core::Status transact(const std::function<core::Status(Transaction&)>& work) override;
  // On one of the reader connections (waiting for a free one), in a deferred transaction:
  // reads see the last committed state and do not wait for the writer. A write through it
  // fails (the connection is query_only).
  core::Status read(const std::function<core::Status(Transaction&)>& work) override;
  bool healthy() override;

  // The schema version this build migrates to.
  static int schemaVersion();

  struct Impl;

 private:
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::mutex mutex_;
  std::unique_ptr<Impl> impl_;  // guarded by mutex_
};

}  // namespace sendflow::store
