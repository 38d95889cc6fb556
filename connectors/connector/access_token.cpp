#include "connectors/connector/access_token.h"

#include <algorithm>
#include <cstdlib>

#include <nlohmann/json.hpp>

namespace sendflow::connectors {

ClientCredentialsToken::ClientCredentialsToken(ClientCredentialsConfig config,
                                               HttpTransport& transport, const core::Clock& clock)
    : config_(std::move(config)), transport_(transport), clock_(clock) {}

core::StatusOr<std::string> ClientCredentialsToken::authorization() {
  if (!token_.empty() && clock_.now() < refresh_at_) return "Bearer " + token_;
  HttpRequest request;
  request.method = "POST";
  request.url = config_.token_url;
  request.content_type = "application/x-www-form-urlencoded";
  request.headers.emplace_back("Accept", "application/json");
  request.body = "grant_type=client_credentials&client_id=" + percentEncode(config_.client_id) +
                 "&client_secret=" + percentEncode(config_.client_secret) +
                 "&scope=" + percentEncode(config_.scope);
  const std::string what = "token endpoint";
  SENDFLOW_ASSIGN_OR_RETURN(HttpResponse response, transport_.send(request));
  if (response.status == 400 || response.status == 401) {
    // Entra ID answers a bad client id or secret with 400/401 invalid_client.
    const core::Status s = statusFromResponse(what, request, response);
    return core::unauthenticated(s.message() + " (check connector.client_id and the secret)");
  }
  if (!response.ok()) return statusFromResponse(what, request, response);
  const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (!body.is_object() || !body.contains("access_token") || !body["access_token"].is_string()) {
    return core::unavailable(what + ": " + describeUrl(config_.token_url) +
                             ": the answer has no access_token");
  }
  long long expires_in = 3600;
  if (body.contains("expires_in")) {
    const auto& e = body["expires_in"];  // a number, or a string in older endpoints
    if (e.is_number_integer()) expires_in = e.get<long long>();
    if (e.is_string()) expires_in = std::atoll(e.get<std::string>().c_str());
  }
  token_ = body["access_token"].get<std::string>();
  const auto lifetime = std::chrono::seconds(expires_in) - config_.margin;
  refresh_at_ = clock_.now() + std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::max(lifetime, std::chrono::seconds(0)));
  ++issued_;
  return "Bearer " + token_;
}

std::unique_ptr<CredentialSource> makeCredentialSource(const CredentialConfig& config,
                                                       HttpTransport& transport,
                                                       const core::Clock& clock) {
  switch (config.kind) {
    case CredentialConfig::Kind::kBasic:
      return std::make_unique<StaticCredential>(basicAuthorization(config.username, config.secret));
    case CredentialConfig::Kind::kBearer:
      return std::make_unique<StaticCredential>("Bearer " + config.secret);
    case CredentialConfig::Kind::kClientCredentials: {
      ClientCredentialsConfig client = config.client;
      client.client_secret = config.secret;
      return std::make_unique<ClientCredentialsToken>(std::move(client), transport, clock);
    }
    case CredentialConfig::Kind::kNone:
      break;
  }
  return std::make_unique<StaticCredential>("");
}

core::StatusOr<HttpResponse> sendWithCredential(HttpTransport& transport,
                                                CredentialSource& credential, HttpRequest request) {
  const std::size_t plain_headers = request.headers.size();
  const std::streampos body_start =
      request.body_stream != nullptr ? request.body_stream->tellg() : std::streampos(-1);
  for (int attempt = 0;; ++attempt) {
    request.headers.resize(plain_headers);
    if (attempt > 0 && request.body_stream != nullptr) {
      request.body_stream->clear();
      request.body_stream->seekg(body_start);
    }
    SENDFLOW_ASSIGN_OR_RETURN(const std::string authorization, credential.authorization());
    if (!authorization.empty()) request.headers.emplace_back("Authorization", authorization);
    SENDFLOW_ASSIGN_OR_RETURN(HttpResponse response, transport.send(request));
    if (response.status != 401 || attempt > 0) return response;
    credential.invalidate();
  }
}

}  // namespace sendflow::connectors
