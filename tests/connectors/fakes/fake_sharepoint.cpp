#include "tests/connectors/fakes/fake_sharepoint.h"

#include <algorithm>
#include <sstream>

#include "server/core/clock.h"

namespace sendflow::testing {
namespace {

constexpr long long kEpoch = 1793523600;  // 2026-11-01T09:00:00Z

const std::set<std::string> kPersonColumns = {"Caseworker", "Contributors"};

std::string isoSeconds(long long s) {
  return core::formatIso8601(core::TimePoint(std::chrono::seconds(s))).substr(0, 19) + "Z";
}

std::set<std::string> splitList(const std::string& text) {
  std::set<std::string> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    part.erase(0, part.find_first_not_of(' '));
    if (!part.empty()) out.insert(part);
  }
  return out;
}

// The argument of "Name('...')" in `path` after `prefix`, with '' unescaped; "" when absent.
bool quotedArgument(const std::string& path, const std::string& prefix, std::string& value,
                    std::string& rest) {
  const auto at = path.find(prefix + "('");
  if (at == std::string::npos) return false;
  std::size_t i = at + prefix.size() + 2;
  value.clear();
  while (i < path.size()) {
    if (path[i] == '\'') {
      if (i + 1 < path.size() && path[i + 1] == '\'') {
        value += '\'';
        i += 2;
        continue;
      }
      break;
    }
    value += path[i++];
  }
  if (i + 1 >= path.size() || path[i + 1] != ')') return false;
  rest = path.substr(i + 2);
  return true;
}

std::string spError(const std::string& code, const std::string& message, bool verbose) {
  nlohmann::json body = {{"code", code}, {"message", {{"lang", "en-US"}, {"value", message}}}};
  return verbose ? nlohmann::json{{"error", body}}.dump()
                 : nlohmann::json{{"odata.error", body}}.dump();
}

}  // namespace

void FakeSharePoint::touch(Document& doc) {
  doc.modified_s = kEpoch + changes_ / 2;
  ++changes_;
  ++doc.version;
}

void FakeSharePoint::addDocument(const std::string& relative_name, const std::string& content,
                                 const nlohmann::json& columns) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string ref = std::string(kFolder) + "/" + relative_name;
  Document& doc = documents_[ref];
  if (doc.id == 0) doc.id = next_id_++;
  doc.file_ref = ref;
  doc.content = content;
  doc.columns = columns;
  touch(doc);
}

void FakeSharePoint::expireDigests() {
  std::lock_guard<std::mutex> lock(mutex_);
  digests_.clear();
}

nlohmann::json FakeSharePoint::render(const Document& doc, const std::set<std::string>& select,
                                      const std::set<std::string>& expand, bool verbose) const {
  nlohmann::json item = nlohmann::json::object();
  const std::string uri =
      siteUrl() + "/_api/Web/Lists(guid'6a4d1f2e')/Items(" + std::to_string(doc.id) + ")";
  if (verbose) {
    item["__metadata"] = {{"id", uri},
                          {"uri", uri},
                          {"etag", "\"" + std::to_string(doc.version) + "\""},
                          {"type", "SP.Data.EHC_x0020_plansItem"}};
  }
  const std::string leaf = doc.file_ref.substr(doc.file_ref.rfind('/') + 1);
  for (const std::string& field : select) {
    const auto slash = field.find('/');
    const std::string column = field.substr(0, slash);
    const std::string sub = slash == std::string::npos ? "" : field.substr(slash + 1);
    if (column == "Id" || column == "ID") {
      item[column] = doc.id;
    } else if (column == "Modified") {
      item["Modified"] = isoSeconds(doc.modified_s);
    } else if (column == "FileLeafRef") {
      item["FileLeafRef"] = leaf;
    } else if (column == "FileRef") {
      item["FileRef"] = doc.file_ref;
    } else if (column == "File") {
      if (!expand.count("File")) {
        if (verbose) item["File"] = {{"__deferred", {{"uri", uri + "/File"}}}};
        continue;
      }
      nlohmann::json file = {{"Length", std::to_string(doc.content.size())}};
      if (verbose) file["__metadata"] = {{"type", "SP.File"}};
      item["File"] = file;
    } else if (kPersonColumns.count(column)) {
      if (!expand.count(column) || sub != "Title") {
        if (verbose) item[column] = {{"__deferred", {{"uri", uri + "/" + column}}}};
        item[column + "Id"] = 7;
        continue;
      }
      auto person = [&](const nlohmann::json& name) {
        nlohmann::json p = {{"Title", name}};
        if (verbose) p["__metadata"] = {{"type", "SP.Data.UserInfoItem"}};
        return p;
      };
      const nlohmann::json& value =
          doc.columns.contains(column) ? doc.columns[column] : nlohmann::json();
      if (column == "Contributors") {
        nlohmann::json people = nlohmann::json::array();
        if (value.is_array()) {
          for (const auto& name : value) people.push_back(person(name));
        }
        item[column] = verbose ? nlohmann::json{{"results", people}} : people;
      } else if (!value.is_null()) {
        item[column] = person(value);
      } else {
        item[column] = nullptr;
      }
    } else {
      item[column] = doc.columns.contains(column) ? doc.columns[column] : nlohmann::json();
      if (item[column].is_string() && (column.find("Date") != std::string::npos) &&
          item[column].get<std::string>().size() == 10) {
        item[column] = item[column].get<std::string>() + "T00:00:00Z";  // date columns come as UTC
      }
    }
  }
  return item;
}

