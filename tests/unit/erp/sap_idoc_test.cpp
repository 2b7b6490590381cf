// SAP IDoc connector, driven through the C ABI (sdk::Describe -> chub_connector trampolines).
#include "connectors/erp/sap_idoc.hpp"

#include <gtest/gtest.h>

#include <channelhub/plugin.hpp>
#include <fstream>
#include <pugixml.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "connectors/common/crypto.hpp"

namespace sdk = channelhub::sdk;
namespace erp = channelhub::connectors::erp;
using channelhub::connectors::Base64Encode;

namespace {

using KV = std::vector<std::pair<std::string, std::string>>;

std::vector<chub_kv> ToKv(const KV& kv) {
  std::vector<chub_kv> out;
  for (const auto& [k, v] : kv) out.push_back({sdk::Str(k), sdk::Str(v)});
  return out;
}

int64_t FixedNow(void*) { return 1700000000000; }

// One connector instance created through the ABI.
class Instance {
 public:
  explicit Instance(const KV& settings)
      : desc_(sdk::Describe<erp::SapIdoc>("sap_idoc", "test", 3, erp::SapIdoc::kSettings)) {
    host_.abi_version = CHUB_PLUGIN_ABI_VERSION;
    host_.now_ms = &FixedNow;
    auto kv = ToKv(settings);
    chub_settings s{kv.data(), kv.size()};
    char error[256] = {0};
    inst_ = desc_.create(&host_, &s, error, sizeof error);
    error_ = error;
  }
  ~Instance() {
    if (inst_) desc_.destroy(inst_);
  }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  bool ok() const { return inst_ != nullptr; }
  const std::string& error() const { return error_; }
  const chub_connector& desc() const { return desc_; }
  void* get() const { return inst_; }

 private:
  chub_connector desc_;
  chub_host host_{};
  void* inst_ = nullptr;
  std::string error_;
};

struct InboundOut {
  struct P {
    std::string event_id, kind, content_type, body;
  };
  std::vector<P> payloads;
  int respond_status = -1;
  int reject_status = -1;
  std::string reason;
};

InboundOut PostInbound(const Instance& inst, const std::string& body, const KV& headers = {},
                       const std::string& method = "POST") {
  InboundOut out;
  auto hkv = ToKv(headers);
  chub_http_request req{};
  req.method = sdk::Str(method);
  req.path = sdk::Str("/webhooks/sap");
  req.headers = hkv.data();
  req.header_count = hkv.size();
  req.body = sdk::Str(body);
  req.remote_address = sdk::Str("127.0.0.1");
  chub_inbound_sink sink{};
  sink.ctx = &out;
  sink.payload = [](void* ctx, chub_str id, chub_str kind, chub_str ct, chub_str b) {
    static_cast<InboundOut*>(ctx)->payloads.push_back(
        {std::string(sdk::View(id)), std::string(sdk::View(kind)), std::string(sdk::View(ct)),
         std::string(sdk::View(b))});
  };
  sink.respond = [](void* ctx, int status, chub_str, chub_str) {
    static_cast<InboundOut*>(ctx)->respond_status = status;
  };
  sink.reject = [](void* ctx, int status, chub_str reason) {
    auto* o = static_cast<InboundOut*>(ctx);
    o->reject_status = status;
    o->reason = std::string(sdk::View(reason));
  };
  inst.desc().inbound(inst.get(), &req, &sink);
  return out;
}

struct BuiltRequest {
  bool failed = false;
  std::string reason, method, target, body;
  KV headers;
  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (sdk::EqualsIgnoreCase(k, name)) return v;
    }
    return {};
  }
};

void SetRequestSink(chub_request_sink* sink, BuiltRequest* out) {
  sink->ctx = out;
  sink->request = [](void* ctx, chub_str m, chub_str t, const chub_kv* h, size_t n, chub_str b) {
    auto* o = static_cast<BuiltRequest*>(ctx);
    o->method = std::string(sdk::View(m));
    o->target = std::string(sdk::View(t));
    for (size_t i = 0; i < n; ++i)
      o->headers.emplace_back(sdk::View(h[i].key), sdk::View(h[i].value));
    o->body = std::string(sdk::View(b));
  };
  sink->fail = [](void* ctx, chub_str r) {
    auto* o = static_cast<BuiltRequest*>(ctx);
    o->failed = true;
    o->reason = std::string(sdk::View(r));
  };
}

