// The real binary with the e-commerce plugin (chub_ecommerce.so) and the shipped mappings, against
// the platform simulators of sim_ecommerce: Shopify webhooks (signature, redelivery, mappings
// chosen by topic), Youzan pushes (signature, retries, liveness probes, msg decoded for the
// mapping) and Taobao trade polling (paging, a failing gateway, the cursor across a restart).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/sim_ecommerce.hpp"

namespace channelhub::e2e {
namespace {

const std::string kPlugin = std::string(CHUB_PLUGIN_DIR) + "/chub_ecommerce.so";
const std::string kMappingsDir = std::string(CHUB_SOURCE_DIR) + "/mappings";
constexpr char kYouzanSuccess[] = R"({"code":0,"msg":"success"})";

// "yyyy-MM-dd HH:mm:ss" in GMT+8, TOP's clock.
std::string Gmt8(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t) + 8 * 3600;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string Param(const TaobaoTopSimulator::Call& call, const std::string& name) {
  auto it = call.params.find(name);
  return it == call.params.end() ? std::string() : it->second;
}

// A test whose hub loads the e-commerce plugin and archives every event to a JSONL file.
class EcommerceE2E : public HubTest {
 protected:
  // Fills in @PLUGIN@ and @MAPPINGS@ (and @DIR@, through WriteConfig).
  std::string Config(const std::string& yaml) {
    return WriteConfig(Replace(Replace(yaml, "@PLUGIN@", kPlugin), "@MAPPINGS@", kMappingsDir));
  }
  std::string Archive() { return tmp_.Join("out/events.jsonl"); }

  // The archived CloudEvents of type "type" whose data has "order_no" (orders) or "source.id"
  // (customers) equal to "id".
  std::vector<CloudEvent> Archived(const std::string& type, const std::string& id) {
    std::vector<CloudEvent> out;
    for (auto& ce : ReadCloudEvents(Archive())) {
      if (!ce.valid || ce.type != type) continue;
      const char* pointer =
          type == "com.channelhub.order.upserted" ? "/data/order_no" : "/data/source/id";
      if (ce.Str(pointer).value_or("") == id) out.push_back(ce);
    }
    return out;
  }
  std::vector<CloudEvent> Orders(const std::string& order_no) {
    return Archived("com.channelhub.order.upserted", order_no);
  }
  bool WaitForOrder(const std::string& order_no) {
    return WaitFor([&] { return !Orders(order_no).empty(); }, kDeliveryTimeout);
  }
};

// ---------------------------------------------------------------------------------------------
// Shopify

constexpr char kShopifySecret[] = "shpss_e2e_9f3c1a7d";

constexpr char kShopifyConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
mappings_dir: @MAPPINGS@
plugins: [@PLUGIN@]
sources:
  shop:
    connector: shopify
    settings: { secret: shpss_e2e_9f3c1a7d }
    mapping:
      orders/create: [shopify/orders_create.to_canon.yaml, shopify/order_customer.to_canon.yaml]
      orders/updated: [shopify/orders_create.to_canon.yaml]
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [shop], types: ["order.*", "customer.*"], to: [archive] }
)";

// The shipped fixture of the order mapping: order #2042 of customer 7100000000000000456.
std::string ShopifyPaidOrder() {
  return ReadFile(kMappingsDir + "/shopify/orders_create.to_canon.paid.in.json");
}

