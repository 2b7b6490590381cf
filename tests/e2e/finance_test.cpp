// The real binary with the finance plugin (chub_finance.so) and the shipped finance mappings,
// against the Kingdee finance simulator of sim_finance (signed app headers checked on every
// request):
//   credit poll    credit limits paged by modification time -> canonical customers with credit,
//                  each once; a later change to a limit picked up.
//   receivable     a paid order -> AR_receivable saved, submitted and audited once; an HTTP 500
//                  retried; a lost Save answer not booked twice; Kingdee's refusal and unpaid
//                  orders as dead letters.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <map>
#include <string>
#include <vector>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/sim_finance.hpp"

namespace channelhub::e2e {
namespace {

const std::string kPlugin = std::string(CHUB_PLUGIN_DIR) + "/chub_finance.so";
const std::string kMappingsDir = std::string(CHUB_SOURCE_DIR) + "/mappings";
// The public sample app of Kingdee's SDK (protocols.md §4.2, K1).
constexpr char kAppId[] = "204399_72epSbtEQMC92Vwt2d3LRa9LRqSc1tqJ";
constexpr char kAppSecret[] = "fb7d46647ac346dbb5fcd45b65512a45";
constexpr char kAcct[] = "5db25ac8d2b819";
constexpr char kUser[] = "chub_fin";
constexpr char kCreditForm[] = "CRE_CustCreditLimit";

class FinanceE2E : public HubTest {
 protected:
  std::string Config(const std::string& yaml, const std::string& url) {
    return WriteConfig(Replace(Replace(Replace(yaml, "@PLUGIN@", kPlugin), "@MAPPINGS@", kMappingsDir), "@URL@", url));
  }
  std::string Archive() { return tmp_.Join("out/events.jsonl"); }
  std::vector<CloudEvent> Customers() {
    std::vector<CloudEvent> out;
    for (CloudEvent& ce : ReadCloudEvents(Archive())) {
      if (ce.valid && ce.type == "com.channelhub.customer.upserted") out.push_back(std::move(ce));
    }
    return out;
  }
  std::vector<rapidjson::Document> DeadLetters(const std::string& config) {
    std::vector<rapidjson::Document> out;
    RunResult r = RunChannelhub({"dlq", "list", "--config", config}, tmp_.path());
    std::size_t start = 0;
    while (start < r.out.size()) {
      std::size_t nl = r.out.find('\n', start);
      std::string line = r.out.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      if (!line.empty()) out.push_back(ParseJson(line));
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    return out;
  }
  std::string DeadLetterReason(const std::string& config, const std::string& event_prefix) {
    std::string reason;
    WaitFor([&] {
      for (const auto& d : DeadLetters(config)) {
        if (!d.HasParseError() && JsonString(d, "/event_id").value_or("").rfind(event_prefix, 0) == 0) {
          reason = JsonString(d, "/reason").value_or("?");
          return true;
        }
      }
      return false;
    }, kDeliveryTimeout, Millis(100));
    return reason;
  }
};

constexpr char kPollConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
mappings_dir: @MAPPINGS@
plugins: [@PLUGIN@]
sources:
  kingdee-credit:
    connector: kingdee_finance
    url: @URL@
    poll: { interval: 1s }
    settings:
      app_id: 204399_72epSbtEQMC92Vwt2d3LRa9LRqSc1tqJ
      app_secret: fb7d46647ac346dbb5fcd45b65512a45
      acct_id: 5db25ac8d2b819
      user: chub_fin
      credit_form_id: CRE_CustCreditLimit
      page_size: 2
      start: "2025-11-01 00:00:00"
    mapping: finance/credit_limit.to_canon.yaml
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [kingdee-credit], types: ["customer.*"], to: [archive] }
)";

TEST_F(FinanceE2E, CreditPollUpdatesEachCustomersCreditOnce) {
  FakeHttpServer server;
  ASSERT_TRUE(server.ok());
  KingdeeFinanceSimulator sim(kAppId, kAppSecret, kAcct, kUser, kCreditForm);
  // Three dealers, two of them changed at the same second (paging must not lose or repeat one),
  // and one changed before the configured start (not read).
  sim.PutCredit({1, "CUST0087", "苏州恒达泵业", "2025-11-20 09:00:00", 300000, 24800.5, "PRE001"});
  sim.PutCredit({2, "CUST0102", "杭州中泰机电", "2025-11-20 09:05:00", 150000, 149000, "PRE001"});
  sim.PutCredit({3, "CUST0210", "Pacific Pumps", "2025-11-20 09:05:00", 80000, 0, "PRE007"});
  sim.PutCredit({4, "CUST0001", "旧经销商", "2025-10-01 00:00:00", 1000, 0, "PRE001"});
  server.SetHandler([&](const RecordedRequest& r) { return sim.Handle(r); });
  ASSERT_NO_FATAL_FAILURE(StartHub(Config(kPollConfig, server.Url("/k3cloud/"))));

  ASSERT_TRUE(WaitFor([&] { return Customers().size() >= 3; }, kDeliveryTimeout)) << hub().Log();
  // Later polls find nothing new.
  const int queries = sim.Queries();
  ASSERT_TRUE(WaitFor([&] { return sim.Queries() >= queries + 2; }, kDeliveryTimeout)) << hub().Log();
  std::map<std::string, const CloudEvent*> by;
  std::vector<CloudEvent> customers = Customers();
  ASSERT_EQ(customers.size(), 3u) << ReadFile(Archive());
  for (const CloudEvent& ce : customers) by[ce.Str("/data/source/id").value_or("?")] = &ce;
  ASSERT_EQ(by.size(), 3u) << ReadFile(Archive());
  ASSERT_TRUE(by.count("CUST0087") && by.count("CUST0102") && by.count("CUST0210")) << ReadFile(Archive());
  EXPECT_EQ(by["CUST0087"]->Str("/data/source/system").value_or(""), "kingdee");
  EXPECT_EQ(by["CUST0087"]->Str("/data/credit/limit").value_or(""), "300000.00");
  EXPECT_EQ(by["CUST0087"]->Str("/data/credit/used").value_or(""), "24800.50");
  EXPECT_EQ(by["CUST0087"]->Str("/data/credit/currency").value_or(""), "CNY");
  EXPECT_EQ(by["CUST0087"]->Str("/data/name").value_or(""), "苏州恒达泵业");
  EXPECT_EQ(by["CUST0087"]->Str("/data/updated_at").value_or(""), "2025-11-20T01:00:00Z");
  EXPECT_EQ(by["CUST0102"]->Str("/data/credit/used").value_or(""), "149000.00");
  EXPECT_EQ(by["CUST0210"]->Str("/data/credit/currency").value_or(""), "USD");

  // Finance raises a dealer's limit: picked up by the next poll, as a new update.
  sim.PutCredit({2, "CUST0102", "杭州中泰机电", "2025-11-21 14:00:00", 200000, 149000, "PRE001"});
  ASSERT_TRUE(WaitFor([&] { return Customers().size() >= 4; }, kDeliveryTimeout)) << hub().Log();
  customers = Customers();
  EXPECT_EQ(customers.back().Str("/data/source/id").value_or(""), "CUST0102");
  EXPECT_EQ(customers.back().Str("/data/credit/limit").value_or(""), "200000.00");
  EXPECT_EQ(sim.AuthFailures(), 0);
}

constexpr char kOutConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
mappings_dir: @MAPPINGS@
plugins: [@PLUGIN@]
sources:
  portal:
    connector: generic
    event_id: { header: X-Event-Id }
    mapping: builtin:canonical.order
destinations:
  receivables:
    type: connector
    connector: kingdee_finance
    url: @URL@
    timeout: 5s
    mapping: finance/ar_receivable.from_canon.yaml
    settings:
      app_id: 204399_72epSbtEQMC92Vwt2d3LRa9LRqSc1tqJ
      app_secret: fb7d46647ac346dbb5fcd45b65512a45
      acct_id: 5db25ac8d2b819
      user: chub_fin
      form_id: AR_receivable
      operations: "save,submit,audit"
    retry: { initial: 50ms, max: 200ms, max_age: 1h }
routes:
  - { from: [portal], types: ["order.*"], to: [receivables] }
)";

