#include "connectors/factory/connector_factory.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "connectors/folder/folder_source.h"
#include "connectors/graph/graph_source.h"
#include "connectors/sharepoint/sharepoint_source.h"
#include "connectors/webdav/webdav_source.h"

namespace sendflow::connectors {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::vector<std::string> splitCommas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    part = trim(part);
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

// Reads the `connector.` keys with errors that name the source and the key.
class ConnectorKeys {
 public:
  ConnectorKeys(const std::map<std::string, std::string>& section, std::string source)
      : section_(section), source_(std::move(source)) {}

  core::Status bad(const std::string& key, const std::string& problem) const {
    return core::invalidArgument(source_ + ": connector." + key + ": " + problem);
  }
  std::string get(const std::string& key, const std::string& fallback) const {
    auto it = section_.find(key);
    return it == section_.end() || trim(it->second).empty() ? fallback : trim(it->second);
  }
  core::StatusOr<std::string> require(const std::string& key, const std::string& why) const {
    const std::string value = get(key, "");
    if (value.empty()) return bad(key, "required " + why);
    return value;
  }
  core::StatusOr<long long> number(const std::string& key, long long fallback, long long low,
                                   long long high) const {
    const std::string text = get(key, "");
    if (text.empty()) return fallback;
    long long value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < low || value > high) {
      return bad(key, "'" + text + "' is not a whole number from " + std::to_string(low) + " to " +
                          std::to_string(high));
    }
    return value;
  }
  core::StatusOr<std::chrono::milliseconds> duration(const std::string& key,
                                                     std::chrono::milliseconds fallback) const {
    const std::string text = get(key, "");
    if (text.empty()) return fallback;
    std::chrono::milliseconds value;
    if (!parseConnectorDuration(text, value)) {
      return bad(key, "'" + text + "' is not a duration (such as 500ms, 30s, 5m)");
    }
    return value;
  }
  core::StatusOr<std::string> url(const std::string& key, const std::string& why) const {
    SENDFLOW_ASSIGN_OR_RETURN(std::string value, require(key, why));
    if (value.rfind("https://", 0) != 0 && value.rfind("http://", 0) != 0) {
      return bad(key, "'" + value + "' is not an http:// or https:// address");
    }
    while (value.back() == '/') value.pop_back();
    return value;
  }

 private:
  const std::map<std::string, std::string>& section_;
  std::string source_;
};

core::StatusOr<HttpOptions> httpOptions(const ConnectorKeys& keys) {
  HttpOptions http;
  SENDFLOW_ASSIGN_OR_RETURN(http.connect_timeout,
                            keys.duration("connect_timeout", std::chrono::seconds(10)));
  SENDFLOW_ASSIGN_OR_RETURN(http.io_timeout, keys.duration("timeout", std::chrono::seconds(60)));
  SENDFLOW_ASSIGN_OR_RETURN(const long long attempts, keys.number("retry.attempts", 5, 1, 20));
  http.retry.max_attempts = static_cast<int>(attempts);
  if (const std::string proxy = keys.get("proxy", ""); !proxy.empty()) {
    const auto colon = proxy.rfind(':');
    long long port = 0;
    const char* first = colon == std::string::npos ? nullptr : proxy.data() + colon + 1;
    const auto [end, error] = first == nullptr
                                  ? std::from_chars_result{nullptr, std::errc::invalid_argument}
                                  : std::from_chars(first, proxy.data() + proxy.size(), port);
    if (colon == 0 || error != std::errc() || end != proxy.data() + proxy.size() || port < 1 ||
        port > 65535) {
      return keys.bad("proxy", "'" + proxy + "' is not HOST:PORT");
    }
    http.proxy_host = proxy.substr(0, colon);
    http.proxy_port = static_cast<unsigned short>(port);
  }
  SENDFLOW_ASSIGN_OR_RETURN(http.retry.initial_backoff,
                            keys.duration("retry.initial_backoff", std::chrono::milliseconds(500)));
  SENDFLOW_ASSIGN_OR_RETURN(http.retry.max_backoff,
                            keys.duration("retry.max_backoff", std::chrono::seconds(30)));
  SENDFLOW_ASSIGN_OR_RETURN(http.retry.max_retry_after,
                            keys.duration("retry.max_retry_after", std::chrono::seconds(120)));
  return http;
}