FakeReply FakeSharePoint::listItems(const FakeRequest& request, bool verbose) {
  const auto select =
      splitList(request.params.count("$select") ? request.params.at("$select") : "");
  const auto expand =
      splitList(request.params.count("$expand") ? request.params.at("$expand") : "");
  const int top = request.params.count("$top") ? std::stoi(request.params.at("$top")) : 100;
  long long since = -1;
  if (request.params.count("$filter")) {
    const std::string filter = request.params.at("$filter");
    const auto at = filter.find("Modified ge datetime'");
    if (at != std::string::npos) {
      const std::string value = filter.substr(at + 21, filter.find('\'', at + 21) - at - 21);
      core::TimePoint t;
      if (!core::parseIso8601(value, t)) {
        return json(400, spError("-1, Microsoft.SharePoint.SPException",
                                 "The expression \"" + filter + "\" is not valid.", verbose));
      }
      since = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
    }
  }
  std::vector<const Document*> rows;
  for (const auto& [ref, doc] : documents_) {
    if (doc.modified_s >= since) rows.push_back(&doc);
  }
  std::sort(rows.begin(), rows.end(), [](const Document* a, const Document* b) {
    return a->modified_s != b->modified_s ? a->modified_s < b->modified_s : a->id < b->id;
  });
  std::size_t first = 0;
  if (request.params.count("$skiptoken")) {  // Paged=TRUE&p_ID=N&p_Modified=...
    const std::string token = request.params.at("$skiptoken");
    const auto at = token.find("p_ID=");
    const int after = at == std::string::npos ? 0 : std::atoi(token.c_str() + at + 5);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (rows[i]->id == after) first = i + 1;
    }
  }
  nlohmann::json results = nlohmann::json::array();
  std::size_t i = first;
  for (; i < rows.size() && results.size() < static_cast<std::size_t>(top); ++i) {
    results.push_back(render(*rows[i], select, expand, verbose));
  }
  std::string next;
  if (i < rows.size()) {
    std::string query = request.query;
    const auto skip = query.find("&%24skiptoken=");
    if (skip != std::string::npos) query = query.substr(0, skip);
    const auto skip2 = query.find("&$skiptoken=");
    if (skip2 != std::string::npos) query = query.substr(0, skip2);
    next = baseUrl() + connectors::percentEncodePath(request.path) + "?" + query +
           "&%24skiptoken=" +
           connectors::percentEncode("Paged=TRUE&p_ID=" + std::to_string(rows[i - 1]->id) +
                                     "&p_Modified=" + isoSeconds(rows[i - 1]->modified_s));
  }
  nlohmann::json answer;
  if (verbose) {
    answer["d"] = {{"results", results}};
    if (!next.empty()) answer["d"]["__next"] = next;
  } else {
    answer["value"] = results;
    if (!next.empty()) answer["odata.nextLink"] = next;
  }
  return json(200, answer.dump());
}

