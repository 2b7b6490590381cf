// builtin:shopify.order: Shopify order webhooks (protocols.md §2.2) to canonical Order and
// Customer.
//
// Order
//   order_no      "name" ("#1001"), else "order_number"
//   source        {system: "shopify", id: "id"}; ids exceed 2^53 and are read as exact integers
//   channel       ecommerce
//   buyer         customer.id as source; name from first_name/last_name; email (lower case) from
//                 customer.email, else "email"; mobile from customer.phone, else "phone", when it
//                 is E.164 once spaces, dashes, dots and brackets are removed
//   status        cancelled_at set or financial_status voided -> cancelled; refunded -> refunded;
//                 fulfillment_status fulfilled -> shipped; paid or partially_refunded -> paid;
//                 anything else -> created
//   shipments     fulfillments not cancelled or failed: tracking_company, tracking_number,
//                 created_at
//   currency      "currency"
//   lines         line_items[i]: line_no i+1, sku, name (else title), quantity, price as
//                 unit_price, total_discount as discount, the sum of tax_lines[].rate as tax_rate,
//                 amount = price * quantity - total_discount
//   totals        subtotal_price, total_discounts, total_tax, the sum of shipping_lines[].price,
//                 total_price
//   ship_to       shipping_address: province, city, address1 + " " + address2, zip, country_code
//   created_at, updated_at as UTC
//   ext           tags, note, note_attributes, shop_currency (total_price_set.shop_money),
//                 presentment_currency, financial_status, fulfillment_status, cancel_reason,
//                 cancelled_at, processed_at, order_number, admin_graphql_api_id, test,
//                 taxes_included, source_name, discount_codes, billing_address, ship_to_name,
//                 ship_to_phone, and a phone or email that did not fit the canonical shape
// Customer (only when the order has a customer with an id)
//   kind person; name; emails (lower case); mobiles (E.164 as above); addresses from
//   default_address; tags split from the comma-separated "tags"; updated_at;
//   source {system: "shopify", id}; ext: note, state, verified_email, tax_exempt,
//   admin_graphql_api_id, and a phone or email that did not fit.
#include <charconv>
#include <cstring>
#include <optional>
#include <string>

#include "hub/common/json.hpp"
#include "hub/mapping/builtin.hpp"
#include "hub/model/cloudevent.hpp"
#include "hub/model/customer.hpp"
#include "hub/model/order.hpp"

namespace channelhub::mapping {
namespace {

using json::ObjectReader;
using model::Order;

constexpr std::string_view kSystem = "shopify";

bool IsAsciiSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsAllNonAscii(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x80) return false;
  }
  return true;
}

// "John" + "Smith" -> "John Smith"; Chinese names put the family name first with no space:
// first "伟", last "张" -> "张伟".
std::string FullName(std::string_view first, std::string_view last) {
  first = Trim(first);
  last = Trim(last);
  if (IsAllNonAscii(first) && IsAllNonAscii(last)) return std::string(last) + std::string(first);
  std::string name(first);
  if (!name.empty() && !last.empty()) name += ' ';
  name.append(last);
  return name;
}

// "+86 138-0013-8000" -> "+8613800138000" when the result is E.164; nullopt otherwise.
std::optional<std::string> NormalisePhone(std::string_view phone) {
  std::string out;
  for (char c : phone) {
    if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') continue;
    out.push_back(c);
  }
  if (!model::IsE164(out)) return std::nullopt;
  return out;
}

// Reads a Shopify id: an integer (which may exceed 2^53, so never through a double) or a string
// of digits. Leaves *out empty when the member is absent.
Status ReadId(const ObjectReader& r, std::string_view key, std::string* out) {
  const rapidjson::Value* v = r.Find(key);
  if (v == nullptr) return Status::Ok();
  if (v->IsUint64()) {
    *out = std::to_string(v->GetUint64());
    return Status::Ok();
  }
  if (v->IsString() && v->GetStringLength() > 0) {
    const std::string_view s(v->GetString(), v->GetStringLength());
    if (s.find_first_not_of("0123456789") == std::string_view::npos) {
      *out = std::string(s);
      return Status::Ok();
    }
    return json::ErrorAt(r.PathOf(key), "expected an integer id, got \"" + std::string(s) + "\"");
  }
  if (v->IsNumber())
    return json::ErrorAt(r.PathOf(key), "expected a non-negative integer id, got another number");
  return json::TypeErrorAt(r.PathOf(key), "an integer id", *v);
}

