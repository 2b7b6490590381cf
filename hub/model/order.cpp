#include "hub/model/order.hpp"

#include <set>

#include "hub/model/json_codec.hpp"

namespace channelhub::model {
namespace {

constexpr int kMaxLineNo = 1000000;

}  // namespace

std::string_view OrderChannelName(OrderChannel channel) {
  switch (channel) {
    case OrderChannel::kDealer:
      return "dealer";
    case OrderChannel::kEcommerce:
      return "ecommerce";
    case OrderChannel::kDirect:
      return "direct";
    case OrderChannel::kWecom:
      return "wecom";
  }
  return "direct";
}

std::optional<OrderChannel> ParseOrderChannel(std::string_view name) {
  for (OrderChannel c : {OrderChannel::kDealer, OrderChannel::kEcommerce, OrderChannel::kDirect,
                         OrderChannel::kWecom}) {
    if (OrderChannelName(c) == name) return c;
  }
  return std::nullopt;
}

std::string_view OrderStatusName(OrderStatus status) {
  switch (status) {
    case OrderStatus::kCreated:
      return "created";
    case OrderStatus::kConfirmed:
      return "confirmed";
    case OrderStatus::kPaid:
      return "paid";
    case OrderStatus::kShipped:
      return "shipped";
    case OrderStatus::kDelivered:
      return "delivered";
    case OrderStatus::kCancelled:
      return "cancelled";
    case OrderStatus::kRefunded:
      return "refunded";
  }
  return "created";
}

std::optional<OrderStatus> ParseOrderStatus(std::string_view name) {
  for (OrderStatus s :
       {OrderStatus::kCreated, OrderStatus::kConfirmed, OrderStatus::kPaid, OrderStatus::kShipped,
        OrderStatus::kDelivered, OrderStatus::kCancelled, OrderStatus::kRefunded}) {
    if (OrderStatusName(s) == name) return s;
  }
  return std::nullopt;
}

Status Validate(const Order& o) {
  if (o.order_no.empty()) return json::ErrorAt("order_no", "required");
  CHUB_RETURN_IF_ERROR(internal::CheckSourceRef("source", o.source, /*id_required=*/false));
  if (o.buyer) {
    if (!o.buyer->source.empty()) {
      CHUB_RETURN_IF_ERROR(
          internal::CheckSourceRef("buyer.source", o.buyer->source, /*id_required=*/true));
    }
    if (!o.buyer->mobile.empty())
      CHUB_RETURN_IF_ERROR(internal::CheckPhone("buyer.mobile", o.buyer->mobile));
    if (!o.buyer->email.empty())
      CHUB_RETURN_IF_ERROR(internal::CheckEmail("buyer.email", o.buyer->email));
  }
  CHUB_RETURN_IF_ERROR(internal::CheckCurrency("currency", o.currency));
  std::set<int> line_numbers;
  for (size_t i = 0; i < o.lines.size(); ++i) {
    const OrderLine& line = o.lines[i];
    const std::string path = json::JoinIndex("lines", i);
    if (line.line_no < 1 || line.line_no > kMaxLineNo) {
      return json::ErrorAt(json::JoinKey(path, "line_no"),
                           "must be between 1 and 1000000, got " + std::to_string(line.line_no));
    }
    if (!line_numbers.insert(line.line_no).second) {
      return json::ErrorAt(json::JoinKey(path, "line_no"),
                           std::to_string(line.line_no) + " is used twice");
    }
  }
  if (o.ship_to) CHUB_RETURN_IF_ERROR(internal::CheckAddress("ship_to", *o.ship_to));
  return internal::CheckExt("ext", o.ext_json);
}

std::string ToJson(const Order& o) {
  json::JsonWriter w;
  w.StartObject();
  w.MemberString("order_no", o.order_no);
  internal::WriteSourceRef(w, "source", o.source);
  w.Key("channel");
  w.String(OrderChannelName(o.channel));
  w.MemberString("dealer_id", o.dealer_id);
  if (o.buyer) {
    w.Key("buyer");
    w.StartObject();
    internal::WriteSourceRef(w, "source", o.buyer->source);
    w.MemberString("name", o.buyer->name);
    w.MemberString("mobile", o.buyer->mobile);
    w.MemberString("email", o.buyer->email);
    w.EndObject();
  }
  w.Key("status");
  w.String(OrderStatusName(o.status));
  if (!o.shipments.empty()) {
    w.Key("shipments");
    w.StartArray();
    for (const Shipment& s : o.shipments) {
      w.StartObject();
      w.MemberString("carrier", s.carrier);
      w.MemberString("tracking_no", s.tracking_no);
      w.MemberTime("shipped_at", s.shipped_at);
      w.EndObject();
    }
    w.EndArray();
  }
  w.MemberString("currency", o.currency);
  w.Key("lines");
  w.StartArray();
  for (const OrderLine& line : o.lines) {
    w.StartObject();
    w.Key("line_no");
    w.Int(line.line_no);
    w.MemberString("sku", line.sku);
    w.MemberString("name", line.name);
    w.MemberDecimal("quantity", line.quantity);
    w.MemberDecimal("unit_price", line.unit_price);
    w.MemberDecimal("discount", line.discount);
    w.MemberDecimal("tax_rate", line.tax_rate);
    w.MemberDecimal("amount", line.amount);
    w.EndObject();
  }
  w.EndArray();
  w.Key("totals");
  w.StartObject();
  w.MemberDecimal("subtotal", o.totals.subtotal);
  w.MemberDecimal("discount", o.totals.discount);
  w.MemberDecimal("tax", o.totals.tax);
  w.MemberDecimal("shipping", o.totals.shipping);
  w.MemberDecimal("total", o.totals.total);
  w.EndObject();
  if (o.ship_to) {
    w.Key("ship_to");
    internal::WriteAddress(w, *o.ship_to);
  }
  w.MemberTime("created_at", o.created_at);
  w.MemberTime("updated_at", o.updated_at);
  internal::WriteExt(w, o.ext_json);
  w.EndObject();
  return w.Take();
}

namespace {

Status ReadLine(const rapidjson::Value& v, const std::string& path, OrderLine* line) {
  Result<json::ObjectReader> opened = json::ObjectReader::Open(v, path, json::Nulls::kError);
  if (!opened.ok()) return opened.status();
  const json::ObjectReader& r = *opened;
  CHUB_RETURN_IF_ERROR(r.CheckKeys(
      {"line_no", "sku", "name", "quantity", "unit_price", "discount", "tax_rate", "amount"}));
  std::optional<int64_t> line_no;
  CHUB_RETURN_IF_ERROR(r.GetInt("line_no", &line_no));
  if (!line_no) return json::ErrorAt(r.PathOf("line_no"), "required");
  if (*line_no < 1 || *line_no > kMaxLineNo) {
    return json::ErrorAt(r.PathOf("line_no"),
                         "must be between 1 and 1000000, got " + std::to_string(*line_no));
  }
  line->line_no = static_cast<int>(*line_no);
  CHUB_RETURN_IF_ERROR(r.GetString("sku", &line->sku));
  CHUB_RETURN_IF_ERROR(r.GetString("name", &line->name));
  CHUB_RETURN_IF_ERROR(r.RequireDecimal("quantity", &line->quantity));
  CHUB_RETURN_IF_ERROR(r.RequireDecimal("unit_price", &line->unit_price));
  CHUB_RETURN_IF_ERROR(r.GetDecimal("discount", &line->discount));
  CHUB_RETURN_IF_ERROR(r.GetDecimal("tax_rate", &line->tax_rate));
  return r.RequireDecimal("amount", &line->amount);
}

}  // namespace

Result<Order> OrderFromJson(std::string_view text) {
  rapidjson::Document doc;
  CHUB_RETURN_IF_ERROR(json::Parse(text, &doc));
  Result<json::ObjectReader> root = json::ObjectReader::Open(doc, "", json::Nulls::kError);
  if (!root.ok()) return root.status();
  const json::ObjectReader& r = *root;
  CHUB_RETURN_IF_ERROR(
      r.CheckKeys({"order_no", "source", "channel", "dealer_id", "buyer", "status", "shipments",
                   "currency", "lines", "totals", "ship_to", "created_at", "updated_at", "ext"}));
  Order o;
  CHUB_RETURN_IF_ERROR(r.RequireString("order_no", &o.order_no));
  if (r.Find("source") == nullptr) return json::ErrorAt("source", "required");
  CHUB_RETURN_IF_ERROR(internal::ReadSourceRef(r, "source", &o.source));

  std::string name;
  CHUB_RETURN_IF_ERROR(r.RequireString("channel", &name));
  const std::optional<OrderChannel> channel = ParseOrderChannel(name);
  if (!channel)
    return json::ErrorAt("channel",
                         "expected dealer, ecommerce, direct or wecom, got \"" + name + "\"");
  o.channel = *channel;
  CHUB_RETURN_IF_ERROR(r.GetString("dealer_id", &o.dealer_id));

  std::optional<json::ObjectReader> buyer;
  CHUB_RETURN_IF_ERROR(r.GetObject("buyer", &buyer));
  if (buyer) {
    CHUB_RETURN_IF_ERROR(buyer->CheckKeys({"source", "name", "mobile", "email"}));
    Buyer b;
    CHUB_RETURN_IF_ERROR(internal::ReadSourceRef(*buyer, "source", &b.source));
    CHUB_RETURN_IF_ERROR(buyer->GetString("name", &b.name));
    CHUB_RETURN_IF_ERROR(buyer->GetString("mobile", &b.mobile));
    CHUB_RETURN_IF_ERROR(buyer->GetString("email", &b.email));
    o.buyer = std::move(b);
  }

  CHUB_RETURN_IF_ERROR(r.RequireString("status", &name));
  const std::optional<OrderStatus> status = ParseOrderStatus(name);
  if (!status) {
    return json::ErrorAt(
        "status",
        "expected created, confirmed, paid, shipped, delivered, cancelled or refunded, got \"" +
            name + "\"");
  }
  o.status = *status;

  const rapidjson::Value* shipments = nullptr;
  CHUB_RETURN_IF_ERROR(r.GetArray("shipments", &shipments));
  if (shipments != nullptr) {
    for (rapidjson::SizeType i = 0; i < shipments->Size(); ++i) {
      Result<json::ObjectReader> s = json::ObjectReader::Open(
          (*shipments)[i], json::JoinIndex("shipments", i), json::Nulls::kError);
      if (!s.ok()) return s.status();
      CHUB_RETURN_IF_ERROR(s->CheckKeys({"carrier", "tracking_no", "shipped_at"}));
      Shipment shipment;
      CHUB_RETURN_IF_ERROR(s->GetString("carrier", &shipment.carrier));
      CHUB_RETURN_IF_ERROR(s->GetString("tracking_no", &shipment.tracking_no));
      CHUB_RETURN_IF_ERROR(s->GetTime("shipped_at", &shipment.shipped_at));
      o.shipments.push_back(std::move(shipment));
    }
  }

  CHUB_RETURN_IF_ERROR(r.RequireString("currency", &o.currency));

  const rapidjson::Value* lines = nullptr;
  CHUB_RETURN_IF_ERROR(r.GetArray("lines", &lines));
  if (lines == nullptr) return json::ErrorAt("lines", "required");
  o.lines.reserve(lines->Size());
  for (rapidjson::SizeType i = 0; i < lines->Size(); ++i) {
    OrderLine line;
    CHUB_RETURN_IF_ERROR(ReadLine((*lines)[i], json::JoinIndex("lines", i), &line));
    o.lines.push_back(std::move(line));
  }

  std::optional<json::ObjectReader> totals;
  CHUB_RETURN_IF_ERROR(r.RequireObject("totals", &totals));
  CHUB_RETURN_IF_ERROR(totals->CheckKeys({"subtotal", "discount", "tax", "shipping", "total"}));
  CHUB_RETURN_IF_ERROR(totals->GetDecimal("subtotal", &o.totals.subtotal));
  CHUB_RETURN_IF_ERROR(totals->GetDecimal("discount", &o.totals.discount));
  CHUB_RETURN_IF_ERROR(totals->GetDecimal("tax", &o.totals.tax));
  CHUB_RETURN_IF_ERROR(totals->GetDecimal("shipping", &o.totals.shipping));
  CHUB_RETURN_IF_ERROR(totals->RequireDecimal("total", &o.totals.total));

  if (const rapidjson::Value* ship_to = r.Find("ship_to"); ship_to != nullptr) {
    Address a;
    CHUB_RETURN_IF_ERROR(internal::ReadAddress(*ship_to, "ship_to", &a));
    o.ship_to = std::move(a);
  }
  CHUB_RETURN_IF_ERROR(r.GetTime("created_at", &o.created_at));
  CHUB_RETURN_IF_ERROR(r.GetTime("updated_at", &o.updated_at));
  CHUB_RETURN_IF_ERROR(internal::ReadExt(r, &o.ext_json));
  CHUB_RETURN_IF_ERROR(Validate(o));
  return o;
}

}  // namespace channelhub::model
