// Feeds arbitrary bytes to what a request body meets, without a socket:
//  - core::parseJsonText with the request limits and the stored limits: it refuses or accepts,
//    never crashes, overflows the stack or throws, and both limits agree on what they accept;
//  - what the REST handlers then do with an accepted body: copy it, compare it, dump it (the
//    dump must parse back to the same value), and check it as POST /api/v1/instances checks
//    start inputs and /api/v1/tasks/{id}/complete checks a form (InputDecl::problemWith,
//    Form::validate);
//  - http::Request::formFields, the web's form bodies: every name and value it gives is UTF-8.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "server/core/json_text.h"
#include "server/core/utf8.h"
#include "server/engine/definition_loader.h"
#include "server/http/request.h"

namespace {

using nlohmann::json;

constexpr char kWorkflow[] =
    R"(<workflow xmlns="urn:sendflow:workflow:1" id="f" version="1" title="F">
  <roles><role id="auditor"/></roles>
  <inputs>
    <input name="per_locality" type="integer" min="1" max="100" default="2"/>
    <input name="target" type="number" min="0" max="100" default="80"/>
    <input name="lookback" type="duration" default="12 weeks"/>
    <input name="meeting" type="date" required="false"/>
    <input name="plans" type="list" required="false"/>
    <input name="theme" type="string" default="General quality"/>
  </inputs>
  <steps>
    <task id="audit" role="auditor">
      <form>
        <field name="grade" type="grade" required="true"/>
        <field name="reason" type="long-text" max-length="200" required-if="grade == 'Inadequate'"/>
        <field name="auditors" type="integer" min="1" max="9"/>
        <field name="hours" type="number" min="0" max="37.5"/>
        <field name="review_date" type="date"/>
        <field name="agreed" type="boolean"/>
        <field name="outcome" type="choice" choices="Agree|Disagree"/>
      </form>
    </task>
  </steps>
</workflow>)";

const sendflow::engine::Definition& definition() {
  static const std::shared_ptr<const sendflow::engine::Definition> loaded = [] {
    auto result = sendflow::engine::DefinitionLoader::loadString(kWorkflow, "fuzz.xml");
    if (!result.isOk()) std::abort();
    return result.definition;
  }();
  return *loaded;
}

// What the handlers do with a body that parsed.
void handleParsed(const json& body) {
  const json copy = body;
  if (!(copy == body)) std::abort();
  auto again = sendflow::core::parseJsonText(body.dump());
  if (!again.isOk() || !(*again == body)) std::abort();
  if (!body.is_object()) return;
  const sendflow::engine::Definition& d = definition();
  const json& input = body.contains("input") ? body["input"] : body;
  if (input.is_object()) {
    for (const sendflow::engine::InputDecl& decl : d.inputs) {
      if (input.contains(decl.name)) (void)decl.problemWith(input[decl.name]);
    }
  }
  (void)d.body.steps.front().form.validate(body, input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto request = sendflow::core::parseJsonText(text);
  auto stored = sendflow::core::parseJsonText(text, sendflow::core::kStoredJsonLimits);
  if (request.isOk()) {
    // What the request limits accept, the deeper stored limits accept as the same value.
    if (!stored.isOk() || !(*stored == *request)) std::abort();
    handleParsed(*request);
  } else if (!sendflow::core::isValidUtf8(request.status().message())) {
    std::abort();  // messages go into JSON error bodies and logs
  }

  sendflow::http::Request form;
  form.body = std::string(text);
  auto fields = form.formFields();
  if (fields.isOk()) {
    for (const auto& [name, value] : *fields) {
      if (!sendflow::core::isValidUtf8(name) || !sendflow::core::isValidUtf8(value)) std::abort();
    }
  }
  return 0;
}