std::string PaidOrder(const std::string& order_no, const std::string& dealer, const std::string& status) {
  return R"({"order_no":")" + order_no + R"(","source":{"system":"portal","id":")" + order_no +
         R"("},"channel":"dealer","dealer_id":")" + dealer + R"(","status":")" + status +
         R"(","currency":"CNY","lines":[{"line_no":1,"sku":"PUMP-200","name":"循环泵","quantity":"2","unit_price":"456.00","tax_rate":"0.13","amount":"912.00"}],)"
         R"("totals":{"total":"912.00"},"created_at":"2025-11-20T02:00:00Z","updated_at":"2025-11-20T17:30:00Z"})";
}

TEST_F(FinanceE2E, PaidOrdersArePostedAsAuditedReceivablesOnce) {
  FakeHttpServer server;
  ASSERT_TRUE(server.ok());
  KingdeeFinanceSimulator sim(kAppId, kAppSecret, kAcct, kUser, kCreditForm);
  server.SetHandler([&](const RecordedRequest& r) { return sim.Handle(r); });
  const std::string config = Config(kOutConfig, server.Url("/k3cloud/"));
  ASSERT_NO_FATAL_FAILURE(StartHub(config));
  auto post = [&](const std::string& no, const std::string& dealer, const std::string& status) {
    Ack ack = PostWebhook(port(), "portal", PaidOrder(no, dealer, status), {{"X-Event-Id", no + "-" + status}});
    ASSERT_EQ(ack.status, 202) << ack.ToString();
  };

  // 1. A paid order: one receivable, saved, submitted, audited.
  ASSERT_NO_FATAL_FAILURE(post("DP-5001", "CUST0087", "paid"));
  ASSERT_TRUE(WaitFor([&] {
    auto b = sim.Bills();
    return b.size() == 1 && b[0].status == "C";
  }, kDeliveryTimeout)) << hub().Log();
  KingdeeFinanceSimulator::Bill bill = sim.Bills()[0];
  EXPECT_EQ(bill.form_id, "AR_receivable");
  EXPECT_EQ(bill.number, "DP-5001");
  rapidjson::Document data = ParseJson(bill.data);
  EXPECT_EQ(JsonString(data, "/Model/FCUSTOMERID/FNumber").value_or(""), "CUST0087") << bill.data;
  EXPECT_EQ(JsonString(data, "/Model/FDATE").value_or(""), "2025-11-21") << bill.data;
  EXPECT_EQ(JsonString(data, "/Model/FEntityDetail/0/FMATERIALID/FNumber").value_or(""), "PUMP-200") << bill.data;
  EXPECT_FALSE(JsonHas(data, "/_chub")) << bill.data;

  // 2. Kingdee down once: retried; the retry looks the bill up first and books it once.
  sim.FailNext(1);
  ASSERT_NO_FATAL_FAILURE(post("DP-5002", "CUST0102", "paid"));
  ASSERT_TRUE(WaitFor([&] {
    auto b = sim.Bills();
    return b.size() == 2 && b[1].status == "C";
  }, kDeliveryTimeout)) << hub().Log();
  EXPECT_EQ(sim.Bills()[1].number, "DP-5002");

  // 3. The Save goes through but its answer is lost: the retry finds the bill (View) and goes on
  //    with Submit and Audit instead of booking it a second time.
  sim.LoseNextSaveAnswer();
  ASSERT_NO_FATAL_FAILURE(post("DP-5005", "CUST0087", "paid"));
  ASSERT_TRUE(WaitFor([&] {
    auto b = sim.Bills();
    return b.size() == 3 && b[2].status == "C";
  }, kDeliveryTimeout)) << hub().Log();
  EXPECT_EQ(sim.Bills()[2].number, "DP-5005");
  EXPECT_GE(sim.RequestCount("View"), 2);  // DP-5002's retry and DP-5005's
  const int saves = sim.RequestCount("Save");

  // 4. Kingdee refuses the receivable: a dead letter with its message.
  sim.RefuseNextSave("FCUSTOMERID", "客户 CUST9999 不存在或未审核");
  ASSERT_NO_FATAL_FAILURE(post("DP-5003", "CUST9999", "paid"));
  std::string reason = DeadLetterReason(config, "DP-5003");
  EXPECT_NE(reason.find("FCUSTOMERID: 客户 CUST9999 不存在或未审核"), std::string::npos) << reason << hub().Log();

  // 5. An order that is not paid is not posted.
  ASSERT_NO_FATAL_FAILURE(post("DP-5004", "CUST0087", "created"));
  reason = DeadLetterReason(config, "DP-5004");
  EXPECT_NE(reason.find("created"), std::string::npos) << reason;
  EXPECT_EQ(sim.Bills().size(), 3u);
  EXPECT_EQ(sim.RequestCount("Save"), saves + 1);  // only DP-5003's refused one
  EXPECT_EQ(sim.AuthFailures(), 0);
}

}  // namespace
}  // namespace channelhub::e2e
