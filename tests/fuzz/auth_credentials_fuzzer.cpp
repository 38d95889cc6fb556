// Feeds arbitrary bytes to every parser of a credential sendflow receives from the network: the
// Authorization and X-Api-Key headers (API keys and identity provider JWTs), the session cookie,
// and the development users file. Refusals are fine; crashes, hangs, exceptions escaping and
// sanitizer reports are not. The identity provider is unreachable (port 1) and the clock never
// moves, so after the first token the verifier answers from its cached error without the network.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "server/auth/api_keys.h"
#include "server/auth/bearer_authenticator.h"
#include "server/auth/dev_sign_in.h"
#include "server/auth/oidc_verifier.h"
#include "server/auth/session_codec.h"

namespace {

using namespace sendflow;

struct Fixture {
  core::ManualClock clock{core::TimePoint(std::chrono::seconds(1795000000))};
  auth::SessionCodec sessions{std::string(40, 's'), clock, std::chrono::hours(8)};
  std::shared_ptr<auth::OidcVerifier> verifier;
  std::unique_ptr<auth::BearerAuthenticator> bearer;

  Fixture() {
    auth::OidcOptions options;
    options.issuer = "http://127.0.0.1:1";
    options.audiences = {"sendflow-api"};
    options.http_timeout = std::chrono::milliseconds(200);
    verifier = std::make_shared<auth::OidcVerifier>(options, clock);
    auth::GeneratedKey key = auth::ApiKeys::generate("fuzz");
    std::string hex = key.sha256_line.substr(key.sha256_line.find(" = ") + 3);
    auto keys = auth::ApiKeys::fromSection({{"fuzz.sha256", hex}, {"fuzz.roles", "automation"}});
    bearer = std::make_unique<auth::BearerAuthenticator>(
        std::make_shared<const auth::ApiKeys>(std::move(*keys)), verifier);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fixture;
  const std::string input(reinterpret_cast<const char*>(data), size);
  (void)fixture.bearer->authenticate(input);
  (void)fixture.bearer->authenticate("Bearer " + input);
  (void)fixture.bearer->authenticate("", input);
  (void)fixture.verifier->verifyIdToken(input, "nonce");
  (void)fixture.sessions.open(input);
  (void)fixture.sessions.open(input, "sign-in-flow");
  (void)auth::DevSignIn::parse(input, "fuzz");
  return 0;
}
