// Zip bombs and zip-slip in templates: DOCX and ODT packages whose part inflates to gigabytes
// (with an honest header, and with a header that lies about the size), whose compression ratio
// gives them away, that hold too many entries, or whose entries are named to land outside the
// package (../../x, absolute paths, backslashes). Each is refused by `sendflow template check`,
// `render` and `prescreen`, and by a workflow's document.render in `serve`, in bounded time and
// memory, with nothing written anywhere.
#include <zlib.h>

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/archive/zip_writer.h"
#include "tests/docgen/package_builder.h"
#include "tests/security/security_fixture.h"

namespace sendflow::security::testing {
namespace {

using docgen::testing::makeDocx;
using docgen::testing::makeOdt;

// A raw deflate stream that inflates to `megabytes` MiB of spaces, made in milliseconds: one
// MiB compressed after a full flush (so it starts byte-aligned with an empty history) repeated,
// then an empty final block. Its CRC-32 goes to `crc`.
std::string deflatedSpaces(std::size_t megabytes, std::uint32_t& crc) {
  const std::string chunk(1 << 20, ' ');
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
  std::string out(1 << 16, '\0');
  auto pass = [&](const std::string& in, int flush) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, flush);
    return out.substr(0, out.size() - z.avail_out);
  };
  pass(chunk, Z_FULL_FLUSH);                           // the first chunk may differ; skip it
  const std::string unit = pass(chunk, Z_FULL_FLUSH);  // what every later chunk compresses to
  const std::string end = pass("", Z_FINISH);
  deflateEnd(&z);
  std::string stream;
  stream.reserve(unit.size() * megabytes + end.size());
  const uLong chunk_crc = crc32(0, reinterpret_cast<const Bytef*>(chunk.data()), chunk.size());
  uLong total = crc32(0, nullptr, 0);
  for (std::size_t i = 0; i < megabytes; ++i) {
    stream += unit;
    total = crc32_combine(total, chunk_crc, static_cast<z_off_t>(chunk.size()));
  }
  crc = static_cast<std::uint32_t>(total);
  return stream + end;
}

// A DOCX whose word/document.xml is `entry` (name and sizes as given), the rest ordinary.
std::string docxWithRawDocument(const archive::RawZipEntry& entry) {
  const std::string plain = makeDocx("<w:p><w:r><w:t>{{title}}</w:t></w:r></w:p>");
  auto reader = archive::ZipReader::openBuffer(plain, "plain.docx");
  archive::ZipWriter writer;
  for (const archive::ZipEntry& e : reader->entries()) {
    if (e.name == "word/document.xml") continue;
    (void)writer.copyRaw(*archive::readRawEntry(*reader, e.name));
  }
  (void)writer.copyRaw(entry);
  return writer.close().value();
}

struct Package {
  std::string name;
  std::string bytes;
};

