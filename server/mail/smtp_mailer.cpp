#include "server/mail/smtp_mailer.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/DNS.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SMTPClientSession.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <set>
#include <sstream>

namespace sendflow::mail {

namespace {

std::string base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (unsigned char c : in) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += kAlphabet[(bits >> count) & 63];
    }
  }
  if (count > 0) out += kAlphabet[(bits << (6 - count)) & 63];
  while (out.size() % 4 != 0) out += '=';
  return out;
}

// A reply as one line: "550 5.1.1 <x@y>: user unknown" (continuation lines joined by "; ").
std::string oneLine(const std::string& reply) {
  std::string out;
  for (char c : reply) {
    if (c == '\r') continue;
    if (c == '\n') {
      out += "; ";
    } else {
      out += c;
    }
  }
  return out;
}

// The keywords (upper case) and parameters of an EHLO reply, one entry per line after the first.
std::vector<std::string> extensionsOf(const std::string& reply) {
  std::vector<std::string> lines;
  std::istringstream in(reply);
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() >= 4 && std::isdigit(static_cast<unsigned char>(line[0])) &&
        (line[3] == '-' || line[3] == ' ')) {
      line = line.substr(4);
    }
    if (first) {  // the greeting line: the server's name
      first = false;
      continue;
    }
    for (char& c : line) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    lines.push_back(line);
  }
  return lines;
}

bool offers(const std::vector<std::string>& extensions, const std::string& keyword) {
  return std::any_of(extensions.begin(), extensions.end(), [&](const std::string& e) {
    return e == keyword || e.rfind(keyword + " ", 0) == 0 || e.rfind(keyword + "=", 0) == 0;
  });
}

std::set<std::string> authMechanisms(const std::vector<std::string>& extensions) {
  std::set<std::string> out;
  for (const std::string& e : extensions) {
    if (e.rfind("AUTH", 0) != 0 || e.size() < 5 || (e[4] != ' ' && e[4] != '=')) continue;
    std::istringstream words(e.substr(5));
    std::string w;
    while (words >> w) out.insert(w);
  }
  return out;
}

// Lines starting with '.' get another (RFC 5321 4.5.2); every line ends in CRLF; then the
// terminating ".".
std::string dotStuffed(const std::string& content) {
  std::string out;
  out.reserve(content.size() + content.size() / 64 + 8);
  bool line_start = true;
  for (std::size_t i = 0; i < content.size(); ++i) {
    const char c = content[i];
    if (line_start && c == '.') out += '.';
    line_start = false;
    if (c == '\r') {
      continue;  // re-added before each '\n'
    }
    if (c == '\n') {
      out += "\r\n";
      line_start = true;
      continue;
    }
    out += c;
  }
  if (!line_start) out += "\r\n";
  out += ".\r\n";
  return out;
}

// Poco's session, with the socket it keeps protected made reachable: the message data goes out
// on it, and STARTTLS replaces it with a TLS socket over the same connection.
class RelaySession final : public Poco::Net::SMTPClientSession {
 public:
  using SMTPClientSession::SMTPClientSession;
  using SMTPClientSession::socket;
};

void initializeSslOnce() {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Net::initializeSSL(); });
}

}  // namespace

core::StatusOr<StartTls> parseStartTls(const std::string& text) {
  if (text == "required") return StartTls::kRequired;
  if (text == "optional") return StartTls::kOptional;
  if (text == "off") return StartTls::kOff;
  return core::invalidArgument("'" + text + "' is not required, optional or off");
}

core::Status checkSmtpOptions(const SmtpOptions& options) {
  if (options.host.empty()) {
    return core::invalidArgument("mail.smtp.host: is required when mail.transport is smtp");
  }
  if (options.port < 1 || options.port > 65535) {
    return core::invalidArgument("mail.smtp.port: must be 1 to 65535");
  }
  if (options.timeout.count() <= 0) return core::invalidArgument("mail.smtp.timeout: must be > 0");
  if (options.username.empty() && !options.password.empty()) {
    return core::invalidArgument("mail.smtp.username: a password is set but no username");
  }
  if (!options.ca_file.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(options.ca_file, ec)) {
      return core::invalidArgument("mail.smtp.ca_file: '" + options.ca_file +
                                   "' is not a readable file");
    }
  }
  return core::Status::ok();
}

// One SMTP session with the relay, greeted, secured and logged in.
class SmtpMailer::Connection {
 public:
  explicit Connection(const SmtpOptions& options)
      : options_(options),
        peer_("smtp " + options.host + ":" + std::to_string(options.port) + ": ") {}

