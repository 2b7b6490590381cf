#include "hub/server/http_server.hpp"

#include <pthread.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "hub/server/http_parse.hpp"
#include "spdlog/spdlog.h"

namespace channelhub::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// Resumes the calling coroutine with the handler's response, which may come from any thread.
template <typename Token>
auto AsyncHandle(const Handler& handler, HttpRequest req, Token&& token) {
  return asio::async_initiate<Token, void(HttpResponse)>(
      [&handler](auto completion, HttpRequest req) {
        auto ex = asio::get_associated_executor(completion);
        using C = decltype(completion);
        struct State {
          C completion;
          asio::executor_work_guard<decltype(ex)> work;
        };
        auto state = std::make_shared<State>(State{std::move(completion), asio::make_work_guard(ex)});
        auto once = std::make_shared<std::atomic<bool>>(false);
        handler(std::move(req), [state, once](HttpResponse resp) {
          if (once->exchange(true)) return;  // "reply" is called once; ignore a second call
          auto ex2 = state->work.get_executor();
          asio::post(ex2, [state, resp = std::move(resp)]() mutable {
            state->completion(std::move(resp));
            state->work.reset();
          });
        });
      },
      token, std::move(req));
}

}  // namespace

// A TLS server context from PEM files: TLS 1.2+ only, the library's modern cipher defaults,
// optionally requiring client certificates signed by "client_ca".
Result<std::shared_ptr<ssl::context>> MakeTlsContext(const ServerOptions& o) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  beast::error_code ec;
  ctx->use_certificate_chain_file(o.tls_cert, ec);
  if (ec) return Status::Invalid("TLS certificate " + o.tls_cert + " cannot be used: " + ec.message());
  ctx->use_private_key_file(o.tls_key, ssl::context::pem, ec);
  if (ec) return Status::Invalid("TLS key " + o.tls_key + " cannot be used: " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return Status::Invalid("TLS key " + o.tls_key + " does not belong to the certificate " + o.tls_cert);
  }
  if (!o.tls_client_ca.empty()) {
    ctx->load_verify_file(o.tls_client_ca, ec);
    if (ec) return Status::Invalid("TLS client CA " + o.tls_client_ca + " cannot be used: " + ec.message());
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

struct HttpServer::Impl {
  // One open connection, known to the server so that Stop() can close it when idle.
  struct Conn {
    std::function<void()> cancel;  // closes the idle connection; set while the session runs
    std::string ip;                // the client's address, for the per-client limit
    asio::strand<asio::io_context::executor_type>* strand = nullptr;
    bool busy = false;  // a request is being handled; touched on the strand only
  };

  std::mutex tls_mu;
  std::shared_ptr<ssl::context> tls;  // GUARDED_BY(tls_mu); null: plain HTTP

  ServerOptions options;
  Handler handler;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::atomic<bool> started{false};
  uint16_t bound_port = 0;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::list<std::shared_ptr<Conn>> conns;  // GUARDED_BY(mu)

  Impl(ServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {}

  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) co_return;
        spdlog::warn("http: accept failed: {}", ec.message());
        continue;
      }
      std::size_t n;
      std::size_t from_client = 0;
      std::string ip;
      {
        beast::error_code ec2;
        auto ep = socket.remote_endpoint(ec2);
        if (!ec2) ip = ep.address().to_string();
      }
      // Counted and registered under one lock: a burst of connections is limited before any
      // of their sessions has started.
      auto strand = std::make_shared<asio::strand<asio::io_context::executor_type>>(
          asio::make_strand(ioc.get_executor()));
      auto conn = std::make_shared<Conn>();
      conn->ip = ip;
      conn->strand = strand.get();  // "strand" lives as long as the session
      std::list<std::shared_ptr<Conn>>::iterator self;
      {
        std::lock_guard lock(mu);
        n = conns.size();
        for (const auto& c : conns) from_client += c->ip == ip;
        if (from_client < options.max_connections_per_client && n < options.max_connections) {
          conns.push_front(conn);
          self = conns.begin();
        }
      }
      if (from_client >= options.max_connections_per_client) {
        beast::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
        spdlog::warn("http: {} has {} connections open, the per-client limit; refused another", ip, from_client);
        continue;
      }
      if (n >= options.max_connections) {
        // Over the limit: refuse at once rather than queue without bound.
        beast::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
        spdlog::warn("http: connection limit {} reached; refused a connection",
                     options.max_connections);
        continue;
      }
      asio::co_spawn(*strand, Session(std::move(socket), strand, conn, self), [](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            spdlog::error("http: session failed: {}", ex.what());
          }
        }
      });
    }
  }

  static http::response<http::string_body> ToBeast(HttpResponse&& r, unsigned version,
                                                    bool keep_alive) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::server, "channelhub");
    res.set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res.set(k, v);
    res.body() = std::move(r.body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    return res;
  }

  template <typename Stream>
  asio::awaitable<void> WriteError(Stream& stream, int status, std::string_view code, std::string_view message) {
    auto res = ToBeast(HttpResponse::Error(status, code, message), 11, false);
    beast::get_lowest_layer(stream).expires_after(options.read_timeout);
    co_await http::async_write(stream, res, kUseTuple);
  }

  // REQUIRES: "conn" is registered in "conns" at "self" (Accept did it); it is removed here.
  asio::awaitable<void> Session(tcp::socket socket,
                                std::shared_ptr<asio::strand<asio::io_context::executor_type>> strand,
                                std::shared_ptr<Conn> conn, std::list<std::shared_ptr<Conn>>::iterator self) {
    (void)strand;  // held here so that it outlives the session that runs on it
    std::string remote;
    {
      beast::error_code ec;
      auto ep = socket.remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    }
    std::shared_ptr<ssl::context> tls_ctx;
    {
      std::lock_guard lock(tls_mu);
      tls_ctx = tls;
    }
    if (!tls_ctx) {
      beast::tcp_stream stream(std::move(socket));
      {
        std::lock_guard lock(mu);
        conn->cancel = [&stream] { stream.cancel(); };
      }
      co_await Serve(stream, remote, *conn);
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    } else {
      beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls_ctx);
      {
        std::lock_guard lock(mu);
        conn->cancel = [&stream] { beast::get_lowest_layer(stream).cancel(); };
      }
      beast::get_lowest_layer(stream).expires_after(options.read_timeout);
      auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
      if (!hec) {
        co_await Serve(stream, remote, *conn);
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
        co_await stream.async_shutdown(kUseTuple);
      } else if (!stopping) {
        spdlog::info("https: TLS handshake with {} failed: {}", remote, hec.message());
      }
    }
    {
      std::lock_guard lock(mu);
      conn->cancel = nullptr;
      conns.erase(self);
    }
    cv.notify_all();
  }

  // Requests and answers on one connection until it closes, times out or the server stops.
  template <typename Stream>
  asio::awaitable<void> Serve(Stream& stream, const std::string& remote, Conn& conn_state) {
    Conn* conn = &conn_state;
    auto& lowest = beast::get_lowest_layer(stream);
    beast::flat_buffer buffer;
    for (;;) {
      if (stopping) break;
      // The parser, its limits and the answers to unreadable requests are shared with
      // ParseRequests (http_parse.hpp), which the fuzz target drives without a socket.
      const ParseLimits limits{options.body_limit, options.header_limit, options.max_headers};
      RequestParser parser;
      ConfigureParser(parser, limits);

      if (buffer.size() == 0) {
        // Idle until the next request's first byte; from then on the whole request, headers
        // included, must arrive within read_timeout (a slow-loris sender is cut off).
        lowest.expires_after(options.idle_timeout);
        auto [iec, in] = co_await stream.async_read_some(buffer.prepare(4096), kUseTuple);
        buffer.commit(in);
        if (iec) break;
      }
      lowest.expires_after(options.read_timeout);
      auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kUseTuple);
      (void)hn;
      if (!hec) {
        conn->busy = true;
        // Too many header fields (431), a body without a length (411): see AnswerForHeader.
        if (auto answer = AnswerForHeader(parser, limits)) {
          co_await WriteError(stream, answer->status, answer->code, answer->message);
          break;
        }
        if (!parser.is_done() && ExpectsContinue(parser)) {
          // The client waits for this before it sends the body (curl with large bodies, .NET).
          http::response<http::empty_body> cont{http::status::continue_, parser.get().version()};
          auto [cec, cn] = co_await http::async_write(stream, cont, kUseTuple);
          (void)cn;
          hec = cec;
        }
        if (!hec && !parser.is_done()) {
          auto [bec, bn] = co_await http::async_read(stream, buffer, parser, kUseTuple);
          (void)bn;
          hec = bec;
        }
        // A chunked body's trailer adds fields: they count toward max_headers too.
        if (!hec && parser.chunked()) {
          if (auto answer = AnswerForHeader(parser, limits)) {
            co_await WriteError(stream, answer->status, answer->code, answer->message);
            break;
          }
        }
      }
      if (hec) {
        if (auto answer = AnswerForReadError(hec, limits)) {
          co_await WriteError(stream, answer->status, answer->code, answer->message);
        }
        break;
      }

      auto req = parser.release();
      const unsigned version = req.version();
      const bool keep_alive = req.keep_alive();
      HttpResponse resp =
          co_await AsyncHandle(handler, ToRequest(std::move(req), remote), asio::use_awaitable);
      const bool keep = keep_alive && !stopping;
      auto res = ToBeast(std::move(resp), version, keep);
      lowest.expires_after(options.read_timeout);
      auto [wec, wn] = co_await http::async_write(stream, res, kUseTuple);
      (void)wn;
      conn->busy = false;
      if (wec || !keep) break;
    }
  }
};

