// The dispatcher: one worker thread per destination that reads due outbox rows (in order per
// subject), hands them to the destination's sink, and records the outcomes in the journal.
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

  // Creates the sinks and starts one worker per destination.
  Status Start();
  // New outbox rows may be due. Any thread.
  void Wake();
  // Stops the workers. With "drain_for" > 0, workers first deliver what is due now, for at most
  // that long; rows waiting for a retry stay in the journal for the next start.
  void Stop(std::chrono::milliseconds drain_for);

  uint64_t delivered() const { return delivered_; }

 private:
  struct Worker;
  void Run(Worker& w);

  const config::Config& config_;
  journal::Journal& journal_;
  std::map<std::string, std::shared_ptr<const mapping::CompiledMapping>> mappings_;
  std::map<std::string, std::shared_ptr<plugin::Instance>> connectors_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<uint64_t> delivered_{0};
};

}  // namespace channelhub::dispatch
