// The HTTP/1.1 server: Beast sessions as Asio coroutines on a thread pool, keep-alive, body and
// header limits, read and idle timeouts, a connection limit and a graceful drain.
// Beast and Asio stay inside http_server.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "hub/common/status.hpp"
#include "hub/server/http_types.hpp"

namespace channelhub::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: an ephemeral port, see HttpServer::port()
  int threads = 2;
  std::size_t body_limit = 1 << 20;
  std::size_t header_limit = 16 * 1024;  // start line and headers; larger: 431
  std::size_t max_headers = 100;         // header fields of one request; more: 431
  // A request must arrive whole within read_timeout of its first byte (slow senders are cut
  // off); a kept-alive connection may wait idle_timeout for that first byte.
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_client = 256;  // from one IP address; more are closed at once
  // TLS: a PEM certificate chain and key make this an HTTPS listener (TLS 1.2 and 1.3 only).
  // With "tls_client_ca", clients must present a certificate signed by it (mutual TLS).
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
};

// Thread-safe: Start, Stop and the accessors may be called from any thread.
class HttpServer {
 public:
  HttpServer(ServerOptions options, Handler handler);
  ~HttpServer();  // stops and joins

  // Binds, listens and starts the thread pool. IoError naming the address when binding fails;
  // InvalidArgument naming the file when a TLS certificate or key cannot be used.
  Status Start();
  // Loads the TLS certificate and key again (after a renewal) for new connections; the running
  // ones keep theirs. The old ones stay in use when the new files are bad.
  Status ReloadTls();
  // The bound port (the real one when options.port was 0). REQUIRES: Start() succeeded.
  uint16_t port() const;
  std::string address() const;  // "host:port"

  // Stops accepting, closes idle keep-alive connections, lets requests in progress finish (their
  // responses carry "Connection: close") and waits up to "grace" for them. Idempotent.
  void Stop(std::chrono::milliseconds grace);

  std::size_t active_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace channelhub::server