// A JSON number read as an exact decimal: the shortest text that round-trips to the same double,
// which is the text Shopify sent for the short rates it uses (0.13, 0.06).
Status NumberToDecimal(const rapidjson::Value& v, std::string_view path, Decimal* out) {
  if (v.IsString()) return json::ReadDecimal(v, path, out);
  if (!v.IsNumber()) return json::TypeErrorAt(path, "a number or a decimal string", v);
  Result<Decimal> d = Status::Invalid("unset");
  if (v.IsInt64()) {
    d = Decimal::FromInteger(v.GetInt64());
  } else {
    char buf[64];
    const auto [end, ec] =
        std::to_chars(buf, buf + sizeof buf, v.GetDouble(), std::chars_format::fixed);
    if (ec != std::errc()) return json::ErrorAt(path, "number out of range");
    d = Decimal::Parse(std::string_view(buf, static_cast<size_t>(end - buf)));
  }
  if (!d.ok()) return json::ErrorAt(path, d.status().message());
  *out = *d;
  return Status::Ok();
}

Status Overflow(std::string_view path, const Status& st) {
  return json::ErrorAt(path, st.message());
}

// Copies the listed members that are present and not null into "w", verbatim.
void CopyMembers(const ObjectReader& r, std::initializer_list<std::string_view> keys,
                 json::JsonWriter& w) {
  for (std::string_view key : keys) {
    const rapidjson::Value* v = r.Find(key);
    if (v == nullptr) continue;
    w.Key(key);
    w.Value(*v);
  }
}

Status ReadAddress(const ObjectReader& a, model::Address* out) {
  CHUB_RETURN_IF_ERROR(a.GetString("province", &out->province));
  CHUB_RETURN_IF_ERROR(a.GetString("city", &out->city));
  std::string line1;
  std::string line2;
  CHUB_RETURN_IF_ERROR(a.GetString("address1", &line1));
  CHUB_RETURN_IF_ERROR(a.GetString("address2", &line2));
  out->line = std::string(Trim(line1));
  if (!Trim(line2).empty()) {
    if (!out->line.empty()) out->line += ' ';
    out->line.append(Trim(line2));
  }
  CHUB_RETURN_IF_ERROR(a.GetString("zip", &out->postcode));
  CHUB_RETURN_IF_ERROR(a.GetString("country_code", &out->country));
  out->country = std::string(Trim(out->country));
  if (!out->country.empty() && !model::IsCountryCode(out->country)) {
    return json::ErrorAt(a.PathOf("country_code"),
                         "expected a two-letter country code, got \"" + out->country + "\"");
  }
  return Status::Ok();
}

