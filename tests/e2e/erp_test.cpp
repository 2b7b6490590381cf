// The real binary with the ERP plugin (chub_erp.so) and the shipped mappings, against the ERP
// simulators of sim_erp:
//   SAP IDoc in     one request with two ORDERS05 IDocs -> two orders; a resend is stored once;
//                   wrong Basic credentials are refused.
//   Kingdee out     canonical orders -> Save, Submit, Audit in signed mode; Kingdee's error list
//                   as the dead letter's reason; an HTTP 500 retried.
//   kingdee_login   one session kept across deliveries, a session lost mid-flow renewed.
//   Kingdee poll    ExecuteBillQuery paged by modification time with the header-level query
//                   mapping: every bill once, across a restart too, and a later bill picked up.
//   SAP IDoc out    canonical orders -> ORDERS05 XML with Basic auth and sap-client; a 503 retried.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/sim_erp.hpp"

namespace channelhub::e2e {
namespace {

const std::string kPlugin = std::string(CHUB_PLUGIN_DIR) + "/chub_erp.so";
const std::string kMappingsDir = std::string(CHUB_SOURCE_DIR) + "/mappings";
constexpr char kOrderType[] = "com.channelhub.order.upserted";

// The public sample app of Kingdee's SDK (protocols.md §4.2, K1).
constexpr char kKdAppId[] = "204399_72epSbtEQMC92Vwt2d3LRa9LRqSc1tqJ";
constexpr char kKdAppSecret[] = "fb7d46647ac346dbb5fcd45b65512a45";
constexpr char kKdAcct[] = "5db25ac8d2b819";
constexpr char kKdUser[] = "webapi";

std::string BasicAuth(const std::string& user, const std::string& password) {
  const std::string raw = user + ":" + password;
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return "Basic " + out;
}

std::string Serialise(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

bool SameKey(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// A canonical dealer order for builtin:canonical.order (what a dealer portal would post).
std::string DealerOrderJson(const std::string& order_no, const std::string& dealer, const std::string& total) {
  return R"({"order_no":")" + order_no + R"(","source":{"system":"portal","id":")" + order_no +
         R"("},"channel":"dealer","dealer_id":")" + dealer +
         R"(","status":"created","currency":"CNY","lines":[{"line_no":1,"sku":"PUMP-200","name":"循环泵",)"
         R"("quantity":"2","unit_price":")" + total + R"(","amount":")" + total + R"("}],"totals":{"total":")" +
         total + R"("},"ship_to":{"line":"工业园区星湖街 328 号","city":"苏州市","postcode":"215123","country":"CN"},)"
         R"("created_at":"2025-11-20T02:00:00Z"})";
}

// ---------------------------------------------------------------------------------------------
// Header columns the simulator's ExecuteBillQuery does not serve (it knows FID, FBillNo, FNumber,
// FModifyDate, FCustId.FNumber and FDocumentStatus), for the header-level query mapping, which
// needs the bill's total (FBillAllAmount) and reads its date (FDate). The test takes these keys
// out of FieldKeys before the simulator sees the query, and puts their values, kept here per
// FID, back into every row of the answer where the poller asked for them. Everything else
// (signature, filter, order, paging) is the simulator's.
class ExtraQueryColumns {
 public:
  explicit ExtraQueryColumns(std::vector<std::string> keys) : keys_(std::move(keys)) {}

  // The JSON texts of the extra columns of bill "fid", by key (absent keys answer null).
  void Set(int64_t fid, std::map<std::string, std::string> json_values) {
    std::lock_guard<std::mutex> lock(mu_);
    values_[fid] = std::move(json_values);
  }
  // Why an answer could not be completed ("" when every one was).
  std::string Problem() const {
    std::lock_guard<std::mutex> lock(mu_);
    return problem_;
  }

