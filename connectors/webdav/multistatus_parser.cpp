#include "connectors/webdav/multistatus_parser.h"

#include "server/core/markup_escape.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <Poco/URI.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <Poco/Exception.h>

#include <cctype>
#include <charconv>
#include <cstring>
#include <memory>

namespace sendflow::connectors {
namespace {

constexpr const char* kDav = "DAV:";

bool is(const xmlNode* node, const char* ns, const char* name) {
  return node != nullptr && node->type == XML_ELEMENT_NODE && node->ns != nullptr &&
         node->ns->href != nullptr &&
         std::strcmp(reinterpret_cast<const char*>(node->ns->href), ns) == 0 &&
         std::strcmp(reinterpret_cast<const char*>(node->name), name) == 0;
}

std::string text(const xmlNode* node) {
  xmlChar* content = xmlNodeGetContent(node);
  std::string out = content != nullptr ? reinterpret_cast<const char*>(content) : "";
  xmlFree(content);
  const auto b = out.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return out.substr(b, out.find_last_not_of(" \t\r\n") - b + 1);
}

// The href's path, percent-decoded; false when its escapes are malformed ("%2+").
bool decodeHref(const std::string& href, std::string& decoded) {
  std::string path = href;
  const auto scheme = path.find("://");
  if (scheme != std::string::npos) {
    const auto slash = path.find('/', scheme + 3);
    path = slash == std::string::npos ? "/" : path.substr(slash);
  }
  try {
    decoded.clear();
    Poco::URI::decode(path, decoded);
    return true;
  } catch (const Poco::Exception&) {
    return false;
  }
}

// "HTTP/1.1 200 OK" -> 200.
int statusCode(const std::string& line) {
  const auto space = line.find(' ');
  if (space == std::string::npos) return 0;
  return std::atoi(line.c_str() + space + 1);
}

void readProp(const xmlNode* prop, const std::string& ns, DavResource& r) {
  for (const xmlNode* p = prop->children; p != nullptr; p = p->next) {
    if (p->type != XML_ELEMENT_NODE) continue;
    if (is(p, kDav, "resourcetype")) {
      for (const xmlNode* t = p->children; t != nullptr; t = t->next) {
        if (is(t, kDav, "collection")) r.is_collection = true;
      }
    } else if (is(p, kDav, "getcontentlength")) {
      const std::string v = text(p);
      std::int64_t size = 0;
      const auto [end, error] = std::from_chars(v.data(), v.data() + v.size(), size);
      if (!v.empty() && error == std::errc() && end == v.data() + v.size() && size >= 0)
        r.size = size;
    } else if (is(p, kDav, "getcontenttype")) {
      r.content_type = text(p);
    } else if (is(p, kDav, "getetag")) {
      r.etag = text(p);
    } else if (is(p, kDav, "getlastmodified")) {
      Poco::DateTime when;
      int tzd = 0;
      if (Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::HTTP_FORMAT, text(p), when, tzd)) {
        r.last_modified = core::TimePoint(
            std::chrono::milliseconds(when.timestamp().epochMicroseconds() / 1000 - tzd * 1000LL));
        r.has_last_modified = true;
      }
    } else if (!ns.empty() && is(p, ns.c_str(), reinterpret_cast<const char*>(p->name))) {
      r.properties[reinterpret_cast<const char*>(p->name)] = text(p);
    }
  }
}

}  // namespace

core::StatusOr<std::vector<DavResource>> parseMultistatus(const std::string& xml,
                                                          const std::string& property_namespace,
                                                          const std::string& what) {
  std::unique_ptr<xmlParserCtxt, decltype(&xmlFreeParserCtxt)> ctxt(xmlNewParserCtxt(),
                                                                    &xmlFreeParserCtxt);
  if (!ctxt) return core::internalError(what + ": cannot create an XML parser");
  std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> doc(
      xmlCtxtReadMemory(ctxt.get(), xml.data(), static_cast<int>(xml.size()), "multistatus.xml",
                        nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
      &xmlFreeDoc);
  if (!doc) {
    const xmlError* error = xmlCtxtGetLastError(ctxt.get());
    std::string detail = error != nullptr && error->message != nullptr ? error->message : "not XML";
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
    const int line = error != nullptr ? error->line : 0;
    return core::invalidArgument(what + ": malformed XML at line " + std::to_string(line) + ": " +
                                 detail);
  }
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    return core::invalidArgument(what + ": the answer has a DOCTYPE, which is not accepted");
  }
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!is(root, kDav, "multistatus")) {
    return core::invalidArgument(what + ": the answer is not a DAV:multistatus document");
  }
  std::vector<DavResource> resources;
  for (const xmlNode* response = root->children; response != nullptr; response = response->next) {
    if (!is(response, kDav, "response")) continue;
    DavResource r;
    for (const xmlNode* child = response->children; child != nullptr; child = child->next) {
      if (is(child, kDav, "href") && !decodeHref(text(child), r.href)) {
        return core::invalidArgument(what + ": the DAV:href '" + text(child) +
                                     "' has a malformed %-escape (line " +
                                     std::to_string(child->line) + ")");
      }
      if (!is(child, kDav, "propstat")) continue;
      const xmlNode* prop = nullptr;
      int status = 0;
      for (const xmlNode* ps = child->children; ps != nullptr; ps = ps->next) {
        if (is(ps, kDav, "prop")) prop = ps;
        if (is(ps, kDav, "status")) status = statusCode(text(ps));
      }
      if (prop != nullptr && status == 200) readProp(prop, property_namespace, r);
    }
    if (r.href.empty()) {
      return core::invalidArgument(what + ": a DAV:response has no DAV:href (line " +
                                   std::to_string(response->line) + ")");
    }
    resources.push_back(std::move(r));
  }
  return resources;
}

std::string propertyLocalName(const std::string& column) {
  std::string name;
  for (unsigned char c : column) {
    const bool ok = std::isalnum(c) || c == '_' || c == '-' || c == '.';
    name += ok ? static_cast<char>(c) : '_';
  }
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])) || name[0] == '-' ||
      name[0] == '.') {
    name = "_" + name;
  }
  return name;
}

std::string xmlEscape(const std::string& text) { return core::markupEscaped(text); }

}  // namespace sendflow::connectors
