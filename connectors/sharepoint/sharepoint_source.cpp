#include "connectors/sharepoint/sharepoint_source.h"

#include <Poco/URI.h>

#include <unistd.h>
#include <algorithm>
#include <charconv>
#include <cstdio>

#include "connectors/connector/change_cursor.h"
#include "server/core/json_text.h"

namespace sendflow::connectors {
namespace {

constexpr const char* kDigestExpiredCode = "-2130575251";

std::string origin(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto slash = url.find('/', scheme + 3);
  return slash == std::string::npos ? url : url.substr(0, slash);
}

bool validRelativePath(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.back() == '/') return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string segment = path.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    start = end + 1;
  }
  return true;
}

std::string isoSeconds(long long ms) {
  return core::formatIso8601(core::TimePoint(std::chrono::milliseconds(ms))).substr(0, 19) + "Z";
}

const nlohmann::json* member(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string text(const nlohmann::json* j) {
  if (j == nullptr) return "";
  if (j->is_string()) return j->get<std::string>();
  if (j->is_number_integer()) return std::to_string(j->get<long long>());
  return "";
}

}  // namespace

std::string odataLiteral(const std::string& text) {
  std::string doubled;
  for (char c : text) {
    doubled += c;
    if (c == '\'') doubled += '\'';
  }
  return "'" + percentEncodePath(doubled) + "'";
}

SharePointSource::SharePointSource(SharePointOptions options, const core::Clock& clock)
    : options_(std::move(options)), clock_(clock), transport_(options_.http, clock) {
  credential_ = makeCredentialSource(options_.credential, transport_, clock);
  while (!options_.site_url.empty() && options_.site_url.back() == '/')
    options_.site_url.pop_back();
  while (!options_.folder_url.empty() && options_.folder_url.back() == '/')
    options_.folder_url.pop_back();
  if (options_.person_columns.empty()) {
    options_.person_columns = {options_.fields.column(MetadataField::kCaseworker),
                               options_.fields.column(MetadataField::kContributors)};
  }
  if (options_.page_size < 1) options_.page_size = 1;
}

bool SharePointSource::isPerson(const std::string& column) const {
  return std::find(options_.person_columns.begin(), options_.person_columns.end(), column) !=
         options_.person_columns.end();
}

std::string SharePointSource::selectAndExpand() const {
  std::string select = "Id,Modified,FileLeafRef,FileRef,File/Length";
  std::string expand = "File";
  for (std::size_t i = 0; i < kMetadataFieldCount; ++i) {
    const std::string& column = options_.fields.column(static_cast<MetadataField>(i));
    if (isPerson(column)) {
      select += "," + column + "/Title";
      expand += "," + column;
    } else {
      select += "," + column;
    }
  }
  return "$select=" + percentEncode(select) + "&$expand=" + percentEncode(expand);
}

core::StatusOr<HttpResponse> SharePointSource::send(HttpRequest request, const std::string& what) {
  request.headers.emplace_back("Accept", options_.verbose ? "application/json;odata=verbose"
                                                          : "application/json;odata=nometadata");
  auto response = sendWithCredential(transport_, *credential_, std::move(request));
  if (!response.isOk()) return response.status().withContext("sharepoint connector: " + what);
  return response;
}

core::StatusOr<nlohmann::json> SharePointSource::getJson(const std::string& url,
                                                         const std::string& what) {
  HttpRequest request;
  request.url = url;
  SENDFLOW_ASSIGN_OR_RETURN(HttpResponse response, send(request, what));
  if (!response.ok()) return statusFromResponse("sharepoint connector: " + what, request, response);
  auto j = core::parseJsonText(response.body);
  if (!j.isOk() || !j->is_object()) {
    return core::invalidArgument(
        "sharepoint connector: " + what + ": GET " + describeUrl(url) +
        ": the answer is not valid JSON (" + std::to_string(response.body.size()) + " bytes" +
        (j.isOk() ? std::string(", not an object") : ", " + j.status().message()) + ")");
  }
  return j;
}

