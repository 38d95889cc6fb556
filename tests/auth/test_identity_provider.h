#pragma once
// Test doubles for the sign-in tests: RSA keys that sign RS256 tokens, and a small identity
// provider on 127.0.0.1 (port chosen by the system) that serves a discovery document, a JWKS the
// test can rotate, and a token endpoint whose answer the test sets. It records how often each path
// was requested and the body of the last token request.

#include <Poco/Net/HTTPServer.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <openssl/types.h>
#include <nlohmann/json.hpp>

namespace sendflow::auth::testing {

// An RSA key pair (2048 bits) with a key id.
class RsaKey {
 public:
  explicit RsaKey(std::string kid, int bits = 2048);
  ~RsaKey();
  RsaKey(const RsaKey&) = delete;
  RsaKey& operator=(const RsaKey&) = delete;

  const std::string& kid() const { return kid_; }
  // The public JWK: {"kty":"RSA","kid":..,"use":"sig","alg":"RS256","n":..,"e":..}.
  nlohmann::json publicJwk() const;
  // The public key as PEM (SubjectPublicKeyInfo), e.g. for an HS256 confusion attack.
  std::string publicPem() const;
  // RSASSA-PKCS1-v1_5 with SHA-256 over `data`.
  std::string signRs256(const std::string& data) const;

 private:
  std::string kid_;
  EVP_PKEY* key_ = nullptr;
};

// A compact JWS: base64url(header).base64url(payload).base64url(signature). When `header` has
// no "alg", RS256 is used; "kid" defaults to the key's.
std::string signToken(const RsaKey& key, const nlohmann::json& payload,
                      nlohmann::json header = nlohmann::json::object());
// The same but with any signature bytes (none, HMAC, garbage).
std::string assembleToken(const nlohmann::json& header, const nlohmann::json& payload,
                          const std::string& signature);

class TestIdentityProvider {
 public:
  TestIdentityProvider();
  ~TestIdentityProvider();

  std::string issuer() const;  // http://127.0.0.1:PORT
  // The issuer the discovery document claims (default: issuer()).
  void setDiscoveredIssuer(const std::string& issuer);
  void setJwks(nlohmann::json jwks);
  // The token endpoint's next answers: status and JSON body.
  void setTokenReply(int status, nlohmann::json body);
  // 503 for every request while true.
  void setDown(bool down);

  int count(const std::string& path) const;
  // The absolute URIs requested through it as a proxy.
  std::vector<std::string> proxied() const;
  std::map<std::string, std::string> lastTokenForm() const;

  // For the request handler.
  void serve(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);

 private:
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  unsigned short port_ = 0;
  mutable std::mutex mutex_;
  std::string discovered_issuer_;                 // guarded by mutex_
  nlohmann::json jwks_;                           // guarded by mutex_
  int token_status_ = 200;                        // guarded by mutex_
  nlohmann::json token_body_;                     // guarded by mutex_
  bool down_ = false;                             // guarded by mutex_
  std::map<std::string, int> counts_;             // guarded by mutex_
  std::map<std::string, std::string> last_form_;  // guarded by mutex_
  std::vector<std::string> proxied_;              // guarded by mutex_
};

}  // namespace sendflow::auth::testing
