#include "server/webhooks/sharepoint_webhook.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

#include "connectors/connector/item_json.h"
#include "server/core/json_text.h"

namespace sendflow::webhooks {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxValidationToken = 512;
constexpr std::size_t kMaxNotifications = 1000;
constexpr const char* kPrefix = "webhooks.sharepoint.";

// SharePoint tokens are GUID-like; anything echoed must be plain printable ASCII that no
// browser could take for markup.
bool saneValidationToken(const std::string& token) {
  if (token.empty() || token.size() > kMaxValidationToken) return false;
  return std::all_of(token.begin(), token.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u <= 0x7e && c != '<' && c != '>' && c != '"' && c != '\'' && c != '&' &&
           c != '\\';
  });
}

std::string sha256(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

// Equal strings, in a time that does not depend on where they differ (both are hashed to 32
// bytes first, so not on their lengths either).
bool constantTimeEquals(const std::string& a, const std::string& b) {
  const std::string ha = sha256(a), hb = sha256(b);
  return CRYPTO_memcmp(ha.data(), hb.data(), ha.size()) == 0;
}

std::string trim(const std::string& text) {
  std::size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  return text.substr(b, e - b);
}

// The configuration file's short form: "30s", "5m", "2h", "14d" or a bare number of seconds.
bool shortDuration(const std::string& text, long long& millis) {
  if (text.empty() || text.size() > 12) return false;
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return false;
  const long long n = std::stoll(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  static const std::map<std::string, long long> kUnits = {
      {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end()) return false;
  millis = n * it->second;
  return true;
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  for (char c : text + ",") {
    if (c == ',' || c == ' ' || c == ';') {
      if (!current.empty()) out.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  return out;
}

bool isKeyword(const std::string& word) {
  static const std::set<std::string> kWords = {
      "and",  "or",    "not",    "in",      "if",     "then",    "else",   "true", "false",
      "null", "day",   "days",   "week",    "weeks",  "month",   "months", "year", "years",
      "hour", "hours", "minute", "minutes", "second", "seconds", "working"};
  return kWords.count(word) > 0;
}

// The bare names an expression reads (not members after '.', not functions, not keywords or
// duration units, nothing inside quotes): each becomes a variable of unknown type, so a rule
// can name any of the council's columns.
std::set<std::string> bareNames(const std::string& text) {
  std::set<std::string> names;
  std::size_t pos = 0;
  char previous = ' ';  // the last non-space character before the current token
  while (pos < text.size()) {
    const char c = text[pos];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++pos;
      continue;
    }
    if (c == '\'' || c == '"') {
      std::size_t end = pos + 1;
      while (end < text.size() && text[end] != c) end += text[end] == '\\' ? 2 : 1;
      pos = end + 1;
      previous = c;
      continue;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t end = pos;
      while (end < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_')) {
        ++end;
      }
      const std::string word = text.substr(pos, end - pos);
      std::size_t next = end;
      while (next < text.size() && std::isspace(static_cast<unsigned char>(text[next]))) ++next;
      const bool call = next < text.size() && text[next] == '(';
      if (previous != '.' && !call && !isKeyword(word)) names.insert(word);
      pos = end;
      previous = 'a';
      continue;
    }
    previous = c;
    ++pos;
  }
  return names;
}

core::StatusOr<std::shared_ptr<const engine::Expression>> compileRuleExpression(
    const std::string& text, const std::string& source, const std::string& key) {
  engine::TypeEnvironment env = {{"now", engine::ValueType::kDateTime},
                                 {"today", engine::ValueType::kDate},
                                 {"item", engine::ValueType::kObject}};
  for (const std::string& name : bareNames(text)) env.emplace(name, engine::ValueType::kAny);
  auto compiled =
      engine::Expression::compile(text, env, engine::SourceLocation{kPrefix + key, 1, 1});
  if (!compiled.isOk()) {
    return core::invalidArgument(source + ": " + compiled.status().message());
  }
  return compiled;
}

core::Status badKey(const std::string& source, const std::string& key, const std::string& why) {
  return core::invalidArgument(source + ": " + kPrefix + key + ": " + why);
}

// The kept counters of subscriptions with notifications not yet processed ({} when none).
core::StatusOr<json> pendingFrom(const std::optional<std::string>& stored) {
  if (!stored) return json::object();
  SENDFLOW_ASSIGN_OR_RETURN(
      json pending,
      core::parseStoredJson(*stored, "the pending SharePoint notifications", json::object()));
  return pending.is_object() ? pending : json::object();
}

std::string stripQuotes(std::string text) {
  text.erase(std::remove(text.begin(), text.end(), '"'), text.end());
  return text;
}

json nullIfEmpty(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

// The document as the workflows' documents.pull action gives it, with its raw columns.
json itemJson(const connectors::Item& item) {
  json out = connectors::itemToWorkflowJson(item);
  out["columns"] = item.columns;
  return out;
}

// What a rule's expressions see.
json ruleContext(const connectors::Item& item, core::TimePoint now) {
  json ctx = json::object();
  for (const auto& [column, value] : item.columns) ctx[column] = value;
  const auto& m = item.metadata;
  ctx["document_type"] = nullIfEmpty(m.document_type);
  ctx["locality"] = nullIfEmpty(m.locality);
  ctx["finalised_date"] = nullIfEmpty(m.finalised_date);
  ctx["request_date"] = nullIfEmpty(m.request_date);
  ctx["review_date"] = nullIfEmpty(m.review_date);
  ctx["caseworker"] = nullIfEmpty(m.caseworker);
  ctx["contributors"] = m.contributors;
  ctx["year_group"] = nullIfEmpty(m.year_group);
  ctx["setting"] = nullIfEmpty(m.setting);
  ctx["item"] = itemJson(item);
  ctx["now"] = core::formatIso8601(now);
  ctx["today"] = core::formatIso8601(now).substr(0, 10);
  return ctx;
}

}  // namespace

core::StatusOr<SharePointWebhookOptions> parseSharePointWebhookOptions(
    const std::map<std::string, std::string>& section, const std::string& source,
    const std::map<std::string, std::string>& environment) {
  SharePointWebhookOptions options;
  std::map<std::string, SharePointRule> rules;
  std::string client_state_env;
  for (const auto& [key, raw] : section) {
    const std::string value = trim(raw);
    if (key == "client_state") {
      options.client_state = value;
    } else if (key == "client_state_env") {
      client_state_env = value;
    } else if (key == "subscriptions") {
      for (const std::string& id : splitList(value)) options.subscriptions.insert(id);
    } else if (key == "initial_lookback" || key == "poll_interval") {
      engine::Duration d;
      if (!shortDuration(value, d.millis) &&
          (!engine::parseDuration(value, d) || !d.isFixed() || d.millis < 0)) {
        return badKey(source, key,
                      "'" + value + "' is not a duration (for example 1h, 30s, \"1 hour\")");
      }
      (key == "initial_lookback" ? options.initial_lookback : options.poll_interval) =
          std::chrono::milliseconds(d.millis);
      if (key == "poll_interval" && d.millis < 1000) {
        return badKey(source, key, "must be at least one second");
      }
    } else if (key.rfind("rule.", 0) == 0) {
      const std::string rest = key.substr(5);
      const auto dot = rest.find('.');
      if (dot == std::string::npos || dot == 0) {
        return badKey(source, key, "expected rule.<name>.when, .workflow or .input.<name>");
      }
      const std::string name = rest.substr(0, dot);
      const std::string field = rest.substr(dot + 1);
      SharePointRule& rule = rules[name];
      rule.name = name;
      if (field == "when") {
        rule.when_text = value;
        SENDFLOW_ASSIGN_OR_RETURN(rule.when, compileRuleExpression(value, source, key));
      } else if (field == "workflow") {
        rule.workflow = value;
      } else if (field.rfind("input.", 0) == 0 && field.size() > 6) {
        SENDFLOW_ASSIGN_OR_RETURN(rule.inputs[field.substr(6)],
                                  compileRuleExpression(value, source, key));
      } else {
        return badKey(source, key, "expected rule.<name>.when, .workflow or .input.<name>");
      }
    } else {
      return badKey(source, key,
                    "unknown key (expected client_state, client_state_env, subscriptions, "
                    "initial_lookback, poll_interval or rule.<name>.*)");
    }
  }
  if (!client_state_env.empty()) {
    auto it = environment.find(client_state_env);
    if (it == environment.end() || it->second.empty()) {
      return badKey(source, "client_state_env",
                    "the environment variable " + client_state_env + " is not set");
    }
    options.client_state = it->second;
  }
  if (options.client_state.size() < 16) {
    return badKey(source, "client_state",
                  "required: a secret of at least 16 characters (the subscription's clientState)");
  }
  if (options.client_state.size() > 255) {
    return badKey(source, "client_state", "SharePoint allows at most 255 characters");
  }
  for (auto& [name, rule] : rules) {
    if (!rule.when) return badKey(source, "rule." + name + ".when", "required");
    if (rule.workflow.empty()) return badKey(source, "rule." + name + ".workflow", "required");
    options.rules.push_back(std::move(rule));
  }
  return options;
}

SharePointWebhook::SharePointWebhook(engine::Runtime& runtime, DocumentSourceFactory sources,
                                     SharePointWebhookOptions options, const core::Clock& clock)
    : runtime_(runtime),
      sources_(std::move(sources)),
      options_(std::move(options)),
      clock_(clock) {}

SharePointWebhook::~SharePointWebhook() { stop(); }

std::string SharePointWebhook::cursorKey(const std::string& subscription) {
  return "webhook.sharepoint." + subscription + ".cursor";
}

void SharePointWebhook::addRoutes(http::Router& router) {
  router.add(
      "POST", "/webhooks/sharepoint", [this](http::Request& r) { return handle(r); },
      http::Access::kPublic);
}

http::Response SharePointWebhook::handle(http::Request& request) {
  const auto bad = [&](const std::string& message) {
    return http::Response::json(
        400, http::errorBody(core::invalidArgument(message), request.request_id));
  };
  // The validation handshake: echo the token, do nothing else.
  for (const auto& [name, value] : request.query) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower != "validationtoken") continue;
    if (!saneValidationToken(value)) {
      return bad("validationtoken: must be 1 to 512 printable characters");
    }
    request.log["webhook"] = "validation";
    return http::Response::text(200, value);
  }

  // SharePoint's notifications nest four levels; anything much deeper is not one.
  auto parsed = core::parseJsonText(request.body, core::JsonLimits{16});
  if (!parsed.isOk()) return bad("body: " + parsed.status().message());
  const json body = std::move(parsed).value();
  if (!body.is_object() || !body.contains("value") || !body["value"].is_array()) {
    return bad("value: required, a list of notifications");
  }
  const json& value = body["value"];
  if (value.empty()) return bad("value: no notifications");
  if (value.size() > kMaxNotifications) {
    return bad("value: more than " + std::to_string(kMaxNotifications) + " notifications");
  }
  std::vector<std::string> problems;
  std::vector<std::string> subscriptions;
  bool refused = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::string at = "value[" + std::to_string(i) + "]";
    const json& n = value[i];
    if (!n.is_object()) {
      problems.push_back(at + ": must be an object");
      continue;
    }
    const auto text = [&](const char* member) -> const json* {
      auto it = n.find(member);
      return it != n.end() && it->is_string() ? &*it : nullptr;
    };
    const json* subscription = text("subscriptionId");
    const json* client_state = text("clientState");
    if (subscription == nullptr || subscription->get<std::string>().empty() ||
        subscription->get<std::string>().size() > 128) {
      problems.push_back(at + ".subscriptionId: required, text of at most 128 characters");
      continue;
    }
    const std::string id = subscription->get<std::string>();
    if (!std::all_of(id.begin(), id.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
        })) {
      problems.push_back(at + ".subscriptionId: letters, digits, '-' and '_' only");
      continue;
    }
    if (client_state == nullptr ||
        !constantTimeEquals(client_state->get<std::string>(), options_.client_state) ||
        (!options_.subscriptions.empty() && options_.subscriptions.count(id) == 0)) {
      refused = true;
      continue;
    }
    if (std::find(subscriptions.begin(), subscriptions.end(), id) == subscriptions.end()) {
      subscriptions.push_back(id);
    }
  }
  if (refused) {
    request.log["webhook"] = "refused";
    return http::Response::error(
        core::permissionDenied("the notification's subscription or clientState is not ours"),
        request.request_id);
  }
  if (!problems.empty()) {
    std::string m;
    for (std::size_t i = 0; i < problems.size(); ++i) m += (i ? "; " : "") + problems[i];
    return bad(m);
  }
  core::Status marked = markPending(subscriptions);
  if (!marked.isOk()) return http::Response::error(marked, request.request_id);
  request.log["webhook"] = "notification";
  request.log["subscriptions"] = subscriptions;
  {
    std::lock_guard<std::mutex> lock(worker_mutex_);
    notified_ = true;
  }
  wake_.notify_one();
  return http::Response::json(202, {{"accepted", subscriptions.size()}});
}

