// A bad day for one destination: its circuit breaker parks the queue instead of burning
// retries and closes when the system answers again; subjects go out in parallel lanes while
// each subject keeps its order; and when the undelivered backlog passes its limit, webhooks are
// answered 503 with Retry-After until it drains.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>
#include <string>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/payloads.hpp"

namespace channelhub::e2e {
namespace {

constexpr char kConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
journal: { backlog_limit: @BACKLOG@ }
sources:
  orders:
    connector: generic
    mapping: builtin:canonical.order
    event_id: { header: X-Event-Id }
destinations:
  erp:
    type: http
    url: @URL@
    timeout: 5s
    concurrency: @LANES@
    retry: { initial: 20ms, max: 40ms, max_age: 1h }
    breaker: { failures: 3, open_for: 1500ms }
routes:
  - { from: [orders], types: ["order.*"], to: [erp] }
)";

class ReliabilityE2E : public HubTest {
 protected:
  void Start(int lanes, int backlog = 1000000) {
    ASSERT_TRUE(erp_.ok());
    std::string yaml = Replace(kConfig, "@URL@", erp_.Url("/orders"));
    yaml = Replace(yaml, "@LANES@", std::to_string(lanes));
    yaml = Replace(yaml, "@BACKLOG@", std::to_string(backlog));
    ASSERT_NO_FATAL_FAILURE(StartHub(WriteConfig(yaml)));
  }
  Ack Post(const std::string& id, const std::string& order_no, const std::string& total = "20.00") {
    return PostWebhook(port(), "orders", CanonicalOrderJson(order_no, total), {{"X-Event-Id", id}});
  }
  std::vector<RecordedRequest> Delivered() {
    std::vector<RecordedRequest> out;
    for (auto& r : erp_.Requests()) {
      if (r.replied_status == 200) out.push_back(r);
    }
    return out;
  }