  ScriptedReply Handle(KingdeeSimulator& sim, const RecordedRequest& request) {
    if (request.target.find("ExecuteBillQuery") == std::string::npos) return sim.Handle(request);
    rapidjson::Document query = ParseJson(request.body);
    if (query.HasParseError() || !query.IsObject() || !query.HasMember("data") || !query["data"].IsObject() ||
        !query["data"].HasMember("FieldKeys") || !query["data"]["FieldKeys"].IsString()) {
      return sim.Handle(request);  // the simulator answers a malformed query itself
    }
    // Split FieldKeys into the simulator's columns and ours (by position in the full row).
    std::vector<std::string> all;
    const std::string keys = query["data"]["FieldKeys"].GetString();
    for (std::size_t start = 0;;) {
      std::size_t comma = keys.find(',', start);
      std::string key = keys.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      key.erase(0, key.find_first_not_of(' '));
      key.erase(key.find_last_not_of(' ') + 1);
      all.push_back(key);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    std::vector<bool> extra(all.size(), false);
    std::string kept;
    int fid_column = -1;  // among the simulator's columns
    int kept_count = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
      extra[i] = std::any_of(keys_.begin(), keys_.end(), [&](const std::string& k) { return SameKey(k, all[i]); });
      if (extra[i]) continue;
      if (SameKey(all[i], "FID")) fid_column = kept_count;
      kept += (kept.empty() ? "" : ",") + all[i];
      ++kept_count;
    }
    if (kept_count == static_cast<int>(all.size())) return sim.Handle(request);

    RecordedRequest narrowed = request;
    query["data"]["FieldKeys"].SetString(kept.c_str(), static_cast<rapidjson::SizeType>(kept.size()),
                                         query.GetAllocator());
    narrowed.body = Serialise(query);
    ScriptedReply reply = sim.Handle(narrowed);
    if (reply.status != 200) return reply;
    rapidjson::Document rows = ParseJson(reply.body);
    if (rows.HasParseError() || !rows.IsArray()) return reply;
    std::lock_guard<std::mutex> lock(mu_);
    std::string out = "[";
    for (rapidjson::SizeType r = 0; r < rows.Size(); ++r) {
      const rapidjson::Value& row = rows[r];
      if (!row.IsArray() || row.Size() != static_cast<rapidjson::SizeType>(kept_count)) {
        return reply;  // Kingdee's failure shape ([[{"Result":...}]]): passed on as it is
      }
      if (fid_column < 0 || !row[static_cast<rapidjson::SizeType>(fid_column)].IsInt64()) {
        problem_ = "FieldKeys without a numeric FID: cannot fill " + keys;
        return reply;
      }
      const auto known = values_.find(row[static_cast<rapidjson::SizeType>(fid_column)].GetInt64());
      out += r ? ",[" : "[";
      rapidjson::SizeType next = 0;
      for (std::size_t c = 0; c < all.size(); ++c) {
        if (c) out += ",";
        if (!extra[c]) {
          out += Serialise(row[next++]);
          continue;
        }
        std::string value = "null";
        if (known != values_.end()) {
          for (const auto& [key, json] : known->second) {
            if (SameKey(key, all[c])) value = json;
          }
        }
        out += value;
      }
      out += "]";
    }
    out += "]";
    reply.body = std::move(out);
    return reply;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> keys_;
  std::map<int64_t, std::map<std::string, std::string>> values_;
  std::string problem_;
};

// ---------------------------------------------------------------------------------------------

class ErpE2E : public HubTest {
 protected:
  // Fills in @PLUGIN@ and @MAPPINGS@ (and @DIR@, through WriteConfig).
  std::string Config(const std::string& yaml) {
    return WriteConfig(Replace(Replace(yaml, "@PLUGIN@", kPlugin), "@MAPPINGS@", kMappingsDir));
  }
  std::string Archive() { return tmp_.Join("out/events.jsonl"); }

  // The archived order events, by order_no (how many times each arrived).
  std::map<std::string, int> ArchivedOrders() {
    std::map<std::string, int> n;
    for (const CloudEvent& ce : ReadCloudEvents(Archive())) {
      if (ce.valid && ce.type == kOrderType) ++n[ce.Str("/data/order_no").value_or("?")];
    }
    return n;
  }
  std::optional<CloudEvent> ArchivedOrder(const std::string& order_no) {
    for (CloudEvent& ce : ReadCloudEvents(Archive())) {
      if (ce.valid && ce.type == kOrderType && ce.Str("/data/order_no").value_or("") == order_no) return ce;
    }
    return std::nullopt;
  }
  // A field of an archived order ("" when the order or the field is missing).
  std::string OrderField(const std::string& order_no, const char* pointer) {
    std::optional<CloudEvent> ce = ArchivedOrder(order_no);
    return ce ? ce->Str(pointer).value_or("") : "";
  }
  bool WaitForOrder(const std::string& order_no) {
    return WaitFor([&] { return ArchivedOrder(order_no).has_value(); }, kDeliveryTimeout);
  }

