#include "server/web/web_part.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <set>
#include <stdexcept>

#include "server/core/json_text.h"
#include "server/core/utf8.h"
#include "server/web/embedded_files.h"

namespace sendflow::web {
namespace {

using nlohmann::json;

// The cookie that carries the OIDC state, nonce, PKCE verifier and return path between
// /sign-in and /auth/callback, and the development sign-in form's pre-session CSRF secret.
constexpr char kSignInFlowCookie[] = "sendflow_sign_in";
constexpr char kSignInFormCookie[] = "sendflow_sign_in_form";
// The purpose the sign-in flow's cookie is sealed for: it never opens as a session.
constexpr char kSignInFlowPurpose[] = "sign-in-flow";
constexpr std::size_t kCommentMaxLength = 4000;
constexpr int kTaskListLimit = 200;

const char* const kMonths[] = {"January",   "February", "March",    "April",
                               "May",       "June",     "July",     "August",
                               "September", "October",  "November", "December"};

// "3 December 2026" (UTC).
std::string formatDate(core::TimePoint t) {
  const std::string iso = core::formatIso8601(t);  // 2026-12-03T09:30:00.000Z
  const int month = std::stoi(iso.substr(5, 2));
  const int day = std::stoi(iso.substr(8, 2));
  return std::to_string(day) + " " + kMonths[month - 1] + " " + iso.substr(0, 4);
}

// "3 December 2026, 09:30 UTC".
std::string formatDateTime(core::TimePoint t) {
  return formatDate(t) + ", " + core::formatIso8601(t).substr(11, 5) + " UTC";
}

std::string roleTitle(const std::string& role) {
  static const std::map<std::string, std::string> kTitles = {
      {"qa-lead", "QA lead"},           {"auditor", "auditor"},        {"moderator", "moderator"},
      {"manager", "head of service"},   {"admin", "administrator"},    {"automation", "automation"},
      {"team-manager", "team manager"}, {"panel-chair", "panel chair"}};
  const auto it = kTitles.find(role);
  return it == kTitles.end() ? role : it->second;
}

template <typename Roles>
std::string rolesText(const Roles& roles) {
  std::string out;
  for (const std::string& role : roles) out += (out.empty() ? "" : ", ") + roleTitle(role);
  return out.empty() ? "no role" : out;
}

std::string textOf(const json& object, const char* member) {
  const auto it = object.find(member);
  if (it == object.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// The plan reference of a task subject (a sampled plan), or "".
std::string planReference(const json& subject) {
  if (!subject.is_object()) return "";
  for (const char* member : {"plan_ref", "plan_reference", "reference", "name", "id"}) {
    const std::string value = textOf(subject, member);
    if (!value.empty()) return value;
  }
  return "";
}

// The few facts of the plan a task is about that the page shows (no more than needed).
json subjectFacts(const json& subject) {
  json facts = json::array();
  if (!subject.is_object() || subject.empty()) return facts;
  const std::string reference = planReference(subject);
  if (!reference.empty()) facts.push_back({{"label", "Plan reference"}, {"value", reference}});
  static const std::array<std::pair<const char*, const char*>, 4> kShown = {{
      {"document_type", "Document"},
      {"locality", "Locality"},
      {"finalised_date", "Date finalised"},
      {"review_date", "Review date"},
  }};
  for (const auto& [member, label] : kShown) {
    std::string value = textOf(subject, member);
    if (value.empty()) continue;
    core::TimePoint t;
    if (value.size() >= 10 && core::parseIso8601(value, t)) value = formatDate(t);
    facts.push_back({{"label", label}, {"value", value}});
  }
  return facts;
}

std::string taskHref(const std::string& id) { return "/tasks/" + http::urlEncode(id); }
std::string instanceHref(const std::string& id) { return "/instances/" + http::urlEncode(id); }
std::string documentHref(const std::string& id) {
  return "/documents/" + http::urlEncode(id) + "/download";
}

std::string sizeText(long long bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  if (bytes < 1024 * 1024) return std::to_string((bytes + 512) / 1024) + " KB";
  const long long tenths = (bytes * 10 + 512 * 1024) / (1024 * 1024);
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " MB";
}

std::string instanceStatusText(const std::string& status) {
  static const std::map<std::string, std::string> kText = {
      {"running", "In progress"}, {"waiting", "In progress"},
      {"completed", "Completed"}, {"cancelled", "Cancelled"},
      {"failed", "Failed"},       {"incident", "Stopped: needs an administrator"}};
  const auto it = kText.find(status);
  return it == kText.end() ? status : it->second;
}

std::string eventText(const std::string& event) {
  static const std::map<std::string, std::string> kText = {
      {"started", "Started"},
      {"completed", "Completed"},
      {"task.created", "Task created"},
      {"task.completed", "Task completed"},
      {"task.assigned", "Task assigned"},
      {"task.cancelled", "Task cancelled"},
      {"task.reminded", "Reminder sent"},
      {"task.escalated", "Escalated"},
      {"step.completed", "Step done"},
      {"step.failed", "Step failed"},
      {"incident", "Stopped with a problem"},
  };
  const auto it = kText.find(event);
  return it == kText.end() ? event : it->second;
}

std::string submitText(const engine::Step* step) {
  if (step != nullptr && step->role == "auditor") return "Submit audit";
  if (step != nullptr && step->role == "moderator") return "Submit moderation";
  return "Submit";
}

std::string notice(const http::Request& request) {
  static const std::map<std::string, std::string> kNotices = {
      {"completed", "Your answers were saved. The task is complete."},
      {"claimed", "The task is now yours."},
      {"reassigned", "The task was given to the person you chose."},
      {"started", "The audit cycle has started."},
      {"already-started", "This audit cycle had already been started: here it is."},
      {"signed-out", "You have signed out."},
  };
  const auto it = kNotices.find(request.queryParam("notice"));
  return it == kNotices.end() ? "" : it->second;
}

std::string trimmed(const std::string& text) {
  std::size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  return text.substr(b, e - b);
}

std::size_t characterCount(const std::string& text) {
  std::size_t count = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++count;
  }
  return count;
}

}  // namespace

core::StatusOr<SameSite> parseSameSite(const std::string& text) {
  std::string lower;
  for (unsigned char c : text) lower.push_back(static_cast<char>(std::tolower(c)));
  if (lower == "lax") return SameSite::kLax;
  if (lower == "strict") return SameSite::kStrict;
  if (lower == "none") return SameSite::kNone;
  return core::invalidArgument("'" + text + "' is not a SameSite value (lax, strict or none)");
}

std::string safeReturnPath(const std::string& path) {
  const std::string fallback = "/tasks";
  if (path.empty() || path.size() > 2000 || path[0] != '/') return fallback;
  if (path.size() > 1 && (path[1] == '/' || path[1] == '\\')) return fallback;
  for (unsigned char c : path) {
    if (c < 0x20 || c == 0x7f || c == '\\') return fallback;
  }
  // It goes into the sign-in flow's JSON and into pages: UTF-8 only.
  if (!core::isValidUtf8(path)) return fallback;
  // A percent-encoded slash or backslash right after the first one could become "//" later.
  if (path.size() >= 4 && path[1] == '%') {
    const std::string code = path.substr(2, 2);
    if (code == "2f" || code == "2F" || code == "5c" || code == "5C") return fallback;
  }
  return path;
}

WebPart::WebPart(workbench::Workbench& workbench, workbench::ApprovalLinks& approval_links,
                 WebPartOptions options, const core::Clock& clock)
    : workbench_(workbench),
      approval_links_(approval_links),
      options_(std::move(options)),
      clock_(clock) {
  if (options_.sessions == nullptr) {
    throw std::invalid_argument("WebPart needs a SessionCodec (options.sessions)");
  }
  while (!options_.public_url.empty() && options_.public_url.back() == '/') {
    options_.public_url.pop_back();
  }
}

void WebPart::addRoutes(http::Router& router) {
  auto bind = [this](http::Response (WebPart::*handler)(http::Request&)) {
    return [this, handler](http::Request& request) { return (this->*handler)(request); };
  };
  const auto pub = http::Access::kPublic;
  router.add("GET", "/", bind(&WebPart::home), pub);
  router.add("GET", "/sign-in", bind(&WebPart::signInPage), pub);
  router.add("POST", "/sign-in", bind(&WebPart::signInSubmit), pub);
  router.add("GET", "/auth/callback", bind(&WebPart::authCallback), pub);
  router.add("POST", "/sign-out", bind(&WebPart::signOut), pub);
  router.add("GET", "/tasks", bind(&WebPart::tasksPage), pub);
  router.add("GET", "/tasks/{id}", bind(&WebPart::taskPage), pub);
  router.add("POST", "/tasks/{id}", bind(&WebPart::taskComplete), pub);
  router.add("POST", "/tasks/{id}/claim", bind(&WebPart::taskClaim), pub);
  router.add("POST", "/tasks/{id}/reassign", bind(&WebPart::taskReassign), pub);
  router.add("GET", "/approvals/{token}", bind(&WebPart::approvalPage), pub);
  router.add("POST", "/approvals/{token}", bind(&WebPart::approvalDecide), pub);
  router.add("GET", "/start", bind(&WebPart::startList), pub);
  router.add("GET", "/start/{workflow}", bind(&WebPart::startForm), pub);
  router.add("POST", "/start/{workflow}", bind(&WebPart::startSubmit), pub);
  router.add("GET", "/instances/{id}", bind(&WebPart::instancePage), pub);
  router.add("GET", "/moderation", bind(&WebPart::moderationPage), pub);
  router.add("GET", "/documents", bind(&WebPart::documentsPage), pub);
  router.add("GET", "/documents/{id}/download", bind(&WebPart::documentDownload), pub);
  router.add("GET", "/dashboard", bind(&WebPart::dashboardPage), pub);
  router.add("GET", "/assets/{file}", bind(&WebPart::asset), pub);
}

// --- sessions, cookies and common responses -------------------------------------------------

core::StatusOr<std::optional<auth::Principal>> WebPart::sessionPrincipal(
    const http::Request& request) const {
  const std::string value = request.cookie(auth::kSessionCookieName);
  if (value.empty()) return std::optional<auth::Principal>();
  SENDFLOW_ASSIGN_OR_RETURN(auth::Session opened, options_.sessions->open(value));
  return std::optional<auth::Principal>(std::move(opened.principal));
}

std::optional<auth::Session> WebPart::session(const http::Request& request) const {
  const std::string value = request.cookie(auth::kSessionCookieName);
  if (value.empty()) return std::nullopt;
  auto opened = options_.sessions->open(value);
  if (!opened.isOk()) return std::nullopt;
  return std::move(*opened);
}

bool WebPart::secure() const {
  return options_.secure_cookies || options_.same_site == SameSite::kNone ||
         options_.public_url.rfind("https://", 0) == 0;
}

std::string WebPart::cookie(const std::string& name, const std::string& value,
                            std::chrono::seconds max_age) const {
  std::string out =
      name + "=" + value + "; Path=/; Max-Age=" + std::to_string(max_age.count()) + "; HttpOnly";
  if (secure()) out += "; Secure";
  switch (options_.same_site) {
    case SameSite::kLax:
      out += "; SameSite=Lax";
      break;
    case SameSite::kStrict:
      out += "; SameSite=Strict";
      break;
    case SameSite::kNone:
      out += "; SameSite=None";
      break;
  }
  return out;
}

workbench::RequestOrigin WebPart::origin(const http::Request& request, const char* channel) const {
  workbench::RequestOrigin o;
  o.client_address = request.client_address;
  o.user_agent = request.header("User-Agent").substr(0, 256);
  o.request_id = request.request_id;
  o.channel = channel;
  return o;
}

http::Response WebPart::signInRedirect(const http::Request& request) const {
  std::string back = request.path;
  if (request.method == "GET" && !request.query_string.empty()) {
    back += "?" + request.query_string;
  }
  return http::Response::redirect("/sign-in?return=" + http::urlEncode(safeReturnPath(back)));
}

http::Response WebPart::render(const http::Request& request,
                               const std::optional<auth::Session>& session, int status,
                               const std::string& page, const std::string& title,
                               const std::string& nav, json model) const {
  model["title"] = title;
  model["council_name"] = options_.council_name;
  model["development"] = options_.dev_sign_in != nullptr;
  if (!model.contains("has_errors")) model["has_errors"] = false;
  if (!model.contains("notice")) model["notice"] = notice(request);
  if (session) {
    const auth::Principal& who = session->principal;
    model["user"] = {{"name", who.name.empty() ? who.id : who.name},
                     {"roles_text", rolesText(who.roles)}};
    model["sign_out_csrf"] = auth::csrfToken(*session, "sign-out");
    json items = json::array();
    auto item = [&](const char* href, const char* label, const char* key) {
      items.push_back({{"href", href}, {"label", label}, {"current", nav == key}});
    };
    item("/tasks", "My tasks", "tasks");
    if (workbench::Workbench::canStart(who)) item("/start", "Start an audit", "start");
    if (workbench::Workbench::isOversight(who) || who.hasRole("moderator")) {
      item("/moderation", "Moderation", "moderation");
    }
    item("/documents", "Documents", "documents");
    item("/dashboard", "Dashboard", "dashboard");
    model["nav"] = std::move(items);
  } else {
    model["user"] = false;
  }
  auto html = renderer_.render(page, model);
  if (!html.isOk()) {
    http::Response r = http::Response::text(500, "Sorry, there is a problem with the service.");
    return r;
  }
  return http::Response::html(status, std::move(*html));
}

http::Response WebPart::message(const http::Request& request,
                                const std::optional<auth::Session>& session, int status,
                                const std::string& heading,
                                std::vector<std::string> paragraphs) const {
  json model = {{"heading", heading}, {"paragraphs", paragraphs}};
  model["links"] =
      session ? json::array({{{"href", "/tasks"}, {"text", "Go to my tasks"}}}) : json::array();
  return render(request, session, status, "message", heading, "", std::move(model));
}

http::Response WebPart::errorPage(const http::Request& request,
                                  const std::optional<auth::Session>& session,
                                  const core::Status& status) const {
  using core::StatusCode;
  switch (status.code()) {
    case StatusCode::kNotFound:
      return message(request, session, 404, "Page not found",
                     {"If you typed the web address, check it is correct.",
                      "If you followed a link, the item may have been removed, or it is not "
                      "yours to see."});
    case StatusCode::kPermissionDenied:
      return message(request, session, 403, "You cannot do this",
                     {status.message().empty() ? "Your role does not allow it." : status.message(),
                      "Nothing was changed."});
    case StatusCode::kConflict:
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return message(request, session, 409, "This has changed since you opened it",
                     {status.message(), "Nothing was changed."});
    case StatusCode::kInvalidArgument:
      return message(request, session, 422, "There is a problem with what was sent",
                     {status.message(), "Nothing was changed."});
    case StatusCode::kUnauthenticated:
      return signInRedirect(request);
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
      return message(
          request, session, 503, "Sorry, the service is unavailable",
          {"Try again in a few minutes. Nothing was changed.", "Reference: " + request.request_id});
    default:
      return message(request, session, 500, "Sorry, there is a problem with the service",
                     {"Try again later.",
                      "If it keeps happening, tell the service desk and quote "
                      "the reference " +
                          request.request_id + "."});
  }
}

http::Response WebPart::csrfRefused(const http::Request& request,
                                    const std::optional<auth::Session>& session) const {
  return message(request, session, 403, "This form has expired",
                 {"Nothing was changed.",
                  "Go back to the page, reload it and try again. This happens when a form was "
                  "open for a long time or you signed in again in another tab."});
}

// --- sign-in -------------------------------------------------------------------------------

http::Response WebPart::home(http::Request& request) {
  return http::Response::redirect(session(request) ? "/tasks" : "/sign-in");
}

http::Response WebPart::signInPage(http::Request& request) {
  const std::string back = safeReturnPath(request.queryParam("return"));
  const auto current = session(request);
  if (current) return http::Response::redirect(back);

  if (options_.oidc != nullptr) {
    auto begun = options_.oidc->begin(options_.public_url + "/auth/callback");
    if (!begun.isOk()) {
      return message(request, std::nullopt, 503, "Sign-in is not available at the moment",
                     {"The council's sign-in service did not answer. Try again in a few minutes.",
                      "Reference: " + request.request_id});
    }
    auth::Principal flow;
    flow.id = "sign-in";
    const json kept = {{"state", begun->state},
                       {"nonce", begun->nonce},
                       {"verifier", begun->code_verifier},
                       {"return", back},
                       {"issued", clock_.now().time_since_epoch().count()}};
    http::Response r = http::Response::redirect(begun->authorization_url);
    r.header("Set-Cookie", cookie(kSignInFlowCookie,
                                  options_.sessions->seal(flow, kept.dump(), kSignInFlowPurpose),
                                  options_.sign_in_lifetime));
    return r;
  }
  if (options_.dev_sign_in == nullptr) {
    return message(request, std::nullopt, 503, "Sign-in is not configured",
                   {"Ask the service's administrator to configure auth.mode."});
  }
  // The development sign-in form: a pre-session secret in a cookie, the form's token from it.
  std::string secret = request.cookie(kSignInFormCookie);
  const bool fresh = secret.size() < 32;
  if (fresh) secret = auth::SessionCodec::randomToken(32);
  auth::Session pre;
  pre.csrf_secret = secret;
  json users = json::array();
  for (const auth::DevUser& user : options_.dev_sign_in->users()) {
    users.push_back({{"id", user.id},
                     {"option_id", fieldId("user-" + user.id)},
                     {"name", user.name},
                     {"roles_text", rolesText(user.roles)}});
  }
  const bool chosen_nobody = request.queryParam("error") == "choose";
  json model = {{"csrf", auth::csrfToken(pre, "sign-in")},
                {"return_path", back},
                {"users", users},
                {"has_errors", chosen_nobody}};
  if (chosen_nobody) {
    model["errors"] =
        json::array({{{"anchor", users.empty() ? "main" : users[0]["option_id"].get<std::string>()},
                      {"message", "Choose who to sign in as"}}});
  }
  http::Response r = render(request, std::nullopt, chosen_nobody ? 422 : 200, "sign_in_dev",
                            "Development sign-in", "", std::move(model));
  if (fresh) r.header("Set-Cookie", cookie(kSignInFormCookie, secret, options_.sign_in_lifetime));
  return r;
}

http::Response WebPart::signInSubmit(http::Request& request) {
  if (options_.dev_sign_in == nullptr) {
    return message(request, std::nullopt, 404, "Page not found",
                   {"This service signs you in through the council's sign-in page."});
  }
  const auto form = request.formFields();
  if (!form.isOk()) return errorPage(request, std::nullopt, form.status());
  const PostedFields& posted = *form;
  auth::Session pre;
  pre.csrf_secret = request.cookie(kSignInFormCookie);
  if (pre.csrf_secret.size() < 32 ||
      !auth::checkCsrf(pre, "sign-in", postedValue(posted, "csrf_token"))) {
    return csrfRefused(request, std::nullopt);
  }
  const std::string back = safeReturnPath(postedValue(posted, "return"));
  const std::string user = postedValue(posted, "user");
  if (user.empty()) {
    return http::Response::redirect("/sign-in?error=choose&return=" + http::urlEncode(back));
  }
  auto principal = options_.dev_sign_in->signIn(user);
  if (!principal.isOk()) {
    return http::Response::redirect("/sign-in?error=choose&return=" + http::urlEncode(back));
  }
  const core::Status recorded = workbench_.directory().recordSignIn(*principal);
  if (!recorded.isOk()) return errorPage(request, std::nullopt, recorded);
  http::Response r = http::Response::redirect(back);
  r.header("Set-Cookie",
           cookie(auth::kSessionCookieName,
                  options_.sessions->seal(*principal, auth::SessionCodec::randomToken(32)),
                  options_.sessions->lifetime()));
  r.header("Set-Cookie", cookie(kSignInFormCookie, "", std::chrono::seconds(0)));
  request.log["user"] = principal->id;
  return r;
}

http::Response WebPart::authCallback(http::Request& request) {
  if (options_.oidc == nullptr) {
    return message(request, std::nullopt, 404, "Page not found", {});
  }
  auto failed = [&](const std::string& why) {
    json model = {{"heading", "Sign-in did not finish"},
                  {"paragraphs", json::array({why, "Nothing was changed."})},
                  {"links", json::array()},
                  {"sign_in_href", "/sign-in"}};
    http::Response r = render(request, std::nullopt, 401, "message", "Sign-in did not finish", "",
                              std::move(model));
    r.header("Set-Cookie", cookie(kSignInFlowCookie, "", std::chrono::seconds(0)));
    return r;
  };
  auto flow = options_.sessions->open(request.cookie(kSignInFlowCookie), kSignInFlowPurpose);
  if (!flow.isOk()) {
    return failed("The sign-in took too long or was started in another browser. Sign in again.");
  }
  auto flow_state = core::parseJsonText(flow->csrf_secret);
  if (!flow_state.isOk() || !flow_state->is_object()) {
    return failed("The sign-in took too long. Sign in again.");
  }
  const json kept = std::move(flow_state).value();
  const long long issued = kept.value("issued", 0LL);
  const long long now = clock_.now().time_since_epoch().count();
  const long long limit_ms = options_.sign_in_lifetime.count() * 1000LL;
  if (issued <= 0 || now - issued > limit_ms || now < issued - 60000) {
    return failed("The sign-in took too long. Sign in again.");
  }
  if (!request.queryParam("error").empty()) {
    return failed("The council's sign-in service did not sign you in (" +
                  request.queryParam("error") + ").");
  }
  const std::string state = request.queryParam("state");
  if (state.empty() || state != kept.value("state", "")) {
    return failed("The sign-in answer did not match the sign-in that was started. Sign in again.");
  }
  const std::string code = request.queryParam("code");
  if (code.empty()) return failed("The sign-in answer had no code. Sign in again.");
  auto principal = options_.oidc->finish(code, kept.value("verifier", ""), kept.value("nonce", ""),
                                         options_.public_url + "/auth/callback");
  if (!principal.isOk()) {
    if (principal.status().code() == core::StatusCode::kUnavailable) {
      return message(request, std::nullopt, 503, "Sign-in is not available at the moment",
                     {"The council's sign-in service did not answer. Try again in a few minutes.",
                      "Reference: " + request.request_id});
    }
    request.log["sign_in_problem"] = principal.status().message();
    return failed("The council's sign-in service did not confirm who you are. Sign in again.");
  }
  const core::Status recorded = workbench_.directory().recordSignIn(*principal);
  if (!recorded.isOk()) return errorPage(request, std::nullopt, recorded);
  http::Response r = http::Response::redirect(safeReturnPath(kept.value("return", "")));
  r.header("Set-Cookie",
           cookie(auth::kSessionCookieName,
                  options_.sessions->seal(*principal, auth::SessionCodec::randomToken(32)),
                  options_.sessions->lifetime()));
  r.header("Set-Cookie", cookie(kSignInFlowCookie, "", std::chrono::seconds(0)));
  request.log["user"] = principal->id;
  return r;
}

http::Response WebPart::signOut(http::Request& request) {
  const auto current = session(request);
  if (current) {
    const auto form = request.formFields();
    if (!form.isOk()) return errorPage(request, current, form.status());
    if (!auth::checkCsrf(*current, "sign-out", postedValue(*form, "csrf_token"))) {
      return csrfRefused(request, current);
    }
    // Revoked, not only forgotten by this browser: a copy of the cookie stops working too.
    const core::Status revoked = options_.sessions->revoke(*current);
    if (!revoked.isOk()) return errorPage(request, current, revoked);
  }
  http::Response r = http::Response::redirect("/sign-in?notice=signed-out");
  r.header("Set-Cookie", cookie(auth::kSessionCookieName, "", std::chrono::seconds(0)));
  return r;
}

// --- tasks ---------------------------------------------------------------------------------

http::Response WebPart::tasksPage(http::Request& request) {
  const auto current = session(request);
  if (!current) return signInRedirect(request);
  const auth::Principal& who = current->principal;
  auto tasks = workbench_.myTasks(who, kTaskListLimit);
  if (!tasks.isOk()) return errorPage(request, current, tasks.status());
  std::stable_partition(tasks->begin(), tasks->end(),
                        [](const workbench::TaskView& v) { return v.task.kind == "approval"; });
  json rows = json::array();
  for (const workbench::TaskView& v : *tasks) {
    rows.push_back({{"href", taskHref(v.task.id)},
                    {"title", v.task.title},
                    {"is_approval", v.task.kind == "approval"},
                    {"plan_ref", planReference(v.subject)},
                    {"workflow_title", v.workflow_title},
                    {"due_text", v.task.due_at ? formatDate(*v.task.due_at) : "No due date"},
                    {"overdue", v.overdue},
                    {"status_text", v.task.assignee == who.id
                                        ? "Assigned to you"
                                        : "Waiting in the " + roleTitle(v.task.role) + " queue"}});
  }
  json model = {{"tasks", rows}, {"has_tasks", !rows.empty()}};
  return render(request, current, 200, "tasks", "My tasks", "tasks", std::move(model));
}

http::Response WebPart::renderTask(const http::Request& request, const auth::Session& session,
                                   const workbench::TaskView& view, int status,
                                   const PostedFields* posted, const core::Status& problem) const {
  const store::TaskRecord& task = view.task;
  const auth::Principal& who = session.principal;
  const bool open = task.status == "open";
  const bool is_approval = task.kind == "approval";
  json model = {{"workflow_title", view.workflow_title},
                {"title", task.title},
                {"description", view.step != nullptr ? view.step->description : ""},
                // The cycle's page is for those who see the cycle (the workbench's rule).
                {"instance_href", workbench::Workbench::isOversight(who) ||
                                          task.assignee == who.id || task.completed_by == who.id
                                      ? instanceHref(task.instance_id)
                                      : ""},
                {"due_text", task.due_at ? formatDate(*task.due_at) : "No due date"},
                {"overdue", view.overdue},
                {"role_text", roleTitle(task.role)}};
  json facts = subjectFacts(view.subject);
  model["has_subject"] = !facts.empty();
  model["subject"] = facts;
  if (task.status == "open") {
    model["status_text"] = "Open";
  } else if (task.status == "completed") {
    model["status_text"] =
        "Completed" +
        (task.completed_at ? " on " + formatDate(*task.completed_at) : std::string()) +
        (task.completed_by.empty() ? "" : " by " + task.completed_by);
  } else {
    model["status_text"] = "Cancelled";
  }
  model["assignee_text"] = task.assignee.empty()
                               ? "Nobody yet (waiting in the " + roleTitle(task.role) + " queue)"
                               : (task.assignee == who.id ? "You" : task.assignee);
  const std::string base = taskHref(task.id);
  model["can_claim"] = open && view.can_claim;
  model["claim_action"] = base + "/claim";
  model["claim_csrf"] = auth::csrfToken(session, "claim:" + task.id);
  model["complete_action"] = base;
  model["complete_csrf"] = auth::csrfToken(session, "complete:" + task.id);
  model["submit_text"] = submitText(view.step);
  const bool may_act = open && (view.can_complete || view.can_claim);
  model["show_task_form"] = may_act && !is_approval;
  model["show_approval_form"] = may_act && is_approval;
  if (!open) {
    model["read_only"] = "This task is no longer open; its answers cannot be changed.";
  } else if (!may_act) {
    model["read_only"] = task.assignee.empty()
                             ? "You cannot take this task on."
                             : "This task is assigned to someone else; only they can complete it.";
  } else {
    model["read_only"] = false;
  }

  // Errors of the last submission, by field.
  std::map<std::string, std::string> field_error;
  json errors = json::array();
  std::vector<std::string> names;
  std::map<std::string, const engine::FormField*> by_name;
  if (view.step != nullptr) {
    for (const engine::FormField& f : view.step->form.fields) {
      names.push_back(f.name);
      by_name[f.name] = &f;
    }
  }
  if (is_approval) names = {"decision", "comment"};
  if (!problem.isOk()) {
    for (const FieldError& e : fieldErrors(problem.message(), names)) {
      std::string text = e.message;
      std::string anchor;
      if (!e.field.empty()) {
        const auto f = by_name.find(e.field);
        text =
            f != by_name.end()
                ? friendlyProblem(f->second->label.empty() ? e.field : f->second->label,
                                  f->second->type, e.message)
                : (e.field == "comment" ? "Your comment " + e.message : "Choose Approve or Reject");
        field_error[e.field] = text;
        anchor = fieldId(e.field == "decision" ? "comment" : e.field);
      } else {
        anchor = names.empty() ? "main" : fieldId(is_approval ? "comment" : names.front());
      }
      errors.push_back({{"anchor", anchor}, {"message", text}});
    }
  }
  model["errors"] = errors;
  model["has_errors"] = !errors.empty();

  json fields = json::array();
  if (view.step != nullptr && !is_approval) {
    for (const engine::FormField& f : view.step->form.fields) {
      fields.push_back(formFieldView(f, posted, json(), field_error[f.name]));
    }
  }
  model["fields"] = fields;
  model["comment_field"] =
      textFieldView("comment", "Comment (optional)", "Say why, especially if you reject.", true,
                    kCommentMaxLength, posted != nullptr ? postedValue(*posted, "comment") : "",
                    field_error.count("comment")
                        ? field_error["comment"]
                        : (field_error.count("decision") ? field_error["decision"] : ""));

  // Reassignment: people with the task's role who may be given it.
  const bool can_reassign = open && view.can_reassign;
  model["can_reassign"] = can_reassign;
  if (can_reassign) {
    json candidates = json::array();
    auto people = workbench_.directory().withRole(task.role);
    if (people.isOk()) {
      for (const workbench::Person& p : *people) {
        if (p.id == task.assignee) continue;
        if (!workbench_.assignable(task, p.id).isOk()) continue;
        candidates.push_back({{"id", p.id}, {"name", p.name.empty() ? p.id : p.name}});
      }
    }
    model["has_candidates"] = !candidates.empty();
    model["candidates"] = candidates;
    model["reassign_action"] = base + "/reassign";
    model["reassign_csrf"] = auth::csrfToken(session, "reassign:" + task.id);
  }
  return render(request, session, status, "task", task.title, "tasks", std::move(model));
}

http::Response WebPart::taskPage(http::Request& request) {
  const auto current = session(request);
  if (!current) return signInRedirect(request);
  request.log["task"] = request.param("id");
  auto view = workbench_.task(current->principal, request.param("id"));
  if (!view.isOk()) return errorPage(request, current, view.status());
  return renderTask(request, *current, *view, 200, nullptr, core::Status::ok());
}

http::Response WebPart::taskComplete(http::Request& request) {
  const auto current = session(request);
  const std::string id = request.param("id");
  if (!current) {
    return http::Response::redirect("/sign-in?return=" + http::urlEncode(taskHref(id)));
  }
  request.log["task"] = id;
  const auto form = request.formFields();
  if (!form.isOk()) return errorPage(request, current, form.status());
  const PostedFields& posted = *form;
  if (!auth::checkCsrf(*current, "complete:" + id, postedValue(posted, "csrf_token"))) {
    return csrfRefused(request, current);
  }
  auto view = workbench_.task(current->principal, id);
  if (!view.isOk()) return errorPage(request, current, view.status());
  json data;
  if (view->task.kind == "approval") {
    data = json::object();
    const std::string decision = postedValue(posted, "decision");
    if (!decision.empty()) data["decision"] = decision;
    const std::string comment = trimmed(postedValue(posted, "comment"));
    if (characterCount(comment) > kCommentMaxLength) {
      return renderTask(
          request, *current, *view, 422, &posted,
          core::invalidArgument("comment: must be " + std::to_string(kCommentMaxLength) +
                                " characters or fewer"));
    }
    if (!comment.empty()) data["comment"] = comment;
  } else {
    data = formData(view->step != nullptr ? view->step->form : engine::Form{}, posted);
  }
  const core::Status done =
      workbench_.complete(current->principal, id, data, origin(request, "web"));
  if (done.isOk()) return http::Response::redirect("/tasks?notice=completed");
  if (done.code() == core::StatusCode::kInvalidArgument) {
    return renderTask(request, *current, *view, 422, &posted, done);
  }
  if (done.code() == core::StatusCode::kConflict) {
    return message(
        request, current, 409, "This task has already been completed",
        {"Someone completed or closed it while you had it open.", "Your answers were not saved."});
  }
  return errorPage(request, current, done);
}

http::Response WebPart::taskClaim(http::Request& request) {
  const auto current = session(request);
  const std::string id = request.param("id");
  if (!current) {
    return http::Response::redirect("/sign-in?return=" + http::urlEncode(taskHref(id)));
  }
  const auto form = request.formFields();
  if (!form.isOk()) return errorPage(request, current, form.status());
  if (!auth::checkCsrf(*current, "claim:" + id, postedValue(*form, "csrf_token"))) {
    return csrfRefused(request, current);
  }
  const core::Status claimed = workbench_.claim(current->principal, id, origin(request, "web"));
  if (!claimed.isOk()) return errorPage(request, current, claimed);
  return http::Response::redirect(taskHref(id) + "?notice=claimed");
}

http::Response WebPart::taskReassign(http::Request& request) {
  const auto current = session(request);
  const std::string id = request.param("id");
  if (!current) {
    return http::Response::redirect("/sign-in?return=" + http::urlEncode(taskHref(id)));
  }
  const auto form = request.formFields();
  if (!form.isOk()) return errorPage(request, current, form.status());
  const PostedFields& posted = *form;
  if (!auth::checkCsrf(*current, "reassign:" + id, postedValue(posted, "csrf_token"))) {
    return csrfRefused(request, current);
  }
  const std::string assignee = postedValue(posted, "assignee");
  if (assignee.empty()) {
    return message(request, current, 422, "Choose who to give the task to",
                   {"Nothing was changed."});
  }
  const core::Status moved =
      workbench_.reassign(current->principal, id, assignee, origin(request, "web"));
  if (!moved.isOk()) return errorPage(request, current, moved);
  return http::Response::redirect(taskHref(id) + "?notice=reassigned");
}

// --- approval links --------------------------------------------------------------------------

http::Response WebPart::approvalPage(http::Request& request) {
  const auto current = session(request);
  const std::string token = request.param("token");
  auto link = approval_links_.inspect(token);
  if (!link.isOk()) return errorPage(request, current, link.status());
  auto closed = [&](int status, const std::string& heading, const std::string& why) {
    json model = {{"heading", heading},
                  {"paragraphs", json::array({why, "Nothing was changed."})},
                  {"links", json::array({{{"href", "/tasks"}, {"text", "Go to my tasks"}}})},
                  {"no_referrer", true}};
    return render(request, current, status, "message", heading, "", std::move(model));
  };
  switch (link->state) {
    case workbench::ApprovalLinkState::kUnknown:
      return closed(404, "This link is not valid",
                    "Check that you used the whole link from the email. If the decision is "
                    "still yours to make, it is in your tasks.");
    case workbench::ApprovalLinkState::kExpired:
      return closed(410, "This link has expired",
                    "If the decision is still open, you can make it from your tasks.");
    case workbench::ApprovalLinkState::kUsed:
      return closed(410, "This link has already been used", "The decision was made.");
    case workbench::ApprovalLinkState::kClosed:
      return closed(410, "This decision is no longer needed",
                    "It was made another way or the task was closed.");
    case workbench::ApprovalLinkState::kValid:
      break;
  }
  if (current && current->principal.id != link->approver) {
    return closed(403, "This link was sent to someone else",
                  "Only the person the email was sent to can use it. You are signed in as " +
                      current->principal.name + ".");
  }
  const bool approve = link->decision == "approve";
  json model = {
      {"no_referrer", true},
      {"workflow_title", link->workflow_title},
      {"heading", approve ? "Confirm your approval" : "Confirm your rejection"},
      {"decision_upper", approve ? "APPROVE" : "REJECT"},
      {"task_title", link->task_title},
      {"plan_ref", link->plan_reference},
      {"due_text", link->due_at ? formatDate(*link->due_at) : ""},
      {"signed_in", current.has_value()},
      {"is_reject", !approve},
      {"confirm_text", approve ? "Confirm approval" : "Confirm rejection"},
      {"action", "/approvals/" + http::urlEncode(token)},
      {"sign_in_href",
       "/sign-in?return=" + http::urlEncode("/approvals/" + http::urlEncode(token))},
  };
  if (current) {
    model["csrf"] = auth::csrfToken(*current, "approval:" + token);
    model["comment_field"] = textFieldView("comment", "Comment (optional)",
                                           "Anything the moderator or QA lead should know.", true,
                                           kCommentMaxLength, "", "");
  }
  return render(request, current, 200, "approval_link",
                approve ? "Confirm your approval" : "Confirm your rejection", "", std::move(model));
}

http::Response WebPart::approvalDecide(http::Request& request) {
  const auto current = session(request);
  const std::string token = request.param("token");
  const std::string page = "/approvals/" + http::urlEncode(token);
  if (!current) return http::Response::redirect("/sign-in?return=" + http::urlEncode(page));
  const auto form = request.formFields();
  if (!form.isOk()) return errorPage(request, current, form.status());
  const PostedFields& posted = *form;
  if (!auth::checkCsrf(*current, "approval:" + token, postedValue(posted, "csrf_token"))) {
    return csrfRefused(request, current);
  }
  auto link = approval_links_.inspect(token);
  if (!link.isOk()) return errorPage(request, current, link.status());
  const std::string comment = trimmed(postedValue(posted, "comment"));
  auto decided =
      approval_links_.decide(current->principal, token, comment, origin(request, "email-link"));
  auto closed = [&](int status, const std::string& heading, const std::string& why) {
    json model = {{"heading", heading},
                  {"paragraphs", json::array({why, "Nothing was changed."})},
                  {"links", json::array({{{"href", "/tasks"}, {"text", "Go to my tasks"}}})},
                  {"no_referrer", true}};
    return render(request, current, status, "message", heading, "", std::move(model));
  };
  if (!decided.isOk()) {
    switch (decided.status().code()) {
      case core::StatusCode::kNotFound:
        return closed(404, "This link is not valid",
                      "Check that you used the whole link from the email.");
      case core::StatusCode::kFailedPrecondition:
        return closed(410, "This link has expired",
                      "If the decision is still open, you can make it from your tasks.");
      case core::StatusCode::kPermissionDenied:
        return closed(403, "This link was sent to someone else",
                      "Only the person the email was sent to can use it.");
      case core::StatusCode::kInvalidArgument: {
        const bool approve = link->decision == "approve";
        json model = {
            {"no_referrer", true},
            {"workflow_title", link->workflow_title},
            {"heading", approve ? "Confirm your approval" : "Confirm your rejection"},
            {"decision_upper", approve ? "APPROVE" : "REJECT"},
            {"task_title", link->task_title},
            {"plan_ref", link->plan_reference},
            {"due_text", link->due_at ? formatDate(*link->due_at) : ""},
            {"signed_in", true},
            {"is_reject", !approve},
            {"confirm_text", approve ? "Confirm approval" : "Confirm rejection"},
            {"action", page},
            {"csrf", auth::csrfToken(*current, "approval:" + token)},
            {"has_errors", true},
            {"errors",
             json::array({{{"anchor", fieldId("comment")},
                           {"message", "Your comment must be " + std::to_string(kCommentMaxLength) +
                                           " characters or fewer"}}})},
        };
        model["comment_field"] = textFieldView(
            "comment", "Comment (optional)", "Anything the moderator or QA lead should know.", true,
            kCommentMaxLength, postedValue(posted, "comment"),
            "Your comment must be " + std::to_string(kCommentMaxLength) + " characters or fewer");
        return render(request, current, 422, "approval_link", "Confirm your decision", "",
                      std::move(model));
      }
      default:
        return errorPage(request, current, decided.status());
    }
  }
  if (decided->outcome == workbench::ApprovalOutcome::kAlreadyDecided) {
    return closed(409, "Already decided",
                  "This decision had already been made, so your confirmation changed nothing.");
  }
  const bool approved = decided->decision == "approve";
  json model = {
      {"heading", approved ? "Approved" : "Rejected"},
      {"summary",
       std::string("You ") + (approved ? "approved" : "rejected") + " “" + link->task_title + "”" +
           (link->plan_reference.empty() ? "" : " for plan " + link->plan_reference) +
           (approved ? ". The audit cycle moves on." : ". It goes back to the moderator.")},
      {"comment", !comment.empty()},
      {"no_referrer", true},
  };
  return render(request, current, 200, "approval_outcome", approved ? "Approved" : "Rejected", "",
                std::move(model));
}

// --- starting an audit cycle -----------------------------------------------------------------

http::Response WebPart::startList(http::Request& request) {
  const auto current = session(request);
  if (!current) return signInRedirect(request);
  json workflows = json::array();
  for (const workbench::DefinitionSummary& d : workbench_.definitions(current->principal)) {
    if (!d.can_start || !d.definition) continue;
    workflows.push_back(
        {{"href", "/start/" + http::urlEncode(d.definition->id)},
         {"title", d.definition->title.empty() ? d.definition->id : d.definition->title},
         {"description", d.definition->description}});
  }
  json model = {{"workflows", workflows}, {"has_workflows", !workflows.empty()}};
  return render(request, current, workflows.empty() ? 403 : 200, "start_list",
                "Start an audit cycle", "start", std::move(model));
}

http::Response WebPart::renderStartForm(const http::Request& request, const auth::Session& session,
                                        const workbench::DefinitionSummary& summary, int status,
                                        const PostedFields* posted,
                                        const core::Status& problem) const {
  const engine::Definition& def = *summary.definition;
  std::vector<std::string> names;
  for (const engine::InputDecl& input : def.inputs) names.push_back(input.name);
  names.push_back("business_key");
  std::map<std::string, std::string> field_error;
  json errors = json::array();
  if (!problem.isOk()) {
    for (const FieldError& e : fieldErrors(problem.message(), names)) {
      std::string text = e.message;
      if (!e.field.empty()) {
        std::string label = e.field;
        std::replace(label.begin(), label.end(), '_', ' ');
        text = e.message == "required" ? "Enter a value for “" + label + "”"
                                       : "“" + label + "”: " + e.message;
        field_error[e.field] = text;
      }
      errors.push_back(
          {{"anchor", fieldId(e.field.empty() ? names.front() : e.field)}, {"message", text}});
    }
  }
  json fields = json::array();
  for (const engine::InputDecl& input : def.inputs) {
    fields.push_back(inputFieldView(input, posted, field_error[input.name]));
  }
  const std::string title = def.title.empty() ? def.id : def.title;
  json model = {
      {"title", title},
      {"description", def.description},
      {"action", "/start/" + http::urlEncode(def.id)},
      {"csrf", auth::csrfToken(session, "start:" + def.id)},
      {"idempotency_key", auth::SessionCodec::randomToken(16)},
      {"fields", fields},
      {"has_fields", !fields.empty()},
      {"business_key_field",
       textFieldView("business_key", "Cycle name (optional)",
                     "For example 2026-11. Starting a cycle with a name that was used before "
                     "opens that cycle instead of a second one.",
                     false, 100, posted != nullptr ? postedValue(*posted, "business_key") : "",
                     field_error["business_key"])},
      {"errors", errors},
      {"has_errors", !errors.empty()},
  };
  return render(request, session, status, "start_form", title, "start", std::move(model));
}

http::Response WebPart::startForm(http::Request& request) {
  const auto current = session(request);
  if (!current) return signInRedirect(request);
  auto summary = workbench_.definition(current->principal, request.param("workflow"));
  if (!summary.isOk()) return errorPage(request, current, summary.status());
  if (!summary->can_start || !summary->definition) {
    return errorPage(request, current,
                     core::permissionDenied("Only the QA lead and administrators start audit "
                                            "cycles."));
  }
  return renderStartForm(request, *current, *summary, 200, nullptr, core::Status::ok());
}

http::Response WebPart::startSubmit(http::Request& request) {
  const auto current = session(request);
  const std::string workflow = request.param("workflow");
  if (!current) {
    return http::Response::redirect("/sign-in?return=" +
                                    http::urlEncode("/start/" + http::urlEncode(workflow)));
  }
  const auto form = request.formFields();
  if (!form.isOk()) return errorPage(request, current, form.status());
  const PostedFields& posted = *form;
  if (!auth::checkCsrf(*current, "start:" + workflow, postedValue(posted, "csrf_token"))) {
    return csrfRefused(request, current);
  }
  auto summary = workbench_.definition(current->principal, workflow);
  if (!summary.isOk()) return errorPage(request, current, summary.status());
  if (!summary->definition) return errorPage(request, current, core::notFound(workflow));
  const json input = inputData(summary->definition->inputs, posted);
  const std::string business_key = trimmed(postedValue(posted, "business_key"));
  auto started = workbench_.start(current->principal, workflow, input, business_key,
                                  postedValue(posted, "idempotency_key"), origin(request, "web"));
  if (!started.isOk()) {
    if (started.status().code() == core::StatusCode::kInvalidArgument) {
      return renderStartForm(request, *current, *summary, 422, &posted, started.status());
    }
    return errorPage(request, current, started.status());
  }
  request.log["instance"] = started->instance_id;
  const bool fresh = started->created || started->replayed;
  return http::Response::redirect(instanceHref(started->instance_id) +
                                  (fresh ? "?notice=started" : "?notice=already-started"));
}

// --- instances, moderation, documents, dashboard ---------------------------------------------

http::Response WebPart::instancePage(http::Request& request) {
  const auto current = session(request);
  if (!current) return signInRedirect(request);
  const auth::Principal& who = current->principal;
  const std::string id = request.param("id");
  auto view = workbench_.instance(who, id);
  if (!view.isOk()) return errorPage(request, current, view.status());
  auto history = workbench_.history(who, id);
  if (!history.isOk()) return errorPage(request, current, history.status());
  auto documents = workbench_.documents(who, id);
  if (!documents.isOk()) return errorPage(request, current, documents.status());

  std::shared_ptr<const engine::Definition> def;
  for (const auto& d : workbench_.runtime().definitions()) {
    if (d->id == view->instance.definition_id) def = d;
  }
  const store::InstanceRecord& instance = view->instance;
  const core::TimePoint now = clock_.now();
  json tasks = json::array();
  for (const store::TaskRecord& t : view->tasks) {
    const bool open = t.status == "open";
    auto subject = core::parseStoredJson(t.subject_json, "task " + t.id + ": subject");
    if (!subject.isOk()) return errorPage(request, current, subject.status());
    tasks.push_back(
        {{"href", taskHref(t.id)},
         {"open", open},
         {"title", t.title},
         {"plan_ref", planReference(*subject)},
         {"assignee_text", t.assignee.empty() ? "Waiting in the " + roleTitle(t.role) + " queue"
                                              : (t.assignee == who.id ? "You" : t.assignee)},
         {"due_text", t.due_at ? formatDate(*t.due_at) : "No due date"},
         {"overdue", open && t.due_at && *t.due_at < now},
         {"status_text", open ? "Open" : (t.status == "completed" ? "Completed" : "Cancelled")}});
  }
  json rows = json::array();
  for (const store::HistoryRecord& h : *history) {
    std::string what = eventText(h.event);
    const engine::Step* step = def && !h.step_id.empty() ? def->findStep(h.step_id) : nullptr;
    if (step != nullptr && !step->title.empty()) what += ": " + step->title;
    auto detail =
        core::parseStoredJson(h.detail_json, "history entry " + std::to_string(h.id) + ": detail");
    if (!detail.isOk()) return errorPage(request, current, detail.status());
    if (detail->is_object() && detail->value("via", "") == "email-link") what += " (email link)";
    rows.push_back({{"when", formatDateTime(h.at)}, {"who", h.actor}, {"what", what}});
  }
  json docs = json::array();
  for (const store::DocumentRecord& d : *documents) {
    docs.push_back({{"href", documentHref(d.id)},
                    {"name", d.name},
                    {"size_text", sizeText(d.size)},
                    {"created_text", formatDate(d.created_at)}});
  }
  const std::string title =
      view->workflow_title.empty() ? instance.definition_id : view->workflow_title;
  const std::string status = instance.status;
  json model = {
      {"title", title},
      {"status_text", instanceStatusText(status)},
      {"status_class",
       status == "completed"
           ? "tag--done"
           : (status == "failed" || status == "incident" ? "tag--overdue" : "tag--info")},
      {"business_key", instance.business_key},
      {"started_text", formatDateTime(instance.created_at)},
      {"updated_text", formatDateTime(instance.updated_at)},
      {"tasks", tasks},
      {"has_tasks", !tasks.empty()},
      {"history", rows},
      {"documents", docs},
      {"has_documents", !docs.empty()},
  };
  return render(request, current, 200, "instance", title, "", std::move(model));
}

http::Response WebPart::moderationPage(http::Request& request) {
  const auto current = session(request);
  if (!current) return signInRedirect(request);
  const auth::Principal& who = current->principal;
  auto queue = workbench_.moderationQueue(who);
  if (!queue.isOk()) return errorPage(request, current, queue.status());
  json rows = json::array();
  for (const workbench::TaskView& v : *queue) {
    std::string grade;
    for (const char* member : {"overall_grade", "auditor_grade", "grade"}) {
      grade = textOf(v.subject, member);
      if (!grade.empty()) break;
    }
    const std::string reference = planReference(v.subject);
    rows.push_back(
        {{"href", taskHref(v.task.id)},
         {"title", v.task.title},
         {"plan_ref", reference.empty() ? v.task.title : reference},
         {"grade", grade.empty() ? "Not recorded" : grade},
         {"waiting_text", formatDate(v.task.created_at)},
         {"due_text", v.task.due_at ? formatDate(*v.task.due_at) : "No due date"},
         {"overdue", v.overdue},
         {"assignee_text", v.task.assignee.empty()
                               ? "Nobody yet"
                               : (v.task.assignee == who.id ? "You" : v.task.assignee)}});
  }
  json model = {{"tasks", rows}, {"has_tasks", !rows.empty()}};
  return render(request, current, 200, "moderation", "Moderation queue", "moderation",
                std::move(model));
}

http::Response WebPart::documentsPage(http::Request& request) {
  const auto current = session(request);
  if (!current) return signInRedirect(request);
  const auth::Principal& who = current->principal;
  auto documents = workbench_.documents(who, "");
  if (!documents.isOk()) return errorPage(request, current, documents.status());
  // Titles of the cycles the documents belong to.
  std::map<std::string, std::string> titles;
  for (const auto& d : workbench_.runtime().definitions()) titles[d->id] = d->title;
  std::map<std::string, std::string> instance_text;
  workbench::InstanceQuery query;
  query.limit = workbench_.options().max_limit;
  auto instances = workbench_.instances(who, query);
  if (instances.isOk()) {
    for (const store::InstanceRecord& i : *instances) {
      const std::string title =
          titles.count(i.definition_id) ? titles[i.definition_id] : i.definition_id;
      instance_text[i.id] = title + ", started " + formatDate(i.created_at);
    }
  }
  json rows = json::array();
  for (const store::DocumentRecord& d : *documents) {
    rows.push_back(
        {{"href", documentHref(d.id)},
         {"name", d.name},
         {"instance_href", instanceHref(d.instance_id)},
         {"instance_text", instance_text.count(d.instance_id) ? instance_text[d.instance_id]
                                                              : "Audit cycle " + d.instance_id},
         {"created_text", formatDateTime(d.created_at)},
         {"size_text", sizeText(d.size)}});
  }
  json model = {{"documents", rows}, {"has_documents", !rows.empty()}};
  return render(request, current, 200, "documents", "Documents", "documents", std::move(model));
}

http::Response WebPart::documentDownload(http::Request& request) {
  const auto current = session(request);
  if (!current) return signInRedirect(request);
  auto document = workbench_.document(current->principal, request.param("id"));
  if (!document.isOk()) return errorPage(request, current, document.status());
  http::Response r;
  r.status = 200;
  r.content_type = document->media_type.empty() ? "application/octet-stream" : document->media_type;
  r.file_path = document->path;
  r.download_name = document->name;
  r.header("Cache-Control", "private, no-store");
  request.log["document"] = document->id;
  return r;
}

http::Response WebPart::dashboardPage(http::Request& request) {
  const auto current = session(request);
  if (!current) return signInRedirect(request);
  const auth::Principal& who = current->principal;
  auto board = workbench_.dashboard(who);
  if (!board.isOk()) return errorPage(request, current, board.status());
  auto figure = [](long long value, const std::string& label) {
    return json{{"value", std::to_string(value)}, {"label", label}};
  };
  json figures = json::array({
      figure(board->my_open_tasks, "of my tasks open"),
      figure(board->open_tasks, "open tasks"),
      figure(board->overdue_tasks, "tasks overdue"),
      figure(board->awaiting_moderation, "audits awaiting moderation"),
      figure(board->awaiting_approval, "moderation outcomes awaiting approval"),
      figure(board->instances_running, "audit cycles in progress"),
      figure(board->instances_completed, "audit cycles completed"),
  });
  if (who.hasRole("admin")) {
    figures.push_back(figure(board->mail_failed, "mails that could not be sent"));
  }
  long long total = 0;
  long long good_or_better = 0;
  for (const auto& [grade, count] : board->grades) {
    total += count;
    if (grade == "Outstanding" || grade == "Good") good_or_better += count;
  }
  json grades = json::array();
  for (const auto& [grade, count] : board->grades) {
    const long long percent = total > 0 ? (count * 100 + total / 2) / total : 0;
    const long long bar = total > 0 ? ((count * 20 + total / 2) / total) * 5 : 0;
    grades.push_back({{"grade", grade},
                      {"count", std::to_string(count)},
                      {"percent", std::to_string(percent)},
                      {"bar", std::to_string(bar)}});
  }
  json overdue = json::array();
  for (const workbench::TaskView& v : board->overdue) {
    overdue.push_back({{"href", taskHref(v.task.id)},
                       {"title", v.task.title},
                       {"plan_ref", planReference(v.subject)},
                       {"assignee_text", v.task.assignee.empty()
                                             ? "Waiting in the " + roleTitle(v.task.role) + " queue"
                                             : v.task.assignee},
                       {"due_text", v.task.due_at ? formatDate(*v.task.due_at) : ""}});
  }
  const long long good_percent = total > 0 ? (good_or_better * 100 + total / 2) / total : 0;
  json model = {
      {"figures", figures},
      {"grades", grades},
      {"has_grades", total > 0},
      {"graded_total", std::to_string(total)},
      {"good_or_better_text",
       std::to_string(good_or_better) + " of " + std::to_string(total) + " audits (" +
           std::to_string(good_percent) + "%) were graded Good or better: " +
           (good_percent >= 80 ? "the 80% target is met." : "below the 80% target.")},
      {"overdue", overdue},
      {"has_overdue", !overdue.empty()},
  };
  return render(request, current, 200, "dashboard", "Dashboard", "dashboard", std::move(model));
}

http::Response WebPart::asset(http::Request& request) {
  const std::string name = request.param("file");
  std::string type;
  if (name == "sendflow.css") type = "text/css; charset=utf-8";
  if (name == "sendflow.js") type = "text/javascript; charset=utf-8";
  const EmbeddedFile* file = type.empty() ? nullptr : embeddedFile("assets/" + name);
  if (file == nullptr) {
    return http::Response::text(404, "no such asset");
  }
  http::Response r;
  r.status = 200;
  r.content_type = type;
  r.body = std::string(file->content);
  const bool versioned = request.queryParam("v") == renderer_.assetVersion();
  r.header("Cache-Control",
           versioned ? "public, max-age=31536000, immutable" : "public, max-age=300");
  r.header("ETag", "\"" + std::string(file->sha256.substr(0, 16)) + "\"");
  return r;
}

}  // namespace sendflow::web
