// Commands of the sign-in area; see cli.h for the conventions.
//
//   sendflow api-key create NAME [--roles automation,qa-lead]
//       Prints a new API key once (it is never stored) and the two configuration lines to paste
//       into the configuration: auth.api_key.NAME.sha256 and auth.api_key.NAME.roles.
//   sendflow auth check
//       Parses the auth.* keys and deployment.environment, applies the production safety check,
//       and loads the development users when auth.mode = development. Exit 0 with a summary, 1
//       with the problem (naming the key) otherwise. With auth.mode = oidc it also reads the
//       provider's discovery document (exit 3 when the provider cannot be reached).
#include <iostream>

#include "server/app/cli.h"
#include "server/auth/api_keys.h"
#include "server/auth/auth_config.h"
#include "server/auth/dev_sign_in.h"
#include "server/auth/oidc_verifier.h"
#include "server/core/clock.h"

namespace sendflow::app {
namespace {

int apiKeyCreate(CommandContext& ctx) {
  std::string roles = "automation";
  takeOption(ctx.args, "roles", roles);
  if (ctx.args.size() != 1) {
    ctx.err << "usage: sendflow api-key create NAME [--roles automation,qa-lead]\n";
    return kExitUsage;
  }
  const std::string& name = ctx.args[0];
  if (!auth::ApiKeys::isValidName(name)) {
    ctx.err << "api-key create: '" << name << "' is not a key name (1 to 64 of a-z, 0-9 and -)\n";
    return kExitInvalidInput;
  }
  std::string trimmed;
  for (char c : roles) {
    if (c != ' ') trimmed += c;
  }
  if (trimmed.empty() || trimmed.find_first_not_of(',') == std::string::npos) {
    ctx.err << "api-key create: --roles names no role\n";
    return kExitInvalidInput;
  }
  auth::GeneratedKey key = auth::ApiKeys::generate(name);
  ctx.out << "API key (shown once; give it to the automation, keep it secret):\n  " << key.key
          << "\n\nConfiguration lines (the key itself is not kept):\n  " << key.sha256_line
          << "\n  auth.api_key." << name << ".roles = " << trimmed << "\n";
  return kExitOk;
}

int authCheck(CommandContext& ctx) {
  if (!ctx.args.empty()) {
    ctx.err << "usage: sendflow auth check\n";
    return kExitUsage;
  }
  auto environment = ctx.settings.getString("deployment.environment", "development");
  if (!environment.isOk()) {
    ctx.err << environment.status().message() << "\n";
    return kExitInvalidInput;
  }
  auto config = auth::parseAuthConfig(ctx.settings.section("auth"), *environment);
  if (!config.isOk()) {
    ctx.err << ctx.settings.source() << ": " << config.status().message() << "\n";
    return kExitInvalidInput;
  }
  core::Status safe = auth::checkProductionSafety(*config);
  if (!safe.isOk()) {
    ctx.err << ctx.settings.source() << ": " << safe.message() << "\n";
    return kExitInvalidInput;
  }
  ctx.out << "sign-in: auth.mode = " << auth::authModeName(config->mode)
          << ", deployment.environment = " << auth::deploymentEnvironmentName(config->environment)
          << "\n";
  if (config->mode == auth::AuthMode::kDevelopment) {
    auto users = auth::DevSignIn::load(config->dev_users_path);
    if (!users.isOk()) {
      ctx.err << users.status().message() << "\n";
      return kExitInvalidInput;
    }
    ctx.out << "development sign-in: " << users->users().size() << " users from "
            << config->dev_users_path << "\n";
  } else {
    ctx.out << "identity provider: " << config->oidc.issuer << " (client " << config->oidc.client_id
            << ", " << config->oidc.role_map.size() << " role mappings)\n";
    // Reach the provider once: a wrong issuer or a firewall shows here, not at the first sign-in.
    core::SystemClock clock;
    auth::OidcVerifier verifier(config->oidc, clock);
    auto metadata = verifier.metadata();
    if (!metadata.isOk()) {
      ctx.err << "identity provider: " << metadata.status().toString() << "\n";
      return kExitFailure;
    }
    ctx.out << "  authorization endpoint: " << metadata->authorization_endpoint
            << "\n  token endpoint: " << metadata->token_endpoint
            << "\n  keys: " << metadata->jwks_uri << "\n";
  }
  ctx.out << "API keys: " << config->api_keys.names().size() << "\n";
  return kExitOk;
}

}  // namespace

void registerAuthCommands(CommandTable& table) {
  table.push_back({"api-key create", "api-key create NAME [--roles automation,qa-lead]",
                   "print a new API key for automation and the configuration lines to paste",
                   apiKeyCreate});
  table.push_back({"auth check", "auth check",
                   "check the sign-in configuration (auth.*, deployment.environment)", authCheck});
}

}  // namespace sendflow::app
