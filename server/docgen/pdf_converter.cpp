#include "server/docgen/pdf_converter.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>
#include <vector>

extern char** environ;

namespace sendflow::docgen {

core::Status convertToPdf(const std::filesystem::path& input, const std::filesystem::path& output,
                          const PdfOptions& options) {
  std::error_code ec;
  std::random_device random;
  const auto work = std::filesystem::temp_directory_path(ec) /
                    ("sendflow-pdf-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
  std::filesystem::create_directories(work / "profile", ec);
  if (ec)
    return core::unavailable("cannot create a working folder for LibreOffice: " + ec.message());
  const std::string profile = "-env:UserInstallation=file://" + (work / "profile").string();
  const std::string source = std::filesystem::absolute(input).string();
  const std::string outdir = work.string();
  std::vector<std::string> args = {options.soffice, profile,        "--headless",
                                   "--norestore",   "--convert-to", "pdf",
                                   "--outdir",      outdir,         source};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc =
      posix_spawnp(&pid, options.soffice.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  auto cleanup = [&] { std::filesystem::remove_all(work, ec); };
  if (rc != 0) {
    cleanup();
    return core::unavailable("LibreOffice ('" + options.soffice +
                             "') is not installed; cannot make a PDF");
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_seconds);
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      cleanup();
      return core::deadlineExceeded("LibreOffice did not finish converting " + input.string() +
                                    " within " + std::to_string(options.timeout_seconds) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto produced = work / (input.stem().string() + ".pdf");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !std::filesystem::exists(produced)) {
    cleanup();
    return core::unavailable("LibreOffice could not convert " + input.string() + " to PDF");
  }
  std::filesystem::copy_file(produced, output, std::filesystem::copy_options::overwrite_existing,
                             ec);
  cleanup();
  if (ec) return core::unavailable("cannot write " + output.string() + ": " + ec.message());
  return core::Status::ok();
}

}  // namespace sendflow::docgen
