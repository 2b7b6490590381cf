// The admin API on its own listener: tokens with roles (viewer, operator, admin), dead letters
// and re-sync over HTTP, every change audited with the token's name; the webhook port serves
// none of it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>
#include <sstream>
#include <string>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/payloads.hpp"

namespace channelhub::e2e {
namespace {

constexpr char kViewer[] = "viewer-token-0123456789abcdef";
constexpr char kOperator[] = "operator-token-0123456789abcdef";
constexpr char kAdmin[] = "admin-token-0123456789abcdef";

constexpr char kConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
admin:
  listen: 127.0.0.1:0
  tokens:
    - { name: dash, token: "${env:CHUB_T_VIEWER}", role: viewer }
    - { name: ops-anna, token: "${env:CHUB_T_OPERATOR}", role: operator }
    - { name: root, token: "${env:CHUB_T_ADMIN}", role: admin }
sources:
  orders:
    connector: generic
    mapping: builtin:canonical.order
    event_id: { header: X-Event-Id }
destinations:
  erp:
    type: http
    url: @URL@
    retry: { initial: 20ms, max: 50ms, max_age: 1h }
routes:
  - { from: [orders], types: ["order.*"], to: [erp] }
)";

class AdminE2E : public HubTest {
 protected:
  void SetUp() override {
    ::setenv("CHUB_T_VIEWER", kViewer, 1);
    ::setenv("CHUB_T_OPERATOR", kOperator, 1);
    ::setenv("CHUB_T_ADMIN", kAdmin, 1);
    ASSERT_TRUE(erp_.ok());
    config_ = WriteConfig(Replace(kConfig, "@URL@", erp_.Url("/orders")));
    const std::string ready = tmp_.Join("admin.ready");
    ASSERT_NO_FATAL_FAILURE(StartHub(config_, {"--admin-ready-file", ready}));
    ASSERT_TRUE(WaitFor([&] { return !ReadFile(ready).empty(); }, Millis(5000)));
    const std::string addr = ReadFile(ready);
    admin_port_ = static_cast<uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
  }
  Result<HttpResponse> Call(const std::string& method, const std::string& target, const std::string& token,
                            const std::string& body = "") {
    HttpRequest r;
    r.method = method;
    r.target = target;
    if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + token);
    if (!body.empty()) {
      r.headers.emplace_back("Content-Type", "application/json");
      r.body = body;
    }
    return HttpCall(admin_port_, r);
  }

  FakeHttpServer erp_;
  std::string config_;
  uint16_t admin_port_ = 0;
};

