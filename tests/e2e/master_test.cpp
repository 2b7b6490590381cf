// The master customer record through the real binary: two systems that both publish customers
// and both subscribe to the golden record, each echoing what it receives as its own update (as a
// real ERP or shop does when a record is saved) — the hub must settle, never echo a change back
// to the system it came from, and never loop; and golden records survive SIGKILL.
#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <map>
#include <set>
#include <string>

#include "tests/e2e/harness.hpp"

namespace channelhub::e2e {
namespace {

constexpr char kToken[] = "operator-token-master-0123456789";
constexpr char kAdminToken[] = "admin-token-master-0123456789ab";

constexpr char kConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
admin:
  listen: 127.0.0.1:0
  tokens:
    - { name: ops, token: "${env:CHUB_T_MASTER}", role: operator }
    - { name: dpo, token: "${env:CHUB_T_MASTER_ADMIN}", role: admin }
sources:
  sys_a: { connector: generic, mapping: builtin:canonical.customer, event_id: { header: X-Event-Id } }
  sys_b: { connector: generic, mapping: builtin:canonical.customer, event_id: { header: X-Event-Id } }
destinations:
  golden: { type: master }
  a_out: { type: http, url: "@A@", system: sys_a, retry: { initial: 20ms, max: 100ms } }
  b_out: { type: http, url: "@B@", system: sys_b, retry: { initial: 20ms, max: 100ms } }
  archive: { type: file, path: "@DIR@/var/out/golden.jsonl" }
master:
  survivorship:
    name: { rule: source_priority, sources: [sys_a, sys_b] }
routes:
  - { from: [sys_a, sys_b], types: ["customer.*"], to: [golden] }
  - { from: [master], types: [customer.golden.updated], to: [a_out, b_out, archive] }
)";

std::string CustomerJson(const std::string& system, const std::string& id, const std::string& name,
                         const std::string& mobile, const std::string& email = "") {
  std::string j = R"({"kind":"person","name":")" + name + R"(","mobiles":[")" + mobile + "\"]";
  if (!email.empty()) j += R"(,"emails":[")" + email + "\"]";
  return j + R"(,"source":{"system":")" + system + R"(","id":")" + id + R"("}})";
}

// What a subscribing system does with a golden record: it saves it under its own id (the one the
// golden record's links name for it, or a new one) and publishes that save as its own customer
// update, with the golden attributes and without the hub's ext.
std::string EchoOf(const std::string& system, const CloudEvent& golden, int* next_id) {
  const rapidjson::Value& data = (*golden.doc)["data"];
  std::string own;
  for (const auto& link : data["ext"]["golden"]["links"].GetArray()) {
    if (system == link["system"].GetString()) own = link["id"].GetString();
  }
  if (own.empty()) own = system + "-" + std::to_string(++*next_id);
  rapidjson::Document copy;
  copy.CopyFrom(data, copy.GetAllocator());
  copy.RemoveMember("ext");
  copy.RemoveMember("updated_at");
  copy["source"]["system"].SetString(system.c_str(), copy.GetAllocator());
  copy["source"]["id"].SetString(own.c_str(), copy.GetAllocator());
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  copy.Accept(w);
  return sb.GetString();
}

class MasterE2E : public HubTest {
 protected:
  void SetUp() override {
    ::setenv("CHUB_T_MASTER", kToken, 1);
    ::setenv("CHUB_T_MASTER_ADMIN", kAdminToken, 1);
    ASSERT_TRUE(a_.ok() && b_.ok());
    config_ = WriteConfig(Replace(Replace(kConfig, "@A@", a_.Url("/customers")), "@B@", b_.Url("/customers")));
  }
  void StartWithAdmin() {
    const std::string ready = tmp_.Join("admin.ready." + std::to_string(hubs_.size()));
    ASSERT_NO_FATAL_FAILURE(StartHub(config_, {"--admin-ready-file", ready}));
    ASSERT_TRUE(WaitFor([&] { return !ReadFile(ready).empty(); }, Millis(5000)));
    const std::string addr = ReadFile(ready);
    admin_port_ = static_cast<uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
  }
  Result<HttpResponse> Admin(const std::string& method, const std::string& target, const std::string& body = "",
                             const char* token = kToken) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.headers.emplace_back("Authorization", std::string("Bearer ") + token);
    if (!body.empty()) {
      r.headers.emplace_back("Content-Type", "application/json");
      r.body = body;
    }
    return HttpCall(admin_port_, r);
  }

  FakeHttpServer a_, b_;
  std::string config_;
  uint16_t admin_port_ = 0;
};