HttpServer::HttpServer(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { Stop(std::chrono::milliseconds(0)); }

Status HttpServer::ReloadTls() {
  Impl& m = *impl_;
  if (m.options.tls_cert.empty()) return Status::Ok();
  auto ctx = MakeTlsContext(m.options);
  if (!ctx.ok()) return ctx.status();
  std::lock_guard lock(m.tls_mu);
  m.tls = std::move(ctx).value();
  return Status::Ok();
}

Status HttpServer::Start() {
  Impl& m = *impl_;
  if (!m.options.tls_cert.empty()) CHUB_RETURN_IF_ERROR(ReloadTls());
  beast::error_code ec;
  auto addr = asio::ip::make_address(m.options.host, ec);
  if (ec) return Status::Invalid("listen: \"" + m.options.host + "\" is not an IP address");
  tcp::endpoint ep(addr, m.options.port);
  const std::string where = m.options.host + ":" + std::to_string(m.options.port);
  m.acceptor.open(ep.protocol(), ec);
  if (!ec) m.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(ep, ec);
  if (!ec) m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IoError("cannot listen on " + where + ": " + ec.message());
  m.bound_port = m.acceptor.local_endpoint().port();

  asio::co_spawn(m.ioc, m.Accept(), asio::detached);
  int n = std::max(1, m.options.threads);
  for (int i = 0; i < n; ++i) {
    m.threads.emplace_back([&m] {
      pthread_setname_np(pthread_self(), "chub-io");
      for (;;) {
        try {
          m.ioc.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("http: I/O thread caught: {}", e.what());
        }
      }
    });
  }
  m.started = true;
  return Status::Ok();
}

uint16_t HttpServer::port() const { return impl_->bound_port; }

std::string HttpServer::address() const {
  return impl_->options.host + ":" + std::to_string(impl_->bound_port);
}

std::size_t HttpServer::active_connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->conns.size();
}

void HttpServer::Stop(std::chrono::milliseconds grace) {
  Impl& m = *impl_;
  if (m.stopping.exchange(true)) {
    // Already stopping: just make sure the threads are gone.
  } else if (m.started) {
    asio::post(m.ioc, [&m] {
      beast::error_code ignored;
      m.acceptor.close(ignored);
    });
    // Close idle connections; busy ones finish their request and close themselves.
    std::unique_lock lock(m.mu);
    for (auto& c : m.conns) {
      auto conn = c;
      asio::post(*conn->strand, [&m, conn] {
        std::lock_guard l(m.mu);
        if (conn->cancel && !conn->busy) conn->cancel();
      });
    }
    m.cv.wait_for(lock, grace, [&m] { return m.conns.empty(); });
  }
  m.ioc.stop();
  for (auto& t : m.threads) {
    if (t.joinable()) t.join();
  }
  m.threads.clear();
}

}  // namespace channelhub::server
