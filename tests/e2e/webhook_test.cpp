// Webhook ingest as a partner sees it: answers, authentication, limits, and the events that reach
// a file destination.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/payloads.hpp"

namespace channelhub::e2e {
namespace {

constexpr char kConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
sources:
  webshop:
    connector: generic
    mapping: builtin:shopify.order
    event_id: { header: X-Event-Id }
  signed:
    connector: generic
    mapping: builtin:shopify.order
    auth: { type: hmac_sha256, secret: "s3cret", header: X-Signature, encoding: hex, prefix: "sha256=" }
    event_id: { header: X-Event-Id }
  shopify:
    connector: generic
    mapping: builtin:shopify.order
    auth: { type: hmac_sha256, secret: "test-webhook-secret", header: X-Shopify-Hmac-Sha256, encoding: base64 }
    event_id: { header: X-Shopify-Event-Id }
  dealer:
    connector: generic
    mapping: builtin:canonical.order
    auth: { type: bearer, token: abc }
    event_id: { field: /order_no }
  hashed:
    connector: generic
    mapping: builtin:canonical.order
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [webshop, signed, shopify, dealer, hashed], types: ["order.*", "customer.*"], to: [archive] }
)";

constexpr uint64_t kOrderId = 820982911946154508ULL;     // > 2^53 on purpose
constexpr uint64_t kCustomerId = 115310627314723954ULL;  // > 2^53 on purpose

class WebhookE2E : public HubTest {
 protected:
  void SetUp() override {
    config_ = WriteConfig(kConfig);
    ASSERT_NO_FATAL_FAILURE(StartHub(config_));
    out_ = tmp_.Join("out/events.jsonl");
  }

  // The CloudEvents in the file that belong to inbound event "event_id".
  std::vector<CloudEvent> EventsOf(const std::string& event_id) {
    std::vector<CloudEvent> mine;
    for (auto& ce : ReadCloudEvents(out_)) {
      if (ce.valid && InboundIdOf(ce.id) == event_id) mine.push_back(ce);
    }
    return mine;
  }

  // Waits until inbound event "event_id" has at least "n" CloudEvents in the file.
  bool WaitForEventsOf(const std::string& event_id, std::size_t n) {
    return WaitFor([&] { return EventsOf(event_id).size() >= n; }, kDeliveryTimeout);
  }

  std::string config_;
  std::string out_;
};

// Asserts the JSON error shape {"error": code, "message": "..."} with the given status.
void ExpectJsonError(const Ack& ack, int status, const std::string& code) {
  EXPECT_EQ(ack.status, status) << ack.ToString();
  EXPECT_EQ(ack.error, code) << ack.ToString();
  rapidjson::Document doc = ParseJson(ack.body);
  ASSERT_FALSE(doc.HasParseError()) << "error body is not JSON: " << ack.body;
  auto message = JsonString(doc, "/message");
  ASSERT_TRUE(message.has_value()) << "error body has no string \"message\": " << ack.body;
  EXPECT_FALSE(message->empty());
}

TEST_F(WebhookE2E, HealthAndReadiness) {
  auto alive = HttpGet(port(), "/healthz");
  ASSERT_TRUE(alive.ok()) << alive.status().ToString();
  EXPECT_EQ(alive->status, 200);
  EXPECT_EQ(JsonString(alive->Json(), "/status").value_or("<none>"), "alive") << alive->body;

  auto ready = HttpGet(port(), "/readyz");
  ASSERT_TRUE(ready.ok()) << ready.status().ToString();
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(JsonString(ready->Json(), "/status").value_or("<none>"), "ready") << ready->body;
}