  // Posts a canonical order to the generic source "portal" (event id = order_no).
  void PostOrder(const std::string& order_no, const std::string& dealer, const std::string& total = "456.00") {
    Ack ack = PostWebhook(port(), "portal", DealerOrderJson(order_no, dealer, total), {{"X-Event-Id", order_no}});
    ASSERT_EQ(ack.status, 202) << ack.ToString();
  }

  // The dead letters `channelhub dlq list` shows, one JSON object each.
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
};

// ---------------------------------------------------------------------------------------------
// SAP IDoc inbound

constexpr char kSapInConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
mappings_dir: @MAPPINGS@
plugins: [@PLUGIN@]
sources:
  sap:
    connector: sap_idoc
    settings: { user: PI_CHUB, password: "Idoc-e2e-7731" }
    mapping: { ORDERS05: sap/orders05.to_canon.yaml }
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [sap], types: ["order.*"], to: [archive] }
)";

// The shipped ORDERS05 fixture (DOCNUM 0000000081234567, dealer PO HD-PO-88017) with "extra"
// more IDocs in the same document: IDoc i gets DOCNUM ...4567+i and PO HD-PO-88017+i. With
// "first" > 0 the shipped IDoc itself is left out and the copies start at that offset.
std::string SapOrders(int first, int count) {
  const std::string fixture = ReadFile(kMappingsDir + "/sap/orders05.to_canon.dealer.in.xml");
  const std::size_t begin = fixture.find("<IDOC ");
  const std::size_t end = fixture.find("</IDOC>");
  if (begin == std::string::npos || end == std::string::npos) return "";
  const std::string idoc = fixture.substr(begin, end + 7 - begin);
  std::string idocs;
  for (int i = first; i < first + count; ++i) {
    idocs += Replace(Replace(idoc, "<DOCNUM>0000000081234567<", "<DOCNUM>00000000" + std::to_string(81234567 + i) + "<"),
                     "<BELNR>HD-PO-88017<", "<BELNR>HD-PO-" + std::to_string(88017 + i) + "<");
    idocs += "\n  ";
  }
  return fixture.substr(0, begin) + idocs + fixture.substr(end + 7);
}

