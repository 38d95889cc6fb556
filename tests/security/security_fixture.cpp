#include "tests/security/security_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <Poco/Base64Decoder.h>
#include <Poco/SHA2Engine.h>
#include <sqlite3.h>

#include "server/archive/zip_reader.h"
#include "server/auth/api_keys.h"

namespace sendflow::security::testing {

namespace {

using Clock = std::chrono::steady_clock;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string randomHex(std::size_t bytes) {
  std::random_device device;
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    const unsigned v = device() & 0xff;
    out += kHex[v >> 4];
    out += kHex[v & 0x0f];
  }
  return out;
}

// Decodes a chunked body; what cannot be decoded is returned as it came.
std::string dechunk(const std::string& raw) {
  std::string out;
  std::size_t pos = 0;
  while (pos < raw.size()) {
    const std::size_t line_end = raw.find("\r\n", pos);
    if (line_end == std::string::npos) return raw;
    std::size_t size = 0;
    try {
      size = std::stoul(raw.substr(pos, line_end - pos), nullptr, 16);
    } catch (const std::exception&) {
      return raw;
    }
    if (size == 0) return out;
    pos = line_end + 2;
    if (pos + size > raw.size()) return raw;
    out.append(raw, pos, size);
    pos += size + 2;
  }
  return out;
}

HttpReply parseReply(const std::string& raw) {
  HttpReply reply;
  const std::size_t head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/", 0) != 0 || head_end == std::string::npos) return reply;
  std::istringstream head(raw.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  const std::size_t space = line.find(' ');
  if (space == std::string::npos) return reply;
  try {
    reply.status = std::stoi(line.substr(space + 1, 3));
  } catch (const std::exception&) {
    return reply;
  }
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(value.begin());
    reply.headers.emplace_back(line.substr(0, colon), value);
  }
  reply.body = raw.substr(head_end + 4);
  if (lower(reply.header("Transfer-Encoding")).find("chunked") != std::string::npos) {
    reply.body = dechunk(reply.body);
  }
  return reply;
}

// Whether `raw` holds a whole answer (head and, by Content-Length or the chunked end, body).
bool complete(const std::string& raw, bool head_request) {
  const std::size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  if (head_request) return true;
  const std::string head = lower(raw.substr(0, head_end));
  const std::size_t length_at = head.find("\r\ncontent-length:");
  if (length_at != std::string::npos) {
    const std::size_t n = std::strtoul(head.c_str() + length_at + 17, nullptr, 10);
    return raw.size() >= head_end + 4 + n;
  }
  if (head.find("transfer-encoding: chunked") != std::string::npos) {
    return raw.find("\r\n0\r\n\r\n", head_end) != std::string::npos;
  }
  return false;  // until the server closes
}

std::string sendflowBinary() { return std::string(SENDFLOW_BINARY_DIR) + "/sendflow"; }

// Starts the built sendflow with `args` in `cwd`, stdout and stderr into the two files; the
// child's pid, -1 when fork failed.
pid_t spawnSendflow(const std::vector<std::string>& args, const fs::path& cwd,
                    const fs::path& out_file, const fs::path& err_file) {
  std::vector<std::string> all = {sendflowBinary()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || ::chdir(cwd.c_str()) != 0) ::_exit(127);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

// ---- HTTP ------------------------------------------------------------------------------------

std::string HttpReply::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (lower(k) == lower(name)) return v;
  }
  return "";
}

std::vector<std::string> HttpReply::all(const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (lower(k) == lower(name)) out.push_back(v);
  }
  return out;
}

json HttpReply::parsed() const { return json::parse(body, nullptr, false); }

std::string HttpReply::summary() const {
  return std::to_string(status) + " " + body.substr(0, 300);
}

