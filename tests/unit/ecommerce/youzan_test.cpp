#include "connectors/ecommerce/youzan.hpp"

#include <cctype>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "connectors/common/crypto.hpp"
#include "tests/unit/ecommerce/abi_driver.hpp"

namespace channelhub::connectors::ecommerce {
namespace {

using abi::FakeHost;
using abi::Instance;

// The real push captured in protocols.md §2.6; its client_secret is not public, so the tests
// sign it with a made-up secret. kSampleSign was computed outside this code base:
//   printf '%s' "<client_id><msg><secret>" | md5sum
const std::string kClientId = "cd0e03a4099eb5c933";
const std::string kSecret = "made-up-youzan-secret";
const std::string kSampleMsg =
    "%7B%22update_time%22:%222018-01-27%2017:31:41%22,%22extra_info%22:%22%7B%5C%22is_retail_offline%5C%22:false%"
    "7D%22,%22payment%22:%220.02%22,%22pay_type%22:%22%22,%22book_id%22:%22201801271730285a6c46b4a82c518438%22,%"
    "22tid%22:%22E20180127173141101500008%22,%22status%22:%22WAIT_BUYER_PAY%22%7D";
const std::string kSampleSign = "6822fba26863fb08b98db013e5dd6a79";

chub_connector Abi() { return sdk::Describe<Youzan>("youzan", "test", CHUB_CAP_INBOUND, kYouzanSettings); }

std::string Push(const std::string& msg, const std::string& sign, int send_count = 0, bool test = false,
                 const std::string& extra = "") {
  return R"({"client_id":")" + kClientId +
         R"(","id":"E20180127173141101500008","kdt_id":17284278,"kdt_name":"Pocket  黑店","mode":1,"msg":")" + msg +
         R"(","sendCount":)" + std::to_string(send_count) + R"(,"sign":")" + sign +
         R"(","status":"WAIT_BUYER_PAY","test":)" + (test ? "true" : "false") +
         R"(,"type":"TRADE_ORDER_STATE","version":1517045501)" + extra + "}";
}

std::string Sign(const std::string& msg) { return HexLower(Md5(kClientId + msg + kSecret)); }

struct YouzanTest : ::testing::Test {
  FakeHost host;
  Instance yz{Abi(), &host, {{"client_id", kClientId}, {"client_secret", kSecret}}};
};

TEST_F(YouzanTest, SignOfTheSampleIsTheIndependentlyComputedOne) { EXPECT_EQ(Sign(kSampleMsg), kSampleSign); }

TEST_F(YouzanTest, AcceptsTheRealSampleAndDecodesMsg) {
  ASSERT_TRUE(yz.ok()) << yz.error();
  auto out = yz.Inbound({{"Content-Type", "application/json"}}, Push(kSampleMsg, kSampleSign));
  ASSERT_FALSE(out.rejected) << out.reason;
  ASSERT_TRUE(out.responded);
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.content_type, "application/json");
  EXPECT_EQ(out.body, R"({"code":0,"msg":"success"})");
  ASSERT_EQ(out.payloads.size(), 1u);
  const auto& p = out.payloads[0];
  EXPECT_EQ(p.kind, "TRADE_ORDER_STATE");
  EXPECT_EQ(p.event_id, "TRADE_ORDER_STATE:E20180127173141101500008:WAIT_BUYER_PAY:1517045501");
  EXPECT_EQ(p.content_type, "application/json");

  rapidjson::Document doc;
  doc.Parse(p.body.c_str());
  ASSERT_FALSE(doc.HasParseError()) << p.body;
  EXPECT_STREQ(doc["type"].GetString(), "TRADE_ORDER_STATE");
  EXPECT_STREQ(doc["id"].GetString(), "E20180127173141101500008");
  EXPECT_STREQ(doc["status"].GetString(), "WAIT_BUYER_PAY");
  EXPECT_EQ(doc["kdt_id"].GetInt64(), 17284278);
  EXPECT_STREQ(doc["kdt_name"].GetString(), "Pocket  黑店");
  EXPECT_EQ(doc["version"].GetInt64(), 1517045501);
  EXPECT_STREQ(doc["client_id"].GetString(), kClientId.c_str());
  EXPECT_FALSE(doc.HasMember("sign"));
  EXPECT_FALSE(doc.HasMember("sendCount"));
  EXPECT_FALSE(doc.HasMember("test"));
  ASSERT_TRUE(doc["msg"].IsObject()) << p.body;
  const auto& msg = doc["msg"];
  EXPECT_STREQ(msg["update_time"].GetString(), "2018-01-27 17:31:41");
  EXPECT_STREQ(msg["payment"].GetString(), "0.02");
  EXPECT_STREQ(msg["tid"].GetString(), "E20180127173141101500008");
  EXPECT_STREQ(msg["status"].GetString(), "WAIT_BUYER_PAY");
  EXPECT_STREQ(msg["pay_type"].GetString(), "");
  EXPECT_STREQ(msg["extra_info"].GetString(), R"({"is_retail_offline":false})");
}

TEST_F(YouzanTest, RetriesGetTheSameIdAndBody) {
  auto first = yz.Inbound({}, Push(kSampleMsg, kSampleSign, 0));
  auto retry = yz.Inbound({}, Push(kSampleMsg, kSampleSign, 3));
  ASSERT_EQ(first.payloads.size(), 1u);
  ASSERT_EQ(retry.payloads.size(), 1u);
  EXPECT_EQ(first.payloads[0].event_id, retry.payloads[0].event_id);
  EXPECT_EQ(first.payloads[0].body, retry.payloads[0].body);
}

