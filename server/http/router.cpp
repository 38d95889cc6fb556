#include "server/http/router.h"

#include <algorithm>

namespace sendflow::http {
namespace {

// "/a/b" -> {"a", "b"}; "/" -> {}; an empty segment ("/a//b", "/a/") stays one, so a path
// matches only the pattern spelt the same way.
std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> out;
  if (path.empty() || path == "/") return out;
  std::size_t pos = path.front() == '/' ? 1 : 0;
  while (true) {
    const std::size_t end = path.find('/', pos);
    out.push_back(path.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return out;
}

bool isParam(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// How well `pattern` matches `path`: -1 not at all, otherwise more literal segments score
// higher (so literals win over parameters).
int score(const std::string& pattern, const std::vector<std::string>& path,
          std::map<std::string, std::string>* params) {
  const auto parts = segments(pattern);
  if (parts.size() != path.size()) return -1;
  int literal = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (isParam(parts[i])) {
      if (path[i].empty()) return -1;
      if (params) (*params)[parts[i].substr(1, parts[i].size() - 2)] = path[i];
    } else if (parts[i] == path[i]) {
      literal += 1 << (parts.size() - i);
    } else {
      return -1;
    }
  }
  return literal;
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler, Access access) {
  routes_.push_back({std::move(method), std::move(pattern), std::move(handler), access});
}

Router::Match Router::match(const std::string& method, const std::string& path) const {
  Match m;
  const auto parts = segments(path);
  const std::string wanted = method == "HEAD" ? "GET" : method;
  int best = -1;
  for (const Route& r : routes_) {
    const int s = score(r.pattern, parts, nullptr);
    if (s < 0) continue;
    if (r.method != wanted) {
      m.path_known = true;
      if (std::find(m.allowed_methods.begin(), m.allowed_methods.end(), r.method) ==
          m.allowed_methods.end()) {
        m.allowed_methods.push_back(r.method);
      }
      continue;
    }
    if (s > best) {
      best = s;
      m.route = &r;
    }
  }
  if (m.route != nullptr) {
    m.params.clear();
    score(m.route->pattern, parts, &m.params);
    for (auto& [k, v] : m.params) v = urlDecode(v, false);
  }
  return m;
}

}  // namespace sendflow::http