HttpReply send(int port, const HttpCall& call, std::chrono::milliseconds timeout) {
  std::string head = call.method + " " + call.target +
                     " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                     "\r\nConnection: close\r\n";
  for (const auto& [k, v] : call.headers) head += k + ": " + v + "\r\n";
  std::string body = call.body;
  if (call.chunked) {
    head += "Transfer-Encoding: chunked\r\n";
    std::string chunked;
    for (std::size_t at = 0; at < body.size(); at += 65536) {
      const std::size_t n = std::min<std::size_t>(65536, body.size() - at);
      std::ostringstream size;
      size << std::hex << n;
      chunked += size.str() + "\r\n" + body.substr(at, n) + "\r\n";
    }
    body = chunked + "0\r\n\r\n";
  } else if (!body.empty() || call.method == "POST" || call.method == "PUT") {
    head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  head += "\r\n";

  HttpReply reply;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return reply;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return reply;
  }
  const auto deadline = Clock::now() + timeout;
  auto remaining = [&] {
    return static_cast<int>(std::max<long long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count()));
  };
  const std::string out = head + body;
  std::size_t sent = 0;
  while (sent < out.size() && remaining() > 0) {
    pollfd p{fd, POLLIN | POLLOUT, 0};
    if (::poll(&p, 1, remaining()) <= 0) break;
    if (p.revents & (POLLIN | POLLERR | POLLHUP)) break;  // answered before the body was read
    const ssize_t n = ::send(fd, out.data() + sent, std::min<std::size_t>(65536, out.size() - sent),
                             MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buffer[65536];
  while (remaining() > 0 && !complete(raw, call.method == "HEAD")) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, remaining()) <= 0) break;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    raw.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return parseReply(raw);
}

std::string percentEncode(const std::string& text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0f];
    }
  }
  return out;
}

std::string formBody(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    out += (out.empty() ? "" : "&") + percentEncode(k) + "=" + percentEncode(v);
  }
  return out;
}

std::string csrfOf(const std::string& html, const std::string& action) {
  std::size_t from = 0;
  if (!action.empty()) {
    from = html.find("action=\"" + action + "\"");
    if (from == std::string::npos) return "";
  }
  const std::string marker = "name=\"csrf_token\" value=\"";
  const std::size_t at = html.find(marker, from);
  if (at == std::string::npos) return "";
  const std::size_t start = at + marker.size();
  return html.substr(start, html.find('"', start) - start);
}

// ---- the command line ------------------------------------------------------------------------

