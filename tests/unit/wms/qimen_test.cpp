// QiMen connector: the sign (md5, hmac, hmac-sha256) against vectors computed outside the code,
// inbound accept / refuse, outbound build and judge.
#include "connectors/wms/qimen.hpp"

#include <gtest/gtest.h>

#include <channelhub/plugin.hpp>

#include "connectors/common/crypto.hpp"
#include <cctype>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sdk = channelhub::sdk;
namespace wms = channelhub::connectors::wms;
namespace qm = channelhub::connectors::wms::qimen;

namespace {

using KV = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kSecret = "qimen-test-secret";
constexpr const char* kBody =
    "<request><deliveryOrder><deliveryOrderCode>SO1</deliveryOrderCode></deliveryOrder></request>";

KV Params(const std::string& sign_method) {
  return {{"method", "taobao.qimen.deliveryorder.confirm"}, {"timestamp", "2025-11-20 16:50:00"},
          {"format", "xml"},        {"app_key", "23456789"},
          {"v", "2.0"},             {"sign_method", sign_method},
          {"customerId", "HMJJ01"}};
}

// The vectors were computed in a shell, independently of this code:
//   S='qimen-test-secret'
//   B='<request><deliveryOrder><deliveryOrderCode>SO1</deliveryOrderCode></deliveryOrder></request>'
//   P='app_key23456789customerIdHMJJ01formatxmlmethodtaobao.qimen.deliveryorder.confirm'
//   printf '%s' "$S${P}sign_methodmd5timestamp2025-11-20 16:50:00v2.0$B$S" | md5sum
//   printf '%s' "${P}sign_methodhmactimestamp2025-11-20 16:50:00v2.0$B" | openssl dgst -md5 -hmac "$S"
//   printf '%s' "${P}sign_methodhmac-sha256timestamp2025-11-20 16:50:00v2.0$B" | openssl dgst -sha256 -hmac "$S"
// (then upper-cased).
constexpr const char* kMd5Sign = "7273A348D390E9D21750F6E1D89DE345";
constexpr const char* kHmacSign = "E8CE6C4D663B204CD81C359B3CD105C1";
constexpr const char* kHmacSha256Sign = "25A4F61D3323FC9AD450A8C2617AF939F1C10F10D26F1C3CAD2209103DD1184B";

std::vector<chub_kv> ToKv(const KV& kv) {
  std::vector<chub_kv> out;
  for (const auto& [k, v] : kv) out.push_back({sdk::Str(k), sdk::Str(v)});
  return out;
}

int64_t FixedNow(void*) { return 1763628600000;  /* 2025-11-20 08:50:00 UTC = 16:50:00 China */ }

struct Fixture {
  KV settings;
  std::vector<chub_kv> kv;
  chub_host host{};
  std::unique_ptr<wms::Qimen> conn;
  explicit Fixture(KV s) : settings(std::move(s)) {
    kv = ToKv(settings);
    host.abi_version = 1;
    host.now_ms = &FixedNow;
    conn = std::make_unique<wms::Qimen>(sdk::Host(host), sdk::Settings(chub_settings{kv.data(), kv.size()}));
  }
};

KV BaseSettings(KV extra = {}) {
  KV kv = {{"app_key", "23456789"}, {"secret", kSecret}, {"customer_id", "HMJJ01"}};
  for (auto& e : extra) kv.push_back(std::move(e));
  return kv;
}

std::string Query(const KV& params, const std::string& sign) {
  std::string q;
  for (const auto& [k, v] : params) q += (q.empty() ? "" : "&") + sdk::UrlEncode(k) + "=" + sdk::UrlEncode(v);
  return q + "&sign=" + sign;
}

sdk::Request Post(const std::string& query, const std::string& body) {
  sdk::Request r;
  r.method = "POST";
  r.path = "/webhooks/wms";
  r.query = query;
  r.body = body;
  return r;
}

const std::string kConfirm = R"(<?xml version="1.0" encoding="utf-8"?>
<request><deliveryOrder><deliveryOrderCode>SO2511200087</deliveryOrderCode><outBizCode>KS01-CK-1</outBizCode>
<orderConfirmTime>2025-11-20 16:48:09</orderConfirmTime></deliveryOrder>
<packages><package><logisticsCode>ZTO</logisticsCode><expressCode>78592014536021</expressCode></package></packages>
<orderLines><orderLine><itemCode>6971234500017</itemCode><actualQty>2</actualQty></orderLine></orderLines></request>)";

}  // namespace

