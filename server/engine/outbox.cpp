#include "server/engine/outbox.h"

#include <ctime>
#include <filesystem>
#include <fstream>

namespace sendflow::engine {

namespace {

// RFC 5322 date: "Sun, 22 Nov 2026 09:30:00 +0000".
std::string rfc5322Date(core::TimePoint t) {
  const std::time_t secs =
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

// Header values may not carry line breaks (header injection).
std::string headerValue(const std::string& v) {
  std::string out;
  for (char c : v) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

}  // namespace

std::string formatEml(const store::OutboxRecord& m, const std::string& from) {
  std::string eml;
  eml += "From: " + headerValue(from) + "\r\n";
  if (m.recipient.find('@') != std::string::npos) {
    eml += "To: " + headerValue(m.recipient) + "\r\n";
  } else {
    // A role queue or a user id: the mail transport resolves it to addresses.
    eml += "To: undisclosed-recipients:;\r\n";
  }
  eml += "X-Sendflow-Recipient: " + headerValue(m.recipient) + "\r\n";
  if (!m.instance_id.empty()) eml += "X-Sendflow-Instance: " + headerValue(m.instance_id) + "\r\n";
  eml += "Subject: " + headerValue(m.subject) + "\r\n";
  eml += "Date: " + rfc5322Date(m.created_at) + "\r\n";
  eml += "Message-ID: <outbox-" + std::to_string(m.id) + "@sendflow>\r\n";
  eml +=
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\n";
  for (std::size_t i = 0; i < m.body.size(); ++i) {
    if (m.body[i] == '\n' && (i == 0 || m.body[i - 1] != '\r')) eml += '\r';
    eml += m.body[i];
  }
  return eml;
}

FolderMailer::FolderMailer(std::string folder, std::string from)
    : folder_(std::move(folder)), from_(std::move(from)) {}

core::Status FolderMailer::send(const store::OutboxRecord& message) {
  std::error_code ec;
  std::filesystem::create_directories(folder_, ec);
  if (ec) return core::unavailable("mail folder " + folder_ + ": " + ec.message());
  const std::filesystem::path final_path =
      std::filesystem::path(folder_) / (std::to_string(message.id) + ".eml");
  const std::filesystem::path tmp = final_path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << formatEml(message, from_);
    if (!out) return core::unavailable("mail folder " + folder_ + ": cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, final_path, ec);
  if (ec) return core::unavailable("mail folder " + folder_ + ": " + ec.message());
  return core::Status::ok();
}

OutboxDispatcher::OutboxDispatcher(store::Store& store, Mailer& mailer, const core::Clock& clock)
    : store_(store), mailer_(mailer), clock_(clock) {}

core::StatusOr<int> OutboxDispatcher::dispatchPending(int limit) {
  std::vector<store::OutboxRecord> pending;
  SENDFLOW_RETURN_IF_ERROR(store_.transact([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(pending, tx.pendingOutbox(clock_.now(), limit));
    return core::Status::ok();
  }));
  int sent = 0;
  for (const store::OutboxRecord& m : pending) {
    const core::Status st = mailer_.send(m);
    SENDFLOW_RETURN_IF_ERROR(store_.transact([&](store::Transaction& tx) {
      return st.isOk() ? tx.markOutboxSent(m.id, clock_.now()) : tx.markOutboxFailed(m.id, clock_.now() + std::chrono::minutes(1), st.message());
    }));
    if (st.isOk()) ++sent;
  }
  return sent;
}

}  // namespace sendflow::engine