TEST_F(WebhookE2E, PostIsDeliveredToFile) {
  const std::string body = ShopifyOrderJson(kOrderId, kCustomerId, "#9999");
  Ack ack = PostWebhook(port(), "webshop", body, {{"X-Event-Id", "evt-1001"}});
  ASSERT_EQ(ack.status, 202) << ack.ToString();
  ASSERT_FALSE(ack.event_id.empty()) << ack.ToString();
  EXPECT_NE(ack.event_id.find("evt-1001"), std::string::npos)
      << "the configured X-Event-Id should be the event id: " << ack.ToString();
  EXPECT_EQ(ack.duplicate, std::optional<bool>(false)) << ack.ToString();

  ASSERT_TRUE(WaitForEventsOf(ack.event_id, 2))
      << "expected an order and a customer event for " << ack.event_id << "; file:\n" << ReadFile(out_);
  std::vector<CloudEvent> events = EventsOf(ack.event_id);
  ASSERT_EQ(events.size(), 2u) << ReadFile(out_);

  std::set<std::string> ids;
  const CloudEvent* order = nullptr;
  const CloudEvent* customer = nullptr;
  for (const auto& ce : events) {
    ids.insert(ce.id);
    EXPECT_EQ(ce.Str("/specversion").value_or(""), "1.0") << ce.raw;
    EXPECT_NE(ce.source.find("webshop"), std::string::npos) << ce.raw;
    EXPECT_EQ(ce.Str("/datacontenttype").value_or(""), "application/json") << ce.raw;
    EXPECT_FALSE(ce.Str("/time").value_or("").empty()) << ce.raw;
    EXPECT_TRUE(JsonHas(*ce.doc, "/data")) << ce.raw;
    if (ce.type == "com.channelhub.order.upserted") order = &ce;
    if (ce.type == "com.channelhub.customer.upserted") customer = &ce;
  }
  EXPECT_EQ(ids, (std::set<std::string>{ack.event_id + ":0", ack.event_id + ":1"}));

  ASSERT_NE(order, nullptr) << "no com.channelhub.order.upserted in:\n" << ReadFile(out_);
  EXPECT_EQ(order->subject, "order/webshop/820982911946154508") << order->raw;
  EXPECT_EQ(order->Str("/data/source/system").value_or(""), "shopify") << order->raw;
  EXPECT_EQ(order->Str("/data/source/id").value_or(""), "820982911946154508")
      << "Shopify ids exceed 2^53 and must survive exactly: " << order->raw;
  EXPECT_EQ(order->Str("/data/order_no").value_or(""), "#9999") << order->raw;

  ASSERT_NE(customer, nullptr) << "no com.channelhub.customer.upserted in:\n" << ReadFile(out_);
  EXPECT_EQ(customer->subject.rfind("customer/", 0), 0u) << customer->raw;
  EXPECT_EQ(customer->Str("/data/source/id").value_or(""), "115310627314723954") << customer->raw;
}

TEST_F(WebhookE2E, OrderWithoutCustomerGivesOneEvent) {
  Ack ack = PostWebhook(port(), "webshop", ShopifyOrderJson(4242, 0, "#4242"), {{"X-Event-Id", "evt-nocust"}});
  ASSERT_EQ(ack.status, 202) << ack.ToString();
  ASSERT_TRUE(WaitForEventsOf(ack.event_id, 1)) << ReadFile(out_);
  // A later event on the same subject is a barrier: once it is out, the first is complete.
  Ack barrier = PostWebhook(port(), "webshop", ShopifyOrderJson(4242, 0, "#4242"), {{"X-Event-Id", "evt-nocust-2"}});
  ASSERT_EQ(barrier.status, 202) << barrier.ToString();
  ASSERT_TRUE(WaitForEventsOf(barrier.event_id, 1)) << ReadFile(out_);
  auto events = EventsOf(ack.event_id);
  ASSERT_EQ(events.size(), 1u) << ReadFile(out_);
  EXPECT_EQ(events[0].type, "com.channelhub.order.upserted");
  EXPECT_EQ(events[0].subject, "order/webshop/4242");
}

TEST_F(WebhookE2E, DuplicateEventIdIsAcknowledgedAndDeliveredOnce) {
  const std::string body = ShopifyOrderJson(5001, 77, "#5001");
  Ack first = PostWebhook(port(), "webshop", body, {{"X-Event-Id", "evt-dup"}});
  ASSERT_EQ(first.status, 202) << first.ToString();
  EXPECT_EQ(first.duplicate, std::optional<bool>(false)) << first.ToString();

  Ack second = PostWebhook(port(), "webshop", body, {{"X-Event-Id", "evt-dup"}});
  ASSERT_EQ(second.status, 202) << second.ToString();
  EXPECT_EQ(second.event_id, first.event_id);
  EXPECT_EQ(second.duplicate, std::optional<bool>(true)) << second.ToString();

  // Same id, different body (a retry with a changed payload) is still the same event.
  Ack third = PostWebhook(port(), "webshop", ShopifyOrderJson(5001, 77, "#5001", "1.00"), {{"X-Event-Id", "evt-dup"}});
  ASSERT_EQ(third.status, 202) << third.ToString();
  EXPECT_EQ(third.event_id, first.event_id);
  EXPECT_EQ(third.duplicate, std::optional<bool>(true)) << third.ToString();

  // Barrier: a new event on the same subjects, posted after the duplicates were acknowledged.
  // Delivery is in order per subject, so once it is out, a re-processed duplicate would be too.
  Ack barrier = PostWebhook(port(), "webshop", body, {{"X-Event-Id", "evt-dup-barrier"}});
  ASSERT_EQ(barrier.status, 202) << barrier.ToString();
  EXPECT_EQ(barrier.duplicate, std::optional<bool>(false)) << barrier.ToString();
  ASSERT_TRUE(WaitForEventsOf(barrier.event_id, 2)) << ReadFile(out_);

  EXPECT_EQ(EventsOf(first.event_id).size(), 2u) << "delivered more than once:\n" << ReadFile(out_);
}