CommandRun runSendflow(const std::vector<std::string>& args, const fs::path& cwd,
                       std::chrono::seconds timeout) {
  CommandRun run;
  const std::string tag = randomHex(6);
  const fs::path out_file = fs::temp_directory_path() / ("sendflow-security-out-" + tag);
  const fs::path err_file = fs::temp_directory_path() / ("sendflow-security-err-" + tag);
  const auto started = Clock::now();
  const pid_t pid = spawnSendflow(args, cwd, out_file, err_file);
  if (pid < 0) return run;
  int status = 0;
  rusage usage{};
  while (true) {
    const pid_t done = ::wait4(pid, &status, WNOHANG, &usage);
    if (done == pid) break;
    if (Clock::now() - started > timeout) {
      run.timed_out = true;
      ::kill(pid, SIGKILL);
      ::wait4(pid, &status, 0, &usage);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  run.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.max_rss_kb = usage.ru_maxrss;
  run.out = readFile(out_file);
  run.err = readFile(err_file);
  fs::remove(out_file);
  fs::remove(err_file);
  return run;
}

core::StatusOr<std::unique_ptr<ServeProcess>> ServeProcess::start(const fs::path& dir,
                                                                  const fs::path& config) {
  std::unique_ptr<ServeProcess> p(new ServeProcess());
  p->dir_ = dir;
  const fs::path out_file = dir / "serve.out";
  const pid_t pid =
      spawnSendflow({"--config", config.string(), "serve"}, dir, out_file, dir / "serve.log");
  if (pid < 0) return core::internalError("fork failed");
  p->pid_ = pid;
  const std::string marker = "serving on http://127.0.0.1:";
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (p->port_ == 0 && Clock::now() < deadline) {
    const std::string out = readFile(out_file);
    const std::size_t at = out.find(marker);
    if (at != std::string::npos) {
      p->port_ = std::atoi(out.c_str() + at + marker.size());
      break;
    }
    if (!p->alive()) {
      return core::unavailable("sendflow serve exited before serving: " + p->log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (p->port_ == 0) return core::deadlineExceeded("sendflow serve did not start: " + p->log());
  return p;
}

ServeProcess::~ServeProcess() { stop(); }

bool ServeProcess::alive() {
  if (exited_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exited_ = true;
    exit_status_ = status;
    return false;
  }
  return true;
}

std::string ServeProcess::log() const { return readFile(dir_ / "serve.log"); }

long ServeProcess::peakRssKb() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

int ServeProcess::stop() {
  if (pid_ <= 0 || !alive()) return exit_status_;
  ::kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  int status = 0;
  while (Clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_status_ = status;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  exited_ = true;
  exit_status_ = status;
  return status;
}

// ---- snapshots -------------------------------------------------------------------------------

std::string sha256Hex(const std::string& bytes) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(bytes);
  return Poco::DigestEngine::digestToHex(engine.digest());
}

std::string searchableContent(const fs::path& path) {
  std::string bytes = readFile(path);
  auto package = archive::ZipReader::openBuffer(bytes, path.filename().string());
  if (!package.isOk()) return bytes;
  std::string all = bytes;
  for (const archive::ZipEntry& entry : package->entries()) {
    auto part = package->read(entry.name);
    if (part.isOk()) all += "\n" + *part;
  }
  return all;
}

std::string decodeQuotedPrintable(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '=') {
      out += text[i];
    } else if (text.compare(i, 3, "=\r\n") == 0) {
      i += 2;
    } else if (text.compare(i, 2, "=\n") == 0) {
      i += 1;
    } else if (i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string decodeEncodedWords(const std::string& line) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t start = line.find("=?UTF-8?B?", pos);
    const std::size_t end = start == std::string::npos ? start : line.find("?=", start + 10);
    if (end == std::string::npos) {
      out += line.substr(pos);
      return out;
    }
    out += line.substr(pos, start - pos);
    std::istringstream encoded(line.substr(start + 10, end - start - 10));
    Poco::Base64Decoder decoder(encoded);
    out += std::string(std::istreambuf_iterator<char>(decoder), {});
    pos = end + 2;
  }
}

std::vector<std::string> headerLines(const std::string& message) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < message.size()) {
    std::size_t end = message.find('\n', pos);
    if (end == std::string::npos) end = message.size();
    std::string line = message.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !lines.empty()) {
      lines.back() += line;
    } else {
      lines.push_back(line);
    }
  }
  return lines;
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

void writeFile(const fs::path& path, const std::string& bytes) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string Snapshot::differences(const Snapshot& after) const {
  std::string out;
  std::set<std::string> keys;
  for (const auto& [k, v] : items) keys.insert(k);
  for (const auto& [k, v] : after.items) keys.insert(k);
  for (const std::string& key : keys) {
    const auto was = items.find(key);
    const auto now = after.items.find(key);
    if (was == items.end()) {
      out += "  added: " + key + "\n";
    } else if (now == after.items.end()) {
      out += "  removed: " + key + "\n";
    } else if (was->second != now->second) {
      out += "  changed: " + key + "\n";
      if (key.rfind("table ", 0) != 0) continue;
      // The rows only in one of the two.
      std::multiset<std::string> before_rows, after_rows;
      std::istringstream b(was->second), a(now->second);
      std::string row;
      while (std::getline(b, row)) before_rows.insert(row);
      while (std::getline(a, row)) after_rows.insert(row);
      int shown = 0;
      for (const std::string& r : before_rows) {
        if (after_rows.count(r) == 0 && shown++ < 5) out += "    - " + r.substr(0, 300) + "\n";
      }
      for (const std::string& r : after_rows) {
        if (before_rows.count(r) == 0 && shown++ < 10) out += "    + " + r.substr(0, 300) + "\n";
      }
    }
  }
  return out;
}

Snapshot takeSnapshot(const fs::path& database, const std::map<std::string, fs::path>& folders) {
  Snapshot s;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(database.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    std::vector<std::string> tables;
    sqlite3_stmt* list = nullptr;
    sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", -1,
                       &list, nullptr);
    while (list != nullptr && sqlite3_step(list) == SQLITE_ROW) {
      tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(list, 0)));
    }
    sqlite3_finalize(list);
    for (const std::string& table : tables) {
      const std::string columns =
          table == "users" ? "id, name, email, roles, source" : std::string("*");
      sqlite3_stmt* rows = nullptr;
      const std::string sql = "SELECT " + columns + " FROM \"" + table + "\" ORDER BY rowid";
      if (sqlite3_prepare_v2(db, sql.c_str(), -1, &rows, nullptr) != SQLITE_OK) {
        s.items["table " + table] = std::string("(unreadable: ") + sqlite3_errmsg(db) + ")";
        continue;
      }
      std::string text;
      while (sqlite3_step(rows) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(rows); ++c) {
          const auto* bytes = static_cast<const char*>(sqlite3_column_blob(rows, c));
          const int n = sqlite3_column_bytes(rows, c);
          std::string value = bytes == nullptr ? "NULL" : std::string(bytes, n);
          std::replace(value.begin(), value.end(), '\n', ' ');
          text += (c ? " | " : "") + value;
        }
        text += "\n";
      }
      sqlite3_finalize(rows);
      s.items["table " + table] = text;
    }
  } else {
    s.items["table (none)"] = "the store cannot be opened";
  }
  sqlite3_close(db);
  for (const auto& [label, root] : folders) {
    std::error_code ec;
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      s.items["file " + label + "/" + fs::relative(it->path(), root).string()] =
          sha256Hex(readFile(it->path()));
    }
  }
  return s;
}

