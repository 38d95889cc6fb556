#include "server/mail/folder_mailer.h"

#include <filesystem>

#include "server/core/private_files.h"

namespace sendflow::mail {

FolderMailer::FolderMailer(std::string folder) : folder_(std::move(folder)) {}

core::Status FolderMailer::send(const OutgoingMessage& message) {
  const std::string context = "mail folder " + folder_;
  SENDFLOW_RETURN_IF_ERROR(core::createPrivateFolders(folder_).withContext(context));
  const std::filesystem::path path =
      std::filesystem::path(folder_) / (std::to_string(message.outbox_id) + ".eml");
  return core::writePrivateFile(path.string(), message.content).withContext(context);
}

}  // namespace sendflow::mail
