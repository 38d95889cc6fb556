#include "tests/connectors/fakes/fake_token_endpoint.h"

#include <Poco/URI.h>

#include <nlohmann/json.hpp>

namespace sendflow::testing {
namespace {

std::map<std::string, std::string> parseForm(const std::string& body) {
  std::map<std::string, std::string> form;
  Poco::URI uri("/?" + body);
  for (const auto& [key, value] : uri.getQueryParameters()) form[key] = value;
  return form;
}

}  // namespace

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
  if (form["client_id"] != kClientId || form["client_secret"] != kSecret) {
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
