#include "tests/connectors/fakes/fake_graph.h"

#include <algorithm>
#include <vector>

#include "server/core/clock.h"

namespace sendflow::testing {
namespace {

constexpr long long kEpoch = 1793523600;  // 2026-11-01T09:00:00Z
constexpr const char* kRootId = "01ROOTDRIVE";

FakeReply graphError(int status, const std::string& code, const std::string& message) {
  FakeReply reply;
  reply.status = status;
  reply.body = nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump();
  return reply;
}

std::string iso(long long seq) {
  return core::formatIso8601(core::TimePoint(std::chrono::seconds(kEpoch + seq)));
}

}  // namespace

FakeGraph::FakeGraph(FakeTokenEndpoint& tokens) : tokens_(tokens) {
  nodes_[kRootId] = Node{kRootId, "root", "", true};
  nodes_[kLibraryId] = Node{kLibraryId, "EHC plans", kRootId, true};
  change(nodes_[kRootId]);
  change(nodes_[kLibraryId]);
  start();
}

void FakeGraph::change(Node& node) {
  node.seq = ++seq_;
  ++node.version;
}

FakeGraph::Node& FakeGraph::ensurePath(const std::string& parent_id, const std::string& relative,
                                       bool leaf_is_folder) {
  std::string parent = parent_id;
  std::size_t start = 0;
  while (true) {
    const auto slash = relative.find('/', start);
    const std::string name =
        relative.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    const bool is_folder = slash != std::string::npos || leaf_is_folder;
    Node* found = nullptr;
    for (auto& [id, node] : nodes_) {
      if (!node.deleted && node.parent_id == parent && node.name == name) found = &node;
    }
    if (found == nullptr) {
      const std::string id = "01ITEM" + std::to_string(next_id_++);
      Node& node = nodes_[id];
      node.id = id;
      node.name = name;
      node.parent_id = parent;
      node.folder = is_folder;
      change(node);
      found = &node;
    }
    if (slash == std::string::npos) return *found;
    parent = found->id;
    start = slash + 1;
  }
}

void FakeGraph::addDocument(const std::string& relative_name, const std::string& content,
                            const nlohmann::json& columns) {
  std::lock_guard<std::mutex> lock(mutex_);
  Node& node = ensurePath(kLibraryId, relative_name, false);
  node.content = content;
  node.fields = nlohmann::json::object();
  for (const auto& [key, value] : columns.items()) {
    if (key == "Caseworker" || key == "Contributors") {  // person columns: lookup values
      nlohmann::json people = nlohmann::json::array();
      for (const auto& name : value.is_array() ? value : nlohmann::json::array({value})) {
        people.push_back({{"LookupId", 7}, {"LookupValue", name}, {"Email", ""}});
      }
      node.fields[key] = people;
    } else if (key.find("Date") != std::string::npos && value.is_string() &&
               value.get<std::string>().size() == 10) {
      node.fields[key] = value.get<std::string>() + "T00:00:00Z";
    } else {
      node.fields[key] = value;
    }
  }
  change(node);
}

void FakeGraph::invalidateDeltaTokens() {
  std::lock_guard<std::mutex> lock(mutex_);
  valid_from_ = ++seq_;  // tokens issued before now are gone
}

int FakeGraph::authorizationLeaks() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return leaks_;
}

int FakeGraph::uploadChunks() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return chunks_;
}

std::string FakeGraph::webUrl(const Node& node) const {
  std::string path = node.name;
  for (auto it = nodes_.find(node.parent_id); it != nodes_.end() && it->first != kRootId;
       it = nodes_.find(it->second.parent_id)) {
    path = it->second.name + "/" + path;
  }
  return "https://contoso.sharepoint.com/sites/send/" + path;
}

