#include "server/auth/provider_http.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>

#include <istream>
#include <memory>
#include <mutex>

#include "server/core/json_text.h"

namespace sendflow::auth {
namespace {

// Discovery documents and key sets are a few kilobytes; this bounds a hostile or broken peer.
constexpr std::size_t kMaxReplyBytes = 1024 * 1024;

Poco::Net::Context::Ptr clientContext() {
  static std::once_flag once;
  static Poco::Net::Context::Ptr context;
  std::call_once(once, [] {
    Poco::Net::initializeSSL();
    context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", "",
                                     Poco::Net::Context::VERIFY_RELAXED, 9,
                                     /*loadDefaultCAs=*/true);
  });
  return context;
}

core::StatusOr<ProviderReply> send(const std::string& method, const std::string& url,
                                   const std::string& content_type, const std::string& body,
                                   const ProviderConnection& connection) {
  Poco::URI uri;
  try {
    uri = Poco::URI(url);
  } catch (const Poco::Exception& e) {
    return core::invalidArgument("'" + url + "' is not a URL: " + e.displayText());
  }
  if (uri.getScheme() != "http" && uri.getScheme() != "https") {
    return core::invalidArgument("'" + url + "' is not an http or https URL");
  }
  try {
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (uri.getScheme() == "https") {
      session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(),
                                                                clientContext());
    } else {
      session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    }
    if (!connection.proxy.empty()) {
      std::string proxy_host;
      unsigned short proxy_port = 0;
      if (!parseProxy(connection.proxy, proxy_host, proxy_port)) {
        return core::invalidArgument("auth.oidc.proxy: '" + connection.proxy +
                                     "' is not HOST:PORT");
      }
      session->setProxy(proxy_host, proxy_port);
    }
    Poco::Timespan span(static_cast<Poco::Timespan::TimeDiff>(connection.timeout.count()) * 1000);
    session->setTimeout(span, span, span);
    std::string target = uri.getPathEtc();
    if (target.empty()) target = "/";
    Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Accept", "application/json");
    request.set("User-Agent", "sendflow");
    if (!content_type.empty()) {
      request.setContentType(content_type);
      request.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    std::ostream& out = session->sendRequest(request);
    if (!body.empty()) out << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session->receiveResponse(response);
    ProviderReply reply;
    reply.status = static_cast<int>(response.getStatus());
    reply.content_type = response.getContentType();
    char buffer[8192];
    while (in) {
      in.read(buffer, sizeof buffer);
      reply.body.append(buffer, static_cast<std::size_t>(in.gcount()));
      if (reply.body.size() > kMaxReplyBytes) {
        return core::unavailable(method + " " + url + ": the answer is larger than " +
                                 std::to_string(kMaxReplyBytes) + " bytes");
      }
    }
    return reply;
  } catch (const Poco::Exception& e) {
    return core::unavailable(method + " " + url + ": " + e.displayText());
  } catch (const std::exception& e) {
    return core::unavailable(method + " " + url + ": " + e.what());
  }
}

}  // namespace

core::StatusOr<ProviderReply> providerGet(const std::string& url,
                                          const ProviderConnection& connection) {
  return send(Poco::Net::HTTPRequest::HTTP_GET, url, "", "", connection);
}

core::StatusOr<ProviderReply> providerPostForm(
    const std::string& url, const std::vector<std::pair<std::string, std::string>>& fields,
    const ProviderConnection& connection) {
  std::string body;
  for (const auto& [name, value] : fields) {
    if (!body.empty()) body += '&';
    body += formEncode(name) + "=" + formEncode(value);
  }
  return send(Poco::Net::HTTPRequest::HTTP_POST, url, "application/x-www-form-urlencoded", body,
              connection);
}

core::StatusOr<nlohmann::json> providerGetJson(const std::string& url,
                                               const ProviderConnection& connection) {
  SENDFLOW_ASSIGN_OR_RETURN(ProviderReply reply, providerGet(url, connection));
  if (reply.status != 200) {
    return core::unavailable("GET " + url + ": HTTP " + std::to_string(reply.status));
  }
  auto json = core::parseJsonText(reply.body);
  if (!json.isOk()) {
    return core::unavailable("GET " + url + ": the answer is not JSON (" + json.status().message() +
                             ")");
  }
  if (!json->is_object())
    return core::unavailable("GET " + url + ": the answer is not a JSON object");
  return json;
}

bool parseProxy(const std::string& proxy, std::string& host, unsigned short& port) {
  std::size_t colon = proxy.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == proxy.size() ||
      proxy.size() - colon - 1 > 5) {
    return false;
  }
  unsigned value = 0;
  for (std::size_t i = colon + 1; i < proxy.size(); ++i) {
    if (proxy[i] < '0' || proxy[i] > '9') return false;
    value = value * 10 + static_cast<unsigned>(proxy[i] - '0');
  }
  if (value < 1 || value > 65535) return false;
  host = proxy.substr(0, colon);
  port = static_cast<unsigned short>(value);
  return true;
}

std::string formEncode(const std::string& value) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    auto b = static_cast<unsigned char>(c);
    bool unreserved = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') ||
                      b == '-' || b == '.' || b == '_' || b == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kDigits[b >> 4];
      out += kDigits[b & 15];
    }
  }
  return out;
}

}  // namespace sendflow::auth