TEST_F(AdminE2E, RolesGuardTheDeadLettersAndEveryChangeIsAudited) {
  erp_.SetDefault({422, R"({"error":"bad customer"})"});
  ASSERT_EQ(PostWebhook(port(), "orders", CanonicalOrderJson("SO-A1"), {{"X-Event-Id", "a-1"}}).status, 202);
  ASSERT_TRUE(WaitFor([&] {
    auto r = Call("GET", "/api/v1/dlq", kViewer);
    return r.ok() && r->body.find("a-1:0") != std::string::npos;
  }, kDeliveryTimeout));

  // Who may do what.
  auto anonymous = Call("GET", "/api/v1/status", "");
  ASSERT_TRUE(anonymous.ok());
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(Call("GET", "/api/v1/status", "not-a-token-at-all-0000")->status, 401);
  auto status = Call("GET", "/api/v1/status", kViewer);
  ASSERT_EQ(status->status, 200) << status->body;
  auto st = status->Json();
  EXPECT_EQ(st["dead_letters"].GetInt64(), 1);
  EXPECT_TRUE(st["hub"]["destinations"].IsArray());
  EXPECT_EQ(std::string(st["hub"]["destinations"][0]["breaker"].GetString()), "closed");
  EXPECT_EQ(Call("POST", "/api/v1/dlq/replay", kViewer, R"({"destination":"erp"})")->status, 403);
  EXPECT_EQ(Call("POST", "/api/v1/dlq/drop", kOperator, R"({"all":true,"reason":"x"})")->status, 403);
  // The webhook port has no admin API.
  EXPECT_EQ(HttpGet(port(), "/api/v1/status")->status, 404);

  // One dead letter, with its attempts.
  auto list = Call("GET", "/api/v1/dlq?destination=erp", kViewer)->Json();
  ASSERT_EQ(list["dead_letters"].Size(), 1u);
  const int64_t id = list["dead_letters"][0]["id"].GetInt64();
  auto one = Call("GET", "/api/v1/dlq/" + std::to_string(id), kViewer);
  ASSERT_EQ(one->status, 200);
  EXPECT_NE(one->body.find("\"attempts\":[{\"at\""), std::string::npos) << one->body;
  EXPECT_EQ(Call("GET", "/api/v1/dlq/99999", kViewer)->status, 404);

  // The ERP is fixed; the operator replays.
  erp_.SetDefault({200, "{}"});
  EXPECT_EQ(Call("POST", "/api/v1/dlq/replay", kOperator, "{}")->status, 400);  // no filter: refused
  auto replay = Call("POST", "/api/v1/dlq/replay", kOperator, R"({"destination":"erp"})");
  ASSERT_EQ(replay->status, 200) << replay->body;
  EXPECT_EQ(replay->body, R"({"replayed":1})");
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& r : erp_.Requests()) {
      if (r.replied_status == 200) return true;
    }
    return false;
  }, kDeliveryTimeout));

  // Re-sync everything to the ERP; the admin drops nothing (there is nothing left).
  auto resend = Call("POST", "/api/v1/resend", kOperator, R"({"destination":"erp","since":"2000-01-01T00:00:00Z"})");
  ASSERT_EQ(resend->status, 200) << resend->body;
  EXPECT_EQ(resend->body, R"({"queued":1})");
  EXPECT_EQ(Call("POST", "/api/v1/resend", kOperator, R"({"destination":"nope","type":"order"})")->status, 400);
  auto drop = Call("POST", "/api/v1/dlq/drop", kAdmin, R"({"all":true,"reason":"cleanup"})");
  ASSERT_EQ(drop->status, 200) << drop->body;
  EXPECT_EQ(drop->body, R"({"dropped":0})");

  // Metrics for a scraper: no token needed on the admin port, the Prometheus text format.
  auto metrics = Call("GET", "/metrics", "");
  ASSERT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("# TYPE channelhub_webhooks_total counter\nchannelhub_webhooks_total{outcome=\"accepted\"} 1\n"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("channelhub_breaker_state{destination=\"erp\"} 0"), std::string::npos);
  EXPECT_NE(metrics->body.find("\nchannelhub_dead_letters 0\n"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("\nprocess_resident_memory_bytes "), std::string::npos);
  // Per source and status, per destination and outcome, queue depth and age, latency histograms.
  EXPECT_NE(metrics->body.find("channelhub_webhook_responses_total{source=\"orders\",code=\"202\"} "), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("channelhub_deliveries_total{destination=\"erp\",outcome=\"dead_letter\"} 1"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("channelhub_queue_depth{destination=\"erp\"} "), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("channelhub_queue_oldest_age_seconds{destination=\"erp\"} "), std::string::npos);
  EXPECT_NE(metrics->body.find("channelhub_webhook_duration_seconds_bucket{source=\"orders\",le=\"+Inf\"} "),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("# TYPE channelhub_journal_sync_seconds histogram\n"), std::string::npos);
  EXPECT_NE(metrics->body.find("channelhub_journal_sync_seconds_count "), std::string::npos);
  // Every sample line is "name{labels} value" and every family has HELP and TYPE.
  std::istringstream lines(metrics->body);
  std::regex sample(R"(^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9]+(\.[0-9]+)?$)");
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << line;
  }

  // One event's way through the hub, with timings.
  auto recent = Call("GET", "/api/v1/events?limit=10", kViewer);
  ASSERT_EQ(recent->status, 200);
  EXPECT_NE(recent->body.find("\"event_id\":\"a-1\""), std::string::npos) << recent->body;
  // Its path: the replayed delivery, then the one the resend queued.
  EXPECT_NE(recent->body.find("\"path\":[\"a-1:0 -> erp: delivered\",\"a-1:0 -> erp: delivered\"]"),
            std::string::npos)
      << recent->body;
  auto trace = Call("GET", "/api/v1/events/orders/a-1", kViewer);
  ASSERT_EQ(trace->status, 200) << trace->body;
  auto tr = trace->Json();
  EXPECT_TRUE(tr["processed"].GetBool());
  ASSERT_GE(tr["events"].Size(), 1u);
  const auto& first = tr["events"][0];
  EXPECT_EQ(std::string(first["id"].GetString()), "a-1:0");
  EXPECT_EQ(std::string(first["destination"].GetString()), "erp");
  EXPECT_EQ(std::string(first["state"].GetString()), "delivered");  // replayed and delivered
  EXPECT_GE(first["delivered_after_ms"].GetInt64(), first["mapped_after_ms"].GetInt64());
  EXPECT_EQ(Call("GET", "/api/v1/events/orders/nope", kViewer)->status, 404);

  // The log level changes at run time (admin only).
  EXPECT_EQ(Call("PUT", "/api/v1/log-level", kOperator, R"({"level":"debug"})")->status, 403);
  EXPECT_EQ(Call("PUT", "/api/v1/log-level", kAdmin, R"({"level":"loud"})")->status, 400);
  auto level = Call("PUT", "/api/v1/log-level", kAdmin, R"({"level":"debug"})");
  ASSERT_EQ(level->status, 200) << level->body;
  EXPECT_TRUE(WaitFor([&] { return hub().Log().find("log level set to debug by api:root") != std::string::npos; },
                      Millis(2000)));

  auto audit = Call("GET", "/api/v1/audit", kViewer);
  ASSERT_EQ(audit->status, 200);
  EXPECT_NE(audit->body.find("\"actor\":\"api:ops-anna\",\"action\":\"dlq.replay\""), std::string::npos) << audit->body;
  EXPECT_NE(audit->body.find("\"actor\":\"api:ops-anna\",\"action\":\"resend\""), std::string::npos) << audit->body;
}