TEST_F(WebhookE2E, SameBodyWithoutEventIdIsADuplicate) {
  const std::string a = CanonicalOrderJson("SO-HASH-1");
  const std::string b = CanonicalOrderJson("SO-HASH-2");
  Ack first = PostWebhook(port(), "hashed", a);
  ASSERT_EQ(first.status, 202) << first.ToString();
  ASSERT_FALSE(first.event_id.empty());
  EXPECT_EQ(first.duplicate, std::optional<bool>(false));

  Ack again = PostWebhook(port(), "hashed", a);
  ASSERT_EQ(again.status, 202) << again.ToString();
  EXPECT_EQ(again.event_id, first.event_id);
  EXPECT_EQ(again.duplicate, std::optional<bool>(true));

  Ack other = PostWebhook(port(), "hashed", b);
  ASSERT_EQ(other.status, 202) << other.ToString();
  EXPECT_NE(other.event_id, first.event_id);
  EXPECT_EQ(other.duplicate, std::optional<bool>(false));

  ASSERT_TRUE(WaitForEventsOf(first.event_id, 1)) << ReadFile(out_);
  ASSERT_TRUE(WaitForEventsOf(other.event_id, 1)) << ReadFile(out_);
  auto events = EventsOf(first.event_id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "com.channelhub.order.upserted");
  EXPECT_EQ(events[0].Str("/data/order_no").value_or(""), "SO-HASH-1") << events[0].raw;
}

TEST_F(WebhookE2E, EventIdFromBodyField) {
  const Headers auth = {{"Authorization", "Bearer abc"}};
  Ack first = PostWebhook(port(), "dealer", CanonicalOrderJson("SO-FIELD-1", "20.00"), auth);
  ASSERT_EQ(first.status, 202) << first.ToString();
  EXPECT_NE(first.event_id.find("SO-FIELD-1"), std::string::npos)
      << "event_id: { field: /order_no } should name the event: " << first.ToString();
  // Another body with the same /order_no is the same event.
  Ack second = PostWebhook(port(), "dealer", CanonicalOrderJson("SO-FIELD-1", "30.00"), auth);
  ASSERT_EQ(second.status, 202) << second.ToString();
  EXPECT_EQ(second.event_id, first.event_id);
  EXPECT_EQ(second.duplicate, std::optional<bool>(true));
}

TEST_F(WebhookE2E, UnknownSourceIs404) {
  Ack ack = PostWebhook(port(), "nosuchsource", CanonicalOrderJson("SO-404"));
  ExpectJsonError(ack, 404, "unknown_source");
  // The name is echoed once, escaped once: a backslash in it reads back as one backslash.
  Ack odd = PostWebhook(port(), "no\\such", CanonicalOrderJson("SO-404"));
  ExpectJsonError(odd, 404, "unknown_source");
  auto message = JsonString(ParseJson(odd.body), "/message").value_or("");
  EXPECT_NE(message.find("no source named \"no\\such\""), std::string::npos) << odd.body;
}

TEST_F(WebhookE2E, HmacHexSignature) {
  const std::string body = ShopifyOrderJson(6001, 0, "#6001");
  const std::string good = "sha256=" + HmacSha256Hex("s3cret", body);

  Ack missing = PostWebhook(port(), "signed", body, {{"X-Event-Id", "evt-hmac-1"}});
  ExpectJsonError(missing, 401, "unauthorized");

  Ack wrong = PostWebhook(port(), "signed", body,
                          {{"X-Event-Id", "evt-hmac-1"}, {"X-Signature", "sha256=" + HmacSha256Hex("other", body)}});
  ExpectJsonError(wrong, 401, "unauthorized");

  Ack garbage = PostWebhook(port(), "signed", body, {{"X-Event-Id", "evt-hmac-1"}, {"X-Signature", "sha256=zz"}});
  ExpectJsonError(garbage, 401, "unauthorized");

  // A good signature of another body: the signature covers the raw bytes.
  Ack tampered = PostWebhook(port(), "signed", body + " ", {{"X-Event-Id", "evt-hmac-1"}, {"X-Signature", good}});
  ExpectJsonError(tampered, 401, "unauthorized");

  Ack ok = PostWebhook(port(), "signed", body, {{"X-Event-Id", "evt-hmac-1"}, {"X-Signature", good}});
  EXPECT_EQ(ok.status, 202) << ok.ToString();
  // The rejected attempts did not journal the id: this is the first time it is accepted.
  EXPECT_EQ(ok.duplicate, std::optional<bool>(false)) << ok.ToString();
}

