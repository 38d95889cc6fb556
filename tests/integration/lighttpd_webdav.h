#pragma once
// Starts a real lighttpd with mod_webdav (and mod_auth Basic) on a free loopback port, serving a
// temporary directory; stops it and removes the directory on destruction. Test-only helper.

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/TemporaryFile.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace sendflow::testing {

class LighttpdWebDav {
 public:
  static constexpr const char* kUser = "auditor";
  static constexpr const char* kPassword = "correct-horse";

  LighttpdWebDav() {
    dir_ = Poco::TemporaryFile::tempName();
    std::filesystem::create_directories(dir_ + "/docs");
    {
      Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
      port_ = probe.address().port();
    }
    std::ofstream(dir_ + "/users") << kUser << ":" << kPassword << "\n";
    std::ofstream conf(dir_ + "/lighttpd.conf");
    conf << "server.document-root = \"" << dir_ << "/docs\"\n"
         << "server.bind = \"127.0.0.1\"\n"
         << "server.port = " << port_ << "\n"
         << "server.modules = (\"mod_webdav\", \"mod_auth\", \"mod_authn_file\")\n"
         << "server.errorlog = \"" << dir_ << "/error.log\"\n"
         << "webdav.activate = \"enable\"\n"
         << "webdav.is-readonly = \"disable\"\n"
         << "webdav.sqlite-db-name = \"" << dir_ << "/properties.db\"\n"
         << "auth.backend = \"plain\"\n"
         << "auth.backend.plain.userfile = \"" << dir_ << "/users\"\n"
         << "auth.require = (\"/\" => (\"method\" => \"basic\", \"realm\" => \"intranet\", "
            "\"require\" => \"valid-user\"))\n";
    conf.close();
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string conf_path = dir_ + "/lighttpd.conf";
      ::execlp("lighttpd", "lighttpd", "-D", "-f", conf_path.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      try {
        Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", port_));
        return;
      } catch (...) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    throw std::runtime_error("lighttpd with mod_webdav did not start; see " + dir_ + "/error.log");
  }
  ~LighttpdWebDav() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  LighttpdWebDav(const LighttpdWebDav&) = delete;
  LighttpdWebDav& operator=(const LighttpdWebDav&) = delete;

  std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string documentRoot() const { return dir_ + "/docs"; }

 private:
  std::string dir_;
  unsigned short port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace sendflow::testing