TEST_F(EcommerceE2E, ShopifySignedWebhooksBecomeEventsOnceAndForgeriesAreRefused) {
  const std::string body = ShopifyPaidOrder();
  ASSERT_NE(body.find("\"name\": \"#2042\""), std::string::npos) << "the shipped fixture changed";
  ASSERT_NO_FATAL_FAILURE(StartHub(Config(kShopifyConfig)));

  // A forgery: a body changed after signing (another order number), the original signature.
  const std::string forged = Replace(body, "\"#2042\"", "\"#6666\"");
  Ack refused =
      PostWebhook(port(), "shop", forged,
                  ShopifyWebhookHeaders(kShopifySecret, body, "orders/create", "evt-forged"));
  EXPECT_EQ(refused.status, 401) << refused.ToString();
  // A signature under another secret.
  Ack wrong_key =
      PostWebhook(port(), "shop", body,
                  ShopifyWebhookHeaders("not-the-secret", body, "orders/create", "evt-k"));
  EXPECT_EQ(wrong_key.status, 401) << wrong_key.ToString();

  // The genuine delivery, then Shopify's redelivery of it (same X-Shopify-Event-Id).
  const Headers signed_headers =
      ShopifyWebhookHeaders(kShopifySecret, body, "orders/create", "evt-2042");
  Ack ok = PostWebhook(port(), "shop", body, signed_headers);
  EXPECT_EQ(ok.status, 200) << ok.ToString();
  ASSERT_TRUE(WaitForOrder("#2042")) << "no order event for #2042";
  Ack again = PostWebhook(port(), "shop", body,
                          ShopifyWebhookHeaders(kShopifySecret, body, "orders/create", "evt-2042"));
  EXPECT_EQ(again.status, 200) << again.ToString();

  // orders/updated is mapped to the order alone: a later event, also the barrier for the above.
  const std::string updated = Replace(Replace(body, "\"#2042\"", "\"#2043\""),
                                      "5990000000000000123", "5990000000000000124");
  Ack upd =
      PostWebhook(port(), "shop", updated,
                  ShopifyWebhookHeaders(kShopifySecret, updated, "orders/updated", "evt-2043"));
  EXPECT_EQ(upd.status, 200) << upd.ToString();
  ASSERT_TRUE(WaitForOrder("#2043")) << "no order event for #2043";

  // orders/create gave an order and its customer, exactly once although posted twice.
  auto orders = Orders("#2042");
  ASSERT_EQ(orders.size(), 1u);
  EXPECT_EQ(orders[0].Str("/data/source/id").value_or(""), "5990000000000000123");
  EXPECT_EQ(orders[0].Str("/data/status").value_or(""), "paid");
  EXPECT_EQ(orders[0].Str("/data/totals/total").value_or(""), "500.00");
  EXPECT_EQ(InboundIdOf(orders[0].id), "evt-2042");
  auto customers = Archived("com.channelhub.customer.upserted", "7100000000000000456");
  ASSERT_EQ(customers.size(), 1u);
  EXPECT_EQ(InboundIdOf(customers[0].id), "evt-2042");

  // orders/updated: its order and no customer; the forgeries: nothing.
  std::size_t of_2043 = 0;
  for (const auto& ce : ReadCloudEvents(Archive())) {
    if (InboundIdOf(ce.id) == "evt-2043") {
      ++of_2043;
      EXPECT_EQ(ce.type, "com.channelhub.order.upserted") << ce.raw;
    }
    EXPECT_EQ(ce.raw.find("#6666"), std::string::npos) << ce.raw;
    EXPECT_NE(InboundIdOf(ce.id), "evt-forged");
    EXPECT_NE(InboundIdOf(ce.id), "evt-k");
  }
  EXPECT_EQ(of_2043, 1u);
  EXPECT_EQ(ReadCloudEvents(Archive()).size(), 3u);  // #2042, its customer, #2043
}

// ---------------------------------------------------------------------------------------------
// Youzan

constexpr char kYouzanClientId[] = "6f2a9c41d07be58e31";
constexpr char kYouzanSecret[] = "yz-e2e-4b8d0c2e7a1f";

constexpr char kYouzanConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
mappings_dir: @MAPPINGS@
plugins: [@PLUGIN@]
sources:
  youzan:
    connector: youzan
    settings: { client_id: 6f2a9c41d07be58e31, client_secret: yz-e2e-4b8d0c2e7a1f }
    mapping:
      TRADE_ORDER_STATE: youzan/trade_push.to_canon.yaml
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [youzan], types: ["order.*"], to: [archive] }
)";

std::string TradeMsg(const std::string& tid, const std::string& status, const std::string& payment,
                     const std::string& update_time) {
  return R"({"update_time":")" + update_time + R"(","payment":")" + payment + R"(","tid":")" + tid +
         R"(","status":")" + status + R"("})";
}

