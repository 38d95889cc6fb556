#include "server/auth/oidc_client.h"

#include <utility>

#include "server/auth/crypto.h"
#include "server/auth/provider_http.h"
#include "server/core/json_text.h"

namespace sendflow::auth {
namespace {

std::string appendQuery(const std::string& url,
                        const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out = url;
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [name, value] : params) {
    out += sep;
    out += formEncode(name) + "=" + formEncode(value);
    sep = '&';
  }
  return out;
}

}  // namespace

OidcClient::OidcClient(const OidcVerifier& verifier, std::vector<std::string> scopes)
    : verifier_(verifier), scopes_(std::move(scopes)) {}

std::string OidcClient::codeChallenge(const std::string& code_verifier) {
  return crypto::base64UrlEncode(crypto::sha256(code_verifier));
}

core::StatusOr<SignInRequest> OidcClient::begin(const std::string& redirect_uri) const {
  const OidcOptions& options = verifier_.options();
  if (options.client_id.empty()) {
    return core::invalidArgument("auth.oidc.client_id: is required for the browser sign-in");
  }
  SENDFLOW_ASSIGN_OR_RETURN(ProviderMetadata meta, verifier_.metadata());
  if (meta.authorization_endpoint.empty()) {
    return core::unavailable(
        "the identity provider's discovery document has no "
        "authorization_endpoint");
  }
  std::string scope = "openid";
  for (const auto& s : scopes_) {
    if (s != "openid" && !s.empty()) scope += " " + s;
  }
  SignInRequest request;
  request.state = crypto::base64UrlEncode(crypto::randomBytes(32));
  request.nonce = crypto::base64UrlEncode(crypto::randomBytes(32));
  request.code_verifier = crypto::base64UrlEncode(crypto::randomBytes(32));
  request.authorization_url = appendQuery(meta.authorization_endpoint,
                                          {{"response_type", "code"},
                                           {"client_id", options.client_id},
                                           {"redirect_uri", redirect_uri},
                                           {"scope", scope},
                                           {"state", request.state},
                                           {"nonce", request.nonce},
                                           {"code_challenge", codeChallenge(request.code_verifier)},
                                           {"code_challenge_method", "S256"}});
  return request;
}

core::StatusOr<Principal> OidcClient::finish(const std::string& code,
                                             const std::string& code_verifier,
                                             const std::string& nonce,
                                             const std::string& redirect_uri) const {
  const OidcOptions& options = verifier_.options();
  if (options.client_id.empty()) {
    return core::invalidArgument("auth.oidc.client_id: is required for the browser sign-in");
  }
  if (code.empty()) return core::unauthenticated("the sign-in callback has no code");
  if (code_verifier.empty() || nonce.empty()) {
    return core::unauthenticated("the sign-in request's code verifier or nonce is missing");
  }
  SENDFLOW_ASSIGN_OR_RETURN(ProviderMetadata meta, verifier_.metadata());
  if (meta.token_endpoint.empty()) {
    return core::unavailable("the identity provider's discovery document has no token_endpoint");
  }
  std::vector<std::pair<std::string, std::string>> fields = {
      {"grant_type", "authorization_code"}, {"code", code},
      {"redirect_uri", redirect_uri},       {"client_id", options.client_id},
      {"code_verifier", code_verifier},
  };
  if (!options.client_secret.empty()) fields.emplace_back("client_secret", options.client_secret);
  SENDFLOW_ASSIGN_OR_RETURN(
      ProviderReply reply,
      providerPostForm(meta.token_endpoint, fields, {options.http_timeout, options.proxy}));
  // An answer that is not JSON is null here: the status decides what went wrong.
  auto answer = core::parseJsonText(reply.body);
  const nlohmann::json body = answer.isOk() ? std::move(answer).value() : nlohmann::json();
  if (reply.status >= 500) {
    return core::unavailable("POST " + meta.token_endpoint + ": HTTP " +
                             std::to_string(reply.status));
  }
  if (reply.status != 200) {
    std::string why = "HTTP " + std::to_string(reply.status);
    if (body.is_object()) {
      if (auto e = body.find("error"); e != body.end() && e->is_string()) {
        why = e->get<std::string>();
      }
      if (auto d = body.find("error_description"); d != body.end() && d->is_string()) {
        why += ": " + d->get<std::string>().substr(0, 300);
      }
    }
    return core::unauthenticated("the identity provider refused the sign-in code (" + why + ")");
  }
  if (body.is_discarded() || !body.is_object()) {
    return core::unavailable("POST " + meta.token_endpoint + ": the answer is not a JSON object");
  }
  auto id_token = body.find("id_token");
  if (id_token == body.end() || !id_token->is_string()) {
    return core::unauthenticated(
        "the identity provider's answer has no id_token (is the "
        "\"openid\" scope allowed for client " +
        options.client_id + "?)");
  }
  return verifier_.verifyIdToken(id_token->get<std::string>(), nonce);
}

core::StatusOr<std::string> OidcClient::signOutUrl(
    const std::string& post_logout_redirect_uri) const {
  SENDFLOW_ASSIGN_OR_RETURN(ProviderMetadata meta, verifier_.metadata());
  if (meta.end_session_endpoint.empty()) {
    return core::notFound("the identity provider has no end_session_endpoint");
  }
  std::vector<std::pair<std::string, std::string>> params = {
      {"client_id", verifier_.options().client_id}};
  if (!post_logout_redirect_uri.empty()) {
    params.emplace_back("post_logout_redirect_uri", post_logout_redirect_uri);
  }
  return appendQuery(meta.end_session_endpoint, params);
}

}  // namespace sendflow::auth