  // Connects, greets, STARTTLS and AUTH as configured.
  core::Status open() {
    try {
      Poco::Net::SocketAddress address(options_.host, static_cast<Poco::UInt16>(options_.port));
      Poco::Net::StreamSocket socket;
      socket.connect(address, timespan());
      socket.setReceiveTimeout(timespan());
      socket.setSendTimeout(timespan());
      session_ = std::make_unique<RelaySession>(socket);
      session_->setTimeout(timespan());
      session_->open();  // reads the greeting; throws on anything but 2xx
      SENDFLOW_RETURN_IF_ERROR(hello());
      SENDFLOW_RETURN_IF_ERROR(startTls());
      return login();
    } catch (const Poco::Exception& e) {
      return fromException(e);
    } catch (const std::exception& e) {
      return core::unavailable(peer_ + e.what());
    }
  }

  // One mail transaction: MAIL FROM, RCPT TO for every recipient, DATA.
  core::Status send(const OutgoingMessage& message) {
    try {
      if (dirty_) {
        // The last transaction stopped half way: start afresh.
        if (command("RSET").first / 100 != 2) {
          broken_ = true;
          return core::unavailable(peer_ + "RSET refused; reconnecting");
        }
        dirty_ = false;
      }
      dirty_ = true;
      auto [code, reply] = command("MAIL FROM:<" + message.envelope_from + ">");
      if (code / 100 != 2) {
        if (code == 530) {
          return core::unauthenticated(peer_ + "the relay requires a login: " + reply +
                                       " (set mail.smtp.username and mail.smtp.password)");
        }
        return refusal(code, "sender <" + message.envelope_from + "> refused: " + reply);
      }
      std::vector<std::string> refused;
      for (const std::string& to : message.recipients) {
        auto [rcode, rreply] = command("RCPT TO:<" + to + ">");
        if (rcode / 100 == 2) continue;
        if (rcode / 100 == 4) return refusal(rcode, "recipient <" + to + "> deferred: " + rreply);
        refused.push_back("<" + to + ">: " + rreply);
      }
      if (!refused.empty()) {
        std::string list;
        for (const std::string& r : refused) list += (list.empty() ? "" : ", ") + r;
        return core::invalidArgument(peer_ + "recipient refused, nothing sent: " + list);
      }
      auto [dcode, dreply] = command("DATA");
      if (dcode != 354) return refusal(dcode, "DATA refused: " + dreply);
      const std::string data = dotStuffed(message.content);
      Poco::Net::DialogSocket& socket = session_->socket();
      for (std::size_t sent = 0; sent < data.size();) {
        const int n = socket.sendBytes(data.data() + sent, static_cast<int>(data.size() - sent));
        if (n <= 0) {
          broken_ = true;
          return core::unavailable(peer_ + "the connection closed while sending the message");
        }
        sent += static_cast<std::size_t>(n);
      }
      std::string final_reply;
      const int final_code = socket.receiveStatusMessage(final_reply);
      if (final_code / 100 != 2)
        return refusal(final_code, "message not accepted: " + oneLine(final_reply));
      dirty_ = false;
      return core::Status::ok();
    } catch (const Poco::Exception& e) {
      broken_ = true;
      return fromException(e);
    } catch (const std::exception& e) {
      broken_ = true;
      return core::unavailable(peer_ + e.what());
    }
  }

  // Says QUIT; errors do not matter any more.
  void quit() {
    if (!session_) return;
    try {
      if (!broken_) session_->close();
    } catch (...) {
    }
    try {
      session_->socket().close();
    } catch (...) {
    }
    session_.reset();
  }

  bool broken() const { return broken_; }

