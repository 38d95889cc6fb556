#include "connectors/graph/graph_source.h"

#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <deque>
#include <set>

#include "connectors/connector/change_cursor.h"
#include "server/core/json_text.h"

namespace sendflow::connectors {
namespace {

constexpr const char* kExpandFields = "$expand=listItem($expand=fields)";

std::string origin(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto slash = url.find('/', scheme + 3);
  return slash == std::string::npos ? url : url.substr(0, slash);
}

const nlohmann::json* member(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string text(const nlohmann::json* j) {
  return j != nullptr && j->is_string() ? j->get<std::string>() : std::string();
}

bool validRelativePath(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.back() == '/') return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string segment = path.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == ".." ||
        segment.find_first_of(":*?\"<>|#%") != std::string::npos) {
      return false;
    }
    start = end + 1;
  }
  return true;
}

nlohmann::json toArray(const std::deque<std::string>& items) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& i : items) a.push_back(i);
  return a;
}

}  // namespace

GraphSource::GraphSource(GraphOptions options, const core::Clock& clock)
    : options_(std::move(options)), transport_(options_.http, clock) {
  credential_ = makeCredentialSource(options_.credential, transport_, clock);
  while (!options_.base_url.empty() && options_.base_url.back() == '/')
    options_.base_url.pop_back();
  if (options_.person_columns.empty()) {
    options_.person_columns = {options_.fields.column(MetadataField::kCaseworker),
                               options_.fields.column(MetadataField::kContributors)};
  }
  if (options_.page_size < 1) options_.page_size = 1;
  const std::int64_t unit = 320 * 1024;
  options_.upload_chunk_bytes = std::max(unit, options_.upload_chunk_bytes / unit * unit);
}

bool GraphSource::sameOrigin(const std::string& url) const {
  return url.rfind(origin(options_.base_url) + "/", 0) == 0;
}

core::StatusOr<HttpResponse> GraphSource::send(HttpRequest request, const std::string& what) {
  request.headers.emplace_back("Accept", "application/json");
  auto response = sendWithCredential(transport_, *credential_, std::move(request));
  if (!response.isOk()) return response.status().withContext("graph connector: " + what);
  return response;
}

core::StatusOr<nlohmann::json> GraphSource::call(HttpRequest request, const std::string& what) {
  SENDFLOW_ASSIGN_OR_RETURN(HttpResponse response, send(request, what));
  if (!response.ok()) return statusFromResponse("graph connector: " + what, request, response);
  if (response.body.empty()) return nlohmann::json::object();
  auto j = core::parseJsonText(response.body);
  if (!j.isOk() || !j->is_object()) {
    return core::invalidArgument(
        "graph connector: " + what + ": " + request.method + " " + describeUrl(request.url) +
        ": the answer is not valid JSON (" + std::to_string(response.body.size()) + " bytes" +
        (j.isOk() ? std::string(", not an object") : ", " + j.status().message()) + ")");
  }
  return j;
}

core::StatusOr<Item> GraphSource::toItem(const nlohmann::json& drive_item) const {
  Item item;
  item.id = text(member(drive_item, "id"));
  item.name = text(member(drive_item, "name"));
  item.path = text(member(drive_item, "webUrl"));
  if (item.path.empty()) item.path = item.name;
  const std::string label = item.path.empty() ? "drive item " + item.id : item.path;
  if (item.id.empty() || item.name.empty()) return core::invalidArgument(label + ": no id or name");
  if (const auto* size = member(drive_item, "size"); size != nullptr && size->is_number_integer()) {
    item.size = size->get<std::int64_t>();
  }
  const std::string modified = text(member(drive_item, "lastModifiedDateTime"));
  if (!core::parseIso8601(modified, item.modified)) {
    return core::invalidArgument(label + ": lastModifiedDateTime '" + modified + "' is not a date");
  }
  item.etag = text(member(drive_item, "eTag"));
  if (const auto* file = member(drive_item, "file"))
    item.content_type = text(member(*file, "mimeType"));
  if (item.content_type.empty()) item.content_type = contentTypeForName(item.name);
  if (const auto* list_item = member(drive_item, "listItem")) {
    if (const auto* fields = member(*list_item, "fields")) {
      auto metadata = options_.fields.read(*fields);
      if (!metadata.isOk()) return metadata.status().withContext(label);
      item.metadata = std::move(metadata).value();
      item.columns = columnsAsText(*fields);
    }
  }
  return item;
}

