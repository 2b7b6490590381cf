// Delivery as a destination sees it: the HTTP request, retries with one idempotency key, order per
// subject, and a graceful stop.

#include <cctype>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/payloads.hpp"

namespace channelhub::e2e {
namespace {

// "Application/CloudEvents+JSON; charset=utf-8" -> "application/cloudevents+json": parameters
// such as charset do not change the media type.
std::string MediaType(const std::string& content_type) {
  std::string m = content_type.substr(0, content_type.find(';'));
  while (!m.empty() && m.back() == ' ') m.pop_back();
  for (char& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return m;
}

// One canonical-order source; destinations "erp" (HTTP, @URL@) and "archive" (file).
constexpr char kConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
sources:
  orders:
    connector: generic
    mapping: builtin:canonical.order
    event_id: { header: X-Event-Id }
destinations:
  erp:
    type: http
    url: @URL@
    timeout: 2s
    retry: { initial: 50ms, max: 200ms, max_age: 1h, multiplier: 2 }
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [orders], types: ["order.*"], to: [@TO@] }
)";

class DeliveryE2E : public HubTest {
 protected:
  // Starts a hub whose route sends to "to" ("erp", "archive" or "erp, archive").
  void StartWith(const std::string& to) {
    std::string yaml = Replace(Replace(kConfig, "@URL@", sink_.Url("/events")), "@TO@", to);
    ASSERT_TRUE(sink_.ok());
    config_ = WriteConfig(yaml);
    ASSERT_NO_FATAL_FAILURE(StartHub(config_));
  }

  Ack Post(const std::string& event_id, const std::string& order_no, const std::string& total = "20.00") {
    return PostWebhook(port(), "orders", CanonicalOrderJson(order_no, total), {{"X-Event-Id", event_id}});
  }

  // The requests the sink answered with 200, as CloudEvents.
  std::vector<CloudEvent> Accepted() {
    std::vector<CloudEvent> out;
    for (const auto& r : sink_.Requests()) {
      if (r.replied_status == 200) out.push_back(ParseCloudEvent(r.body));
    }
    return out;
  }

  std::string DescribeRequests() {
    std::string s;
    for (const auto& r : sink_.Requests()) {
      s += "  " + r.method + " " + r.target + " -> " + std::to_string(r.replied_status) +
           " key=" + r.Header("Idempotency-Key").value_or("<none>") + " body=" + r.body.substr(0, 160) + "\n";
    }
    return s.empty() ? "  (none)\n" : s;
  }