Status MapLine(const rapidjson::Value& v, size_t index, model::OrderLine* line) {
  Result<ObjectReader> opened =
      ObjectReader::Open(v, json::JoinIndex("line_items", index), json::Nulls::kAbsent);
  if (!opened.ok()) return opened.status();
  const ObjectReader& r = *opened;
  line->line_no = static_cast<int>(index + 1);
  CHUB_RETURN_IF_ERROR(r.GetString("sku", &line->sku));
  CHUB_RETURN_IF_ERROR(r.GetString("name", &line->name));
  if (line->name.empty()) CHUB_RETURN_IF_ERROR(r.GetString("title", &line->name));

  const rapidjson::Value* qty = r.Find("quantity");
  if (qty == nullptr) return json::ErrorAt(r.PathOf("quantity"), "required");
  if (qty->IsInt64()) {
    line->quantity = Decimal::FromInteger(qty->GetInt64());
  } else if (qty->IsNumber()) {
    return json::ErrorAt(r.PathOf("quantity"),
                         "expected a whole number, got a fraction or a number out of range");
  } else if (qty->IsString()) {
    CHUB_RETURN_IF_ERROR(json::ReadDecimal(*qty, r.PathOf("quantity"), &line->quantity));
  } else {
    return json::TypeErrorAt(r.PathOf("quantity"), "a whole number", *qty);
  }

  CHUB_RETURN_IF_ERROR(r.RequireDecimal("price", &line->unit_price));
  CHUB_RETURN_IF_ERROR(r.GetDecimal("total_discount", &line->discount));

  const rapidjson::Value* tax_lines = nullptr;
  CHUB_RETURN_IF_ERROR(r.GetArray("tax_lines", &tax_lines));
  if (tax_lines != nullptr && !tax_lines->Empty()) {
    Decimal rate;
    for (rapidjson::SizeType i = 0; i < tax_lines->Size(); ++i) {
      const std::string path = json::JoinIndex(r.PathOf("tax_lines"), i);
      Result<ObjectReader> tax = ObjectReader::Open((*tax_lines)[i], path, json::Nulls::kAbsent);
      if (!tax.ok()) return tax.status();
      const rapidjson::Value* rv = tax->Find("rate");
      if (rv == nullptr) continue;
      Decimal one;
      CHUB_RETURN_IF_ERROR(NumberToDecimal(*rv, tax->PathOf("rate"), &one));
      Result<Decimal> sum = rate.Add(one);
      if (!sum.ok()) return Overflow(path, sum.status());
      rate = *sum;
    }
    line->tax_rate = rate;
  }

  Result<Decimal> gross = line->unit_price.Mul(line->quantity);
  if (!gross.ok()) return Overflow(r.path(), gross.status());
  Result<Decimal> amount = line->discount ? gross->Sub(*line->discount) : gross;
  if (!amount.ok()) return Overflow(r.path(), amount.status());
  line->amount = *amount;
  return Status::Ok();
}

model::OrderStatus MapStatus(const ObjectReader& r, const std::string& financial,
                             const std::string& fulfillment) {
  if (r.Find("cancelled_at") != nullptr || financial == "voided")
    return model::OrderStatus::kCancelled;
  if (financial == "refunded") return model::OrderStatus::kRefunded;
  if (fulfillment == "fulfilled") return model::OrderStatus::kShipped;
  if (financial == "paid" || financial == "partially_refunded") return model::OrderStatus::kPaid;
  return model::OrderStatus::kCreated;
}

// Contact details that do not fit the canonical shape go to ext instead of being dropped.
struct Leftovers {
  std::string phone;
  std::string email;
};

Status MapBuyer(const ObjectReader& r, const std::optional<ObjectReader>& customer,
                const std::string& customer_id, model::Buyer* buyer, Leftovers* left) {
  std::string email;
  std::string phone;
  if (customer) {
    if (!customer_id.empty()) buyer->source = {std::string(kSystem), customer_id};
    std::string first;
    std::string last;
    CHUB_RETURN_IF_ERROR(customer->GetString("first_name", &first));
    CHUB_RETURN_IF_ERROR(customer->GetString("last_name", &last));
    buyer->name = FullName(first, last);
    CHUB_RETURN_IF_ERROR(customer->GetString("email", &email));
    CHUB_RETURN_IF_ERROR(customer->GetString("phone", &phone));
  }
  if (Trim(email).empty()) CHUB_RETURN_IF_ERROR(r.GetString("email", &email));
  if (Trim(phone).empty()) CHUB_RETURN_IF_ERROR(r.GetString("phone", &phone));
  email = Lower(Trim(email));
  if (model::IsEmailLike(email)) {
    buyer->email = email;
  } else {
    left->email = email;
  }
  if (!Trim(phone).empty()) {
    if (std::optional<std::string> e164 = NormalisePhone(phone)) {
      buyer->mobile = *e164;
    } else {
      left->phone = std::string(Trim(phone));
    }
  }
  return Status::Ok();
}