core::StatusOr<Page> GraphSource::startPass(bool resynced) {
  HttpRequest latest;
  latest.url = driveUrl() + "/root/delta?token=latest";
  SENDFLOW_ASSIGN_OR_RETURN(const nlohmann::json baseline, call(latest, "delta baseline"));
  const std::string link = text(member(baseline, "@odata.deltaLink"));
  if (link.empty()) {
    return core::invalidArgument("graph connector: GET " + describeUrl(latest.url) +
                                 ": the answer has no @odata.deltaLink");
  }
  HttpRequest folder;
  folder.url = driveUrl() + "/items/" + percentEncode(options_.folder_id) + "?$select=id,name";
  SENDFLOW_ASSIGN_OR_RETURN(const nlohmann::json library, call(folder, "library folder"));
  const std::string folder_id = text(member(library, "id"));
  if (folder_id.empty())
    return core::invalidArgument("graph connector: the library folder has no id");
  nlohmann::json state = {{"mode", "walk"},
                          {"baseline", link},
                          {"queue", {folder_id}},
                          {"known", {folder_id}},
                          {"next", ""}};
  SENDFLOW_ASSIGN_OR_RETURN(Page page, walk(std::move(state)));
  page.resynced = resynced;
  return page;
}

core::StatusOr<Page> GraphSource::walk(nlohmann::json state) {
  std::deque<std::string> queue;
  for (const auto& id : state.value("queue", nlohmann::json::array()))
    queue.push_back(id.get<std::string>());
  nlohmann::json known = state.value("known", nlohmann::json::array());
  std::string url = state.value("next", std::string());
  if (url.empty()) {
    if (queue.empty())
      return core::invalidArgument("graph connector: the cursor has nothing left to walk");
    url = driveUrl() + "/items/" + percentEncode(queue.front()) + "/children?" + kExpandFields +
          "&$top=" + std::to_string(options_.page_size);
    queue.pop_front();
  } else if (!sameOrigin(url)) {
    return core::invalidArgument("graph connector: the next-page link " + describeUrl(url) +
                                 " is not on " + origin(options_.base_url));
  }
  HttpRequest request;
  request.url = url;
  SENDFLOW_ASSIGN_OR_RETURN(const nlohmann::json answer, call(request, "list the library"));
  const nlohmann::json* value = member(answer, "value");
  if (value == nullptr || !value->is_array()) {
    return core::invalidArgument("graph connector: GET " + describeUrl(url) +
                                 ": the answer has no value list");
  }
  Page page;
  for (const auto& entry : *value) {
    if (member(entry, "folder") != nullptr) {
      const std::string id = text(member(entry, "id"));
      const std::string name = text(member(entry, "name"));
      if (!id.empty() && !name.empty() && name[0] != '.') {
        queue.push_back(id);
        known.push_back(id);
      }
      continue;
    }
    if (member(entry, "file") == nullptr) continue;  // notebooks, packages
    auto item = toItem(entry);
    const std::string label = text(member(entry, "webUrl")).empty() ? text(member(entry, "name"))
                                                                    : text(member(entry, "webUrl"));
    if (!item.isOk()) {
      page.problems.push_back({label, item.status()});
    } else if (core::Status limit = options_.limits.check(*item); !limit.isOk()) {
      page.problems.push_back({label, limit});
    } else {
      page.items.push_back(std::move(item).value());
    }
  }
  const std::string next = text(member(answer, "@odata.nextLink"));
  if (next.empty() && queue.empty()) {
    page.more = false;
    page.next_cursor =
        nlohmann::json{{"mode", "delta"}, {"link", state["baseline"]}, {"known", known}}.dump();
  } else {
    page.more = true;
    page.next_cursor = nlohmann::json{
        {"mode", "walk"},
        {"baseline", state["baseline"]},
        {"queue", toArray(queue)},
        {"known", known},
        {"next", next}}.dump();
  }
  return page;
}

