#include "hub/model/schema.hpp"

#include <gtest/gtest.h>
#include <rapidjson/pointer.h>

#include <fstream>
#include <sstream>

#include "hub/common/json.hpp"
#include "hub/model/cloudevent.hpp"
#include "hub/model/customer.hpp"
#include "hub/model/order.hpp"
#include "hub/model/stock_level.hpp"

namespace channelhub::model {
namespace {

const std::string kSchemaDir = std::string(CHUB_SOURCE_DIR) + "/mappings/schema";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class SchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<CanonicalSchemas> s = CanonicalSchemas::Load(kSchemaDir);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    schemas_.emplace(std::move(s).value());
  }

  static Order FullOrder() {
    Result<Order> o = OrderFromJson(
        ReadFile(std::string(CHUB_SOURCE_DIR) + "/config/samples/canonical-order.json"));
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    Order order = o.ok() ? *o : Order();
    // The sample has no shipments; add one so that every member is present.
    order.shipments = {
        Shipment{"SF Express", "SF1234567890", *ParseRfc3339("2024-03-12T08:00:00.120Z")}};
    order.status = OrderStatus::kShipped;
    return order;
  }

  static Customer FullCustomer() {
    Result<Customer> c = CustomerFromJson(
        ReadFile(std::string(CHUB_SOURCE_DIR) + "/config/samples/canonical-customer.json"));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : Customer();
  }

  // ToJson(entity) with the member at "pointer" replaced by "value" (a JSON text), or removed
  // when "value" is empty.
  static std::string Mutate(const std::string& json, const char* pointer, std::string_view value) {
    rapidjson::Document doc;
    EXPECT_TRUE(json::Parse(json, &doc).ok());
    if (value.empty()) {
      EXPECT_TRUE(rapidjson::Pointer(pointer).Erase(doc)) << pointer;
    } else {
      rapidjson::Document v(&doc.GetAllocator());
      EXPECT_TRUE(json::Parse(value, &v).ok()) << value;
      rapidjson::Pointer(pointer).Set(doc, v);
    }
    return json::ToCompact(doc);
  }

  std::optional<CanonicalSchemas> schemas_;
};

TEST_F(SchemaTest, FullOrderConforms) {
  const Order o = FullOrder();
  const std::string json = ToJson(o);
  // Every optional member is present, so additionalProperties:false checks every key name.
  for (const char* key :
       {"\"dealer_id\"", "\"buyer\"", "\"shipments\"", "\"discount\"", "\"tax_rate\"",
        "\"ship_to\"", "\"district\"", "\"created_at\"", "\"updated_at\"", "\"ext\""}) {
    EXPECT_NE(json.find(key), std::string::npos) << key;
  }
  EXPECT_TRUE(schemas_->order().Check(json).ok()) << schemas_->order().Check(json).ToString();
  EXPECT_TRUE(schemas_->CheckData(kOrderUpserted, json).ok());
  EXPECT_TRUE(schemas_->CheckData(kOrderStatusChanged, json).ok());
}

TEST_F(SchemaTest, EveryOrderStatusAndChannelConforms) {
  Order o = FullOrder();
  for (OrderStatus s :
       {OrderStatus::kCreated, OrderStatus::kConfirmed, OrderStatus::kPaid, OrderStatus::kShipped,
        OrderStatus::kDelivered, OrderStatus::kCancelled, OrderStatus::kRefunded}) {
    for (OrderChannel c : {OrderChannel::kDealer, OrderChannel::kEcommerce, OrderChannel::kDirect,
                           OrderChannel::kWecom}) {
      o.status = s;
      o.channel = c;
      EXPECT_TRUE(schemas_->order().Check(ToJson(o)).ok())
          << OrderStatusName(s) << " " << OrderChannelName(c);
    }
  }
}

TEST_F(SchemaTest, MinimalOrderConforms) {
  Order o;
  o.order_no = "A1";
  o.source = {"erp", ""};
  o.currency = "USD";
  EXPECT_TRUE(schemas_->order().Check(ToJson(o)).ok());
}

