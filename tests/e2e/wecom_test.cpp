// The real binary with the WeCom plugin (chub_wecom.so) and the shipped WeCom mappings, against
// the WeCom simulator of sim_wecom:
//   URL verification   the signed, encrypted echostr is answered with its plaintext; a wrong
//                      signature is refused.
//   callbacks          a signed add_external_contact callback -> "success" and one canonical
//                      customer, even when WeCom redelivers it twice; a tampered callback -> 401
//                      and nothing stored; a delete by transfer is not a churn.
//   wecom_contacts     the customers of the listed members (batch/get_by_user pages, then
//                      externalcontact/get each) with a token the hub fetches and renews on
//                      WeCom's 42001: name, unionid, tags, remark mobiles; each customer once.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/sim_wecom.hpp"

namespace channelhub::e2e {
namespace {

const std::string kPlugin = std::string(CHUB_PLUGIN_DIR) + "/chub_wecom.so";
const std::string kMappingsDir = std::string(CHUB_SOURCE_DIR) + "/mappings";
constexpr char kCustomerType[] = "com.channelhub.customer.upserted";

// Vector set B's corp (protocols.md §1.3) with a secret of our own.
constexpr char kCorpId[] = "ww1436e0e65a779aee";
constexpr char kToken[] = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo";
constexpr char kAesKey[] = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt";
constexpr char kSecret[] = "e2e-app-secret-0b7d";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) {
    text.replace(at, from.size(), to);
  }
  return text;
}

class WeComE2E : public HubTest {
 protected:
  WeComE2E() : sim_(kCorpId, kSecret, kToken, kAesKey) {
    server_.SetHandler([this](const RecordedRequest& r) { return sim_.Handle(r); });
  }

  std::string Config(const std::string& yaml) {
    return WriteConfig(Replace(Replace(Replace(yaml, "@PLUGIN@", kPlugin), "@MAPPINGS@", kMappingsDir), "@API@",
                               server_.Url("")));
  }
  std::string Archive() { return tmp_.Join("out/events.jsonl"); }

  // Archived customer events by external_userid.
  std::vector<CloudEvent> Customers(const std::string& external_userid) {
    std::vector<CloudEvent> out;
    for (CloudEvent& ce : ReadCloudEvents(Archive())) {
      if (ce.valid && ce.type == kCustomerType &&
          ce.Str("/data/wecom/external_userid").value_or("") == external_userid) {
        out.push_back(std::move(ce));
      }
    }
    return out;
  }
  bool WaitForCustomer(const std::string& external_userid) {
    return WaitFor([&] { return !Customers(external_userid).empty(); }, kDeliveryTimeout);
  }

  Result<HttpResponse> Send(const WecomSimulator::Signed& s, const std::string& method = "POST") {
    HttpRequest req;
    req.method = method;
    req.target = "/webhooks/wecom?" + s.query;
    req.body = s.body;
    if (method == "POST") req.headers = {{"Content-Type", "text/xml"}};
    return HttpCall(port(), req);
  }

  FakeHttpServer server_;
  WecomSimulator sim_;
};

constexpr char kCallbackConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
mappings_dir: @MAPPINGS@
plugins: [@PLUGIN@]
sources:
  wecom:
    connector: wecom
    settings:
      token: hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo
      encoding_aes_key: 6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt
      corp_id: ww1436e0e65a779aee
      secret: e2e-app-secret-0b7d
      api_url: @API@
    mapping:
      external_contact.add_external_contact: wecom/contact_event.to_canon.yaml
      external_contact.edit_external_contact: wecom/contact_event.to_canon.yaml
      external_contact.del_external_contact: wecom/contact_event.to_canon.yaml
      external_contact.del_follow_user: wecom/contact_event.to_canon.yaml
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [wecom], types: ["customer.*"], to: [archive] }
)";

TEST_F(WeComE2E, UrlVerificationAnswersThePlaintextEchostr) {
  ASSERT_TRUE(server_.ok());
  ASSERT_NO_FATAL_FAILURE(StartHub(Config(kCallbackConfig)));
  // An echostr with a '+' (sent as %2B) shows that the hub hands the connector the raw query and
  // the connector decodes it: the random prefix makes one in a few tries.
  WecomSimulator::Signed v;
  for (int i = 0; i < 500 && v.query.find("%2B") == std::string::npos; ++i) {
    v = sim_.Verification("5927782489167401372", "1764500000", "1597212914");
  }
  ASSERT_NE(v.query.find("%2B"), std::string::npos) << v.query;
  Result<HttpResponse> ok = Send(v, "GET");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(ok->body, "5927782489167401372");  // the bare plaintext: no quotes, no newline
  EXPECT_EQ(ok->Header("Content-Type").value_or("").rfind("text/plain", 0), 0u);

  WecomSimulator::Signed wrong = v;
  wrong.query = Replace(v.query, "nonce=1597212914", "nonce=1597212915");
  Result<HttpResponse> refused = Send(wrong, "GET");
  ASSERT_TRUE(refused.ok()) << refused.status().message();
  EXPECT_EQ(refused->status, 401) << refused->body;
  EXPECT_EQ(refused->body.find("5927782489167401372"), std::string::npos);
}

