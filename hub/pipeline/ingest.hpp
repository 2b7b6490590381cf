// Ingest: the HTTP face of the hub. Answers health checks and turns a webhook POST into a
// journaled inbox entry: check the source, verify its signature or token, check the body parses,
// find the event id, append durably, and only then answer 202.
#pragma once

#include <thread>

#include <mutex>

#include <condition_variable>

#include "hub/plugin/plugin_host.hpp"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "hub/config/config.hpp"
#include "hub/journal/journal.hpp"
#include "hub/server/http_types.hpp"

namespace channelhub::pipeline {

struct IngestOptions {
  bool bare_endpoint = false;  // POST /_bench/bare answers 202 without the journal (benchmarks)
};

// Thread-safe: Handle may run on every I/O thread at once. "config" and "journal" must outlive it.
class Ingest {
 public:
  // "connectors": the plugin connector instances of sources that use one, by source name.
  Ingest(const config::Config& config, journal::Journal& journal, IngestOptions options,
         std::map<std::string, std::shared_ptr<plugin::Instance>> connectors = {});
  ~Ingest();

  // The server's handler.
  void Handle(server::HttpRequest&& req, server::Reply reply);

  // Readiness as /readyz reports it; set by the hub once its workers run, cleared when draining.
  void SetReady(bool ready) { ready_ = ready; }

  // Counts since start, for logs and metrics.
  struct Counters {
    std::atomic<uint64_t> accepted{0}, duplicates{0}, rejected{0}, overloaded{0}, rate_limited{0}, auth_failures{0};
  };
  const Counters& counters() const { return counters_; }

  // Per-source answers by status and their latency histograms, in the Prometheus text format.
  std::string MetricsText() const;

  // Undelivered events as last counted (every half second, off the I/O threads).
  int64_t backlog() const { return backlog_; }

 private:
  struct SourceState;
  void HandleWebhook(const std::string& name, server::HttpRequest&& req, server::Reply reply);
  // A source with a plugin connector: the connector verifies and unwraps, the hub journals.
  void HandleConnector(const std::string& name, plugin::Instance& connector, server::HttpRequest&& req,
                       server::Reply reply);

  const config::Config& config_;
  journal::Journal& journal_;
  IngestOptions options_;
  std::map<std::string, std::unique_ptr<SourceState>> sources_;
  std::atomic<bool> ready_{false};
  Counters counters_;
  // Back-pressure: a thread counts the undelivered backlog; beyond journal.backlog_limit,
  // webhooks are answered 503 with Retry-After until it drains.
  void WatchBacklog();
  bool Overloaded(server::Reply& reply);
  std::atomic<int64_t> backlog_{0};
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool watch_stop_ = false;
  std::thread watcher_;
};

}  // namespace channelhub::pipeline