TEST_F(WebhookE2E, HmacBase64SignatureShopifyStyle) {
  // Vector S1 (protocols.md §0): proves the test's own HMAC before the hub is judged by it.
  ASSERT_EQ(HmacSha256Base64("test-webhook-secret",
                             R"({"id":1234567890,"email":"customer@example.com","total_price":"123.45"})"),
            "QNyObTlKbMx2qDlPF/ZOZcBqg5OgPg+2oky3zldc0Gw=");

  const std::string body = ShopifyOrderJson(7001, 0, "#7001");
  const std::string good = HmacSha256Base64("test-webhook-secret", body);
  Ack bad = PostWebhook(port(), "shopify", body,
                        {{"X-Shopify-Event-Id", "shp-7001"}, {"X-Shopify-Hmac-Sha256", HmacSha256Base64("x", body)}});
  ExpectJsonError(bad, 401, "unauthorized");

  Ack ok = PostWebhook(port(), "shopify", body, {{"X-Shopify-Event-Id", "shp-7001"}, {"X-Shopify-Hmac-Sha256", good}});
  ASSERT_EQ(ok.status, 202) << ok.ToString();
  ASSERT_TRUE(WaitForEventsOf(ok.event_id, 1)) << ReadFile(out_);
  auto events = EventsOf(ok.event_id);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].subject, "order/shopify/7001") << events[0].raw;
}

TEST_F(WebhookE2E, BearerToken) {
  const std::string body = CanonicalOrderJson("SO-BEARER-1");
  Ack missing = PostWebhook(port(), "dealer", body);
  ExpectJsonError(missing, 401, "unauthorized");

  Ack wrong = PostWebhook(port(), "dealer", body, {{"Authorization", "Bearer abd"}});
  ExpectJsonError(wrong, 401, "unauthorized");

  Ack not_bearer = PostWebhook(port(), "dealer", body, {{"Authorization", "Basic YWJj"}});
  ExpectJsonError(not_bearer, 401, "unauthorized");

  Ack ok = PostWebhook(port(), "dealer", body, {{"Authorization", "Bearer abc"}});
  EXPECT_EQ(ok.status, 202) << ok.ToString();
}

TEST_F(WebhookE2E, MalformedJsonIs400WithPosition) {
  const std::string body = R"({"order_no":"SO-BAD","lines":[1,2,}]})";
  Ack ack = PostWebhook(port(), "webshop", body, {{"X-Event-Id", "evt-bad-json"}});
  ExpectJsonError(ack, 400, "malformed_body");
  auto message = JsonString(ParseJson(ack.body), "/message").value_or("");
  EXPECT_TRUE(std::regex_search(message, std::regex("offset [0-9]+"))) << "no parser position in: " << message;

  // A rejected body is not journaled: the same id with a good body is new.
  Ack good = PostWebhook(port(), "webshop", ShopifyOrderJson(8001, 0, "#8001"), {{"X-Event-Id", "evt-bad-json"}});
  EXPECT_EQ(good.status, 202) << good.ToString();
  EXPECT_EQ(good.duplicate, std::optional<bool>(false)) << good.ToString();
}

