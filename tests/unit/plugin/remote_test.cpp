// The hub's side of the out-of-process connector protocol (hub/plugin/remote.hpp), against a
// DEALER peer written here: HELLO and its refusals, calls and their answers, a peer answering a
// call that is not its own, silence past the heartbeat, replacement by a new process, BYE.
#include "hub/plugin/remote.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>

namespace channelhub::plugin {
namespace {

using namespace std::chrono_literals;

ConnectorInfo Declared(const std::string& name, uint32_t caps) {
  ConnectorInfo c;
  c.name = name;
  c.capabilities = caps;
  c.remote = true;
  return c;
}

// A connector process's socket, driven by hand.
class Peer {
 public:
  explicit Peer(const std::string& endpoint) : socket_(context_, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(endpoint);
  }
  void Send(const std::string& type, const std::string& json) {
    std::array<zmq::const_buffer, 2> frames{zmq::buffer(type), zmq::buffer(json)};
    zmq::send_multipart(socket_, frames);
  }
  // The next message: {type, json}; {"", ""} after "timeout".
  std::pair<std::string, std::string> Receive(std::chrono::milliseconds timeout = 3000ms) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) return {};
    std::vector<zmq::message_t> frames;
    (void)zmq::recv_multipart(socket_, std::back_inserter(frames));
    if (frames.size() < 2) return {};
    return {frames[0].to_string(), frames[1].to_string()};
  }

 private:
  zmq::context_t context_{1};
  zmq::socket_t socket_;
};

class RemoteLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RemoteOptions o;
    o.endpoint = "tcp://127.0.0.1:*";
    o.call_timeout = 2000ms;
    o.heartbeat_timeout = 600ms;
    auto link = RemoteLink::Bind(o);
    ASSERT_TRUE(link.ok()) << link.status().message();
    link_ = std::move(link).value();
    link_->Declare({Declared("portal", kInbound | kOutbound)});
  }
  std::shared_ptr<RemoteLink> link_;
};

TEST_F(RemoteLinkTest, RefusesUndeclaredAndIncapableConnectorsWithTheReason) {
  Peer stranger(link_->endpoint());
  stranger.Send("HELLO", R"({"connector":"stranger"})");
  auto [type, body] = stranger.Receive();
  EXPECT_EQ(type, "REFUSED");
  EXPECT_NE(body.find("not declared"), std::string::npos) << body;
  EXPECT_NE(body.find("declared: portal"), std::string::npos) << body;

  Peer weak(link_->endpoint());
  weak.Send("HELLO", R"({"connector":"portal","capabilities":["inbound"]})");
  std::tie(type, body) = weak.Receive();
  EXPECT_EQ(type, "REFUSED");
  EXPECT_NE(body.find("cannot do outbound"), std::string::npos) << body;

  Peer garbage(link_->endpoint());
  garbage.Send("HELLO", "not json");
  EXPECT_EQ(garbage.Receive().first, "REFUSED");
  EXPECT_FALSE(link_->Peers().front().connected);
}

TEST_F(RemoteLinkTest, ACallIsAnsweredByItsOwnPeerOnly) {
  auto unconnected = link_->Call("portal", "build_token", "{}");
  ASSERT_FALSE(unconnected.ok());
  EXPECT_EQ(unconnected.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(unconnected.status().message().find("never said HELLO"), std::string::npos);

  Peer portal(link_->endpoint());
  portal.Send("HELLO", R"({"connector":"portal","version":"9","pid":7})");
  ASSERT_EQ(portal.Receive().first, "WELCOME");

  auto answer = std::async(std::launch::async, [&] { return link_->Call("portal", "build_delivery", R"({"x":1})"); });
  auto [type, call] = portal.Receive();
  ASSERT_EQ(type, "CALL");
  rapidjson::Document doc;
  doc.Parse(call.c_str());
  ASSERT_TRUE(doc.IsObject()) << call;
  EXPECT_EQ(std::string(doc["op"].GetString()), "build_delivery");
  EXPECT_EQ(doc["x"].GetInt(), 1);
  const uint64_t id = doc["id"].GetUint64();

  // Another process, even one linked as a declared connector, cannot answer it.
  link_->Declare({Declared("portal", kInbound | kOutbound), Declared("other", kInbound)});
  Peer other(link_->endpoint());
  other.Send("HELLO", R"({"connector":"other"})");
  ASSERT_EQ(other.Receive().first, "WELCOME");
  other.Send("RESULT", "{\"id\":" + std::to_string(id) + ",\"request\":{\"target\":\"/evil\"}}");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(answer.wait_for(0ms), std::future_status::timeout);

  portal.Send("RESULT", "{\"id\":" + std::to_string(id) + ",\"request\":{\"target\":\"/orders\"}}");
  auto result = answer.get();
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_NE(result->find("/orders"), std::string::npos) << *result;

  // An error answer is the connector's message.
  auto failing = std::async(std::launch::async, [&] { return link_->Call("portal", "build_token", "{}"); });
  std::tie(type, call) = portal.Receive();
  doc.Parse(call.c_str());
  portal.Send("RESULT", "{\"id\":" + std::to_string(doc["id"].GetUint64()) + ",\"error\":\"no such op\"}");
  auto failed = failing.get();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(failed.status().message(), "no such op");
}

TEST_F(RemoteLinkTest, SilenceFailsTheCallInFlightAndAHelloBringsItBack) {
  Peer portal(link_->endpoint());
  portal.Send("HELLO", R"({"connector":"portal"})");
  ASSERT_EQ(portal.Receive().first, "WELCOME");
  // The call goes out; the peer says nothing more (a hung or killed process).
  const auto t0 = std::chrono::steady_clock::now();
  auto r = link_->Call("portal", "inbound", "{}");
  const auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("went silent mid-call"), std::string::npos) << r.status().message();
  EXPECT_LT(waited, 1900ms);  // the heartbeat noticed before the 2 s call timeout
  auto peers = link_->Peers();
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_FALSE(peers[0].connected);
  EXPECT_EQ(peers[0].losses, 1u);

  // A message from a link the hub dropped gets WHO; a HELLO brings it back.
  portal.Send("PING", "{}");
  std::pair<std::string, std::string> m;
  do {
    m = portal.Receive();
  } while (m.first == "CALL");
  EXPECT_EQ(m.first, "WHO");
  Peer restarted(link_->endpoint());
  restarted.Send("HELLO", R"({"connector":"portal","pid":2})");
  ASSERT_EQ(restarted.Receive().first, "WELCOME");
  peers = link_->Peers();
  EXPECT_TRUE(peers[0].connected);
  EXPECT_EQ(peers[0].connects, 2u);
  EXPECT_EQ(peers[0].pid, 2);

  // BYE: gone at once, no heartbeat wait.
  restarted.Send("BYE", "{}");
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(link_->Peers()[0].connected);
  const std::string metrics = link_->MetricsText();
  EXPECT_NE(metrics.find("channelhub_remote_connector_up{connector=\"portal\"} 0"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("channelhub_remote_connector_losses_total{connector=\"portal\"} 2"), std::string::npos)
      << metrics;
}

TEST(RemoteLinkBind, AnEndpointThatCannotBeBoundIsNamed) {
  RemoteOptions o;
  o.endpoint = "tcp://256.0.0.1:1";
  auto link = RemoteLink::Bind(o);
  ASSERT_FALSE(link.ok());
  EXPECT_NE(link.status().message().find("remote_connectors.endpoint: cannot bind tcp://256.0.0.1:1"),
            std::string::npos)
      << link.status().message();
}

}  // namespace
}  // namespace channelhub::plugin
