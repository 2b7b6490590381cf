// Plain HTTP request/response values exchanged between the Beast server and the handlers, so
// that handlers never include Beast or Asio.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace channelhub::server {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  std::string path;    // target without the query
  std::string query;   // after '?', or ""
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote;  // peer address "ip:port"

  // Case-insensitive header look-up; "" when absent.
  std::string_view Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string error;  // Error()'s code ("malformed_body", "unauthorized", ...), for metrics

  // {"error": code, "message": message} with the given status.
  static HttpResponse Error(int status, std::string_view code, std::string_view message);
  static HttpResponse Json(int status, std::string body);
};

// Called with every complete request. "reply" must be called exactly once, from any thread.
using Reply = std::function<void(HttpResponse)>;
using Handler = std::function<void(HttpRequest&&, Reply)>;

}  // namespace channelhub::server