Status MapShipments(const ObjectReader& r, Order* o) {
  const rapidjson::Value* fulfillments = nullptr;
  CHUB_RETURN_IF_ERROR(r.GetArray("fulfillments", &fulfillments));
  if (fulfillments == nullptr) return Status::Ok();
  for (rapidjson::SizeType i = 0; i < fulfillments->Size(); ++i) {
    Result<ObjectReader> f = ObjectReader::Open(
        (*fulfillments)[i], json::JoinIndex("fulfillments", i), json::Nulls::kAbsent);
    if (!f.ok()) return f.status();
    std::string status;
    CHUB_RETURN_IF_ERROR(f->GetString("status", &status));
    if (status == "cancelled" || status == "error" || status == "failure") continue;
    model::Shipment s;
    CHUB_RETURN_IF_ERROR(f->GetString("tracking_company", &s.carrier));
    CHUB_RETURN_IF_ERROR(f->GetString("tracking_number", &s.tracking_no));
    if (s.tracking_no.empty()) {
      std::vector<std::string> numbers;
      CHUB_RETURN_IF_ERROR(f->GetStringArray("tracking_numbers", &numbers));
      if (!numbers.empty()) s.tracking_no = numbers.front();
    }
    CHUB_RETURN_IF_ERROR(f->GetTime("created_at", &s.shipped_at));
    o->shipments.push_back(std::move(s));
  }
  return Status::Ok();
}

Status MapTotals(const ObjectReader& r, Order* o) {
  CHUB_RETURN_IF_ERROR(r.GetDecimal("subtotal_price", &o->totals.subtotal));
  CHUB_RETURN_IF_ERROR(r.GetDecimal("total_discounts", &o->totals.discount));
  CHUB_RETURN_IF_ERROR(r.GetDecimal("total_tax", &o->totals.tax));
  CHUB_RETURN_IF_ERROR(r.RequireDecimal("total_price", &o->totals.total));
  const rapidjson::Value* shipping_lines = nullptr;
  CHUB_RETURN_IF_ERROR(r.GetArray("shipping_lines", &shipping_lines));
  if (shipping_lines == nullptr) return Status::Ok();
  Decimal shipping;
  for (rapidjson::SizeType i = 0; i < shipping_lines->Size(); ++i) {
    Result<ObjectReader> s = ObjectReader::Open(
        (*shipping_lines)[i], json::JoinIndex("shipping_lines", i), json::Nulls::kAbsent);
    if (!s.ok()) return s.status();
    Decimal price;
    CHUB_RETURN_IF_ERROR(s->RequireDecimal("price", &price));
    Result<Decimal> sum = shipping.Add(price);
    if (!sum.ok()) return Overflow(s->path(), sum.status());
    shipping = *sum;
  }
  // No shipping lines means no shipping charge: "0.00" in the currency's scale, not "0".
  Result<Decimal> scaled = shipping.Rescale(std::max(shipping.scale(), o->totals.total.scale()));
  if (!scaled.ok()) return Overflow("shipping_lines", scaled.status());
  o->totals.shipping = *scaled;
  return Status::Ok();
}

