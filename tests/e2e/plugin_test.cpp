// The real binary with a connector plugin loaded (the example "echo" connector): a webhook the
// connector accepts or refuses, a delivery the connector builds and judges (retry, then done; a
// permanent refusal to the dead letters), `channelhub plugins` and the checks at start-up.
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/payloads.hpp"

namespace channelhub::e2e {
namespace {

const std::string kPlugin = std::string(CHUB_PLUGIN_DIR) + "/chub_example_echo.so";

constexpr char kConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
plugins: [@PLUGIN@]
sources:
  shop:
    connector: echo
    settings: { token: s3cret }
    mapping: builtin:canonical.order
destinations:
  backoffice:
    type: connector
    connector: echo
    url: @URL@
    timeout: 2s
    settings: { path: /api/orders }
    retry: { initial: 50ms, max: 200ms, max_age: 1h }
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [shop], types: ["order.*"], to: [backoffice, archive] }
)";

class PluginE2E : public HubTest {
 protected:
  std::string Config() {
    return WriteConfig(Replace(Replace(kConfig, "@PLUGIN@", kPlugin), "@URL@", backoffice_.Url("/")));
  }
  Result<HttpResponse> Post(const std::string& id, const std::string& order_no, const std::string& token = "s3cret") {
    HttpRequest r;
    r.method = "POST";
    r.target = "/webhooks/shop";
    r.headers = {{"Content-Type", "application/json"}, {"X-Echo-Token", token}, {"X-Echo-Id", id}};
    r.body = CanonicalOrderJson(order_no);
    return HttpCall(port(), r);
  }

  FakeHttpServer backoffice_;
};

TEST_F(PluginE2E, TheConnectorVerifiesWebhooksAndBuildsDeliveries) {
  ASSERT_TRUE(backoffice_.ok());
  backoffice_.Script({{503, R"({"error":"busy"})"}});  // the first attempt is retried
  ASSERT_NO_FATAL_FAILURE(StartHub(Config()));

  auto refused = Post("evt-x", "SO-X", "wrong");
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 401);
  EXPECT_NE(refused->body.find("missing or wrong token"), std::string::npos) << refused->body;

  auto ok = Post("evt-1", "SO-1");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);                   // the connector's answer, once journaled
  EXPECT_EQ(ok->body, R"({"echo":"ok"})");
  auto again = Post("evt-1", "SO-1");           // the platform's redelivery
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 200);

  ASSERT_TRUE(WaitForLines(tmp_.Join("out/events.jsonl"), 1));
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& r : backoffice_.Requests()) {
      if (r.replied_status == 200) return true;
    }
    return false;
  }, kDeliveryTimeout));
  auto requests = backoffice_.Requests();
  ASSERT_EQ(requests.size(), 2u);  // 503, then 200
  for (const auto& r : requests) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/api/orders");  // the connector's path on the destination's host
    EXPECT_EQ(r.Header("Idempotency-Key").value_or(""), "evt-1:0");
    CloudEvent ce = ParseCloudEvent(r.body);
    EXPECT_EQ(ce.Str("/data/order_no").value_or(""), "SO-1");
  }
  // One event in, although posted twice.
  EXPECT_EQ(ReadCloudEvents(tmp_.Join("out/events.jsonl")).size(), 1u);
}

TEST_F(PluginE2E, APermanentRefusalIsADeadLetterWithTheConnectorsReason) {
  ASSERT_TRUE(backoffice_.ok());
  backoffice_.SetDefault({422, R"({"error":"unknown customer C-9"})"});
  const std::string config = Config();
  ASSERT_NO_FATAL_FAILURE(StartHub(config));
  auto ok = Post("evt-2", "SO-2");
  ASSERT_TRUE(ok.ok());
  ASSERT_EQ(ok->status, 200);
  std::string out;
  ASSERT_TRUE(WaitFor([&] {
    RunResult r = RunChannelhub({"dlq", "--config", config}, tmp_.path());
    out = r.out;
    return out.find("evt-2") != std::string::npos;
  }, kDeliveryTimeout)) << out;
  EXPECT_NE(out.find("HTTP 422: {\\\"error\\\":\\\"unknown customer C-9\\\"} (permanent: not retried)"), std::string::npos)
      << out;
  EXPECT_EQ(backoffice_.RequestCount(), 1u);  // never retried
}

TEST_F(PluginE2E, PluginsCommandAndChecksAtStartUp) {
  const std::string config = Config();
  RunResult list = RunChannelhub({"plugins", "--config", config}, tmp_.path());
  ASSERT_TRUE(list.status.Succeeded()) << list.err;
  EXPECT_NE(list.out.find("echo           inbound, outbound"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("channelhub-example-echo 1.0.0"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("settings: token, header, path"), std::string::npos) << list.out;

  // A misspelt setting, a misspelt connector, a missing plugin file: refused before anything runs.
  std::string bad = Replace(Replace(kConfig, "@PLUGIN@", kPlugin), "@URL@", "http://127.0.0.1:9/");
  bad = Replace(bad, "token: s3cret", "tokn: s3cret");
  bad = Replace(bad, "    connector: echo\n    url", "    connector: ehco\n    url");
  RunResult check = RunChannelhub({"check", "--config", WriteConfig(bad, "bad.yaml")}, tmp_.path());
  EXPECT_EQ(check.status.code, 2) << check.err;
  EXPECT_NE(check.err.find("bad.yaml:7:17: sources.shop.settings.tokn: connector echo has no setting \"tokn\"; "
                           "did you mean \"token\"?"),
            std::string::npos)
      << check.err;
  EXPECT_NE(check.err.find("bad.yaml:12:16: destinations.backoffice.connector: no loaded plugin offers connector "
                           "\"ehco\"; did you mean \"echo\"?"),
            std::string::npos)
      << check.err;
  const std::string gone = Replace(Replace(kConfig, "@PLUGIN@", "/nonexistent/chub_x.so"), "@URL@", "http://127.0.0.1:9/");
  RunResult missing = RunChannelhub({"serve", "--config", WriteConfig(gone, "missing.yaml")}, tmp_.path());
  EXPECT_EQ(missing.status.code, 2);
  EXPECT_NE(missing.err.find("missing.yaml:3:1: plugins: /nonexistent/chub_x.so does not exist"),
            std::string::npos)
      << missing.err;
}

}  // namespace
}  // namespace channelhub::e2e
