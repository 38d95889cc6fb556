// The ceiling of `bench/run http`: a bare Poco HTTPServer that answers the benchmarked URLs with
// the bytes sendflow answered them with (captured by the run script), and does nothing else: no
// routing table, no sign-in, no store, no logs.
//   bare_server TASKS_BODY_FILE COMPLETE_BODY_FILE [THREADS]
//     GET  /api/v1/tasks                   200, the content of TASKS_BODY_FILE
//     POST /api/v1/tasks/{id}/complete     reads the body, 200, the content of COMPLETE_BODY_FILE
//     anything else                        404
// Listens on 127.0.0.1 on a free port and prints {"port": N} on stdout; runs until SIGTERM.
#include <signal.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "bare_server: cannot read " << path << "\n";
    std::exit(2);
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(const std::string& tasks, const std::string& complete)
      : tasks_(tasks), complete_(complete) {}
  void handleRequest(Poco::Net::HTTPServerRequest& in,
                     Poco::Net::HTTPServerResponse& out) override {
    const std::string& uri = in.getURI();
    const std::string path = uri.substr(0, uri.find('?'));
    const std::string* body = nullptr;
    if (in.getMethod() == "GET" && path == "/api/v1/tasks") {
      body = &tasks_;
    } else if (in.getMethod() == "POST" && path.rfind("/api/v1/tasks/", 0) == 0 &&
               path.size() > 23 && path.compare(path.size() - 9, 9, "/complete") == 0) {
      std::string request_body;
      Poco::StreamCopier::copyToString(in.stream(), request_body);
      body = &complete_;
    }
    if (body == nullptr) {
      out.setStatus(Poco::Net::HTTPResponse::HTTP_NOT_FOUND);
      out.setContentLength(0);
      out.send();
      return;
    }
    out.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
    out.setContentType("application/json");
    out.setContentLength64(static_cast<Poco::Int64>(body->size()));
    out.send().write(body->data(), static_cast<std::streamsize>(body->size()));
  }

 private:
  const std::string& tasks_;
  const std::string& complete_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(std::string tasks, std::string complete)
      : tasks_(std::move(tasks)), complete_(std::move(complete)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler(tasks_, complete_);
  }

 private:
  std::string tasks_;
  std::string complete_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: bare_server TASKS_BODY_FILE COMPLETE_BODY_FILE [THREADS]\n";
    return 2;
  }
  const int threads = argc > 3 ? std::stoi(argv[3]) : 16;
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  Poco::Net::ServerSocket socket;
  socket.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true, false);
  socket.listen(64);
  auto* params = new Poco::Net::HTTPServerParams;
  // The same pool and keep-alive settings as sendflow's server (server/http/http_server.cpp).
  params->setMaxThreads(threads);
  params->setMaxQueued(256);
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(15, 0));
  params->setMaxKeepAliveRequests(0);
  Poco::Net::HTTPServer server(new Factory(readFile(argv[1]), readFile(argv[2])), socket, params);
  server.start();
  std::cout << "{\"port\": " << socket.address().port() << "}" << std::endl;
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  server.stopAll(true);
  return 0;
}