core::StatusOr<std::string> readSecret(const ConnectorKeys& keys,
                                       const std::map<std::string, std::string>& environment) {
  const std::string file = keys.get("secret_file", "");
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return keys.bad("secret_file", "cannot read '" + file + "'");
    std::stringstream text;
    text << in.rdbuf();
    const std::string secret = trim(text.str());
    if (secret.empty()) return keys.bad("secret_file", "'" + file + "' is empty");
    return secret;
  }
  const std::string variable = keys.get("secret_env", "SENDFLOW_CONNECTOR_SECRET");
  auto it = environment.find(variable);
  if (it == environment.end() || trim(it->second).empty()) {
    return keys.bad("secret_env", "the environment variable " + variable +
                                      " is not set (or set connector.secret_file)");
  }
  return trim(it->second);
}

core::StatusOr<CredentialConfig> credentials(
    const ConnectorKeys& keys, const std::string& fallback_kind, const std::string& default_scope,
    const std::map<std::string, std::string>& environment) {
  CredentialConfig config;
  const std::string kind = keys.get("auth", fallback_kind);
  if (kind == "none") return config;
  if (kind == "basic") {
    config.kind = CredentialConfig::Kind::kBasic;
    SENDFLOW_ASSIGN_OR_RETURN(config.username,
                              keys.require("username", "for connector.auth = basic"));
  } else if (kind == "bearer") {
    config.kind = CredentialConfig::Kind::kBearer;
  } else if (kind == "client_credentials") {
    config.kind = CredentialConfig::Kind::kClientCredentials;
    SENDFLOW_ASSIGN_OR_RETURN(config.client.client_id,
                              keys.require("client_id", "for connector.auth = client_credentials"));
    std::string token_url = keys.get("token_url", "");
    if (token_url.empty()) {
      SENDFLOW_ASSIGN_OR_RETURN(
          const std::string tenant,
          keys.require("tenant", "(the Entra tenant id) or connector.token_url"));
      token_url = "https://login.microsoftonline.com/" + tenant + "/oauth2/v2.0/token";
    }
    config.client.token_url = token_url;
    config.client.scope = keys.get("scope", default_scope);
    config.client.certificate_file = keys.get("certificate_file", "");
    if (!config.client.certificate_file.empty()) {  // certificate credentials: no secret
      SENDFLOW_ASSIGN_OR_RETURN(
          config.client.private_key_file,
          keys.require("private_key_file", "with connector.certificate_file"));
      return config;
    }
  } else {
    return keys.bad("auth", "'" + kind + "' is not one of none, basic, bearer, client_credentials");
  }
  SENDFLOW_ASSIGN_OR_RETURN(config.secret, readSecret(keys, environment));
  return config;
}

std::string origin(const std::string& url) {
  const auto scheme = url.find("://");
  const auto slash = url.find('/', scheme + 3);
  return slash == std::string::npos ? url : url.substr(0, slash);
}

}  // namespace

bool parseConnectorDuration(const std::string& text, std::chrono::milliseconds& out) {
  const std::string t = trim(text);
  long long value = 0;
  const auto [end, error] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (error != std::errc() || value < 0) return false;
  const std::string unit(end, t.data() + t.size());
  if (unit.empty() || unit == "s") {
    out = std::chrono::seconds(value);
  } else if (unit == "ms") {
    out = std::chrono::milliseconds(value);
  } else if (unit == "m") {
    out = std::chrono::minutes(value);
  } else if (unit == "h") {
    out = std::chrono::hours(value);
  } else {
    return false;
  }
  return true;
}

