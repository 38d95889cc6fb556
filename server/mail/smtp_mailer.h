#pragma once
// A Mailer that hands messages to an SMTP relay (the council's mail server or a submission
// service) with Poco's SMTP client.
//
// One connection serves a whole dispatch batch: the first send() of a batch connects, greets
// (EHLO), switches to TLS (STARTTLS) and logs in (AUTH PLAIN or LOGIN) as configured; later
// sends reuse it; endBatch() says QUIT. When connecting, STARTTLS or the login fails, every
// further send() of the batch returns the same error at once instead of trying again.
//
// Errors of send():
//   kUnavailable        the relay cannot be reached, timed out, dropped the connection, the TLS
//                       handshake or certificate check failed, or it answered 4xx (try later).
//   kFailedPrecondition the relay does not offer what the configuration requires: STARTTLS
//                       when `starttls` is kRequired, AUTH (or PLAIN/LOGIN) when a username is
//                       set, or TLS for a login without `allow_plain_auth`. Nothing was sent.
//   kUnauthenticated    the relay refused the username and password (535), or requires a login
//                       that is not configured (530).
//   kInvalidArgument    the relay answered 5xx for a recipient, the sender or the message: it
//                       will not take this message, retrying does not help. The message names
//                       the refused address and quotes the reply. A message goes to all of its
//                       recipients or to none: one refused recipient refuses the message.
// The password never appears in an error.
//
// Not thread-safe: one dispatching thread uses it.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "server/mail/mailer.h"

namespace sendflow::mail {

enum class StartTls {
  kRequired,  // refuse to send unless the relay offers STARTTLS and the handshake succeeds
  kOptional,  // use STARTTLS when offered, else send in plain text
  kOff,       // never (a relay on the same host, or a test)
};

// "required" | "optional" | "off"; kInvalidArgument otherwise.
core::StatusOr<StartTls> parseStartTls(const std::string& text);

struct SmtpOptions {
  std::string host;  // mail.smtp.host
  int port = 25;     // mail.smtp.port (587 for a submission service)
  StartTls starttls = StartTls::kRequired;
  std::string ca_file;      // PEM file of trusted CAs; empty: the system's CAs
  bool verify_peer = true;  // check the relay's certificate chain (and its name, except for a
                            // loopback host) during STARTTLS
  std::string username;     // empty: no AUTH
  std::string password;
  bool allow_plain_auth = false;  // allow AUTH over a connection without TLS
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // connect and each reply
  std::string helo_name;  // the name given in EHLO; empty: this machine's host name
};

// kInvalidArgument naming the mail.smtp.* key when the host is empty, the port is not 1 to
// 65535, the timeout is not positive, or a password is set without a username.
core::Status checkSmtpOptions(const SmtpOptions& options);

class SmtpMailer final : public Mailer {
 public:
  // `options` should pass checkSmtpOptions; nothing connects before the first send().
  explicit SmtpMailer(SmtpOptions options);
  ~SmtpMailer() override;
  SmtpMailer(const SmtpMailer&) = delete;
  SmtpMailer& operator=(const SmtpMailer&) = delete;

  core::Status send(const OutgoingMessage& message) override;
  void endBatch() override;

 private:
  class Connection;

  SmtpOptions options_;
  std::unique_ptr<Connection> connection_;
  std::optional<core::Status> batch_failure_;  // set when this batch could not connect
};

}  // namespace sendflow::mail
