#include "hub/model/order.hpp"

#include <gtest/gtest.h>

namespace channelhub::model {
namespace {

Decimal D(std::string_view s) { return *Decimal::Parse(s); }
UtcTime T(std::string_view s) { return *ParseRfc3339(s); }

Order FullOrder() {
  Order o;
  o.order_no = "#1058";
  o.source = {"shopify", "6123456789012345678"};
  o.channel = OrderChannel::kEcommerce;
  o.dealer_id = "D-042";
  o.buyer = Buyer{{"shopify", "7012345678901234567"}, "李娜", "+8613912345678", "li.na@example.cn"};
  o.status = OrderStatus::kShipped;
  o.shipments = {Shipment{"SF Express", "SF1234567890", T("2024-03-09T09:30:00+08:00")}};
  o.currency = "CNY";
  o.lines = {
      OrderLine{1, "TEA-LJ-250", "西湖龙井 - 250g", D("2"), D("388.00"), D("20.00"), D("0.13"),
                D("756.00")},
      OrderLine{2, "CUP-CELADON-01", "龙泉青瓷茶杯", D("1"), D("128.50"), std::nullopt,
                std::nullopt, D("128.50")},
  };
  o.totals = OrderTotals{D("884.50"), D("20.00"), D("101.75"), D("15.00"), D("899.50")};
  o.ship_to = Address{"上海市", "上海市", "徐汇区", "漕溪北路 88 号", "200030", "CN"};
  o.created_at = T("2024-03-08T10:15:30+08:00");
  o.updated_at = T("2024-03-08T10:16:02.250+08:00");
  o.ext_json = R"({"tags":"vip","note":"请工作日送货"})";
  return o;
}

constexpr std::string_view kFullOrderJson =
    R"({"order_no":"#1058","source":{"system":"shopify","id":"6123456789012345678"},"channel":"ecommerce",)"
    R"("dealer_id":"D-042","buyer":{"source":{"system":"shopify","id":"7012345678901234567"},"name":"李娜",)"
    R"("mobile":"+8613912345678","email":"li.na@example.cn"},"status":"shipped",)"
    R"("shipments":[{"carrier":"SF Express","tracking_no":"SF1234567890","shipped_at":"2024-03-09T01:30:00Z"}],)"
    R"("currency":"CNY","lines":[{"line_no":1,"sku":"TEA-LJ-250","name":"西湖龙井 - 250g","quantity":"2",)"
    R"("unit_price":"388.00","discount":"20.00","tax_rate":"0.13","amount":"756.00"},)"
    R"({"line_no":2,"sku":"CUP-CELADON-01","name":"龙泉青瓷茶杯","quantity":"1","unit_price":"128.50",)"
    R"("amount":"128.50"}],"totals":{"subtotal":"884.50","discount":"20.00","tax":"101.75","shipping":"15.00",)"
    R"("total":"899.50"},"ship_to":{"province":"上海市","city":"上海市","district":"徐汇区","line":"漕溪北路 88 号",)"
    R"("postcode":"200030","country":"CN"},"created_at":"2024-03-08T02:15:30Z",)"
    R"("updated_at":"2024-03-08T02:16:02.250Z","ext":{"tags":"vip","note":"请工作日送货"}})";

std::string Error(std::string_view json) {
  Result<Order> o = OrderFromJson(json);
  EXPECT_FALSE(o.ok()) << json;
  if (o.ok()) return "";
  EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument);
  return o.status().message();
}

// A valid minimal order with "replace" spliced in for the lines array.
std::string WithLines(std::string_view lines) {
  return R"({"order_no":"1","source":{"system":"s"},"channel":"direct","status":"created","currency":"CNY",)"
         R"("lines":)" +
         std::string(lines) + R"(,"totals":{"total":"1.00"}})";
}

TEST(OrderTest, WritesCanonicalJson) {
  ASSERT_TRUE(Validate(FullOrder()).ok()) << Validate(FullOrder()).ToString();
  EXPECT_EQ(ToJson(FullOrder()), kFullOrderJson);
}

TEST(OrderTest, RoundTrips) {
  Result<Order> back = OrderFromJson(kFullOrderJson);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, FullOrder());
  EXPECT_EQ(ToJson(*back), kFullOrderJson);
}

TEST(OrderTest, MinimalOrderOmitsAbsentValues) {
  Order o;
  o.order_no = "A1";
  o.source = {"erp", ""};
  o.currency = "USD";
  o.totals.total = D("0.00");
  const std::string json = ToJson(o);
  EXPECT_EQ(json,
            R"({"order_no":"A1","source":{"system":"erp"},"channel":"direct","status":"created",)"
            R"("currency":"USD","lines":[],"totals":{"total":"0.00"}})");
  Result<Order> back = OrderFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, o);
}

TEST(OrderTest, DecimalsStayExact) {
  Result<Order> o = OrderFromJson(WithLines(
      R"([{"line_no":1,"quantity":"0.333333333333333333","unit_price":"12345678901234567890.12","amount":"0.10"}])"));
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->lines[0].quantity.ToString(), "0.333333333333333333");
  EXPECT_EQ(o->lines[0].unit_price.ToString(), "12345678901234567890.12");
  EXPECT_EQ(o->lines[0].amount.ToString(), "0.10");
}

