#pragma once
// The REST API under /api/v1: JSON over the workbench (server/workbench), for staff tools and
// automation. Described by the OpenAPI 3 document docs/openapi.json, which is embedded at build
// time and served at GET /api/v1/openapi.json (the only public route); every other route needs
// a principal (a bearer token or an API key, see docs/security.md).
//
// Conventions (docs/api.md): every response body is a JSON object, lists as
// {"items": [...], "count": n}; times are ISO 8601 UTC; errors are
// {"error": {"code", "message", "request_id", "fields"?}} with the status from
// http::httpStatusFor. A request body must be a JSON object sent as application/json (415
// otherwise); malformed JSON is 400 naming the line and column; a member of the wrong type or
// a bad query parameter is 422 naming the field. What the caller may not see is 404.
//
// Thread-safety: the handlers are safe to run on many threads at once (the workbench is).

#include <string>
#include <string_view>

#include "server/http/router.h"
#include "server/workbench/workbench.h"

namespace sendflow::api {

struct RestApiOptions {
  // The service's address as people reach it ("https://sendflow.council.example"); when set,
  // Location headers are absolute. Empty: they are paths.
  std::string public_url;
};

// Adds every /api/v1 route to `router`. `workbench` must outlive the router's use.
void addRestApi(http::Router& router, workbench::Workbench& workbench,
                const RestApiOptions& options);

// The OpenAPI document (docs/openapi.json as it was at build time).
std::string_view openApiDocument();

}  // namespace sendflow::api
