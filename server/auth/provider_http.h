#pragma once
// HTTP(S) requests to the identity provider (discovery, JWKS, token endpoint) with Poco::Net.
// Internal to server/auth. https verifies the provider's certificate against the system's CA
// store; http is accepted (loopback providers in tests, and checkProductionSafety refuses an http
// issuer in production).
//
// Errors: kUnavailable naming the URL when the provider cannot be reached, times out or answers
// with a body larger than the limit; kInvalidArgument for a URL that is not http(s).
// Thread-safe (one session per call).

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/core/status.h"

namespace sendflow::auth {

struct ProviderReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

// How the provider is reached: a timeout for connecting, sending and receiving, and an optional
// proxy "HOST:PORT" (empty: direct; https goes through it with CONNECT).
struct ProviderConnection {
  std::chrono::milliseconds timeout{5000};
  std::string proxy;
};

// GET `url`, Accept: application/json.
core::StatusOr<ProviderReply> providerGet(const std::string& url,
                                          const ProviderConnection& connection);
// POST `fields` form-encoded (application/x-www-form-urlencoded) to `url`.
core::StatusOr<ProviderReply> providerPostForm(
    const std::string& url, const std::vector<std::pair<std::string, std::string>>& fields,
    const ProviderConnection& connection);

// GET `url` and parse a JSON object: kUnavailable for a status other than 200 or a body that is
// not a JSON object (the message names the URL).
core::StatusOr<nlohmann::json> providerGetJson(const std::string& url,
                                               const ProviderConnection& connection);

// Splits "HOST:PORT"; false when it is not that (no host, a port outside 1..65535).
bool parseProxy(const std::string& proxy, std::string& host, unsigned short& port);

// Percent-encoding of everything but the unreserved characters (RFC 3986), for query strings and
// form bodies.
std::string formEncode(const std::string& value);

}  // namespace sendflow::auth
