#include "tests/connectors/fakes/fake_token_endpoint.h"

#include <Poco/URI.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

namespace sendflow::testing {
namespace {

std::map<std::string, std::string> parseForm(const std::string& body) {
  std::map<std::string, std::string> form;
  Poco::URI uri("/?" + body);
  for (const auto& [key, value] : uri.getQueryParameters()) form[key] = value;
  return form;
}

std::string base64UrlDecode(const std::string& text) {
  std::string out;
  unsigned value = 0;
  int bits = 0;
  for (char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '-') v = 62;
    if (c == '_') v = 63;
    if (v < 0) return "";
    value = (value << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((value >> bits) & 0xff);
    }
  }
  return out;
}

}  // namespace

void FakeTokenEndpoint::trustCertificate(const std::string& pem_path) {
  std::lock_guard<std::mutex> lock(mutex_);
  certificate_ = pem_path;
}

bool FakeTokenEndpoint::assertionValid(const std::string& assertion, std::string& why) const {
  const auto dot1 = assertion.find('.');
  const auto dot2 = assertion.find('.', dot1 + 1);
  if (dot1 == std::string::npos || dot2 == std::string::npos) return (why = "not a JWT"), false;
  const auto header =
      nlohmann::json::parse(base64UrlDecode(assertion.substr(0, dot1)), nullptr, false);
  const auto claims = nlohmann::json::parse(
      base64UrlDecode(assertion.substr(dot1 + 1, dot2 - dot1 - 1)), nullptr, false);
  const std::string signature = base64UrlDecode(assertion.substr(dot2 + 1));
  if (!header.is_object() || !claims.is_object()) return (why = "undecodable JWT"), false;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(certificate_.c_str(), "r"), &BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr, &X509_free);
  if (!cert) return (why = "no trusted certificate"), false;
  unsigned char thumbprint[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  X509_digest(cert.get(), EVP_sha1(), thumbprint, &size);
  const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  if (header.value("alg", "") != "RS256" ||
      base64UrlDecode(header.value("x5t", "")) !=
          std::string(reinterpret_cast<char*>(thumbprint), size)) {
    return (why =
                "AADSTS700027: The certificate with identifier used to sign the client assertion "
                "is not registered on application."),
           false;
  }
  if (claims.value("aud", "") != tokenUrl() || claims.value("iss", "") != kClientId ||
      claims.value("sub", "") != kClientId || claims.value("jti", "").empty() ||
      claims.value("exp", 0LL) <= now || claims.value("nbf", 0LL) > now + 300) {
    return (why =
                "AADSTS700024: Client assertion is not within its valid time range or has wrong "
                "claims."),
           false;
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(X509_get_pubkey(cert.get()),
                                                          &EVP_PKEY_free);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  const std::string input = assertion.substr(0, dot2);
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) != 1) {
    return (why = "AADSTS700027: Client assertion contains an invalid signature."), false;
  }
  return true;
}

bool FakeTokenEndpoint::accepts(const std::string& authorization) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return authorization.rfind("Bearer ", 0) == 0 && valid_.count(authorization.substr(7)) > 0;
}

void FakeTokenEndpoint::revokeAll() {
  std::lock_guard<std::mutex> lock(mutex_);
  valid_.clear();
}

void FakeTokenEndpoint::setExpiresIn(int seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  expires_in_ = seconds;
}

int FakeTokenEndpoint::issued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return issued_;
}

FakeReply FakeTokenEndpoint::handle(const FakeRequest& request) {
  if (request.method != "POST" ||
      request.path != std::string("/") + kTenant + "/oauth2/v2.0/token") {
    return json(404, R"({"error":"not_found"})");
  }
  if (request.header("content-type").rfind("application/x-www-form-urlencoded", 0) != 0) {
    return json(
        400,
        R"({"error":"invalid_request","error_description":"AADSTS900144: The request body must contain the following parameter: 'grant_type'."})");
  }
  auto form = parseForm(request.body);
  if (form["grant_type"] != "client_credentials") {
    return json(
        400,
        R"({"error":"unsupported_grant_type","error_description":"AADSTS70003: The app requested an unsupported grant type."})");
  }
  if (form["scope"].empty()) {
    return json(
        400,
        R"({"error":"invalid_scope","error_description":"AADSTS1002012: The provided value for scope is not valid."})");
  }
  if (form.count("client_assertion")) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string why;
    if (form["client_assertion_type"] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
      return json(
          400,
          R"({"error":"invalid_request","error_description":"AADSTS50027: Invalid client_assertion_type."})");
    }
    if (form["client_id"] != kClientId || !assertionValid(form["client_assertion"], why)) {
      return json(401,
                  nlohmann::json{{"error", "invalid_client"}, {"error_description", why}}.dump());
    }
  } else if (form["client_id"] != kClientId || form["client_secret"] != kSecret) {
    return json(
        401,
        R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."})");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string token = "eyJ0eXAi.fake." + std::to_string(++issued_);
  valid_.insert(token);
  nlohmann::json answer = {{"token_type", "Bearer"},
                           {"expires_in", expires_in_},
                           {"ext_expires_in", expires_in_},
                           {"access_token", token}};
  return json(200, answer.dump());
}

}  // namespace sendflow::testing