core::StatusOr<Page> GraphSource::delta(nlohmann::json state) {
  const std::string link = state.value("link", std::string());
  if (link.empty() || !sameOrigin(link)) {
    return core::invalidArgument("graph connector: the cursor's delta link " + describeUrl(link) +
                                 " is not on " + origin(options_.base_url));
  }
  HttpRequest request;
  request.url = link;
  SENDFLOW_ASSIGN_OR_RETURN(const HttpResponse response, send(request, "list changes"));
  if (response.status == 410) return startPass(/*resynced=*/true);  // the delta token expired
  if (!response.ok()) return statusFromResponse("graph connector: list changes", request, response);
  const auto answer = core::parseJsonText(response.body);
  const nlohmann::json* value = answer.isOk() ? member(*answer, "value") : nullptr;
  if (value == nullptr || !value->is_array()) {
    return core::invalidArgument("graph connector: GET " + describeUrl(link) +
                                 ": the answer is not valid JSON with a value list");
  }
  std::vector<std::string> known_list;
  for (const auto& id : state.value("known", nlohmann::json::array()))
    known_list.push_back(id.get<std::string>());
  std::set<std::string> known(known_list.begin(), known_list.end());
  Page page;
  for (const auto& entry : *value) {
    if (member(entry, "deleted") != nullptr) continue;
    const std::string id = text(member(entry, "id"));
    const auto* parent = member(entry, "parentReference");
    const std::string parent_id = parent != nullptr ? text(member(*parent, "id")) : "";
    if (known.count(parent_id) == 0) continue;  // outside the library
    if (member(entry, "folder") != nullptr) {
      if (known.insert(id).second) known_list.push_back(id);
      continue;
    }
    if (member(entry, "file") == nullptr) continue;
    HttpRequest get;
    get.url = driveUrl() + "/items/" + percentEncode(id) + "?" + kExpandFields;
    const std::string label = text(member(entry, "name"));
    auto full = call(get, "read " + label);
    if (!full.isOk()) {
      if (full.status().code() == core::StatusCode::kNotFound) continue;  // deleted since
      page.problems.push_back({label, full.status()});
      continue;
    }
    auto item = toItem(*full);
    if (!item.isOk()) {
      page.problems.push_back({label, item.status()});
    } else if (core::Status limit = options_.limits.check(*item); !limit.isOk()) {
      page.problems.push_back({label, limit});
    } else {
      page.items.push_back(std::move(item).value());
    }
  }
  const std::string next = text(member(*answer, "@odata.nextLink"));
  const std::string delta_link = text(member(*answer, "@odata.deltaLink"));
  if (next.empty() && delta_link.empty()) {
    return core::invalidArgument("graph connector: GET " + describeUrl(link) +
                                 ": the answer has neither @odata.nextLink nor @odata.deltaLink");
  }
  page.more = !next.empty();
  page.next_cursor = nlohmann::json{
      {"mode", "delta"},
      {"link", page.more ? next : delta_link},
      {"known",
       known_list}}.dump();
  return page;
}