chub_delivery MakeDelivery(const std::string& body) {
  chub_delivery d{};
  d.event_id = sdk::Str("evt-1");
  d.content_type = sdk::Str("application/xml");
  d.body = sdk::Str(body);
  d.attempt = 1;
  return d;
}

BuiltRequest Build(const Instance& inst, const std::string& body) {
  BuiltRequest out;
  chub_request_sink sink{};
  SetRequestSink(&sink, &out);
  chub_delivery d = MakeDelivery(body);
  inst.desc().build_delivery(inst.get(), &d, &sink);
  return out;
}

struct VerdictOut {
  int verdict = -1;
  std::string message, step;
  int64_t retry_after_ms = -1;
};

VerdictOut Judge(const Instance& inst, int status, const std::string& body,
                 const KV& headers = {}) {
  VerdictOut out;
  auto hkv = ToKv(headers);
  chub_http_response res{status, hkv.data(), hkv.size(), sdk::Str(body)};
  chub_verdict_sink sink{};
  sink.ctx = &out;
  sink.verdict = [](void* ctx, int v, chub_str m, chub_str s, int64_t r) {
    auto* o = static_cast<VerdictOut*>(ctx);
    o->verdict = v;
    o->message = std::string(sdk::View(m));
    o->step = std::string(sdk::View(s));
    o->retry_after_ms = r;
  };
  std::string payload = "<ORDERS05/>";
  chub_delivery d = MakeDelivery(payload);
  inst.desc().judge_delivery(inst.get(), &d, &res, &sink);
  return out;
}

std::string Fixture() {
  std::ifstream in(std::string(CHUB_SOURCE_DIR) + "/mappings/sap/orders05.to_canon.dealer.in.xml",
                   std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The fixture with a second IDOC (DOCNUM changed) appended under the same root.
std::string TwoIdocs(std::string_view second_docnum) {
  std::string xml = Fixture();
  std::size_t begin = xml.find("<IDOC");
  std::size_t end = xml.find("</IDOC>") + 7;
  std::string idoc = xml.substr(begin, end - begin);
  std::size_t d = idoc.find("0000000081234567");
  idoc.replace(d, 16, second_docnum);
  xml.insert(end, idoc);
  return xml;
}

}  // namespace

TEST(SapIdocInbound, SingleIdocFromFixture) {
  std::string xml = Fixture();
  ASSERT_FALSE(xml.empty()) << "fixture not found under " << CHUB_SOURCE_DIR;
  Instance inst(KV{});
  ASSERT_TRUE(inst.ok()) << inst.error();
  InboundOut out = PostInbound(inst, xml, {{"Content-Type", "application/xml"}});
  ASSERT_EQ(out.reject_status, -1) << out.reason;
  EXPECT_EQ(out.respond_status, 200);
  ASSERT_EQ(out.payloads.size(), 1u);
  const auto& p = out.payloads[0];
  EXPECT_EQ(p.event_id, "0000000081234567");
  EXPECT_EQ(p.kind, "ORDERS05");
  EXPECT_EQ(p.content_type, "application/xml");
  EXPECT_EQ(
      p.body.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ORDERS05><IDOC BEGIN=\"1\">", 0), 0u)
      << p.body;

  // The payload is the same IDoc: segments, UTF-8 text and entities survive.
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(p.body.c_str()));
  EXPECT_STREQ(doc.document_element().name(), "ORDERS05");
  EXPECT_STREQ(doc.select_node("/ORDERS05/IDOC/E1EDK02/BELNR").node().child_value(), "HD-PO-88017");
  EXPECT_STREQ(doc.select_node("//E1EDKA1[PARVW='WE']/ORT01").node().child_value(), "苏州市");
  EXPECT_STREQ(doc.select_node("//E1EDP19[QUALF='001']/KTEXT").node().child_value(),
               "机械密封 \"07\"");
  EXPECT_EQ(doc.select_nodes("//E1EDP01").size(), 2u);
}

TEST(SapIdocInbound, SeveralIdocsGiveOnePayloadEach) {
  Instance inst(KV{});
  ASSERT_TRUE(inst.ok()) << inst.error();
  std::string xml = TwoIdocs("0000000081234999");
  InboundOut out = PostInbound(inst, xml);
  ASSERT_EQ(out.reject_status, -1) << out.reason;
  ASSERT_EQ(out.payloads.size(), 2u);
  EXPECT_EQ(out.payloads[0].event_id, "0000000081234567");
  EXPECT_EQ(out.payloads[1].event_id, "0000000081234999");
  for (const auto& p : out.payloads) {
    pugi::xml_document doc;
    ASSERT_TRUE(doc.load_string(p.body.c_str()));
    EXPECT_EQ(doc.select_nodes("/ORDERS05/IDOC").size(), 1u);
    EXPECT_STREQ(doc.select_node("//EDI_DC40/DOCNUM").node().child_value(), p.event_id.c_str());
    EXPECT_EQ(p.kind, "ORDERS05");
  }
}