core::StatusOr<Item> SharePointSource::toItem(const nlohmann::json& entry) const {
  const std::string id =
      text(member(entry, "Id")).empty() ? text(member(entry, "ID")) : text(member(entry, "Id"));
  Item item;
  item.id = id;
  item.path = text(member(entry, "FileRef"));
  item.name = text(member(entry, "FileLeafRef"));
  const std::string label = item.path.empty() ? "list item " + id : item.path;
  if (id.empty() || item.name.empty()) {
    return core::invalidArgument(label + ": the list item has no Id or FileLeafRef");
  }
  const std::string modified = text(member(entry, "Modified"));
  if (!core::parseIso8601(modified, item.modified)) {
    return core::invalidArgument(label + ": Modified '" + modified + "' is not a date");
  }
  if (const auto* file = member(entry, "File")) {
    const std::string length = text(member(*file, "Length"));
    std::int64_t size = 0;
    const auto [end, error] = std::from_chars(length.data(), length.data() + length.size(), size);
    if (!length.empty() && error == std::errc() && end == length.data() + length.size() &&
        size >= 0) {
      item.size = size;
    }
  }
  item.content_type = contentTypeForName(item.name);
  if (const auto* meta = member(entry, "__metadata")) item.etag = text(member(*meta, "etag"));
  if (item.etag.empty()) item.etag = text(member(entry, "odata.etag"));
  if (item.etag.empty()) item.etag = modified;
  auto metadata = options_.fields.read(entry);
  if (!metadata.isOk()) return metadata.status().withContext(label);
  item.metadata = std::move(metadata).value();
  item.columns = columnsAsText(entry);
  return item;
}

core::StatusOr<Page> SharePointSource::listPage(const std::string& cursor) {
  SENDFLOW_ASSIGN_OR_RETURN(const nlohmann::json state, parseCursor(cursor, kind()));
  SENDFLOW_ASSIGN_OR_RETURN(HighWaterMark mark,
                            HighWaterMark::fromJson(state.value("hwm", nlohmann::json::object()),
                                                    "sharepoint connector"));
  if (state.contains("next") && !state["next"].is_string()) {
    return core::invalidArgument("sharepoint connector: the cursor's next-page link is malformed");
  }
  std::string url = state.value("next", std::string());
  if (url.empty()) {
    std::string filter = "FSObjType eq 0";
    if (mark.started()) filter += " and Modified ge datetime'" + isoSeconds(mark.tick()) + "'";
    if (!options_.filter.empty()) filter += " and (" + options_.filter + ")";
    url = options_.site_url + "/_api/web/lists/GetByTitle(" + odataLiteral(options_.list_title) +
          ")/items?" + selectAndExpand() + "&$filter=" + percentEncode(filter) +
          "&$orderby=" + percentEncode("Modified asc,Id asc") +
          "&$top=" + std::to_string(options_.page_size);
  } else if (url.rfind(origin(options_.site_url) + "/", 0) != 0) {
    return core::invalidArgument("sharepoint connector: the next-page link " + describeUrl(url) +
                                 " is not on " + origin(options_.site_url));
  }
  SENDFLOW_ASSIGN_OR_RETURN(const nlohmann::json answer,
                            getJson(url, "list '" + options_.list_title + "'"));
  const nlohmann::json* results = nullptr;
  std::string next;
  if (const auto* d = member(answer, "d")) {  // odata=verbose
    results = member(*d, "results");
    next = text(member(*d, "__next"));
  } else {  // odata=nometadata (or minimalmetadata)
    results = member(answer, "value");
    next = text(member(answer, "odata.nextLink"));
    if (next.empty()) next = text(member(answer, "@odata.nextLink"));
  }
  if (results == nullptr || !results->is_array()) {
    return core::invalidArgument("sharepoint connector: list '" + options_.list_title + "': GET " +
                                 describeUrl(url) + ": the answer has no list of items");
  }
  Page page;
  for (const auto& entry : *results) {
    const std::string id =
        text(member(entry, "Id")).empty() ? text(member(entry, "ID")) : text(member(entry, "Id"));
    core::TimePoint modified;
    const bool dated = core::parseIso8601(text(member(entry, "Modified")), modified);
    const long long tick = dated ? modified.time_since_epoch().count() : 0;
    if (dated && !mark.isNew(tick, id)) continue;  // delivered before, at the same second
    if (dated) mark.advance(tick, id);
    auto item = toItem(entry);
    if (!item.isOk()) {
      const std::string path = text(member(entry, "FileRef"));
      page.problems.push_back({path.empty() ? "list item " + id : path, item.status()});
      continue;
    }
    if (core::Status limit = options_.limits.check(*item); !limit.isOk()) {
      page.problems.push_back({item->path, limit});
      continue;
    }
    page.items.push_back(std::move(item).value());
  }
  page.more = !next.empty();
  nlohmann::json next_state = {{"hwm", mark.toJson()}};
  if (page.more) next_state["next"] = next;
  page.next_cursor = next_state.dump();
  return page;
}