 private:
  Poco::Timespan timespan() const {
    return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(options_.timeout.count()) * 1000);
  }

  // Sends one command; returns the reply code and the reply as one line.
  std::pair<int, std::string> command(const std::string& line) {
    std::string reply;
    const int code = session_->sendCommand(line, reply);
    if (code == 421) broken_ = true;  // the relay is closing the connection
    return {code, oneLine(reply)};
  }

  // 4xx: try later; 5xx: this message will not go.
  core::Status refusal(int code, const std::string& what) {
    if (code / 100 == 4 || code <= 0) return core::unavailable(peer_ + what);
    return core::invalidArgument(peer_ + what);
  }

  core::Status hello() {
    const std::string name = heloName();
    std::string reply;
    int code = session_->sendCommand("EHLO", name, reply);
    if (code / 100 == 2) {
      extensions_ = extensionsOf(reply);
      return core::Status::ok();
    }
    if (code == 421) return core::unavailable(peer_ + "EHLO: " + oneLine(reply));
    code = session_->sendCommand("HELO", name, reply);  // an old relay: no extensions
    if (code / 100 != 2) return core::unavailable(peer_ + "HELO refused: " + oneLine(reply));
    extensions_.clear();
    return core::Status::ok();
  }

  std::string heloName() const {
    if (!options_.helo_name.empty()) return options_.helo_name;
    try {
      const std::string name = Poco::Net::DNS::hostName();
      if (!name.empty()) return name;
    } catch (const Poco::Exception&) {
    }
    return "localhost";
  }

  core::Status startTls() {
    if (options_.starttls == StartTls::kOff) return core::Status::ok();
    if (!offers(extensions_, "STARTTLS")) {
      if (options_.starttls == StartTls::kOptional) return core::Status::ok();
      return core::failedPrecondition(
          peer_ +
          "the relay does not offer STARTTLS and mail.smtp.starttls is required; "
          "nothing was sent");
    }
    auto [code, reply] = command("STARTTLS");
    if (code != 220) {
      if (code / 100 == 4) return core::unavailable(peer_ + "STARTTLS refused: " + reply);
      return core::failedPrecondition(peer_ + "STARTTLS refused: " + reply);
    }
    initializeSslOnce();
    Poco::Net::Context::Params params;
    params.verificationMode =
        options_.verify_peer ? Poco::Net::Context::VERIFY_RELAXED : Poco::Net::Context::VERIFY_NONE;
    params.caLocation = options_.ca_file;
    params.loadDefaultCAs = options_.verify_peer && options_.ca_file.empty();
    Poco::Net::Context::Ptr context;
    try {
      context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
    } catch (const Poco::Exception& e) {
      return core::failedPrecondition(peer_ + "mail.smtp.ca_file: " + e.displayText());
    }
    context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    Poco::Net::SecureStreamSocket secure =
        Poco::Net::SecureStreamSocket::attach(session_->socket(), options_.host, context);
    session_->socket() = secure;
    tls_ = true;
    return hello();  // the extensions may differ over TLS (RFC 3207)
  }

  core::Status login() {
    if (options_.username.empty()) return core::Status::ok();
    if (!tls_ && !options_.allow_plain_auth) {
      return core::failedPrecondition(
          peer_ +
          "refusing to send the password over a connection without TLS (use "
          "mail.smtp.starttls = required, or set mail.smtp.allow_plain_auth = true)");
    }
    const std::set<std::string> mechanisms = authMechanisms(extensions_);
    int code = 0;
    std::string reply;
    if (mechanisms.count("PLAIN")) {
      std::tie(code, reply) =
          command("AUTH PLAIN " + base64(std::string(1, '\0') + options_.username +
                                         std::string(1, '\0') + options_.password));
    } else if (mechanisms.count("LOGIN")) {
      std::tie(code, reply) = command("AUTH LOGIN");
      if (code == 334) std::tie(code, reply) = command(base64(options_.username));
      if (code == 334) std::tie(code, reply) = command(base64(options_.password));
    } else {
      std::string offered;
      for (const std::string& m : mechanisms) offered += " " + m;
      return core::failedPrecondition(
          peer_ + "the relay offers no AUTH PLAIN or LOGIN (" +
          (mechanisms.empty() ? std::string("no AUTH at all") : "offers" + offered) + ")");
    }
    if (code == 235) return core::Status::ok();
    if (code / 100 == 4) return core::unavailable(peer_ + "login deferred: " + reply);
    return core::unauthenticated(peer_ + "the relay refused the login of '" + options_.username +
                                 "': " + reply);
  }

  core::Status fromException(const Poco::Exception& e) {
    broken_ = true;
    const std::string what = e.displayText();
    if (dynamic_cast<const Poco::TimeoutException*>(&e)) {
      const long long ms = options_.timeout.count();
      const std::string limit =
          ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
      return core::unavailable(peer_ + "no answer within " + limit + " (mail.smtp.timeout)");
    }
    if (dynamic_cast<const Poco::Net::ConnectionRefusedException*>(&e)) {
      return core::unavailable(peer_ + "connection refused");
    }
    if (dynamic_cast<const Poco::Net::SSLException*>(&e)) {
      return core::unavailable(peer_ + "TLS: " + what +
                               (options_.verify_peer ? " (check mail.smtp.ca_file)" : ""));
    }
    return core::unavailable(peer_ + what);
  }

  const SmtpOptions& options_;
  const std::string peer_;  // "smtp host:port: "
  std::unique_ptr<RelaySession> session_;
  std::vector<std::string> extensions_;
  bool tls_ = false;
  bool dirty_ = false;   // a transaction is open or stopped half way
  bool broken_ = false;  // the connection cannot be used again
};

SmtpMailer::SmtpMailer(SmtpOptions options) : options_(std::move(options)) {}

SmtpMailer::~SmtpMailer() { endBatch(); }

core::Status SmtpMailer::send(const OutgoingMessage& message) {
  if (batch_failure_) return *batch_failure_;
  if (connection_ && connection_->broken()) {
    connection_->quit();
    connection_.reset();
  }
  if (!connection_) {
    auto connection = std::make_unique<Connection>(options_);
    core::Status opened = connection->open();
    if (!opened.isOk()) {
      connection->quit();
      batch_failure_ = opened;
      return opened;
    }
    connection_ = std::move(connection);
  }
  return connection_->send(message);
}

void SmtpMailer::endBatch() {
  if (connection_) connection_->quit();
  connection_.reset();
  batch_failure_.reset();
}

}  // namespace sendflow::mail