nlohmann::json FakeGraph::render(const Node& node, bool with_fields, bool with_path) const {
  nlohmann::json item = {{"id", node.id},
                         {"name", node.name},
                         {"eTag", "\"{" + node.id + "}," + std::to_string(node.version) + "\""},
                         {"cTag", "\"c:{" + node.id + "}," + std::to_string(node.version) + "\""},
                         {"lastModifiedDateTime", iso(node.seq)},
                         {"webUrl", webUrl(node)},
                         {"size", node.content.size()}};
  nlohmann::json parent = {
      {"driveType", "documentLibrary"}, {"driveId", kDrive}, {"id", node.parent_id}};
  if (with_path) parent["path"] = "/drives/" + std::string(kDrive) + "/root:";
  item["parentReference"] = parent;
  if (node.deleted) {
    item["deleted"] = {{"state", "deleted"}};
  } else if (node.folder) {
    int count = 0;
    for (const auto& [id, n] : nodes_) count += (!n.deleted && n.parent_id == node.id);
    item["folder"] = {{"childCount", count}};
  } else {
    item["file"] = {{"mimeType", connectors::contentTypeForName(node.name)},
                    {"hashes", {{"quickXorHash", "fakehash" + std::to_string(node.version)}}}};
  }
  if (with_fields && !node.folder) {
    nlohmann::json fields = node.fields;
    fields["@odata.etag"] = "\"" + node.id + "," + std::to_string(node.version) + "\"";
    fields["FileLeafRef"] = node.name;
    fields["id"] = std::to_string(node.seq);
    item["listItem"] = {{"@odata.etag", fields["@odata.etag"]},
                        {"id", std::to_string(node.seq)},
                        {"fields", fields}};
  }
  return item;
}

FakeReply FakeGraph::unauthorized() const {
  return graphError(401, "InvalidAuthenticationToken",
                    "Access token has expired or is not yet valid.");
}

FakeReply FakeGraph::children(const FakeRequest& request, const std::string& id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end() || it->second.deleted || !it->second.folder) {
    return graphError(404, "itemNotFound", "The resource could not be found.");
  }
  std::vector<const Node*> kids;
  for (const auto& [kid_id, node] : nodes_) {
    if (!node.deleted && node.parent_id == id) kids.push_back(&node);
  }
  std::sort(kids.begin(), kids.end(),
            [](const Node* a, const Node* b) { return a->name < b->name; });
  const std::size_t top =
      request.params.count("$top") ? std::stoul(request.params.at("$top")) : 200;
  const std::size_t first =
      request.params.count("$skiptoken") ? std::stoul(request.params.at("$skiptoken")) : 0;
  const bool with_fields =
      request.params.count("$expand") && request.params.at("$expand") == "listItem($expand=fields)";
  nlohmann::json value = nlohmann::json::array();
  std::size_t i = first;
  for (; i < kids.size() && value.size() < top; ++i)
    value.push_back(render(*kids[i], with_fields, true));
  nlohmann::json answer = {{"@odata.context", apiUrl() + "/$metadata#drives('" + kDrive +
                                                  "')/items('" + id + "')/children"},
                           {"value", value}};
  if (i < kids.size()) {
    answer["@odata.nextLink"] =
        apiUrl() + "/drives/" + connectors::percentEncode(kDrive) + "/items/" + id +
        "/children?%24expand=listItem(%24expand%3Dfields)&%24top=" + std::to_string(top) +
        "&%24skiptoken=" + std::to_string(i);
  }
  FakeReply reply;
  reply.body = answer.dump();
  return reply;
}