TEST_F(SchemaTest, OrderSchemaRejectsWhatTheModelRejects) {
  const std::string good = ToJson(FullOrder());
  struct Case {
    const char* pointer;
    const char* value;
    const char* keyword;
  };
  const Case cases[] = {
      {"/lines/0/quantity", R"("1e3")", "pattern"},
      {"/lines/0/quantity", "24", "type"},
      {"/lines/1/amount", R"("12.")", "pattern"},
      {"/totals/total", R"("1.0000000000000000001")", "pattern"},
      {"/status", R"("done")", "enum"},
      {"/channel", R"("shop")", "enum"},
      {"/currency", R"("cny")", "pattern"},
      {"/currency", "", "required"},
      {"/lines", "", "required"},
      {"/totals/total", "", "required"},
      {"/lines/0/line_no", "0", "minimum"},
      {"/lines/0/line_no", "1.5", "type"},
      {"/lines/0/colour", R"("red")", "additionalProperties"},
      {"/unknown", "1", "additionalProperties"},
      {"/dealer_id", R"("")", "minLength"},
      {"/dealer_id", "null", "type"},
      {"/buyer/mobile", R"("13912345678")", "pattern"},
      {"/buyer/email", R"("nobody")", "pattern"},
      {"/buyer/source/id", "", "required"},
      {"/source/system", "", "required"},
      {"/ship_to/country", R"("China")", "pattern"},
      {"/created_at", R"("2024-03-11T09:20:00+08:00")", "pattern"},
      {"/created_at", R"("2024-03-11 01:20:00")", "pattern"},
      {"/shipments", "[]", "minItems"},
      {"/ext", "[]", "type"},
  };
  for (const Case& c : cases) {
    const std::string bad = Mutate(good, c.pointer, c.value);
    const Status st = schemas_->order().Check(bad);
    EXPECT_FALSE(st.ok()) << c.pointer << " = " << c.value;
    EXPECT_NE(st.message().find(std::string("\"") + c.keyword + "\""), std::string::npos)
        << c.pointer << " = " << c.value << ": " << st.message();
  }
  // ext is open: anything inside it is fine.
  EXPECT_TRUE(schemas_->order().Check(Mutate(good, "/ext/anything", R"({"x":[null,1.5]})")).ok());
}

TEST_F(SchemaTest, ErrorNamesThePlaceInTheDocument) {
  const std::string bad = Mutate(ToJson(FullOrder()), "/lines/1/quantity", R"("1,5")");
  EXPECT_EQ(schemas_->order().Check(bad).message(),
            "#/lines/1/quantity: fails \"pattern\" (schema #/definitions/decimal)");
}

TEST_F(SchemaTest, FullCustomerConforms) {
  const std::string json = ToJson(FullCustomer());
  for (const char* key :
       {"\"mobiles\"", "\"emails\"", "\"wecom\"", "\"credit_code\"", "\"addresses\"", "\"region\"",
        "\"tier\"", "\"credit\"", "\"tags\"", "\"updated_at\"", "\"ext\""}) {
    EXPECT_NE(json.find(key), std::string::npos) << key;
  }
  EXPECT_TRUE(schemas_->customer().Check(json).ok()) << schemas_->customer().Check(json).ToString();
  EXPECT_TRUE(schemas_->CheckData(kCustomerUpserted, json).ok());
  Customer c = FullCustomer();
  for (CustomerKind k : {CustomerKind::kPerson, CustomerKind::kCompany, CustomerKind::kDealer}) {
    c.kind = k;
    EXPECT_TRUE(schemas_->customer().Check(ToJson(c)).ok()) << CustomerKindName(k);
  }
}

TEST_F(SchemaTest, CustomerSchemaRejectsWhatTheModelRejects) {
  const std::string good = ToJson(FullCustomer());
  const std::pair<const char*, const char*> cases[] = {
      {"/kind", R"("robot")"},     {"/mobiles/0", R"("13805710042")"},
      {"/emails/0", R"("a b@c")"}, {"/credit_code", R"("123")"},
      {"/credit/limit", "500000"}, {"/credit/currency", R"("rmb")"},
      {"/source/id", ""},          {"/kind", ""},
      {"/mobiles", "[]"},          {"/addresses/0/zip", R"("1")"},
      {"/wecom/openid", R"("x")"}, {"/updated_at", R"("2024-03-11")"},
  };
  for (const auto& [pointer, value] : cases) {
    EXPECT_FALSE(schemas_->customer().Check(Mutate(good, pointer, value)).ok())
        << pointer << " = " << value;
  }
}

