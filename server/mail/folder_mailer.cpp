#include "server/mail/folder_mailer.h"

#include <filesystem>
#include <fstream>
#include <system_error>

namespace sendflow::mail {

FolderMailer::FolderMailer(std::string folder) : folder_(std::move(folder)) {}

core::Status FolderMailer::send(const OutgoingMessage& message) {
  std::error_code ec;
  std::filesystem::create_directories(folder_, ec);
  if (ec) return core::unavailable("mail folder " + folder_ + ": " + ec.message());
  const std::filesystem::path final_path =
      std::filesystem::path(folder_) / (std::to_string(message.outbox_id) + ".eml");
  const std::filesystem::path tmp = final_path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << message.content;
    out.flush();
    if (!out) return core::unavailable("mail folder " + folder_ + ": cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, final_path, ec);
  if (ec) return core::unavailable("mail folder " + folder_ + ": " + ec.message());
  return core::Status::ok();
}

}  // namespace sendflow::mail