core::Status SharePointWebhook::markPending(const std::vector<std::string>& subscriptions) {
  return runtime_.store().transact([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(auto stored, tx.stateValue(kPendingKey));
    SENDFLOW_ASSIGN_OR_RETURN(json pending, pendingFrom(stored));
    // A counter per subscription: a notification that arrives while a pass runs leaves the
    // subscription pending for the next pass.
    for (const std::string& id : subscriptions) {
      pending[id] = pending.value(id, 0LL) + 1;
    }
    return tx.setStateValue(kPendingKey, pending.dump());
  });
}

core::StatusOr<WebhookPassResult> SharePointWebhook::processPending() {
  std::lock_guard<std::mutex> pass(pass_mutex_);
  WebhookPassResult result;
  json pending = json::object();
  SENDFLOW_RETURN_IF_ERROR(runtime_.store().transact([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(auto stored, tx.stateValue(kPendingKey));
    SENDFLOW_ASSIGN_OR_RETURN(pending, pendingFrom(stored));
    return core::Status::ok();
  }));
  core::Status first_error;
  for (const auto& [subscription, seen] : pending.items()) {
    core::Status st = processSubscription(subscription, result);
    if (!st.isOk()) {
      if (first_error.isOk()) first_error = st.withContext("subscription " + subscription);
      continue;
    }
    ++result.subscriptions;
    const long long counter = seen.is_number_integer() ? seen.get<long long>() : 0;
    SENDFLOW_RETURN_IF_ERROR(runtime_.store().transact([&](store::Transaction& tx) -> core::Status {
      SENDFLOW_ASSIGN_OR_RETURN(auto stored, tx.stateValue(kPendingKey));
      SENDFLOW_ASSIGN_OR_RETURN(json now, pendingFrom(stored));
      if (now.value(subscription, 0LL) == counter) now.erase(subscription);
      return tx.setStateValue(kPendingKey, now.dump());
    }));
  }
  if (!first_error.isOk()) return first_error;
  return result;
}

