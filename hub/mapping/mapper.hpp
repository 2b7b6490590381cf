// The mapping interface: one inbound payload becomes zero or more canonical events.
// The interim built-in mappers (builtin.hpp) implement it now; the mapping engine (mapping files)
// fills the same interface later.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hub/common/status.hpp"

namespace channelhub::mapping {

// What a mapper sees of one journaled inbound event. Views live for the call only.
struct InboundPayload {
  std::string_view source;        // configured source name, e.g. "webshop"
  std::string_view event_id;      // journal event id
  std::string_view content_type;  // e.g. "application/json"
  std::string_view body;          // raw bytes as received
  std::string_view topic;         // the platform's event topic when known (X-Shopify-Topic), or ""
};

// One canonical event produced by a mapping.
struct MappedEvent {
  std::string type;       // full CloudEvents type, e.g. "com.channelhub.order.upserted"
  std::string subject;    // entity key, e.g. "order/webshop/1001"; delivery is ordered per subject
  std::string data_json;  // the canonical entity as compact JSON (valid against mappings/schema)
  // Golden-record changes: the system whose record caused it; it is not sent back there.
  std::string origin_system;
};

// A Mapper is immutable after construction and safe to call from several threads at once.
class Mapper {
 public:
  virtual ~Mapper() = default;
  // Returns the events, or InvalidArgument naming the field that failed ("line_items[2].price:
  // expected a decimal string, got true"). Never throws.
  virtual Result<std::vector<MappedEvent>> Map(const InboundPayload& in) const = 0;
};

// Creates the mapper named by a config reference such as "builtin:shopify.order".
// NotFound (with the list of known names) when the reference is unknown.
Result<std::unique_ptr<Mapper>> CreateMapper(const std::string& reference);

// The references CreateMapper accepts, for "did you mean" and `channelhub check`.
std::vector<std::string> KnownMappers();

}  // namespace channelhub::mapping