Status MapOrder(const ObjectReader& r, const std::string& id,
                const std::optional<ObjectReader>& customer, const std::string& customer_id,
                Order* o) {
  CHUB_RETURN_IF_ERROR(r.GetString("name", &o->order_no));
  if (o->order_no.empty()) {
    std::string number;
    CHUB_RETURN_IF_ERROR(ReadId(r, "order_number", &number));
    if (number.empty()) return json::ErrorAt("name", "required (or order_number)");
    o->order_no = number;
  }
  o->source = {std::string(kSystem), id};
  o->channel = model::OrderChannel::kEcommerce;

  model::Buyer buyer;
  Leftovers left;
  CHUB_RETURN_IF_ERROR(MapBuyer(r, customer, customer_id, &buyer, &left));
  if (!buyer.source.empty() || !buyer.name.empty() || !buyer.email.empty() ||
      !buyer.mobile.empty()) {
    o->buyer = std::move(buyer);
  }

  std::string financial;
  std::string fulfillment;
  CHUB_RETURN_IF_ERROR(r.GetString("financial_status", &financial));
  CHUB_RETURN_IF_ERROR(r.GetString("fulfillment_status", &fulfillment));
  o->status = MapStatus(r, financial, fulfillment);
  CHUB_RETURN_IF_ERROR(MapShipments(r, o));

  CHUB_RETURN_IF_ERROR(r.RequireString("currency", &o->currency));
  if (!model::IsCurrencyCode(o->currency)) {
    return json::ErrorAt(
        "currency", "expected an ISO 4217 currency code such as CNY, got \"" + o->currency + "\"");
  }

  const rapidjson::Value* items = nullptr;
  CHUB_RETURN_IF_ERROR(r.GetArray("line_items", &items));
  if (items == nullptr) return json::ErrorAt("line_items", "required");
  o->lines.reserve(items->Size());
  for (rapidjson::SizeType i = 0; i < items->Size(); ++i) {
    model::OrderLine line;
    CHUB_RETURN_IF_ERROR(MapLine((*items)[i], i, &line));
    o->lines.push_back(std::move(line));
  }
  CHUB_RETURN_IF_ERROR(MapTotals(r, o));

  std::optional<ObjectReader> shipping_address;
  CHUB_RETURN_IF_ERROR(r.GetObject("shipping_address", &shipping_address));
  std::string ship_to_name;
  std::string ship_to_phone;
  if (shipping_address) {
    model::Address a;
    CHUB_RETURN_IF_ERROR(ReadAddress(*shipping_address, &a));
    if (!a.empty()) o->ship_to = std::move(a);
    CHUB_RETURN_IF_ERROR(shipping_address->GetString("name", &ship_to_name));
    CHUB_RETURN_IF_ERROR(shipping_address->GetString("phone", &ship_to_phone));
  }
  CHUB_RETURN_IF_ERROR(r.GetTime("created_at", &o->created_at));
  CHUB_RETURN_IF_ERROR(r.GetTime("updated_at", &o->updated_at));

  std::string shop_currency;
  std::optional<ObjectReader> price_set;
  CHUB_RETURN_IF_ERROR(r.GetObject("total_price_set", &price_set));
  if (price_set) {
    std::optional<ObjectReader> shop_money;
    CHUB_RETURN_IF_ERROR(price_set->GetObject("shop_money", &shop_money));
    if (shop_money) CHUB_RETURN_IF_ERROR(shop_money->GetString("currency_code", &shop_currency));
  }

  json::JsonWriter ext;
  ext.StartObject();
  CopyMembers(r, {"tags", "note", "note_attributes"}, ext);
  ext.MemberString("shop_currency", shop_currency);
  CopyMembers(r,
              {"presentment_currency", "financial_status", "fulfillment_status", "cancel_reason",
               "cancelled_at", "processed_at", "order_number", "admin_graphql_api_id", "test",
               "taxes_included", "source_name", "discount_codes", "billing_address"},
              ext);
  ext.MemberString("ship_to_name", ship_to_name);
  ext.MemberString("ship_to_phone", ship_to_phone);
  ext.MemberString("phone", left.phone);
  ext.MemberString("email", left.email);
  ext.EndObject();
  o->ext_json = ext.Take();
  if (o->ext_json == "{}") o->ext_json.clear();
  return Status::Ok();
}