TEST_F(MasterE2E, TwoSystemsThatPublishAndSubscribeSettleWithoutEchoOrLoop) {
  ASSERT_NO_FATAL_FAILURE(StartWithAdmin());
  ASSERT_EQ(PostWebhook(port(), "sys_a", CustomerJson("sys_a", "A-1", "林晓峰", "+8613800138001", "lxf@example.com"),
                        {{"X-Event-Id", "a-1"}})
                .status,
            202);
  // Each system echoes every golden record it receives, until nothing new arrives for 2 s.
  std::map<std::string, std::size_t> seen = {{"sys_a", 0}, {"sys_b", 0}};
  int next_id = 0, echoes = 0;
  auto last_change = Clock::now();
  const auto deadline = Clock::now() + Millis(30000);
  while (Clock::now() - last_change < Millis(2000) && Clock::now() < deadline) {
    for (auto& [system, count] : seen) {
      FakeHttpServer& server = system == "sys_a" ? a_ : b_;
      auto requests = server.Requests();
      for (; count < requests.size(); ++count) {
        CloudEvent ce = ParseCloudEvent(requests[count].body);
        ASSERT_TRUE(ce.valid) << requests[count].body;
        EXPECT_EQ(ce.type, "com.channelhub.customer.golden.updated");
        EXPECT_NE(ce.Str("/data/ext/golden/changed_by").value_or(""), system)
            << "a golden change went back to the system it came from: " << ce.raw;
        const std::string echo = EchoOf(system, ce, &next_id);
        ASSERT_EQ(PostWebhook(port(), system, echo, {{"X-Event-Id", system + "-echo-" + std::to_string(++echoes)}})
                      .status,
                  202);
        last_change = Clock::now();
      }
    }
    std::this_thread::sleep_for(Millis(50));
  }
  ASSERT_LT(Clock::now(), deadline) << "the two systems never settled: " << a_.RequestCount() << " golden events to A, "
                                    << b_.RequestCount() << " to B";
  // A's record went to B (B saved it under a new id and said so); that new link went to A, whose
  // echo of its own record changed nothing. Two golden events in all.
  EXPECT_EQ(b_.RequestCount(), 1u);
  EXPECT_EQ(a_.RequestCount(), 1u);
  auto view = Admin("GET", "/api/v1/customers/sys_b/sys_b-1");
  ASSERT_TRUE(view.ok());
  ASSERT_EQ(view->status, 200) << view->body;
  auto d = view->Json();
  EXPECT_EQ(d["records"].Size(), 2u) << view->body;
  EXPECT_STREQ(d["golden"]["name"].GetString(), "林晓峰");
  EXPECT_STREQ(d["origins"]["name"]["system"].GetString(), "sys_a");

  // A change in B reaches A only, and settles again.
  const std::string id = d["id"].GetString();
  ASSERT_EQ(PostWebhook(port(), "sys_b", CustomerJson("sys_b", "sys_b-1", "林晓峰", "+8613800138001", "lin.xf@example.com"),
                        {{"X-Event-Id", "b-change"}})
                .status,
            202);
  ASSERT_TRUE(WaitFor([&] { return a_.RequestCount() == 2; }, kDeliveryTimeout));
  std::this_thread::sleep_for(Millis(500));
  EXPECT_EQ(b_.RequestCount(), 1u);
  CloudEvent change = ParseCloudEvent(a_.Requests()[1].body);
  EXPECT_EQ(change.Str("/data/ext/golden/changed_by").value_or(""), "sys_b");
  EXPECT_EQ(change.subject, "customer/golden/" + id);

  // Search, history and an audited unmerge over the admin API.
  auto search = Admin("GET", "/api/v1/customers?phone=138%200013%208001");
  ASSERT_TRUE(search.ok());
  EXPECT_NE(search->body.find("\"id\":\"" + id + "\""), std::string::npos) << search->body;
  auto unmerge = Admin("POST", "/api/v1/customers/unmerge", R"({"record":"sys_b/sys_b-1","reason":"test"})");
  ASSERT_TRUE(unmerge.ok());
  ASSERT_EQ(unmerge->status, 200) << unmerge->body;
  auto audit = Admin("GET", "/api/v1/customers/audit");
  ASSERT_TRUE(audit.ok());
  EXPECT_NE(audit->body.find("\"actor\":\"api:ops\""), std::string::npos) << audit->body;
  auto history = Admin("GET", "/api/v1/customers/" + id + "/history");
  ASSERT_TRUE(history.ok());
  EXPECT_NE(history->body.find("unmerge of sys_b/sys_b-1"), std::string::npos) << history->body;
  auto missing = Admin("GET", "/api/v1/customers/G999999");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  auto metrics = HttpGet(admin_port_, "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("channelhub_master_golden_records 2"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("channelhub_master_records 2"), std::string::npos) << metrics->body;

  // A deletion request: the operator may not, the admin may; then the person is gone.
  const std::string erase = R"({"id":"sys_a/A-1","reason":"PIPL request 42"})";
  auto refused = Admin("POST", "/api/v1/customers/erase", erase);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 403);
  auto erased = Admin("POST", "/api/v1/customers/erase", erase, kAdminToken);
  ASSERT_TRUE(erased.ok());
  ASSERT_EQ(erased->status, 200) << erased->body;
  EXPECT_GE(erased->Json()["journal_payloads"].GetInt64(), 1) << erased->body;
  auto gone = Admin("GET", "/api/v1/customers/sys_a/A-1");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->status, 404) << gone->body;
  auto found = Admin("GET", "/api/v1/customers?phone=13800138001");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->body.find("\"id\":\"" + id + "\""), std::string::npos)
      << "only the record unmerged above (its own golden record) remains: " << found->body;
}

