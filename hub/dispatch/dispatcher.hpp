// The dispatcher: one worker thread per destination that reads due outbox rows (in order per
// subject), hands them to the destination's sinks — up to "concurrency" subjects at once, one
// sink per lane, a subject always in the same lane — and records the outcomes in the journal.
// A circuit breaker per destination parks its queue after repeated failures instead of
// spending retries on a system that is down.
#pragma once

#include "hub/plugin/plugin_host.hpp"

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hub/config/config.hpp"
#include "hub/dispatch/sink.hpp"
#include "hub/journal/journal.hpp"

namespace channelhub::dispatch {

class Dispatcher {
 public:
  // "journal" must outlive the dispatcher. "mappings": the outbound mapping of each destination
  // that has one.
  // "connectors": the plugin connector instance of every type: connector destination.
  Dispatcher(const config::Config& config, journal::Journal& journal,
             std::map<std::string, std::shared_ptr<const mapping::CompiledMapping>> mappings = {},
             std::map<std::string, std::shared_ptr<plugin::Instance>> connectors = {});
  ~Dispatcher();

  // Delivers "destination" with "sink" (one lane) instead of the sink its type makes: the master
  // record. Before Start().
  void SetSink(const std::string& destination, std::unique_ptr<Sink> sink) { custom_[destination] = std::move(sink); }

  // Creates the sinks and starts one worker per destination.
  Status Start();
  // New outbox rows may be due. Any thread.
  void Wake();
  // Stops the workers. With "drain_for" > 0, workers first deliver what is due now, for at most
  // that long; rows waiting for a retry stay in the journal for the next start.
  void Stop(std::chrono::milliseconds drain_for);

  uint64_t delivered() const { return delivered_; }
  // Attempts per destination and outcome, and batch durations, in the Prometheus text format.
  // Any thread, once started.
  std::string MetricsText() const;

  enum class BreakerState { kClosed, kOpen, kHalfOpen };
  // The breaker state of a destination (kClosed for an unknown name). Any thread.
  BreakerState breaker(const std::string& destination) const;

 private:
  struct Worker;
  void Run(Worker& w);
  // Delivers "rows" across the worker's lanes (subjects in parallel) and merges the results.
  DeliveryBatch Deliver(Worker& w, const std::vector<journal::OutboxRow>& rows, int64_t now);
  void UpdateBreaker(Worker& w, const DeliveryBatch& batch);

  const config::Config& config_;
  journal::Journal& journal_;
  std::map<std::string, std::shared_ptr<const mapping::CompiledMapping>> mappings_;
  std::map<std::string, std::shared_ptr<plugin::Instance>> connectors_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::map<std::string, std::unique_ptr<Sink>> custom_;
  std::atomic<uint64_t> delivered_{0};
};

}  // namespace channelhub::dispatch