core::StatusOr<Page> GraphSource::listPage(const std::string& cursor) {
  SENDFLOW_ASSIGN_OR_RETURN(nlohmann::json state, parseCursor(cursor, kind()));
  try {
    const std::string mode = state.value("mode", std::string());
    if (mode.empty()) return startPass(false);
    if (mode == "walk") return walk(std::move(state));
    if (mode == "delta") return delta(std::move(state));
    return core::invalidArgument("graph connector: the cursor's mode '" + mode + "' is unknown");
  } catch (const nlohmann::json::exception& e) {  // a cursor edited by hand, or another's
    return core::invalidArgument(std::string("graph connector: the cursor is malformed: ") +
                                 e.what());
  }
}

core::Status GraphSource::download(const Item& item, const std::string& destination) {
  const std::string what = "download " + item.name + " (" + item.id + ")";
  const std::string part = destination + ".sendflow-tmp-" + std::to_string(::getpid());
  HttpRequest request;
  request.url = driveUrl() + "/items/" + percentEncode(item.id) + "/content";
  request.download_path = part;
  request.max_download_bytes = options_.limits.max_bytes;
  core::Status status;
  auto response = send(request, what);
  if (!response.isOk()) {
    status = response.status();
  } else if (response->status == 302 || response->status == 303 || response->status == 307) {
    // A pre-authenticated URL: sending Authorization to it is refused, and would leak the token.
    HttpRequest redirected;
    redirected.url = response->header("location");
    redirected.download_path = part;
    redirected.max_download_bytes = options_.limits.max_bytes;
    if (redirected.url.rfind("https://", 0) != 0 && redirected.url.rfind("http://", 0) != 0) {
      status =
          core::invalidArgument("graph connector: " + what + ": the redirect has no absolute URL");
    } else {
      auto content = transport_.send(redirected);
      if (!content.isOk()) {
        status = content.status().withContext("graph connector: " + what);
      } else if (!content->ok()) {
        status = statusFromResponse("graph connector: " + what, redirected, *content);
      }
    }
  } else if (!response->ok()) {
    status = statusFromResponse("graph connector: " + what, request, *response);
  }
  if (status.isOk() && std::rename(part.c_str(), destination.c_str()) != 0) {
    status = core::internalError("graph connector: " + what + ": cannot rename " + part);
  }
  if (!status.isOk()) std::remove(part.c_str());
  return status;
}

core::StatusOr<nlohmann::json> GraphSource::uploadInSession(const std::string& item_path,
                                                            std::istream& content,
                                                            std::int64_t length,
                                                            const std::string& what) {
  HttpRequest create;
  create.method = "POST";
  create.url = item_path + "/createUploadSession";
  create.content_type = "application/json";
  create.body = R"({"item":{"@microsoft.graph.conflictBehavior":"replace"}})";
  SENDFLOW_ASSIGN_OR_RETURN(const nlohmann::json session,
                            call(create, what + ": create upload session"));
  const std::string upload_url = text(member(session, "uploadUrl"));
  if (upload_url.rfind("https://", 0) != 0 && upload_url.rfind("http://", 0) != 0) {
    return core::invalidArgument("graph connector: " + what +
                                 ": the upload session has no uploadUrl");
  }
  auto cancel = [&] {
    HttpRequest del;
    del.method = "DELETE";
    del.url = upload_url;
    (void)transport_.send(del);
  };
  const std::streampos begin = content.tellg();
  std::int64_t offset = 0;
  for (int guard = 0; guard < 100000; ++guard) {
    const std::int64_t n = std::min(options_.upload_chunk_bytes, length - offset);
    std::string chunk(static_cast<std::size_t>(n), '\0');
    content.clear();
    content.seekg(begin + static_cast<std::streamoff>(offset));
    content.read(chunk.data(), static_cast<std::streamsize>(n));
    if (content.gcount() != n) {
      cancel();
      return core::internalError("graph connector: " + what + ": the document stream ended early");
    }
    HttpRequest put;  // no Authorization: the upload URL carries its own credential
    put.method = "PUT";
    put.url = upload_url;
    put.headers.emplace_back("Content-Range", "bytes " + std::to_string(offset) + "-" +
                                                  std::to_string(offset + n - 1) + "/" +
                                                  std::to_string(length));
    put.body = std::move(chunk);
    auto response = transport_.send(put);
    if (!response.isOk()) {
      cancel();
      return response.status().withContext("graph connector: " + what);
    }
    if (response->status == 200 || response->status == 201) {
      auto item = core::parseJsonText(response->body);
      if (!item.isOk() || !item->is_object())
        return core::invalidArgument("graph connector: " + what +
                                     ": the upload answer is not JSON");
      return std::move(item).value();
    }
    if (response->status != 202) {
      cancel();
      return statusFromResponse("graph connector: " + what, put, *response);
    }
    // 202 Accepted: continue where the server expects ("nextExpectedRanges": ["26-"]).
    // An answer without nextExpectedRanges (or not JSON) continues after what was sent.
    const auto progress = core::parseJsonText(response->body);
    std::int64_t next = offset + n;
    if (const auto* ranges = progress.isOk() ? member(*progress, "nextExpectedRanges") : nullptr;
        ranges != nullptr && ranges->is_array() && !ranges->empty() &&
        ranges->front().is_string()) {
      next = std::atoll(ranges->front().get<std::string>().c_str());
    }
    if (next <= offset) {
      cancel();
      return core::unavailable("graph connector: " + what +
                               ": the upload session made no progress");
    }
    offset = next;
    if (offset >= length) {
      cancel();
      return core::unavailable("graph connector: " + what + ": the upload session never completed");
    }
  }
  cancel();
  return core::unavailable("graph connector: " + what + ": the upload session never completed");
}

