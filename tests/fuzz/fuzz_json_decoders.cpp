// libFuzzer target: the JSON reader and the canonical model's decoders (Customer, Order,
// CloudEvent, StockLevel), which read every canonical entity the journal and the connectors hand
// back. Any crash, leak or sanitizer report is a bug; InvalidArgument is fine. A value that
// decodes must also survive a round trip: ToJson's output decodes again to the same JSON.
#include <rapidjson/document.h>

#include <algorithm>
#include <cmath>
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

// Equal JSON, except that doubles may differ in their last bits: RapidJSON 1.1.0's default parse
// is not correctly rounded (one ulp off on some inputs, e.g. 8.888888888888887e89), and its
// full-precision parse has undefined behaviour of its own (clz(0) on "0e308"), so passthrough
// numbers are allowed that drift. Everything else (strings, structure, integers) must be exact.
bool SameJson(const rapidjson::Value& a, const rapidjson::Value& b) {
  if (a.IsDouble() && b.IsDouble()) {
    const double x = a.GetDouble(), y = b.GetDouble();
    return x == y || std::fabs(x - y) <= 1e-12 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.GetType() != b.GetType()) return false;
  if (a.IsObject()) {
    if (a.MemberCount() != b.MemberCount()) return false;
    for (auto m = a.MemberBegin(), n = b.MemberBegin(); m != a.MemberEnd(); ++m, ++n) {
      if (m->name != n->name || !SameJson(m->value, n->value)) return false;
    }
    return true;
  }
  if (a.IsArray()) {
    if (a.Size() != b.Size()) return false;
    for (rapidjson::SizeType i = 0; i < a.Size(); ++i) {
      if (!SameJson(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

template <typename Decode>
void RoundTrip(std::string_view in, Decode decode) {
  auto first = decode(in);
  if (!first.ok()) return;
  const std::string once = model::ToJson(first.value());
  auto second = decode(once);
  if (!second.ok()) __builtin_trap();  // ToJson wrote something its own decoder refuses
  const std::string twice = model::ToJson(second.value());
  if (twice == once) return;
  rapidjson::Document a, b;
  a.Parse(once.data(), once.size());
  b.Parse(twice.data(), twice.size());
  if (a.HasParseError() || b.HasParseError() || !SameJson(a, b)) __builtin_trap();  // not stable
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