// Reads from "fd" until "what" has arrived or the 5 s receive timeout passes.
std::string ReadUntil(int fd, std::string_view what) {
  std::string got;
  char buf[4096];
  while (got.find(what) == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

TEST_F(WebhookE2E, ExpectContinueGetsAnInterim100BeforeTheBody) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string body = CanonicalOrderJson("SO-EXPECT");
  const std::string head = "POST /webhooks/hashed HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Content-Type: application/json\r\nExpect: 100-continue\r\n"
                           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  // The client sends nothing more until it is told to continue.
  std::string interim = ReadUntil(fd, "\r\n\r\n");
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << interim;
  ASSERT_EQ(::send(fd, body.data(), body.size(), 0), static_cast<ssize_t>(body.size()));
  std::string final_answer = ReadUntil(fd, "}");
  ::close(fd);
  EXPECT_NE(final_answer.find("HTTP/1.1 202"), std::string::npos) << final_answer;
  EXPECT_NE(final_answer.find("\"duplicate\":false"), std::string::npos) << final_answer;
}

TEST_F(WebhookE2E, InvalidUtf8Is400) {
  // "\xC3\x28" is not UTF-8: refused at the door, before it is journaled.
  Ack ack = PostWebhook(port(), "hashed", "{\"order_no\":\"SO-\xC3\x28\"}", {});
  ExpectJsonError(ack, 400, "malformed_body");
  auto message = JsonString(ParseJson(ack.body), "/message").value_or("");
  EXPECT_NE(message.find("encoding"), std::string::npos) << message;
}

TEST_F(WebhookE2E, StructuredJsonContentTypeIsParsed) {
  Ack bad = PostWebhook(port(), "hashed", "{not json", {}, "application/vnd.erp+json");
  ExpectJsonError(bad, 400, "malformed_body");
  Ack ok = PostWebhook(port(), "hashed", CanonicalOrderJson("SO-PLUSJSON"), {}, "application/vnd.erp+json; charset=utf-8");
  EXPECT_EQ(ok.status, 202) << ok.ToString();
}

TEST_F(WebhookE2E, MalformedXmlIs400) {
  Ack ack = PostWebhook(port(), "hashed", "<order><order_no>SO-X</order_no><lines>", {}, "application/xml");
  ExpectJsonError(ack, 400, "malformed_body");
  Ack text = PostWebhook(port(), "hashed", "<order><a></b></order>", {}, "text/xml");
  ExpectJsonError(text, 400, "malformed_body");
  // Well-formed pieces that are not one document: pugixml alone would keep the first root.
  Ack two = PostWebhook(port(), "hashed", "<order><no>1</no></order><order><no>2</no></order>", {}, "application/xml");
  ExpectJsonError(two, 400, "malformed_body");
  EXPECT_NE(JsonString(ParseJson(two.body), "/message").value_or("").find("a second root element <order>"),
            std::string::npos) << two.body;
  Ack junk = PostWebhook(port(), "hashed", "<order><no>1</no></order>trailing", {}, "application/xml");
  ExpectJsonError(junk, 400, "malformed_body");
}

TEST_F(WebhookE2E, JsonWithAByteOrderMarkIs400WithTheReason) {
  Ack ack = PostWebhook(port(), "hashed", "\xEF\xBB\xBF" + CanonicalOrderJson("SO-BOM"), {});
  ExpectJsonError(ack, 400, "malformed_body");
  EXPECT_NE(JsonString(ParseJson(ack.body), "/message").value_or("").find("byte order mark (EF BB BF)"),
            std::string::npos) << ack.body;
}

TEST_F(WebhookE2E, OversizedBodyIs413) {
  // Valid JSON of 3 MiB; the default body limit is 1 MiB.
  std::string body = R"({"order_no":"SO-BIG","pad":")" + std::string(3u << 20, 'x') + R"("})";
  Ack ack = PostWebhook(port(), "hashed", body);
  EXPECT_EQ(ack.status, 413) << ack.ToString().substr(0, 300);

  // The hub is still healthy afterwards.
  auto alive = HttpGet(port(), "/healthz");
  ASSERT_TRUE(alive.ok()) << alive.status().ToString();
  EXPECT_EQ(alive->status, 200);
}

TEST_F(WebhookE2E, GetOnWebhookIs405) {
  auto r = HttpGet(port(), "/webhooks/webshop");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 405) << r->body;
}

TEST_F(WebhookE2E, KeepAliveServesManyRequestsOnOneConnection) {
  HttpConnection conn(port());
  HttpRequest health;
  health.target = "/healthz";
  for (int i = 0; i < 3; ++i) {
    auto r = conn.RoundTrip(health);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
  }
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    Ack ack = PostWebhook(conn, "hashed", CanonicalOrderJson("SO-KA-" + std::to_string(i)));
    ASSERT_EQ(ack.status, 202) << ack.ToString();
    ids.push_back(ack.event_id);
  }
  // An error answer does not end the connection either.
  Ack unknown = PostWebhook(conn, "nosuchsource", "{}");
  EXPECT_EQ(unknown.status, 404) << unknown.ToString();
  auto r = conn.RoundTrip(health);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);

  EXPECT_TRUE(conn.is_open());
  EXPECT_EQ(conn.connects(), 1) << "the hub closed a keep-alive connection";
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size()) << "event ids must differ";
}

}  // namespace
}  // namespace channelhub::e2e
