// The poller: for every source with poll:, one thread asks the source's connector for the next
// request from the saved cursor, sends it, hands the answer back, journals the payloads the
// connector finds and only then saves the connector's next cursor. A crash between the two
// repeats the last page after a restart, and the inbox drops what it already has (the event ids
// are the connector's), so nothing is lost and nothing is doubled.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hub/config/config.hpp"
#include "hub/journal/journal.hpp"
#include "hub/plugin/plugin_host.hpp"

namespace channelhub::pipeline {

class Poller {
 public:
  // "connectors": the instances of the sources with poll: (others are ignored).
  Poller(const config::Config& config, journal::Journal& journal,
         std::map<std::string, std::shared_ptr<plugin::Instance>> connectors);
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  Status Start();
  // Stops every polling thread (an exchange in flight finishes first, bounded by its timeout).
  void Stop();

  // Payloads journaled since start (new ones, not counting duplicates).
  uint64_t journaled() const { return journaled_; }

 private:
  struct Worker;
  void Run(Worker& w);
  // Waits up to "ms", or less when stopping. False when stopping.
  bool Sleep(int64_t ms);

  const config::Config& config_;
  journal::Journal& journal_;
  std::map<std::string, std::shared_ptr<plugin::Instance>> connectors_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::atomic<uint64_t> journaled_{0};
};

}  // namespace channelhub::pipeline
