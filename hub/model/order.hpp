// Canonical Order (model v1) and its JSON form (mappings/schema/order.schema.json).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/common/decimal.hpp"
#include "hub/common/status.hpp"
#include "hub/common/time.hpp"
#include "hub/model/types.hpp"

namespace channelhub::model {

enum class OrderChannel { kDealer, kEcommerce, kDirect, kWecom };
enum class OrderStatus { kCreated, kConfirmed, kPaid, kShipped, kDelivered, kCancelled, kRefunded };

// "dealer", "ecommerce", "direct", "wecom".
std::string_view OrderChannelName(OrderChannel channel);
std::optional<OrderChannel> ParseOrderChannel(std::string_view name);
// "created", "confirmed", "paid", "shipped", "delivered", "cancelled", "refunded".
std::string_view OrderStatusName(OrderStatus status);
std::optional<OrderStatus> ParseOrderStatus(std::string_view name);

// Who bought: a reference to the customer in the source system plus a snapshot of the contact
// details on the order. JSON: {"source": {"system", "id"}, "name", "mobile", "email"}.
struct Buyer {
  SourceRef source;  // empty for guest checkouts
  std::string name;
  std::string mobile;  // E.164
  std::string email;

  bool operator==(const Buyer&) const = default;
};

// JSON: {"carrier", "tracking_no", "shipped_at"}.
struct Shipment {
  std::string carrier;
  std::string tracking_no;
  std::optional<UtcTime> shipped_at;

  bool operator==(const Shipment&) const = default;
};

// One order line. amount is what the line costs after its discount (unit_price * quantity -
// discount), before tax unless the source includes tax in prices.
// JSON: {"line_no", "sku", "name", "quantity", "unit_price", "discount", "tax_rate", "amount"};
// line_no (an integer >= 1), quantity, unit_price and amount are required.
struct OrderLine {
  int line_no = 0;
  std::string sku;
  std::string name;
  Decimal quantity;
  Decimal unit_price;
  std::optional<Decimal> discount;
  std::optional<Decimal> tax_rate;  // a fraction: "0.13" for 13 %
  Decimal amount;

  bool operator==(const OrderLine&) const = default;
};

// JSON: {"subtotal", "discount", "tax", "shipping", "total"}; total is required.
struct OrderTotals {
  std::optional<Decimal> subtotal;
  std::optional<Decimal> discount;
  std::optional<Decimal> tax;
  std::optional<Decimal> shipping;
  Decimal total;

  bool operator==(const OrderTotals&) const = default;
};

// A sales order. JSON keys, in order:
//   order_no, source, channel, dealer_id, buyer, status, shipments, currency, lines, totals,
//   ship_to, created_at, updated_at, ext
// Required: order_no, source (system; id when the source has one), channel, status, currency,
// lines (may be empty), totals.
struct Order {
  std::string order_no;
  SourceRef source;
  OrderChannel channel = OrderChannel::kDirect;
  std::string dealer_id;
  std::optional<Buyer> buyer;
  OrderStatus status = OrderStatus::kCreated;
  std::vector<Shipment> shipments;
  std::string currency;  // ISO 4217: "CNY"
  std::vector<OrderLine> lines;
  OrderTotals totals;
  std::optional<Address> ship_to;
  std::optional<UtcTime> created_at;
  std::optional<UtcTime> updated_at;
  std::string ext_json;

  bool operator==(const Order&) const = default;
};

// Checks what the schema checks, plus unique line numbers; InvalidArgument naming the field
// ("lines[1].line_no: 1 is used twice").
Status Validate(const Order& o);

// Compact canonical JSON. REQUIRES: Validate(o) is OK.
std::string ToJson(const Order& o);

// Parses and validates canonical Order JSON. Errors name the field:
// "lines[1].quantity: expected a decimal string, got number".
Result<Order> OrderFromJson(std::string_view json);

}  // namespace channelhub::model
