#include "connectors/ecommerce/shopify.hpp"

#include <gtest/gtest.h>

#include "connectors/common/crypto.hpp"
#include "tests/unit/ecommerce/abi_driver.hpp"

namespace channelhub::connectors::ecommerce {
namespace {

using abi::FakeHost;
using abi::Instance;
using abi::KeyValues;

const std::string kS1Secret = "test-webhook-secret";
const std::string kS1Body = R"({"id":1234567890,"email":"customer@example.com","total_price":"123.45"})";
const std::string kS1Hmac = "QNyObTlKbMx2qDlPF/ZOZcBqg5OgPg+2oky3zldc0Gw=";
const std::string kS2Hmac = "UFwgrGBPZilFtmKh8TqcovA78LGYb1BdWu9I4Q2oyRg=";

chub_connector Abi() { return sdk::Describe<Shopify>("shopify", "test", CHUB_CAP_INBOUND, kShopifySettings); }

KeyValues Headers(const std::string& hmac, const std::string& topic = "orders/create") {
  return {{"Content-Type", "application/json"},
          {"X-Shopify-Topic", topic},
          {"X-Shopify-Hmac-Sha256", hmac},
          {"X-Shopify-Shop-Domain", "example.myshopify.com"},
          {"X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"},
          {"X-Shopify-Event-Id", "98880550-7158-44d4-b7cd-2c97c8a091b5"},
          {"X-Shopify-Triggered-At", "2023-11-14T22:13:20.000Z"}};
}

KeyValues Without(KeyValues h, const std::string& name) {
  std::erase_if(h, [&](const auto& kv) { return kv.first == name; });
  return h;
}

TEST(ShopifyTest, VectorsMatchTheCryptoHelpers) {
  EXPECT_EQ(Base64Encode(HmacSha256(kS1Secret, kS1Body)), kS1Hmac);
  EXPECT_EQ(HexLower(HmacSha256(kS1Secret, kS1Body)),
            "40dc8e6d394a6ccc76a8394f17f64e65c06a8393a03e0fb6a24cb7ce575cd06c");
  EXPECT_EQ(Base64Encode(HmacSha256("hush", "{}")), kS2Hmac);
}

TEST(ShopifyTest, AcceptsS1AndJournalsUnderTopicAndEventId) {
  FakeHost host;
  Instance shop(Abi(), &host, {{"secret", kS1Secret}});
  ASSERT_TRUE(shop.ok()) << shop.error();
  auto out = shop.Inbound(Headers(kS1Hmac), kS1Body);
  ASSERT_FALSE(out.rejected) << out.reason;
  ASSERT_EQ(out.payloads.size(), 1u);
  EXPECT_EQ(out.payloads[0].event_id, "98880550-7158-44d4-b7cd-2c97c8a091b5");
  EXPECT_EQ(out.payloads[0].kind, "orders/create");
  EXPECT_EQ(out.payloads[0].content_type, "application/json");
  EXPECT_EQ(out.payloads[0].body, kS1Body);  // the raw bytes, untouched
  EXPECT_TRUE(out.responded);
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.body, "");
}

TEST(ShopifyTest, AcceptsS2AndFallsBackToWebhookIdThenToBodyHash) {
  FakeHost host;
  Instance shop(Abi(), &host, {{"secret", "hush"}});
  ASSERT_TRUE(shop.ok());
  auto out = shop.Inbound(Without(Headers(kS2Hmac, "customers/update"), "X-Shopify-Event-Id"), "{}");
  ASSERT_FALSE(out.rejected) << out.reason;
  ASSERT_EQ(out.payloads.size(), 1u);
  EXPECT_EQ(out.payloads[0].event_id, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
  EXPECT_EQ(out.payloads[0].kind, "customers/update");

  auto bare = shop.Inbound(Without(Without(Headers(kS2Hmac), "X-Shopify-Event-Id"), "X-Shopify-Webhook-Id"), "{}");
  ASSERT_EQ(bare.payloads.size(), 1u);
  EXPECT_EQ(bare.payloads[0].event_id, "");
}

TEST(ShopifyTest, HeaderNamesAreCaseInsensitive) {
  FakeHost host;
  Instance shop(Abi(), &host, {{"secret", kS1Secret}});
  auto out = shop.Inbound({{"x-shopify-hmac-sha256", kS1Hmac}, {"x-shopify-topic", "orders/paid"},
                           {"x-shopify-event-id", "e-1"}},
                          kS1Body);
  ASSERT_EQ(out.payloads.size(), 1u) << out.reason;
  EXPECT_EQ(out.payloads[0].kind, "orders/paid");
  EXPECT_EQ(out.payloads[0].event_id, "e-1");
}

TEST(ShopifyTest, JournalsUndocumentedTopicsToo) {
  FakeHost host;
  Instance shop(Abi(), &host, {{"secret", kS1Secret}});
  auto out = shop.Inbound(Headers(kS1Hmac, "app/uninstalled"), kS1Body);
  ASSERT_EQ(out.payloads.size(), 1u);
  EXPECT_EQ(out.payloads[0].kind, "app/uninstalled");
}

TEST(ShopifyTest, RefusesTamperedBodyWrongSecretAndMissingOrMalformedSignature) {
  FakeHost host;
  Instance shop(Abi(), &host, {{"secret", kS1Secret}});
  std::string tampered = kS1Body;
  tampered.replace(tampered.find("123.45"), 6, "023.45");
  for (const auto& [headers, body] : std::vector<std::pair<KeyValues, std::string>>{
           {Headers(kS1Hmac), tampered},
           {Headers(kS1Hmac), kS1Body + " "},
           {Headers(kS2Hmac), kS1Body},
           {Without(Headers(kS1Hmac), "X-Shopify-Hmac-Sha256"), kS1Body},
           {Headers(""), kS1Body},
           {Headers("not base64!"), kS1Body},
           {Headers(HexLower(HmacSha256(kS1Secret, kS1Body))), kS1Body},  // hex is not what Shopify sends
           {Headers(kS1Hmac.substr(0, kS1Hmac.size() - 4)), kS1Body},
       }) {
    auto out = shop.Inbound(headers, body);
    EXPECT_TRUE(out.rejected);
    EXPECT_EQ(out.reject_status, 401);
    EXPECT_EQ(out.reason, "invalid signature");
    EXPECT_TRUE(out.payloads.empty());
  }

  Instance other(Abi(), &host, {{"secret", "another-secret"}});
  auto out = other.Inbound(Headers(kS1Hmac), kS1Body);
  EXPECT_TRUE(out.rejected);
  EXPECT_EQ(out.reject_status, 401);
}

TEST(ShopifyTest, SignatureIsCheckedBeforeTopicAndBody) {
  FakeHost host;
  Instance shop(Abi(), &host, {{"secret", "hush"}});
  auto out = shop.Inbound(Without(Headers("AAAA"), "X-Shopify-Topic"), "not json");
  EXPECT_EQ(out.reject_status, 401);
}

TEST(ShopifyTest, RefusesMissingTopicAndNonJsonBodies) {
  FakeHost host;
  Instance shop(Abi(), &host, {{"secret", "hush"}});
  auto no_topic = shop.Inbound(Without(Headers(kS2Hmac), "X-Shopify-Topic"), "{}");
  EXPECT_TRUE(no_topic.rejected);
  EXPECT_EQ(no_topic.reject_status, 400);

  const std::string xml = "<order/>";
  auto not_json = shop.Inbound(Headers(Base64Encode(HmacSha256("hush", xml))), xml);
  EXPECT_TRUE(not_json.rejected);
  EXPECT_EQ(not_json.reject_status, 400);

  const std::string spaced = " \n\t{\"a\":1}";
  auto ok = shop.Inbound(Headers(Base64Encode(HmacSha256("hush", spaced))), spaced);
  EXPECT_FALSE(ok.rejected) << ok.reason;
  EXPECT_EQ(ok.payloads.size(), 1u);
}

TEST(ShopifyTest, MaxAgeRefusesStaleDeliveries) {
  FakeHost host;
  host.now_ms = *ParseIso8601Ms("2023-11-14T22:13:20Z") + 299'000;  // 299 s after the trigger
  Instance shop(Abi(), &host, {{"secret", kS1Secret}, {"max_age", "300"}});
  ASSERT_TRUE(shop.ok()) << shop.error();
  auto fresh = shop.Inbound(Headers(kS1Hmac), kS1Body);
  EXPECT_FALSE(fresh.rejected) << fresh.reason;

  host.now_ms += 2'000;  // 301 s
  auto stale = shop.Inbound(Headers(kS1Hmac), kS1Body);
  EXPECT_TRUE(stale.rejected);
  EXPECT_EQ(stale.reject_status, 400);
  EXPECT_NE(stale.reason.find("stale"), std::string::npos);

  auto missing = shop.Inbound(Without(Headers(kS1Hmac), "X-Shopify-Triggered-At"), kS1Body);
  EXPECT_EQ(missing.reject_status, 400);

  // Without max_age, old deliveries are fine (retries carry the original payload).
  Instance lax(Abi(), &host, {{"secret", kS1Secret}});
  host.now_ms += 86'400'000;
  EXPECT_FALSE(lax.Inbound(Headers(kS1Hmac), kS1Body).rejected);
}

TEST(ShopifyTest, SettingsAreChecked) {
  FakeHost host;
  Instance none(Abi(), &host, {});
  EXPECT_FALSE(none.ok());
  EXPECT_NE(none.error().find("secret"), std::string::npos);
  Instance bad_age(Abi(), &host, {{"secret", "x"}, {"max_age", "5m"}});
  EXPECT_FALSE(bad_age.ok());
  EXPECT_NE(bad_age.error().find("max_age"), std::string::npos);
  Instance zero_age(Abi(), &host, {{"secret", "x"}, {"max_age", "0"}});
  EXPECT_FALSE(zero_age.ok());
}

TEST(ShopifyTest, ParsesTriggeredAtTimestamps) {
  EXPECT_EQ(ParseIso8601Ms("1970-01-01T00:00:01Z"), 1000);
  EXPECT_EQ(ParseIso8601Ms("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(ParseIso8601Ms("2023-03-29T18:00:27.877041743Z"), 1680112827877);
  EXPECT_EQ(ParseIso8601Ms("2023-03-29T20:00:27+02:00"), 1680112827000);
  EXPECT_EQ(ParseIso8601Ms("2023-03-29T13:00:27-0500"), 1680112827000);
  EXPECT_FALSE(ParseIso8601Ms("2023-03-29T18:00:27"));  // no zone
  EXPECT_FALSE(ParseIso8601Ms("2023-02-30T18:00:27Z"));
  EXPECT_FALSE(ParseIso8601Ms("yesterday"));
  EXPECT_FALSE(ParseIso8601Ms("2023-03-29T18:00:27Zjunk"));
}

}  // namespace
}  // namespace channelhub::connectors::ecommerce