TEST_F(EcommerceE2E, YouzanPushesAreVerifiedAnsweredAndMappedOnce) {
  ASSERT_NO_FATAL_FAILURE(StartHub(Config(kYouzanConfig)));
  const std::string tid = "E20251118093512046300021";
  const std::string msg = TradeMsg(tid, "WAIT_SELLER_SEND_GOODS", "1299.00", "2025-11-18 09:36:02");

  // Signed with another secret: refused, nothing stored.
  Ack forged = PostWebhook(port(), "youzan",
                           YouzanPush(kYouzanClientId, "wrong-secret", "TRADE_ORDER_STATE", tid,
                                      "WAIT_SELLER_SEND_GOODS", msg, 0));
  EXPECT_EQ(forged.status, 401) << forged.ToString();

  // The push, then Youzan's retry of it (send_count 1).
  Ack first = PostWebhook(port(), "youzan",
                          YouzanPush(kYouzanClientId, kYouzanSecret, "TRADE_ORDER_STATE", tid,
                                     "WAIT_SELLER_SEND_GOODS", msg, 0));
  EXPECT_EQ(first.status, 200) << first.ToString();
  EXPECT_EQ(first.body, kYouzanSuccess);
  Ack retry = PostWebhook(port(), "youzan",
                          YouzanPush(kYouzanClientId, kYouzanSecret, "TRADE_ORDER_STATE", tid,
                                     "WAIT_SELLER_SEND_GOODS", msg, 1));
  EXPECT_EQ(retry.status, 200) << retry.ToString();
  EXPECT_EQ(retry.body, kYouzanSuccess);

  // A liveness probe: answered, never an event.
  Ack probe = PostWebhook(port(), "youzan", YouzanProbe(kYouzanClientId, kYouzanSecret));
  EXPECT_EQ(probe.status, 200) << probe.ToString();
  EXPECT_EQ(probe.body, kYouzanSuccess);
  Ack bad_probe = PostWebhook(port(), "youzan", YouzanProbe(kYouzanClientId, "wrong-secret"));
  EXPECT_EQ(bad_probe.status, 401) << bad_probe.ToString();

  // Another trade's push, after all of the above: once it is archived, the others are too.
  const std::string tid2 = "E20251120221407093100458";
  Ack second = PostWebhook(
      port(), "youzan",
      YouzanPush(kYouzanClientId, kYouzanSecret, "TRADE_ORDER_STATE", tid2, "TRADE_CLOSED",
                 TradeMsg(tid2, "TRADE_CLOSED", "86.50", "2025-11-21 00:05:44"), 0, 1763654744));
  EXPECT_EQ(second.status, 200) << second.ToString();
  ASSERT_TRUE(WaitForOrder(tid2));

  auto orders = Orders(tid);
  ASSERT_EQ(orders.size(), 1u) << "the retry must not make a second event";
  // Read from the decoded msg by the shipped mapping.
  EXPECT_EQ(orders[0].Str("/data/status").value_or(""), "paid");
  EXPECT_EQ(orders[0].Str("/data/totals/total").value_or(""), "1299.00");
  EXPECT_EQ(orders[0].Str("/data/updated_at").value_or(""), "2025-11-18T01:36:02Z");
  EXPECT_EQ(orders[0].Str("/data/source/system").value_or(""), "youzan");
  EXPECT_EQ(orders[0].Str("/data/ext/kdt_name").value_or(""), "channelhub 测试店");
  auto closed = Orders(tid2);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].Str("/data/status").value_or(""), "cancelled");
  EXPECT_EQ(closed[0].Str("/data/totals/total").value_or(""), "86.50");
  EXPECT_EQ(ReadCloudEvents(Archive()).size(), 2u);  // no event from the probe or the forgery
}

// ---------------------------------------------------------------------------------------------
// Taobao

constexpr char kTopAppKey[] = "12345678";
constexpr char kTopSecret[] = "top-e2e-3e5a7c9b1d";
constexpr char kTopSession[] = "6201a2b3c4d5e6f7session";

constexpr char kTaobaoConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
mappings_dir: @MAPPINGS@
plugins: [@PLUGIN@]
sources:
  tmall:
    connector: taobao
    url: @URL@
    poll: { interval: 1s, timeout: 5s }
    settings:
      app_key: "12345678"
      app_secret: top-e2e-3e5a7c9b1d
      session: 6201a2b3c4d5e6f7session
      page_size: "2"
      lag: "5"
      start: "@START@"
    mapping: taobao/trade.to_canon.yaml
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [tmall], types: ["order.*"], to: [archive] }
)";

class EcommerceTaobaoE2E : public EcommerceE2E {
 protected:
  EcommerceTaobaoE2E() : top_(kTopAppKey, kTopSecret, kTopSession) {
    gateway_.SetHandler([this](const RecordedRequest& r) { return top_.Handle(r); });
  }

  // Every tid archived, with how many order events it has.
  std::map<std::string, int> ArchivedTids() {
    std::map<std::string, int> n;
    for (const auto& ce : ReadCloudEvents(Archive())) {
      if (ce.valid && ce.type == "com.channelhub.order.upserted")
        ++n[ce.Str("/data/order_no").value_or("")];
    }
    return n;
  }

  TaobaoTopSimulator top_;  // declared before the server, so the server (its user) goes first
  FakeHttpServer gateway_;
};