core::Status SharePointSource::download(const Item& item, const std::string& destination) {
  const std::string what = "download " + item.path;
  if (item.path.empty() || item.path.front() != '/') {
    return core::invalidArgument("sharepoint connector: " + what + ": not a server-relative URL");
  }
  const std::string part = destination + ".sendflow-tmp-" + std::to_string(::getpid());
  HttpRequest request;
  request.url = options_.site_url + "/_api/web/GetFileByServerRelativeUrl(" +
                odataLiteral(item.path) + ")/$value";
  request.download_path = part;
  request.max_download_bytes = options_.limits.max_bytes;
  auto response = sendWithCredential(transport_, *credential_, request);
  core::Status status;
  if (!response.isOk()) {
    status = response.status().withContext("sharepoint connector: " + what);
  } else if (!response->ok()) {
    status = statusFromResponse("sharepoint connector: " + what, request, *response);
  } else if (std::rename(part.c_str(), destination.c_str()) != 0) {
    status = core::internalError("sharepoint connector: " + what + ": cannot rename " + part);
  }
  if (!status.isOk()) std::remove(part.c_str());
  return status;
}

core::StatusOr<std::string> SharePointSource::digest(bool refresh) {
  if (!refresh && !digest_.empty() && clock_.now() < digest_expires_) return digest_;
  HttpRequest request;
  request.method = "POST";
  request.url = options_.site_url + "/_api/contextinfo";
  SENDFLOW_ASSIGN_OR_RETURN(HttpResponse response, send(request, "request digest"));
  if (!response.ok())
    return statusFromResponse("sharepoint connector: request digest", request, response);
  const auto j = core::parseJsonText(response.body);
  const nlohmann::json* info = j.isOk() ? &*j : nullptr;
  if (const auto* d = info != nullptr ? member(*info, "d") : nullptr) {
    info = member(*d, "GetContextWebInformation");
  }
  const std::string value = info != nullptr ? text(member(*info, "FormDigestValue")) : "";
  if (value.empty()) {
    return core::invalidArgument("sharepoint connector: POST " + describeUrl(request.url) +
                                 ": the answer has no FormDigestValue");
  }
  long long timeout = 1800;
  if (const auto* t = member(*info, "FormDigestTimeoutSeconds");
      t != nullptr && t->is_number_integer()) {
    timeout = t->get<long long>();
  }
  digest_ = value;
  digest_expires_ =
      clock_.now() + std::chrono::seconds(std::max(0LL, timeout - options_.digest_margin.count()));
  return digest_;
}

core::StatusOr<HttpResponse> SharePointSource::sendWithDigest(HttpRequest request,
                                                              const std::string& what) {
  const std::streampos body_start =
      request.body_stream != nullptr ? request.body_stream->tellg() : std::streampos(-1);
  const std::size_t plain_headers = request.headers.size();
  for (int attempt = 0;; ++attempt) {
    SENDFLOW_ASSIGN_OR_RETURN(const std::string value, digest(attempt > 0));
    request.headers.resize(plain_headers);
    request.headers.emplace_back("X-RequestDigest", value);
    if (attempt > 0 && request.body_stream != nullptr) {
      request.body_stream->clear();
      request.body_stream->seekg(body_start);
    }
    SENDFLOW_ASSIGN_OR_RETURN(HttpResponse response, send(request, what));
    const bool expired =
        response.status == 403 && (response.body.find(kDigestExpiredCode) != std::string::npos ||
                                   response.body.find("security validation") != std::string::npos);
    if (!expired || attempt > 0) {
      if (!response.ok())
        return statusFromResponse("sharepoint connector: " + what, request, response);
      return response;
    }
    digest_.clear();
  }
}

