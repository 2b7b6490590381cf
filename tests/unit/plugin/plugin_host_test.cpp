#include "hub/plugin/plugin_host.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hub/plugin/check.hpp"

namespace channelhub::plugin {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kEcho = std::string(CHUB_PLUGIN_DIR) + "/chub_example_echo.so";
std::string TestPlugin(const char* name) { return std::string(CHUB_TEST_PLUGIN_DIR) + "/" + name + ".so"; }

std::string LoadError(const std::vector<std::string>& paths) {
  auto r = Registry::Load(paths);
  return r.ok() ? "loaded" : r.status().message();
}

TEST(PluginHost, LoadsAPluginAndDescribesItsConnectors) {
  auto reg = Registry::Load({kEcho});
  ASSERT_TRUE(reg.ok()) << reg.status().message();
  const ConnectorInfo* echo = (*reg)->Find("echo");
  ASSERT_NE(echo, nullptr);
  EXPECT_EQ(echo->capabilities, kInbound | kOutbound);
  EXPECT_EQ(CapabilityNames(echo->capabilities), "inbound, outbound");
  EXPECT_THAT(echo->settings, ElementsAre("token", "header", "path"));
  EXPECT_EQ(echo->plugin, "channelhub-example-echo");
  EXPECT_EQ(echo->plugin_version, "1.0.0");
  EXPECT_EQ(echo->file, kEcho);
  EXPECT_EQ((*reg)->Find("nope"), nullptr);
}

TEST(PluginHost, RefusesBrokenPluginsNamingTheFileAndTheFix) {
  EXPECT_THAT(LoadError({TestPlugin("bad_abi")}),
              HasSubstr("bad_abi.so (future-plugin 9.0) was built for plugin ABI version 8; this channelhub "
                        "speaks version 1: rebuild the plugin against this channelhub's plugins/sdk"));
  EXPECT_THAT(LoadError({TestPlugin("no_entry")}),
              HasSubstr("no_entry.so is not a channelhub plugin: it has no chub_plugin_entry_v1 function"));
  EXPECT_THAT(LoadError({TestPlugin("missing_function")}),
              HasSubstr("connector \"broken\" claims inbound but has no function for it"));
  EXPECT_THAT(LoadError({"/nonexistent/plugin.so"}), HasSubstr("/nonexistent/plugin.so does not exist"));
  const std::string junk = ::testing::TempDir() + "/junk.so";
  std::ofstream(junk) << "not an ELF file";
  EXPECT_THAT(LoadError({junk}), HasSubstr("junk.so cannot be loaded: "));
  // The same connector twice.
  EXPECT_THAT(LoadError({kEcho, kEcho}), HasSubstr("offers connector \"echo\", which " + kEcho + " already offers"));
}

TEST(PluginHost, InstancesTranslateThroughTheAbi) {
  auto reg = Registry::Load({std::string(CHUB_PLUGIN_DIR)});  // a folder: every plugin in it
  ASSERT_TRUE(reg.ok()) << reg.status().message();
  auto inst = Instance::Create(**reg, "echo", {{"token", "t0k"}, {"path", "/in"}}, "sources.e");
  ASSERT_TRUE(inst.ok()) << inst.status().message();
  Instance& echo = **inst;

  HttpIn good;
  good.method = "POST";
  good.headers = {{"x-echo-token", "t0k"}, {"X-Echo-Id", "id-1"}, {"X-Echo-Kind", "orders/create"}};
  good.body = R"({"a":1})";
  InboundOutcome in = echo.Inbound(good);
  ASSERT_FALSE(in.rejected) << in.reason;
  ASSERT_EQ(in.payloads.size(), 1u);
  EXPECT_EQ(in.payloads[0].event_id, "id-1");
  EXPECT_EQ(in.payloads[0].kind, "orders/create");
  EXPECT_EQ(in.payloads[0].body, R"({"a":1})");
  EXPECT_EQ(in.status, 200);
  EXPECT_EQ(in.body, R"({"echo":"ok"})");

  HttpIn bad = good;
  bad.headers = {{"X-Echo-Token", "wrong"}};
  InboundOutcome refused = echo.Inbound(bad);
  EXPECT_TRUE(refused.rejected);
  EXPECT_EQ(refused.status, 401);
  EXPECT_TRUE(refused.payloads.empty());

  Delivery d;
  d.event_id = "evt-9";
  d.content_type = "application/json";
  d.body = "{}";
  auto req = echo.BuildDelivery(d);
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->method, "POST");
  EXPECT_EQ(req->target, "/in");
  EXPECT_THAT(req->headers, ::testing::Contains(std::make_pair(std::string("Idempotency-Key"), std::string("evt-9"))));
  EXPECT_EQ(echo.JudgeDelivery(d, HttpReply{204, {}, ""}).verdict, Verdict::kDone);
  EXPECT_EQ(echo.JudgeDelivery(d, HttpReply{503, {}, ""}).verdict, Verdict::kRetry);
  VerdictOutcome no = echo.JudgeDelivery(d, HttpReply{422, {}, "bad field"});
  EXPECT_EQ(no.verdict, Verdict::kPermanent);
  EXPECT_EQ(no.message, "HTTP 422: bad field");
  // What the connector does not offer is refused by the host, not by a crash in the plugin.
  EXPECT_FALSE(echo.BuildPoll("", "").ok());
  EXPECT_FALSE(echo.BuildToken().ok());
}

TEST(PluginHost, ChecksAConfigurationAgainstThePlugins) {
  config::Config c;
  c.file = "hub.yaml";
  c.plugins = {kEcho};
  config::SourceConfig a;
  a.name = "a";
  a.connector = "echo";
  a.connector_line = 5;
  a.settings["tokn"] = config::Setting{"x", false, 7, 9};
  c.sources["a"] = a;
  config::SourceConfig b;
  b.name = "b";
  b.connector = "ecoh";
  b.connector_line = 11;
  c.sources["b"] = b;
  config::SourceConfig p;
  p.name = "p";
  p.connector = "echo";
  p.poll.enabled = true;
  p.url = "http://127.0.0.1:1/";
  p.connector_line = 15;
  c.sources["p"] = p;
  Connectors out;
  std::vector<std::string> got;
  for (const auto& d : LoadConnectors(c, &out)) got.push_back(d.ToString());
  EXPECT_THAT(got, ElementsAre(
                       "hub.yaml:7:9: sources.a.settings.tokn: connector echo has no setting \"tokn\"; did you "
                       "mean \"token\"? (it reads: token, header, path)",
                       "hub.yaml:11: sources.b.connector: no loaded plugin offers connector \"ecoh\"; did you mean "
                       "\"echo\"? (known: echo, generic)",
                       "hub.yaml:15: sources.p.poll: connector echo cannot poll (it can: inbound, outbound); remove "
                       "poll: to take its webhooks"));
  c.sources.erase("b");
  c.sources.erase("p");
  c.sources["a"].settings = {{"token", config::Setting{"x", true, 7, 9}}};
  Connectors ok;
  EXPECT_TRUE(LoadConnectors(c, &ok).empty());
  ASSERT_EQ(ok.sources.count("a"), 1u);
  EXPECT_EQ(ok.sources.at("a")->info().name, "echo");
}

}  // namespace
}  // namespace channelhub::plugin
