// The hub with mapping files: a source names a file under mappings_dir; its events are mapped by
// the engine, a payload that does not fit becomes a dead letter naming the rule, and a broken
// mapping file stops the hub from starting with file:line:column.

#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"

namespace channelhub::e2e {
namespace {

const std::string kMappings = std::string(CHUB_SOURCE_DIR) + "/mappings";

std::string Config(const std::string& mappings_dir, const std::string& mapping) {
  return "listen: 127.0.0.1:0\n"
         "data_dir: @DIR@/var\n"
         "mappings_dir: " + mappings_dir + "\n"
         "sources:\n"
         "  shop:\n"
         "    mapping: " + mapping + "\n"
         "    event_id: { header: X-Event-Id }\n"
         "destinations:\n"
         "  archive: { type: file, path: \"@DIR@/var/out/events.jsonl\" }\n"
         "routes:\n"
         "  - { from: [shop], types: [\"*\"], to: [archive] }\n";
}

class MappingE2E : public HubTest {};

TEST_F(MappingE2E, SourceMappedByAFileDeliversTheGoldenOutput) {
  ASSERT_NO_FATAL_FAILURE(StartHub(WriteConfig(Config(kMappings, "shopify/orders_create.to_canon.yaml"))));
  const std::string in = ReadFile(kMappings + "/shopify/orders_create.to_canon.paid.in.json");
  Ack ack = PostWebhook(port(), "shop", in, {{"X-Event-Id", "map-1"}});
  ASSERT_EQ(ack.status, 202) << ack.ToString();
  const std::string out_file = tmp_.path() + "/var/out/events.jsonl";
  ASSERT_TRUE(WaitForLines(out_file, 1)) << hub().Log();
  auto events = ReadCloudEvents(out_file);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "com.channelhub.order.upserted");
  EXPECT_EQ(events[0].subject, "order/shop/5990000000000000123");
  EXPECT_EQ(events[0].id, "map-1:0");

