#pragma once
// A Mailer that writes each message as `<folder>/<outbox id>.eml`: a pickup folder for a local
// MTA, or the default transport of a development install for reading what would have gone out.
// Writing the same message twice replaces the file (idempotent on the outbox id). The file is
// written beside its final name and renamed, so a reader never sees half a message. Messages
// hold working approval links: files are 0600 and folders this creates 0700.

#include <string>

#include "server/mail/mailer.h"

namespace sendflow::mail {

class FolderMailer final : public Mailer {
 public:
  // Creates `folder` (and its parents) on the first send.
  explicit FolderMailer(std::string folder);

  // kUnavailable when the folder cannot be created or written. Thread-safe.
  core::Status send(const OutgoingMessage& message) override;

 private:
  std::string folder_;
};

}  // namespace sendflow::mail
