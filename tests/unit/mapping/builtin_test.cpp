#include "hub/mapping/builtin.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "hub/model/cloudevent.hpp"
#include "hub/model/customer.hpp"
#include "hub/model/order.hpp"
#include "hub/model/schema.hpp"

namespace channelhub::mapping {
namespace {

std::string ReadFile(const std::string& relative) {
  std::ifstream in(std::string(CHUB_SOURCE_DIR) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in.good()) << relative;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Loaded once; a static object rather than a leaked pointer, so that LeakSanitizer stays quiet
// (RapidJSON tags its pointers, which hides them from the leak checker's reachability scan).
const model::CanonicalSchemas& Schemas() {
  static const std::optional<model::CanonicalSchemas> schemas =
      []() -> std::optional<model::CanonicalSchemas> {
    Result<model::CanonicalSchemas> s =
        model::CanonicalSchemas::Load(std::string(CHUB_SOURCE_DIR) + "/mappings/schema");
    if (!s.ok()) {
      ADD_FAILURE() << s.status().ToString();
      std::abort();
    }
    return std::move(s).value();
  }();
  return *schemas;
}

Result<std::vector<MappedEvent>> MapWith(std::string_view reference, std::string_view body,
                                         std::string_view topic = "orders/create",
                                         std::string_view source = "webshop") {
  Result<std::unique_ptr<Mapper>> mapper = CreateMapper(std::string(reference));
  EXPECT_TRUE(mapper.ok()) << mapper.status().ToString();
  InboundPayload in{source, "evt-1", "application/json", body, topic};
  return (*mapper)->Map(in);
}

Result<std::vector<MappedEvent>> MapShopify(std::string_view body,
                                            std::string_view topic = "orders/create") {
  return MapWith(kShopifyOrderMapper, body, topic);
}

std::string ShopifyError(std::string_view body, std::string_view topic = "orders/create") {
  Result<std::vector<MappedEvent>> r = MapShopify(body, topic);
  EXPECT_FALSE(r.ok()) << body;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

// The sample with one substring replaced (the substring must occur exactly once).
std::string Sample(std::string_view from = "", std::string_view to = "") {
  std::string s = ReadFile("config/samples/shopify-order.json");
  if (!from.empty()) {
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    EXPECT_EQ(s.find(from, at + 1), std::string::npos) << from << " occurs twice";
    if (at != std::string::npos) s.replace(at, from.size(), to);
  }
  return s;
}

model::Order OrderOf(const MappedEvent& e) {
  Result<model::Order> o = model::OrderFromJson(e.data_json);
  EXPECT_TRUE(o.ok()) << o.status().ToString() << "\n" << e.data_json;
  return o.ok() ? *o : model::Order();
}

constexpr std::string_view kExpectedOrder =
    R"({"order_no":"#1058","source":{"system":"shopify","id":"6123456789012345678"},"channel":"ecommerce",)"
    R"("buyer":{"source":{"system":"shopify","id":"7012345678901234567"},"name":"李娜","mobile":"+8613912345678",)"
    R"("email":"li.na@example.cn"},"status":"paid","currency":"CNY","lines":[)"
    R"({"line_no":1,"sku":"TEA-LJ-250","name":"西湖龙井 - 250g","quantity":"2","unit_price":"388.00",)"
    R"("discount":"20.00","tax_rate":"0.13","amount":"756.00"},)"
    R"({"line_no":2,"sku":"CUP-CELADON-01","name":"龙泉青瓷茶杯","quantity":"1","unit_price":"128.50",)"
    R"("discount":"0.00","tax_rate":"0.13","amount":"128.50"}],)"
    R"("totals":{"subtotal":"884.50","discount":"20.00","tax":"101.75","shipping":"15.00","total":"899.50"},)"
    R"("ship_to":{"province":"上海市","city":"上海市","line":"徐汇区漕溪北路 88 号 3 号楼 1201 室","postcode":"200030",)"
    R"("country":"CN"},"created_at":"2024-03-08T02:15:30Z","updated_at":"2024-03-08T02:16:02Z",)"
    R"("ext":{"tags":"wechat-campaign, spring-2024","note":"请工作日送货",)"
    R"("note_attributes":[{"name":"发票抬头","value":"个人"}],"shop_currency":"CNY","presentment_currency":"CNY",)"
    R"("financial_status":"paid","processed_at":"2024-03-08T10:15:29+08:00","order_number":1058,)"
    R"("admin_graphql_api_id":"gid://shopify/Order/6123456789012345678","test":false,"taxes_included":true,)"
    R"("ship_to_name":"李娜","ship_to_phone":"+86 139 1234 5678"}})";

constexpr std::string_view kExpectedCustomer =
    R"({"kind":"person","name":"李娜","mobiles":["+8613912345678"],"emails":["li.na@example.cn"],)"
    R"("addresses":[{"province":"上海市","city":"上海市","line":"徐汇区漕溪北路 88 号 3 号楼 1201 室",)"
    R"("postcode":"200030","country":"CN"}],"tags":["VIP","回头客"],"updated_at":"2024-03-08T02:15:31Z",)"
    R"("source":{"system":"shopify","id":"7012345678901234567"},"ext":{"state":"enabled","verified_email":true}})";

TEST(BuiltinMappersTest, KnownMappers) {
  EXPECT_EQ(KnownMappers(),
            (std::vector<std::string>{"builtin:shopify.order", "builtin:canonical.order",
                                      "builtin:canonical.customer"}));
  for (const std::string& name : KnownMappers()) EXPECT_TRUE(CreateMapper(name).ok()) << name;
}

TEST(BuiltinMappersTest, UnknownMapperListsTheKnownNames) {
  Result<std::unique_ptr<Mapper>> m = CreateMapper("builtin:shopify.ordr");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(m.status().message(),
            "unknown mapper \"builtin:shopify.ordr\" (did you mean \"builtin:shopify.order\"?); "
            "known mappers: "
            "builtin:shopify.order, builtin:canonical.order, builtin:canonical.customer");
  EXPECT_EQ(CreateMapper("kingdee/sal_saleorder.yaml").status().message(),
            "unknown mapper \"kingdee/sal_saleorder.yaml\"; known mappers: builtin:shopify.order, "
            "builtin:canonical.order, builtin:canonical.customer");
}

TEST(ShopifyOrderMapperTest, MapsTheSampleOrder) {
  Result<std::vector<MappedEvent>> r = MapShopify(Sample());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  const MappedEvent& order = (*r)[0];
  EXPECT_EQ(order.type, "com.channelhub.order.upserted");
  EXPECT_EQ(order.subject, "order/webshop/6123456789012345678");
  EXPECT_EQ(order.data_json, kExpectedOrder);

  const MappedEvent& customer = (*r)[1];
  EXPECT_EQ(customer.type, "com.channelhub.customer.upserted");
  EXPECT_EQ(customer.subject, "customer/webshop/7012345678901234567");
  EXPECT_EQ(customer.data_json, kExpectedCustomer);
}

TEST(ShopifyOrderMapperTest, SampleValuesFieldByField) {
  Result<std::vector<MappedEvent>> r = MapShopify(Sample());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const model::Order o = OrderOf((*r)[0]);
  EXPECT_EQ(o.order_no, "#1058");
  EXPECT_EQ(o.source, (model::SourceRef{"shopify", "6123456789012345678"}));  // above 2^53, exact
  EXPECT_EQ(o.channel, model::OrderChannel::kEcommerce);
  EXPECT_EQ(o.status, model::OrderStatus::kPaid);
  EXPECT_EQ(o.currency, "CNY");
  ASSERT_EQ(o.lines.size(), 2u);
  EXPECT_EQ(o.lines[0].amount.ToString(), "756.00");  // 388.00 * 2 - 20.00
  EXPECT_EQ(o.lines[1].amount.ToString(), "128.50");
  EXPECT_EQ(o.totals.shipping->ToString(), "15.00");
  EXPECT_EQ(o.totals.total.ToString(), "899.50");
  EXPECT_EQ(FormatRfc3339(*o.created_at), "2024-03-08T02:15:30Z");
  ASSERT_TRUE(o.buyer.has_value());
  EXPECT_EQ(o.buyer->email, "li.na@example.cn");
  EXPECT_TRUE(o.shipments.empty());

  Result<model::Customer> c = model::CustomerFromJson((*r)[1].data_json);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->kind, model::CustomerKind::kPerson);
  EXPECT_EQ(c->emails, std::vector<std::string>{"li.na@example.cn"});
  EXPECT_EQ(c->mobiles, std::vector<std::string>{"+8613912345678"});
}

TEST(ShopifyOrderMapperTest, OutputConformsToTheSchemas) {
  for (
      const std::string& body :
      {Sample(),
       Sample(
           R"("fulfillments": [])",
           R"("fulfillments": [{"id": 1, "status": "success", "tracking_company": "SF Express",)"
           R"( "tracking_number": "SF1234567890", "created_at": "2024-03-09T09:30:00+08:00"}])")}) {
    Result<std::vector<MappedEvent>> r = MapShopify(body);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const MappedEvent& e : *r) {
      const Status st = Schemas().CheckData(e.type, e.data_json);
      EXPECT_TRUE(st.ok()) << e.type << ": " << st.ToString() << "\n" << e.data_json;
    }
  }
}

TEST(ShopifyOrderMapperTest, StatusFollowsFinancialAndFulfillmentStatus) {
  struct Case {
    std::string_view from;
    std::string_view to;
    model::OrderStatus status;
  };
  const Case cases[] = {
      {R"("financial_status": "paid")", R"("financial_status": "pending")",
       model::OrderStatus::kCreated},
      {R"("financial_status": "paid")", R"("financial_status": "authorized")",
       model::OrderStatus::kCreated},
      {R"("financial_status": "paid")", R"("financial_status": "partially_refunded")",
       model::OrderStatus::kPaid},
      {R"("financial_status": "paid")", R"("financial_status": "refunded")",
       model::OrderStatus::kRefunded},
      {R"("financial_status": "paid")", R"("financial_status": "voided")",
       model::OrderStatus::kCancelled},
      {R"("cancelled_at": null)", R"("cancelled_at": "2024-03-09T08:00:00+08:00")",
       model::OrderStatus::kCancelled},
      {R"("paid", "fulfillment_status": null)", R"("paid", "fulfillment_status": "fulfilled")",
       model::OrderStatus::kShipped},
      {R"("paid", "fulfillment_status": null)", R"("paid", "fulfillment_status": "partial")",
       model::OrderStatus::kPaid},
  };
  for (const Case& c : cases) {
    Result<std::vector<MappedEvent>> r = MapShopify(Sample(c.from, c.to));
    ASSERT_TRUE(r.ok()) << c.to << ": " << r.status().ToString();
    EXPECT_EQ(OrderOf((*r)[0]).status, c.status) << c.to;
  }
}

TEST(ShopifyOrderMapperTest, FulfillmentsBecomeShipments) {
  Result<std::vector<MappedEvent>> r = MapShopify(Sample(
      R"("fulfillments": [])",
      R"("fulfillments": [{"id": 1, "status": "cancelled", "tracking_company": "EMS", "tracking_number": "E1"},)"
      R"( {"id": 2, "status": "success", "tracking_company": "SF Express", "tracking_number": null,)"
      R"(  "tracking_numbers": ["SF1234567890"], "created_at": "2024-03-09T09:30:00+08:00"}])"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const model::Order o = OrderOf((*r)[0]);
  ASSERT_EQ(o.shipments.size(), 1u);
  EXPECT_EQ(o.shipments[0].carrier, "SF Express");
  EXPECT_EQ(o.shipments[0].tracking_no, "SF1234567890");
  EXPECT_EQ(FormatRfc3339(*o.shipments[0].shipped_at), "2024-03-09T01:30:00Z");
}

TEST(ShopifyOrderMapperTest, MapsTheDocumentedEnglishSample) {
  // The shape of the official orders/create sample (protocols.md §2.2), trimmed.
  const std::string body = R"({
    "id": 820982911946154508, "name": "#9999", "order_number": 1234, "email": "jon@example.com",
    "created_at": "2021-12-31T19:00:00-05:00", "currency": "USD", "financial_status": "voided",
    "fulfillment_status": null, "subtotal_price": "388.00", "total_price": "388.00", "total_tax": "0.00",
    "total_discounts": "20.00", "tags": "tag1, tag2",
    "customer": {"id": 115310627314723954, "email": "john@example.com", "first_name": "John", "last_name": "Smith"},
    "shipping_address": {"name": "Steve Shipper", "address1": "123 Shipping Street", "city": "Shippington",
                         "zip": "40003", "province_code": "KY", "country_code": "US", "phone": "555-555-SHIP"},
    "line_items": [{"id": 866550311766439020, "sku": "IPOD2008PINK", "title": "IPod Nano - 8GB",
                    "name": "IPod Nano - 8GB", "quantity": 1, "price": "199.00", "total_discount": "0.00",
                    "tax_lines": []}],
    "shipping_lines": [{"id": 271878346596884015, "title": "Generic Shipping", "price": "10.00"}]
  })";
  Result<std::vector<MappedEvent>> r = MapShopify(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].subject, "order/webshop/820982911946154508");
  EXPECT_EQ((*r)[1].subject, "customer/webshop/115310627314723954");
  const model::Order o = OrderOf((*r)[0]);
  EXPECT_EQ(o.status, model::OrderStatus::kCancelled);
  EXPECT_EQ(FormatRfc3339(*o.created_at), "2022-01-01T00:00:00Z");
  EXPECT_EQ(o.buyer->name, "John Smith");
  EXPECT_EQ(o.buyer->email, "john@example.com");
  EXPECT_EQ(o.buyer->mobile, "");
  EXPECT_EQ(o.lines[0].tax_rate, std::nullopt);
  EXPECT_EQ(o.lines[0].amount.ToString(), "199.00");
  EXPECT_EQ(o.totals.shipping->ToString(), "10.00");
  EXPECT_EQ(o.ship_to->line, "123 Shipping Street");
  EXPECT_EQ(o.ship_to->province, "");  // only province_code was given
  // A phone that is not E.164 is kept in ext, not dropped and not forced into the model.
  EXPECT_NE(o.ext_json.find(R"("ship_to_phone":"555-555-SHIP")"), std::string::npos) << o.ext_json;
  for (const MappedEvent& e : *r)
    EXPECT_TRUE(Schemas().CheckData(e.type, e.data_json).ok()) << e.data_json;
}

TEST(ShopifyOrderMapperTest, NoCustomerMeansOneEvent) {
  Result<std::vector<MappedEvent>> r = MapShopify(
      R"({"id": 9007199254740993, "order_number": 7, "email": "Guest@Example.com", "currency": "CNY",)"
      R"( "total_price": "10.00", "line_items": [], "customer": null})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].subject, "order/webshop/9007199254740993");  // 2^53 + 1, not rounded
  const model::Order o = OrderOf((*r)[0]);
  EXPECT_EQ(o.order_no, "7");
  EXPECT_TRUE(o.buyer->source.empty());
  EXPECT_EQ(o.buyer->email, "guest@example.com");
  EXPECT_EQ(o.totals.shipping, std::nullopt);  // no shipping_lines at all: unknown, not zero
}

TEST(ShopifyOrderMapperTest, EmptyShippingLinesMeanZeroShipping) {
  Result<std::vector<MappedEvent>> r = MapShopify(Sample(
      R"([{"id": 4123456789012345678, "title": "顺丰速运", "code": "SF", "price": "15.00"}])",
      "[]"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(OrderOf((*r)[0]).totals.shipping->ToString(), "0.00");
}

TEST(ShopifyOrderMapperTest, ErrorsNameTheShopifyField) {
  EXPECT_EQ(ShopifyError("[1]"), "expected a JSON object, got array");
  EXPECT_EQ(ShopifyError("{\"id\": 1,"),
            "invalid JSON at offset 9 (line 1, column 10): Missing a name for object member.");
  EXPECT_EQ(ShopifyError(Sample(R"("id": 6123456789012345678,)", "")), "id: required");
  EXPECT_EQ(ShopifyError(Sample(R"("id": 6123456789012345678,)", R"("id": 6.1e18,)")),
            "id: expected a non-negative integer id, got another number");
  EXPECT_EQ(ShopifyError(Sample(R"("id": 6123456789012345678,)", R"("id": true,)")),
            "id: expected an integer id, got true");
  EXPECT_EQ(ShopifyError(Sample(R"("price": "128.50")", R"("price": 128.5)")),
            "line_items[1].price: expected a decimal string, got number");
  EXPECT_EQ(
      ShopifyError(Sample(R"("price": "388.00")", R"("price": "388,00")")),
      "line_items[0].price: invalid decimal \"388,00\": unexpected character ',' at position 3");
  EXPECT_EQ(ShopifyError(Sample(R"("price": "388.00", )", "")), "line_items[0].price: required");
  EXPECT_EQ(
      ShopifyError(Sample(R"("quantity": 2,)", R"("quantity": 1.5,)")),
      "line_items[0].quantity: expected a whole number, got a fraction or a number out of range");
  EXPECT_EQ(
      ShopifyError(Sample(R"("rate": 0.13, "title": "VAT"}], "fulfillment_status": null},)",
                          R"("rate": "13%", "title": "VAT"}], "fulfillment_status": null},)")),
      "line_items[0].tax_lines[0].rate: invalid decimal \"13%\": unexpected character '%' at "
      "position 2");
  EXPECT_EQ(
      ShopifyError(
          R"({"id": 1, "name": "#1", "currency": "CNY", "total_price": "1.00", "line_items": {}})"),
      "line_items: expected an array, got object");
  EXPECT_EQ(
      ShopifyError(
          R"({"id": 1, "name": "#1", "currency": "CNY", "total_price": "1.00", "line_items": ["x"]})"),
      "line_items[0]: expected an object, got string");
  EXPECT_EQ(ShopifyError(R"({"id": 1, "name": "#1", "currency": "CNY", "total_price": "1.00"})"),
            "line_items: required");
  EXPECT_EQ(
      ShopifyError(R"({"id": 1, "currency": "CNY", "total_price": "1.00", "line_items": []})"),
      "name: required (or order_number)");
  EXPECT_EQ(ShopifyError(Sample(R"("currency": "CNY")", R"("currency": "rmb")")),
            "currency: expected an ISO 4217 currency code such as CNY, got \"rmb\"");
  EXPECT_EQ(ShopifyError(Sample(R"("total_price": "899.50")", R"("total_price": 899.5)")),
            "total_price: expected a decimal string, got number");
  EXPECT_EQ(ShopifyError(Sample(R"("price": "15.00")", R"("price": null)")),
            "shipping_lines[0].price: required");
  EXPECT_EQ(ShopifyError(Sample(R"("created_at": "2024-03-08T10:15:30+08:00")",
                                R"("created_at": "2024-02-30T10:15:30+08:00")")),
            "created_at: invalid time \"2024-02-30T10:15:30+08:00\": there is no day 30 in "
            "February 2024");
  EXPECT_EQ(ShopifyError(Sample(R"("id": 7012345678901234567,)", R"("id": "abc",)")),
            "customer.id: expected an integer id, got \"abc\"");
  EXPECT_EQ(ShopifyError(Sample(R"("zip": "200030", "country": "China",)",
                                R"("zip": 200030, "country": "China",)")),
            "shipping_address.zip: expected a string, got number");
}

TEST(ShopifyOrderMapperTest, TopicsOtherThanOrderUpdatesAreRefused) {
  EXPECT_TRUE(MapShopify(Sample(), "orders/updated").ok());
  EXPECT_TRUE(MapShopify(Sample(), "orders/paid").ok());
  EXPECT_TRUE(MapShopify(Sample(), "").ok());
  EXPECT_EQ(ShopifyError(Sample(), "customers/create"),
            "topic customers/create is not an order topic; builtin:shopify.order maps orders/*");
  EXPECT_EQ(
      ShopifyError(R"({"id": 1})", "orders/delete"),
      "topic orders/delete carries no order to map; builtin:shopify.order does not handle it");
}

TEST(CanonicalMappersTest, OrderIsValidatedAndReserialised) {
  Result<std::vector<MappedEvent>> r =
      MapWith(kCanonicalOrderMapper, ReadFile("config/samples/canonical-order.json"), "", "portal");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].type, "com.channelhub.order.upserted");
  EXPECT_EQ((*r)[0].subject, "order/portal/731");
  EXPECT_EQ((*r)[0].data_json.find('\n'), std::string::npos);  // compact
  EXPECT_EQ(OrderOf((*r)[0]).lines[0].amount.ToString(), "7296.00");
  EXPECT_TRUE(Schemas().CheckData((*r)[0].type, (*r)[0].data_json).ok());

  // Without source.id the order number keys the subject.
  Result<std::vector<MappedEvent>> no_id = MapWith(
      kCanonicalOrderMapper,
      R"({"order_no":"SO-9","source":{"system":"erp"},"channel":"dealer","status":"created","currency":"CNY",)"
      R"("lines":[],"totals":{"total":"0.00"}})",
      "", "erp");
  ASSERT_TRUE(no_id.ok()) << no_id.status().ToString();
  EXPECT_EQ((*no_id)[0].subject, "order/erp/SO-9");

  Result<std::vector<MappedEvent>> bad = MapWith(
      kCanonicalOrderMapper,
      R"({"order_no":"SO-9","source":{"system":"erp"},"channel":"dealer","status":"created","currency":"CNY",)"
      R"("lines":[{"line_no":1,"quantity":1,"unit_price":"1","amount":"1"}],"totals":{"total":"0.00"}})",
      "", "erp");
  EXPECT_EQ(bad.status().message(), "lines[0].quantity: expected a decimal string, got number");
}

TEST(CanonicalMappersTest, CustomerIsValidatedAndReserialised) {
  Result<std::vector<MappedEvent>> r = MapWith(
      kCanonicalCustomerMapper, ReadFile("config/samples/canonical-customer.json"), "", "erp");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].type, "com.channelhub.customer.upserted");
  EXPECT_EQ((*r)[0].subject, "customer/erp/CUST-000042");
  EXPECT_TRUE(Schemas().CheckData((*r)[0].type, (*r)[0].data_json).ok());
  EXPECT_EQ(
      MapWith(kCanonicalCustomerMapper, R"({"kind":"person","source":{"system":"x"}})", "", "erp")
          .status()
          .message(),
      "source.id: required");
}

}  // namespace
}  // namespace channelhub::mapping