TEST(SapIdocInbound, ExtensionRootAndPaddedDocnum) {
  Instance inst(KV{});
  std::string xml =
      "<_-LUMBERL_-3PL_ORDERS05_EXT><IDOC BEGIN=\"1\"><EDI_DC40 SEGMENT=\"1\"><DOCNUM>  "
      "0000000064132944 \n"
      "</DOCNUM></EDI_DC40><E1EDK01 SEGMENT=\"1\"><BELNR>4700000325</BELNR></E1EDK01></IDOC>"
      "</_-LUMBERL_-3PL_ORDERS05_EXT>";
  InboundOut out = PostInbound(inst, xml);
  ASSERT_EQ(out.payloads.size(), 1u) << out.reason;
  EXPECT_EQ(out.payloads[0].event_id, "0000000064132944");
  EXPECT_EQ(out.payloads[0].kind, "_-LUMBERL_-3PL_ORDERS05_EXT");
}

TEST(SapIdocInbound, MissingDocnumNamesTheIdoc) {
  Instance inst(KV{});
  std::string xml = TwoIdocs("0000000081234999");
  std::size_t second = xml.find("0000000081234999");
  xml.replace(second - 8, 8 + 16 + 9, "");  // drop the second <DOCNUM>...</DOCNUM>
  ASSERT_EQ(xml.find("0000000081234999"), std::string::npos);
  InboundOut out = PostInbound(inst, xml);
  EXPECT_EQ(out.reject_status, 400);
  EXPECT_NE(out.reason.find("IDoc 2 of 2"), std::string::npos) << out.reason;
  EXPECT_NE(out.reason.find("DOCNUM"), std::string::npos) << out.reason;
  EXPECT_TRUE(out.payloads.empty());
}

TEST(SapIdocInbound, DoctypeIsRefused) {
  Instance inst(KV{});
  std::string xml =
      "<?xml version=\"1.0\"?><!DOCTYPE ORDERS05 [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
      "<ORDERS05><IDOC "
      "BEGIN=\"1\"><EDI_DC40><DOCNUM>1</DOCNUM></EDI_DC40><E1EDK01>&x;</E1EDK01></IDOC></ORDERS05>";
  InboundOut out = PostInbound(inst, xml);
  EXPECT_EQ(out.reject_status, 400);
  EXPECT_NE(out.reason.find("DOCTYPE"), std::string::npos) << out.reason;
  EXPECT_TRUE(out.payloads.empty());
}

TEST(SapIdocInbound, NotXmlOrNoIdoc) {
  Instance inst(KV{});
  InboundOut a = PostInbound(inst, "{\"json\":true}");
  EXPECT_EQ(a.reject_status, 400);
  EXPECT_NE(a.reason.find("XML"), std::string::npos) << a.reason;
  InboundOut b = PostInbound(inst, "<ORDERS05><SOMETHING/></ORDERS05>");
  EXPECT_EQ(b.reject_status, 400);
  EXPECT_NE(b.reason.find("no <IDOC>"), std::string::npos) << b.reason;
  InboundOut c = PostInbound(inst, "");
  EXPECT_EQ(c.reject_status, 400);
  InboundOut d = PostInbound(inst, "<ORDERS05><IDOC><EDI_DC40>", {});
  EXPECT_EQ(d.reject_status, 400);
}

