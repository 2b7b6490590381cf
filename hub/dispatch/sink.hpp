// Sinks deliver outbox rows to one destination and classify each attempt; the dispatcher owns
// the loop, the journal bookkeeping and the waiting.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hub/common/log.hpp"
#include "hub/config/config.hpp"
#include "hub/journal/journal.hpp"
#include "hub/dispatch/connector_client.hpp"
#include "hub/mapping/engine.hpp"
#include "hub/plugin/plugin_host.hpp"

namespace channelhub::dispatch {

// What one Deliver call did.
struct DeliveryBatch {
  std::vector<journal::DeliveryResult> results;  // one per attempted row, in row order
  int64_t pause_until_ms = 0;  // when the destination itself failed: try nothing before this
  // The failure was an out-of-process connector that is not running, not the destination: the
  // circuit breaker does not count it.
  bool connector_down = false;
};

// The source an outbox row's CloudEvent came from ("/connectors/<source>" in its JSON), for
// its trace id; "" when the payload names none.
std::string RowSource(const journal::OutboxRow& row);
// The log context of one outbox row: its event id and trace (hub/common/log.hpp).
inline LogContext RowLogContext(const journal::OutboxRow& row) {
  return LogContext::ForEvent(RowSource(row), row.event_id);
}

// A Sink is used by one dispatcher thread at a time.
class Sink {
 public:
  virtual ~Sink() = default;
  // Attempts "rows" in order. Rows not in the results were not attempted and stay pending.
  virtual DeliveryBatch Deliver(const std::vector<journal::OutboxRow>& rows, int64_t now_ms) = 0;
  // Called when the destination has nothing due (at least once a second while idle).
  virtual void Idle(int64_t /*now_ms*/) {}
};

// Delay before attempt number "attempts + 1", from the policy, with ±20% jitter so that many
// failed rows do not retry in lock-step.
std::chrono::milliseconds Backoff(const config::RetryPolicy& policy, int attempts);

// A retry, or a dead letter once the row is older than the policy's max_age.
journal::DeliveryResult RetryOrDead(const config::RetryPolicy& policy, const journal::OutboxRow& row,
                                    int64_t now_ms, std::string error,
                                    std::chrono::milliseconds at_least = {});

// "mapping" (may be null): the destination's outbound mapping; the sink then sends each event's
// data mapped into the destination's format instead of the CloudEvent. A connector destination
// needs its plugin connector instance and a store for its token.
Result<std::unique_ptr<Sink>> CreateSink(
    const config::DestinationConfig& destination,
    std::shared_ptr<const mapping::CompiledMapping> mapping = nullptr,
    std::shared_ptr<plugin::Instance> connector = nullptr, std::unique_ptr<StateStore> state = nullptr);

}  // namespace channelhub::dispatch