  FakeHttpServer sink_;
  std::string config_;
};

TEST_F(DeliveryE2E, HttpDestinationRetries503ThenDelivers) {
  sink_.Script({{503, R"({"error":"busy"})"}, {503, R"({"error":"busy"})"}});
  ASSERT_NO_FATAL_FAILURE(StartWith("erp"));

  Ack ack = Post("evt-retry-1", "SO-RETRY-1");
  ASSERT_EQ(ack.status, 202) << ack.ToString();
  ASSERT_TRUE(WaitFor([&] { return Accepted().size() >= 1; }, kDeliveryTimeout)) << DescribeRequests();

  // Barrier on the same subject: once it is delivered, the first event's attempts are over.
  Ack barrier = Post("evt-retry-2", "SO-RETRY-1", "21.00");
  ASSERT_EQ(barrier.status, 202) << barrier.ToString();
  ASSERT_TRUE(WaitFor([&] { return Accepted().size() >= 2; }, kDeliveryTimeout)) << DescribeRequests();

  auto requests = sink_.Requests();
  ASSERT_EQ(requests.size(), 4u) << "expected 503, 503, 200 for the first event and 200 for the second:\n"
                                 << DescribeRequests();
  const CloudEvent first = ParseCloudEvent(requests[0].body);
  ASSERT_TRUE(first.valid) << requests[0].body;
  EXPECT_EQ(first.id, ack.event_id + ":0");
  for (int i = 0; i < 3; ++i) {
    const auto& r = requests[static_cast<std::size_t>(i)];
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/events");
    EXPECT_EQ(r.Header("Idempotency-Key").value_or("<none>"), first.id) << "attempt " << i;
    EXPECT_EQ(MediaType(r.Header("Content-Type").value_or("<none>")), "application/cloudevents+json")
        << "attempt " << i;
    const CloudEvent ce = ParseCloudEvent(r.body);
    EXPECT_EQ(ce.id, first.id) << "attempt " << i << " carries another event";
  }
  EXPECT_EQ(requests[0].replied_status, 503);
  EXPECT_EQ(requests[1].replied_status, 503);
  EXPECT_EQ(requests[2].replied_status, 200);
  // Backoff: the retries are spaced (initial 50 ms, jitter ±20%), not fired back to back.
  EXPECT_GE(requests[1].received_at - requests[0].received_at, Millis(30));
  EXPECT_GE(requests[2].received_at - requests[1].received_at, Millis(30));

  EXPECT_EQ(first.type, "com.channelhub.order.upserted");
  EXPECT_EQ(first.Str("/specversion").value_or(""), "1.0");
  EXPECT_EQ(first.Str("/data/order_no").value_or(""), "SO-RETRY-1") << first.raw;
  const CloudEvent second = ParseCloudEvent(requests[3].body);
  EXPECT_EQ(second.id, barrier.event_id + ":0");
  EXPECT_EQ(requests[3].Header("Idempotency-Key").value_or("<none>"), second.id);
}

TEST_F(DeliveryE2E, HttpDestinationAcceptsARealisticAnswerBody) {
  // Real ERPs answer with a JSON document, not "{}".
  sink_.SetDefault({200, R"({"status":"accepted","document_id":"SO-2026-000123","warnings":[]})"});
  ASSERT_NO_FATAL_FAILURE(StartWith("erp"));
  for (int i = 0; i < 3; ++i) {
    Ack ack = Post("evt-body-" + std::to_string(i), "SO-BODY-" + std::to_string(i));
    ASSERT_EQ(ack.status, 202) << ack.ToString();
  }
  ASSERT_TRUE(WaitFor([&] { return Accepted().size() >= 3; }, kDeliveryTimeout)) << DescribeRequests();
  auto alive = HttpGet(port(), "/healthz");
  ASSERT_TRUE(alive.ok()) << "the hub is gone after delivering: " << alive.status().ToString();
  EXPECT_EQ(alive->status, 200);
  EXPECT_EQ(sink_.RequestCount(), 3u) << DescribeRequests();
}

TEST_F(DeliveryE2E, ConnectionErrorsAreRetried) {
  // The sink reads the first two requests and hangs up without answering.
  ScriptedReply hang_up;
  hang_up.hang_up = true;
  sink_.Script({hang_up, hang_up});
  ASSERT_NO_FATAL_FAILURE(StartWith("erp"));
  Ack ack = Post("evt-hangup-1", "SO-HANGUP-1");
  ASSERT_EQ(ack.status, 202) << ack.ToString();
  ASSERT_TRUE(WaitFor([&] { return Accepted().size() >= 1; }, kDeliveryTimeout)) << DescribeRequests();
  auto requests = sink_.Requests();
  ASSERT_GE(requests.size(), 3u) << DescribeRequests();
  for (const auto& r : requests) {
    EXPECT_EQ(r.Header("Idempotency-Key").value_or("<none>"), ack.event_id + ":0") << DescribeRequests();
  }
}

TEST_F(DeliveryE2E, SlowDestinationTimesOutAndIsRetried) {
  // The first answer comes after 3 s, past the destination's 2 s timeout; later ones at once.
  sink_.Script({{200, "{}", Millis(3000)}});
  ASSERT_NO_FATAL_FAILURE(StartWith("erp"));
  Ack ack = Post("evt-timeout-1", "SO-TIMEOUT-1");
  ASSERT_EQ(ack.status, 202) << ack.ToString();
  ASSERT_TRUE(WaitFor([&] { return sink_.RequestCount() >= 2; }, kDeliveryTimeout)) << DescribeRequests();
  auto requests = sink_.Requests();
  EXPECT_EQ(requests[0].Header("Idempotency-Key"), requests[1].Header("Idempotency-Key"));
  EXPECT_GE(requests[1].received_at - requests[0].received_at, Millis(1500))
      << "the retry came before the 2 s timeout could have passed";
}

TEST_F(DeliveryE2E, OrderIsKeptPerSubjectInFile) {
  ASSERT_NO_FATAL_FAILURE(StartWith("archive"));
  const std::string out = tmp_.Join("out/events.jsonl");
  std::vector<std::string> acked;
  HttpConnection conn(port());
  for (int i = 0; i < 20; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "seq-%02d", i);
    Ack ack = PostWebhook(conn, "orders", CanonicalOrderJson("SO-SEQ", std::to_string(i + 1) + ".00"),
                          {{"X-Event-Id", id}});
    ASSERT_EQ(ack.status, 202) << ack.ToString();
    acked.push_back(ack.event_id);
  }
  ASSERT_TRUE(WaitForLines(out, 20)) << ReadFile(out);
  auto events = ReadCloudEvents(out);
  ASSERT_EQ(events.size(), 20u) << ReadFile(out);
  for (std::size_t i = 0; i < events.size(); ++i) {
    ASSERT_TRUE(events[i].valid) << events[i].raw;
    EXPECT_EQ(InboundIdOf(events[i].id), acked[i]) << "position " << i << " out of order:\n" << ReadFile(out);
    EXPECT_EQ(events[i].subject, events[0].subject);
    EXPECT_EQ(events[i].Str("/data/totals/total").value_or(""), std::to_string(i + 1) + ".00") << events[i].raw;
  }
}