TEST_F(EcommerceTaobaoE2E, TradesArePolledPageByPageOnceAndTheCursorSurvivesARestart) {
  ASSERT_TRUE(gateway_.ok());
  const auto now = std::chrono::system_clock::now();
  const std::string start = Gmt8(now - std::chrono::hours(1));
  // Five trades modified in the last hour (tids above 2^53): three pages of two.
  struct Seed {
    std::string tid, status, payment, canonical_status;
    int minutes_ago;
  };
  const std::vector<Seed> seeds = {
      {"4100000000000000001", "WAIT_BUYER_PAY", "59.90", "created", 50},
      {"4100000000000000002", "WAIT_SELLER_SEND_GOODS", "338.00", "paid", 40},
      {"4100000000000000003", "WAIT_BUYER_CONFIRM_GOODS", "120.00", "shipped", 30},
      {"4100000000000000004", "TRADE_FINISHED", "18.80", "delivered", 20},
      {"4100000000000000005", "TRADE_CLOSED_BY_TAOBAO", "9.90", "cancelled", 10},
  };
  std::string newest_before;
  for (const Seed& s : seeds) {
    const std::string modified = Gmt8(now - std::chrono::minutes(s.minutes_ago));
    top_.AddTrade(s.tid, modified, s.status, s.payment);
    newest_before = std::max(newest_before, modified);
  }
  top_.FailNext(1);  // the very first call meets a 502 from a proxy

  const std::string config = Config(
      Replace(Replace(kTaobaoConfig, "@URL@", gateway_.Url("/router/rest")), "@START@", start));
  ASSERT_NO_FATAL_FAILURE(StartHub(config));

  ASSERT_TRUE(WaitFor([&] { return ArchivedTids().size() >= seeds.size(); }, kDeliveryTimeout))
      << "archived " << ArchivedTids().size() << " of " << seeds.size() << " trades after "
      << top_.CallCount() << " TOP calls";
  // The cursor moves past the first window: a call for a later window is built from it.
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& c : top_.Calls()) {
          if (c.http_status == 200 && Param(c, "start_modified") > start) return true;
        }
        return false;
      },
      kDeliveryTimeout));
  const ExitStatus stopped = hub().Terminate();
  EXPECT_TRUE(stopped.Succeeded()) << stopped.ToString();

  const std::vector<TaobaoTopSimulator::Call> before = top_.Calls();
  ASSERT_GE(before.size(), 5u);
  EXPECT_EQ(before[0].http_status, 502);  // failed, then retried:
  EXPECT_EQ(before[1].http_status, 200);
  EXPECT_EQ(Param(before[1], "start_modified"), start);
  std::set<std::string> pages;
  for (const auto& c : before) {
    EXPECT_EQ(c.error_code, 0) << "the simulator refused a call: "
                               << c.error_code;  // signed, valid window
    if (c.http_status != 200) continue;
    EXPECT_EQ(Param(c, "page_size"), "2");
    if (Param(c, "start_modified") == start) pages.insert(Param(c, "page_no"));
  }
  EXPECT_EQ(pages, (std::set<std::string>{"1", "2", "3"}));  // every page of the first window
  {
    auto tids = ArchivedTids();
    for (const Seed& s : seeds) {
      EXPECT_EQ(tids[s.tid], 1) << s.tid;
      auto orders = Orders(s.tid);
      ASSERT_EQ(orders.size(), 1u) << s.tid;
      EXPECT_EQ(orders[0].Str("/data/status").value_or(""), s.canonical_status) << s.tid;
      EXPECT_EQ(orders[0].Str("/data/totals/total").value_or(""), s.payment) << s.tid;
      EXPECT_EQ(orders[0].Str("/data/source/system").value_or(""), "taobao");
      EXPECT_EQ(orders[0].Str("/data/currency").value_or(""), "CNY");
      EXPECT_EQ(orders[0].Str("/data/lines/0/unit_price").value_or(""), s.payment);
    }
    EXPECT_EQ(tids.size(), seeds.size());
  }

  // Restart on the same data directory, then a trade is modified on Taobao.
  ASSERT_NO_FATAL_FAILURE(StartHub(config));
  const std::string later = Gmt8(std::chrono::system_clock::now());
  top_.AddTrade("4100000000000000006", later, "WAIT_SELLER_SEND_GOODS", "77.00");
  ASSERT_TRUE(WaitForOrder("4100000000000000006"))
      << "the trade modified after the restart did not arrive";
  EXPECT_TRUE(hub().Terminate().Succeeded());

  // Each trade exactly once, across both runs.
  auto tids = ArchivedTids();
  EXPECT_EQ(tids.size(), seeds.size() + 1);
  for (const auto& [tid, n] : tids) EXPECT_EQ(n, 1) << tid;
  EXPECT_EQ(Orders("4100000000000000006")[0].Str("/data/status").value_or(""), "paid");

  // The restarted hub went on from its saved cursor: none of its windows reached back to the
  // trades polled before (with a lost cursor it would have started again at "start").
  const std::vector<TaobaoTopSimulator::Call> all = top_.Calls();
  ASSERT_GT(all.size(), before.size());
  for (std::size_t i = before.size(); i < all.size(); ++i) {
    if (all[i].http_status != 200) continue;
    EXPECT_GT(Param(all[i], "start_modified"), newest_before)
        << "call " << i << " polls old trades again";
  }
}

}  // namespace
}  // namespace channelhub::e2e