TEST_F(SchemaTest, StockLevelConforms) {
  StockLevel s;
  s.warehouse = "WH-SH-01";
  s.sku = "TEA-LJ-250";
  s.on_hand = Decimal::FromInteger(120);
  s.available = *Decimal::Parse("96.5");
  s.reserved = *Decimal::Parse("23.5");
  s.as_of = *ParseRfc3339("2024-03-11T09:00:00+08:00");
  s.source = {"jushuitan", "1001"};
  s.ext_json = R"({"batch":"B7"})";
  const std::string json = ToJson(s);
  EXPECT_TRUE(schemas_->stock_level().Check(json).ok())
      << schemas_->stock_level().Check(json).ToString();
  EXPECT_TRUE(schemas_->CheckData(kStockLevelUpserted, json).ok());
  EXPECT_FALSE(schemas_->stock_level().Check(Mutate(json, "/on_hand", "120")).ok());
  EXPECT_FALSE(schemas_->stock_level().Check(Mutate(json, "/sku", "")).ok());
}

TEST_F(SchemaTest, CloudEventEnvelopeConforms) {
  CloudEvent e;
  e.id = "3b241101-e2bb-4255-8caf-4136c566a962";
  e.source = "/connectors/webshop";
  e.type = std::string(kOrderUpserted);
  e.time = *ParseRfc3339("2024-03-08T10:15:31+08:00");
  e.subject = "order/webshop/6123456789012345678";
  e.data_json = ToJson(FullOrder());
  const std::string json = ToJson(e);
  EXPECT_TRUE(schemas_->CheckEnvelope(json).ok()) << schemas_->CheckEnvelope(json).ToString();
  EXPECT_FALSE(schemas_->CheckEnvelope(Mutate(json, "/specversion", R"("0.3")")).ok());
  EXPECT_FALSE(schemas_->CheckEnvelope(Mutate(json, "/time", "")).ok());
  EXPECT_FALSE(schemas_->CheckEnvelope(Mutate(json, "/type", R"("order.upserted")")).ok());
  EXPECT_FALSE(schemas_->CheckEnvelope(Mutate(json, "/traceparent", R"("00-1")")).ok());
}

TEST_F(SchemaTest, UnknownTypesHaveNoSchema) {
  EXPECT_EQ(schemas_->CheckData("com.example.thing", "{}").code(), StatusCode::kNotFound);
  EXPECT_EQ(schemas_->CheckData("com.channelhub.invoice.upserted", "{}").code(),
            StatusCode::kNotFound);
}

// The enums in the schemas list exactly the names the model writes.
TEST_F(SchemaTest, SchemaEnumsMatchTheModel) {
  rapidjson::Document order;
  ASSERT_TRUE(json::Parse(ReadFile(kSchemaDir + "/order.schema.json"), &order).ok());
  const rapidjson::Value* statuses = rapidjson::Pointer("/properties/status/enum").Get(order);
  ASSERT_NE(statuses, nullptr);
  std::vector<std::string> names;
  for (const auto& v : statuses->GetArray()) names.emplace_back(v.GetString());
  EXPECT_EQ(names, (std::vector<std::string>{"created", "confirmed", "paid", "shipped", "delivered",
                                             "cancelled", "refunded"}));
  for (const std::string& n : names) EXPECT_TRUE(ParseOrderStatus(n).has_value()) << n;

  const rapidjson::Value* channels = rapidjson::Pointer("/properties/channel/enum").Get(order);
  ASSERT_NE(channels, nullptr);
  ASSERT_EQ(channels->Size(), 4u);
  for (const auto& v : channels->GetArray())
    EXPECT_TRUE(ParseOrderChannel(v.GetString()).has_value());

  rapidjson::Document customer;
  ASSERT_TRUE(json::Parse(ReadFile(kSchemaDir + "/customer.schema.json"), &customer).ok());
  const rapidjson::Value* kinds = rapidjson::Pointer("/properties/kind/enum").Get(customer);
  ASSERT_NE(kinds, nullptr);
  ASSERT_EQ(kinds->Size(), 3u);
  for (const auto& v : kinds->GetArray()) EXPECT_TRUE(ParseCustomerKind(v.GetString()).has_value());
}

TEST_F(SchemaTest, LoadReportsMissingFiles) {
  Result<CanonicalSchemas> s = CanonicalSchemas::Load("/nonexistent");
  EXPECT_EQ(s.status().code(), StatusCode::kIoError);
  EXPECT_EQ(s.status().message(), "cannot read /nonexistent/order.schema.json");
  EXPECT_EQ(JsonSchema::FromText("[").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace channelhub::model