TEST_F(ErpE2E, SapIdocRequestWithTwoOrdersBecomesTwoEventsOnce) {
  const std::string two = SapOrders(0, 2);
  ASSERT_NE(two.find("<DOCNUM>0000000081234568</DOCNUM>"), std::string::npos) << "the shipped fixture changed";
  ASSERT_EQ(two.find("<DOCNUM>0000000081234567</DOCNUM>"), two.rfind("<DOCNUM>0000000081234567</DOCNUM>"));
  ASSERT_NO_FATAL_FAILURE(StartHub(Config(kSapInConfig)));
  const Headers auth = {{"Authorization", BasicAuth("PI_CHUB", "Idoc-e2e-7731")}};

  Ack ok = PostWebhook(port(), "sap", two, auth, "application/xml");
  EXPECT_EQ(ok.status, 200) << ok.ToString();
  ASSERT_TRUE(WaitForLines(Archive(), 2)) << hub().Log();
  std::optional<CloudEvent> first = ArchivedOrder("HD-PO-88017");
  std::optional<CloudEvent> second = ArchivedOrder("HD-PO-88018");
  ASSERT_TRUE(first && second) << ReadFile(Archive());
  EXPECT_EQ(first->Str("/data/source/system").value_or(""), "sap");
  EXPECT_EQ(first->Str("/data/source/id").value_or(""), "0000000081234567");
  EXPECT_EQ(second->Str("/data/source/id").value_or(""), "0000000081234568");
  EXPECT_EQ(second->Str("/data/dealer_id").value_or(""), "0000201234");
  EXPECT_EQ(second->Str("/data/totals/total").value_or(""), "14446.50");
  EXPECT_EQ(second->Str("/data/lines/1/sku").value_or(""), "HD-SEAL-07");
  EXPECT_EQ(second->Str("/data/created_at").value_or(""), "2025-11-03T01:15:00Z");

  // SAP resends the same request (its port retries when our answer is lost): nothing new.
  Ack again = PostWebhook(port(), "sap", two, auth, "application/xml");
  EXPECT_EQ(again.status, 200) << again.ToString();
  // Wrong or missing credentials, with an IDoc not seen yet: refused, not stored.
  const std::string unseen = SapOrders(3, 1);
  Ack wrong = PostWebhook(port(), "sap", unseen, {{"Authorization", BasicAuth("PI_CHUB", "guess")}}, "application/xml");
  EXPECT_EQ(wrong.status, 401) << wrong.ToString();
  Ack bare = PostWebhook(port(), "sap", unseen, {}, "application/xml");
  EXPECT_EQ(bare.status, 401) << bare.ToString();

  // A later IDoc marks the point: everything posted before it has been processed when it shows.
  Ack marker = PostWebhook(port(), "sap", SapOrders(2, 1), auth, "application/xml");
  EXPECT_EQ(marker.status, 200) << marker.ToString();
  ASSERT_TRUE(WaitForOrder("HD-PO-88019")) << hub().Log();
  const std::map<std::string, int> expected = {{"HD-PO-88017", 1}, {"HD-PO-88018", 1}, {"HD-PO-88019", 1}};
  EXPECT_EQ(ArchivedOrders(), expected) << ReadFile(Archive());
}

// ---------------------------------------------------------------------------------------------
// Kingdee delivery, signed mode

constexpr char kKingdeeOutConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
mappings_dir: @MAPPINGS@
plugins: [@PLUGIN@]
sources:
  portal:
    connector: generic
    event_id: { header: X-Event-Id }
    mapping: builtin:canonical.order
destinations:
  kingdee:
    type: connector
    connector: @CONNECTOR@
    url: @URL@
    timeout: 5s
    mapping: kingdee/sal_saleorder.from_canon.yaml
    settings:
@SETTINGS@
      form_id: SAL_SaleOrder
      operations: "save,submit,audit"
    retry: { initial: 50ms, max: 200ms, max_age: 1h }
routes:
  - { from: [portal], types: ["order.*"], to: [kingdee] }
)";

std::string KingdeeOutConfig(const std::string& connector, const std::string& url, const std::string& settings) {
  return Replace(Replace(Replace(kKingdeeOutConfig, "@CONNECTOR@", connector), "@URL@", url), "@SETTINGS@", settings);
}