core::StatusOr<Item> GraphSource::publish(const PublishRequest& request) {
  const std::string what = "publish " + request.name;
  if (request.content == nullptr)
    return core::invalidArgument("graph connector: " + what + ": no content");
  if (!validRelativePath(request.name)) {
    return core::invalidArgument("graph connector: " + what + ": not a valid relative path");
  }
  std::istream& content = *request.content;
  SENDFLOW_ASSIGN_OR_RETURN(const std::int64_t length,
                            options_.limits.publishLength(content, "graph connector: " + what));
  const std::string item_path = driveUrl() + "/items/" + percentEncode(options_.folder_id) + ":/" +
                                percentEncodePath(request.name) + ":";
  nlohmann::json uploaded;
  if (length < options_.simple_upload_limit) {
    HttpRequest put;
    put.method = "PUT";
    put.url = item_path + "/content";
    put.content_type =
        request.content_type.empty() ? contentTypeForName(request.name) : request.content_type;
    put.body_stream = &content;
    put.body_length = length;
    SENDFLOW_ASSIGN_OR_RETURN(uploaded, call(put, what));
  } else {
    SENDFLOW_ASSIGN_OR_RETURN(uploaded, uploadInSession(item_path, content, length, what));
  }
  const std::string id = text(member(uploaded, "id"));
  if (id.empty())
    return core::invalidArgument("graph connector: " + what + ": the upload answer has no id");
  const std::string item_url = driveUrl() + "/items/" + percentEncode(id);

  nlohmann::json columns = options_.fields.write(request.metadata);
  for (const std::string& person : options_.person_columns) columns.erase(person);
  if (!columns.empty()) {
    HttpRequest patch;
    patch.method = "PATCH";
    patch.url = item_url + "/listItem/fields";
    patch.content_type = "application/json";
    patch.body = columns.dump();
    if (auto patched = call(patch, what + ": set metadata"); !patched.isOk()) {
      HttpRequest del;  // do not leave a document without its metadata
      del.method = "DELETE";
      del.url = item_url;
      (void)send(del, what + ": remove after failure");
      return patched.status();
    }
  }
  HttpRequest get;
  get.url = item_url + "?" + kExpandFields;
  SENDFLOW_ASSIGN_OR_RETURN(const nlohmann::json item, call(get, what));
  return toItem(item);
}

}  // namespace sendflow::connectors
