// The HTTP API as a pure function from a request to a response, so it is tested without sockets.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "responder/engine.hpp"

namespace vtrace::responder {

struct ApiRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  std::string authorization;
  std::string content_type;
  std::string body;
  std::string peer;  // the client's address, for the audit and incident rows
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;  // extra headers (WWW-Authenticate, Allow)
};

// Routing and authentication policy. The token is required on mutating calls when the API
// listens on a non-loopback address (or always, with require_token); it is accepted anyway.
class Router {
 public:
  Router(Engine& engine, std::string api_token, bool require_token);

  ApiResponse handle(const ApiRequest& request);

  // The directory the operator page (GET / and /ui/*) is served from; empty serves nothing.
  void set_web_root(std::string directory) { web_root_ = std::move(directory); }

  // Counts per status class, for /metrics: every answer of handle(), and those the transport
  // gives itself (408, 413, 431, 501, ...) through count_response().
  std::int64_t responses(int status_class) const;
  void count_response(int status);

 private:
  ApiResponse route(const ApiRequest& request);
  ApiResponse post_incident(const ApiRequest& request);
  ApiResponse list_incidents(const std::string& query);
  ApiResponse metrics();
  ApiResponse release_containment(const ApiRequest& request, std::int64_t id);
  ApiResponse release_mail(const ApiRequest& request, std::int64_t id);
  bool authorized(const ApiRequest& request) const;
  ApiResponse static_file(const std::string& relative);
  ApiResponse origins(const std::string& query);
  ApiResponse stats(const std::string& query);

  Engine& engine_;
  std::string token_;
  bool require_token_;
  std::string web_root_;
  std::array<std::atomic<std::int64_t>, 6> responses_{};
};

// Percent-decodes a query component ('+' is a space); nullopt on a bad escape.
std::optional<std::string> url_decode(std::string_view text);

}  // namespace vtrace::responder