TEST_F(ErpE2E, KingdeeSignedDeliverySavesSubmitsAuditsOnceAndReportsKingdeesErrors) {
  FakeHttpServer server;
  ASSERT_TRUE(server.ok());
  KingdeeSimulator sim;
  sim.UseSignature(kKdAppId, kKdAppSecret, kKdAcct, kKdUser);
  server.SetHandler([&](const RecordedRequest& r) { return sim.Handle(r); });
  const std::string config = Config(KingdeeOutConfig(
      "kingdee", server.Url("/k3cloud/"),
      std::string("      app_id: ") + kKdAppId + "\n      app_secret: " + kKdAppSecret + "\n      acct_id: " + kKdAcct +
          "\n      user: " + kKdUser));
  ASSERT_NO_FATAL_FAILURE(StartHub(config));

  // 1. Saved, submitted and audited: one bill, each step once.
  ASSERT_NO_FATAL_FAILURE(PostOrder("DP-1001", "CUST0087", "912.00"));
  ASSERT_TRUE(WaitFor([&] { return sim.AuditedNumbers().size() == 1; }, kDeliveryTimeout)) << hub().Log();
  std::vector<KingdeeSimulator::Bill> saved = sim.SavedBills();
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved[0].form_id, "SAL_SaleOrder");
  EXPECT_EQ(saved[0].customer, "CUST0087");
  EXPECT_EQ(saved[0].status, "C");
  rapidjson::Document data = ParseJson(saved[0].data);
  EXPECT_EQ(JsonString(data, "/Model/FBillNo").value_or(""), "DP-1001") << saved[0].data;
  EXPECT_EQ(JsonString(data, "/Model/FSaleOrderEntry/0/FMaterialId/FNumber").value_or(""), "PUMP-200") << saved[0].data;
  EXPECT_EQ(sim.SubmittedNumbers(), std::vector<std::string>{saved[0].number});
  EXPECT_EQ(sim.AuditedNumbers(), std::vector<std::string>{saved[0].number});
  EXPECT_EQ(sim.AuthFailures(), 0) << ::testing::PrintToString(sim.AuthErrors());

  // 2. Kingdee refuses the Save with its error list: a dead letter carrying Kingdee's message,
  //    not retried, nothing submitted.
  sim.RejectNextSave({{"FCustId", "客户“CUST9999”不存在或未审核"}});
  ASSERT_NO_FATAL_FAILURE(PostOrder("DP-1002", "CUST9999"));
  std::string reason;
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& d : DeadLetters(config)) {
      if (!d.HasParseError() && JsonString(d, "/event_id").value_or("").rfind("DP-1002", 0) == 0) {
        reason = JsonString(d, "/reason").value_or("");
        return true;
      }
    }
    return false;
  }, kDeliveryTimeout, Millis(100))) << hub().Log();
  EXPECT_NE(reason.find("FCustId: 客户“CUST9999”不存在或未审核"), std::string::npos) << reason;
  EXPECT_NE(reason.find("Save"), std::string::npos) << reason;
  EXPECT_EQ(sim.RequestCount("Save"), 2);

  // 3. An HTTP 500 from the server: retried, then saved, submitted and audited.
  sim.FailNext(1);
  ASSERT_NO_FATAL_FAILURE(PostOrder("DP-1003", "CUST0102"));
  ASSERT_TRUE(WaitFor([&] { return sim.AuditedNumbers().size() == 2; }, kDeliveryTimeout)) << hub().Log();
  EXPECT_EQ(sim.RequestCount("Save"), 4);  // DP-1001, the refused DP-1002, DP-1003 twice (500, then saved)
  saved = sim.SavedBills();
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_EQ(JsonString(ParseJson(saved[1].data), "/Model/FBillNo").value_or(""), "DP-1003") << saved[1].data;
  EXPECT_EQ(sim.SubmittedNumbers(), (std::vector<std::string>{saved[0].number, saved[1].number}));
  EXPECT_EQ(sim.AuditedNumbers(), (std::vector<std::string>{saved[0].number, saved[1].number}));
  EXPECT_EQ(sim.RequestCount("Submit"), 2);
  EXPECT_EQ(sim.RequestCount("Audit"), 2);
  EXPECT_EQ(DeadLetters(config).size(), 1u);  // only DP-1002
  EXPECT_EQ(sim.AuthFailures(), 0) << ::testing::PrintToString(sim.AuthErrors());
}

// ---------------------------------------------------------------------------------------------
// Kingdee delivery, session mode

