#pragma once
// The seam between the outbox and a mail transport. The OutboxDispatcher renders each outbox
// record into an OutgoingMessage (envelope plus the finished RFC 5322 text) and hands it to a
// Mailer: the FolderMailer writes it to a folder, the SmtpMailer sends it to a relay.
//
// Delivery is at least once: a crash between sending and recording the send sends again. The
// message carries a stable Message-ID (`<outbox-<id>@<domain>>`) so a resend is recognisable.

#include <string>
#include <vector>

#include "server/core/status.h"

namespace sendflow::mail {

struct OutgoingMessage {
  long long outbox_id = 0;              // the store's outbox row; names files and the Message-ID
  std::string envelope_from;            // the SMTP MAIL FROM address
  std::vector<std::string> recipients;  // the SMTP RCPT TO addresses; never empty
  std::string content;                  // the whole message: headers, blank line, body; CRLF
};

class Mailer {
 public:
  virtual ~Mailer() = default;

  // Delivers one message. Errors:
  //   kUnavailable (or kDeadlineExceeded, kUnauthenticated, kFailedPrecondition): the transport
  //     is down, busy or misconfigured; the same message may succeed later.
  //   kInvalidArgument: the message or a recipient was refused for good; do not retry.
  // A mailer may keep a connection open between sends of one batch.
  virtual core::Status send(const OutgoingMessage& message) = 0;

  // Ends a batch of sends: closes whatever send() kept open. Harmless when nothing is open.
  virtual void endBatch() {}
};

}  // namespace sendflow::mail
