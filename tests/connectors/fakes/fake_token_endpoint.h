#pragma once
// A fake of the Microsoft Entra ID v2.0 token endpoint for the client-credentials grant:
// POST /{tenant}/oauth2/v2.0/token with grant_type=client_credentials, client_id, client_secret
// and scope (form-encoded) answers {"token_type":"Bearer","expires_in":N,"access_token":...};
// a wrong client or secret answers 401 invalid_client with an AADSTS description, as Entra does.
// Certificate credentials (client_assertion, a JWT signed RS256 with x5t) are verified against the
// trusted certificate's public key.
// The SharePoint and Graph fakes ask it whether a bearer token is valid. Thread-safe.

#include <set>

#include "tests/connectors/fakes/fake_http_server.h"

namespace sendflow::testing {

class FakeTokenEndpoint final : public FakeHttpServer {
 public:
  static constexpr const char* kTenant = "contoso-council";
  static constexpr const char* kClientId = "sendflow-app";
  static constexpr const char* kSecret = "client-secret-value";

  FakeTokenEndpoint() { start(); }
  ~FakeTokenEndpoint() override { stop(); }

  std::string tokenUrl() const { return baseUrl() + "/" + kTenant + "/oauth2/v2.0/token"; }
  // True when `authorization` is "Bearer <a token issued and not revoked>".
  bool accepts(const std::string& authorization) const;
  void revokeAll();
  void setExpiresIn(int seconds);
  int issued() const;
  // Accepts client assertions (certificate credentials) signed by this PEM certificate's key.
  void trustCertificate(const std::string& pem_path);

 protected:
  FakeReply handle(const FakeRequest& request) override;

 private:
  mutable std::mutex mutex_;
  std::set<std::string> valid_;  // guarded by mutex_
  int issued_ = 0;               // guarded by mutex_
  int expires_in_ = 3599;        // guarded by mutex_
  std::string certificate_;      // PEM path; guarded by mutex_
  bool assertionValid(const std::string& assertion, std::string& why) const;
};

}  // namespace sendflow::testing