TEST_F(WeComE2E, SignedCallbackBecomesOneCustomerEvenWhenRedelivered) {
  ASSERT_TRUE(server_.ok());
  ASSERT_NO_FATAL_FAILURE(StartHub(Config(kCallbackConfig)));
  const std::string added = "wmR7kPCQAAq1Zx9cVbN4mL8kJ2hG6fDA01";
  const std::string xml = sim_.ContactEventXml("add_external_contact", "wangfang", added, 1764500000,
                                               "  <State><![CDATA[展会二维码]]></State>\n"
                                               "  <WelcomeCode><![CDATA[WELCOME-1]]></WelcomeCode>\n");
  Result<HttpResponse> first = Send(sim_.Callback(xml, "1764500001", "4711"));
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->status, 200) << first->body;
  EXPECT_EQ(first->body, "success");
  // WeCom did not see the answer in time and sends the same event again, twice (re-encrypted
  // with new random prefixes, new timestamps and nonces).
  for (int retry = 0; retry < 2; ++retry) {
    Result<HttpResponse> again = Send(sim_.Callback(xml, std::to_string(1764500006 + retry), std::to_string(4712 + retry)));
    ASSERT_TRUE(again.ok()) << again.status().message();
    EXPECT_EQ(again->status, 200) << again->body;
    EXPECT_EQ(again->body, "success");
  }

  // A tampered callback: one ciphertext character changed after signing.
  const std::string tampered_id = "wmR7kPCQAAq1Zx9cVbN4mL8kJ2hG6fDA02";
  WecomSimulator::Signed t =
      sim_.Callback(sim_.ContactEventXml("add_external_contact", "wangfang", tampered_id, 1764500010), "1764500010", "99");
  const std::size_t at = t.body.find("<![CDATA[", t.body.find("<Encrypt>")) + 9 + 5;
  t.body[at] = t.body[at] == 'A' ? 'B' : 'A';
  Result<HttpResponse> bad = Send(t);
  ASSERT_TRUE(bad.ok()) << bad.status().message();
  EXPECT_EQ(bad->status, 401) << bad->body;
  // Signed with a wrong token: refused as well.
  WecomSimulator forger(kCorpId, kSecret, "not-the-token", kAesKey);
  Result<HttpResponse> forged =
      Send(forger.Callback(sim_.ContactEventXml("add_external_contact", "wangfang", tampered_id, 1764500011), "1", "2"));
  ASSERT_TRUE(forged.ok()) << forged.status().message();
  EXPECT_EQ(forged->status, 401) << forged->body;

  // A later event marks the point: everything before it has been processed when it shows.
  const std::string moved = "wmR7kPCQAAq1Zx9cVbN4mL8kJ2hG6fDA03";
  Result<HttpResponse> marker = Send(sim_.Callback(
      sim_.ContactEventXml("del_external_contact", "lisi", moved, 1764500020,
                           "  <Source><![CDATA[DELETE_BY_TRANSFER]]></Source>\n"),
      "1764500020", "123"));
  ASSERT_TRUE(marker.ok()) << marker.status().message();
  EXPECT_EQ(marker->status, 200) << marker->body;
  ASSERT_TRUE(WaitForCustomer(moved)) << hub().Log();

  const std::vector<CloudEvent> add = Customers(added);
  ASSERT_EQ(add.size(), 1u) << ReadFile(Archive());
  EXPECT_EQ(add[0].Str("/data/source/system").value_or(""), "wecom");
  EXPECT_EQ(add[0].Str("/data/source/id").value_or(""), added);
  EXPECT_EQ(add[0].Str("/data/ext/change_type").value_or(""), "add_external_contact");
  EXPECT_EQ(add[0].Str("/data/ext/follow_userid").value_or(""), "wangfang");
  EXPECT_EQ(add[0].Str("/data/ext/state").value_or(""), "展会二维码");
  EXPECT_EQ(add[0].Str("/data/ext/changed_at").value_or(""), "2025-11-30T10:53:20Z");
  EXPECT_TRUE(Customers(tampered_id).empty()) << ReadFile(Archive());
  const std::vector<CloudEvent> del = Customers(moved);
  ASSERT_EQ(del.size(), 1u);
  EXPECT_EQ(del[0].Str("/data/ext/churn").value_or(""), "false");
  EXPECT_EQ(del[0].Str("/data/ext/delete_source").value_or(""), "DELETE_BY_TRANSFER");
}

