#pragma once
// The web part: the server-rendered HTML pages staff use inside the council intranet (also
// embedded in a SharePoint page through an iframe). docs/web-part.md describes each page;
// server/web/templates/README.md lists the accessible names the end-to-end test relies on.
//
//   GET  /                         -> /tasks when signed in, else the sign-in page
//   GET  /sign-in[?return=/path]   oidc: redirect to the identity provider; development: the
//                                  "Development sign-in – not for real data" page
//   POST /sign-in                  development: sign in as the chosen user
//   GET  /auth/callback            oidc: the provider's redirect (state checked, code redeemed)
//   POST /sign-out                 revokes the session (SessionCodec::revoke) and clears the
//                                  cookie
//   GET  /tasks                    my tasks (approvals first)
//   GET  /tasks/{id}               the task and its form; POST completes it
//   POST /tasks/{id}/claim, /tasks/{id}/reassign
//   GET  /approvals/{token}        the email link's confirmation page (changes nothing);
//                                  POST decides (signed in, CSRF)
//   GET  /start, /start/{workflow} start an audit cycle; POST /start/{workflow} starts it
//   GET  /instances/{id}           an audit cycle: status, tasks, history, documents
//   GET  /moderation, /documents, /documents/{id}/download, /dashboard
//   GET  /assets/sendflow.css, /assets/sendflow.js (embedded; cached for a year with ?v=)
//
// Every route is Access::kPublic for the router: the pages read the session cookie themselves
// and send a browser without one to /sign-in?return=<path> (a page, not a JSON 401). Every
// POST carries a CSRF token (auth::csrfToken of the session and a per-form id) and answers
// 303 See Other (Post/Redirect/Get); a missing or wrong token gives a 403 page saying the form
// expired and nothing changed. The sign-in form, before there is a session, is protected by a
// random token in a short-lived cookie.
//
// Cookies: the session (auth::kSessionCookieName) and the sign-in flow's cookie are HttpOnly,
// Path=/, SameSite from the options (Lax by default; None for an iframe on another site, which
// forces Secure), Secure when public_url is https, when secure_cookies is set or with
// SameSite=None. The sign-in flow's cookie holds the OIDC state, nonce, PKCE verifier and the
// page to return to, sealed by the SessionCodec, and is refused after sign_in_lifetime.
//
// Thread-safety: handlers run on many threads at once; the WebPart holds no mutable state.

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "server/auth/dev_sign_in.h"
#include "server/auth/oidc_client.h"
#include "server/auth/principal.h"
#include "server/auth/session_codec.h"
#include "server/core/clock.h"
#include "server/core/status.h"
#include "server/http/request.h"
#include "server/http/router.h"
#include "server/web/form_view.h"
#include "server/web/page_renderer.h"
#include "server/workbench/approval_links.h"
#include "server/workbench/workbench.h"

namespace sendflow::web {

enum class SameSite { kLax, kStrict, kNone };

struct WebPartOptions {
  // Not owned; must outlive the WebPart. `sessions` is required. Exactly one of `oidc`
  // (auth.mode = oidc) and `dev_sign_in` (auth.mode = development) is normally set; with
  // neither, /sign-in says sign-in is not configured.
  const auth::SessionCodec* sessions = nullptr;
  const auth::OidcClient* oidc = nullptr;
  const auth::DevSignIn* dev_sign_in = nullptr;
  // The service's address as browsers reach it, without a trailing slash
  // ("https://sendflow.council.example"): the OIDC redirect_uri is public_url + /auth/callback.
  std::string public_url;
  // Shown in every page's header and title.
  std::string council_name = "Sample Council";
  // Cookie attributes (see the top of this file).
  bool secure_cookies = false;
  SameSite same_site = SameSite::kLax;
  // How long a sign-in may take between /sign-in and /auth/callback.
  std::chrono::seconds sign_in_lifetime{600};
};

// Parses "lax" | "strict" | "none" (any case); kInvalidArgument naming the value otherwise.
core::StatusOr<SameSite> parseSameSite(const std::string& text);

// `path` when it is a safe local path to send a browser back to after sign-in ("/tasks/42?x=1"),
// else "/tasks". Refused: anything not starting with a single "/", "//host", "/\host", schemes,
// backslashes, control characters, and paths over 2000 characters (open redirects).
std::string safeReturnPath(const std::string& path);

class WebPart {
 public:
  // `workbench`, `approval_links`, `clock` and the pointers in `options` must outlive the
  // WebPart. options.sessions must not be null (std::invalid_argument).
  WebPart(workbench::Workbench& workbench, workbench::ApprovalLinks& approval_links,
          WebPartOptions options, const core::Clock& clock);

  // Adds every route above (Access::kPublic) to `router`.
  void addRoutes(http::Router& router);

  // The principal of the request's session cookie: nullopt when there is no cookie;
  // kUnauthenticated (saying why) for a tampered, expired or malformed one. For the server's
  // Authenticate hook on non-API routes.
  core::StatusOr<std::optional<auth::Principal>> sessionPrincipal(
      const http::Request& request) const;

 private:
  std::optional<auth::Session> session(const http::Request& request) const;
  http::Response signInRedirect(const http::Request& request) const;
  http::Response render(const http::Request& request, const std::optional<auth::Session>& session,
                        int status, const std::string& page, const std::string& title,
                        const std::string& nav, nlohmann::json model) const;
  http::Response message(const http::Request& request, const std::optional<auth::Session>& session,
                         int status, const std::string& heading,
                         std::vector<std::string> paragraphs) const;
  http::Response errorPage(const http::Request& request,
                           const std::optional<auth::Session>& session,
                           const core::Status& status) const;
  http::Response csrfRefused(const http::Request& request,
                             const std::optional<auth::Session>& session) const;
  std::string cookie(const std::string& name, const std::string& value,
                     std::chrono::seconds max_age) const;
  workbench::RequestOrigin origin(const http::Request& request, const char* channel) const;

  http::Response home(http::Request& request);
  http::Response signInPage(http::Request& request);
  http::Response signInSubmit(http::Request& request);
  http::Response authCallback(http::Request& request);
  http::Response signOut(http::Request& request);
  http::Response tasksPage(http::Request& request);
  http::Response taskPage(http::Request& request);
  http::Response taskComplete(http::Request& request);
  http::Response taskClaim(http::Request& request);
  http::Response taskReassign(http::Request& request);
  http::Response approvalPage(http::Request& request);
  http::Response approvalDecide(http::Request& request);
  http::Response startList(http::Request& request);
  http::Response startForm(http::Request& request);
  http::Response startSubmit(http::Request& request);
  http::Response instancePage(http::Request& request);
  http::Response moderationPage(http::Request& request);
  http::Response documentsPage(http::Request& request);
  http::Response documentDownload(http::Request& request);
  http::Response dashboardPage(http::Request& request);
  http::Response asset(http::Request& request);

  http::Response renderTask(const http::Request& request, const auth::Session& session,
                            const workbench::TaskView& view, int status, const PostedFields* posted,
                            const core::Status& problem) const;
  http::Response renderStartForm(const http::Request& request, const auth::Session& session,
                                 const workbench::DefinitionSummary& summary, int status,
                                 const PostedFields* posted, const core::Status& problem) const;
  bool secure() const;

  workbench::Workbench& workbench_;
  workbench::ApprovalLinks& approval_links_;
  WebPartOptions options_;
  const core::Clock& clock_;
  PageRenderer renderer_;
};

}  // namespace sendflow::web
