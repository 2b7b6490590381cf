#include "hub/dispatch/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

namespace channelhub::dispatch {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

Result<Url> Url::Parse(const std::string& text) {
  Url u;
  auto scheme_end = text.find("://");
  if (scheme_end == std::string::npos) {
    return Status::Invalid("\"" + text + "\" is not a URL: expected http://host[:port]/path or https://…");
  }
  u.scheme = text.substr(0, scheme_end);
  if (u.scheme != "http" && u.scheme != "https") {
    return Status::Invalid("URL scheme \"" + u.scheme + "\" is not supported: expected http or https");
  }
  std::string rest = text.substr(scheme_end + 3);
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.find('@') != std::string::npos) {
    return Status::Invalid("credentials in the URL are not allowed; use headers: instead");
  }
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    auto close = authority.find(']');
    if (close == std::string::npos) return Status::Invalid("unclosed '[' in URL host");
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') u.port = authority.substr(close + 2);
  } else {
    auto colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) u.port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return Status::Invalid("URL \"" + text + "\" has no host");
  if (u.port.empty()) u.port = u.scheme == "https" ? "443" : "80";
  for (char c : u.port) {
    if (c < '0' || c > '9') return Status::Invalid("URL port \"" + u.port + "\" is not a number");
  }
  return u;
}

struct HttpClient::Impl {
  Url url;
  asio::io_context ioc;
  ssl::context tls{ssl::context::tls_client};
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;

  bool verify = true;
  std::string setup_error;  // a CA file that could not be loaded: every send fails with it

  Impl(Url u, const config::OutboundTls& options) : url(std::move(u)) {
    tls.set_default_verify_paths();
    if (!options.ca.empty()) {
      boost::system::error_code ec;
      tls.load_verify_file(options.ca, ec);
      if (ec) setup_error = "TLS: cannot load the CA file " + options.ca + ": " + ec.message();
    }
    verify = !options.insecure_skip_verify;
    tls.set_verify_mode(verify ? ssl::verify_peer : ssl::verify_none);
  }

  bool connected() const {
    return url.scheme == "https" ? secure.has_value() : plain.has_value();
  }

  void Reset() {
    plain.reset();
    secure.reset();
    buffer.clear();
  }

  beast::tcp_stream& Lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  asio::awaitable<Status> Connect(std::chrono::milliseconds timeout) {
    constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
    tcp::resolver resolver(ioc);
    auto [rec, results] = co_await resolver.async_resolve(url.host, url.port, tuple);
    if (rec) co_return Status::Unavailable("cannot resolve " + url.host + ": " + rec.message());
    if (url.scheme == "https") {
      secure.emplace(ioc, tls);
      if (!SSL_set_tlsext_host_name(secure->native_handle(), url.host.c_str())) {
        co_return Status::Unavailable("TLS: cannot set SNI host name");
      }
      if (verify) secure->set_verify_callback(ssl::host_name_verification(url.host));
    } else {
      plain.emplace(ioc);
    }
    Lowest().expires_after(timeout);
    auto [cec, ep] = co_await Lowest().async_connect(results, tuple);
    (void)ep;
    if (cec) co_return Status::Unavailable("cannot connect to " + url.host + ":" + url.port + ": " + cec.message());
    if (secure) {
      auto [hec] = co_await secure->async_handshake(ssl::stream_base::client, tuple);
      if (hec) co_return Status::Unavailable("TLS handshake with " + url.host + " failed: " + hec.message());
    }
    co_return Status::Ok();
  }

  template <typename Stream>
  asio::awaitable<Result<ClientResponse>> Exchange(Stream& s, http::request<http::string_body>& req) {
    constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
    auto [wec, wn] = co_await http::async_write(s, req, tuple);
    (void)wn;
    if (wec) co_return Status::Unavailable("sending to " + url.host + " failed: " + wec.message());
    http::response_parser<http::string_body> parser;
    parser.body_limit(4 << 20);
    auto [rec, rn] = co_await http::async_read(s, buffer, parser, tuple);
    (void)rn;
    if (rec) co_return Status::Unavailable("reading the answer of " + url.host + " failed: " + rec.message());
    auto res = parser.release();
    ClientResponse out;
    out.status = static_cast<int>(res.result_int());
    out.body = std::move(res.body());
    out.retry_after = std::string(res[http::field::retry_after]);
    for (const auto& field : res) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    if (!res.keep_alive()) Reset();
    co_return out;
  }

  asio::awaitable<Result<ClientResponse>> Once(const std::string& method, const std::string& target,
                                               const std::vector<std::pair<std::string, std::string>>& headers,
                                               const std::string& body, std::chrono::milliseconds timeout,
                                               bool* reused) {
    *reused = connected();
    if (!connected()) {
      Status st = co_await Connect(timeout);
      if (!st.ok()) {
        Reset();
        co_return st;
      }
    }
    http::request<http::string_body> req{http::string_to_verb(method), target.empty() ? url.target : target, 11};
    req.set(http::field::host, url.host);
    req.set(http::field::user_agent, "channelhub");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.keep_alive(true);
    req.prepare_payload();
    Lowest().expires_after(timeout);
    // Two statements, not a conditional expression: GCC 12 miscompiles co_await inside ?:.
    std::optional<Result<ClientResponse>> r;
    if (secure) {
      r.emplace(co_await Exchange(*secure, req));
    } else {
      r.emplace(co_await Exchange(*plain, req));
    }
    if (!r->ok()) Reset();
    co_return std::move(*r);
  }
};

HttpClient::HttpClient(Url url, config::OutboundTls tls) : impl_(std::make_unique<Impl>(std::move(url), tls)) {}
HttpClient::~HttpClient() = default;

Result<ClientResponse> HttpClient::Send(const std::string& method,
                                        const std::vector<std::pair<std::string, std::string>>& headers,
                                        const std::string& body, std::chrono::milliseconds timeout) {
  return SendTo(method, "", headers, body, timeout);
}

Result<ClientResponse> HttpClient::SendTo(const std::string& method, const std::string& target,
                                          const std::vector<std::pair<std::string, std::string>>& headers,
                                          const std::string& body, std::chrono::milliseconds timeout) {
  if (!impl_->setup_error.empty()) return Status::Unavailable(impl_->setup_error);
  Impl& m = *impl_;
  if (http::string_to_verb(method) == http::verb::unknown) {
    return Status::Invalid("unknown HTTP method \"" + method + "\"");
  }
  bool retry_safe = method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" || method == "OPTIONS";
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, "Idempotency-Key") && !v.empty()) retry_safe = true;
  }
  for (int attempt = 0;; ++attempt) {
    std::optional<Result<ClientResponse>> out;
    bool reused = false;
    auto run = [&]() -> asio::awaitable<void> {
      out.emplace(co_await m.Once(method, target, headers, body, timeout, &reused));
    };
    asio::co_spawn(m.ioc, run(), [&out](std::exception_ptr e) {
      if (e && !out) out.emplace(Status::Internal("HTTP client failed unexpectedly"));
    });
    m.ioc.restart();
    m.ioc.run();
    if (!out) return Status::Internal("HTTP client did not complete");
    // A kept-alive connection the peer closed meanwhile fails on first use: try once on a fresh
    // one, but only when sending the request twice cannot do harm. A POST may have reached the
    // system before the connection broke; without an Idempotency-Key it is left to the caller,
    // which retries it as a new attempt (a connector can then look before it writes again).
    if (!out->ok() && reused && attempt == 0 && retry_safe) continue;
    return std::move(*out);
  }
}

}  // namespace channelhub::dispatch