constexpr char kContactsConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
mappings_dir: @MAPPINGS@
plugins: [@PLUGIN@]
sources:
  wecom-contacts:
    connector: wecom_contacts
    url: @API@
    poll: { interval: 1s, timeout: 5s }
    settings:
      corp_id: ww1436e0e65a779aee
      secret: e2e-app-secret-0b7d
      userids: "rocky, tommy"
      page_size: 2
    mapping: wecom/external_contact.to_canon.yaml
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [wecom-contacts], types: ["customer.*"], to: [archive] }
)";

TEST_F(WeComE2E, ContactsPollerEnrichesCustomersAndRenewsTheExpiredToken) {
  ASSERT_TRUE(server_.ok());
  sim_.AddContact("woAJ2GCAAAXtWyujaWJHDDGi0mACHA01", "李四", "ozynqsulJFCZ2z1aYeS8h-nuasdA01",
                  {{"rocky", "李部长", {"13800000001", "138-0000-0002"}, {"VIP"}, 1763539200}});
  sim_.AddContact("woAJ2GCAAAXtWyujaWJHDDGi0mACHA02", "王芳", "",
                  {{"tommy", "王总", {"13900000003"}, {}, 1763539300}});
  sim_.AddContact("woAJ2GCAAAXtWyujaWJHDDGi0mACHA03", "赵六", "ozynqsulJFCZ2z1aYeS8h-nuasdA03",
                  {{"rocky", "", {}, {}, 1763539400}});
  sim_.AddContact("woAJ2GCAAAXtWyujaWJHDDGi0mACHA04", "钱七", "", {{"somebody-else", "", {}, {}, 1763539500}});
  sim_.SetUsesPerToken(2);  // a token expires every second API call: renewed mid-sync
  ASSERT_NO_FATAL_FAILURE(StartHub(Config(kContactsConfig)));

  ASSERT_TRUE(WaitFor([&] {
    return !Customers("woAJ2GCAAAXtWyujaWJHDDGi0mACHA01").empty() &&
           !Customers("woAJ2GCAAAXtWyujaWJHDDGi0mACHA02").empty() &&
           !Customers("woAJ2GCAAAXtWyujaWJHDDGi0mACHA03").empty();
  }, kDeliveryTimeout)) << hub().Log();
  // A few more full syncs of unchanged data add nothing.
  const int calls = sim_.ApiCalls();
  ASSERT_TRUE(WaitFor([&] { return sim_.ApiCalls() >= calls + 4; }, kDeliveryTimeout)) << hub().Log();
  ASSERT_TRUE(WaitFor([&] { return sim_.ExpiredAnswers() >= 1; }, kDeliveryTimeout));

  const std::vector<CloudEvent> li = Customers("woAJ2GCAAAXtWyujaWJHDDGi0mACHA01");
  ASSERT_EQ(li.size(), 1u) << ReadFile(Archive());
  EXPECT_EQ(li[0].Str("/data/name").value_or(""), "李四");
  EXPECT_EQ(li[0].Str("/data/wecom/unionid").value_or(""), "ozynqsulJFCZ2z1aYeS8h-nuasdA01");
  EXPECT_EQ(li[0].Str("/data/mobiles/0").value_or(""), "+8613800000001");
  EXPECT_EQ(li[0].Str("/data/mobiles/1").value_or(""), "+8613800000002");
  EXPECT_EQ(li[0].Str("/data/ext/follow_userid").value_or(""), "rocky");
  EXPECT_EQ(li[0].Str("/data/tags/0").value_or(""), "VIP");
  EXPECT_EQ(li[0].Str("/data/ext/remark").value_or(""), "李部长");
  EXPECT_EQ(Customers("woAJ2GCAAAXtWyujaWJHDDGi0mACHA02").size(), 1u);
  EXPECT_EQ(Customers("woAJ2GCAAAXtWyujaWJHDDGi0mACHA03").size(), 1u);
  EXPECT_TRUE(Customers("woAJ2GCAAAXtWyujaWJHDDGi0mACHA04").empty()) << "not a listed member's customer";
  // The token was fetched again after WeCom said it expired, and not for every call.
  EXPECT_GE(sim_.TokenRequests(), 2);
  EXPECT_LT(sim_.TokenRequests(), sim_.ApiCalls() + sim_.ExpiredAnswers());
}

}  // namespace
}  // namespace channelhub::e2e