TEST_F(DeliveryE2E, OrderIsKeptPerSubjectAcrossHttpRetries) {
  // Every fourth event meets a 503 first: the next events of the subject must wait for it.
  std::vector<ScriptedReply> script;
  for (int i = 0; i < 20; ++i) {
    if (i % 4 == 0) script.push_back({503, R"({"error":"busy"})"});
    script.push_back({200, "{}"});
  }
  sink_.Script(script);
  ASSERT_NO_FATAL_FAILURE(StartWith("erp"));

  std::vector<std::string> acked;
  HttpConnection conn(port());
  for (int i = 0; i < 20; ++i) {
    Ack ack = PostWebhook(conn, "orders", CanonicalOrderJson("SO-SEQH", std::to_string(i + 1) + ".00"),
                          {{"X-Event-Id", "seqh-" + std::to_string(i)}});
    ASSERT_EQ(ack.status, 202) << ack.ToString();
    acked.push_back(ack.event_id);
  }
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < acked.size(); ++i) index[acked[i]] = i;

  auto delivered = [&] {
    std::set<std::string> ids;
    for (const auto& ce : Accepted()) ids.insert(InboundIdOf(ce.id));
    return ids.size();
  };
  ASSERT_TRUE(WaitFor([&] { return delivered() >= 20; }, kDeliveryTimeout)) << DescribeRequests();

  // No request for event k before every event j < k was accepted.
  std::set<std::size_t> accepted;
  for (const auto& r : sink_.Requests()) {
    const CloudEvent ce = ParseCloudEvent(r.body);
    ASSERT_TRUE(ce.valid) << r.body;
    auto it = index.find(InboundIdOf(ce.id));
    ASSERT_NE(it, index.end()) << "unknown event " << ce.id;
    const std::size_t k = it->second;
    for (std::size_t j = 0; j < k; ++j) {
      ASSERT_TRUE(accepted.count(j)) << "event " << k << " was sent before event " << j << " was delivered:\n"
                                     << DescribeRequests();
    }
    if (r.replied_status == 200) accepted.insert(k);
  }
}

