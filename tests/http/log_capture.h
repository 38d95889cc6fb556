#pragma once
// An ostream that a server under test writes its access log to while the test reads it: every
// write and every read of the text takes the same lock.

#include <chrono>
#include <mutex>
#include <ostream>
#include <sstream>
#include <streambuf>
#include <string>
#include <thread>

namespace sendflow::http {

class LogCapture {
 public:
  LogCapture() : stream_(&buffer_) {}
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::ostream& stream() { return stream_; }
  std::string text() { return buffer_.text(); }

  // Waits (up to 2 s) until a line containing `needle` is written; "" when none is.
  std::string waitForLine(const std::string& needle) {
    for (int i = 0; i < 200; ++i) {
      std::istringstream lines(text());
      std::string line;
      while (std::getline(lines, line)) {
        if (line.find(needle) != std::string::npos) return line;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return "";
  }

 private:
  class Buffer final : public std::streambuf {
   public:
    std::string text() {
      std::lock_guard<std::mutex> lock(mutex_);
      return text_;
    }

   protected:
    int_type overflow(int_type c) override {
      if (c == traits_type::eof()) return traits_type::not_eof(c);
      std::lock_guard<std::mutex> lock(mutex_);
      text_.push_back(static_cast<char>(c));
      return c;
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
      std::lock_guard<std::mutex> lock(mutex_);
      text_.append(s, static_cast<std::size_t>(n));
      return n;
    }

   private:
    std::mutex mutex_;
    std::string text_;  // guarded by mutex_
  };

  Buffer buffer_;
  std::ostream stream_;
};

}  // namespace sendflow::http
