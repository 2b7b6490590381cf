// A blocking HTTP/1.1 client for one destination's worker thread: keep-alive connection reuse,
// TLS with peer and host-name verification, and one deadline per request. Beast stays inside.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hub/common/status.hpp"
#include "hub/config/config.hpp"

namespace channelhub::dispatch {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;
  std::string port;    // "80"/"443" when not given
  std::string target;  // path and query, "/" when not given

  // InvalidArgument saying what is wrong ("expected http:// or https://").
  static Result<Url> Parse(const std::string& text);
};

struct ClientResponse {
  int status = 0;
  std::string body;
  std::string retry_after;  // the Retry-After header, if any
  std::vector<std::pair<std::string, std::string>> headers;  // every header, in order
};

// Not thread-safe: one client per worker thread.
class HttpClient {
 public:
  explicit HttpClient(Url url, config::OutboundTls tls = {});
  ~HttpClient();

  // Sends one request and reads the answer within "timeout". A network failure (refused, reset,
  // timed out, TLS) is Unavailable with the reason; an HTTP status of any value is a response.
  Result<ClientResponse> Send(const std::string& method,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              const std::string& body, std::chrono::milliseconds timeout);
  // The same to another path (and query) on the same origin; "" is the URL's own target.
  Result<ClientResponse> SendTo(const std::string& method, const std::string& target,
                                const std::vector<std::pair<std::string, std::string>>& headers,
                                const std::string& body, std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace channelhub::dispatch