TEST_F(ErpE2E, KingdeeLoginSessionIsReusedAndRenewedWhenLostMidFlow) {
  FakeHttpServer server;
  ASSERT_TRUE(server.ok());
  KingdeeSimulator sim;
  // A session serves four requests: the first order's Save, Submit and Audit and the second
  // order's Save; the second order's Submit then finds it lost.
  sim.UseLogin(kKdAcct, "chub_api", "Kd-e2e-pass", 4);
  server.SetHandler([&](const RecordedRequest& r) { return sim.Handle(r); });
  ASSERT_NO_FATAL_FAILURE(StartHub(Config(KingdeeOutConfig(
      "kingdee_login", server.Url("/k3cloud/"),
      std::string("      acct_id: ") + kKdAcct + "\n      user: chub_api\n      password: Kd-e2e-pass"))));

  ASSERT_NO_FATAL_FAILURE(PostOrder("DL-2001", "CUST0087"));
  ASSERT_TRUE(WaitFor([&] { return sim.AuditedNumbers().size() == 1; }, kDeliveryTimeout)) << hub().Log();
  EXPECT_EQ(sim.Logins(), 1);

  ASSERT_NO_FATAL_FAILURE(PostOrder("DL-2002", "CUST0102"));
  ASSERT_TRUE(WaitFor([&] { return sim.AuditedNumbers().size() == 2; }, kDeliveryTimeout)) << hub().Log();
  // The second order's Save ran on the first session; its Submit was refused (session lost), the
  // hub logged in again and went on with the Submit, not a second Save.
  EXPECT_EQ(sim.Logins(), 2);
  EXPECT_EQ(sim.RequestCount("ValidateUser"), 2);
  EXPECT_EQ(sim.AuthFailures(), 1) << ::testing::PrintToString(sim.AuthErrors());
  EXPECT_EQ(sim.RequestCount("Save"), 2);
  EXPECT_EQ(sim.RequestCount("Submit"), 3);
  EXPECT_EQ(sim.RequestCount("Audit"), 2);
  const std::vector<KingdeeSimulator::Bill> saved = sim.SavedBills();
  ASSERT_EQ(saved.size(), 2u);
  EXPECT_EQ(sim.AuditedNumbers(), (std::vector<std::string>{saved[0].number, saved[1].number}));

  // Kingdee drops every session (a restart of the application server): the next delivery logs in
  // once more and completes.
  sim.ExpireSessions();
  ASSERT_NO_FATAL_FAILURE(PostOrder("DL-2003", "CUST0311"));
  ASSERT_TRUE(WaitFor([&] { return sim.AuditedNumbers().size() == 3; }, kDeliveryTimeout)) << hub().Log();
  EXPECT_EQ(sim.Logins(), 3);
  EXPECT_EQ(sim.AuthFailures(), 2) << ::testing::PrintToString(sim.AuthErrors());
  EXPECT_EQ(sim.RequestCount("Save"), 4);  // the third order's first Save met the dropped session
  EXPECT_EQ(sim.SavedBills().size(), 3u);
}

// ---------------------------------------------------------------------------------------------
// Kingdee polling

constexpr char kKingdeePollConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
mappings_dir: @MAPPINGS@
plugins: [@PLUGIN@]
sources:
  kingdee-orders:
    connector: kingdee
    url: @URL@
    poll: { interval: 1s, timeout: 5s }
    settings:
      app_id: 204399_72epSbtEQMC92Vwt2d3LRa9LRqSc1tqJ
      app_secret: fb7d46647ac346dbb5fcd45b65512a45
      acct_id: 5db25ac8d2b819
      user: webapi
      query_form_id: SAL_SaleOrder
      field_keys: "FID,FBillNo,FModifyDate,FDocumentStatus,FCustId.FNumber,FDate,FBillAllAmount"
      page_size: 2
      start: "2025-11-01 00:00:00"
    mapping: kingdee/sal_saleorder_query.to_canon.yaml
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [kingdee-orders], types: ["order.*"], to: [archive] }
)";

