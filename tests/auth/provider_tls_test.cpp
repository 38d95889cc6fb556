// The identity provider over https: sendflow verifies the provider's certificate against the
// system's certificate authorities, so a provider with a certificate nobody vouches for (a
// self-signed one, or a man in the middle) is refused before any key is read from it.

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "server/auth/oidc_verifier.h"

namespace sendflow::auth {
namespace {

namespace fs = std::filesystem;

// Writes a self-signed certificate for 127.0.0.1 and its key as PEM files.
void writeSelfSignedCertificate(const fs::path& cert_file, const fs::path& key_file) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(cert, key, EVP_sha256());
  FILE* c = std::fopen(cert_file.c_str(), "w");
  PEM_write_X509(c, cert);
  std::fclose(c);
  FILE* k = std::fopen(key_file.c_str(), "w");
  PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(k);
  X509_free(cert);
  EVP_PKEY_free(key);
}

class DiscoveryHandler : public Poco::Net::HTTPRequestHandler {
 public:
  DiscoveryHandler(std::string issuer, std::atomic<int>& served)
      : issuer_(std::move(issuer)), served_(served) {}
  void handleRequest(Poco::Net::HTTPServerRequest&,
                     Poco::Net::HTTPServerResponse& response) override {
    ++served_;
    std::string body = "{\"issuer\": \"" + issuer_ + "\", \"jwks_uri\": \"" + issuer_ + "/jwks\"}";
    response.setContentType("application/json");
    response.sendBuffer(body.data(), body.size());
  }

 private:
  std::string issuer_;
  std::atomic<int>& served_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(std::string issuer, std::atomic<int>& served)
      : issuer_(std::move(issuer)), served_(served) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new DiscoveryHandler(issuer_, served_);
  }

 private:
  std::string issuer_;
  std::atomic<int>& served_;
};

TEST(ProviderTlsTest, AProviderWithAnUntrustedCertificateIsRefused) {
  fs::path dir =
      fs::temp_directory_path() / ("sendflow-provider-tls-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  writeSelfSignedCertificate(dir / "cert.pem", dir / "key.pem");

  Poco::Net::Context::Ptr server_context =
      new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, (dir / "key.pem").string(),
                             (dir / "cert.pem").string(), "", Poco::Net::Context::VERIFY_NONE);
  Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0), 64,
                                       server_context);
  std::string issuer = "https://127.0.0.1:" + std::to_string(socket.address().port());
  std::atomic<int> served{0};
  Poco::Net::HTTPServer server(new Factory(issuer, served), socket,
                               new Poco::Net::HTTPServerParams);
  server.start();

  core::ManualClock clock(core::TimePoint(std::chrono::seconds(1795000000)));
  OidcOptions options;
  options.issuer = issuer;
  options.audiences = {"sendflow-api"};
  options.http_timeout = std::chrono::milliseconds(5000);
  OidcVerifier verifier(options, clock);
  auto metadata = verifier.metadata();
  server.stopAll(true);
  fs::remove_all(dir);

  ASSERT_FALSE(metadata.isOk()) << "a self-signed provider was trusted";
  EXPECT_EQ(metadata.status().code(), core::StatusCode::kUnavailable);
  EXPECT_NE(metadata.status().message().find(issuer), std::string::npos)
      << metadata.status().message();
  EXPECT_EQ(served.load(), 0) << "the request reached the untrusted provider";
}

}  // namespace
}  // namespace sendflow::auth