// ---- the service -----------------------------------------------------------------------------

const std::vector<std::string>& SecurityService::keyRoles() {
  static const std::vector<std::string> kRoles = {"qa-lead", "auditor", "manager", "admin"};
  return kRoles;
}

core::StatusOr<std::unique_ptr<SecurityService>> SecurityService::start(ServiceOptions options) {
  std::unique_ptr<SecurityService> s(new SecurityService());
  char tmpl[] = "/tmp/sendflow-security-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return core::internalError("mkdtemp failed");
  s->dir_ = tmpl;
  const fs::path& dir = s->dir_;
  s->canary_ = "sendflow-canary-" + randomHex(16);
  writeFile(s->canaryFile(), s->canary_ + "\n");
  fs::create_directories(dir / "workflows");
  fs::create_directories(dir / "templates");
  for (const auto& entry : fs::directory_iterator(fixturePath("workflows"))) {
    fs::copy_file(entry.path(), dir / "workflows" / entry.path().filename());
  }

  std::map<std::string, std::string> p = {
      {"store.type", "sqlite"},
      {"store.sqlite.path", (dir / "var/sendflow.db").string()},
      {"workflows.dir", (dir / "workflows").string()},
      {"templates.dir", (dir / "templates").string()},
      {"documents.dir", (dir / "var/documents").string()},
      {"http.address", "127.0.0.1"},
      {"http.port", "0"},
      {"engine.workers", "2"},
      {"engine.poll_interval", "100ms"},
      {"engine.inline_jobs", "true"},
      {"deployment.environment", "development"},
      {"auth.mode", "development"},
      {"auth.dev.users", fixturePath("users.json").string()},
      {"auth.session.secret_file", (dir / "var/session.secret").string()},
      {"mail.transport", "folder"},
      {"mail.outbox.dir", (dir / "var/outbox").string()},
      {"mail.from", "sendflow@council.example"},
      {"mail.retry.initial", "1s"},
      {"mail.retry.attempts", "2"},
      {"connector.type", "folder"},
      {"connector.folder.root", (dir / "intranet").string()},
      {"connector.library", "SEND Library"},
      {"connector.page_size", "100"},
      {"connector.fields.locality", "Locality"},
      {"connector.fields.finalised_date", "DateFinalised"},
      {"connector.fields.request_date", "RequestDate"},
      {"connector.fields.review_date", "ReviewDue"},
      {"connector.fields.caseworker", "Caseworker"},
      {"connector.fields.contributors", "Contributors"},
      {"connector.fields.year_group", "YearGroup"},
      {"connector.fields.setting", "Setting"},
      {"connector.fields.document_type", "DocumentType"},
      {"sample.first_start", options.sample_library ? "true" : "false"},
      {"sample.plans", "4"},
      {"council.name", "Sample Council"},
      {"metrics.token", "scrape-" + randomHex(8)},
  };
  for (const std::string& role : keyRoles()) {
    std::string name = role;
    name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
    const auth::GeneratedKey key = auth::ApiKeys::generate(name);
    s->keys_[role] = key.key;
    p["auth.api_key." + name + ".sha256"] = key.sha256_line.substr(key.sha256_line.find("= ") + 2);
    p["auth.api_key." + name + ".roles"] = role;
  }
  for (const auto& [k, v] : options.properties) p[k] = v;
  for (const auto& [relative, content] : options.files) {
    writeFile(dir / relative, replaced(content, "@CANARY_FILE@", s->canaryFile().string()));
  }
  std::string properties;
  for (const auto& [k, v] : p) properties += k + " = " + v + "\n";
  writeFile(s->configPath(), properties);

  auto process = ServeProcess::start(dir, s->configPath());
  if (!process.isOk()) return process.status();
  s->process_ = std::move(*process);
  // Ready when /readyz says so (the store answers, workflows are loaded).
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (s->request({"GET", "/readyz"}).status != 200) {
    if (Clock::now() > deadline) return core::unavailable("/readyz never answered 200");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Every key and every person signs in once, so that the directory's note of a first sign-in
  // is not taken for the effect of an attack.
  for (const std::string& role : keyRoles()) {
    if (s->api("GET", "/api/v1/me", role).status != 200) {
      return core::unavailable("the API key for " + role + " is refused");
    }
  }
  const bool development = p["auth.mode"] == "development";
  auto users = json::parse(readFile(fixturePath("users.json")), nullptr, false);
  for (const json& user : development ? users.value("users", json::array()) : json::array()) {
    if (s->signIn(user.value("id", "")).empty()) {
      return core::unavailable("the development sign-in refused " + user.dump());
    }
  }
  return s;
}

SecurityService::~SecurityService() {
  if (process_) process_->stop();
  std::error_code ec;
  if (std::getenv("SENDFLOW_SECURITY_KEEP") == nullptr) fs::remove_all(dir_, ec);
}

const std::string& SecurityService::apiKey(const std::string& role) const {
  static const std::string kNone;
  const auto it = keys_.find(role);
  return it == keys_.end() ? kNone : it->second;
}

HttpReply SecurityService::api(const std::string& method, const std::string& path,
                               const std::string& role, const json& body) const {
  HttpCall call{method, path};
  if (!role.empty()) call.headers.emplace_back("Authorization", "Bearer " + apiKey(role));
  if (!body.is_null()) {
    call.headers.emplace_back("Content-Type", "application/json");
    call.body = body.dump();
  }
  return request(call);
}

std::string SecurityService::signIn(const std::string& user) const {
  const HttpReply form = request({"GET", "/sign-in"});
  std::string form_cookie;
  for (const std::string& set : form.all("Set-Cookie")) {
    if (set.rfind("sendflow_sign_in_form=", 0) == 0) form_cookie = set.substr(0, set.find(';'));
  }
  const std::string csrf = csrfOf(form.body, "/sign-in");
  if (form_cookie.empty() || csrf.empty()) return "";
  HttpCall post{"POST", "/sign-in"};
  post.headers = {{"Cookie", form_cookie}, {"Content-Type", "application/x-www-form-urlencoded"}};
  post.body = formBody({{"csrf_token", csrf}, {"user", user}, {"return", "/tasks"}});
  const HttpReply signed_in = request(post);
  for (const std::string& set : signed_in.all("Set-Cookie")) {
    if (set.rfind("sendflow_session=", 0) == 0 && set.find("Max-Age=0") == std::string::npos) {
      return set.substr(0, set.find(';'));
    }
  }
  return "";
}

HttpReply SecurityService::page(
    const std::string& method, const std::string& path, const std::string& cookie,
    const std::vector<std::pair<std::string, std::string>>& form) const {
  HttpCall call{method, path};
  if (!cookie.empty()) call.headers.emplace_back("Cookie", cookie);
  if (method == "POST") {
    call.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    call.body = formBody(form);
  }
  return request(call);
}

core::StatusOr<std::string> SecurityService::startReview(const json& input) const {
  const HttpReply r = api("POST", "/api/v1/instances", "qa-lead",
                          {{"workflow", "security-review"}, {"input", input}});
  const json body = r.parsed();
  if (r.status != 201 || !body.is_object() || !body.contains("id")) {
    return core::internalError("starting security-review: " + r.summary());
  }
  return body["id"].get<std::string>();
}

core::StatusOr<std::string> SecurityService::openTask(const std::string& instance,
                                                      const std::string& step) const {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  std::string last;
  while (Clock::now() < deadline) {
    const HttpReply r = api("GET", "/api/v1/instances/" + instance, "admin");
    last = r.summary();
    const json body = r.parsed();
    if (body.is_object() && body.contains("tasks")) {
      for (const json& t : body["tasks"]) {
        if (t.value("step_id", "") == step && t.value("status", "") == "open")
          return t["id"].get<std::string>();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return core::notFound("no open task '" + step + "' in " + instance + ": " + last);
}

core::Status SecurityService::completeReview(const std::string& instance, const json& data) const {
  SENDFLOW_ASSIGN_OR_RETURN(const std::string task, openTask(instance, "review"));
  const HttpReply claimed =
      api("POST", "/api/v1/tasks/" + task + "/claim", "auditor", json::object());
  if (claimed.status != 200) return core::internalError("claim: " + claimed.summary());
  const HttpReply done = api("POST", "/api/v1/tasks/" + task + "/complete", "auditor", data);
  if (done.status != 200) return core::internalError("complete: " + done.summary());
  return core::Status::ok();
}

core::Status SecurityService::renderTemplates(const std::vector<std::string>& names) const {
  for (const std::string& name : names) {
    const HttpReply r = api("POST", "/api/v1/instances", "qa-lead",
                            {{"workflow", "security-render"}, {"input", {{"template", name}}}});
    if (r.status != 201) return core::internalError("starting security-render: " + r.summary());
  }
  return core::Status::ok();
}

std::vector<fs::path> SecurityService::outboxFiles() const {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir_ / "var/outbox", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().extension() == ".eml") out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool SecurityService::waitForOutbox(std::size_t count) const {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (outboxFiles().size() < count) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

std::vector<SecurityService::ApprovalMail> SecurityService::approvalMails() const {
  std::vector<ApprovalMail> out;
  const std::string marker = "/approvals/";
  for (const fs::path& file : outboxFiles()) {
    const std::string message = decodeQuotedPrintable(readFile(file));
    std::vector<std::string> tokens;
    for (std::size_t at = message.find(marker); at != std::string::npos;
         at = message.find(marker, at + 1)) {
      const std::string token = message.substr(at + marker.size(), 43);
      if (token.size() == 43 && std::find(tokens.begin(), tokens.end(), token) == tokens.end() &&
          std::all_of(token.begin(), token.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
          })) {
        tokens.push_back(token);
      }
    }
    if (tokens.size() < 2) continue;
    ApprovalMail mail{file, "", tokens[0], tokens[1]};
    for (const std::string& line : headerLines(message)) {
      if (line.rfind("To: ", 0) == 0) mail.to = line.substr(4);
    }
    out.push_back(mail);
  }
  return out;
}

Snapshot SecurityService::snapshot() const {
  return takeSnapshot(dir_ / "var/sendflow.db", {{"outbox", dir_ / "var/outbox"},
                                                 {"documents", dir_ / "var/documents"},
                                                 {"library", dir_ / "intranet"},
                                                 {"templates", dir_ / "templates"},
                                                 {"workflows", dir_ / "workflows"},
                                                 {"outside", dir_ / "outside"}});
}

Snapshot SecurityService::settledSnapshot() const {
  Snapshot last = snapshot();
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    Snapshot now = snapshot();
    if (now == last) return now;
    last = std::move(now);
  }
  return last;
}

bool SecurityService::canaryLeaked() const {
  if (process_->log().find(canary_) != std::string::npos) return true;
  for (const auto& [key, value] : snapshot().items) {
    if (key.rfind("table ", 0) == 0 && value.find(canary_) != std::string::npos) return true;
  }
  for (const fs::path& folder : {dir_ / "var/outbox", dir_ / "var/documents"}) {
    std::error_code ec;
    for (fs::recursive_directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file() &&
          searchableContent(it->path()).find(canary_) != std::string::npos) {
        return true;
      }
    }
  }
  return false;
}

CommandRun SecurityService::cli(const std::vector<std::string>& args,
                                std::chrono::seconds timeout) const {
  std::vector<std::string> all = {"--config", configPath().string()};
  all.insert(all.end(), args.begin(), args.end());
  return runSendflow(all, dir_, timeout);
}

// ---- the suite -------------------------------------------------------------------------------

std::unique_ptr<SecurityService> ServiceSuite::service_;
std::string ServiceSuite::start_error_;

void ServiceSuite::startService(ServiceOptions options) {
  auto started = SecurityService::start(std::move(options));
  if (started.isOk()) {
    service_ = std::move(*started);
    start_error_.clear();
  } else {
    start_error_ = started.status().toString();
  }
}

void ServiceSuite::stopService() { service_.reset(); }

void ServiceSuite::SetUp() { ASSERT_NE(service_, nullptr) << start_error_; }

void ServiceSuite::expectNothingChanged(const Snapshot& before, const std::string& what) {
  EXPECT_TRUE(service_->process().alive()) << what << ": the service is gone\n"
                                           << service_->process().log();
  const Snapshot after = service_->settledSnapshot();
  EXPECT_TRUE(before == after) << what << " changed the service's state:\n"
                               << before.differences(after);
}

void ServiceSuite::expectNothingRendered(const Snapshot& before, const Snapshot& after) {
  EXPECT_EQ(before.items.at("table documents"), after.items.at("table documents"))
      << "a hostile template was rendered";
  for (const auto& [key, value] : after.items) {
    if (key.rfind("file documents/", 0) == 0) ADD_FAILURE() << "a document was written: " << key;
  }
}

void ServiceSuite::expectAHarmlessTemplateRenders() {
  writeFile(service_->dir() / "templates" / "harmless.docx",
            readFile(fs::path(SENDFLOW_SOURCE_DIR) / "templates/five-minute-briefing.docx"));
  const Snapshot before = service_->settledSnapshot();
  const core::Status started = service_->renderTemplates({"harmless.docx"});
  ASSERT_TRUE(started.isOk()) << started.toString();
  EXPECT_NE(service_->settledSnapshot().items.at("table documents"),
            before.items.at("table documents"))
      << "the control rendered nothing: the refusals before it prove nothing";
}

void ServiceSuite::expectCommandRefused(const CommandRun& run, const std::string& what) {
  EXPECT_NE(run.exit_code, 0) << what << " was accepted: " << run.out << run.err;
  EXPECT_FALSE(run.timed_out) << what << " ran past its time";
  EXPECT_LT(run.seconds, 20) << what;
  EXPECT_LT(run.max_rss_kb, kMaxRefusalRssKb) << what << " took " << run.max_rss_kb << " KB";
  EXPECT_EQ((run.out + run.err).find(service_->canary()), std::string::npos)
      << what << " printed the canary";
}

fs::path fixturePath(const std::string& relative) {
  return fs::path(SENDFLOW_SOURCE_DIR) / "tests/fixtures/security" / relative;
}

}  // namespace sendflow::security::testing