TEST_F(ErpE2E, KingdeePollingDeliversEveryBillOnceAcrossPagesAndRestarts) {
  FakeHttpServer server;
  ASSERT_TRUE(server.ok());
  KingdeeSimulator sim;
  sim.UseSignature(kKdAppId, kKdAppSecret, kKdAcct, kKdUser);
  ExtraQueryColumns extra({"FDate", "FBillAllAmount"});
  server.SetHandler([&](const RecordedRequest& r) { return extra.Handle(sim, r); });

  // Five bills over three pages of two, two pairs sharing a modification second (the cursor
  // must neither skip nor repeat them), in three document states; and one bill changed before
  // the configured start, which is never read.
  struct Seed {
    int64_t fid;
    const char* number;
    const char* modified;
    const char* customer;
    const char* status;
    const char* total;
  };
  const Seed seeds[] = {
      {300001, "XSDD300001", "2025-11-20 09:00:00", "CUST0087", "C", "24800.0"},
      {300002, "XSDD300002", "2025-11-20 09:00:00", "CUST0102", "A", "1530.5"},
      {300003, "XSDD300003", "2025-11-20 09:30:00", "CUST0311", "B", "980"},
      {300004, "XSDD300004", "2025-11-21 10:15:00", "CUST0087", "C", "66.6"},
      {300005, "XSDD300005", "2025-11-21 10:15:00", "CUST0102", "C", "120.25"},
      {300000, "XSDD300000", "2025-10-31 23:59:59", "CUST0087", "C", "1.0"},
  };
  for (const Seed& s : seeds) {
    sim.AddBill(s.fid, s.number, s.modified, s.customer, "SAL_SaleOrder", s.status);
    extra.Set(s.fid, {{"FDate", std::string("\"") + std::string(s.modified).substr(0, 10) + "T00:00:00\""},
                      {"FBillAllAmount", s.total}});
  }
  const std::string config = Config(Replace(kKingdeePollConfig, "@URL@", server.Url("/k3cloud/")));
  ASSERT_NO_FATAL_FAILURE(StartHub(config));

  std::map<std::string, int> expected;
  for (int i = 1; i <= 5; ++i) expected["XSDD30000" + std::to_string(i)] = 1;
  ASSERT_TRUE(WaitFor([&] { return ArchivedOrders().size() >= 5; }, kDeliveryTimeout))
      << ReadFile(Archive()) << hub().Log();
  // Two more queries (a later sweep reads the newest second again): still each bill once.
  const int queries = sim.RequestCount("ExecuteBillQuery");
  ASSERT_TRUE(WaitFor([&] { return sim.RequestCount("ExecuteBillQuery") >= queries + 2; }, Millis(5000)));
  ASSERT_TRUE(WaitForOrder("XSDD300005"));
  EXPECT_EQ(ArchivedOrders(), expected) << ReadFile(Archive());
  EXPECT_EQ(extra.Problem(), "");
  EXPECT_EQ(sim.AuthFailures(), 0) << ::testing::PrintToString(sim.AuthErrors());

  // The query mapping on a polled row.
  std::optional<CloudEvent> audited = ArchivedOrder("XSDD300001");
  ASSERT_TRUE(audited);
  EXPECT_EQ(audited->Str("/data/source/system").value_or(""), "kingdee");
  EXPECT_EQ(audited->Str("/data/channel").value_or(""), "dealer");
  EXPECT_EQ(audited->Str("/data/dealer_id").value_or(""), "CUST0087");
  EXPECT_EQ(audited->Str("/data/status").value_or(""), "confirmed");
  EXPECT_EQ(audited->Str("/data/currency").value_or(""), "CNY");
  EXPECT_EQ(audited->Str("/data/totals/total").value_or(""), "24800.00");
  EXPECT_EQ(audited->Str("/data/created_at").value_or(""), "2025-11-19T16:00:00Z");
  EXPECT_EQ(audited->Str("/data/updated_at").value_or(""), "2025-11-20T01:00:00Z");
  EXPECT_EQ(audited->Str("/data/ext/fid").value_or(""), "300001");
  ASSERT_TRUE(audited->doc && audited->doc->IsObject());
  const rapidjson::Value* lines = rapidjson::Pointer("/data/lines").Get(*audited->doc);
  ASSERT_TRUE(lines && lines->IsArray());
  EXPECT_EQ(lines->Size(), 0u);  // header-level query: no lines
  EXPECT_EQ(OrderField("XSDD300002", "/data/status"), "created");
  EXPECT_EQ(OrderField("XSDD300002", "/data/totals/total"), "1530.50");
  EXPECT_EQ(OrderField("XSDD300003", "/data/status"), "created");
  EXPECT_EQ(OrderField("XSDD300005", "/data/dealer_id"), "CUST0102");

  // Stop; a bill is added while the hub is down; start with the same config: the cursor and
  // the journal survive, so the new bill arrives and nothing is delivered twice.
  ASSERT_TRUE(hub().Terminate().Succeeded()) << hub().Log();
  sim.AddBill(300006, "XSDD300006", "2025-11-22 08:00:00", "CUST0311", "SAL_SaleOrder", "A");
  extra.Set(300006, {{"FDate", "\"2025-11-22T00:00:00\""}, {"FBillAllAmount", "75.5"}});
  ASSERT_NO_FATAL_FAILURE(StartHub(config));
  ASSERT_TRUE(WaitForOrder("XSDD300006")) << hub().Log();
  const int after_restart = sim.RequestCount("ExecuteBillQuery");
  ASSERT_TRUE(WaitFor([&] { return sim.RequestCount("ExecuteBillQuery") >= after_restart + 2; }, Millis(5000)));
  expected["XSDD300006"] = 1;
  EXPECT_EQ(ArchivedOrders(), expected) << ReadFile(Archive());
  EXPECT_EQ(OrderField("XSDD300006", "/data/totals/total"), "75.50");
  EXPECT_EQ(OrderField("XSDD300006", "/data/updated_at"), "2025-11-22T00:00:00Z");
  EXPECT_EQ(extra.Problem(), "");
}

