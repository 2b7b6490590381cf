// The CloudEvents 1.0 envelope in JSON structured mode, as the hub sends it to every destination
// and on the bus (mappings/schema/cloudevent.schema.json).
#pragma once

#include <string>
#include <string_view>

#include "hub/common/status.hpp"
#include "hub/common/time.hpp"

namespace channelhub::model {

// Event types of canonical model v1.
inline constexpr std::string_view kOrderUpserted = "com.channelhub.order.upserted";
inline constexpr std::string_view kOrderStatusChanged = "com.channelhub.order.status_changed";
inline constexpr std::string_view kCustomerUpserted = "com.channelhub.customer.upserted";
inline constexpr std::string_view kCustomerGoldenUpdated = "com.channelhub.customer.golden.updated";
inline constexpr std::string_view kStockLevelUpserted = "com.channelhub.stock_level.upserted";

// JSON members, in order: specversion ("1.0"), id, source, type, time, subject,
// datacontenttype, data. Extension attributes are not modelled.
struct CloudEvent {
  std::string id;      // the canonical event id; also the idempotency key for sinks
  std::string source;  // "/connectors/<id>"
  std::string type;    // one of the k* types above
  UtcTime time{};
  std::string subject;  // the entity key, "order/webshop/1001"; omitted when empty
  std::string datacontenttype = "application/json";
  std::string data_json;  // one JSON value, inserted verbatim as "data"; omitted when empty

  bool operator==(const CloudEvent&) const = default;
};

// Compact JSON. REQUIRES: data_json is empty or one valid JSON value (it is not re-parsed).
std::string ToJson(const CloudEvent& e);

// Parses a structured-mode event. specversion must be "1.0"; id, source, type and time are
// required (the hub always sets time); unknown extension attributes are ignored; "data" is kept
// as compact JSON text; "data_base64" (binary data) is refused.
Result<CloudEvent> CloudEventFromJson(std::string_view json);

}  // namespace channelhub::model
