// Out-of-process connectors: a connector written in any language runs as its own process and
// talks to the hub over ZeroMQ, with the same operations as the C ABI (plugins/sdk). The hub binds
// a ROUTER socket; each connector process connects a DEALER, says HELLO with its connector name,
// and answers CALLs. A connector that crashes takes nothing down: calls to it fail as "retry
// later" (webhooks 503, deliveries and polls retried), the hub logs and counts it, and the
// connector is back as soon as it says HELLO again. The protocol is in plugins/REMOTE.md.
//
//   auto link = plugin::RemoteLink::Bind({.endpoint = "tcp://127.0.0.1:5557"});
//   link->Declare(infos);                        // the connectors the configuration declares
//   auto answer = link->Call("pyshop", "build_delivery", request_json);  // from any thread
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hub/common/status.hpp"
#include "hub/plugin/plugin_host.hpp"

namespace channelhub::plugin {

struct RemoteOptions {
  std::string endpoint;  // tcp://127.0.0.1:5557 or ipc:///run/channelhub/connectors
  std::chrono::milliseconds call_timeout{10000};
  // A connector that has said nothing (not even its heartbeat) for this long is gone.
  std::chrono::milliseconds heartbeat_timeout{3000};
};

// One connector's link, for status and metrics.
struct RemotePeerStatus {
  std::string connector;
  bool connected = false;
  std::string version;       // what its HELLO said
  int64_t pid = 0;           // what its HELLO said
  int64_t last_seen_ms = 0;  // unix millis of its last message; 0 = never
  uint64_t connects = 0;     // HELLOs accepted (the first one, then every reconnection)
  uint64_t losses = 0;       // times it went silent or was replaced
  uint64_t calls = 0;
  uint64_t failed_calls = 0;  // no answer, not connected, or an error answer
};

class RemoteLink {
 public:
  // Binds the ROUTER socket and starts the link's thread. InvalidArgument naming the endpoint
  // when it cannot be bound.
  static Result<std::shared_ptr<RemoteLink>> Bind(const RemoteOptions& options);
  ~RemoteLink();
  RemoteLink(const RemoteLink&) = delete;
  RemoteLink& operator=(const RemoteLink&) = delete;

  // The connectors the configuration declares (replaces the previous set: hot reload). A HELLO
  // from an undeclared connector, or from one without a declared capability, is refused with the
  // reason sent back to it.
  void Declare(const std::vector<ConnectorInfo>& connectors);

  // Sends one call and waits for its answer (at most call_timeout). "request" is a JSON object
  // (op-specific fields); the answer is the connector's result object as JSON text.
  // Unavailable: the connector is not connected, went away mid-call, or did not answer in time.
  // InvalidArgument: the connector answered with an error (its message).
  Result<std::string> Call(const std::string& connector, const std::string& op, const std::string& request);

  std::string endpoint() const { return endpoint_; }
  std::vector<RemotePeerStatus> Peers() const;
  // Prometheus text: channelhub_remote_connector_up / _connects_total / _losses_total / _calls_total.
  std::string MetricsText() const;

 private:
  RemoteLink() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string endpoint_;
};

}  // namespace channelhub::plugin