Status MapCustomer(const ObjectReader& c, const std::string& id, model::Customer* out) {
  out->kind = model::CustomerKind::kPerson;
  out->source = {std::string(kSystem), id};
  std::string first;
  std::string last;
  CHUB_RETURN_IF_ERROR(c.GetString("first_name", &first));
  CHUB_RETURN_IF_ERROR(c.GetString("last_name", &last));
  out->name = FullName(first, last);

  Leftovers left;
  std::string email;
  CHUB_RETURN_IF_ERROR(c.GetString("email", &email));
  email = Lower(Trim(email));
  if (model::IsEmailLike(email)) {
    out->emails.push_back(email);
  } else {
    left.email = email;
  }
  std::string phone;
  CHUB_RETURN_IF_ERROR(c.GetString("phone", &phone));
  if (!Trim(phone).empty()) {
    if (std::optional<std::string> e164 = NormalisePhone(phone)) {
      out->mobiles.push_back(*e164);
    } else {
      left.phone = std::string(Trim(phone));
    }
  }

  std::optional<ObjectReader> address;
  CHUB_RETURN_IF_ERROR(c.GetObject("default_address", &address));
  if (address) {
    model::Address a;
    CHUB_RETURN_IF_ERROR(ReadAddress(*address, &a));
    if (!a.empty()) out->addresses.push_back(std::move(a));
  }

  std::string tags;
  CHUB_RETURN_IF_ERROR(c.GetString("tags", &tags));
  std::string_view rest = tags;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view tag = Trim(rest.substr(0, comma));
    if (!tag.empty()) out->tags.emplace_back(tag);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  CHUB_RETURN_IF_ERROR(c.GetTime("updated_at", &out->updated_at));

  json::JsonWriter ext;
  ext.StartObject();
  CopyMembers(c, {"note", "state", "verified_email", "tax_exempt", "admin_graphql_api_id"}, ext);
  ext.MemberString("phone", left.phone);
  ext.MemberString("email", left.email);
  ext.EndObject();
  out->ext_json = ext.Take();
  if (out->ext_json == "{}") out->ext_json.clear();
  return Status::Ok();
}

// Topics whose payload is the whole order. orders/delete carries only the id.
Status CheckTopic(std::string_view topic) {
  if (topic.empty()) return Status::Ok();
  if (topic.substr(0, 7) != "orders/") {
    return Status::Invalid("topic " + std::string(topic) +
                           " is not an order topic; builtin:shopify.order maps orders/*");
  }
  if (topic == "orders/delete") {
    return Status::Invalid(
        "topic orders/delete carries no order to map; builtin:shopify.order does not handle it");
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<MappedEvent>> ShopifyOrderMapper::Map(const InboundPayload& in) const {
  CHUB_RETURN_IF_ERROR(CheckTopic(in.topic));
  rapidjson::Document doc;
  CHUB_RETURN_IF_ERROR(json::Parse(in.body, &doc));
  Result<ObjectReader> root = ObjectReader::Open(doc, "", json::Nulls::kAbsent);
  if (!root.ok()) return root.status();
  const ObjectReader& r = *root;

  std::string id;
  CHUB_RETURN_IF_ERROR(ReadId(r, "id", &id));
  if (id.empty()) return json::ErrorAt("id", "required");

  std::optional<ObjectReader> customer;
  CHUB_RETURN_IF_ERROR(r.GetObject("customer", &customer));
  std::string customer_id;
  if (customer) CHUB_RETURN_IF_ERROR(ReadId(*customer, "id", &customer_id));

  Order order;
  CHUB_RETURN_IF_ERROR(MapOrder(r, id, customer, customer_id, &order));
  CHUB_RETURN_IF_ERROR(model::Validate(order));

  std::vector<MappedEvent> out;
  const std::string source(in.source);
  out.push_back(MappedEvent{std::string(model::kOrderUpserted), "order/" + source + "/" + id,
                            model::ToJson(order)});

  if (customer && !customer_id.empty()) {
    model::Customer c;
    CHUB_RETURN_IF_ERROR(MapCustomer(*customer, customer_id, &c));
    CHUB_RETURN_IF_ERROR(model::Validate(c));
    out.push_back(MappedEvent{std::string(model::kCustomerUpserted),
                              "customer/" + source + "/" + customer_id, model::ToJson(c)});
  }
  return out;
}

}  // namespace channelhub::mapping
