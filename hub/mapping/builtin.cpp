#include "hub/mapping/builtin.hpp"

#include <algorithm>
#include <functional>

#include "hub/model/cloudevent.hpp"
#include "hub/model/customer.hpp"
#include "hub/model/order.hpp"

namespace channelhub::mapping {
namespace {

struct Entry {
  std::string_view reference;
  std::function<std::unique_ptr<Mapper>()> make;
};

const std::vector<Entry>& Registry() {
  static const std::vector<Entry> kEntries = {
      {kShopifyOrderMapper, [] { return std::make_unique<ShopifyOrderMapper>(); }},
      {kCanonicalOrderMapper, [] { return std::make_unique<CanonicalOrderMapper>(); }},
      {kCanonicalCustomerMapper, [] { return std::make_unique<CanonicalCustomerMapper>(); }},
  };
  return kEntries;
}

// Levenshtein distance, for "did you mean".
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

Result<std::unique_ptr<Mapper>> CreateMapper(const std::string& reference) {
  for (const Entry& e : Registry()) {
    if (e.reference == reference) return e.make();
  }
  std::string m = "unknown mapper \"" + reference + "\"";
  std::string_view closest;
  size_t best = 4;  // suggest only names within a few typos
  for (const Entry& e : Registry()) {
    const size_t d = EditDistance(reference, e.reference);
    if (d < best) {
      best = d;
      closest = e.reference;
    }
  }
  if (!closest.empty()) {
    m += " (did you mean \"";
    m.append(closest);
    m += "\"?)";
  }
  m += "; known mappers: ";
  bool first = true;
  for (const Entry& e : Registry()) {
    if (!first) m += ", ";
    m.append(e.reference);
    first = false;
  }
  return Status::NotFound(std::move(m));
}

std::vector<std::string> KnownMappers() {
  std::vector<std::string> names;
  for (const Entry& e : Registry()) names.emplace_back(e.reference);
  return names;
}

Result<std::vector<MappedEvent>> CanonicalOrderMapper::Map(const InboundPayload& in) const {
  Result<model::Order> order = model::OrderFromJson(in.body);
  if (!order.ok()) return order.status();
  const std::string& key = order->source.id.empty() ? order->order_no : order->source.id;
  std::vector<MappedEvent> out;
  out.push_back(MappedEvent{std::string(model::kOrderUpserted),
                            "order/" + std::string(in.source) + "/" + key, model::ToJson(*order)});
  return out;
}

Result<std::vector<MappedEvent>> CanonicalCustomerMapper::Map(const InboundPayload& in) const {
  Result<model::Customer> customer = model::CustomerFromJson(in.body);
  if (!customer.ok()) return customer.status();
  std::vector<MappedEvent> out;
  out.push_back(MappedEvent{std::string(model::kCustomerUpserted),
                            "customer/" + std::string(in.source) + "/" + customer->source.id,
                            model::ToJson(*customer)});
  return out;
}

}  // namespace channelhub::mapping
