// The real binary with the WMS plugin (chub_wms.so) and the shipped QiMen mappings, against the
// QiMen WMS simulator of sim_wms:
//   confirm in     a signed deliveryorder.confirm -> the order shipped (with its tracking number)
//                  in the archive, once, also when the WMS sends it again; a bad sign is answered
//                  in QiMen's failure shape and nothing is stored.
//   stock in       a signed inventory.report -> one stock event per sellable warehouse + sku.
//   create out     confirmed orders -> a signed deliveryorder.create that the WMS verifies; an
//                  HTTP 503 retried; QiMen's business refusal and other statuses dead letters.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/sim_wms.hpp"

namespace channelhub::e2e {
namespace {

const std::string kPlugin = std::string(CHUB_PLUGIN_DIR) + "/chub_wms.so";
const std::string kMappingsDir = std::string(CHUB_SOURCE_DIR) + "/mappings";
constexpr char kAppKey[] = "23456789";
constexpr char kSecret[] = "wms-e2e-secret-5521";
constexpr char kCustomer[] = "HMJJ01";

class WmsE2E : public HubTest {
 protected:
  std::string Config(const std::string& yaml) {
    return WriteConfig(Replace(Replace(yaml, "@PLUGIN@", kPlugin), "@MAPPINGS@", kMappingsDir));
  }
  std::string Archive() { return tmp_.Join("out/events.jsonl"); }
  std::vector<CloudEvent> Events(const std::string& type) {
    std::vector<CloudEvent> out;
    for (CloudEvent& ce : ReadCloudEvents(Archive())) {
      if (ce.valid && ce.type == type) out.push_back(std::move(ce));
    }
    return out;
  }
  std::map<std::string, int> Orders() {
    std::map<std::string, int> n;
    for (const CloudEvent& ce : Events("com.channelhub.order.upserted")) ++n[ce.Str("/data/order_no").value_or("?")];
    return n;
  }
  // Posts "body" as a QiMen call of "method" to the source "wms".
  HttpResponse Call(const QimenWmsSimulator& wms, const std::string& method, const std::string& body,
                    const std::string& query_override = "") {
    HttpRequest r;
    r.method = "POST";
    r.target = "/webhooks/wms" + (query_override.empty() ? wms.SignedQuery(method, body) : query_override);
    r.headers = {{"Content-Type", "text/xml;charset=utf-8"}};
    r.body = body;
    Result<HttpResponse> res = HttpCall(port(), r);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? *res : HttpResponse{};
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

constexpr char kInConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
mappings_dir: @MAPPINGS@
plugins: [@PLUGIN@]
sources:
  wms:
    connector: qimen
    settings: { app_key: "23456789", secret: "wms-e2e-secret-5521", customer_id: HMJJ01 }
    mapping:
      deliveryorder.confirm: wms/qimen_deliveryorder_confirm.to_canon.yaml
      inventory.report: wms/qimen_inventory_report.to_canon.yaml
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [wms], types: ["order.*", "stock.*"], to: [archive] }
)";

std::string Confirm(const std::string& code, const std::string& out_biz) {
  std::string xml = ReadFile(kMappingsDir + "/wms/qimen_deliveryorder_confirm.to_canon.shipped.in.xml");
  xml = Replace(xml, "<deliveryOrderCode>SO2511200087<", "<deliveryOrderCode>" + code + "<");
  return Replace(xml, "<outBizCode>KS01-CK-004512-1<", "<outBizCode>" + out_biz + "<");
}

TEST_F(WmsE2E, SignedDeliveryConfirmShipsTheOrderOnceAndABadSignStoresNothing) {
  const std::string first = Confirm("SO2511200087", "KS01-CK-004512-1");
  ASSERT_NE(first.find("<expressCode>78592014536021<"), std::string::npos) << "the shipped fixture changed";
  ASSERT_NO_FATAL_FAILURE(StartHub(Config(kInConfig)));
  QimenWmsSimulator wms(kAppKey, kSecret, kCustomer);

  HttpResponse ok = Call(wms, "taobao.qimen.deliveryorder.confirm", first);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(XmlElementText(ok.body, "flag"), "success") << ok.body;
  EXPECT_EQ(XmlElementText(ok.body, "code"), "0") << ok.body;
  ASSERT_TRUE(WaitForLines(Archive(), 1)) << hub().Log();
  std::vector<CloudEvent> orders = Events("com.channelhub.order.upserted");
  ASSERT_EQ(orders.size(), 1u) << ReadFile(Archive());
  EXPECT_EQ(orders[0].Str("/data/order_no").value_or(""), "SO2511200087");
  EXPECT_EQ(orders[0].Str("/data/status").value_or(""), "shipped");
  EXPECT_EQ(orders[0].Str("/data/shipments/0/carrier").value_or(""), "ZTO");
  EXPECT_EQ(orders[0].Str("/data/shipments/0/tracking_no").value_or(""), "78592014536021");
  EXPECT_EQ(orders[0].Str("/data/shipments/0/shipped_at").value_or(""), "2025-11-20T08:48:09Z");

  // The WMS sends the same confirmation again (it did not see our answer): answered, not stored.
  HttpResponse again = Call(wms, "deliveryorder.confirm", first);
  EXPECT_EQ(XmlElementText(again.body, "flag"), "success") << again.body;

  // A forged confirmation (signed with another secret), and one whose body changed after
  // signing: QiMen's failure answer, nothing stored.
  QimenWmsSimulator forger(kAppKey, "guessed-secret", kCustomer);
  const std::string forged = Confirm("SO-FORGED-1", "F-1");
  HttpResponse bad = Call(forger, "taobao.qimen.deliveryorder.confirm", forged);
  EXPECT_EQ(bad.status, 200) << bad.body;
  EXPECT_EQ(XmlElementText(bad.body, "flag"), "failure") << bad.body;
  EXPECT_EQ(XmlElementText(bad.body, "code"), "sign-check-failure") << bad.body;
  const std::string signed_for = Confirm("SO-FORGED-2", "F-2");
  HttpResponse tampered = Call(wms, "taobao.qimen.deliveryorder.confirm", Replace(signed_for, "<actualQty>2<", "<actualQty>20<"),
                               wms.SignedQuery("taobao.qimen.deliveryorder.confirm", signed_for));
  EXPECT_EQ(XmlElementText(tampered.body, "flag"), "failure") << tampered.body;

  // A later confirmation of another order marks the point where everything before is processed.
  HttpResponse marker = Call(wms, "taobao.qimen.deliveryorder.confirm", Confirm("SO2511200099", "KS01-CK-004599-1"));
  EXPECT_EQ(XmlElementText(marker.body, "flag"), "success") << marker.body;
  ASSERT_TRUE(WaitFor([&] { return Orders().count("SO2511200099") == 1; }, kDeliveryTimeout)) << hub().Log();
  const std::map<std::string, int> expected = {{"SO2511200087", 1}, {"SO2511200099", 1}};
  EXPECT_EQ(Orders(), expected) << ReadFile(Archive());
}

TEST_F(WmsE2E, SignedInventoryReportBecomesStockEventsPerWarehouseAndSku) {
  ASSERT_NO_FATAL_FAILURE(StartHub(Config(kInConfig)));
  QimenWmsSimulator wms(kAppKey, kSecret, kCustomer);
  const std::string report = ReadFile(kMappingsDir + "/wms/qimen_inventory_report.to_canon.stocktake.in.xml");
  ASSERT_FALSE(report.empty());
  HttpResponse ok = Call(wms, "taobao.qimen.inventory.report", report);
  EXPECT_EQ(XmlElementText(ok.body, "flag"), "success") << ok.body;
  ASSERT_TRUE(WaitForLines(Archive(), 2)) << hub().Log();
  // Sent again: stored once.
  HttpResponse again = Call(wms, "inventory.report", report);
  EXPECT_EQ(XmlElementText(again.body, "flag"), "success") << again.body;
  // A report with a bad sign: refused.
  QimenWmsSimulator forger(kAppKey, "nope", kCustomer);
  const std::string other = Replace(Replace(report, "WMS-PD-77120-1", "WMS-PD-99999-1"), "<itemCode>10004711<", "<itemCode>FORGED-SKU<");
  HttpResponse bad = Call(forger, "taobao.qimen.inventory.report", other);
  EXPECT_EQ(XmlElementText(bad.body, "code"), "sign-check-failure") << bad.body;
  // Marker: a second stocktake.
  const std::string second = Replace(Replace(report, "WMS-PD-77120-1", "WMS-PD-77121-1"), "WH-SZ-02", "WH-BJ-01");
  EXPECT_EQ(XmlElementText(Call(wms, "taobao.qimen.inventory.report", second).body, "flag"), "success");
  ASSERT_TRUE(WaitForLines(Archive(), 4)) << hub().Log();
  WaitForLines(Archive(), 5, Millis(500));  // anything wrongly stored would show up now

  std::map<std::string, int> seen;
  for (const CloudEvent& ce : Events("com.channelhub.stock.updated")) {
    ++seen[ce.Str("/data/warehouse").value_or("?") + "/" + ce.Str("/data/sku").value_or("?")];
    EXPECT_EQ(ce.Str("/data/source/system").value_or(""), "qimen");
  }
  const std::map<std::string, int> expected = {
      {"WH-SZ-02/10004711", 1}, {"WH-SZ-02/HD-SEAL-07", 1}, {"WH-BJ-01/10004711", 1}, {"WH-BJ-01/HD-SEAL-07", 1}};
  EXPECT_EQ(seen, expected) << ReadFile(Archive());
  EXPECT_EQ(ReadCompleteLines(Archive()).size(), 4u);
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
  wms:
    type: connector
    connector: qimen
    url: @URL@
    timeout: 5s
    mapping: wms/qimen_deliveryorder_create.from_canon.yaml
    settings: { app_key: "23456789", secret: "wms-e2e-secret-5521", customer_id: HMJJ01 }
    retry: { initial: 50ms, max: 200ms, max_age: 1h }
routes:
  - { from: [portal], types: ["order.*"], to: [wms] }
)";

std::string PortalOrder(const std::string& order_no, const std::string& status) {
  return R"({"order_no":")" + order_no + R"(","source":{"system":"portal","id":")" + order_no +
         R"("},"channel":"dealer","dealer_id":"CUST0102","buyer":{"name":"王志强","mobile":"+8613912345678"},"status":")" +
         status + R"(","currency":"CNY","lines":[{"line_no":1,"sku":"PUMP-200","name":"循环泵","quantity":"2","unit_price":"456.00","amount":"912.00"}],)"
         R"("totals":{"total":"912.00"},"ship_to":{"province":"浙江省","city":"杭州市","line":"文三路 90 号","postcode":"310012","country":"CN"},)"
         R"("created_at":"2025-11-20T02:00:00Z"})";
}

