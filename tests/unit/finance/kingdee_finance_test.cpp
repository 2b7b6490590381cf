// kingdee_finance: Kingdee's signed headers (vector K1 of protocols.md §4.2), receivable posting
// (Save / Submit / Audit, the status gate, the View before a retried Save), the judge, and the
// credit-limit poll with its cursor.
#include "connectors/finance/kingdee_finance.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <channelhub/plugin.hpp>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sdk = channelhub::sdk;
namespace fin = channelhub::connectors::finance;
namespace kd = channelhub::connectors::finance::kd;

namespace {

using KV = std::vector<std::pair<std::string, std::string>>;

// K1 (protocols.md §4.2, derived from the official SDK's sample inputs).
constexpr const char* kAppId = "204399_72epSbtEQMC92Vwt2d3LRa9LRqSc1tqJ";
constexpr const char* kAppSecret = "fb7d46647ac346dbb5fcd45b65512a45";

std::vector<chub_kv> ToKv(const KV& kv) {
  std::vector<chub_kv> out;
  for (const auto& [k, v] : kv) out.push_back({sdk::Str(k), sdk::Str(v)});
  return out;
}

int64_t Now(void*) { return 1700000000123; }
void Random(void*, unsigned char* b, size_t n) {
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>(0xA0 + i);
}

KV Settings(KV extra = {}) {
  KV kv = {{"url", "http://erp.example:8090/k3cloud/"}, {"app_id", kAppId}, {"app_secret", kAppSecret},
           {"acct_id", "5db25ac8d2b819"},               {"user", "webapi"}};
  for (auto& e : extra) {
    bool replaced = false;
    for (auto& [k, v] : kv) {
      if (k == e.first) {
        v = e.second;
        replaced = true;
      }
    }
    if (!replaced) kv.push_back(std::move(e));
  }
  return kv;
}

struct Conn {
  std::vector<chub_kv> kv;
  KV settings;
  std::unique_ptr<fin::KingdeeFinance> c;
  explicit Conn(KV s) : settings(std::move(s)) {
    kv = ToKv(settings);
    chub_host h{};
    h.abi_version = 1;
    h.now_ms = &Now;
    h.random = &Random;
    c = std::make_unique<fin::KingdeeFinance>(sdk::Host(h), sdk::Settings(chub_settings{kv.data(), kv.size()}));
  }
  fin::KingdeeFinance* operator->() { return c.get(); }
};

std::string H(const sdk::OutRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (sdk::EqualsIgnoreCase(k, name)) return v;
  }
  return "";
}

sdk::Response Res(int status, const std::string& body) {
  sdk::Response r;
  r.status = status;
  r.body = body;
  return r;
}

const std::string kReceivable =
    R"({"_chub":{"status":"paid"},"Model":{"FID":0,"FBillNo":"HD-PO-88017","FCUSTOMERID":{"FNumber":"CUST0087"}}})";
const std::string kSaved =
    R"({"Result":{"ResponseStatus":{"IsSuccess":true,"Errors":[],"SuccessEntitys":[{"Id":100031,"Number":"AR00000031","DIndex":0}],"SuccessMessages":[],"MsgCode":0},"Id":100031,"Number":"AR00000031","NeedReturnData":[{}]}})";
const std::string kRefused =
    R"({"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":"FCUSTOMERID","Message":"客户不存在","DIndex":0}],"SuccessEntitys":[],"SuccessMessages":[],"MsgCode":11}}})";

}  // namespace

TEST(KingdeeFinanceSign, MatchesVectorK1) {
  kd::App app{kAppId, kAppSecret, "5db25ac8d2b819", "webapi", "2052", "0"};
  sdk::Headers h = kd::Sign(
      app, "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc", "1700000000",
      "1700000000");
  std::map<std::string, std::string> m(h.begin(), h.end());
  EXPECT_EQ(m["X-Api-ClientID"], "204399");
  EXPECT_EQ(m["X-Kd-Appdata"], "NWRiMjVhYzhkMmI4MTksd2ViYXBpLDIwNTIsMA==");
  EXPECT_EQ(m["X-Kd-Signature"],
            "OWQ2YWVhM2JmOGVlYWEzYjVlZGI0NzM3MjlmYzA4NTkyYjhiMTAwNTgxODk5MmQ5NWIxMzBjZTQxNjk5ZWFiYg==");
  EXPECT_EQ(m["X-Api-Signature"],
            "ZTJhY2RiZTYxNmFhZDMxN2MyZmU2ZTMxN2I0ZmFjZGE2ZGVlMTgyNTM4YzdkOTNlYzFlNzhmZGU1M2E4YTRmNg==");
  // K1's decoded client secret (§4.2): 24 bytes whose Base64 reads like hex.
  EXPECT_EQ(kd::ClientSecret("72epSbtEQMC92Vwt2d3LRa9LRqSc1tqJ"), "31ecfd13effe724e7e78fc17f8f94b66");
  EXPECT_THROW(kd::ClientSecret("not base64!"), sdk::Failure);
}