TEST(OrderTest, ErrorsNameTheField) {
  EXPECT_EQ(Error(WithLines(R"([{"line_no":1,"quantity":"1","unit_price":"1","amount":"1"},)"
                            R"({"line_no":2,"quantity":2,"unit_price":"1","amount":"1"}])")),
            "lines[1].quantity: expected a decimal string, got number");
  EXPECT_EQ(Error(WithLines(R"([{"line_no":1,"quantity":"1e3","unit_price":"1","amount":"1"}])")),
            "lines[0].quantity: invalid decimal \"1e3\": exponent notation is not supported");
  EXPECT_EQ(Error(WithLines(R"([{"line_no":1,"quantity":"1","unit_price":"1"}])")),
            "lines[0].amount: required");
  EXPECT_EQ(Error(WithLines(R"([{"line_no":0,"quantity":"1","unit_price":"1","amount":"1"}])")),
            "lines[0].line_no: must be between 1 and 1000000, got 0");
  EXPECT_EQ(Error(WithLines(R"([{"line_no":1.5,"quantity":"1","unit_price":"1","amount":"1"}])")),
            "lines[0].line_no: expected an integer, got a fraction or a number out of range");
  EXPECT_EQ(Error(WithLines(R"([{"line_no":1,"quantity":"1","unit_price":"1","amount":"1"},)"
                            R"({"line_no":1,"quantity":"1","unit_price":"1","amount":"1"}])")),
            "lines[1].line_no: 1 is used twice");
  EXPECT_EQ(
      Error(WithLines(R"([{"line_no":1,"qty":"1","quantity":"1","unit_price":"1","amount":"1"}])")),
      "lines[0].qty: unknown key");
  EXPECT_EQ(Error(WithLines(
                R"([{"line_no":1,"sku":null,"quantity":"1","unit_price":"1","amount":"1"}])")),
            "lines[0].sku: expected a string, got null");
  EXPECT_EQ(Error(WithLines(R"({"line_no":1})")), "lines: expected an array, got object");
  EXPECT_EQ(Error(WithLines(R"([7])")), "lines[0]: expected an object, got number");

  EXPECT_EQ(Error("[]"), "expected a JSON object, got array");
  EXPECT_EQ(Error("{"), "invalid JSON at offset 1 (line 1, column 2): Missing a name for object member.");
  EXPECT_EQ(Error(R"({"source":{"system":"s"}})"), "order_no: required");
  EXPECT_EQ(Error(R"({"order_no":"1"})"), "source: required");
  EXPECT_EQ(Error(R"({"order_no":"1","source":{"id":"9"}})"), "source.system: required");
  EXPECT_EQ(Error(R"({"order_no":"1","source":{"system":"s"},"channel":"shop"})"),
            "channel: expected dealer, ecommerce, direct or wecom, got \"shop\"");
  EXPECT_EQ(Error(R"({"order_no":"1","source":{"system":"s"},"channel":"direct","status":"done"})"),
            "status: expected created, confirmed, paid, shipped, delivered, cancelled or refunded, "
            "got \"done\"");
  EXPECT_EQ(
      Error(
          R"({"order_no":"1","source":{"system":"s"},"channel":"direct","status":"paid","currency":"rmb",)"
          R"("lines":[],"totals":{"total":"1"}})"),
      "currency: expected an ISO 4217 currency code such as CNY, got \"rmb\"");
  EXPECT_EQ(
      Error(
          R"({"order_no":"1","source":{"system":"s"},"channel":"direct","status":"paid","currency":"CNY",)"
          R"("lines":[],"totals":{}})"),
      "totals.total: required");
  EXPECT_EQ(
      Error(
          R"({"order_no":"1","source":{"system":"s"},"channel":"direct","status":"paid","currency":"CNY",)"
          R"("lines":[],"totals":{"total":"1"},"created_at":"2021-02-30T00:00:00Z"})"),
      "created_at: invalid time \"2021-02-30T00:00:00Z\": there is no day 30 in February 2021");
  EXPECT_EQ(
      Error(
          R"({"order_no":"1","source":{"system":"s"},"channel":"direct","status":"paid","currency":"CNY",)"
          R"("lines":[],"totals":{"total":"1"},"buyer":{"mobile":"13912345678"}})"),
      "buyer.mobile: expected an E.164 phone number such as +8613800138000, got \"13912345678\"");
  EXPECT_EQ(
      Error(
          R"({"order_no":"1","source":{"system":"s"},"channel":"direct","status":"paid","currency":"CNY",)"
          R"("lines":[],"totals":{"total":"1"},"ext":[1]})"),
      "ext: expected an object, got array");
  EXPECT_EQ(
      Error(
          R"({"order_no":"1","source":{"system":"s"},"channel":"direct","status":"paid","currency":"CNY",)"
          R"("lines":[],"totals":{"total":"1"},"ship_to":{"country":"China"}})"),
      "ship_to.country: expected an ISO 3166-1 alpha-2 code such as CN, got \"China\"");
}

TEST(OrderTest, EnumNamesRoundTrip) {
  for (OrderStatus s :
       {OrderStatus::kCreated, OrderStatus::kConfirmed, OrderStatus::kPaid, OrderStatus::kShipped,
        OrderStatus::kDelivered, OrderStatus::kCancelled, OrderStatus::kRefunded}) {
    EXPECT_EQ(ParseOrderStatus(OrderStatusName(s)), s);
  }
  for (OrderChannel c : {OrderChannel::kDealer, OrderChannel::kEcommerce, OrderChannel::kDirect,
                         OrderChannel::kWecom}) {
    EXPECT_EQ(ParseOrderChannel(OrderChannelName(c)), c);
  }
  EXPECT_EQ(ParseOrderStatus("Paid"), std::nullopt);
}

TEST(OrderTest, ExtThatIsNotAnObjectIsKeptNotDropped) {
  Order o = FullOrder();
  o.ext_json = "not json";
  EXPECT_FALSE(Validate(o).ok());
  const std::string json = ToJson(o);
  EXPECT_NE(json.find(R"("ext":{"unparsed":"not json"})"), std::string::npos) << json;
  EXPECT_TRUE(OrderFromJson(json).ok());
}

}  // namespace
}  // namespace channelhub::model