FakeReply FakeSharePoint::handle(const FakeRequest& request) {
  const bool verbose = request.header("accept").find("odata=verbose") != std::string::npos;
  if (!tokens_.accepts(request.header("authorization"))) {
    FakeReply reply =
        json(401, R"({"error_description":"Invalid JWT token. The token is expired."})");
    reply.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"contoso-council\"");
    return reply;
  }
  const std::string site = kSite;
  if (request.path.rfind(site + "/_api/", 0) != 0)
    return json(404, spError("-1", "Not found", verbose));
  const std::string api = request.path.substr(site.size());
  std::lock_guard<std::mutex> lock(mutex_);
  const bool writes = request.method == "POST" && api != "/_api/contextinfo";
  if (writes && !digests_.count(request.header("x-requestdigest"))) {
    return json(403,
                spError("-2130575251, Microsoft.SharePoint.SPException",
                        "The security validation for this page is invalid and might be corrupted. "
                        "Please use your web browser's Back button to try your operation again.",
                        verbose));
  }
  if (api == "/_api/contextinfo" && request.method == "POST") {
    const std::string digest =
        "0x" + std::to_string(1000 + digests_.size()) + "ABCDEF,22 Nov 2026 09:00:00 -0000";
    digests_.insert(digest);
    nlohmann::json info = {{"FormDigestTimeoutSeconds", 1800},
                           {"FormDigestValue", digest},
                           {"SiteFullUrl", siteUrl()},
                           {"WebFullUrl", siteUrl()}};
    if (verbose) info = {{"d", {{"GetContextWebInformation", info}}}};
    return json(200, info.dump());
  }
  std::string argument, rest;
  if (quotedArgument(api, "/_api/web/lists/GetByTitle", argument, rest)) {
    if (argument != kList) {
      return json(404, spError("-1, System.ArgumentException",
                               "List '" + argument + "' does not exist at site with URL '" +
                                   siteUrl() + "'.",
                               verbose));
    }
    if (rest == "/items" && request.method == "GET") return listItems(request, verbose);
    if (rest.empty() && request.method == "GET") {
      nlohmann::json list = {{"ListItemEntityTypeFullName", "SP.Data.EHC_x0020_plansItem"}};
      if (verbose) list = {{"d", list}};
      return json(200, list.dump());
    }
  }
  if (quotedArgument(api, "/_api/web/folders/add", argument, rest) && request.method == "POST") {
    return json(200, nlohmann::json{{"ServerRelativeUrl", argument}}.dump());
  }
  if (quotedArgument(api, "/_api/web/GetFolderByServerRelativeUrl", argument, rest) &&
      request.method == "POST") {
    // "/Files/add(url='NAME',overwrite=true)", quotes in NAME doubled.
    const auto at = rest.find("/Files/add(url='");
    if (at == std::string::npos) return json(400, spError("-1", "Bad request", verbose));
    std::string name;
    std::size_t i = at + 16;
    while (i < rest.size()) {
      if (rest[i] == '\'' && i + 1 < rest.size() && rest[i + 1] == '\'') {
        name += '\'';
        i += 2;
        continue;
      }
      if (rest[i] == '\'') break;
      name += rest[i++];
    }
    if (rest.compare(i, 17, "',overwrite=true)") != 0) {
      return json(400, spError("-2130575257, Microsoft.SharePoint.SPException",
                               "A file with the name " + name + " already exists.", verbose));
    }
    const std::string ref = argument + "/" + name;
    if (ref.rfind(kFolder, 0) != 0)
      return json(404, spError("-2147024894", "File Not Found.", verbose));
    Document& doc = documents_[ref];
    if (doc.id == 0) doc.id = next_id_++;
    doc.file_ref = ref;
    doc.content = request.body;
    doc.columns = nlohmann::json::object();
    touch(doc);
    nlohmann::json file = {
        {"Name", name}, {"ServerRelativeUrl", ref}, {"Length", std::to_string(doc.content.size())}};
    if (verbose) file = {{"d", file}};
    return json(200, file.dump());
  }
  if (quotedArgument(api, "/_api/web/GetFileByServerRelativeUrl", argument, rest)) {
    auto it = documents_.find(argument);
    if (it == documents_.end()) {
      return json(
          404, spError("-2147024894, System.IO.FileNotFoundException", "File Not Found.", verbose));
    }
    Document& doc = it->second;
    if (rest == "/$value" && request.method == "GET") {
      FakeReply reply;
      reply.content_type = "application/octet-stream";
      reply.body = doc.content;
      return reply;
    }
    if (rest == "/ListItemAllFields" && request.method == "GET") {
      const auto select =
          splitList(request.params.count("$select") ? request.params.at("$select") : "");
      const auto expand =
          splitList(request.params.count("$expand") ? request.params.at("$expand") : "");
      nlohmann::json item = render(doc, select, expand, verbose);
      if (verbose) item = {{"d", item}};
      return json(200, item.dump());
    }
    if (rest == "/ListItemAllFields" && request.method == "POST" &&
        request.header("x-http-method") == "MERGE") {
      nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
      if (!body.is_object()) return json(400, spError("-1", "Invalid JSON.", verbose));
      if (verbose && (!body.contains("__metadata") ||
                      body["__metadata"].value("type", "") != "SP.Data.EHC_x0020_plansItem")) {
        return json(400, spError("-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
                                 "A type named '' could not be resolved by the model.", verbose));
      }
      for (const auto& [key, value] : body.items()) {
        if (key == "__metadata") continue;
        if (kPersonColumns.count(key))
          return json(400, spError("-1", "Person column " + key + " needs an Id", verbose));
        doc.columns[key] = value;
      }
      touch(doc);
      return FakeReply{204, "", "", {}};
    }
    if (request.method == "POST" && request.header("x-http-method") == "DELETE") {
      documents_.erase(it);
      return FakeReply{200, "", "", {}};
    }
  }
  return json(400, spError("-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
                           "The expression \"" + api + "\" is not valid.", verbose));
}

connectors::SharePointOptions sharePointOptions(const FakeSharePoint& fake,
                                                const FakeTokenEndpoint& tokens,
                                                const std::string& secret, bool verbose) {
  connectors::SharePointOptions options;
  options.site_url = fake.siteUrl();
  options.list_title = FakeSharePoint::kList;
  options.folder_url = FakeSharePoint::kFolder;
  options.verbose = verbose;
  options.credential.kind = connectors::CredentialConfig::Kind::kClientCredentials;
  options.credential.secret = secret;
  options.credential.client.token_url = tokens.tokenUrl();
  options.credential.client.client_id = FakeTokenEndpoint::kClientId;
  options.credential.client.scope = "https://contoso.sharepoint.com/.default";
  return options;
}

}  // namespace sendflow::testing