TEST(QimenSign, Md5MatchesAnIndependentVector) {
  EXPECT_EQ(qm::Sign(qm::SignMethod::kMd5, kSecret, Params("md5"), kBody), kMd5Sign);
}

TEST(QimenSign, HmacMatchesAnIndependentVector) {
  EXPECT_EQ(qm::Sign(qm::SignMethod::kHmacMd5, kSecret, Params("hmac"), kBody), kHmacSign);
  EXPECT_EQ(qm::Sign(qm::SignMethod::kHmacSha256, kSecret, Params("hmac-sha256"), kBody), kHmacSha256Sign);
}

TEST(QimenSign, SignParameterAndEmptyValuesAreLeftOutAndOrderDoesNotMatter) {
  KV p = Params("md5");
  KV shuffled(p.rbegin(), p.rend());
  shuffled.emplace_back("sign", "WHATEVER");
  shuffled.emplace_back("empty", "");
  EXPECT_EQ(qm::Sign(qm::SignMethod::kMd5, kSecret, shuffled, kBody), kMd5Sign);
  // A different body or secret gives another sign.
  EXPECT_NE(qm::Sign(qm::SignMethod::kMd5, kSecret, p, std::string(kBody) + " "), kMd5Sign);
  EXPECT_NE(qm::Sign(qm::SignMethod::kMd5, "other", p, kBody), kMd5Sign);
}

TEST(QimenSign, HelpersFormatTimesMethodsAndAnswers) {
  EXPECT_EQ(qm::ChinaTime(1763628600000), "2025-11-20 16:50:00");
  EXPECT_EQ(qm::ShortMethod("taobao.qimen.inventory.report"), "inventory.report");
  EXPECT_EQ(qm::ShortMethod("deliveryorder.confirm"), "deliveryorder.confirm");
  EXPECT_EQ(qm::ResponseXml(false, "x<1", "a&b"),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><response><flag>failure</flag><code>x&lt;1</code>"
            "<message>a&amp;b</message></response>");
}

TEST(QimenInbound, ASignedDeliveryConfirmIsAcceptedWithItsKindAndId) {
  Fixture f(BaseSettings());
  KV p = Params("md5");
  const std::string sign = qm::Sign(qm::SignMethod::kMd5, kSecret, p, kConfirm);
  sdk::InboundResult r = f.conn->Inbound(Post(Query(p, sign), kConfirm));
  ASSERT_FALSE(r.rejected) << r.reason;
  ASSERT_EQ(r.payloads.size(), 1u);
  EXPECT_EQ(r.payloads[0].kind, "deliveryorder.confirm");
  EXPECT_EQ(r.payloads[0].event_id, "deliveryorder:SO2511200087:KS01-CK-1");
  EXPECT_EQ(r.payloads[0].content_type, "application/xml");
  EXPECT_EQ(r.payloads[0].body, kConfirm);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("<flag>success</flag><code>0</code>"), std::string::npos) << r.body;

  // Without outBizCode the confirm time versions the id (no spaces: the hub refuses them).
  std::string no_biz = kConfirm;
  no_biz.erase(no_biz.find("<outBizCode>"), std::string("<outBizCode>KS01-CK-1</outBizCode>").size());
  r = f.conn->Inbound(Post(Query(p, qm::Sign(qm::SignMethod::kMd5, kSecret, p, no_biz)), no_biz));
  ASSERT_EQ(r.payloads.size(), 1u) << r.body;
  EXPECT_EQ(r.payloads[0].event_id, "deliveryorder:SO2511200087:2025-11-20T16:48:09");

  // A lower-case sign and the short method name are accepted as well.
  KV shortp = p;
  shortp[0].second = "deliveryorder.confirm";
  std::string lower = qm::Sign(qm::SignMethod::kMd5, kSecret, shortp, kConfirm);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  r = f.conn->Inbound(Post(Query(shortp, lower), kConfirm));
  ASSERT_EQ(r.payloads.size(), 1u) << r.body;
  EXPECT_EQ(r.payloads[0].kind, "deliveryorder.confirm");
}

