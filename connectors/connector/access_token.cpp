#include "connectors/connector/access_token.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <nlohmann/json.hpp>

#include "server/core/json_text.h"

namespace sendflow::connectors {
namespace {

std::string base64Url(const unsigned char* data, std::size_t size) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < size; i += 3) {
    const unsigned v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == size) {
    const unsigned v = data[i] << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
  } else if (i + 2 == size) {
    const unsigned v = (data[i] << 16) | (data[i + 1] << 8);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::string base64Url(const std::string& text) {
  return base64Url(reinterpret_cast<const unsigned char*>(text.data()), text.size());
}

}  // namespace

core::StatusOr<std::string> signedClientAssertion(const ClientCredentialsConfig& config,
                                                  core::TimePoint now) {
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(
      BIO_new_file(config.certificate_file.c_str(), "r"), &BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      cert_bio ? PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr) : nullptr,
      &X509_free);
  if (!cert) {
    return core::invalidArgument("connector.certificate_file: '" + config.certificate_file +
                                 "' is not a readable PEM certificate");
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(
      BIO_new_file(config.private_key_file.c_str(), "r"), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr) : nullptr,
      &EVP_PKEY_free);
  if (!key) {
    return core::invalidArgument("connector.private_key_file: '" + config.private_key_file +
                                 "' is not a readable, unencrypted PEM private key");
  }
  unsigned char thumbprint[EVP_MAX_MD_SIZE];
  unsigned int thumbprint_size = 0;
  X509_digest(cert.get(), EVP_sha1(), thumbprint, &thumbprint_size);
  unsigned char nonce[16];
  std::random_device random;
  for (unsigned char& b : nonce) b = static_cast<unsigned char>(random());
  const long long seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const nlohmann::json header = {
      {"alg", "RS256"}, {"typ", "JWT"}, {"x5t", base64Url(thumbprint, thumbprint_size)}};
  const nlohmann::json claims = {{"aud", config.token_url}, {"iss", config.client_id},
                                 {"sub", config.client_id}, {"jti", base64Url(nonce, sizeof nonce)},
                                 {"nbf", seconds},          {"exp", seconds + 600}};
  const std::string input = base64Url(header.dump()) + "." + base64Url(claims.dump());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::size_t signature_size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &signature_size,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    return core::invalidArgument("connector.private_key_file: '" + config.private_key_file +
                                 "' cannot sign (an RSA key is needed)");
  }
  std::vector<unsigned char> signature(signature_size);
  if (EVP_DigestSign(ctx.get(), signature.data(), &signature_size,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    return core::internalError("client assertion: signing failed");
  }
  return input + "." + base64Url(signature.data(), signature_size);
}

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
                 "&scope=" + percentEncode(config_.scope);
  if (!config_.certificate_file.empty()) {
    SENDFLOW_ASSIGN_OR_RETURN(const std::string assertion,
                              signedClientAssertion(config_, clock_.now()));
    request.body += "&client_assertion_type=" +
                    percentEncode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
                    "&client_assertion=" + assertion;
  } else {
    request.body += "&client_secret=" + percentEncode(config_.client_secret);
  }
  const std::string what = "token endpoint";
  SENDFLOW_ASSIGN_OR_RETURN(HttpResponse response, transport_.send(request));
  if (response.status == 400 || response.status == 401) {
    // Entra ID answers a bad client id or secret with 400/401 invalid_client.
    const core::Status s = statusFromResponse(what, request, response);
    return core::unauthenticated(s.message() + " (check connector.client_id and the secret)");
  }
  if (!response.ok()) return statusFromResponse(what, request, response);
  const auto answer = core::parseJsonText(response.body);
  if (!answer.isOk() || !answer->is_object() || !answer->contains("access_token") ||
      !(*answer)["access_token"].is_string()) {
    return core::unavailable(what + ": " + describeUrl(config_.token_url) +
                             ": the answer has no access_token");
  }
  const nlohmann::json& body = *answer;
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
