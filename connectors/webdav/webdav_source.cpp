#include "connectors/webdav/webdav_source.h"

#include <Poco/URI.h>

#include <unistd.h>
#include <atomic>
#include <cstdio>
#include <deque>
#include <filesystem>

#include "connectors/connector/change_cursor.h"

namespace sendflow::connectors {
namespace {

constexpr const char* kTempMarker = ".sendflow-tmp-";

std::string trimSlashes(std::string s) {
  while (!s.empty() && s.front() == '/') s.erase(0, 1);
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::string uniqueSuffix() {
  static std::atomic<unsigned> counter{0};
  return std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

bool validRelativePath(const std::string& path) {
  if (path.empty() || path.front() == '/') return false;
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

}  // namespace

WebDavSource::WebDavSource(WebDavOptions options, const core::Clock& clock)
    : options_(std::move(options)), transport_(options_.http, clock) {
  credential_ = makeCredentialSource(options_.credential, transport_, clock);
  while (!options_.base_url.empty() && options_.base_url.back() == '/')
    options_.base_url.pop_back();
  options_.library = trimSlashes(options_.library);
  std::string base_path;
  try {
    base_path = Poco::URI(options_.base_url).getPath();
  } catch (...) {
    // A malformed base address fails on the first request, naming the URL.
  }
  library_path_ = "/" + trimSlashes(base_path + "/" + options_.library) + "/";
  if (library_path_ == "//") library_path_ = "/";
}

std::string WebDavSource::urlOf(const std::string& relative_path) const {
  std::string url = options_.base_url + "/";
  if (!options_.library.empty()) url += percentEncodePath(options_.library) + "/";
  return url + percentEncodePath(relative_path);
}

core::Status WebDavSource::call(HttpRequest request, const std::string& what, HttpResponse* out) {
  SENDFLOW_ASSIGN_OR_RETURN(HttpResponse response,
                            sendWithCredential(transport_, *credential_, request));
  if (!response.ok()) return statusFromResponse("webdav connector: " + what, request, response);
  if (out != nullptr) *out = std::move(response);
  return core::Status::ok();
}

core::StatusOr<std::vector<DavResource>> WebDavSource::propfind(const std::string& relative_path,
                                                                int depth) {
  std::string body =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:propfind xmlns:D=\"DAV:\" xmlns:S=\"" +
      xmlEscape(options_.property_namespace) +
      "\"><D:prop><D:resourcetype/><D:getcontentlength/><D:getcontenttype/>"
      "<D:getlastmodified/><D:getetag/>";
  for (std::size_t i = 0; i < kMetadataFieldCount; ++i) {
    body += "<S:" + propertyLocalName(options_.fields.column(static_cast<MetadataField>(i))) + "/>";
  }
  body += "</D:prop></D:propfind>\n";
  HttpRequest request;
  request.method = "PROPFIND";
  request.url = urlOf(relative_path);
  request.headers.emplace_back("Depth", std::to_string(depth));
  request.content_type = "application/xml; charset=utf-8";
  request.body = std::move(body);
  HttpResponse response;
  const std::string what = "list " + (relative_path.empty() ? options_.library : relative_path);
  SENDFLOW_RETURN_IF_ERROR(call(request, what, &response));
  if (response.status != 207) {
    return core::invalidArgument("webdav connector: PROPFIND " + describeUrl(request.url) +
                                 ": expected 207 Multi-Status, got " +
                                 std::to_string(response.status));
  }
  return parseMultistatus(response.body, options_.property_namespace,
                          "webdav connector: PROPFIND " + describeUrl(request.url));
}

core::StatusOr<Item> WebDavSource::toItem(const DavResource& resource,
                                          const std::string& id) const {
  Item item;
  item.id = id;
  item.path = id;
  item.name = std::filesystem::path(id).filename().string();
  item.size = resource.size;
  item.content_type =
      resource.content_type.empty() || resource.content_type == "application/octet-stream"
          ? contentTypeForName(item.name)
          : resource.content_type.substr(0, resource.content_type.find(';'));
  item.modified = resource.last_modified;
  item.etag = resource.etag;
  nlohmann::json columns = nlohmann::json::object();
  for (std::size_t i = 0; i < kMetadataFieldCount; ++i) {
    const std::string& column = options_.fields.column(static_cast<MetadataField>(i));
    auto it = resource.properties.find(propertyLocalName(column));
    if (it != resource.properties.end() && !it->second.empty()) columns[column] = it->second;
  }
  auto metadata = options_.fields.read(columns);
  if (!metadata.isOk()) return metadata.status().withContext(id);
  item.metadata = std::move(metadata).value();
  item.columns = columnsAsText(columns);
  return item;
}

core::StatusOr<Page> WebDavSource::listPage(const std::string& cursor) {
  SENDFLOW_ASSIGN_OR_RETURN(nlohmann::json state, parseCursor(cursor, kind()));
  SENDFLOW_ASSIGN_OR_RETURN(
      HighWaterMark start,
      HighWaterMark::fromJson(state.value("hwm", nlohmann::json::object()), "webdav connector"));
  HighWaterMark seen = start;
  std::deque<std::string> queue;
  if (state.contains("queue")) {
    if (!state["queue"].is_array())
      return core::invalidArgument("webdav connector: cursor queue is malformed");
    for (const auto& q : state["queue"]) {
      if (!q.is_string())
        return core::invalidArgument("webdav connector: cursor queue is malformed");
      queue.push_back(q.get<std::string>());
    }
    SENDFLOW_ASSIGN_OR_RETURN(
        seen,
        HighWaterMark::fromJson(state.value("seen", nlohmann::json::object()), "webdav connector"));
  } else {
    queue.push_back("");  // a new pass starts at the library collection
  }
  Page page;
  if (!queue.empty()) {
    const std::string folder = queue.front();
    queue.pop_front();
    SENDFLOW_ASSIGN_OR_RETURN(const std::vector<DavResource> resources, propfind(folder, 1));
    for (const DavResource& r : resources) {
      if (r.href.rfind(library_path_, 0) != 0) continue;  // not under the library
      const std::string id = trimSlashes(r.href.substr(library_path_.size()));
      if (id.empty() || trimSlashes(folder) == id) continue;  // the collection itself
      const std::string name = std::filesystem::path(id).filename().string();
      if (name.empty() || name[0] == '.') continue;  // hidden, or an unfinished publish
      if (r.is_collection) {
        queue.push_back(id + "/");
        continue;
      }
      const long long tick = r.last_modified.time_since_epoch().count();
      if (!start.isNew(tick, id)) continue;
      HighWaterMark one;
      one.advance(tick, id);
      seen.merge(one);
      auto item = toItem(r, id);
      if (!item.isOk()) {
        page.problems.push_back({id, item.status()});
        continue;
      }
      if (core::Status limit = options_.limits.check(*item); !limit.isOk()) {
        page.problems.push_back({id, limit});
        continue;
      }
      page.items.push_back(std::move(item).value());
    }
  }
  page.more = !queue.empty();
  if (page.more) {
    nlohmann::json next = {{"hwm", start.toJson()}, {"seen", seen.toJson()}};
    next["queue"] = nlohmann::json::array();
    for (const auto& q : queue) next["queue"].push_back(q);
    page.next_cursor = next.dump();
  } else {
    page.next_cursor = nlohmann::json{{"hwm", seen.toJson()}}.dump();
  }
  return page;
}

core::Status WebDavSource::download(const Item& item, const std::string& destination) {
  if (!validRelativePath(item.id)) {
    return core::invalidArgument("webdav connector: '" + item.id +
                                 "' is not a path in the library");
  }
  const std::string part = destination + kTempMarker + uniqueSuffix();
  HttpRequest request;
  request.url = urlOf(item.id);
  request.download_path = part;
  request.max_download_bytes = options_.limits.max_bytes;
  core::Status status = call(request, "download " + item.id);
  if (status.isOk() && std::rename(part.c_str(), destination.c_str()) != 0) {
    status = core::internalError("webdav connector: download " + item.id + ": cannot rename " +
                                 part + " to " + destination);
  }
  if (!status.isOk()) std::remove(part.c_str());
  return status;
}

core::Status WebDavSource::ensureCollections(const std::string& relative_dir) {
  // The library itself, then each level of the sub-folder.
  std::vector<std::string> urls;
  std::string url = options_.base_url + "/";
  if (!options_.library.empty()) urls.push_back(url += percentEncodePath(options_.library) + "/");
  std::size_t start = 0;
  while (start < relative_dir.size()) {
    std::size_t end = relative_dir.find('/', start);
    if (end == std::string::npos) end = relative_dir.size();
    urls.push_back(url += percentEncode(relative_dir.substr(start, end - start)) + "/");
    start = end + 1;
  }
  for (const std::string& collection : urls) {
    HttpRequest request;
    request.method = "MKCOL";
    request.url = collection;
    SENDFLOW_ASSIGN_OR_RETURN(HttpResponse response,
                              sendWithCredential(transport_, *credential_, request));
    if (response.status == 405 || response.ok()) continue;  // 405: it exists already
    return statusFromResponse("webdav connector: create folder", request, response);
  }
  return core::Status::ok();
}

core::StatusOr<Item> WebDavSource::publish(const PublishRequest& request) {
  const std::string what = "publish " + request.name;
  if (request.content == nullptr)
    return core::invalidArgument("webdav connector: " + what + ": no content");
  if (!validRelativePath(request.name)) {
    return core::invalidArgument("webdav connector: " + what + ": not a relative path");
  }
  const auto slash = request.name.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : request.name.substr(0, slash);
  const std::string leaf =
      slash == std::string::npos ? request.name : request.name.substr(slash + 1);
  if (leaf[0] == '.')
    return core::invalidArgument("webdav connector: " + what + ": hidden names are not listed");
  SENDFLOW_RETURN_IF_ERROR(ensureCollections(dir));

  // The content's length, for Content-Length; the stream is sent from where it stands.
  std::istream& content = *request.content;
  SENDFLOW_ASSIGN_OR_RETURN(const std::int64_t length,
                            options_.limits.publishLength(content, "webdav connector: " + what));
  const std::string temp =
      (dir.empty() ? "" : dir + "/") + "." + leaf + kTempMarker + uniqueSuffix();
  HttpRequest put;
  put.method = "PUT";
  put.url = urlOf(temp);
  put.content_type = request.content_type.empty() ? contentTypeForName(leaf) : request.content_type;
  put.body_stream = &content;
  put.body_length = length;
  SENDFLOW_RETURN_IF_ERROR(call(put, what));
  auto cleanup = [&] {
    HttpRequest del;
    del.method = "DELETE";
    del.url = urlOf(temp);
    (void)sendWithCredential(transport_, *credential_, del);
  };

  const nlohmann::json columns = options_.fields.write(request.metadata);
  if (!columns.empty()) {
    std::string body =
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:propertyupdate xmlns:D=\"DAV:\" "
        "xmlns:S=\"" +
        xmlEscape(options_.property_namespace) + "\">";
    for (const auto& [column, value] : columns.items()) {
      const std::string name = propertyLocalName(column);
      body += "<D:set><D:prop><S:" + name + ">" + xmlEscape(columnText(value)) + "</S:" + name +
              "></D:prop></D:set>";  // one D:set per property
    }
    body += "</D:propertyupdate>\n";
    HttpRequest patch;
    patch.method = "PROPPATCH";
    patch.url = urlOf(temp);
    patch.content_type = "application/xml; charset=utf-8";
    patch.body = std::move(body);
    HttpResponse response;
    if (core::Status s = call(patch, what + ": set metadata", &response); !s.isOk()) {
      cleanup();
      return s;
    }
    // A 207 can still refuse a property: its propstat then carries a non-200 status.
    if (response.body.find("HTTP/1.1 200") == std::string::npos && response.status == 207) {
      cleanup();
      return core::failedPrecondition("webdav connector: " + what +
                                      ": the server refused the metadata properties");
    }
  }
  HttpRequest move;
  move.method = "MOVE";
  move.url = urlOf(temp);
  move.headers.emplace_back("Destination", urlOf(request.name));
  move.headers.emplace_back("Overwrite", "T");
  if (core::Status s = call(move, what + ": move into place"); !s.isOk()) {
    cleanup();
    return s;
  }
  SENDFLOW_ASSIGN_OR_RETURN(const std::vector<DavResource> resources, propfind(request.name, 0));
  if (resources.empty())
    return core::internalError("webdav connector: " + what + ": not listed after upload");
  return toItem(resources.front(), request.name);
}

}  // namespace sendflow::connectors
