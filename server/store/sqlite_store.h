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
// Files: the database is created with mode 0600 before SQLite opens it (SQLite gives its -wal and
// -shm files the database's mode), missing folders above it 0700; an existing database, -wal or
// -shm readable by the group or others loses those permissions at open.
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
  // The largest the database file may grow, in bytes (SQLite's max_page_count); a write that
  // needs more fails as on a full disk. 0: no limit but the disk's.
  long long max_bytes = 0;
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
  // A write of a few pages in a transaction that is rolled back (catches a read-only or locked
  // database and the size limit), and a probe file written in the database's folder (catches a
  // full disk or a read-only file system, which a write that is never committed does not reach).
  core::Status checkWritable() override;
  // Releases the page caches of the writer and of the readers not in use (sqlite3_db_release_
  // memory). Each is bounded (64 MiB for the writer, 16 MiB for each reader) and fills with the
  // pages written: about 1.7 KB per workflow instance started.
  bool releaseMemoryWhenIdle(std::chrono::milliseconds quiet) override;

  // The schema version this build migrates to.
  static int schemaVersion();

  struct Impl;

 private:
  SqliteStore(std::unique_ptr<Impl> impl, std::string path);
  std::mutex mutex_;
  std::unique_ptr<Impl> impl_;  // guarded by mutex_
  const std::string path_;      // ":memory:" or the database file
};

}  // namespace sendflow::store