TEST(QimenInbound, ABadSignIsAnsweredInQimensFailureShapeAndStoresNothing) {
  Fixture f(BaseSettings());
  KV p = Params("md5");
  const std::string sign = qm::Sign(qm::SignMethod::kMd5, kSecret, p, kConfirm);
  // Body changed after signing.
  std::string tampered = kConfirm;
  tampered.replace(tampered.find("<actualQty>2"), 12, "<actualQty>9");
  for (const auto& [query, body] : std::vector<std::pair<std::string, std::string>>{
           {Query(p, sign), tampered},
           {Query(p, "7273A348D390E9D21750F6E1D89DE346"), kConfirm},
           {Query(p, ""), kConfirm},
           {Query(p, sign).substr(0, Query(p, sign).find("&sign=")), kConfirm}}) {
    sdk::InboundResult r = f.conn->Inbound(Post(query, body));
    EXPECT_TRUE(r.payloads.empty());
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("<flag>failure</flag><code>sign-check-failure</code>"), std::string::npos) << r.body;
  }
  // Another app_key (signed with our secret) and a sign method this source does not use.
  KV other = p;
  other[3].second = "99999999";
  sdk::InboundResult r = f.conn->Inbound(Post(Query(other, qm::Sign(qm::SignMethod::kMd5, kSecret, other, kConfirm)), kConfirm));
  EXPECT_TRUE(r.payloads.empty());
  EXPECT_NE(r.body.find("sign-check-failure"), std::string::npos);
  KV hm = Params("hmac");
  r = f.conn->Inbound(Post(Query(hm, qm::Sign(qm::SignMethod::kHmacMd5, kSecret, hm, kConfirm)), kConfirm));
  EXPECT_TRUE(r.payloads.empty());
  EXPECT_NE(r.body.find("sign-check-failure"), std::string::npos);
  // GET is not a QiMen call.
  sdk::Request get = Post(Query(p, sign), kConfirm);
  get.method = "GET";
  EXPECT_TRUE(f.conn->Inbound(get).rejected);
}

TEST(QimenInbound, HmacSourceAcceptsHmacSigns) {
  Fixture f(BaseSettings({{"sign_method", "hmac"}}));
  KV hm = Params("hmac");
  sdk::InboundResult r =
      f.conn->Inbound(Post(Query(hm, qm::Sign(qm::SignMethod::kHmacMd5, kSecret, hm, kConfirm)), kConfirm));
  ASSERT_EQ(r.payloads.size(), 1u) << r.body;
  KV md = Params("md5");
  r = f.conn->Inbound(Post(Query(md, qm::Sign(qm::SignMethod::kMd5, kSecret, md, kConfirm)), kConfirm));
  EXPECT_TRUE(r.payloads.empty());
}

TEST(QimenInbound, StockReportsCustomersMethodsAndBodies) {
  Fixture f(BaseSettings());
  const std::string report =
      "<request><warehouseCode>WH-SZ-02</warehouseCode><checkOrderCode>PD1</checkOrderCode>"
      "<outBizCode>WMS-PD-1</outBizCode><items><item><itemCode>A</itemCode><quantity>-2</quantity></item></items></request>";
  KV p = Params("md5");
  p[0].second = "taobao.qimen.inventory.report";
  sdk::InboundResult r = f.conn->Inbound(Post(Query(p, qm::Sign(qm::SignMethod::kMd5, kSecret, p, report)), report));
  ASSERT_EQ(r.payloads.size(), 1u) << r.body;
  EXPECT_EQ(r.payloads[0].kind, "inventory.report");
  EXPECT_EQ(r.payloads[0].event_id, "inventory.report:WMS-PD-1");

  // Without outBizCode: a hash of the body, the same for the same body.
  const std::string bare = "<request><warehouseCode>W</warehouseCode><items><item><itemCode>A</itemCode></item></items></request>";
  r = f.conn->Inbound(Post(Query(p, qm::Sign(qm::SignMethod::kMd5, kSecret, p, bare)), bare));
  ASSERT_EQ(r.payloads.size(), 1u);
  EXPECT_EQ(r.payloads[0].event_id.rfind("inventory.report:", 0), 0u);
  EXPECT_EQ(r.payloads[0].event_id.size(), std::string("inventory.report:").size() + 40);

  // Another customerId (correctly signed): refused.
  KV cust = p;
  cust[6].second = "SOMEONE";
  r = f.conn->Inbound(Post(Query(cust, qm::Sign(qm::SignMethod::kMd5, kSecret, cust, report)), report));
  EXPECT_TRUE(r.payloads.empty());
  EXPECT_NE(r.body.find("<flag>failure</flag>"), std::string::npos);

  // A method this connector does not take, a malformed body, a confirm without its code.
  KV other = Params("md5");
  other[0].second = "taobao.qimen.entryorder.create";
  r = f.conn->Inbound(Post(Query(other, qm::Sign(qm::SignMethod::kMd5, kSecret, other, report)), report));
  EXPECT_TRUE(r.payloads.empty());
  EXPECT_NE(r.body.find("invalid-method"), std::string::npos);
  KV c = Params("md5");
  for (const std::string& body : {std::string("<request><deliveryOrder>"), std::string("<response/>"),
                                 std::string("<request><deliveryOrder><outBizCode>X</outBizCode></deliveryOrder></request>")}) {
    r = f.conn->Inbound(Post(Query(c, qm::Sign(qm::SignMethod::kMd5, kSecret, c, body)), body));
    EXPECT_TRUE(r.payloads.empty()) << body;
    EXPECT_NE(r.body.find("invalid-body"), std::string::npos) << r.body;
  }
}