std::vector<Package> bombs() {
  std::vector<Package> out;
  std::uint32_t crc = 0;
  // 2 GiB of spaces in 2 MB: an honest header says so.
  const std::string two_gigabytes = deflatedSpaces(2048, crc);
  const std::uint32_t two_gigabytes_crc = crc;
  out.push_back({"bomb.docx", docxWithRawDocument({"word/document.xml", 8, two_gigabytes_crc,
                                                   2048ull << 20, two_gigabytes})});
  // The same stream behind a header that claims 20 KB (and any CRC).
  out.push_back(
      {"bomb-lying.docx", docxWithRawDocument({"word/document.xml", 8, 0, 20'000, two_gigabytes})});
  // 64 MiB at a ratio of about 1000 to 1: not huge, but no real document compresses like that.
  const std::string ratio = deflatedSpaces(64, crc);
  out.push_back(
      {"bomb-ratio.docx", docxWithRawDocument({"word/document.xml", 8, crc, 64ull << 20, ratio})});
  // The same inside an ODT.
  {
    const std::string plain = makeOdt("<text:p>{{title}}</text:p>");
    auto reader = archive::ZipReader::openBuffer(plain, "plain.odt");
    archive::ZipWriter writer;
    for (const archive::ZipEntry& e : reader->entries()) {
      if (e.name != "content.xml") (void)writer.copyRaw(*archive::readRawEntry(*reader, e.name));
    }
    (void)writer.copyRaw({"content.xml", 8, two_gigabytes_crc, 2048ull << 20, two_gigabytes});
    out.push_back({"bomb.odt", writer.close().value()});
  }
  // Twenty thousand entries.
  std::map<std::string, std::string> many;
  for (int i = 0; i < 20'000; ++i) many["word/media/x" + std::to_string(i) + ".xml"] = "<x/>";
  out.push_back({"bomb-entries.docx", makeDocx("<w:p/>", many)});
  return out;
}

std::vector<Package> slips(const std::string& evil, const fs::path& outside) {
  const std::string body = "<w:p><w:r><w:t>{{title}}</w:t></w:r></w:p>";
  const std::string payload = "written by a zip-slip template";
  return {
      {"slip.docx", makeDocx(body, {{"../../" + evil, payload}})},
      {"slip-deep.docx", makeDocx(body, {{"word/../../../outside/" + evil, payload}})},
      {"slip-absolute.docx", makeDocx(body, {{(outside / evil).string(), payload}})},
      {"slip-backslash.docx", makeDocx(body, {{"..\\..\\outside\\" + evil, payload}})},
      {"slip-media.docx", makeDocx(body, {{"word/media/../../../" + evil, payload}})},
      {"slip.odt", makeOdt("<text:p>{{title}}</text:p>", {{"../../outside/" + evil, payload}})},
  };
}

class SecurityZipTest : public ServiceSuite {
 protected:
  static void SetUpTestSuite() { startService(); }
  static void TearDownTestSuite() { stopService(); }

  // Every command that reads a template, and a workflow's document.render, refuse `packages`;
  // nothing is rendered or written, and the service stays up within its memory bound.
  void expectTemplatesRefused(const std::vector<Package>& packages) {
    writeFile(service().dir() / "data.json", R"({"title": "Security render"})");
    for (const Package& p : packages) {
      writeFile(service().dir() / "templates" / p.name, p.bytes);
    }
    const Snapshot before = service().settledSnapshot();
    for (const Package& p : packages) {
      const std::string path = (service().dir() / "templates" / p.name).string();
      expectCommandRefused(service().cli({"template", "check", path}), "template check " + p.name);
      const fs::path out = service().dir() / "rendered" / p.name;
      expectCommandRefused(service().cli({"render", path, (service().dir() / "data.json").string(),
                                          "-o", out.string()}),
                           "render " + p.name);
      EXPECT_FALSE(fs::exists(out)) << "render " << p.name << " wrote " << out;
    }
    std::vector<std::string> names;
    for (const Package& p : packages) names.push_back(p.name);
    const core::Status started = service().renderTemplates(names);
    ASSERT_TRUE(started.isOk()) << started.toString();
    const Snapshot after = service().settledSnapshot();
    expectNothingRendered(before, after);
    for (const auto& [key, value] : after.items) {
      if (key.rfind("file library/", 0) == 0 || key.rfind("file outside/", 0) == 0) {
        EXPECT_EQ(before.items.count(key) ? before.items.at(key) : "", value) << key;
      }
    }
    EXPECT_TRUE(service().process().alive()) << service().process().log().substr(0, 4000);
    EXPECT_LT(service().process().peakRssKb(), kMaxRefusalRssKb);
    expectAHarmlessTemplateRenders();
  }
};

TEST_F(SecurityZipTest, ZipBombTemplatesAreRefusedInBoundedTimeAndMemory) {
  const std::vector<Package> packages = bombs();
  expectTemplatesRefused(packages);
  // The same packages as EHC plans to pre-screen (plans come from the intranet, like templates).
  const fs::path plans = service().dir() / "plans";
  for (const Package& p : packages) writeFile(plans / p.name, p.bytes);
  const CommandRun screened = service().cli({"prescreen", plans.string(), "--json"});
  EXPECT_FALSE(screened.timed_out);
  EXPECT_LT(screened.seconds, 30);
  EXPECT_LT(screened.max_rss_kb, kMaxRefusalRssKb)
      << "prescreen took " << screened.max_rss_kb << " KB";
  EXPECT_EQ(screened.out.find("\"grade\""), std::string::npos);
}

TEST_F(SecurityZipTest, ZipSlipTemplatesAreRefusedAndWriteNothingOutside) {
  std::random_device random;
  const std::string evil = "evil-" + std::to_string(random()) + ".txt";
  const fs::path outside = service().dir() / "outside";
  expectTemplatesRefused(slips(evil, outside));
  for (const fs::path& where :
       {outside / evil, service().dir() / evil, service().dir().parent_path() / evil,
        service().dir() / "templates" / evil, fs::current_path() / evil}) {
    EXPECT_FALSE(fs::exists(where)) << "a zip-slip entry was written to " << where;
  }
}

}  // namespace
}  // namespace sendflow::security::testing
