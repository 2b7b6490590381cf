// One event followed through the real binary: the webhook's answer names its trace id, every
// log line about it (JSON logs at debug) carries that trace id from the webhook to the delivery,
// the admin API's trace shows received → mapped → matched (the master record, with the golden
// id) → delivered, and /metrics passes `promtool check metrics`.
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>
#include <string>

#include "tests/e2e/harness.hpp"

namespace channelhub::e2e {
namespace {

constexpr char kViewer[] = "viewer-token-trace-0123456789";
constexpr char kOperator[] = "operator-token-trace-0123456789";

constexpr char kConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
log_level: debug
log_format: json
admin:
  listen: 127.0.0.1:0
  tokens:
    - { name: ops, token: "${file:@DIR@/viewer.token}", role: viewer }
    - { name: oncall, token: "${file:@DIR@/operator.token}", role: operator }
sources:
  crm: { connector: generic, mapping: builtin:canonical.customer, event_id: { header: X-Event-Id } }
destinations:
  golden: { type: master }
  archive: { type: file, path: "@DIR@/var/out/customers.jsonl" }
routes:
  - { from: [crm], types: ["customer.*"], to: [golden, archive] }
)";

class TraceE2E : public HubTest {
 protected:
  void SetUp() override {
    WriteFile(tmp_.Join("viewer.token"), std::string(kViewer) + "\n");
    WriteFile(tmp_.Join("operator.token"), std::string(kOperator) + "\n");
    ASSERT_NO_FATAL_FAILURE(StartHub(WriteConfig(kConfig), {"--admin-ready-file", tmp_.Join("admin.ready")}));
    const std::string a = ReadFile(tmp_.Join("admin.ready"));
    admin_port_ = static_cast<uint16_t>(std::stoi(a.substr(a.rfind(':') + 1)));
  }
  Result<HttpResponse> Admin(const std::string& target, const char* token = kViewer, const char* method = "GET") {
    HttpRequest r;
    r.method = method;
    r.target = target;
    if (token) r.headers = {{"Authorization", std::string("Bearer ") + token}};
    return HttpCall(admin_port_, r);
  }
  uint16_t admin_port_ = 0;
};

TEST_F(TraceE2E, OneTraceIdFromWebhookToDeliveryAndTheMatchedStep) {
  HttpRequest post;
  post.method = "POST";
  post.target = "/webhooks/crm";
  post.headers = {{"Content-Type", "application/json"}, {"X-Event-Id", "cust-77"}};
  post.body = R"({"kind":"person","name":"林小梅","mobiles":["+8613912345678"],"source":{"system":"crm","id":"77"}})";
  auto ack = HttpCall(port(), post);
  ASSERT_TRUE(ack.ok());
  ASSERT_EQ(ack->status, 202) << ack->body;
  auto body = ack->Json();
  ASSERT_TRUE(body.HasMember("trace_id")) << ack->body;
  const std::string trace = body["trace_id"].GetString();
  EXPECT_EQ(trace.size(), 32u);
  EXPECT_EQ(ack->Header("X-Trace-Id").value_or(""), trace);

  // The trace in the admin API: received, mapped, matched (with the golden id), delivered.
  rapidjson::Document tr;
  ASSERT_TRUE(WaitFor([&] {
    auto t = Admin("/api/v1/events/crm/cust-77");
    if (!t.ok() || t->status != 200) return false;
    tr = t->Json();
    int done = 0;
    for (const auto& e : tr["events"].GetArray()) {
      if (e.HasMember("state") && (std::string(e["state"].GetString()) == "matched" ||
                                   std::string(e["state"].GetString()) == "delivered")) {
        ++done;
      }
    }
    return done == 2;
  }, kDeliveryTimeout));
  EXPECT_EQ(std::string(tr["trace_id"].GetString()), trace);
  bool matched = false, delivered = false;
  for (const auto& e : tr["events"].GetArray()) {
    const std::string dest = e["destination"].GetString();
    if (dest == "golden") {
      matched = true;
      EXPECT_EQ(std::string(e["state"].GetString()), "matched");
      ASSERT_TRUE(e.HasMember("golden_id"));
      EXPECT_EQ(std::string(e["golden_id"].GetString()).substr(0, 1), "G");
      EXPECT_GE(e["matched_after_ms"].GetInt64(), e["mapped_after_ms"].GetInt64());
    } else if (dest == "archive") {
      delivered = true;
      EXPECT_EQ(std::string(e["state"].GetString()), "delivered");
      EXPECT_GE(e["delivered_after_ms"].GetInt64(), e["mapped_after_ms"].GetInt64());
    }
  }
  EXPECT_TRUE(matched && delivered) << tr["events"].Size();

  // The log: the same trace id on the webhook's line, the mapping's and each delivery's; and
  // the mobile number is masked in every line.
  ASSERT_TRUE(WaitFor([&] { return hub().Log().find("destination archive: delivered") != std::string::npos; },
                      kDeliveryTimeout));
  const std::string log = hub().Log();
  int ingest = 0, mapped = 0, deliveries = 0;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("\"trace_id\":\"" + trace + "\"") == std::string::npos) continue;
    ingest += line.find("ingest: event cust-77 from crm is journaled") != std::string::npos;
    mapped += line.find("pipeline: event cust-77 from crm mapped into") != std::string::npos;
    deliveries += line.find(": delivered cust-77:0") != std::string::npos;
  }
  EXPECT_EQ(ingest, 1) << log;
  EXPECT_EQ(mapped, 1) << log;
  EXPECT_EQ(deliveries, 2) << log;  // golden and archive
  EXPECT_EQ(log.find("13912345678"), std::string::npos);
}