  // The event's data is exactly the golden output of the same fixture.
  rapidjson::Document want = ParseJson(ReadFile(kMappings + "/shopify/orders_create.to_canon.paid.out.json"));
  ASSERT_TRUE(events[0].doc->HasMember("data"));
  EXPECT_TRUE((*events[0].doc)["data"] == want) << events[0].raw;
}

TEST_F(MappingE2E, APayloadThatDoesNotFitIsADeadLetterNamingTheRule) {
  const std::string config = WriteConfig(Config(kMappings, "shopify/orders_create.to_canon.yaml"));
  ASSERT_NO_FATAL_FAILURE(StartHub(config));
  const std::string in = ReadFile(kMappings + "/shopify/orders_create.to_canon.bad_price.in.json");
  Ack ack = PostWebhook(port(), "shop", in, {{"X-Event-Id", "map-bad"}});
  ASSERT_EQ(ack.status, 202) << ack.ToString();  // stored first: nothing acknowledged is lost
  RunResult dlq;
  ASSERT_TRUE(WaitFor([&] {
    dlq = RunChannelhub({"dlq", "--config", config}, tmp_.path());
    return dlq.out.find("map-bad") != std::string::npos;
  }, kDeliveryTimeout)) << dlq.out << dlq.err << hub().Log();
  EXPECT_NE(dlq.out.find("\"stage\":\"mapping\""), std::string::npos) << dlq.out;
  EXPECT_TRUE(std::regex_search(
      dlq.out, std::regex(R"(orders_create\.to_canon\.yaml:[0-9]+: lines\[0\]\.unit_price: decimal: \\"ten\\")")))
      << dlq.out;
}

TEST_F(MappingE2E, ABrokenMappingFileStopsTheHubWithItsPosition) {
  WriteFile(tmp_.path() + "/maps/schema/order.schema.json", ReadFile(kMappings + "/schema/order.schema.json"));
  WriteFile(tmp_.path() + "/maps/bad.yaml",
            "format: json\ntarget: order\nrules:\n  order_no: { from: $.x, transform: [trimm] }\n");
  const std::string config = WriteConfig(Config(tmp_.path() + "/maps", "bad.yaml"));
  RunResult check = RunChannelhub({"check", "--config", config}, tmp_.path());
  EXPECT_EQ(check.status.code, 2) << check.status.ToString();
  EXPECT_NE(check.err.find("bad.yaml:4:38: rules.order_no.transform[0]: unknown transform \"trimm\""),
            std::string::npos) << check.err;
  RunResult serve = RunChannelhub({"serve", "--config", config}, tmp_.path());
  EXPECT_EQ(serve.status.code, 2) << serve.status.ToString() << serve.err;

  WriteConfig(Config(tmp_.path() + "/maps", "missing.yaml"));
  RunResult missing = RunChannelhub({"check", "--config", config}, tmp_.path());
  EXPECT_EQ(missing.status.code, 2);
  EXPECT_NE(missing.err.find("sources.shop.mapping: mapping file missing.yaml: no such file (looked for " + tmp_.path() +
                             "/maps/missing.yaml; mapping paths are relative to mappings_dir)"),
            std::string::npos) << missing.err;
}

TEST_F(MappingE2E, SapIdocInKingdeeSaleOrderOut) {
  FakeHttpServer erp;
  ASSERT_TRUE(erp.ok());
  const std::string yaml =
      "listen: 127.0.0.1:0\n"
      "data_dir: @DIR@/var\n"
      "mappings_dir: " + kMappings + "\n"
      "sources:\n"
      "  sap:\n"
      "    mapping: sap/orders05.to_canon.yaml\n"
      "  crm:\n"
      "    mapping: builtin:canonical.customer\n"
      "destinations:\n"
      "  kingdee:\n"
      "    type: http\n"
      "    url: " + erp.Url("/k3cloud/Save") + "\n"
      "    mapping: kingdee/sal_saleorder.from_canon.yaml\n"
      "    retry: { initial: 50ms, max: 200ms }\n"
      "routes:\n"
      "  - { from: [sap, crm], types: [\"*\"], to: [kingdee] }\n";
  const std::string config = WriteConfig(yaml);
  ASSERT_NO_FATAL_FAILURE(StartHub(config));
  Ack ack = PostWebhook(port(), "sap", ReadFile(kMappings + "/sap/orders05.to_canon.dealer.in.xml"), {},
                        "application/xml");
  ASSERT_EQ(ack.status, 202) << ack.ToString();
  ASSERT_TRUE(WaitFor([&] { return erp.RequestCount() >= 1; }, kDeliveryTimeout)) << hub().Log();
  const RecordedRequest r = erp.Requests().front();
  EXPECT_EQ(r.target, "/k3cloud/Save");
  EXPECT_EQ(r.Header("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(r.Header("Idempotency-Key").value_or(""), ack.event_id + ":0");
  rapidjson::Document body = ParseJson(r.body);
  EXPECT_EQ(JsonString(body, "/Model/FBillNo").value_or(""), "HD-PO-88017") << r.body;
  EXPECT_EQ(JsonString(body, "/Model/FCustId/FNumber").value_or(""), "0000201234") << r.body;
  EXPECT_EQ(JsonString(body, "/Model/FSaleOrderEntry/1/FMaterialId/FNumber").value_or(""), "HD-SEAL-07");

  // A customer event routed to an order-only destination cannot be sent: a dead letter, at once.
  Ack cust = PostWebhook(port(), "crm", R"({"kind":"company","name":"华东机电","source":{"system":"crm","id":"C1"}})");
  ASSERT_EQ(cust.status, 202) << cust.ToString();
  RunResult dlq;
  ASSERT_TRUE(WaitFor([&] {
    dlq = RunChannelhub({"dlq", "--config", config}, tmp_.path());
    return dlq.out.find(cust.event_id) != std::string::npos;
  }, kDeliveryTimeout)) << dlq.out << hub().Log();
  EXPECT_NE(dlq.out.find("destination kingdee maps order events"), std::string::npos) << dlq.out;
  EXPECT_EQ(erp.RequestCount(), 1u);
}

TEST_F(MappingE2E, MapCommandTriesAMappingAndChecksFixtures) {
  RunResult tried = RunChannelhub({"map", "--mapping", kMappings + "/sap/orders05.to_canon.yaml", "--input",
                                   kMappings + "/sap/orders05.to_canon.dealer.in.xml"}, tmp_.path());
  ASSERT_TRUE(tried.status.Succeeded()) << tried.err;
  EXPECT_TRUE(ParseJson(tried.out) == ParseJson(ReadFile(kMappings + "/sap/orders05.to_canon.dealer.out.json")));

  RunResult wrong_way = RunChannelhub({"map", "--direction", "out", "--mapping", kMappings + "/sap/orders05.to_canon.yaml",
                                       "--input", kMappings + "/sap/orders05.to_canon.dealer.in.xml"}, tmp_.path());
  EXPECT_EQ(wrong_way.status.code, 2);
  EXPECT_NE(wrong_way.err.find("--direction out, but the file is a direction: in mapping"), std::string::npos)
      << wrong_way.err;
  RunResult out_way = RunChannelhub({"map", "--direction", "out", "--mapping", kMappings + "/sap/orders05.from_canon.yaml",
                                     "--input", kMappings + "/sap/orders05.from_canon.dealer.in.json"}, tmp_.path());
  ASSERT_TRUE(out_way.status.Succeeded()) << out_way.err;
  EXPECT_EQ(out_way.out.rfind("<?xml", 0), 0u) << out_way.out;

  // A fixture whose expected output is wrong fails, and says what the mapping produced.
  const std::string dir = tmp_.path() + "/golden";
  WriteFile(dir + "/m.yaml", ReadFile(kMappings + "/sap/orders05.to_canon.yaml"));
  WriteFile(dir + "/schema/order.schema.json", ReadFile(kMappings + "/schema/order.schema.json"));
  WriteFile(dir + "/m.ok.in.xml", ReadFile(kMappings + "/sap/orders05.to_canon.dealer.in.xml"));
  WriteFile(dir + "/m.ok.out.json", ReadFile(kMappings + "/sap/orders05.to_canon.dealer.out.json"));
  WriteFile(dir + "/m.wrong.in.xml", ReadFile(kMappings + "/sap/orders05.to_canon.dealer.in.xml"));
  WriteFile(dir + "/m.wrong.out.json", "{\"order_no\":\"nope\"}");
  RunResult check = RunChannelhub({"map", "--check", dir}, tmp_.path());
  EXPECT_EQ(check.status.code, 1);
  EXPECT_NE(check.out.find("PASS " + dir + "/m.yaml: ok"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("FAIL " + dir + "/m.yaml: wrong: the result differs from m.wrong.out.json, first at "
                           "order_no: expected \"nope\", got \"HD-PO-88017\""),
            std::string::npos) << check.out;
  EXPECT_NE(check.out.find("1 passed, 1 failed"), std::string::npos) << check.out;

  // A case without a name, an expected result without its input, and two expectations for one
  // case each fail with what to do; the file given by its bare name (no folder) is found.
  WriteFile(dir + "/m.in.xml", "<a/>");
  WriteFile(dir + "/m.gone.out.json", "{}");
  WriteFile(dir + "/m.wrong.error.txt", "x");
  char* cwd = ::getcwd(nullptr, 0);  // the child inherits the folder: "m.yaml" is a bare name
  ASSERT_EQ(::chdir(dir.c_str()), 0);
  RunResult strict = RunChannelhub({"map", "--check", "m.yaml"}, dir);
  ASSERT_EQ(::chdir(cwd), 0);
  std::free(cwd);
  EXPECT_EQ(strict.status.code, 1);
  EXPECT_NE(strict.out.find("m.in.xml has no case name; call it m.<case>.in.xml"), std::string::npos) << strict.out;
  EXPECT_NE(strict.out.find("m.gone.out.json has no input beside it (m.gone.in.json or m.gone.in.xml)"),
            std::string::npos) << strict.out;
  EXPECT_NE(strict.out.find("wrong: more than one of m.wrong.out.json"), std::string::npos) << strict.out;
  EXPECT_NE(strict.out.find("1 passed, 3 failed"), std::string::npos) << strict.out;

  // XML results compare with attributes in any order; a folder without mappings does not pass.
  const std::string xdir = tmp_.path() + "/xml";
  WriteFile(xdir + "/o.yaml", ReadFile(kMappings + "/sap/orders05.from_canon.yaml"));
  WriteFile(xdir + "/schema/order.schema.json", ReadFile(kMappings + "/schema/order.schema.json"));
  WriteFile(xdir + "/o.a.in.json", ReadFile(kMappings + "/sap/orders05.from_canon.dealer.in.json"));
  std::string want = ReadFile(kMappings + "/sap/orders05.from_canon.dealer.out.xml");
  const auto at = want.find("BEGIN=\"1\"");
  ASSERT_NE(at, std::string::npos) << want;
  want.replace(at, 9, "BEGIN=\"1\" ZZ=\"z\"");  // one more attribute: must differ
  WriteFile(xdir + "/o.a.out.xml", want);
  RunResult xml = RunChannelhub({"map", "--check", xdir}, tmp_.path());
  EXPECT_EQ(xml.status.code, 1);
  EXPECT_NE(xml.out.find("first at line 2 (indented, attributes sorted): expected \"  <IDOC BEGIN=\"1\" ZZ=\"z\">\""),
            std::string::npos) << xml.out;
  const std::string empty = tmp_.path() + "/empty";
  WriteFile(empty + "/README.txt", "no mappings here");
  RunResult none = RunChannelhub({"map", "--check", empty}, tmp_.path());
  EXPECT_EQ(none.status.code, 2);
  EXPECT_NE(none.err.find("no mapping files (*.yaml, *.yml) to check"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace channelhub::e2e