// ---------------------------------------------------------------------------------------------
// SAP IDoc outbound

constexpr char kSapOutConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
mappings_dir: @MAPPINGS@
plugins: [@PLUGIN@]
sources:
  portal:
    connector: generic
    event_id: { header: X-Event-Id }
    mapping: builtin:canonical.order
destinations:
  sap:
    type: connector
    connector: sap_idoc
    url: @URL@
    timeout: 5s
    mapping: sap/orders05.from_canon.yaml
    settings: { user: CHUB_RFC, password: "Sap-out-e2e-41", sap_client: "300" }
    retry: { initial: 50ms, max: 200ms, max_age: 1h }
routes:
  - { from: [portal], types: ["order.*"], to: [sap] }
)";

TEST_F(ErpE2E, SapOutboundPostsTheIdocWithBasicAuthAndRetriesA503) {
  FakeHttpServer server;
  ASSERT_TRUE(server.ok());
  SapIdocReceiver sap;
  sap.RequireBasicAuth("CHUB_RFC", "Sap-out-e2e-41");
  sap.FailNext(1);
  server.SetHandler([&](const RecordedRequest& r) { return sap.Handle(r); });
  ASSERT_NO_FATAL_FAILURE(StartHub(Config(Replace(kSapOutConfig, "@URL@", server.Url("/sap/bc/idoc_xml")))));

  ASSERT_NO_FATAL_FAILURE(PostOrder("DP-3001", "0000201234", "2360.00"));
  ASSERT_TRUE(WaitFor([&] { return sap.Deliveries().size() == 1; }, kDeliveryTimeout)) << hub().Log();
  const std::vector<RecordedRequest> requests = server.Requests();
  ASSERT_EQ(requests.size(), 2u);  // 503, then accepted
  EXPECT_EQ(requests[0].replied_status, 503);
  EXPECT_EQ(requests[1].replied_status, 200);
  for (const RecordedRequest& r : requests) {
    EXPECT_EQ(r.Header("Authorization").value_or(""), BasicAuth("CHUB_RFC", "Sap-out-e2e-41"));
    EXPECT_EQ(r.body, requests[0].body);  // the retry sends the same IDoc
  }
  EXPECT_EQ(sap.AuthFailures(), 0);

  const SapIdocReceiver::Received idoc = sap.Deliveries()[0];
  EXPECT_EQ(idoc.target, "/sap/bc/idoc_xml?sap-client=300");
  EXPECT_NE(idoc.content_type.find("application/xml"), std::string::npos) << idoc.content_type;
  EXPECT_NE(idoc.body.find("<ORDERS05>"), std::string::npos) << idoc.body;
  EXPECT_NE(idoc.body.find("<IDOCTYP>ORDERS05</IDOCTYP>"), std::string::npos) << idoc.body;
  EXPECT_NE(idoc.body.find("<BELNR>DP-3001</BELNR>"), std::string::npos) << idoc.body;
  EXPECT_NE(idoc.body.find("<PARVW>AG</PARVW>"), std::string::npos) << idoc.body;
  EXPECT_NE(idoc.body.find("<PARTN>0000201234</PARTN>"), std::string::npos) << idoc.body;
  EXPECT_NE(idoc.body.find("<IDTNR>PUMP-200</IDTNR>"), std::string::npos) << idoc.body;
  EXPECT_NE(idoc.body.find("<ORT01>苏州市</ORT01>"), std::string::npos) << idoc.body;
}

}  // namespace
}  // namespace channelhub::e2e
