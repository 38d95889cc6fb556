#pragma once
// The security suite's shared fixture (tests/security): a real `sendflow serve` on loopback, a
// raw HTTP client that sends exactly the bytes a test asks for (odd paths, huge bodies, broken
// framing), the development sign-in and API keys, the `sendflow` command line, and snapshots of
// everything an attack could change: every table of the SQLite store, and the files (with their
// SHA-256) of the outbox, the intranet library and the generated documents.
//
// One service per test suite: a suite derives from ServiceSuite and starts it in its own
// SetUpTestSuite (GoogleTest calls the derived one), so the tests of a binary share it; CTest
// runs each test in its own process, so each test still gets a fresh service.
//
// The service's folder (a fresh temporary directory) holds sendflow.properties, the workflows of
// tests/fixtures/security/workflows, the people of tests/fixtures/security/users.json, a small
// sample library (connector.folder.root = intranet), the outbox (var/outbox), documents
// (var/documents), templates (templates) and, outside all of them, outside/secret.txt holding a
// random canary that no answer, log line, mail or stored value may ever contain.
//
// Not thread-safe; one test thread uses it.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/core/status.h"

namespace sendflow::security::testing {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- HTTP ------------------------------------------------------------------------------------

struct HttpReply {
  int status = 0;  // 0: the connection ended without a status line
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  std::string header(const std::string& name) const;  // the first one, "" when absent
  std::vector<std::string> all(const std::string& name) const;
  json parsed() const;  // the body as JSON, discarded (is_discarded()) when it is not
  // "401 {"error":...}" shortened, for failure messages.
  std::string summary() const;
};

struct HttpCall {
  HttpCall() = default;
  HttpCall(std::string method_, std::string target_,
           std::vector<std::pair<std::string, std::string>> headers_ = {}, std::string body_ = "")
      : method(std::move(method_)),
        target(std::move(target_)),
        headers(std::move(headers_)),
        body(std::move(body_)) {}

  std::string method = "GET";
  std::string target = "/";  // sent exactly as written
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool chunked = false;  // Transfer-Encoding: chunked instead of Content-Length
};

// Sends `call` on a new connection to 127.0.0.1:port (Host and Connection: close added) and
// reads the answer. The body goes in pieces and stops as soon as the server answers (a 413 sent
// before the body was read).
HttpReply send(int port, const HttpCall& call,
               std::chrono::milliseconds timeout = std::chrono::seconds(30));

// application/x-www-form-urlencoded.
std::string formBody(const std::vector<std::pair<std::string, std::string>>& fields);
std::string percentEncode(const std::string& text);

// The value of the hidden csrf_token of the form whose action is `action` ("" the first form).
std::string csrfOf(const std::string& html, const std::string& action = "");

// ---- the command line ------------------------------------------------------------------------

struct CommandRun {
  int exit_code = -1;  // -1: killed (a signal or the timeout)
  bool timed_out = false;
  std::string out;
  std::string err;
  long max_rss_kb = 0;  // the process's peak resident memory
  double seconds = 0;
};

// Runs the built `sendflow` with `args` in `cwd`.
CommandRun runSendflow(const std::vector<std::string>& args, const fs::path& cwd,
                       std::chrono::seconds timeout = std::chrono::seconds(60));

// `sendflow --config CONFIG serve`, its stdout and stderr (the JSON log) in files of `dir`.
class ServeProcess {
 public:
  static core::StatusOr<std::unique_ptr<ServeProcess>> start(const fs::path& dir,
                                                             const fs::path& config);
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool alive();
  std::string log() const;  // everything written to stderr so far
  long peakRssKb() const;   // VmHWM of the process, 0 when it is gone
  int stop();               // SIGTERM, then SIGKILL after 15 s; the exit status

 private:
  ServeProcess() = default;
  fs::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool exited_ = false;
  int exit_status_ = 0;
};

// ---- what an attack could change -------------------------------------------------------------

struct Snapshot {
  // "table instances" -> its rows as text; "file outbox/12.eml" -> SHA-256 of the file.
  std::map<std::string, std::string> items;

  bool operator==(const Snapshot& other) const { return items == other.items; }
  // What differs, readable ("changed: table tasks: + row ..."); "" when equal.
  std::string differences(const Snapshot& after) const;
};

// Every table of the SQLite file (read-only, beside the running service; the users table
// without its updated_at, which a sign-in refreshes) and every file under each folder, named
// "LABEL/relative path".
Snapshot takeSnapshot(const fs::path& database, const std::map<std::string, fs::path>& folders);

std::string sha256Hex(const std::string& bytes);
// The bytes of a file, and when it is a zip package (DOCX, ODT) also every entry inflated, so
// that a search finds text inside a document.
std::string searchableContent(const fs::path& path);
// Quoted-printable (RFC 2045) to bytes: soft line breaks removed, =XX decoded.
std::string decodeQuotedPrintable(const std::string& text);
// A header line with its RFC 2047 words ("=?UTF-8?B?...?=") decoded.
std::string decodeEncodedWords(const std::string& line);
// The header section of a message (up to the first empty line), its lines unfolded.
std::vector<std::string> headerLines(const std::string& message);
std::string readFile(const fs::path& path);
// `text` with every `from` replaced by `to`.
std::string replaced(std::string text, const std::string& from, const std::string& to);
void writeFile(const fs::path& path, const std::string& bytes);

// ---- the service -----------------------------------------------------------------------------

// The peak memory a refusal may take (a command's, or the service's over a test): far below the
// gigabytes a zip bomb or an entity expansion would take. The address sanitizer's shadow memory
// needs more.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr long kMaxRefusalRssKb = 1024 * 1024;
#else
inline constexpr long kMaxRefusalRssKb = 300 * 1024;
#endif

struct ServiceOptions {
  std::map<std::string, std::string> properties;  // added to or replacing the defaults
  // Relative path -> content, written before the start; "@CANARY_FILE@" in a content becomes
  // the canary file's path.
  std::map<std::string, std::string> files;
  bool sample_library = true;  // a 4-plan sample library in intranet/
};

class SecurityService {
 public:
  // The API keys made for every start, one per role: "qa-lead", "auditor", "manager", "admin".
  static const std::vector<std::string>& keyRoles();