TEST(SapIdocInbound, BasicAuth) {
  Instance inst(KV{{"user", "PIUSER"}, {"password", "s3cr:et"}});
  ASSERT_TRUE(inst.ok()) << inst.error();
  std::string xml = Fixture();
  InboundOut none = PostInbound(inst, xml);
  EXPECT_EQ(none.reject_status, 401);
  EXPECT_EQ(none.reason, "unauthorised");
  InboundOut wrong =
      PostInbound(inst, xml, {{"Authorization", "Basic " + Base64Encode("PIUSER:nope")}});
  EXPECT_EQ(wrong.reject_status, 401);
  InboundOut garbage = PostInbound(inst, xml, {{"Authorization", "Basic !!!"}});
  EXPECT_EQ(garbage.reject_status, 401);
  InboundOut bearer =
      PostInbound(inst, xml, {{"Authorization", "Bearer " + Base64Encode("PIUSER:s3cr:et")}});
  EXPECT_EQ(bearer.reject_status, 401);
  InboundOut good =
      PostInbound(inst, xml, {{"authorization", "basic " + Base64Encode("PIUSER:s3cr:et")}});
  EXPECT_EQ(good.reject_status, -1) << good.reason;
  EXPECT_EQ(good.payloads.size(), 1u);
  // Authentication comes before any parsing: a bad body without credentials is still a 401.
  EXPECT_EQ(PostInbound(inst, "<!DOCTYPE x>").reject_status, 401);
}

TEST(SapIdocOutbound, PostsXmlWithAuthAndClient) {
  Instance inst(KV{{"url", "http://sap.example:8000/sap/bc/idoc_xml"},
                   {"user", "CHUB"},
                   {"password", "pw"},
                   {"sap_client", "300"}});
  ASSERT_TRUE(inst.ok()) << inst.error();
  std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ORDERS05><IDOC BEGIN=\"1\"/></ORDERS05>";
  BuiltRequest r = Build(inst, xml);
  ASSERT_FALSE(r.failed) << r.reason;
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/sap/bc/idoc_xml?sap-client=300");
  EXPECT_EQ(r.Header("Content-Type"), "application/xml; charset=utf-8");
  EXPECT_EQ(r.Header("Authorization"), "Basic " + Base64Encode("CHUB:pw"));
  EXPECT_EQ(r.body, xml);

  Instance with_query(
      KV{{"url", "http://sap.example:8000/sap/bc/idoc_xml?sap-client=100"}, {"sap_client", "300"}});
  BuiltRequest q = Build(with_query, xml);
  EXPECT_EQ(q.target, "/sap/bc/idoc_xml?sap-client=100");
  EXPECT_EQ(q.Header("Authorization"), "");

  BuiltRequest empty = Build(inst, "  ");
  EXPECT_TRUE(empty.failed);
}

TEST(SapIdocOutbound, BadSettingsAreRefused) {
  Instance a(KV{{"sap_client", "30"}});
  EXPECT_FALSE(a.ok());
  EXPECT_NE(a.error().find("sap_client"), std::string::npos);
  Instance b(KV{{"url", "ftp://x/y"}});
  EXPECT_FALSE(b.ok());
  Instance c(KV{{"password", "only"}});
  EXPECT_FALSE(c.ok());
}

TEST(SapIdocOutbound, Verdicts) {
  Instance inst(KV{{"url", "http://sap.example/sap/bc/idoc_xml"}});
  EXPECT_EQ(Judge(inst, 200, "").verdict, CHUB_VERDICT_DONE);
  EXPECT_EQ(Judge(inst, 202, "").verdict, CHUB_VERDICT_DONE);
  VerdictOut unauth = Judge(inst, 401, "");
  EXPECT_EQ(unauth.verdict, CHUB_VERDICT_PERMANENT);
  EXPECT_NE(unauth.message.find("SAP refused the credentials"), std::string::npos);
  EXPECT_EQ(Judge(inst, 403, "").verdict, CHUB_VERDICT_PERMANENT);
  VerdictOut busy = Judge(inst, 503, "busy", {{"Retry-After", "30"}});
  EXPECT_EQ(busy.verdict, CHUB_VERDICT_RETRY);
  EXPECT_EQ(busy.retry_after_ms, 30000);
  EXPECT_EQ(Judge(inst, 500, "").verdict, CHUB_VERDICT_RETRY);
  EXPECT_EQ(Judge(inst, 429, "").verdict, CHUB_VERDICT_RETRY);
  EXPECT_EQ(Judge(inst, 408, "").verdict, CHUB_VERDICT_RETRY);
  EXPECT_EQ(Judge(inst, 500, "", {{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}}).retry_after_ms,
            0);
  VerdictOut bad = Judge(inst, 400, "IDoc type ORDERS05 unknown in partner profile");
  EXPECT_EQ(bad.verdict, CHUB_VERDICT_PERMANENT);
  EXPECT_NE(bad.message.find("partner profile"), std::string::npos) << bad.message;
  EXPECT_NE(bad.message.find("400"), std::string::npos) << bad.message;
}