FakeReply FakeGraph::delta(const FakeRequest& request) {
  const std::string token = request.params.count("token") ? request.params.at("token") : "";
  const std::string link_base =
      apiUrl() + "/drives/" + connectors::percentEncode(kDrive) + "/root/delta?token=";
  nlohmann::json answer = {{"@odata.context", apiUrl() + "/$metadata#Collection(driveItem)"}};
  if (token == "latest") {
    answer["value"] = nlohmann::json::array();
    answer["@odata.deltaLink"] = link_base + std::to_string(seq_);
    return FakeReply{200, "application/json", answer.dump(), {}};
  }
  const long long since = token.empty() ? 0 : std::atoll(token.c_str());
  if (!token.empty() && since < valid_from_) {
    return graphError(
        410, "resyncRequired",
        "Resync required. Replace any local items with the server's version (including "
        "deletes) if you're sure that the service was up to date with your local changes "
        "when you last sync'd. Upload any local changes that the server doesn't know about.");
  }
  std::vector<const Node*> changed;
  for (const auto& [id, node] : nodes_) {
    if (node.seq > since && node.id != kRootId) changed.push_back(&node);
  }
  std::sort(changed.begin(), changed.end(),
            [](const Node* a, const Node* b) { return a->seq < b->seq; });
  nlohmann::json value = nlohmann::json::array();
  std::size_t i = 0;
  for (; i < changed.size() && i < static_cast<std::size_t>(kDeltaPageSize); ++i) {
    value.push_back(render(*changed[i], false, false));  // delta omits parentReference.path
  }
  answer["value"] = value;
  const long long last = i == 0 ? since : changed[i - 1]->seq;
  if (i < changed.size()) {
    answer["@odata.nextLink"] = link_base + std::to_string(last);
  } else {
    answer["@odata.deltaLink"] = link_base + std::to_string(last);
  }
  return FakeReply{200, "application/json", answer.dump(), {}};
}

