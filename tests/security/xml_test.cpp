// External entities, XInclude and the billion laughs in every XML sendflow reads: workflow
// definitions (at the start of `serve` and in `sendflow validate`), the parts of DOCX and ODT
// templates (in `sendflow template check` and `render`, and a workflow's document.render in
// `serve`) and a WebDAV server's PROPFIND answers (`sendflow connector list` and a workflow's
// documents.pull in `serve`). The hostile files are tests/fixtures/security/xml/. Each must be
// refused without reading the canary file, without a request to the probe, in bounded time and
// memory, and without a change to the store, the outbox or the documents.
#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/connectors/fakes/fake_http_server.h"
#include "tests/docgen/package_builder.h"
#include "tests/security/security_fixture.h"

namespace sendflow::security::testing {
namespace {

// The intranet: a WebDAV server answering PROPFIND with the multistatus the test chooses, and the
// probe that records whether a parser fetched anything (/xxe-probe/...).
class FakeIntranet final : public sendflow::testing::FakeHttpServer {
 public:
  FakeIntranet() { start(); }
  ~FakeIntranet() override { stop(); }

  void answer(std::string multistatus) {
    std::lock_guard<std::mutex> lock(mutex_);
    multistatus_ = std::move(multistatus);
  }
  int probes() const { return count("", "/xxe-probe"); }

 protected:
  sendflow::testing::FakeReply handle(const sendflow::testing::FakeRequest& request) override {
    if (request.path.rfind("/xxe-probe", 0) == 0) {
      return {200, "application/xml", "<!ENTITY leaked 'PROBED'>", {}};
    }
    if (request.method != "PROPFIND") return {405, "text/plain", "only PROPFIND", {}};
    std::lock_guard<std::mutex> lock(mutex_);
    return {207, "application/xml; charset=utf-8", multistatus_, {}};
  }