TEST_F(DeliveryE2E, FanOutToTwoDestinations) {
  ASSERT_NO_FATAL_FAILURE(StartWith("erp, archive"));
  const std::string out = tmp_.Join("out/events.jsonl");
  Ack ack = Post("evt-fan-1", "SO-FAN-1");
  ASSERT_EQ(ack.status, 202) << ack.ToString();
  ASSERT_TRUE(WaitForLines(out, 1)) << ReadFile(out);
  ASSERT_TRUE(WaitFor([&] { return Accepted().size() >= 1; }, kDeliveryTimeout)) << DescribeRequests();
  const CloudEvent from_file = ReadCloudEvents(out).at(0);
  const CloudEvent from_http = Accepted().at(0);
  EXPECT_EQ(from_file.id, from_http.id);
  EXPECT_EQ(from_file.subject, from_http.subject);
  EXPECT_EQ(from_file.type, from_http.type);
}

TEST_F(DeliveryE2E, SigtermExitsZeroAndDeliversAcknowledgedEvents) {
  ASSERT_NO_FATAL_FAILURE(StartWith("archive"));
  const std::string out = tmp_.Join("out/events.jsonl");
  std::set<std::string> acked;
  HttpConnection conn(port());
  for (int i = 0; i < 10; ++i) {
    Ack ack = PostWebhook(conn, "orders", CanonicalOrderJson("SO-TERM-" + std::to_string(i)),
                          {{"X-Event-Id", "term-" + std::to_string(i)}});
    ASSERT_EQ(ack.status, 202) << ack.ToString();
    acked.insert(ack.event_id);
  }
  conn.Close();
  ExitStatus e = hub().Terminate();
  EXPECT_TRUE(e.Succeeded()) << "SIGTERM should end the hub with exit code 0, got " << e.ToString();
  EXPECT_FALSE(e.timed_out);

  auto delivered_ids = [&] {
    std::set<std::string> ids;
    for (const auto& ce : ReadCloudEvents(out)) ids.insert(InboundIdOf(ce.id));
    return ids;
  };
  EXPECT_EQ(delivered_ids(), acked) << "in-flight acknowledged events were not finished before exit";

  // Whatever was not finished must still come out after a restart: nothing acknowledged is lost.
  ASSERT_NO_FATAL_FAILURE(StartHub(config_));
  EXPECT_TRUE(WaitFor([&] { return delivered_ids() == acked; }, kDeliveryTimeout)) << ReadFile(out);
}

TEST_F(DeliveryE2E, SigtermDoesNotWaitForIdleKeepAliveConnections) {
  ASSERT_NO_FATAL_FAILURE(StartWith("archive"));
  // A client (a load balancer, a partner's pool) keeps an idle connection open.
  HttpConnection idle(port());
  HttpRequest health;
  health.target = "/healthz";
  auto r = idle.RoundTrip(health);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExitStatus e = hub().Terminate(Millis(5000));
  EXPECT_FALSE(e.timed_out) << "an idle keep-alive connection held the hub past 5 s after SIGTERM";
  EXPECT_TRUE(e.Succeeded()) << e.ToString();
}

TEST_F(DeliveryE2E, SigintExitsZero) {
  ASSERT_NO_FATAL_FAILURE(StartWith("archive"));
  ExitStatus e = hub().Terminate(kStopTimeout, SIGINT);
  EXPECT_TRUE(e.Succeeded()) << e.ToString();
}

TEST_F(DeliveryE2E, SigtermWaitsForAnInFlightHttpDelivery) {
  // The sink takes 800 ms to answer; SIGTERM arrives while the request is in flight.
  sink_.SetDefault({200, "{}", Millis(800)});
  ASSERT_NO_FATAL_FAILURE(StartWith("erp"));
  Ack ack = Post("evt-inflight-1", "SO-INFLIGHT-1");
  ASSERT_EQ(ack.status, 202) << ack.ToString();
  ASSERT_TRUE(WaitFor([&] { return sink_.RequestCount() >= 1; }, kDeliveryTimeout)) << DescribeRequests();
  const auto signalled = Clock::now();
  ExitStatus e = hub().Terminate();
  EXPECT_TRUE(e.Succeeded()) << e.ToString();
  // Finishing the in-flight request means waiting for its answer (most of the 800 ms).
  EXPECT_GE(Clock::now() - signalled, Millis(300)) << "the hub did not wait for the in-flight delivery";
}

}  // namespace
}  // namespace channelhub::e2e