TEST_F(YouzanTest, MsgIdIsTheEventIdWhenPresent) {
  auto out = yz.Inbound({}, Push(kSampleMsg, kSampleSign, 1, false, R"(,"msg_id":"a1b2c3-v3")"));
  ASSERT_EQ(out.payloads.size(), 1u) << out.reason;
  EXPECT_EQ(out.payloads[0].event_id, "a1b2c3-v3");
}

TEST_F(YouzanTest, AcceptsUpperCaseHexSign) {
  std::string upper = kSampleSign;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_FALSE(yz.Inbound({}, Push(kSampleMsg, upper)).rejected);
}

TEST_F(YouzanTest, RefusesTamperedOrForeignPushes) {
  std::string tampered = kSampleMsg;
  tampered.replace(tampered.find("0.02"), 4, "0.01");
  std::string foreign = Push(kSampleMsg, HexLower(Md5("other-client" + kSampleMsg + kSecret)));
  foreign.replace(foreign.find(kClientId), kClientId.size(), "other-client");
  for (const std::string& body : {
           Push(tampered, kSampleSign),
           Push(kSampleMsg, HexLower(Md5(kClientId + kSampleMsg + "wrong-secret"))),
           Push(kSampleMsg, ""),
           foreign,
           std::string(R"({"client_id":"cd0e03a4099eb5c933","msg":"x","type":"T"})"),  // no sign
       }) {
    auto out = yz.Inbound({}, body);
    EXPECT_TRUE(out.rejected) << body;
    EXPECT_EQ(out.reject_status, 401);
    EXPECT_EQ(out.reason, "invalid signature");
    EXPECT_TRUE(out.payloads.empty());
  }
}

TEST_F(YouzanTest, RefusesBodiesThatAreNotJsonObjects) {
  for (const std::string& body : {std::string("client_id=x&msg=y"), std::string("[]"), std::string("")}) {
    auto out = yz.Inbound({}, body);
    EXPECT_TRUE(out.rejected);
    EXPECT_EQ(out.reject_status, 400);
  }
}

TEST_F(YouzanTest, LivenessProbesAreAnsweredButNotJournaled) {
  auto out = yz.Inbound({}, Push(kSampleMsg, kSampleSign, 0, true));
  EXPECT_FALSE(out.rejected) << out.reason;
  EXPECT_TRUE(out.payloads.empty());
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.body, R"({"code":0,"msg":"success"})");

  auto empty_probe = yz.Inbound({}, R"({"client_id":")" + kClientId + R"(","msg":"","sign":")" + Sign("") +
                                         R"(","test":true})");
  EXPECT_FALSE(empty_probe.rejected) << empty_probe.reason;
  EXPECT_TRUE(empty_probe.payloads.empty());

  auto forged = yz.Inbound({}, Push(kSampleMsg, "0000", 0, true));
  EXPECT_TRUE(forged.rejected);
}

TEST_F(YouzanTest, PlusIsLiteralAndNonJsonMsgIsKeptAsText) {
  const std::string plus = "%7B%22note%22:%22a+b%20c%22%7D";
  auto out = yz.Inbound({}, Push(plus, Sign(plus)));
  ASSERT_EQ(out.payloads.size(), 1u) << out.reason;
  rapidjson::Document doc;
  doc.Parse(out.payloads[0].body.c_str());
  EXPECT_STREQ(doc["msg"]["note"].GetString(), "a+b c");

  const std::string text = "not%20json%7B";
  auto kept = yz.Inbound({}, Push(text, Sign(text)));
  ASSERT_EQ(kept.payloads.size(), 1u) << kept.reason;
  doc.Parse(kept.payloads[0].body.c_str());
  ASSERT_TRUE(doc["msg"].IsString());
  EXPECT_STREQ(doc["msg"].GetString(), "not json{");
}

// Found by tests/fuzz (connector_inbound): a signed push whose msg nested a few hundred thousand
// levels deep overflowed the stack when it was copied into the payload.
TEST_F(YouzanTest, DeeplyNestedJsonIsNotRecursedInto) {
  const std::string deep = std::string(300000, '[') + std::string(300000, ']');
  auto kept = yz.Inbound({}, Push(deep, Sign(deep)));
  ASSERT_EQ(kept.payloads.size(), 1u) << kept.reason;  // kept as text, as any msg that is not JSON
  rapidjson::Document doc;
  doc.Parse(kept.payloads[0].body.c_str());
  ASSERT_TRUE(doc["msg"].IsString());
  EXPECT_EQ(doc["msg"].GetStringLength(), deep.size());

  auto refused = yz.Inbound({}, std::string(300000, '{'));
  EXPECT_TRUE(refused.rejected);
  EXPECT_EQ(refused.reject_status, 400);
}

TEST(YouzanSettingsTest, ClientIdAndSecretAreRequired) {
  FakeHost host;
  Instance a(Abi(), &host, {{"client_id", kClientId}});
  EXPECT_FALSE(a.ok());
  EXPECT_NE(a.error().find("client_secret"), std::string::npos);
  Instance b(Abi(), &host, {{"client_secret", kSecret}});
  EXPECT_FALSE(b.ok());
}

}  // namespace
}  // namespace channelhub::connectors::ecommerce