TEST(QimenOutbound, BuildsASignedDeliveryOrderCreate) {
  Fixture f(BaseSettings({{"url", "http://wms.example:8080/router/qimen/service?partner=chub"},
                          {"target_app_key", "30001"}}));
  const std::string body =
      "<?xml version=\"1.0\"?><request><deliveryOrder><deliveryOrderCode>SO9</deliveryOrderCode>"
      "<extendProps><orderStatus>confirmed</orderStatus></extendProps></deliveryOrder></request>";
  sdk::Delivery d;
  d.event_id = "evt-1";
  d.body = body;
  sdk::OutRequest r = f.conn->BuildDelivery(d);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.body, body);
  ASSERT_EQ(r.target.rfind("/router/qimen/service?", 0), 0u) << r.target;
  const std::string query = r.target.substr(r.target.find('?') + 1);
  KV params = sdk::ParseQuery(query);
  std::string sign;
  std::map<std::string, std::string> by;
  for (const auto& [k, v] : params) by[k] = v;
  EXPECT_EQ(by["method"], "taobao.qimen.deliveryorder.create");
  EXPECT_EQ(by["timestamp"], "2025-11-20 16:50:00");
  EXPECT_EQ(by["app_key"], "23456789");
  EXPECT_EQ(by["customerId"], "HMJJ01");
  EXPECT_EQ(by["target_app_key"], "30001");
  EXPECT_EQ(by["partner"], "chub");
  EXPECT_EQ(by["sign_method"], "md5");
  EXPECT_EQ(by["v"], "2.0");
  EXPECT_EQ(by["format"], "xml");
  // The sign, recomputed here from its definition.
  std::string base;
  for (const auto& [k, v] : by) {
    if (k != "sign") base += k + v;
  }
  EXPECT_EQ(by["sign"], channelhub::connectors::HexUpper(channelhub::connectors::Md5(kSecret + base + body + kSecret)));

  // Other statuses are not sent; a body that is not a QiMen request neither.
  std::string shipped = body;
  shipped.replace(shipped.find("confirmed"), 9, "shipped");
  d.body = shipped;
  EXPECT_THROW(f.conn->BuildDelivery(d), sdk::Failure);
  d.body = "{\"order_no\":\"x\"}";
  EXPECT_THROW(f.conn->BuildDelivery(d), sdk::Failure);
}

