// The event bus: every canonical event, once committed, is published on a ZeroMQ PUB socket as
// two frames: the topic (the CloudEvent type, "com.channelhub.order.upserted") and the CloudEvent
// JSON. BI, analytics or alerting tools subscribe by type prefix without touching the hub:
//   sub.connect("tcp://127.0.0.1:5556"); sub.setsockopt(zmq.SUBSCRIBE, b"com.channelhub.order.")
// PUB drops messages for subscribers that cannot keep up (bounded by the high-water mark): the
// bus is for watching, the journal and the destinations are for not losing anything.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "hub/common/status.hpp"

namespace channelhub::pipeline {

class EventBus {
 public:
  // Binds a PUB socket to "endpoint" (tcp://127.0.0.1:5556, ipc:///run/channelhub/bus).
  static Result<std::unique_ptr<EventBus>> Bind(const std::string& endpoint);
  ~EventBus();

  // Thread-safe. Never blocks: a message nobody can take is dropped.
  void Publish(const std::string& topic, const std::string& payload);
  // The endpoint as bound (with the real port when the configured one was 0).
  const std::string& endpoint() const { return endpoint_; }
  uint64_t published() const { return published_; }

 private:
  EventBus() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string endpoint_;
  std::mutex mu_;
  uint64_t published_ = 0;
};

}  // namespace channelhub::pipeline