  FakeHttpServer erp_;
};

TEST_F(ReliabilityE2E, TheBreakerParksADownDestinationAndClosesWhenItAnswers) {
  erp_.SetDefault({503, R"({"error":"down"})"});
  ASSERT_NO_FATAL_FAILURE(Start(1));
  ASSERT_EQ(Post("b-1", "SO-B1").status, 202);
  // Three failures open the breaker; for its 1.5 s nothing is tried, although the retry policy
  // alone would try every 20-40 ms.
  ASSERT_TRUE(WaitFor([&] { return erp_.RequestCount() >= 3; }, kDeliveryTimeout));
  ASSERT_TRUE(WaitFor([&] { return hub().Log().find("circuit open") != std::string::npos; }, Millis(5000)))
      << hub().Log();
  const std::size_t at_open = erp_.RequestCount();
  std::this_thread::sleep_for(Millis(1000));
  EXPECT_LE(erp_.RequestCount(), at_open + 1) << "attempts while the circuit was open";
  // The system comes back: the half-open probe succeeds and the breaker closes.
  erp_.SetDefault({200, "{}"});
  ASSERT_TRUE(WaitFor([&] { return Delivered().size() == 1; }, kDeliveryTimeout));
  ASSERT_TRUE(WaitFor([&] { return hub().Log().find("circuit closed") != std::string::npos; }, Millis(5000)));
  EXPECT_NE(hub().Log().find("circuit half-open: one probe"), std::string::npos);
  ASSERT_EQ(Post("b-2", "SO-B2").status, 202);
  ASSERT_TRUE(WaitFor([&] { return Delivered().size() == 2; }, kDeliveryTimeout));
}

TEST_F(ReliabilityE2E, SubjectsGoOutInParallelAndEachSubjectInOrder) {
  erp_.SetDefault({200, "{}", Millis(250)});  // a slow ERP: a quarter second per request
  ASSERT_NO_FATAL_FAILURE(Start(4));
  for (int round = 0; round < 2; ++round) {
    for (int s = 0; s < 6; ++s) {
      const std::string no = "SO-P" + std::to_string(s);
      ASSERT_EQ(Post("p-" + std::to_string(s) + "-" + std::to_string(round), no, std::to_string(10 + round) + ".00").status,
                202);
    }
  }
  ASSERT_TRUE(WaitFor([&] { return Delivered().size() == 12; }, kDeliveryTimeout));
  auto requests = Delivered();
  // In order per subject: round 0 (total 10.00) before round 1 (11.00).
  std::map<std::string, std::vector<std::string>> totals;
  for (const auto& r : requests) {
    CloudEvent ce = ParseCloudEvent(r.body);
    totals[ce.Str("/data/order_no").value_or("?")].push_back(ce.Str("/data/totals/total").value_or("?"));
  }
  ASSERT_EQ(totals.size(), 6u);
  for (const auto& [no, t] : totals) EXPECT_EQ(t, (std::vector<std::string>{"10.00", "11.00"})) << no;
  // In parallel: some requests arrived while another was still being answered.
  int overlaps = 0;
  for (std::size_t i = 1; i < requests.size(); ++i) {
    if (requests[i].received_at - requests[i - 1].received_at < Millis(200)) ++overlaps;
  }
  EXPECT_GT(overlaps, 0) << "no two requests were in flight at once";
}

TEST_F(ReliabilityE2E, ABacklogAboveItsLimitIsAnswered503UntilItDrains) {
  erp_.SetDefault({503, R"({"error":"down"})"});
  ASSERT_NO_FATAL_FAILURE(Start(1, /*backlog=*/100));
  int accepted = 0;
  Ack refused;
  for (int i = 0; i < 400 && refused.status != 503; ++i) {
    Ack a = Post("k-" + std::to_string(i), "SO-K" + std::to_string(i));
    if (a.status == 202) {
      ++accepted;
    } else {
      refused = a;
    }
    if (accepted > 100) std::this_thread::sleep_for(Millis(5));  // let the gauge see it
  }
  ASSERT_EQ(refused.status, 503) << "accepted " << accepted;
  EXPECT_EQ(refused.error, "backlog_full");
  EXPECT_GE(accepted, 100);
  // Nothing acknowledged is lost: once the ERP is back, all of it is delivered, and the hub
  // takes webhooks again.
  erp_.SetDefault({200, "{}"});
  ASSERT_TRUE(WaitFor([&] { return Delivered().size() == static_cast<std::size_t>(accepted); }, Millis(60000)))
      << Delivered().size() << " of " << accepted;
  ASSERT_TRUE(WaitFor([&] { return Post("k-late", "SO-LATE").status == 202; }, Millis(10000)));
}

TEST_F(ReliabilityE2E, ResendQueuesDeliveredEventsAgainForOneDestinationOnly) {
  erp_.SetDefault({200, "{}"});
  std::string yaml = Replace(kConfig, "@URL@", erp_.Url("/orders"));
  yaml = Replace(Replace(yaml, "@LANES@", "2"), "@BACKLOG@", "1000000");
  yaml = Replace(yaml, "  - { from: [orders], types: [\"order.*\"], to: [erp] }",
                 "  - { from: [orders], types: [\"order.*\"], to: [erp, archive] }");
  yaml = Replace(yaml, "routes:", "  archive: { type: file, path: @DIR@/out/events.jsonl }\nroutes:");
  const std::string config = WriteConfig(yaml);
  ASSERT_NO_FATAL_FAILURE(StartHub(config));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Post("r-" + std::to_string(i), "SO-R" + std::to_string(i)).status, 202);
  ASSERT_TRUE(WaitFor([&] { return Delivered().size() == 3; }, kDeliveryTimeout));
  ASSERT_TRUE(WaitForLines(tmp_.Join("out/events.jsonl"), 3));