TEST_F(TraceE2E, MetricsPassPromtool) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_FAIL() << "promtool is missing: scripts/setup.sh installs Debian's prometheus package";
  }
  HttpRequest post;
  post.method = "POST";
  post.target = "/webhooks/crm";
  post.headers = {{"Content-Type", "application/json"}, {"X-Event-Id", "cust-1"}};
  post.body = R"({"kind":"person","name":"王芳","mobiles":["+8613800138000"],"source":{"system":"crm","id":"1"}})";
  ASSERT_EQ(HttpCall(port(), post)->status, 202);
  ASSERT_TRUE(WaitForLines(tmp_.Join("var/out/customers.jsonl"), 1));
  post.headers = {{"Content-Type", "application/json"}, {"X-Event-Id", "cust-bad"}};
  post.body = R"({"kind":"person","colour":"blue","source":{"system":"crm","id":"3"}})";  // a key the model lacks
  ASSERT_EQ(HttpCall(port(), post)->status, 202);
  post.body = R"({"kind":"person",)";  // truncated: refused at the door, counted by reason
  ASSERT_EQ(HttpCall(port(), post)->status, 400);
  auto m = Admin("/metrics", nullptr);
  ASSERT_TRUE(WaitFor([&] {
    m = Admin("/metrics", nullptr);
    return m.ok() &&
           m->body.find("channelhub_mapping_failures_total{source=\"crm\",stage=\"mapping\"} 1") != std::string::npos &&
           m->body.find("channelhub_master_golden_records 1") != std::string::npos;
  }, kDeliveryTimeout)) << (m.ok() ? m->body : "");
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->status, 200);
  const std::string file = tmp_.Join("metrics.txt");
  WriteFile(file, m->body);
  const std::string out = tmp_.Join("promtool.out");
  const int rc = std::system(("promtool check metrics < " + file + " > " + out + " 2>&1").c_str());
  EXPECT_EQ(rc, 0) << ReadFile(out) << "\n" << m->body;
  EXPECT_NE(m->body.find("channelhub_master_golden_records 1"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("channelhub_webhook_refusals_total{source=\"crm\",reason=\"malformed_body\"} 1"),
            std::string::npos)
      << m->body;
}