core::StatusOr<std::unique_ptr<DocumentSource>> makeDocumentSource(
    const std::map<std::string, std::string>& section, const std::string& source,
    const std::map<std::string, std::string>& environment, const core::Clock& clock) {
  const ConnectorKeys keys(section, source);
  std::map<std::string, std::string> field_keys;
  for (const auto& [key, value] : section) {
    if (key.rfind("fields.", 0) == 0) field_keys[key.substr(7)] = value;
  }
  SENDFLOW_ASSIGN_OR_RETURN(FieldMapping fields, FieldMapping::fromConfig(field_keys, source));
  ContentLimits limits;
  SENDFLOW_ASSIGN_OR_RETURN(limits.max_bytes,
                            keys.number("limits.max_bytes", limits.max_bytes, 1, 1LL << 40));
  if (const std::string types = keys.get("limits.content_types", ""); !types.empty()) {
    limits.content_types = types == "*" ? std::vector<std::string>{} : splitCommas(types);
  }
  SENDFLOW_ASSIGN_OR_RETURN(const long long page_size, keys.number("page_size", 100, 1, 5000));

  const std::string type = keys.get("type", "folder");
  if (type == "folder") {
    FolderOptions options;
    options.root = keys.get("folder.root", "var/intranet");
    SENDFLOW_ASSIGN_OR_RETURN(
        options.library,
        keys.require("library", "(the library folder under connector.folder.root)"));
    options.page_size = static_cast<int>(page_size);
    options.fields = std::move(fields);
    options.limits = std::move(limits);
    return std::unique_ptr<DocumentSource>(std::make_unique<FolderSource>(std::move(options)));
  }
  SENDFLOW_ASSIGN_OR_RETURN(HttpOptions http, httpOptions(keys));
  if (type == "webdav") {
    WebDavOptions options;
    SENDFLOW_ASSIGN_OR_RETURN(options.base_url,
                              keys.url("base_url", "for connector.type = webdav"));
    options.library = keys.get("library", "");
    options.property_namespace = keys.get("webdav.namespace", kSendflowPropertyNamespace);
    SENDFLOW_ASSIGN_OR_RETURN(options.credential, credentials(keys, "none", "", environment));
    options.fields = std::move(fields);
    options.limits = std::move(limits);
    options.http = std::move(http);
    return std::unique_ptr<DocumentSource>(
        std::make_unique<WebDavSource>(std::move(options), clock));
  }
  if (type == "sharepoint") {
    SharePointOptions options;
    SENDFLOW_ASSIGN_OR_RETURN(
        options.site_url,
        keys.url("base_url", "(the site address) for connector.type = sharepoint"));
    SENDFLOW_ASSIGN_OR_RETURN(options.list_title,
                              keys.require("library", "(the document library's title)"));
    const std::string site_path = options.site_url.substr(origin(options.site_url).size());
    options.folder_url = keys.get("sharepoint.folder", site_path + "/" + options.list_title);
    if (options.folder_url.front() != '/') {
      return keys.bad("sharepoint.folder", "'" + options.folder_url +
                                               "' is not a server-relative URL (starting with /)");
    }
    const std::string odata = keys.get("sharepoint.odata", "nometadata");
    if (odata != "nometadata" && odata != "verbose") {
      return keys.bad("sharepoint.odata", "'" + odata + "' is not nometadata or verbose");
    }
    options.verbose = odata == "verbose";
    options.filter = keys.get("sharepoint.filter", "");
    options.person_columns = splitCommas(keys.get("sharepoint.person_columns", ""));
    options.page_size = static_cast<int>(page_size);
    SENDFLOW_ASSIGN_OR_RETURN(options.credential,
                              credentials(keys, "client_credentials",
                                          origin(options.site_url) + "/.default", environment));
    options.fields = std::move(fields);
    options.limits = std::move(limits);
    options.http = std::move(http);
    return std::unique_ptr<DocumentSource>(
        std::make_unique<SharePointSource>(std::move(options), clock));
  }
  if (type == "graph") {
    GraphOptions options;
    options.base_url = keys.get("base_url", options.base_url);
    if (options.base_url.rfind("https://", 0) != 0 && options.base_url.rfind("http://", 0) != 0) {
      return keys.bad("base_url",
                      "'" + options.base_url + "' is not an http:// or https:// address");
    }
    SENDFLOW_ASSIGN_OR_RETURN(options.drive_id,
                              keys.require("graph.drive_id", "for connector.type = graph"));
    options.folder_id = keys.get("graph.folder_id", "root");
    SENDFLOW_ASSIGN_OR_RETURN(
        options.simple_upload_limit,
        keys.number("graph.simple_upload_limit", options.simple_upload_limit, 1, 250LL << 20));
    SENDFLOW_ASSIGN_OR_RETURN(options.upload_chunk_bytes,
                              keys.number("graph.upload_chunk_bytes", options.upload_chunk_bytes,
                                          320 * 1024, 60LL << 20));
    if (options.upload_chunk_bytes % (320 * 1024) != 0) {
      return keys.bad("graph.upload_chunk_bytes", "must be a multiple of 327680 (320 KiB)");
    }
    options.person_columns = splitCommas(keys.get("graph.person_columns", ""));
    options.page_size = static_cast<int>(page_size);
    SENDFLOW_ASSIGN_OR_RETURN(options.credential,
                              credentials(keys, "client_credentials",
                                          "https://graph.microsoft.com/.default", environment));
    options.fields = std::move(fields);
    options.limits = std::move(limits);
    options.http = std::move(http);
    return std::unique_ptr<DocumentSource>(
        std::make_unique<GraphSource>(std::move(options), clock));
  }
  return keys.bad("type", "'" + type + "' is not one of folder, webdav, sharepoint, graph");
}

}  // namespace sendflow::connectors
