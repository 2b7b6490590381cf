// The event bus: a subscriber on the hub's ZeroMQ PUB socket sees every committed canonical event
// (routed to a destination or not), topic = the CloudEvent type, and can filter by type prefix.
#include <gtest/gtest.h>

#include <string>
#include <zmq.hpp>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/payloads.hpp"

namespace channelhub::e2e {
namespace {

TEST_F(HubTest, EveryCommittedEventIsPublishedOnTheBusByType) {
  const std::string config = WriteConfig(R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
bus: { publish: "tcp://127.0.0.1:0" }
sources:
  shop:
    connector: generic
    mapping: [shopify/orders_create.to_canon.yaml, shopify/order_customer.to_canon.yaml]
    event_id: { header: X-Event-Id }
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [shop], types: ["order.*"], to: [archive] }
)");
  // The mapping files of the repository.
  const std::string yaml = ReadFile(config);
  ASSERT_TRUE(WriteFile(config, "mappings_dir: " + std::string(CHUB_SOURCE_DIR) + "/mappings\n" + yaml));
  const std::string ready = tmp_.Join("bus.ready");
  ASSERT_NO_FATAL_FAILURE(StartHub(config, {"--bus-ready-file", ready}));
  ASSERT_TRUE(WaitFor([&] { return !ReadFile(ready).empty(); }, Millis(5000)));
  std::string endpoint = ReadFile(ready);
  endpoint.erase(endpoint.find_last_not_of("\n") + 1);

  zmq::context_t ctx;
  zmq::socket_t all(ctx, zmq::socket_type::sub);
  zmq::socket_t customers(ctx, zmq::socket_type::sub);
  for (auto* s : {&all, &customers}) {
    s->set(zmq::sockopt::rcvtimeo, 10000);
    s->connect(endpoint);
  }
  all.set(zmq::sockopt::subscribe, "");
  customers.set(zmq::sockopt::subscribe, "com.channelhub.customer.");
  std::this_thread::sleep_for(Millis(300));  // PUB/SUB: subscriptions travel before messages do

  const std::string order = ReadFile(std::string(CHUB_SOURCE_DIR) + "/mappings/shopify/orders_create.to_canon.paid.in.json");
  ASSERT_EQ(PostWebhook(port(), "shop", order, {{"X-Event-Id", "bus-1"}}).status, 202);

  auto receive = [](zmq::socket_t& s) -> std::pair<std::string, std::string> {
    zmq::message_t topic, body;
    if (!s.recv(topic) || !topic.more() || !s.recv(body)) return {};
    return {topic.to_string(), body.to_string()};
  };
  // Both events on the catch-all subscription (the customer is routed nowhere, and published
  // all the same), in the order they were made.
  auto first = receive(all);
  auto second = receive(all);
  EXPECT_EQ(first.first, "com.channelhub.order.upserted");
  EXPECT_EQ(second.first, "com.channelhub.customer.upserted");
  CloudEvent ce = ParseCloudEvent(first.second);
  ASSERT_TRUE(ce.valid) << first.second;
  EXPECT_EQ(ce.id, "bus-1:0");
  // Only the customer on the filtered one.
  auto only = receive(customers);
  EXPECT_EQ(only.first, "com.channelhub.customer.upserted");
  EXPECT_EQ(ParseCloudEvent(only.second).id, "bus-1:1");
}

}  // namespace
}  // namespace channelhub::e2e
