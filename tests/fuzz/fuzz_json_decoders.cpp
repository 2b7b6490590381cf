// libFuzzer target: the JSON reader and the canonical model's decoders (Customer, Order,
// CloudEvent, StockLevel), which read every canonical entity the journal and the connectors hand
// back. Any crash, leak or sanitizer report is a bug; InvalidArgument is fine. A value that
// decodes must also survive a round trip: ToJson's output decodes again to the same JSON.
#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "hub/common/json.hpp"
#include "hub/model/cloudevent.hpp"
#include "hub/model/customer.hpp"
#include "hub/model/order.hpp"
#include "hub/model/stock_level.hpp"

namespace model = channelhub::model;

namespace {

template <typename Decode>
void RoundTrip(std::string_view in, Decode decode) {
  auto first = decode(in);
  if (!first.ok()) return;
  const std::string once = model::ToJson(first.value());
  auto second = decode(once);
  if (!second.ok()) __builtin_trap();  // ToJson wrote something its own decoder refuses
  if (model::ToJson(second.value()) != once) __builtin_trap();  // not stable
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  rapidjson::Document doc;
  if (channelhub::json::Parse(in, &doc).ok()) (void)channelhub::json::ToCompact(doc);
  RoundTrip(in, [](std::string_view s) { return model::CustomerFromJson(s); });
  RoundTrip(in, [](std::string_view s) { return model::OrderFromJson(s); });
  RoundTrip(in, [](std::string_view s) { return model::CloudEventFromJson(s); });
  RoundTrip(in, [](std::string_view s) { return model::StockLevelFromJson(s); });
  return 0;
}