core::Status SharePointWebhook::processSubscription(const std::string& subscription,
                                                    WebhookPassResult& result) {
  SENDFLOW_ASSIGN_OR_RETURN(std::unique_ptr<connectors::DocumentSource> source, sources_());
  std::optional<std::string> cursor;
  SENDFLOW_RETURN_IF_ERROR(runtime_.store().transact([&](store::Transaction& tx) -> core::Status {
    SENDFLOW_ASSIGN_OR_RETURN(cursor, tx.stateValue(cursorKey(subscription)));
    return core::Status::ok();
  }));
  // The first pass of a subscription: only what changed recently counts.
  const std::optional<core::TimePoint> cutoff =
      cursor ? std::nullopt
             : std::optional<core::TimePoint>(clock_.now() - options_.initial_lookback);
  std::string position = cursor.value_or("");
  for (int page_number = 0; page_number < options_.max_pages_per_pass; ++page_number) {
    SENDFLOW_ASSIGN_OR_RETURN(connectors::Page page, source->listPage(position));
    for (const auto& problem : page.problems) {
      result.problems.push_back(problem.item + ": " + problem.status.message());
    }
    for (const connectors::Item& item : page.items) {
      if (cutoff && item.modified < *cutoff) continue;
      ++result.items;
      SENDFLOW_RETURN_IF_ERROR(applyRules(item, result));
    }
    position = page.next_cursor;
    SENDFLOW_RETURN_IF_ERROR(runtime_.store().transact([&](store::Transaction& tx) {
      return tx.setStateValue(cursorKey(subscription), position);
    }));
    if (!page.more) return core::Status::ok();
  }
  return core::resourceExhausted("the listing did not end within " +
                                 std::to_string(options_.max_pages_per_pass) +
                                 " pages; the next pass goes on from here");
}