  // The ERP was restored from last night's backup: send it everything again; not the archive.
  RunResult vague = RunChannelhub({"resend", "--config", config, "--destination", "erp"}, tmp_.path());
  EXPECT_EQ(vague.status.code, 2) << vague.out;
  RunResult wrong = RunChannelhub({"resend", "--config", config, "--destination", "epr", "--type", "order"}, tmp_.path());
  EXPECT_NE(wrong.err.find("no destination \"epr\""), std::string::npos) << wrong.err;
  RunResult r = RunChannelhub({"resend", "--config", config, "--destination", "erp", "--since",
                               "2000-01-01T00:00:00Z", "--actor", "ops:li"},
                              tmp_.path());
  ASSERT_TRUE(r.status.Succeeded()) << r.err;
  EXPECT_NE(r.out.find("queued 3 events for erp again"), std::string::npos) << r.out;
  ASSERT_TRUE(WaitFor([&] { return Delivered().size() == 6; }, kDeliveryTimeout));
  // The same events, with their own ids as idempotency keys.
  std::multiset<std::string> keys;
  for (const auto& d : Delivered()) keys.insert(d.Header("Idempotency-Key").value_or(""));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(keys.count("r-" + std::to_string(i) + ":0"), 2u);
  std::this_thread::sleep_for(Millis(300));
  EXPECT_EQ(ReadCompleteLines(tmp_.Join("out/events.jsonl")).size(), 3u);  // the archive: untouched
  // One named event only.
  RunResult one = RunChannelhub({"resend", "--config", config, "--destination", "erp", "--event", "r-1:0"}, tmp_.path());
  EXPECT_NE(one.out.find("queued 1 event for erp again"), std::string::npos) << one.out + one.err;
  ASSERT_TRUE(WaitFor([&] { return Delivered().size() == 7; }, kDeliveryTimeout));
  RunResult audit = RunChannelhub({"dlq", "audit", "--config", config}, tmp_.path());
  EXPECT_NE(audit.out.find("ops:li resend: destination erp (3 event(s) queued again: created 2000-01-01T00:00:00Z to now)"),
            std::string::npos)
      << audit.out;
}

TEST_F(ReliabilityE2E, ASourcesRateLimitAnswers429AndMaxAttemptsEndsRetries) {
  erp_.SetDefault({503, R"({"error":"down"})"});
  ASSERT_TRUE(erp_.ok());
  std::string yaml = Replace(kConfig, "@URL@", erp_.Url("/orders"));
  yaml = Replace(Replace(yaml, "@LANES@", "1"), "@BACKLOG@", "1000000");
  yaml = Replace(yaml, "    event_id: { header: X-Event-Id }",
                 "    event_id: { header: X-Event-Id }\n    rate_limit: { rate: 5, burst: 5 }");
  yaml = Replace(yaml, "retry: { initial: 20ms, max: 40ms, max_age: 1h }",
                 "retry: { initial: 20ms, max: 40ms, max_age: 1h, max_attempts: 3 }");
  yaml = Replace(yaml, "breaker: { failures: 3, open_for: 1500ms }", "breaker: { failures: 100, open_for: 1s }");
  const std::string config = WriteConfig(yaml);
  ASSERT_NO_FATAL_FAILURE(StartHub(config));
  int accepted = 0;
  Ack limited;
  HttpConnection conn(port());
  for (int i = 0; i < 20; ++i) {
    Ack a = PostWebhook(conn, "orders", CanonicalOrderJson("SO-L" + std::to_string(i)), {{"X-Event-Id", "l-" + std::to_string(i)}});
    if (a.status == 202) ++accepted;
    if (a.status == 429) limited = a;
  }
  EXPECT_GE(accepted, 5);
  EXPECT_LT(accepted, 20);
  ASSERT_EQ(limited.status, 429);
  EXPECT_EQ(limited.error, "rate_limited");
  // max_attempts: three failed attempts, then a dead letter saying why.
  std::string out;
  ASSERT_TRUE(WaitFor([&] {
    out = RunChannelhub({"dlq", "list", "--config", config}, tmp_.path()).out;
    return out.find("l-0:0") != std::string::npos;
  }, kDeliveryTimeout)) << out;
  EXPECT_NE(out.find("(gave up after 3 attempts: max_attempts)"), std::string::npos) << out;
}

}  // namespace
}  // namespace channelhub::e2e