TEST_F(HubTest, AdminTokensMustComeFromTheEnvironmentOrAFile) {
  const std::string config = WriteConfig(R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
admin:
  tokens:
    - { name: x, token: plain-text-token-in-the-file, role: admin }
    - { name: y, token: short, role: boss }
sources:
  s: { mapping: builtin:canonical.order }
)");
  RunResult r = RunChannelhub({"check", "--config", config}, tmp_.path());
  EXPECT_EQ(r.status.code, 2);
  EXPECT_NE(r.err.find("admin.tokens[0].token: write the token as ${env:NAME} or ${file:/path}, not in the file itself"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("admin.tokens[1].token: a token of at least 16 characters is needed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("admin.tokens[1].role: expected viewer, operator or admin; got \"boss\""), std::string::npos)
      << r.err;
}

TEST_F(HubTest, JsonLogsAreOneObjectPerLineWithPersonalDataMasked) {
  const std::string config = WriteConfig(R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
log_format: json
sources:
  orders:
    connector: generic
    mapping: builtin:canonical.order
    event_id: { header: X-Event-Id }
)");
  ASSERT_NO_FATAL_FAILURE(StartHub(config));
  // A mapping failure whose reason quotes the buyer's mobile and e-mail: both masked in the log.
  ASSERT_EQ(PostWebhook(port(), "orders",
                        R"({"order_no":"SO-1","source":{"system":"s"},"channel":"dealer","status":"created",)"
                        R"("currency":"CNY","lines":[],"totals":{"total":"1"},"buyer":{"mobile":"13800138000x",)"
                        R"("email":"wang.fang@example.cn"}})",
                        {{"X-Event-Id", "pii-1"}})
                .status,
            202);
  ASSERT_TRUE(WaitFor([&] { return hub().Log().find("dead letter") != std::string::npos; }, kDeliveryTimeout))
      << hub().Log();
  ASSERT_TRUE(hub().Terminate().Succeeded());
  int lines = 0;
  std::istringstream log(hub().Log());
  for (std::string line; std::getline(log, line);) {
    if (line.empty()) continue;
    ++lines;
    rapidjson::Document d = ParseJson(line);
    ASSERT_FALSE(d.HasParseError()) << line;
    EXPECT_TRUE(d.HasMember("time") && d.HasMember("level") && d.HasMember("msg")) << line;
    EXPECT_EQ(line.find("13800138000"), std::string::npos) << line;
    EXPECT_EQ(line.find("wang.fang@"), std::string::npos) << line;
  }
  EXPECT_GE(lines, 3);
}

}  // namespace
}  // namespace channelhub::e2e