core::StatusOr<Item> SharePointSource::publish(const PublishRequest& request) {
  const std::string what = "publish " + request.name;
  if (request.content == nullptr)
    return core::invalidArgument("sharepoint connector: " + what + ": no content");
  if (!validRelativePath(request.name)) {
    return core::invalidArgument("sharepoint connector: " + what + ": not a relative path");
  }
  const auto slash = request.name.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : request.name.substr(0, slash);
  const std::string leaf =
      slash == std::string::npos ? request.name : request.name.substr(slash + 1);

  std::istream& content = *request.content;
  SENDFLOW_ASSIGN_OR_RETURN(
      const std::int64_t length,
      options_.limits.publishLength(content, "sharepoint connector: " + what));

  std::string folder = options_.folder_url;
  std::size_t start = 0;
  while (start < dir.size()) {
    std::size_t stop = dir.find('/', start);
    if (stop == std::string::npos) stop = dir.size();
    folder += "/" + dir.substr(start, stop - start);
    HttpRequest add;
    add.method = "POST";
    add.url = options_.site_url + "/_api/web/folders/add(" + odataLiteral(folder) + ")";
    SENDFLOW_RETURN_IF_ERROR(sendWithDigest(add, what + ": create folder " + folder).status());
    start = stop + 1;
  }

  HttpRequest upload;
  upload.method = "POST";
  upload.url = options_.site_url + "/_api/web/GetFolderByServerRelativeUrl(" +
               odataLiteral(folder) + ")/Files/add(url=" + odataLiteral(leaf) + ",overwrite=true)";
  upload.content_type = "application/octet-stream";
  upload.body_stream = &content;
  upload.body_length = length;
  SENDFLOW_RETURN_IF_ERROR(sendWithDigest(upload, what).status());
  const std::string file_url = folder + "/" + leaf;
  const std::string file_api =
      options_.site_url + "/_api/web/GetFileByServerRelativeUrl(" + odataLiteral(file_url) + ")";

  nlohmann::json columns = options_.fields.write(request.metadata);
  for (const std::string& person : options_.person_columns) columns.erase(person);
  if (!columns.empty()) {
    if (options_.verbose && entity_type_.empty()) {
      SENDFLOW_ASSIGN_OR_RETURN(
          const nlohmann::json list,
          getJson(options_.site_url + "/_api/web/lists/GetByTitle(" +
                      odataLiteral(options_.list_title) + ")?$select=ListItemEntityTypeFullName",
                  "list '" + options_.list_title + "'"));
      const nlohmann::json* d = member(list, "d");
      entity_type_ = text(member(d != nullptr ? *d : list, "ListItemEntityTypeFullName"));
    }
    if (options_.verbose) columns["__metadata"] = {{"type", entity_type_}};
    HttpRequest merge;
    merge.method = "POST";
    merge.url = file_api + "/ListItemAllFields";
    merge.headers = {{"X-HTTP-Method", "MERGE"}, {"IF-MATCH", "*"}};
    merge.content_type =
        options_.verbose ? "application/json;odata=verbose" : "application/json;odata=nometadata";
    merge.body = columns.dump();
    if (auto merged = sendWithDigest(merge, what + ": set metadata"); !merged.isOk()) {
      HttpRequest remove;  // do not leave a document without its metadata
      remove.method = "POST";
      remove.url = file_api;
      remove.headers = {{"X-HTTP-Method", "DELETE"}, {"IF-MATCH", "*"}};
      (void)sendWithDigest(remove, what + ": remove after failure");
      return merged.status();
    }
  }
  SENDFLOW_ASSIGN_OR_RETURN(const nlohmann::json fields,
                            getJson(file_api + "/ListItemAllFields?" + selectAndExpand(), what));
  const nlohmann::json* d = member(fields, "d");
  return toItem(d != nullptr ? *d : fields);
}

}  // namespace sendflow::connectors
