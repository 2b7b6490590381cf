#include "hub/model/customer.hpp"

#include <gtest/gtest.h>

namespace channelhub::model {
namespace {

Customer FullCustomer() {
  Customer c;
  c.kind = CustomerKind::kDealer;
  c.name = "杭州茗香茶业有限公司";
  c.mobiles = {"+8613805710042"};
  c.emails = {"purchase@mingxiang-tea.example.cn", "boss@mingxiang-tea.example.cn"};
  c.wecom = {"wmJ1a2bC3d4E5f6G7h8I9j0K", "oAbCdEfGhIjKlMnOpQ"};
  c.credit_code = "91330106MA2B3C4D5E";
  c.addresses = {Address{"浙江省", "杭州市", "西湖区", "龙井路 18 号", "310013", "CN"},
                 Address{"", "上海市", "", "漕溪北路 88 号", "", "CN"}};
  c.region = "华东";
  c.tier = "gold";
  c.credit = Credit{*Decimal::Parse("500000.00"), *Decimal::Parse("11928.00"), "CNY"};
  c.tags = {"tea", "key-account"};
  c.updated_at = *ParseRfc3339("2024-03-11T10:05:00+08:00");
  c.source = {"kingdee", "CUST-000042"};
  c.ext_json = R"({"kingdee_group":"经销商","levels":[1,2]})";
  return c;
}

constexpr std::string_view kFullCustomerJson =
    R"({"kind":"dealer","name":"杭州茗香茶业有限公司","mobiles":["+8613805710042"],)"
    R"("emails":["purchase@mingxiang-tea.example.cn","boss@mingxiang-tea.example.cn"],)"
    R"("wecom":{"external_userid":"wmJ1a2bC3d4E5f6G7h8I9j0K","unionid":"oAbCdEfGhIjKlMnOpQ"},)"
    R"("credit_code":"91330106MA2B3C4D5E","addresses":[{"province":"浙江省","city":"杭州市","district":"西湖区",)"
    R"("line":"龙井路 18 号","postcode":"310013","country":"CN"},{"city":"上海市","line":"漕溪北路 88 号","country":"CN"}],)"
    R"("region":"华东","tier":"gold","credit":{"limit":"500000.00","used":"11928.00","currency":"CNY"},)"
    R"("tags":["tea","key-account"],"updated_at":"2024-03-11T02:05:00Z",)"
    R"("source":{"system":"kingdee","id":"CUST-000042"},"ext":{"kingdee_group":"经销商","levels":[1,2]}})";

std::string Error(std::string_view json) {
  Result<Customer> c = CustomerFromJson(json);
  EXPECT_FALSE(c.ok()) << json;
  return c.ok() ? "" : c.status().message();
}

TEST(CustomerTest, WritesCanonicalJson) {
  ASSERT_TRUE(Validate(FullCustomer()).ok());
  EXPECT_EQ(ToJson(FullCustomer()), kFullCustomerJson);
}

TEST(CustomerTest, RoundTrips) {
  Result<Customer> back = CustomerFromJson(kFullCustomerJson);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, FullCustomer());
  EXPECT_EQ(ToJson(*back), kFullCustomerJson);
}

TEST(CustomerTest, MinimalCustomer) {
  Customer c;
  c.source = {"wecom", "wmABC"};
  EXPECT_EQ(ToJson(c), R"({"kind":"person","source":{"system":"wecom","id":"wmABC"}})");
  Result<Customer> back = CustomerFromJson(ToJson(c));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, c);
}

TEST(CustomerTest, ErrorsNameTheField) {
  EXPECT_EQ(Error(R"({"source":{"system":"s","id":"1"}})"), "kind: required");
  EXPECT_EQ(Error(R"({"kind":"robot","source":{"system":"s","id":"1"}})"),
            "kind: expected person, company or dealer, got \"robot\"");
  EXPECT_EQ(Error(R"({"kind":"person"})"), "source: required");
  EXPECT_EQ(Error(R"({"kind":"person","source":{"system":"s"}})"), "source.id: required");
  EXPECT_EQ(
      Error(
          R"({"kind":"person","source":{"system":"s","id":"1"},"mobiles":["+8613800138000","138"]})"),
      "mobiles[1]: expected an E.164 phone number such as +8613800138000, got \"138\"");
  EXPECT_EQ(
      Error(R"({"kind":"person","source":{"system":"s","id":"1"},"emails":["a@b","nobody"]})"),
      "emails[1]: expected an email address, got \"nobody\"");
  EXPECT_EQ(Error(R"({"kind":"person","source":{"system":"s","id":"1"},"emails":"a@b"})"),
            "emails: expected an array, got string");
  EXPECT_EQ(
      Error(
          R"({"kind":"person","source":{"system":"s","id":"1"},"addresses":[{"postcode":310013}]})"),
      "addresses[0].postcode: expected a string, got number");
  EXPECT_EQ(Error(R"({"kind":"person","source":{"system":"s","id":"1"},"credit":{"limit":5000}})"),
            "credit.limit: expected a decimal string, got number");
  EXPECT_EQ(Error(R"({"kind":"company","source":{"system":"s","id":"1"},"credit_code":"123"})"),
            "credit_code: expected 18 digits or upper-case letters, got \"123\"");
  EXPECT_EQ(Error(R"({"kind":"company","source":{"system":"s","id":"1"},"wecom":{"openid":"x"}})"),
            "wecom.openid: unknown key");
  EXPECT_EQ(Error(R"({"kind":"company","source":{"system":"s","id":"1"},"nickname":"x"})"),
            "nickname: unknown key");
}

TEST(CustomerTest, KindNames) {
  EXPECT_EQ(CustomerKindName(CustomerKind::kCompany), "company");
  EXPECT_EQ(ParseCustomerKind("dealer"), CustomerKind::kDealer);
  EXPECT_EQ(ParseCustomerKind(""), std::nullopt);
}

}  // namespace
}  // namespace channelhub::model
