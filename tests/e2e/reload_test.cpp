// Hot reload under load: the configuration is changed and reloaded again and again (SIGHUP and
// POST /api/v1/config/reload) while webhooks keep arriving. Every acknowledged event is delivered
// exactly once; a bad configuration is refused with its problems and the running one stays;
// settings that need a restart are named.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/payloads.hpp"

namespace channelhub::e2e {
namespace {

constexpr char kAdmin[] = "admin-token-reload-0123456789ab";

// Two shapes of the same hub: "a" archives orders; "b" also copies them to a second file.
constexpr char kConfigA[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
admin:
  listen: 127.0.0.1:0
  tokens: [{ name: root, token: "${env:CHUB_T_RELOAD}", role: admin }]
sources:
  orders: { connector: generic, mapping: builtin:canonical.order, event_id: { header: X-Event-Id } }
destinations:
  archive: { type: file, path: "@DIR@/var/out/archive.jsonl" }
routes:
  - { from: [orders], types: ["order.*"], to: [archive] }
)";

constexpr char kConfigB[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
admin:
  listen: 127.0.0.1:0
  tokens: [{ name: root, token: "${env:CHUB_T_RELOAD}", role: admin }]
sources:
  orders: { connector: generic, mapping: builtin:canonical.order, event_id: { header: X-Event-Id } }
destinations:
  archive: { type: file, path: "@DIR@/var/out/archive.jsonl" }
  copy: { type: file, path: "@DIR@/var/out/copy.jsonl" }
routes:
  - { from: [orders], types: ["order.*"], to: [archive, copy] }
)";

class ReloadE2E : public HubTest {
 protected:
  void SetUp() override { ::setenv("CHUB_T_RELOAD", kAdmin, 1); }
  Result<HttpResponse> Reload() {
    HttpRequest r;
    r.method = "POST";
    r.target = "/api/v1/config/reload";
    r.headers.emplace_back("Authorization", std::string("Bearer ") + kAdmin);
    return HttpCall(admin_port_, r, Millis(30000));
  }
  uint16_t admin_port_ = 0;
};

TEST_F(ReloadE2E, ReloadsUnderLoadWithoutLosingOrRepeatingAnEvent) {
  const std::string config = WriteConfig(kConfigA);
  const std::string ready = tmp_.Join("admin.ready");
  ASSERT_NO_FATAL_FAILURE(StartHub(config, {"--admin-ready-file", ready}));
  ASSERT_TRUE(WaitFor([&] { return !ReadFile(ready).empty(); }, Millis(5000)));
  const std::string addr = ReadFile(ready);
  admin_port_ = static_cast<uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));

  std::atomic<bool> stop{false};
  std::mutex mu;
  std::set<std::string> acked;  // inbound event ids answered 202
  std::vector<std::thread> senders;
  for (int t = 0; t < 2; ++t) {
    senders.emplace_back([&, t] {
      HttpConnection conn(port());
      for (int i = 0; !stop; ++i) {
        const std::string id = "r" + std::to_string(t) + "-" + std::to_string(i);
        Ack a = PostWebhook(conn, "orders", CanonicalOrderJson("SO-" + id), {{"X-Event-Id", id}});
        if (a.status == 202) {
          std::lock_guard lock(mu);
          acked.insert(id);
        }
      }
    });
  }
  auto acked_count = [&] {
    std::lock_guard lock(mu);
    return acked.size();
  };

  // Six reloads, alternating the two configurations and the two ways to ask.
  for (int round = 0; round < 6; ++round) {
    const std::size_t before = acked_count();
    ASSERT_TRUE(WaitFor([&] { return acked_count() >= before + 20; }, Millis(10000)));
    WriteConfig(round % 2 == 0 ? kConfigB : kConfigA);
    if (round % 3 == 2) {
      ASSERT_EQ(::kill(hub().pid(), SIGHUP), 0);
      const std::string want = "generation " + std::to_string(round + 2) + ":";
      ASSERT_TRUE(WaitFor([&] { return hub().Log().find(want) != std::string::npos; }, Millis(20000))) << hub().Log();
    } else {
      auto r = Reload();
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(r->status, 200) << r->body;
    }
  }
  // Six reloads end on configuration a. A broken file is refused with its problem; the running
  // configuration goes on.
  WriteConfig(std::string(kConfigB) + "  - { from: [nowhere], types: [\"*\"], to: [archive] }\n");
  auto bad = Reload();
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400) << bad->body;
  EXPECT_NE(bad->body.find("unknown source \\\"nowhere\\\""), std::string::npos) << bad->body;
  // The data directory (the journal) cannot move while running: named, refused.
  WriteConfig(Replace(kConfigB, "data_dir: @DIR@/var\n", "data_dir: @DIR@/elsewhere\n"));
  auto moved = Reload();
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->status, 400) << moved->body;
  EXPECT_NE(moved->body.find("only change with a restart: data_dir"), std::string::npos) << moved->body;

  const std::size_t before = acked_count();
  ASSERT_TRUE(WaitFor([&] { return acked_count() >= before + 20; }, Millis(10000))) << "still serving after refusals";
  stop = true;
  for (auto& s : senders) s.join();

  // Every acknowledged event reached the archive exactly once.
  const std::string archive = tmp_.Join("var/out/archive.jsonl");
  std::map<std::string, int> seen;
  ASSERT_TRUE(WaitFor(
      [&] {
        seen.clear();
        for (const CloudEvent& ce : ReadCloudEvents(archive)) ++seen[InboundIdOf(ce.id)];
        return seen.size() >= acked.size();
      },
      Millis(30000)))
      << seen.size() << " of " << acked.size() << " acknowledged events in the archive";
  for (const std::string& id : acked) {
    auto it = seen.find(id);
    ASSERT_NE(it, seen.end()) << id << " was acknowledged and lost";
    EXPECT_EQ(it->second, 1) << id << " was delivered " << it->second << " times";
  }
  // A last reload to b: new events are copied too; the hub counted the reloads as they went.
  WriteConfig(kConfigB);
  auto to_b = Reload();
  ASSERT_TRUE(to_b.ok());
  ASSERT_EQ(to_b->status, 200) << to_b->body;
  Ack last = PostWebhook(port(), "orders", CanonicalOrderJson("SO-LAST"), {{"X-Event-Id", "last"}});
  ASSERT_EQ(last.status, 202);
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const CloudEvent& ce : ReadCloudEvents(tmp_.Join("var/out/copy.jsonl"))) {
          if (ce.id == "last:0") return true;
        }
        return false;
      },
      kDeliveryTimeout));
  auto metrics = HttpGet(admin_port_, "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("channelhub_config_reloads_total{outcome=\"applied\"} 7"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("channelhub_config_reloads_total{outcome=\"refused\"} 2"), std::string::npos);
  EXPECT_TRUE(hub().Terminate().Succeeded()) << hub().Log();
}

}  // namespace
}  // namespace channelhub::e2e
