#pragma once
// Where the HTTP connectors get the credential they send in the Authorization header.
// StaticCredential sends a fixed value (Basic for WebDAV, or a bearer token issued elsewhere);
// ClientCredentialsToken obtains bearer tokens from Microsoft Entra ID (or any OAuth 2.0 token
// endpoint) with the client-credentials grant and caches each one until `margin` before it
// expires, by the injected Clock. Not thread-safe.

#include <chrono>
#include <memory>
#include <string>

#include "connectors/connector/http_transport.h"
#include "server/core/clock.h"
#include "server/core/status.h"

namespace sendflow::connectors {

class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  // The Authorization header value ("Bearer eyJ...", "Basic ..."), or "" for none.
  // kUnauthenticated when the identity provider refuses the credentials.
  virtual core::StatusOr<std::string> authorization() = 0;
  // Forgets a cached token after the peer answered 401 with it.
  virtual void invalidate() = 0;
};

class StaticCredential final : public CredentialSource {
 public:
  explicit StaticCredential(std::string authorization) : authorization_(std::move(authorization)) {}
  core::StatusOr<std::string> authorization() override { return authorization_; }
  void invalidate() override {}

 private:
  std::string authorization_;
};

struct ClientCredentialsConfig {
  std::string token_url;  // https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token
  std::string client_id;
  std::string client_secret;
  std::string scope;  // https://graph.microsoft.com/.default
  std::chrono::seconds margin{300};
  // With both set, the client proves itself with a JWT signed by this certificate's private key
  // (RS256, x5t = the certificate's SHA-1 thumbprint) instead of a client secret. SharePoint
  // Online's REST API accepts app-only tokens only when they were obtained this way.
  std::string certificate_file;  // PEM
  std::string private_key_file;  // PEM, unencrypted
};

// The client assertion Entra ID expects for certificate credentials: a JWT with aud = token_url,
// iss = sub = client_id, a unique jti, nbf = now and exp = now + 10 minutes, signed RS256.
// kInvalidArgument naming the file when the certificate or key cannot be read.
core::StatusOr<std::string> signedClientAssertion(const ClientCredentialsConfig& config,
                                                  core::TimePoint now);

class ClientCredentialsToken final : public CredentialSource {
 public:
  // `transport` and `clock` must outlive this object.
  ClientCredentialsToken(ClientCredentialsConfig config, HttpTransport& transport,
                         const core::Clock& clock);

  core::StatusOr<std::string> authorization() override;
  void invalidate() override { token_.clear(); }

  // Number of tokens obtained from the endpoint so far.
  int tokensIssued() const { return issued_; }

 private:
  ClientCredentialsConfig config_;
  HttpTransport& transport_;
  const core::Clock& clock_;
  std::string token_;
  core::TimePoint refresh_at_{};
  int issued_ = 0;
};

// How a connector authenticates, from the configuration (connector.auth and its keys).
struct CredentialConfig {
  enum class Kind { kNone, kBasic, kBearer, kClientCredentials };
  Kind kind = Kind::kNone;
  std::string username;  // kBasic
  std::string secret;    // password (kBasic), token (kBearer), client secret (kClientCredentials)
  ClientCredentialsConfig client;  // kClientCredentials; client.client_secret is taken from secret
};

// Builds the CredentialSource for `config`; `transport` and `clock` must outlive it.
std::unique_ptr<CredentialSource> makeCredentialSource(const CredentialConfig& config,
                                                       HttpTransport& transport,
                                                       const core::Clock& clock);

// Sends `request` with the credential's Authorization header. After a 401 the credential is
// invalidated and the request sent once more (a token may have been revoked early).
core::StatusOr<HttpResponse> sendWithCredential(HttpTransport& transport,
                                                CredentialSource& credential, HttpRequest request);

}  // namespace sendflow::connectors
