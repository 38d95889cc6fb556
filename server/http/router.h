#pragma once
// Routes (method, path pattern) to handlers. A pattern is literal segments and `{name}`
// parameters, one whole segment each: "/api/v1/tasks/{id}/complete". Literal segments win over
// parameters at the same place, so "/api/v1/tasks/mine" and "/api/v1/tasks/{id}" both work.
// Paths are matched segment by segment as spelt: an empty segment ("//api/v1", "/tasks/") is a
// segment of its own and matches no pattern. HttpServer refuses non-canonical paths
// (checkCanonicalPath) before routing, so what matches here is what sign-in and the logs see.
//
// Thread-safety: add routes before the server starts; match() is then safe from any thread.

#include <functional>
#include <string>
#include <vector>

#include "server/http/request.h"

namespace sendflow::http {

using Handler = std::function<Response(Request&)>;

enum class Access {
  kPublic,    // no credentials needed (probes, sign-in pages, approval link GET, webhooks)
  kSignedIn,  // a principal is required: 401 JSON without one
};

struct Route {
  std::string method;
  std::string pattern;
  Handler handler;
  Access access = Access::kSignedIn;
};

class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler,
           Access access = Access::kSignedIn);

  struct Match {
    const Route* route = nullptr;  // nullptr: no route
    bool path_known = false;       // some route has this path with another method (405)
    std::vector<std::string> allowed_methods;
    std::map<std::string, std::string> params;
  };
  // HEAD matches a GET route. Parameters are percent-decoded.
  Match match(const std::string& method, const std::string& path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace sendflow::http