TEST_F(TraceE2E, ConfigCheckOverTheApiNamesTheProblemWithoutApplyingIt) {
  EXPECT_EQ(Admin("/api/v1/config/check", kViewer, "POST")->status, 403);  // operators and admins only
  auto ok = Admin("/api/v1/config/check", kOperator, "POST");
  ASSERT_TRUE(ok.ok());
  ASSERT_EQ(ok->status, 200) << ok->body;
  EXPECT_TRUE(ok->Json()["ok"].GetBool()) << ok->body;

  // An edit with a typo: the check names file, line and key; the running hub is untouched.
  const std::string path = tmp_.Join("hub.yaml");
  const std::string good = ReadFile(path);
  WriteFile(path, Replace(good, "type: master", "type: mastr"));
  auto bad = Admin("/api/v1/config/check", kOperator, "POST");
  ASSERT_EQ(bad->status, 200);
  auto doc = bad->Json();
  EXPECT_FALSE(doc["ok"].GetBool());
  ASSERT_GE(doc["problems"].Size(), 1u) << bad->body;
  const std::string first = doc["problems"][0].GetString();
  EXPECT_NE(first.find("hub.yaml:"), std::string::npos) << first;
  EXPECT_NE(first.find("destinations.golden.type"), std::string::npos) << first;
  EXPECT_NE(first.find("did you mean \"master\""), std::string::npos) << first;
  HttpRequest post;
  post.method = "POST";
  post.target = "/webhooks/crm";
  post.headers = {{"Content-Type", "application/json"}, {"X-Event-Id", "cust-2"}};
  post.body = R"({"kind":"person","name":"赵磊","source":{"system":"crm","id":"2"}})";
  EXPECT_EQ(HttpCall(port(), post)->status, 202);
  WriteFile(path, good);
}

TEST_F(TraceE2E, TheAdminCommandSpeaksTheSameApiWithTheSameRoles) {
  const std::string url = "http://127.0.0.1:" + std::to_string(admin_port_);
  HttpRequest post;
  post.method = "POST";
  post.target = "/webhooks/crm";
  post.headers = {{"Content-Type", "application/json"}, {"X-Event-Id", "cust-5"}};
  post.body = R"({"kind":"person","name":"周杰","source":{"system":"crm","id":"5"}})";
  ASSERT_EQ(HttpCall(port(), post)->status, 202);
  ASSERT_TRUE(WaitFor([&] {  // in the master record (its own destination, not the archive's pace)
    auto t = Admin("/api/v1/events/crm/cust-5");
    return t.ok() && t->body.find("\"state\":\"matched\"") != std::string::npos;
  }, kDeliveryTimeout));

  auto admin = [&](std::vector<std::string> words, const char* token_file = "viewer.token") {
    std::vector<std::string> args = {"admin", "--url", url, "--token-file", tmp_.Join(token_file)};
    args.insert(args.end(), words.begin(), words.end());
    return RunChannelhub(args, tmp_.path());
  };
  RunResult status = admin({"status"});
  EXPECT_EQ(status.status.code, 0) << status.err;
  EXPECT_NE(status.out.find("\"config_generation\": 1"), std::string::npos) << status.out;  // indented JSON

  RunResult trace = admin({"trace", "crm", "cust-5"});
  EXPECT_EQ(trace.status.code, 0) << trace.err;
  EXPECT_NE(trace.out.find("\"state\": \"matched\""), std::string::npos) << trace.out;

  RunResult search = admin({"customers", "name=周"});
  EXPECT_EQ(search.status.code, 0) << search.err;
  EXPECT_NE(search.out.find("周杰"), std::string::npos) << search.out;

  // A viewer may not check or reload; an operator may check.
  RunResult refused = admin({"config", "check"});
  EXPECT_EQ(refused.status.code, 1);
  EXPECT_NE(refused.err.find("HTTP 403"), std::string::npos) << refused.err;
  RunResult check = admin({"config", "check"}, "operator.token");
  EXPECT_EQ(check.status.code, 0) << check.err;
  EXPECT_NE(check.out.find("\"ok\": true"), std::string::npos) << check.out;

  RunResult usage = admin({"dlq", "explode"});
  EXPECT_EQ(usage.status.code, 2);
  EXPECT_NE(usage.err.find("expected list, show, replay or drop"), std::string::npos) << usage.err;
  RunResult no_token = RunChannelhub({"admin", "--url", url, "status"}, tmp_.path());
  EXPECT_EQ(no_token.status.code, 2);
  EXPECT_NE(no_token.err.find("CHANNELHUB_TOKEN"), std::string::npos) << no_token.err;
}

}  // namespace
}  // namespace channelhub::e2e
