// Renders one benchmark case with sendflow and prints one JSON line of figures:
//   sendflow_docgen_bench TEMPLATE DATA.json ITERATIONS MIN_SECONDS [OUT]
// The template is compiled once; each iteration renders a complete document. The floor is the
// cost of writing the same output with no templating at all: the unchanged entries copied raw
// and only the changed part (word/document.xml, as rendered) deflated.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/archive/zip_reader.h"
#include "server/archive/zip_writer.h"
#include "server/docgen/template.h"

namespace {

using Clock = std::chrono::steady_clock;

long currentRssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}
long peakRssKb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

template <typename F>
double medianMs(int iterations, double min_seconds, F render) {
  std::vector<double> times;
  const auto started = Clock::now();
  for (int i = 0; i < iterations ||
                  std::chrono::duration<double>(Clock::now() - started).count() < min_seconds;
       ++i) {
    const auto t0 = Clock::now();
    render();
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: sendflow_docgen_bench TEMPLATE DATA.json ITERATIONS MIN_SECONDS [OUT]\n";
    return 2;
  }
  std::ifstream data_in(argv[2]);
  const nlohmann::json data = nlohmann::json::parse(data_in);
  const int iterations = std::atoi(argv[3]);
  const double min_seconds = std::atof(argv[4]);

  auto loaded = sendflow::docgen::Template::load(argv[1]);
  if (!loaded.isOk() || !loaded->problems().empty()) {
    std::cerr << (loaded.isOk() ? loaded->problems().front().toString()
                                : loaded.status().toString())
              << "\n";
    return 1;
  }
  const sendflow::docgen::Template& t = *loaded;
  const long rss_before = currentRssKb();
  std::string output;
  const auto first = Clock::now();
  {
    auto out = t.render(data);
    if (!out.isOk()) {
      std::cerr << out.status().toString() << "\n";
      return 1;
    }
    output = std::move(*out);
  }
  const double first_ms = std::chrono::duration<double, std::milli>(Clock::now() - first).count();
  const long peak_after_first = peakRssKb();
  if (argc > 5) std::ofstream(argv[5], std::ios::binary) << output;

  const double median = medianMs(iterations, min_seconds, [&] {
    auto out = t.render(data);
    if (!out.isOk()) std::abort();
  });

  // The floor: the same output's bytes, written with no templating.
  auto reader = sendflow::archive::ZipReader::openBuffer(output, "rendered");
  std::vector<sendflow::archive::RawZipEntry> unchanged;
  std::string document;
  for (const auto& entry : reader->entries()) {
    if (entry.name == "word/document.xml") {
      document = *reader->read(entry.name);
    } else {
      unchanged.push_back(*sendflow::archive::readRawEntry(*reader, entry.name));
    }
  }
  const double floor_median = medianMs(iterations, min_seconds, [&] {
    sendflow::archive::ZipWriter zip;
    for (const auto& raw : unchanged) (void)zip.copyRaw(raw);
    (void)zip.add("word/document.xml", document);
    if (!zip.close().isOk()) std::abort();
  });

  nlohmann::json line = {
      {"engine", "sendflow"},
      {"median_ms", median},
      {"docs_per_sec", 1000.0 / median},
      {"first_render_ms", first_ms},
      {"output_bytes", output.size()},
      {"document_xml_bytes", document.size()},
      {"peak_rss_kb", peak_after_first},
      {"render_peak_extra_kb", std::max(0L, peak_after_first - rss_before)},
      {"floor_median_ms", floor_median},
      {"floor_docs_per_sec", 1000.0 / floor_median},
  };
  std::cout << line.dump() << "\n";
  return 0;
}
