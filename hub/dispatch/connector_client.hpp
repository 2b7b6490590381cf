// Runs the requests a plugin connector builds: resolves their targets against the configured
// url, keeps a keep-alive client per origin, and keeps the connector's token (fetched through
// the connector, saved durably, renewed shortly before it expires). Used by the connector sink
// (deliveries) and the poller; one per destination or polling source, on one thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "hub/common/status.hpp"
#include "hub/config/config.hpp"
#include "hub/dispatch/http_client.hpp"
#include "hub/journal/journal.hpp"
#include "hub/plugin/plugin_host.hpp"

namespace channelhub::dispatch {

// Where connector state (tokens, cursors) lives between calls and restarts.
class StateStore {
 public:
  virtual ~StateStore() = default;
  virtual Result<std::optional<journal::ConnectorState>> Load(const std::string& name) = 0;
  virtual Status Save(const std::string& name, const std::string& value, int64_t expires_at_ms) = 0;
};

// The journal as a StateStore; one per thread (it holds a reader).
class JournalStateStore final : public StateStore {
 public:
  explicit JournalStateStore(journal::Journal& journal) : journal_(journal) {}
  Result<std::optional<journal::ConnectorState>> Load(const std::string& name) override;
  Status Save(const std::string& name, const std::string& value, int64_t expires_at_ms) override;

 private:
  journal::Journal& journal_;
  std::unique_ptr<journal::JournalReader> reader_;
};

// The name a token is kept under: the connector and what it logs in with (its settings and
// url), so every source, destination and lane that logs in the same way shares one token, in
// memory and in the journal.
std::string TokenKey(const std::string& connector, const std::map<std::string, config::Setting>& settings,
                     const std::string& url);

class ConnectorClient {
 public:
  // "owner": the configuration entry ("destinations.erp") for logs; "token_key": see TokenKey().
  ConnectorClient(std::string owner, std::shared_ptr<plugin::Instance> connector, Url base,
                  std::chrono::milliseconds timeout, StateStore* state, std::string token_key = "",
                  config::OutboundTls tls = {});

  plugin::Instance& connector() { return *connector_; }

  // Sends one request the connector built. Unavailable (with the reason) when no answer came.
  Result<plugin::HttpReply> Execute(const plugin::OutRequest& request);

  // The token to hand the connector: "" when it needs none; the saved one while it is fresh;
  // else a new one fetched through the connector and saved. An error says why none was had.
  Result<std::string> Token();
  // The system said the token expired: the next Token() fetches a new one.
  void InvalidateToken();

 private:
  std::string owner_;
  std::string token_key_;
  std::shared_ptr<plugin::Instance> connector_;
  Url base_;
  std::chrono::milliseconds timeout_;
  StateStore* state_;
  std::map<std::string, std::unique_ptr<HttpClient>> clients_;  // by scheme://host:port
  config::OutboundTls tls_;
  std::optional<journal::ConnectorState> token_;
  bool token_loaded_ = false;
};

}  // namespace channelhub::dispatch
