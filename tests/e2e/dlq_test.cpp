// Dead letters as an admin handles them: show one with its attempts, replay a destination's
// after the system is fixed (delivered once, same idempotency key), replay a mapping failure
// after the mapping file is fixed (it runs through the new mapping), drop with a reason, and
// every action in the audit log.
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/payloads.hpp"

namespace channelhub::e2e {
namespace {

constexpr char kConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
mappings_dir: @DIR@/mappings
sources:
  orders:
    connector: generic
    mapping: acme/order.to_canon.yaml
    event_id: { header: X-Event-Id }
destinations:
  erp:
    type: http
    url: @URL@
    timeout: 2s
    retry: { initial: 20ms, max: 50ms, max_age: 1h }
routes:
  - { from: [orders], types: ["order.*"], to: [erp] }
)";

// A small mapping of a partner's order; "total" must be a decimal.
constexpr char kMapping[] = R"(format: json
target: order
rules:
  order_no: { from: $.no, required: true }
  source.system: { const: acme }
  source.id: $.no
  channel: { const: dealer }
  status: { const: created }
  currency: { const: CNY }
  totals.total: { from: $.total, transform: [decimal] }
)";

class DlqE2E : public HubTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(erp_.ok());
    ASSERT_TRUE(WriteFile(tmp_.Join("mappings/acme/order.to_canon.yaml"), kMapping));
    ASSERT_TRUE(WriteFile(tmp_.Join("mappings/schema/order.schema.json"),
                          ReadFile(std::string(CHUB_SOURCE_DIR) + "/mappings/schema/order.schema.json")));
    config_ = WriteConfig(Replace(kConfig, "@URL@", erp_.Url("/orders")));
  }
  RunResult Dlq(std::vector<std::string> args) {
    args.insert(args.begin(), "dlq");
    args.push_back("--config");
    args.push_back(config_);
    return RunChannelhub(args, tmp_.path());
  }
  Ack Post(const std::string& id, const std::string& total) {
    return PostWebhook(port(), "orders", R"({"no":")" + id + R"(","total":")" + total + R"("})",
                       {{"X-Event-Id", id}});
  }
  bool WaitForDeadLetter(const std::string& event_id) {
    return WaitFor([&] { return Dlq({"list"}).out.find("\"event_id\":\"" + event_id) != std::string::npos; },
                   kDeliveryTimeout);
  }
  std::size_t Delivered(const std::string& order_no) {
    std::size_t n = 0;
    for (const auto& r : erp_.Requests()) {
      if (r.replied_status == 200 && ParseCloudEvent(r.body).Str("/data/order_no").value_or("") == order_no) ++n;
    }
    return n;
  }

  FakeHttpServer erp_;
  std::string config_;
};

