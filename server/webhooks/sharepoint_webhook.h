#pragma once
// SharePoint list webhooks: POST /webhooks/sharepoint starts workflows when documents in the
// council's library change, by rules in configuration (for example "a plan was finalised: start
// its pre-screen").
//
// The endpoint (public: SharePoint sends no credentials) does two things:
//   Validation handshake. When a subscription is created, SharePoint POSTs with the query
//   parameter `validationtoken` and waits at most 5 seconds for 200 text/plain echoing it. The
//   token is echoed only when it is 1 to 512 printable ASCII characters other than the markup
//   and escape characters < > " ' & and backslash (400 otherwise); nothing else is done.
//   Notifications. A JSON body {"value": [{"subscriptionId", "clientState", "expirationDateTime",
//   "resource", "tenantId", "siteUrl", "webId"}, ...]}. Every notification's clientState must
//   equal the configured secret (compared in constant time) and, when subscriptions are
//   configured, its subscriptionId must be one of them: otherwise 403 and the whole request is
//   ignored. Malformed JSON or a body of the wrong shape is 400 with a JSON error naming the
//   field. An accepted request is recorded in the store (the subscriptions with work pending)
//   and answered 202 at once; the work happens later, in the worker thread (start()) or when
//   the serve loop calls processPending(), and survives a restart because it is in the store.
//
// Processing. Notifications do not say what changed, so for each pending subscription the
// webhook asks the DocumentSource (the configured connector) for the documents changed since
// the subscription's cursor (kept in the store's state values under
// "webhook.sharepoint.<subscription>.cursor", saved after every page), and applies every rule to
// every changed document. A rule whose `when` expression is true starts its workflow with its
// inputs and the business key "<rule>:<item id>:<item etag or modified time>", so a repeated
// notification, or the same change seen twice, starts nothing twice. With no cursor yet (the
// first notification of a subscription), only documents modified within `initial_lookback`
// before now are considered, so subscribing a library of old plans does not start a workflow
// for each of them.
//
// Rules (the keys after "webhooks.sharepoint."):
//   rule.<name>.when        an expression of the workflow language over the document: its
//                           columns by their SharePoint names (DocumentType == 'EHC plan'),
//                           sendflow's metadata fields (document_type, finalised_date, locality,
//                           caseworker, contributors, ...; null when empty), and `item`, the
//                           whole document as the workflows' documents.pull gives it
//   rule.<name>.workflow    the workflow to start
//   rule.<name>.input.<in>  an expression giving the workflow input <in> (`item`, `'final'`)
//
// Thread-safety: handle() and processPending() are safe to call from many threads; processing
// is serialised (one pass at a time).

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "connectors/connector/document_source.h"
#include "server/core/clock.h"
#include "server/core/status.h"
#include "server/engine/expression.h"
#include "server/engine/runtime.h"
#include "server/http/request.h"
#include "server/http/router.h"

namespace sendflow::webhooks {

struct SharePointRule {
  std::string name;
  std::string when_text;
  std::shared_ptr<const engine::Expression> when;
  std::string workflow;
  std::map<std::string, std::shared_ptr<const engine::Expression>> inputs;
};

// What one processing pass did.
struct WebhookPassResult {
  int subscriptions = 0;              // pending subscriptions processed
  int items = 0;                      // changed documents seen
  int started = 0;                    // workflows started (new instances)
  int duplicates = 0;                 // rule matches whose business key named an existing instance
  std::vector<std::string> problems;  // items or rules that failed; the pass went on
};

struct SharePointWebhookOptions {
  std::string client_state;             // the shared secret; required
  std::set<std::string> subscriptions;  // accepted subscription ids; empty: any
  std::vector<SharePointRule> rules;
  std::chrono::milliseconds initial_lookback{std::chrono::hours(1)};
  int max_pages_per_pass = 1000;  // a guard against a source that never ends a pass
  std::chrono::milliseconds poll_interval{std::chrono::seconds(30)};  // worker's wake-up
  std::string actor = "sharepoint-webhook";  // who started the workflows, in history
  // Told of every pass the worker thread runs (for the service's log); optional.
  std::function<void(const core::StatusOr<WebhookPassResult>&)> report;
};

// Reads the webhooks.sharepoint.* keys: `section` holds them without the prefix (client_state,
// client_state_env, subscriptions, initial_lookback, rule.<name>.when|workflow|input.<in>).
// The secret is `client_state`, or the environment variable named by `client_state_env`.
// Errors are kInvalidArgument naming "<source>: webhooks.sharepoint.<key>": a missing secret,
// an unknown key, a rule without `when` or `workflow`, an expression that does not compile (with
// its column), a bad duration.
core::StatusOr<SharePointWebhookOptions> parseSharePointWebhookOptions(
    const std::map<std::string, std::string>& section, const std::string& source,
    const std::map<std::string, std::string>& environment);

// Makes a fresh DocumentSource for one processing pass (connectors are not thread-safe).
using DocumentSourceFactory =
    std::function<core::StatusOr<std::unique_ptr<connectors::DocumentSource>>()>;

class SharePointWebhook {
 public:
  // `runtime`, `clock` must outlive the webhook.
  SharePointWebhook(engine::Runtime& runtime, DocumentSourceFactory sources,
                    SharePointWebhookOptions options, const core::Clock& clock);
  ~SharePointWebhook();  // stops the worker

  // POST /webhooks/sharepoint, Access::kPublic.
  void addRoutes(http::Router& router);
  // The handler behind the route (tests call it without a socket).
  http::Response handle(http::Request& request);

  // Processes every pending subscription now, in the calling thread. A subscription whose
  // listing fails stays pending (its cursor stays where the last good page left it) and the
  // error is returned after the others were processed.
  core::StatusOr<WebhookPassResult> processPending();

  // A worker thread that runs processPending() when a notification arrives and every
  // poll_interval (for work left pending by a failure or a restart). stop() joins it.
  void start();
  void stop();

  // The key of a subscription's cursor in the store's state values.
  static std::string cursorKey(const std::string& subscription);
  static constexpr const char* kPendingKey = "webhook.sharepoint.pending";

 private:
  core::Status markPending(const std::vector<std::string>& subscriptions);
  core::Status processSubscription(const std::string& subscription, WebhookPassResult& result);
  core::Status applyRules(const connectors::Item& item, WebhookPassResult& result);
  void workerLoop();

  engine::Runtime& runtime_;
  DocumentSourceFactory sources_;
  SharePointWebhookOptions options_;
  const core::Clock& clock_;

  std::mutex pass_mutex_;  // one processing pass at a time

  std::mutex worker_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by worker_mutex_
  bool notified_ = false;  // guarded by worker_mutex_
  std::thread worker_;
};

}  // namespace sendflow::webhooks
