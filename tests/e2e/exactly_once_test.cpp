// Exactly-once effect towards an ERP that cannot do transactions: the hub's Save reaches Kingdee,
// the bill is booked, but the answer is lost. The retry must not book the order twice: the
// connector looks the bill up by its number first and carries on from there.
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/sim_erp.hpp"

namespace channelhub::e2e {
namespace {

// The Kingdee SDK sample's application (protocols.md §4.2, vector K1).
constexpr char kAppId[] = "204399_72epSbtEQMC92Vwt2d3LRa9LRqSc1tqJ";
constexpr char kAppSecret[] = "fb7d46647ac346dbb5fcd45b65512a45";
constexpr char kAcct[] = "5db25ac8d2b819";

constexpr char kConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
mappings_dir: @MAPPINGS@
plugins: [@PLUGIN@]
sources:
  dealers:
    connector: generic
    mapping: builtin:canonical.order
    event_id: { header: X-Event-Id }
destinations:
  erp:
    type: connector
    connector: kingdee
    url: @URL@
    timeout: 3s
    mapping: kingdee/sal_saleorder.from_canon.yaml
    retry: { initial: 50ms, max: 200ms, max_age: 1h }
    settings:
      app_id: @APPID@
      app_secret: @SECRET@
      acct_id: @ACCT@
      user: webapi
      form_id: SAL_SaleOrder
      operations: save,submit,audit
routes:
  - { from: [dealers], types: ["order.*"], to: [erp] }
)";

TEST_F(HubTest, AnOrderWhoseSaveAnswerWasLostIsBookedOnce) {
  KingdeeSimulator kingdee;
  kingdee.UseSignature(kAppId, kAppSecret, kAcct, "webapi");
  kingdee.LoseNextSaveAnswer();
  FakeHttpServer server;
  ASSERT_TRUE(server.ok());
  server.SetHandler([&kingdee](const RecordedRequest& r) { return kingdee.Handle(r); });
  std::string yaml = Replace(kConfig, "@MAPPINGS@", std::string(CHUB_SOURCE_DIR) + "/mappings");
  yaml = Replace(yaml, "@PLUGIN@", std::string(CHUB_PLUGIN_DIR) + "/chub_erp.so");
  yaml = Replace(yaml, "@URL@", server.Url("/k3cloud/"));
  yaml = Replace(Replace(Replace(yaml, "@APPID@", kAppId), "@SECRET@", kAppSecret), "@ACCT@", kAcct);
  ASSERT_NO_FATAL_FAILURE(StartHub(WriteConfig(yaml)));

  // A dealer order as the canonical model has it (the Kingdee mapping's own fixture).
  const std::string order = ReadFile(std::string(CHUB_SOURCE_DIR) + "/mappings/kingdee/sal_saleorder.from_canon.dealer.in.json");
  ASSERT_FALSE(order.empty());
  Ack ack = PostWebhook(port(), "dealers", order, {{"X-Event-Id", "po-5001"}});
  ASSERT_EQ(ack.status, 202) << ack.ToString();
  ASSERT_TRUE(WaitFor([&] { return kingdee.AuditedNumbers().size() == 1; }, kDeliveryTimeout))
      << "saves " << kingdee.RequestCount("Save") << ", views " << kingdee.RequestCount("View") << ", submits "
      << kingdee.RequestCount("Submit") << " " << (kingdee.SubmittedNumbers().empty() ? "" : kingdee.SubmittedNumbers()[0]) << "\n"
      << hub().Log();
  // One Save (whose answer was lost), one lookup that found the bill, then Submit and Audit;
  // one bill.
  EXPECT_EQ(kingdee.RequestCount("Save"), 1);
  EXPECT_EQ(kingdee.RequestCount("View"), 1);
  EXPECT_EQ(kingdee.RequestCount("Submit"), 1);
  EXPECT_EQ(kingdee.RequestCount("Audit"), 1);
  ASSERT_EQ(kingdee.SavedBills().size(), 1u);
  EXPECT_EQ(kingdee.SavedBills()[0].number, "HD-PO-88017");
  EXPECT_EQ(kingdee.AuditedNumbers(), (std::vector<std::string>{"HD-PO-88017"}));
  EXPECT_EQ(kingdee.AuthFailures(), 0) << kingdee.AuthErrors().front();
}

}  // namespace
}  // namespace channelhub::e2e
