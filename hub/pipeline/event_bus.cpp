#include "hub/pipeline/event_bus.hpp"

#include <spdlog/spdlog.h>

#include <zmq.hpp>

namespace channelhub::pipeline {

struct EventBus::Impl {
  zmq::context_t context{1};
  zmq::socket_t socket{context, zmq::socket_type::pub};
};

Result<std::unique_ptr<EventBus>> EventBus::Bind(const std::string& endpoint) {
  std::unique_ptr<EventBus> bus(new EventBus());
  bus->impl_ = std::make_unique<Impl>();
  try {
    bus->impl_->socket.set(zmq::sockopt::sndhwm, 100000);
    bus->impl_->socket.set(zmq::sockopt::linger, 0);
    bus->impl_->socket.bind(endpoint);
    bus->endpoint_ = bus->impl_->socket.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Invalid("bus.publish: cannot bind " + endpoint + ": " + e.what());
  }
  return bus;
}

EventBus::~EventBus() = default;

void EventBus::Publish(const std::string& topic, const std::string& payload) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    auto sent = impl_->socket.send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    if (sent) sent = impl_->socket.send(zmq::buffer(payload), zmq::send_flags::dontwait);
    if (sent) ++published_;
  } catch (const zmq::error_t& e) {
    spdlog::warn("bus: publishing {} failed: {}", topic, e.what());
  }
}

}  // namespace channelhub::pipeline
