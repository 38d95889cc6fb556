#pragma once
// Files and folders only the service's own user may open: the store and its -wal/-shm, outbox
// mails (they hold working approval links), generated documents, secrets and what they are kept
// in. Files are created 0600 and folders 0700 explicitly, whatever the process umask, so another
// entry point (a test, a tool linking the libraries) or a library cannot loosen them.
//
// Errors are kUnavailable naming the path and the system's reason. Thread-safe (no state).

#include <string>
#include <string_view>

#include "server/core/status.h"

namespace sendflow::core {

// Creates `folder` and every missing parent with mode 0700. Folders that exist already keep
// their mode (an operator may have chosen it). An empty `folder` is OK and does nothing.
Status createPrivateFolders(const std::string& folder);

// Writes `bytes` to `path` as a file of mode 0600, atomically: into a new temporary file beside
// it (a dot file, never matching `*.eml` or the final name), then renamed over `path`, so a
// reader sees the old file or the new one, never a half-written one. The folder must exist.
Status writePrivateFile(const std::string& path, std::string_view bytes);

// For a file a library opens by itself (SQLite's database): creates `path` empty with mode 0600
// when it is missing; an existing file loses any group and other permissions.
Status ensurePrivateFile(const std::string& path);

// An existing `path` loses any group and other permissions; a missing one is OK.
Status restrictToOwner(const std::string& path);

// Whether a file of a few kilobytes can be written in `folder` now: a probe file is created,
// written and removed. Not OK, saying why, on a full disk, a read-only file system, or a folder
// that is missing or not writable. Cheap enough for a readiness probe every few seconds.
Status checkFolderWritable(const std::string& folder);

}  // namespace sendflow::core