TEST_F(WmsE2E, ConfirmedOrdersBecomeSignedDeliveryOrderCreatesTheWmsAccepts) {
  FakeHttpServer server;
  ASSERT_TRUE(server.ok());
  QimenWmsSimulator wms(kAppKey, kSecret, kCustomer);
  server.SetHandler([&](const RecordedRequest& r) { return wms.Handle(r); });
  const std::string config = Config(Replace(kOutConfig, "@URL@", server.Url("/router/qimen/service")));
  ASSERT_NO_FATAL_FAILURE(StartHub(config));
  auto post = [&](const std::string& no, const std::string& status) {
    Ack ack = PostWebhook(port(), "portal", PortalOrder(no, status), {{"X-Event-Id", no + "-" + status}});
    ASSERT_EQ(ack.status, 202) << ack.ToString();
  };

  // 1. A confirmed order: created in the WMS, signed as QiMen wants.
  ASSERT_NO_FATAL_FAILURE(post("DP-3001", "confirmed"));
  ASSERT_TRUE(WaitFor([&] { return wms.Orders().size() == 1; }, kDeliveryTimeout)) << hub().Log();
  QimenWmsSimulator::Order o = wms.Orders()[0];
  EXPECT_EQ(o.code, "DP-3001");
  EXPECT_EQ(o.params["method"], "taobao.qimen.deliveryorder.create");
  EXPECT_EQ(o.params["customerId"], kCustomer);
  EXPECT_EQ(XmlElementText(o.body, "itemCode"), "PUMP-200");
  EXPECT_EQ(XmlElementText(o.body, "detailAddress"), "文三路 90 号");
  EXPECT_EQ(XmlElementText(o.body, "mobile"), "13912345678");
  EXPECT_EQ(XmlElementText(o.body, "createTime"), "2025-11-20 10:00:00");
  EXPECT_EQ(wms.SignFailures(), 0);

  // 2. The WMS is down once: retried, then created.
  wms.FailNext(1);
  ASSERT_NO_FATAL_FAILURE(post("DP-3002", "paid"));
  ASSERT_TRUE(WaitFor([&] { return wms.Orders().size() == 2; }, kDeliveryTimeout)) << hub().Log();
  EXPECT_EQ(wms.Orders()[1].code, "DP-3002");

  // 3. The WMS refuses the order (an unknown item): a dead letter with QiMen's code and message.
  wms.RefuseNext("ITEM_NOT_EXIST", "商品 PUMP-200 在仓库 WH01 不存在");
  ASSERT_NO_FATAL_FAILURE(post("DP-3003", "confirmed"));
  std::string reason = DeadLetterReason(config, "DP-3003");
  EXPECT_NE(reason.find("ITEM_NOT_EXIST: 商品 PUMP-200 在仓库 WH01 不存在"), std::string::npos) << reason << hub().Log();

  // 4. A shipped order is not sent to the WMS again (status gate): a dead letter saying why.
  const int before = wms.Requests();
  ASSERT_NO_FATAL_FAILURE(post("DP-3004", "shipped"));
  reason = DeadLetterReason(config, "DP-3004");
  EXPECT_NE(reason.find("shipped"), std::string::npos) << reason << hub().Log();
  EXPECT_EQ(wms.Requests(), before);
  EXPECT_EQ(wms.Orders().size(), 2u);
  EXPECT_EQ(wms.SignFailures(), 0);
}

}  // namespace
}  // namespace channelhub::e2e
