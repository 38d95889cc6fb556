#include "tests/auth/test_identity_provider.h"

#include <Poco/Net/HTMLForm.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdexcept>
#include <vector>

#include "server/auth/crypto.h"

namespace sendflow::auth::testing {
namespace {

std::string bnParam(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) throw std::runtime_error("no RSA parameter");
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(bn);
  return crypto::base64UrlEncode(bytes);
}

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(TestIdentityProvider& idp) : idp_(idp) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    idp_.serve(request, response);
  }

 private:
  TestIdentityProvider& idp_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(TestIdentityProvider& idp) : idp_(idp) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler(idp_);
  }

 private:
  TestIdentityProvider& idp_;
};

}  // namespace

RsaKey::RsaKey(std::string kid, int bits) : kid_(std::move(kid)) {
  key_ = EVP_RSA_gen(static_cast<unsigned int>(bits));
  if (key_ == nullptr) throw std::runtime_error("RSA key generation failed");
}

RsaKey::~RsaKey() { EVP_PKEY_free(key_); }

nlohmann::json RsaKey::publicJwk() const {
  return {{"kty", "RSA"},
          {"kid", kid_},
          {"use", "sig"},
          {"alg", "RS256"},
          {"n", bnParam(key_, OSSL_PKEY_PARAM_RSA_N)},
          {"e", bnParam(key_, OSSL_PKEY_PARAM_RSA_E)}};
}

std::string RsaKey::publicPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key_);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(length));
  BIO_free(bio);
  return pem;
}

std::string RsaKey::signRs256(const std::string& data) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t length = 0;
  std::string signature;
  if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_) == 1 &&
      EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) == 1) {
    signature.resize(length);
    if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
      signature.clear();
    }
    signature.resize(length);
  }
  EVP_MD_CTX_free(ctx);
  if (signature.empty()) throw std::runtime_error("RS256 signing failed");
  return signature;
}

std::string assembleToken(const nlohmann::json& header, const nlohmann::json& payload,
                          const std::string& signature) {
  return crypto::base64UrlEncode(header.dump()) + "." + crypto::base64UrlEncode(payload.dump()) +
         "." + crypto::base64UrlEncode(signature);
}

std::string signToken(const RsaKey& key, const nlohmann::json& payload, nlohmann::json header) {
  if (!header.contains("alg")) header["alg"] = "RS256";
  if (!header.contains("kid")) header["kid"] = key.kid();
  if (!header.contains("typ")) header["typ"] = "JWT";
  std::string signed_part =
      crypto::base64UrlEncode(header.dump()) + "." + crypto::base64UrlEncode(payload.dump());
  return signed_part + "." + crypto::base64UrlEncode(key.signRs256(signed_part));
}

TestIdentityProvider::TestIdentityProvider() : jwks_({{"keys", nlohmann::json::array()}}) {
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  port_ = socket.address().port();
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(8);
  server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket, params);
  server_->start();
}

TestIdentityProvider::~TestIdentityProvider() { server_->stopAll(true); }

std::string TestIdentityProvider::issuer() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

void TestIdentityProvider::setDiscoveredIssuer(const std::string& issuer) {
  std::lock_guard<std::mutex> lock(mutex_);
  discovered_issuer_ = issuer;
}

void TestIdentityProvider::setJwks(nlohmann::json jwks) {
  std::lock_guard<std::mutex> lock(mutex_);
  jwks_ = std::move(jwks);
}

void TestIdentityProvider::setTokenReply(int status, nlohmann::json body) {
  std::lock_guard<std::mutex> lock(mutex_);
  token_status_ = status;
  token_body_ = std::move(body);
}

void TestIdentityProvider::setDown(bool down) {
  std::lock_guard<std::mutex> lock(mutex_);
  down_ = down;
}

int TestIdentityProvider::count(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = counts_.find(path);
  return it == counts_.end() ? 0 : it->second;
}

std::vector<std::string> TestIdentityProvider::proxied() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return proxied_;
}

std::map<std::string, std::string> TestIdentityProvider::lastTokenForm() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_form_;
}

void TestIdentityProvider::serve(Poco::Net::HTTPServerRequest& request,
                                 Poco::Net::HTTPServerResponse& response) {
  std::string path = request.getURI();
  if (path.rfind("http://", 0) == 0) {  // through a proxy: an absolute URI
    std::size_t slash = path.find('/', 7);
    std::lock_guard<std::mutex> lock(mutex_);
    proxied_.push_back(path);
    path = slash == std::string::npos ? "/" : path.substr(slash);
  }
  std::string body;
  int status = 200;
  std::map<std::string, std::string> form;
  if (path == "/token") {
    Poco::Net::HTMLForm parsed(request, request.stream());
    for (const auto& [name, value] : parsed) form[name] = value;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++counts_[path];
    std::string base = issuer();
    if (down_) {
      status = 503;
      body = "{\"error\": \"down\"}";
    } else if (path == "/.well-known/openid-configuration") {
      nlohmann::json doc = {{"issuer", discovered_issuer_.empty() ? base : discovered_issuer_},
                            {"jwks_uri", base + "/jwks"},
                            {"authorization_endpoint", base + "/authorize"},
                            {"token_endpoint", base + "/token"},
                            {"end_session_endpoint", base + "/logout"}};
      body = doc.dump();
    } else if (path == "/jwks") {
      body = jwks_.dump();
    } else if (path == "/token") {
      last_form_ = form;
      status = token_status_;
      body = token_body_.dump();
    } else {
      status = 404;
      body = "{}";
    }
  }
  response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  response.setContentType("application/json");
  response.sendBuffer(body.data(), body.size());
}

}  // namespace sendflow::auth::testing
