// `channelhub backup` while the hub takes webhooks: the copies are consistent, checked, and a hub
// reads them finds every event acknowledged before the copy and the master record with it.
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/payloads.hpp"

namespace channelhub::e2e {
namespace {

constexpr char kConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
sources:
  orders: { connector: generic, mapping: builtin:canonical.order, event_id: { header: X-Event-Id } }
  crm: { connector: generic, mapping: builtin:canonical.customer, event_id: { header: X-Event-Id } }
destinations:
  archive: { type: file, path: "@DIR@/var/out/events.jsonl" }
  golden: { type: master }
routes:
  - { from: [orders, crm], types: ["*"], to: [archive] }
  - { from: [crm], types: ["customer.*"], to: [golden] }
)";

class BackupE2E : public HubTest {};

TEST_F(BackupE2E, CopiesWhileTheHubRunsAndTheCopyHoldsWhatWasAcknowledged) {
  const std::string config = WriteConfig(kConfig);
  ASSERT_NO_FATAL_FAILURE(StartHub(config));
  ASSERT_EQ(PostWebhook(port(), "crm",
                        R"({"kind":"person","name":"赵敏","mobiles":["+8613800000007"],"source":{"system":"crm","id":"7"}})",
                        {{"X-Event-Id", "c-7"}})
                .status,
            202);
  // Webhooks keep arriving while the copy is made.
  std::atomic<bool> stop{false};
  std::atomic<int> acked{0};
  std::thread load([&] {
    for (int i = 0; !stop; ++i) {
      if (PostWebhook(port(), "orders", CanonicalOrderJson("SO-" + std::to_string(i)), {{"X-Event-Id", "o-" + std::to_string(i)}})
              .status == 202) {
        ++acked;
      }
    }
  });
  ASSERT_TRUE(WaitFor([&] { return acked >= 50; }, Millis(10000)));
  ASSERT_TRUE(WaitFor([&] { return ReadCompleteLines(tmp_.Join("var/out/events.jsonl")).size() >= 2; }, kDeliveryTimeout));
  const int acked_before = acked;
  RunResult r = RunChannelhub({"backup", "--config", config, "--to", tmp_.Join("copy")}, tmp_.path());
  stop = true;
  load.join();
  ASSERT_TRUE(r.status.Succeeded()) << r.err << r.out;
  EXPECT_NE(r.out.find("journal.db (") , std::string::npos) << r.out;
  EXPECT_NE(r.out.find("master.db ("), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("checked"), std::string::npos) << r.out;
  ASSERT_TRUE(hub().Terminate().Succeeded());

  // The copy is a data directory of its own: its journal has at least every event acknowledged
  // before the backup started, and its master record knows the customer.
  RunResult trace = RunChannelhub({"trace", "--config", config, "--data-dir", tmp_.Join("copy"), "--limit", "100000"},
                                  tmp_.path());
  ASSERT_TRUE(trace.status.Succeeded()) << trace.err;
  int orders = 0;
  for (std::size_t at = 0; (at = trace.out.find("orders/o-", at)) != std::string::npos; ++at) ++orders;
  EXPECT_GE(orders, acked_before) << trace.out.substr(0, 2000);
  RunResult show = RunChannelhub({"customers", "show", "crm/7", "--config", config, "--data-dir", tmp_.Join("copy")},
                                 tmp_.path());
  EXPECT_TRUE(show.status.Succeeded()) << show.err;
  EXPECT_NE(show.out.find("赵敏"), std::string::npos) << show.out;
  RunResult missing = RunChannelhub({"backup", "--config", config, "--data-dir", tmp_.Join("nothing"), "--to",
                                     tmp_.Join("copy2")},
                                    tmp_.path());
  EXPECT_EQ(missing.status.code, 1);
  EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace channelhub::e2e