TEST(QimenOutbound, JudgesQimensAnswers) {
  Fixture f(BaseSettings({{"url", "http://wms.example/qimen"}}));
  sdk::Delivery d;
  auto judge = [&](int status, const std::string& body) {
    sdk::Response res;
    res.status = status;
    res.body = body;
    return f.conn->JudgeDelivery(d, res);
  };
  EXPECT_EQ(judge(200, qm::ResponseXml(true, "0", "ok")).kind, CHUB_VERDICT_DONE);
  sdk::Verdict v = judge(200, qm::ResponseXml(false, "ITEM_NOT_EXIST", "商品 PUMP-200 不存在"));
  EXPECT_EQ(v.kind, CHUB_VERDICT_PERMANENT);
  EXPECT_NE(v.message.find("ITEM_NOT_EXIST: 商品 PUMP-200 不存在"), std::string::npos) << v.message;
  EXPECT_EQ(judge(200, qm::ResponseXml(false, "isp.service-unavailable", "busy")).kind, CHUB_VERDICT_RETRY);
  EXPECT_EQ(judge(503, "").kind, CHUB_VERDICT_RETRY);
  EXPECT_EQ(judge(429, "").kind, CHUB_VERDICT_RETRY);
  EXPECT_EQ(judge(200, "<html>gateway</html>").kind, CHUB_VERDICT_RETRY);
  EXPECT_EQ(judge(404, "").kind, CHUB_VERDICT_PERMANENT);
}

TEST(QimenSettings, RefusesBadSettings) {
  EXPECT_THROW(Fixture f(KV{{"secret", "s"}}), sdk::Failure);
  EXPECT_THROW(Fixture f(KV{{"app_key", "k"}}), sdk::Failure);
  EXPECT_THROW(Fixture f(BaseSettings({{"sign_method", "sha1"}})), sdk::Failure);
}

// Through the C ABI, as the hub calls it: create (a bad setting's message), inbound (payload and
// QiMen's answer through the sinks).
namespace {
struct AbiInbound {
  std::vector<std::pair<std::string, std::string>> payloads;  // kind, event id
  int status = 0;
  std::string content_type, body;
  bool rejected = false;
};
}  // namespace

TEST(QimenAbi, CreateAndInboundThroughTheSinks) {
  const chub_connector desc = sdk::Describe<wms::Qimen>("qimen", "test", CHUB_CAP_INBOUND | CHUB_CAP_OUTBOUND, wms::Qimen::kSettings);
  chub_host host{};
  host.abi_version = 1;
  host.now_ms = &FixedNow;
  char error[256] = {0};
  KV bad = BaseSettings({{"sign_method", "sha1"}});
  std::vector<chub_kv> bad_kv = ToKv(bad);
  chub_settings bad_settings{bad_kv.data(), bad_kv.size()};
  EXPECT_EQ(desc.create(&host, &bad_settings, error, sizeof error), nullptr);
  EXPECT_NE(std::string(error).find("sign_method"), std::string::npos) << error;

  KV good = BaseSettings();
  std::vector<chub_kv> good_kv = ToKv(good);
  chub_settings settings{good_kv.data(), good_kv.size()};
  void* inst = desc.create(&host, &settings, error, sizeof error);
  ASSERT_NE(inst, nullptr) << error;
  KV p = Params("md5");
  const std::string query = Query(p, qm::Sign(qm::SignMethod::kMd5, kSecret, p, kConfirm));
  const std::string method = "POST", path = "/webhooks/wms", remote = "127.0.0.1";
  chub_http_request req{sdk::Str(method), sdk::Str(path), sdk::Str(query), nullptr, 0, sdk::Str(kConfirm), sdk::Str(remote)};
  AbiInbound out;
  chub_inbound_sink sink{&out,
                         [](void* ctx, chub_str id, chub_str kind, chub_str, chub_str) {
                           static_cast<AbiInbound*>(ctx)->payloads.emplace_back(std::string(sdk::View(kind)), std::string(sdk::View(id)));
                         },
                         [](void* ctx, int status, chub_str ct, chub_str body) {
                           auto* o = static_cast<AbiInbound*>(ctx);
                           o->status = status;
                           o->content_type = std::string(sdk::View(ct));
                           o->body = std::string(sdk::View(body));
                         },
                         [](void* ctx, int, chub_str) { static_cast<AbiInbound*>(ctx)->rejected = true; }};
  desc.inbound(inst, &req, &sink);
  EXPECT_FALSE(out.rejected);
  ASSERT_EQ(out.payloads.size(), 1u);
  EXPECT_EQ(out.payloads[0].first, "deliveryorder.confirm");
  EXPECT_EQ(out.payloads[0].second, "deliveryorder:SO2511200087:KS01-CK-1");
  EXPECT_EQ(out.status, 200);
  EXPECT_NE(out.content_type.find("xml"), std::string::npos);
  EXPECT_NE(out.body.find("<flag>success</flag>"), std::string::npos);
  desc.destroy(inst);
}