 private:
  std::mutex mutex_;
  std::string multistatus_;  // guarded by mutex_
};

// One listing of the library that a WebDAV connector accepts: the control.
const char kGoodMultistatus[] =
    R"(<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:" xmlns:S="urn:x-sendflow:metadata">
  <D:response><D:href>/dav/SEND%20Library/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
  <D:response><D:href>/dav/SEND%20Library/SF-1.docx</D:href><D:propstat><D:prop>
    <D:getlastmodified>Sun, 22 Nov 2026 04:53:44 GMT</D:getlastmodified><D:getcontentlength>10</D:getcontentlength>
    <S:DocumentType>EHC plan</S:DocumentType><S:Locality>North</S:Locality>
  </D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
</D:multistatus>)";

// The quadratic blowup: one entity of 20,000 characters referenced 40,000 times (800 MB if
// expanded), in a document whose root is `root` and whose text sits between `open` and `close`.
std::string quadratic(const std::string& root, const std::string& open, const std::string& close) {
  std::string references;
  references.reserve(40'000 * 4);
  for (int i = 0; i < 40'000; ++i) references += "&a;";
  return "<?xml version=\"1.0\"?>\n<!DOCTYPE " + root + " [<!ENTITY a \"" +
         std::string(20'000, 'a') + "\">]>\n" + open + references + close;
}

class SecurityXmlTest : public ServiceSuite {
 protected:
  static void SetUpTestSuite() {
    intranet_ = new FakeIntranet();
    intranet_->answer(kGoodMultistatus);
    ServiceOptions options;
    options.sample_library = false;
    options.properties = {{"connector.type", "webdav"},
                          {"connector.base_url", intranet_->baseUrl() + "/dav"},
                          {"connector.library", "SEND Library"},
                          {"connector.auth", "none"},
                          {"connector.retry.attempts", "1"}};
    for (const char* name :
         {"xxe-definition.xml", "xinclude-definition.xml", "laughs-definition.xml"}) {
      options.files[std::string("workflows/") + name] = hostile(name);
    }
    startService(std::move(options));
  }
  static void TearDownTestSuite() {
    stopService();
    delete intranet_;
    intranet_ = nullptr;
  }

  // A fixture of tests/fixtures/security/xml with the probe's address in it (the canary's path
  // is filled by the service, or by canaryFilled()).
  static std::string hostile(const std::string& name) {
    return replaced(readFile(fixturePath("xml/" + name)), "@PROBE@", intranet_->baseUrl());
  }
  std::string canaryFilled(const std::string& name) const {
    return replaced(hostile(name), "@CANARY_FILE@", service().canaryFile().string());
  }

  static FakeIntranet* intranet_;
};

FakeIntranet* SecurityXmlTest::intranet_ = nullptr;

TEST_F(SecurityXmlTest, DefinitionsWithEntitiesOrXIncludesAreSkippedByServeAndRefusedByValidate) {
  // serve loaded the fixture's workflows and skipped the three hostile ones, saying why.
  const json listed = service().api("GET", "/api/v1/definitions", "admin").parsed();
  std::vector<std::string> ids;
  for (const json& d : listed.value("items", json::array())) ids.push_back(d.value("id", ""));
  EXPECT_NE(std::find(ids.begin(), ids.end(), "security-review"), ids.end()) << listed.dump();
  for (const char* id : {"xxe-definition", "xinclude-definition", "laughs-definition"}) {
    EXPECT_EQ(std::find(ids.begin(), ids.end(), id), ids.end()) << id << " was loaded";
    EXPECT_EQ(service().api("GET", std::string("/api/v1/definitions/") + id, "admin").status, 404);
  }
  const std::string log = service().process().log();
  for (const char* file :
       {"xxe-definition.xml", "xinclude-definition.xml", "laughs-definition.xml"}) {
    EXPECT_NE(log.find(file), std::string::npos) << "no warning names " << file;
  }
  EXPECT_LT(service().process().peakRssKb(), kMaxRefusalRssKb);

  const Snapshot before = service().settledSnapshot();
  std::vector<std::pair<std::string, std::string>> definitions;
  for (const char* name :
       {"xxe-definition.xml", "xinclude-definition.xml", "laughs-definition.xml"}) {
    definitions.emplace_back(name, canaryFilled(name));
  }
  definitions.emplace_back(
      "quadratic-definition.xml",
      quadratic("workflow",
                "<workflow xmlns=\"urn:sendflow:workflow:1\" id=\"quadratic\" version=\"1\" "
                "title=\"q\"><description>",
                "</description><roles><role id=\"qa-lead\" title=\"QA lead\"/></roles><steps>"
                "<task id=\"t\" title=\"t\" role=\"qa-lead\"/></steps></workflow>"));
  for (const auto& [name, text] : definitions) {
    const fs::path file = service().dir() / "check" / name;
    writeFile(file, text);
    const CommandRun run = service().cli({"validate", "--no-action-check", file.string()});
    expectCommandRefused(run, "validate " + name);
    EXPECT_NE(run.err.find(name), std::string::npos) << run.err;
  }
  EXPECT_EQ(intranet_->probes(), 0) << "a definition made the parser fetch from the probe";
  EXPECT_FALSE(service().canaryLeaked());
  expectNothingChanged(before, "hostile definitions");
}

TEST_F(SecurityXmlTest, TemplatesWithEntitiesAreRefusedEverywhere) {
  using docgen::testing::makeDocx;
  using docgen::testing::makeOdt;
  const std::string body = "<w:p><w:r><w:t>{{title}}</w:t></w:r></w:p>";
  const std::string word =
      "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">"
      "<w:body><w:p><w:r><w:t>";
  const std::string word_end = "{{title}}</w:t></w:r></w:p><w:sectPr/></w:body></w:document>";
  const std::vector<std::pair<std::string, std::string>> templates = {
      {"xxe.docx", makeDocx("", {{"word/document.xml", canaryFilled("xxe-part.xml")}})},
      {"xxe-styles.docx", makeDocx(body, {{"word/styles.xml", canaryFilled("xxe-part.xml")}})},
      {"xxe-types.docx", makeDocx(body, {{"[Content_Types].xml", canaryFilled("xxe-part.xml")}})},
      {"xxe-rels.docx",
       makeDocx(body, {{"word/_rels/document.xml.rels", canaryFilled("xxe-part.xml")}})},
      {"laughs.docx", makeDocx("", {{"word/document.xml", canaryFilled("laughs-part.xml")}})},
      {"quadratic.docx",
       makeDocx("", {{"word/document.xml", quadratic("w:document", word, word_end)}})},
      {"xxe.odt", makeOdt("", {{"content.xml", canaryFilled("xxe-content.xml")}})},
      {"laughs.odt", makeOdt("", {{"content.xml", canaryFilled("laughs-content.xml")}})},
  };
  // An XInclude is not processed: the template may render, but nothing is included.
  const std::vector<std::pair<std::string, std::string>> inert = {
      {"xinclude.docx", makeDocx("", {{"word/document.xml", canaryFilled("xinclude-part.xml")}})},
  };
  for (const auto& [name, bytes] : templates)
    writeFile(service().dir() / "templates" / name, bytes);
  for (const auto& [name, bytes] : inert) writeFile(service().dir() / "templates" / name, bytes);
  writeFile(service().dir() / "data.json", R"({"title": "Security render"})");
  const Snapshot before = service().settledSnapshot();

  // The command line.
  for (const auto& [name, bytes] : templates) {
    const std::string path = (service().dir() / "templates" / name).string();
    expectCommandRefused(service().cli({"template", "check", path}), "template check " + name);
    const fs::path out = service().dir() / "rendered" / name;
    expectCommandRefused(service().cli({"render", path, (service().dir() / "data.json").string(),
                                        "-o", out.string()}),
                         "render " + name);
    EXPECT_FALSE(fs::exists(out)) << "render " << name << " wrote " << out;
  }
  for (const auto& [name, bytes] : inert) {
    const fs::path out = service().dir() / "rendered" / name;
    const CommandRun run =
        service().cli({"render", (service().dir() / "templates" / name).string(),
                       (service().dir() / "data.json").string(), "-o", out.string()});
    EXPECT_EQ((run.out + run.err).find(service().canary()), std::string::npos);
    if (fs::exists(out)) {
      EXPECT_EQ(searchableContent(out).find(service().canary()), std::string::npos)
          << "render " << name << " included the canary file";
    }
  }
  // A workflow's document.render in the service.
  std::vector<std::string> names, inert_names;
  for (const auto& [name, bytes] : templates) names.push_back(name);
  for (const auto& [name, bytes] : inert) inert_names.push_back(name);
  const core::Status rendered = service().renderTemplates(names);
  ASSERT_TRUE(rendered.isOk()) << rendered.toString();
  expectNothingRendered(before, service().settledSnapshot());
  ASSERT_TRUE(service().renderTemplates(inert_names).isOk());
  service().settledSnapshot();
  EXPECT_TRUE(service().process().alive());
  EXPECT_LT(service().process().peakRssKb(), kMaxRefusalRssKb);
  EXPECT_EQ(intranet_->probes(), 0) << "a template made the parser fetch from the probe";
  EXPECT_FALSE(service().canaryLeaked());

  // The controls: a harmless template of the same shape passes the check, and one renders.
  writeFile(service().dir() / "templates" / "plain.docx", makeDocx(body));
  const CommandRun checked =
      service().cli({"template", "check", (service().dir() / "templates" / "plain.docx").string()});
  EXPECT_EQ(checked.exit_code, 0) << checked.err;
  expectAHarmlessTemplateRenders();
}

TEST_F(SecurityXmlTest, WebDavAnswersWithEntitiesAreRefusedByTheConnector) {
  // The control: the fake's ordinary answer lists one plan.
  intranet_->answer(kGoodMultistatus);
  const CommandRun listed = service().cli({"connector", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("SF-1.docx"), std::string::npos) << listed.out;

  const std::vector<std::pair<std::string, std::string>> answers = {
      {"xxe-multistatus.xml", canaryFilled("xxe-multistatus.xml")},
      {"laughs-multistatus.xml", canaryFilled("laughs-multistatus.xml")},
      {"a quadratic blowup",
       quadratic("D:multistatus",
                 "<D:multistatus xmlns:D=\"DAV:\" xmlns:S=\"urn:x-sendflow:metadata\"><D:response>"
                 "<D:href>/dav/SEND%20Library/plan.docx</D:href><D:propstat><D:prop>"
                 "<S:DocumentType>EHC plan</S:DocumentType><S:Locality>",
                 "</S:Locality></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>"
                 "</D:response></D:multistatus>")},
  };
  for (const auto& [name, answer] : answers) {
    intranet_->answer(answer);
    const Snapshot before = service().settledSnapshot();
    const CommandRun run = service().cli({"connector", "list", "--json"});
    expectCommandRefused(run, "connector list answered with " + name);
    EXPECT_TRUE(run.err.find("DOCTYPE") != std::string::npos ||
                run.err.find("entity") != std::string::npos)
        << run.err;
    // A workflow's documents.pull in the service: the step stops, nothing is pulled.
    const HttpReply started =
        service().api("POST", "/api/v1/instances", "qa-lead", {{"workflow", "security-pull"}});
    ASSERT_EQ(started.status, 201) << started.summary();
    expectNothingRendered(before, service().settledSnapshot());
    const json instance =
        service()
            .api("GET", "/api/v1/instances/" + started.parsed().value("id", ""), "admin")
            .parsed();
    EXPECT_NE(instance.value("status", ""), "completed") << name << " was read as a listing";
    EXPECT_TRUE(service().process().alive());
  }
  EXPECT_LT(service().process().peakRssKb(), kMaxRefusalRssKb);
  EXPECT_EQ(intranet_->probes(), 0) << "a PROPFIND answer made the parser fetch from the probe";
  EXPECT_FALSE(service().canaryLeaked());
}

}  // namespace
}  // namespace sendflow::security::testing
