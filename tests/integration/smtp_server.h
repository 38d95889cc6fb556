#pragma once
// Runs tests/tools/smtp_server.py (aiosmtpd) on a free loopback port, keeping the messages it
// receives in a temporary folder; stops it and removes the folder on destruction. Also makes a
// self-signed certificate for its STARTTLS. Test-only helper.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Poco/TemporaryFile.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace sendflow::testing {

// One message the server accepted: the .eml text and its envelope.
struct ReceivedMail {
  std::string eml;
  std::string mail_from;
  std::vector<std::string> rcpt_tos;
  std::string user;  // the AUTH login; empty without one
  bool tls = false;
  int peer_port = 0;  // the client's port: equal for mails sent over one connection
};

// A self-signed certificate for 127.0.0.1 and localhost, made with `openssl req -x509`.
struct TestCertificate {
  std::string cert_file;
  std::string key_file;
};

class SmtpServer {
 public:
  struct Options {
    bool starttls = false;  // offer STARTTLS (a certificate is made)
    bool require_starttls = false;
    std::string auth;              // "user:password"; empty: no AUTH
    bool auth_login_only = false;  // offer AUTH LOGIN but not PLAIN
    int fail_first = 0;
    std::vector<std::string> reject;
  };

  explicit SmtpServer(const Options& options) {
    dir_ = Poco::TemporaryFile::tempName() + "-smtp";
    std::filesystem::create_directories(dir_ + "/mails");
    std::vector<std::string> args = {
        "/usr/bin/python3", std::string(SENDFLOW_SOURCE_DIR) + "/tests/tools/smtp_server.py",
        "--dir", dir_ + "/mails"};
    if (options.starttls) {
      certificate_ = makeCertificate(dir_);
      args.insert(args.end(),
                  {"--tls-cert", certificate_.cert_file, "--tls-key", certificate_.key_file});
    }
    if (options.require_starttls) args.push_back("--require-starttls");
    if (!options.auth.empty()) args.insert(args.end(), {"--auth", options.auth});
    if (options.auth_login_only) args.push_back("--auth-login-only");
    if (options.fail_first > 0) {
      args.insert(args.end(), {"--fail-first", std::to_string(options.fail_first)});
    }
    for (const std::string& r : options.reject) args.insert(args.end(), {"--reject", r});
    start(args);
  }
  ~SmtpServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  int port() const { return port_; }
  const TestCertificate& certificate() const { return certificate_; }
  std::string folder() const { return dir_ + "/mails"; }

  // Every message accepted so far, in order.
  std::vector<ReceivedMail> received() const {
    std::vector<ReceivedMail> out;
    std::ifstream log(dir_ + "/mails/messages.jsonl");
    std::string line;
    while (std::getline(log, line)) {
      if (line.empty()) continue;
      const nlohmann::json j = nlohmann::json::parse(line);
      ReceivedMail m;
      std::ifstream eml(dir_ + "/mails/" + j["file"].get<std::string>(), std::ios::binary);
      m.eml.assign(std::istreambuf_iterator<char>(eml), std::istreambuf_iterator<char>());
      m.mail_from = j["mail_from"].get<std::string>();
      m.rcpt_tos = j["rcpt_tos"].get<std::vector<std::string>>();
      if (j["user"].is_string()) m.user = j["user"].get<std::string>();
      m.tls = j["tls"].get<bool>();
      if (j.contains("peer_port") && j["peer_port"].is_number())
        m.peer_port = j["peer_port"].get<int>();
      out.push_back(std::move(m));
    }
    return out;
  }

 private:
  static TestCertificate makeCertificate(const std::string& dir) {
    TestCertificate c{dir + "/cert.pem", dir + "/key.pem"};
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '" +
        c.key_file + "' -out '" + c.cert_file + "' > '" + dir + "/openssl.log' 2>&1";
    if (std::system(command.c_str()) != 0) {
      throw std::runtime_error("openssl could not make a test certificate; see " + dir +
                               "/openssl.log (scripts/install-deps --test installs openssl)");
    }
    return c;
  }

  void start(const std::vector<std::string>& args) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    const std::string err_path = dir_ + "/server.err";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (err >= 0) ::dup2(err, STDERR_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<char*> argv;
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    stdout_fd_ = out[0];
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{stdout_fd_, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buf[64];
      const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
      if (n <= 0) break;  // the server exited
      line.append(buf, static_cast<std::size_t>(n));
    }
    try {
      port_ = std::stoi(line);
    } catch (const std::exception&) {
      std::ifstream err(err_path);
      std::stringstream text;
      text << err.rdbuf();
      throw std::runtime_error(
          "tests/tools/smtp_server.py did not start (it needs /usr/bin/python3 with "
          "python3-aiosmtpd: run scripts/install-deps --test): " +
          text.str());
    }
  }

  std::string dir_;
  TestCertificate certificate_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int port_ = 0;
};

}  // namespace sendflow::testing