FakeReply FakeGraph::handle(const FakeRequest& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string& path = request.path;
  const bool authorized = tokens_.accepts(request.header("authorization"));
  // Pre-authenticated URLs: a request that carries Authorization is refused.
  if (path.rfind("/download/", 0) == 0 || path.rfind("/upload/", 0) == 0) {
    if (!request.header("authorization").empty()) {
      ++leaks_;
      return graphError(401, "unauthenticated",
                        "Authorization must not be sent to a pre-authenticated URL.");
    }
    if (path.rfind("/download/", 0) == 0) {
      auto it = nodes_.find(path.substr(10));
      if (it == nodes_.end() || request.params.count("tempauth") == 0) {
        return graphError(404, "itemNotFound", "The resource could not be found.");
      }
      return FakeReply{200, "application/octet-stream", it->second.content, {}};
    }
    const std::string session_id = path.substr(8);
    auto s = sessions_.find(session_id);
    if (s == sessions_.end())
      return graphError(404, "itemNotFound", "The upload session was not found.");
    if (request.method == "DELETE") {
      sessions_.erase(s);
      return FakeReply{204, "", "", {}};
    }
    long long from = 0, to = 0, total = 0;
    if (std::sscanf(request.header("content-range").c_str(), "bytes %lld-%lld/%lld", &from, &to,
                    &total) != 3 ||
        from != static_cast<long long>(s->second.received.size()) ||
        to - from + 1 != static_cast<long long>(request.body.size())) {
      return graphError(416, "invalidRange",
                        "The Content-Range does not match the next expected range.");
    }
    ++chunks_;
    s->second.received += request.body;
    if (static_cast<long long>(s->second.received.size()) < total) {
      nlohmann::json progress = {
          {"expirationDateTime", "2026-11-29T09:00:00Z"},
          {"nextExpectedRanges", {std::to_string(s->second.received.size()) + "-"}}};
      return FakeReply{202, "application/json", progress.dump(), {}};
    }
    Node& node = ensurePath(s->second.parent_id, s->second.name, false);
    node.content = s->second.received;
    change(node);
    sessions_.erase(s);
    return FakeReply{201, "application/json", render(node, false, true).dump(), {}};
  }
  if (!authorized) return unauthorized();
  const std::string prefix = "/v1.0/drives/" + std::string(kDrive);
  if (path.rfind(prefix, 0) != 0)
    return graphError(404, "itemNotFound", "The resource could not be found.");
  const std::string rest = path.substr(prefix.size());
  if (rest == "/root/delta" && request.method == "GET") return delta(request);
  if (rest.rfind("/items/", 0) != 0) return graphError(400, "invalidRequest", "Invalid request");
  std::string tail = rest.substr(7);
  // Path-addressed: /items/{parent}:/{relative path}:/content | :/createUploadSession
  const auto colon = tail.find(":/");
  if (colon != std::string::npos) {
    const std::string parent = tail.substr(0, colon);
    const std::string after = tail.substr(colon + 2);
    const auto end = after.rfind(":/");
    if (end == std::string::npos) return graphError(400, "invalidRequest", "Invalid path");
    const std::string relative = after.substr(0, end);
    const std::string action = after.substr(end + 2);
    if (nodes_.count(parent) == 0)
      return graphError(404, "itemNotFound", "The parent could not be found.");
    if (action == "content" && request.method == "PUT") {
      if (request.body.size() > 4 * 1024 * 1024) {
        return graphError(413, "requestTooLarge",
                          "Use an upload session for files larger than 4 MB.");
      }
      Node& node = ensurePath(parent, relative, false);
      node.content = request.body;
      change(node);
      return FakeReply{201, "application/json", render(node, false, true).dump(), {}};
    }
    if (action == "createUploadSession" && request.method == "POST") {
      const auto slash = relative.rfind('/');
      std::string folder_id = parent;
      if (slash != std::string::npos)
        folder_id = ensurePath(parent, relative.substr(0, slash), true).id;
      const std::string id = "session-" + std::to_string(next_id_++);
      sessions_[id] =
          UploadSession{folder_id, relative.substr(slash == std::string::npos ? 0 : slash + 1), ""};
      nlohmann::json answer = {
          {"uploadUrl", baseUrl() + "/upload/" + id + "?guid=abc&tempauth=xyz"},
          {"expirationDateTime", "2026-11-29T09:00:00Z"},
          {"nextExpectedRanges", {"0-"}}};
      return FakeReply{200, "application/json", answer.dump(), {}};
    }
    return graphError(400, "invalidRequest", "Unsupported path action " + action);
  }
  const auto slash = tail.find('/');
  const std::string id = tail.substr(0, slash);
  const std::string sub = slash == std::string::npos ? "" : tail.substr(slash);
  auto it = nodes_.find(id == "root" ? std::string(kRootId) : id);
  if (it == nodes_.end() || it->second.deleted) {
    return graphError(404, "itemNotFound", "The resource could not be found.");
  }
  Node& node = it->second;
  if (sub.empty() && request.method == "GET") {
    const bool with_fields = request.params.count("$expand") > 0;
    return FakeReply{200, "application/json", render(node, with_fields, true).dump(), {}};
  }
  if (sub.empty() && request.method == "DELETE") {
    node.deleted = true;
    change(node);
    return FakeReply{204, "", "", {}};
  }
  if (sub == "/children" && request.method == "GET") return children(request, node.id);
  if (sub == "/content" && request.method == "GET") {
    FakeReply reply{302, "", "", {}};
    reply.headers.emplace_back("Location",
                               baseUrl() + "/download/" + node.id + "?tempauth=eyJ0eXAi-preauth");
    return reply;
  }
  if (sub == "/listItem/fields" && request.method == "PATCH") {
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    if (!body.is_object()) return graphError(400, "invalidRequest", "Invalid JSON body.");
    for (const auto& [key, value] : body.items()) {
      if (key == "Caseworker" || key == "Contributors") {
        return graphError(400, "invalidRequest",
                          "Field '" + key + "' is a person field; set " + key + "LookupId.");
      }
      node.fields[key] = value;
    }
    change(node);
    return FakeReply{200, "application/json", node.fields.dump(), {}};
  }
  return graphError(400, "invalidRequest", "Unsupported request " + request.method + " " + path);
}

connectors::GraphOptions graphOptions(const FakeGraph& fake, const FakeTokenEndpoint& tokens,
                                      const std::string& secret) {
  connectors::GraphOptions options;
  options.base_url = fake.apiUrl();
  options.drive_id = FakeGraph::kDrive;
  options.folder_id = FakeGraph::kLibraryId;
  options.credential.kind = connectors::CredentialConfig::Kind::kClientCredentials;
  options.credential.secret = secret;
  options.credential.client.token_url = tokens.tokenUrl();
  options.credential.client.client_id = FakeTokenEndpoint::kClientId;
  options.credential.client.scope = "https://graph.microsoft.com/.default";
  return options;
}

}  // namespace sendflow::testing
