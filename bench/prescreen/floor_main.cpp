// The floor of pre-screening: open each document's zip package, inflate its main XML part and
// parse it with libxml2's xmlTextReader, with no analysis at all. `bench/run prescreen` runs it
// beside `sendflow prescreen` on the same corpus to show what the analysis itself costs.
//
//   prescreen_floor [--jobs N] PATH...    prints one line: documents, nodes, seconds
#include <libxml/xmlreader.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "server/archive/zip_reader.h"
#include "server/prescreen/prescreen_run.h"

namespace {

// Returns the number of XML nodes read, or -1 when the document could not be read.
long parseOnly(const std::string& path) {
  auto package = sendflow::archive::ZipReader::openFile(path);
  if (!package.isOk()) return -1;
  const char* part = package->contains("word/document.xml") ? "word/document.xml" : "content.xml";
  auto xml = package->read(part);
  if (!xml.isOk()) return -1;
  xmlTextReaderPtr reader =
      xmlReaderForMemory(xml->data(), static_cast<int>(xml->size()), nullptr, nullptr,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (reader == nullptr) return -1;
  long nodes = 0;
  int result;
  while ((result = xmlTextReaderRead(reader)) == 1) ++nodes;
  xmlFreeTextReader(reader);
  return result < 0 ? -1 : nodes;
}

}  // namespace

int main(int argc, char** argv) {
  int jobs = 2;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--jobs" && i + 1 < argc) {
      jobs = std::max(1, std::atoi(argv[++i]));
    } else {
      paths.push_back(arg);
    }
  }
  if (paths.empty()) {
    std::fprintf(stderr, "usage: prescreen_floor [--jobs N] PATH...\n");
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  auto documents = sendflow::prescreen::collectDocuments(paths);
  if (!documents.isOk()) {
    std::fprintf(stderr, "prescreen_floor: %s\n", documents.status().message().c_str());
    return 1;
  }
  std::atomic<std::size_t> next{0};
  std::atomic<long> nodes{0}, failed{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < documents->size(); i = next++) {
      const long n = parseOnly((*documents)[i]);
      if (n < 0) {
        ++failed;
      } else {
        nodes += n;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < jobs; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("documents %zu nodes %ld unreadable %ld seconds %.3f\n", documents->size(),
              nodes.load(), failed.load(), seconds);
  return 0;
}
