// The processor: takes journaled inbox entries in order, maps each to canonical events, wraps
// them in CloudEvents, routes them, and stores the outbox rows (or a dead letter) in the same
// transaction that marks the entry processed. A crash at any point repeats at most the work of
// one batch, and the outbox's unique (destination, event id) makes the repeat harmless.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "hub/config/config.hpp"
#include "hub/journal/journal.hpp"
#include "hub/mapping/mapper.hpp"
#include "hub/pipeline/router.hpp"

namespace channelhub::pipeline {

class EventBus;

// The canonical events of one inbox entry, ready for the outbox; pure, for tests and `map`.
journal::ProcessedEvent ProcessOne(const journal::InboxRow& row, const mapping::Mapper* mapper,
                                   const Router& router);

class Processor {
 public:
  // "journal" must outlive the processor. "mappers" maps source names to their mapper.
  Processor(const config::Config& config, journal::Journal& journal,
            std::map<std::string, std::unique_ptr<mapping::Mapper>> mappers);
  ~Processor();

  Status Start();
  // Wakes the worker: new inbox entries may be there. Any thread.
  void Wake();
  // Processes what is pending (when "drain"), then stops.
  void Stop(bool drain);

  uint64_t processed() const { return processed_; }
  // Prometheus text: channelhub_mapping_failures_total{source,stage} (payloads that became dead
  // letters while being mapped or routed).
  std::string MetricsText() const;

  // Publishes every committed canonical event on "bus" (may be null). Before Start().
  void SetBus(EventBus* bus) { bus_ = bus; }

 private:
  void Loop();

  const config::Config& config_;
  journal::Journal& journal_;
  std::map<std::string, std::unique_ptr<mapping::Mapper>> mappers_;
  Router router_;
  std::unique_ptr<journal::JournalReader> reader_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;      // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_)
  bool drain_ = false;     // GUARDED_BY(mu_)
  std::atomic<uint64_t> processed_{0};
  mutable std::mutex failures_mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> failures_;  // (source, stage); GUARDED_BY(failures_mu_)
  EventBus* bus_ = nullptr;
  std::thread thread_;
};

}  // namespace channelhub::pipeline