  static core::StatusOr<std::unique_ptr<SecurityService>> start(ServiceOptions options = {});
  ~SecurityService();

  const fs::path& dir() const { return dir_; }
  fs::path configPath() const { return dir_ / "sendflow.properties"; }
  int port() const { return process_->port(); }
  ServeProcess& process() { return *process_; }

  // ---- requests
  HttpReply request(const HttpCall& call) const { return send(port(), call); }
  // An API call with the API key of `role` ("" none); a non-null body goes as JSON.
  HttpReply api(const std::string& method, const std::string& path, const std::string& role,
                const json& body = nullptr) const;
  const std::string& apiKey(const std::string& role) const;
  // Signs `user` in through the development sign-in; the Cookie header value
  // ("sendflow_session=..."), "" when the sign-in failed.
  std::string signIn(const std::string& user) const;
  // A page request with `cookie` ("" none); a POST sends `form` url-encoded.
  HttpReply page(const std::string& method, const std::string& path, const std::string& cookie,
                 const std::vector<std::pair<std::string, std::string>>& form = {}) const;

  // ---- flows of the fixture's security-review workflow
  // Starts it with `input` (as qa-lead); the instance id, or the reply's summary as the error.
  core::StatusOr<std::string> startReview(const json& input = json::object()) const;
  // The id of the open task of `step` in `instance`, waiting up to 10 s for it.
  core::StatusOr<std::string> openTask(const std::string& instance, const std::string& step) const;
  // Claims and completes the open review task of `instance` as the auditor key.
  core::Status completeReview(const std::string& instance, const json& data) const;
  // Starts the fixture's security-render workflow once for each template name (which renders
  // that template of the templates folder); an error with the reply when a start is refused.
  core::Status renderTemplates(const std::vector<std::string>& names) const;
  // The .eml files in the outbox, by name.
  std::vector<fs::path> outboxFiles() const;
  // Waits until at least `count` .eml files are in the outbox (up to 10 s).
  bool waitForOutbox(std::size_t count) const;
  // The approval mails in the outbox: who each went to and its two links' tokens.
  struct ApprovalMail {
    fs::path file;
    std::string to;       // the To header
    std::string approve;  // the approve link's token
    std::string reject;   // the reject link's token
  };
  std::vector<ApprovalMail> approvalMails() const;

  // ---- what must not change or leak
  Snapshot snapshot() const;
  // A snapshot once the service is quiet (two snapshots 150 ms apart agree; up to 10 s): mail
  // still being sent or a job still running finishes first.
  Snapshot settledSnapshot() const;
  const std::string& canary() const { return canary_; }
  fs::path canaryFile() const { return dir_ / "outside" / "secret.txt"; }
  // Whether the canary appears in the log, the store, the outbox or the documents (inside
  // generated DOCX and ODT files too).
  bool canaryLeaked() const;

  // ---- the command line, with this service's configuration
  CommandRun cli(const std::vector<std::string>& args,
                 std::chrono::seconds timeout = std::chrono::seconds(60)) const;

 private:
  SecurityService() = default;
  fs::path dir_;
  std::string canary_;
  std::map<std::string, std::string> keys_;  // role -> API key
  std::unique_ptr<ServeProcess> process_;
};

// A test suite sharing one SecurityService. A derived suite defines
//   static void SetUpTestSuite() { startService(options); }
//   static void TearDownTestSuite() { stopService(); }
class ServiceSuite : public ::testing::Test {
 protected:
  static void startService(ServiceOptions options = {});
  static void stopService();
  void SetUp() override;
  static SecurityService& service() { return *service_; }

  // Expects the service alive and `before` equal to a settled snapshot now.
  static void expectNothingChanged(const Snapshot& before, const std::string& what);
  // Expects no document row and no file in the documents folder more in `after`.
  static void expectNothingRendered(const Snapshot& before, const Snapshot& after);
  // The control of the template tests: security-render renders a harmless template (the shipped
  // five-minute briefing as templates/harmless.docx), so that the refusals before it mean
  // something.
  static void expectAHarmlessTemplateRenders();
  // Expects `run` to have failed within 20 s and kMaxRefusalRssKb, without printing the canary.
  static void expectCommandRefused(const CommandRun& run, const std::string& what);

 private:
  static std::unique_ptr<SecurityService> service_;
  static std::string start_error_;
};

// The fixture files' folder: tests/fixtures/security.
fs::path fixturePath(const std::string& relative);

}  // namespace sendflow::security::testing