core::Status SharePointWebhook::applyRules(const connectors::Item& item,
                                           WebhookPassResult& result) {
  const json context = ruleContext(item, clock_.now());
  const std::string version =
      !item.etag.empty() ? stripQuotes(item.etag) : core::formatIso8601(item.modified);
  for (const SharePointRule& rule : options_.rules) {
    const std::string where = "rule " + rule.name + ", item " + item.id;
    auto matched = rule.when->evaluate(context);
    if (!matched.isOk()) {
      result.problems.push_back(where + ": " + matched.status().message());
      continue;
    }
    if (!matched->is_boolean() || !matched->get<bool>()) continue;
    json input = json::object();
    bool inputs_ok = true;
    for (const auto& [name, expression] : rule.inputs) {
      auto v = expression->evaluate(context);
      if (!v.isOk()) {
        result.problems.push_back(where + ": input " + name + ": " + v.status().message());
        inputs_ok = false;
        break;
      }
      input[name] = *v;
    }
    if (!inputs_ok) continue;
    const std::string key = rule.name + ":" + item.id + ":" + version;
    auto started = runtime_.start(rule.workflow, input, key, options_.actor);
    if (!started.isOk()) {
      const core::StatusCode code = started.status().code();
      // A rule that cannot start its workflow (unknown, bad input) must not stop the others or
      // hold the cursor back forever; a store failure must (the pass is retried).
      if (code == core::StatusCode::kInvalidArgument || code == core::StatusCode::kNotFound) {
        result.problems.push_back(where + ": " + started.status().message());
        continue;
      }
      return started.status().withContext(where);
    }
    if (started->created) {
      ++result.started;
    } else {
      ++result.duplicates;
    }
  }
  return core::Status::ok();
}

void SharePointWebhook::start() {
  std::lock_guard<std::mutex> lock(worker_mutex_);
  if (worker_.joinable()) return;
  stopping_ = false;
  notified_ = true;  // work left pending by a restart
  worker_ = std::thread([this] { workerLoop(); });
}

void SharePointWebhook::stop() {
  {
    std::lock_guard<std::mutex> lock(worker_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void SharePointWebhook::workerLoop() {
  std::unique_lock<std::mutex> lock(worker_mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.poll_interval, [this] { return stopping_ || notified_; });
    if (stopping_) break;
    notified_ = false;
    lock.unlock();
    // Failures leave the subscription pending; the next wake-up tries again.
    auto pass = processPending();
    if (options_.report) options_.report(pass);
    lock.lock();
  }
}

}  // namespace sendflow::webhooks