TEST(KingdeeFinanceOut, SavesSubmitsAndAuditsAPaidOrdersReceivable) {
  Conn c(Settings({{"operations", "save,submit,audit"}}));
  sdk::Delivery d;
  d.event_id = "evt-1";
  d.body = kReceivable;
  sdk::OutRequest save = c->BuildDelivery(d);
  EXPECT_EQ(save.target, "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc");
  rapidjson::Document body;
  body.Parse(save.body.c_str());
  ASSERT_FALSE(body.HasParseError()) << save.body;
  EXPECT_STREQ(body["formid"].GetString(), "AR_receivable");
  EXPECT_FALSE(body["data"].HasMember("_chub")) << save.body;
  EXPECT_STREQ(body["data"]["Model"]["FBillNo"].GetString(), "HD-PO-88017");
  // Signed: timestamp in seconds, a random nonce, the signature over this path.
  EXPECT_EQ(H(save, "x-api-timestamp"), "1700000000");
  EXPECT_EQ(H(save, "x-api-nonce"), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  kd::App app{kAppId, kAppSecret, "5db25ac8d2b819", "webapi", "2052", "0"};
  sdk::Headers expected = kd::Sign(app, save.target, "1700000000", "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  for (const auto& [k, v] : expected) EXPECT_EQ(H(save, k), v) << k;

  sdk::Verdict v = c->JudgeDelivery(d, Res(200, kSaved));
  ASSERT_EQ(v.kind, CHUB_VERDICT_NEXT) << v.message;
  EXPECT_EQ(v.step, "submit:AR00000031");
  d.step = v.step;
  sdk::OutRequest submit = c->BuildDelivery(d);
  EXPECT_NE(submit.target.find("DynamicFormService.Submit.common.kdsvc"), std::string::npos);
  EXPECT_EQ(submit.body, R"({"formid":"AR_receivable","data":{"Numbers":["AR00000031"]}})");
  v = c->JudgeDelivery(d, Res(200, kSaved));
  ASSERT_EQ(v.kind, CHUB_VERDICT_NEXT);
  EXPECT_EQ(v.step, "audit:AR00000031");
  d.step = v.step;
  EXPECT_NE(c->BuildDelivery(d).target.find("Audit"), std::string::npos);
  EXPECT_EQ(c->JudgeDelivery(d, Res(200, kSaved)).kind, CHUB_VERDICT_DONE);
}

TEST(KingdeeFinanceOut, JudgesRefusalsErrorsAndStatuses) {
  Conn c(Settings());
  sdk::Delivery d;
  d.body = kReceivable;
  EXPECT_EQ(c->JudgeDelivery(d, Res(200, kSaved)).kind, CHUB_VERDICT_DONE);  // operations: save
  sdk::Verdict v = c->JudgeDelivery(d, Res(200, kRefused));
  EXPECT_EQ(v.kind, CHUB_VERDICT_NEXT);  // verified first (next test)
  EXPECT_EQ(c->JudgeDelivery(d, Res(500, "")).kind, CHUB_VERDICT_RETRY);
  EXPECT_EQ(c->JudgeDelivery(d, Res(200, "<html/>")).kind, CHUB_VERDICT_RETRY);
  EXPECT_EQ(c->JudgeDelivery(d, Res(403, "")).kind, CHUB_VERDICT_PERMANENT);
  // Only paid orders are posted.
  d.body = R"({"_chub":{"status":"created"},"Model":{"FBillNo":"X"}})";
  EXPECT_THROW(c->BuildDelivery(d), sdk::Failure);
  d.body = R"({"Other":1})";
  EXPECT_THROW(c->BuildDelivery(d), sdk::Failure);
  Conn vouchers(Settings({{"form_id", "GL_VOUCHER"}, {"statuses", "paid,shipped"}}));
  d.body = R"({"_chub":{"status":"shipped"},"Model":{"FVOUCHERID":0}})";
  EXPECT_NE(vouchers->BuildDelivery(d).body.find("\"formid\":\"GL_VOUCHER\""), std::string::npos);
}

TEST(KingdeeFinanceOut, ARetriedDeliveryLooksTheBillUpBeforeSavingAgain) {
  Conn c(Settings({{"operations", "save,submit,audit"}}));
  sdk::Delivery d;
  d.body = kReceivable;
  d.attempt = 2;
  sdk::OutRequest view = c->BuildDelivery(d);
  EXPECT_NE(view.target.find("DynamicFormService.View.common.kdsvc"), std::string::npos);
  EXPECT_EQ(view.body, R"({"formid":"AR_receivable","data":{"Number":"HD-PO-88017"}})");
  // Not found: save it.
  sdk::Verdict v = c->JudgeDelivery(d, Res(200, kRefused));
  ASSERT_EQ(v.kind, CHUB_VERDICT_NEXT);
  EXPECT_EQ(v.step, "save");
  // Found, submitted already: audit it.
  v = c->JudgeDelivery(d, Res(200, R"({"Result":{"ResponseStatus":{"IsSuccess":true},"Result":{"Id":100031,"Number":"HD-PO-88017","DocumentStatus":"B"}}})"));
  ASSERT_EQ(v.kind, CHUB_VERDICT_NEXT);
  EXPECT_EQ(v.step, "audit:HD-PO-88017");
  // Found, audited: done.
  v = c->JudgeDelivery(d, Res(200, R"({"Result":{"Result":{"Number":"HD-PO-88017","DocumentStatus":"C"}}})"));
  EXPECT_EQ(v.kind, CHUB_VERDICT_DONE);
  d.step = "save";
  EXPECT_NE(c->BuildDelivery(d).target.find("DynamicFormService.Save"), std::string::npos);
}

TEST(KingdeeFinanceOut, ARefusedSaveOfANumberedBillIsVerifiedBeforeItIsADeadLetter) {
  Conn c(Settings({{"operations", "save,submit"}}));
  sdk::Delivery d;
  d.event_id = "evt-9";
  d.body = kReceivable;
  // The Save is refused (e.g. the same Save reached Kingdee before): look the bill up.
  sdk::Verdict v = c->JudgeDelivery(d, Res(200, kRefused));
  ASSERT_EQ(v.kind, CHUB_VERDICT_NEXT);
  EXPECT_EQ(v.step, "verify:HD-PO-88017");
  d.step = v.step;
  sdk::OutRequest view = c->BuildDelivery(d);
  EXPECT_NE(view.target.find("DynamicFormService.View"), std::string::npos);
  EXPECT_EQ(view.body, R"({"formid":"AR_receivable","data":{"Number":"HD-PO-88017"}})");
  // It exists, saved only: submit it.
  v = c->JudgeDelivery(d, Res(200, R"({"Result":{"ResponseStatus":{"IsSuccess":true},"Result":{"DocumentStatus":"A"}}})"));
  ASSERT_EQ(v.kind, CHUB_VERDICT_NEXT);
  EXPECT_EQ(v.step, "submit:HD-PO-88017");
  // Another refusal, and the bill is not there: Kingdee's original refusal is the reason.
  d.step = "";
  v = c->JudgeDelivery(d, Res(200, kRefused));
  d.step = v.step;
  v = c->JudgeDelivery(d, Res(200, R"({"Result":{"ResponseStatus":{"IsSuccess":false,"Errors":[{"Message":"单据不存在"}]}}})"));
  EXPECT_EQ(v.kind, CHUB_VERDICT_PERMANENT);
  EXPECT_NE(v.message.find("FCUSTOMERID: 客户不存在"), std::string::npos) << v.message;
  // A bill without its own number cannot be looked up: the refusal is final at once.
  d.step = "";
  d.body = R"({"Model":{"FID":0}})";
  EXPECT_EQ(c->JudgeDelivery(d, Res(200, kRefused)).kind, CHUB_VERDICT_PERMANENT);
}

TEST(KingdeeFinancePoll, QueriesCreditPagesAndAdvancesTheCursor) {
  Conn c(Settings({{"credit_form_id", "CRE_CustCreditLimit"}, {"page_size", "2"}, {"start", "2025-11-01 00:00:00"},
                   {"area_field", "FCreditOrgId.FNumber"}, {"filter", "FForbidStatus = 'A'"}}));
  sdk::OutRequest q = c->BuildPoll("", "");
  EXPECT_NE(q.target.find("ExecuteBillQuery"), std::string::npos);
  rapidjson::Document body;
  body.Parse(q.body.c_str());
  ASSERT_FALSE(body.HasParseError());
  const auto& data = body["data"];
  EXPECT_STREQ(data["FormId"].GetString(), "CRE_CustCreditLimit");
  EXPECT_STREQ(data["FieldKeys"].GetString(),
               "FCustomerID.FNumber,FModifyDate,FCreditAmount,FCustomerID.FName,FUsedAmount,FCurrencyID.FNumber,FCreditOrgId.FNumber");
  EXPECT_STREQ(data["FilterString"].GetString(), "FModifyDate >= '2025-11-01 00:00:00' AND (FForbidStatus = 'A')");
  EXPECT_STREQ(data["OrderString"].GetString(), "FModifyDate ASC,FID ASC");
  EXPECT_EQ(data["StartRow"].GetInt(), 0);
  EXPECT_EQ(data["Limit"].GetInt(), 2);

  // A full page: two rows; the next page starts at the newest time (its rows come again and are
  // dropped as duplicates by their event ids).
  sdk::PollResult p = c->ParsePoll("", Res(200, R"([["CUST0087","2025-11-21T09:00:00.123",300000.0,"苏州恒达",24800.5,"PRE001","100"],)"
                                                 R"(["CUST0102","2025-11-21T09:05:00",150000,"杭州中泰",null,"PRE001","100"]])"));
  ASSERT_EQ(p.fail, -1) << p.message;
  ASSERT_EQ(p.payloads.size(), 2u);
  EXPECT_TRUE(p.more);
  EXPECT_EQ(p.cursor, R"({"since":"2025-11-21 09:05:00","skip":0})");
  EXPECT_EQ(p.payloads[0].kind, "credit_limit");
  EXPECT_EQ(p.payloads[0].event_id, "credit:CUST0087:100:2025-11-21T09:00:00.123");
  EXPECT_EQ(p.payloads[1].event_id, "credit:CUST0102:100:2025-11-21T09:05:00");
  // Kingdee's other time form: no space in the id (the hub refuses spaces).
  sdk::PollResult spaced = c->ParsePoll("", Res(200, R"([["CUST 0104","2025-11-21 09:06:00",1,null,null,null,"100"]])"));
  ASSERT_EQ(spaced.payloads.size(), 1u);
  EXPECT_EQ(spaced.payloads[0].event_id, "credit:CUST_0104:100:2025-11-21T09:06:00");
  EXPECT_EQ(p.payloads[0].body,
            R"({"dealer_id":"CUST0087","dealer_name":"苏州恒达","credit_area":"100","currency":"CNY","credit_limit":300000.0,)"
            R"("exposure":24800.5,"source":"K3CLOUD","as_of":"2025-11-21T09:00:00+08:00"})");
  EXPECT_EQ(p.payloads[1].body.find("exposure"), std::string::npos);

  q = c->BuildPoll(p.cursor, "");
  body.Parse(q.body.c_str());
  EXPECT_STREQ(body["data"]["FilterString"].GetString(), "FModifyDate >= '2025-11-21 09:05:00' AND (FForbidStatus = 'A')");
  EXPECT_EQ(body["data"]["StartRow"].GetInt(), 0);
  // A full page all at the cursor's time: page on by offset within that second ...
  const std::string same = R"([["CUST0102","2025-11-21 09:05:00",150000,null,null,null,"100"],)"
                           R"(["CUST0103","2025-11-21 09:05:00.500",1,null,null,null,"100"]])";
  p = c->ParsePoll(p.cursor, Res(200, same));
  EXPECT_TRUE(p.more);
  EXPECT_EQ(p.cursor, R"({"since":"2025-11-21 09:05:00","skip":2})");
  q = c->BuildPoll(p.cursor, "");
  body.Parse(q.body.c_str());
  EXPECT_EQ(body["data"]["StartRow"].GetInt(), 2);
  p = c->ParsePoll(p.cursor, Res(200, same));
  EXPECT_EQ(p.cursor, R"({"since":"2025-11-21 09:05:00","skip":4})");
  // ... until a short page, which resets the offset (the next sweep reads that second again).
  p = c->ParsePoll(p.cursor, Res(200, R"([["CUST0104","2025-11-21 09:05:00",1,null,null,null,null]])"));
  ASSERT_EQ(p.fail, -1) << p.message;
  EXPECT_FALSE(p.more);
  EXPECT_EQ(p.cursor, R"({"since":"2025-11-21 09:05:00","skip":0})");
  // Nothing new: the time stays, with no offset.
  p = c->ParsePoll(R"({"since":"2025-11-21 09:05:00","skip":4})", Res(200, "[]"));
  EXPECT_TRUE(p.payloads.empty());
  EXPECT_EQ(p.cursor, R"({"since":"2025-11-21 09:05:00","skip":0})");
  EXPECT_FALSE(p.more);
  // A later row moves the time.
  p = c->ParsePoll(p.cursor, Res(200, R"([["CUST0087","2025-11-22 10:00:00",320000,"苏州恒达",0,"PRE001","100"]])"));
  EXPECT_EQ(p.cursor, R"({"since":"2025-11-22 10:00:00","skip":0})");
  // An unreadable cursor starts again from the setting "start".
  q = c->BuildPoll("garbage", "");
  body.Parse(q.body.c_str());
  EXPECT_STREQ(body["data"]["FilterString"].GetString(), "FModifyDate >= '2025-11-01 00:00:00' AND (FForbidStatus = 'A')");
}

TEST(KingdeeFinancePoll, FailuresAreReported) {
  Conn c(Settings({{"credit_form_id", "CRE_CustCreditLimit"}, {"name_field", ""}, {"used_field", ""}, {"currency_field", ""}}));
  EXPECT_EQ(c->ParsePoll("", Res(503, "")).fail, CHUB_VERDICT_RETRY);
  EXPECT_EQ(c->ParsePoll("", Res(401, "")).fail, CHUB_VERDICT_PERMANENT);
  EXPECT_EQ(c->ParsePoll("", Res(200, "not json")).fail, CHUB_VERDICT_RETRY);
  sdk::PollResult p = c->ParsePoll(
      "", Res(200, R"([[{"Result":{"ResponseStatus":{"IsSuccess":false,"Errors":[{"FieldName":"FCreditAmount","Message":"字段不存在"}]}}}]])"));
  EXPECT_EQ(p.fail, CHUB_VERDICT_PERMANENT);
  EXPECT_NE(p.message.find("FCreditAmount: 字段不存在"), std::string::npos) << p.message;
  EXPECT_EQ(c->ParsePoll("", Res(200, R"([["C1","2025-11-21 09:00:00"]])")).fail, CHUB_VERDICT_PERMANENT);
  EXPECT_EQ(c->ParsePoll("", Res(200, R"([["C1","yesterday",5]])")).fail, CHUB_VERDICT_PERMANENT);
  p = c->ParsePoll("", Res(200, R"([["C1","2025-11-21 09:00:00",5]])"));
  ASSERT_EQ(p.payloads.size(), 1u);
  EXPECT_EQ(p.payloads[0].body, R"({"dealer_id":"C1","credit_limit":5,"source":"K3CLOUD","as_of":"2025-11-21T09:00:00+08:00"})");
  // Polling without a credit form is a configuration error.
  Conn out_only(Settings());
  EXPECT_THROW(out_only->BuildPoll("", ""), sdk::Failure);
}

// Found by tests/fuzz (connector_inbound): a deeply nested answer overflowed the stack.
TEST(KingdeeFinancePoll, DeeplyNestedAnswersAreRefusedNotRecursedInto) {
  Conn c(Settings({{"credit_form_id", "CRE_CustCreditLimit"}}));
  const std::string deep = std::string(300000, '[') + std::string(300000, ']');
  EXPECT_EQ(c->ParsePoll("", Res(200, deep)).fail, CHUB_VERDICT_RETRY);
  EXPECT_EQ(c->ParsePoll("", Res(200, std::string(200000, '{'))).fail, CHUB_VERDICT_RETRY);
}

TEST(KingdeeFinanceSettings, RefusesBadSettings) {
  EXPECT_THROW(Conn c(Settings({{"app_id", "nounderscore"}})), sdk::Failure);
  EXPECT_THROW(Conn c(Settings({{"operations", "submit"}})), sdk::Failure);
  EXPECT_THROW(Conn c(Settings({{"operations", "save,post"}})), sdk::Failure);
  EXPECT_THROW(Conn c(Settings({{"page_size", "5000"}})), sdk::Failure);
  EXPECT_THROW(Conn c(Settings({{"start", "yesterday"}})), sdk::Failure);
  EXPECT_THROW(Conn c(Settings({{"utc_offset", "8"}})), sdk::Failure);
  EXPECT_THROW(Conn c(KV{{"app_id", kAppId}}), sdk::Failure);
}