TEST_F(MasterE2E, GoldenRecordsSurviveSigkillAndEveryChangeIsSentOnce) {
  ASSERT_NO_FATAL_FAILURE(StartWithAdmin());
  constexpr int kCustomers = 60;
  for (int i = 0; i < kCustomers; ++i) {
    const std::string mobile = "+86139" + std::to_string(20000000 + i);
    ASSERT_EQ(PostWebhook(port(), "sys_a", CustomerJson("sys_a", "K" + std::to_string(i), "客户" + std::to_string(i), mobile),
                          {{"X-Event-Id", "k-" + std::to_string(i)}})
                  .status,
              202);
  }
  hub().Kill();  // SIGKILL: whatever was acknowledged must come out after the restart
  ASSERT_NO_FATAL_FAILURE(StartWithAdmin());
  const std::string archive = tmp_.Join("var/out/golden.jsonl");
  std::set<std::string> goldens;
  ASSERT_TRUE(WaitFor(
      [&] {
        goldens.clear();
        for (const CloudEvent& ce : ReadCloudEvents(archive)) goldens.insert(ce.subject);
        return goldens.size() == kCustomers;
      },
      kDeliveryTimeout))
      << goldens.size() << " golden records in " << archive;
  // Every golden record is version 1 of its own: no event was applied twice.
  std::set<std::string> ids;
  for (const CloudEvent& ce : ReadCloudEvents(archive)) {
    EXPECT_NE(ce.id.find(":v1:"), std::string::npos) << ce.id;
    ids.insert(ce.id);
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kCustomers));
  auto view = Admin("GET", "/api/v1/customers/sys_a/K7");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->status, 200) << view->body;
}

}  // namespace
}  // namespace channelhub::e2e