TEST_F(DlqE2E, ADestinationsDeadLettersAreShownReplayedOnceAndAudited) {
  erp_.SetDefault({422, R"({"error":"customer blocked"})"});
  ASSERT_NO_FATAL_FAILURE(StartHub(config_));
  ASSERT_EQ(Post("PO-1", "10.00").status, 202);
  ASSERT_TRUE(WaitForDeadLetter("PO-1:0"));

  // show: the payload and every attempt, with its error.
  RunResult list = Dlq({"list"});
  const std::size_t at = list.out.find("{\"id\":");
  ASSERT_NE(at, std::string::npos) << list.out;
  const std::string id = list.out.substr(at + 6, list.out.find(',', at) - at - 6);
  RunResult show = Dlq({"show", "--id", id});
  ASSERT_TRUE(show.status.Succeeded()) << show.err;
  EXPECT_NE(show.out.find("\"attempts\":[{\"at\":"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("HTTP 422: {\\\"error\\\":\\\"customer blocked\\\"}"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("\"payload\":"), std::string::npos) << show.out;

  // Replay without saying which: refused.
  RunResult vague = Dlq({"replay"});
  EXPECT_EQ(vague.status.code, 2);
  EXPECT_NE(vague.err.find("needs --id N, --destination NAME"), std::string::npos) << vague.err;

  // The ERP is fixed; replay the destination's dead letters.
  erp_.SetDefault({200, "{}"});
  RunResult replay = Dlq({"replay", "--destination", "erp", "--actor", "ops:anna"});
  ASSERT_TRUE(replay.status.Succeeded()) << replay.err;
  EXPECT_NE(replay.out.find("replayed 1 dead letter (audited as ops:anna)"), std::string::npos) << replay.out;
  ASSERT_TRUE(WaitFor([&] { return Delivered("PO-1") == 1; }, kDeliveryTimeout));
  // The same event, the same idempotency key as the failed attempt.
  auto requests = erp_.Requests();
  EXPECT_EQ(requests.front().Header("Idempotency-Key"), requests.back().Header("Idempotency-Key"));
  EXPECT_EQ(Dlq({"list"}).out, "");
  RunResult audit = Dlq({"audit"});
  EXPECT_NE(audit.out.find("ops:anna dlq.replay: dead letter " + id + " (delivery, source orders, destination erp, "
                           "event PO-1:0) (redelivered to erp; it failed with: HTTP 422"),
            std::string::npos)
      << audit.out;
  // The event's way, as a terminal shows it: two attempts at erp, delivered by the second.
  RunResult trace = RunChannelhub({"trace", "--config", config_, "--source", "orders", "--event", "PO-1"}, tmp_.path());
  ASSERT_TRUE(trace.status.Succeeded()) << trace.err;
  EXPECT_NE(trace.out.find("orders/PO-1"), std::string::npos) << trace.out;
  EXPECT_NE(trace.out.find("PO-1:0  com.channelhub.order.upserted"), std::string::npos) << trace.out;
  EXPECT_NE(trace.out.find("-> erp  delivered +"), std::string::npos) << trace.out;
  RunResult latest = RunChannelhub({"trace", "--config", config_}, tmp_.path());
  EXPECT_NE(latest.out.find("orders/PO-1"), std::string::npos) << latest.out;
  // Replaying again finds nothing: a dead letter leaves only once.
  EXPECT_NE(Dlq({"replay", "--id", id}).out.find("replayed 0 dead letters"), std::string::npos);
  EXPECT_EQ(Delivered("PO-1"), 1u);
}

TEST_F(DlqE2E, AMappingFailureIsReplayedThroughTheFixedMappingAndAnotherIsDropped) {
  erp_.SetDefault({200, "{}"});
  ASSERT_NO_FATAL_FAILURE(StartHub(config_));
  ASSERT_EQ(Post("PO-2", "12,50").status, 202);  // a comma: not a decimal for this mapping
  ASSERT_EQ(Post("PO-3", "n/a").status, 202);
  ASSERT_TRUE(WaitForDeadLetter("PO-2"));
  ASSERT_TRUE(WaitForDeadLetter("PO-3"));
  EXPECT_NE(Dlq({"list"}).out.find("totals.total: decimal: \\\"12,50\\\" is not a decimal"), std::string::npos);

  // The admin fixes the mapping (a comma is a decimal point for this partner) and restarts.
  ASSERT_TRUE(hub().Terminate().Succeeded());
  ASSERT_TRUE(WriteFile(tmp_.Join("mappings/acme/order.to_canon.yaml"),
                        Replace(kMapping, "transform: [decimal]",
                                "transform: [{ regex_replace: { pattern: \",\", replacement: \".\" } }, decimal]")));
  ASSERT_NO_FATAL_FAILURE(StartHub(config_));
  RunResult replay = Dlq({"replay", "--source", "orders", "--stage", "mapping"});
  ASSERT_TRUE(replay.status.Succeeded()) << replay.err;
  EXPECT_NE(replay.out.find("replayed 2 dead letters"), std::string::npos) << replay.out;
  ASSERT_TRUE(WaitFor([&] { return Delivered("PO-2") == 1; }, kDeliveryTimeout));
  // The original's trace leads on to its replay.
  RunResult traced = RunChannelhub({"trace", "--config", config_, "--source", "orders", "--event", "PO-2"}, tmp_.path());
  EXPECT_NE(traced.out.find("replayed as PO-2~replay"), std::string::npos) << traced.out << traced.err;
  // PO-3 fails again, now under the new mapping, and is a dead letter again; the admin drops it.
  ASSERT_TRUE(WaitForDeadLetter("PO-3~replay"));
  // Replayed again (still failing): one suffix, the newest, not PO-3~replayN~replayM.
  const std::string first = Dlq({"list"}).out;
  ASSERT_TRUE(Dlq({"replay", "--source", "orders", "--stage", "mapping"}).status.Succeeded());
  ASSERT_TRUE(WaitFor([&] {
    const std::string now = Dlq({"list"}).out;
    return now.find("\"event_id\":\"PO-3~replay") != std::string::npos && now != first;
  }, kDeliveryTimeout));
  EXPECT_EQ(Dlq({"list"}).out.find("~replay", Dlq({"list"}).out.find("~replay") + 1), std::string::npos)
      << Dlq({"list"}).out;
  RunResult list = Dlq({"list", "--source", "orders"});
  const std::size_t at = list.out.find("{\"id\":");
  ASSERT_NE(at, std::string::npos);
  const std::string id = list.out.substr(at + 6, list.out.find(',', at) - at - 6);
  EXPECT_EQ(Dlq({"drop", "--id", id}).status.code, 2);  // no reason given
  RunResult drop = Dlq({"drop", "--id", id, "--reason", "test order, never real"});
  ASSERT_TRUE(drop.status.Succeeded()) << drop.err;
  EXPECT_EQ(Dlq({"list"}).out, "");
  RunResult audit = Dlq({"audit"});
  EXPECT_NE(audit.out.find("dlq.drop: dead letter " + id), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("test order, never real; it had failed with:"), std::string::npos) << audit.out;
  EXPECT_EQ(Delivered("PO-2"), 1u);
  EXPECT_EQ(Delivered("PO-3"), 0u);
}

}  // namespace
}  // namespace channelhub::e2e
