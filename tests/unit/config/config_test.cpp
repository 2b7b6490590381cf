#include "hub/common/ids.hpp"
#include "hub/config/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace channelhub::config {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Writes configuration files into a fresh temporary directory and loads them.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "chub_config_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }

  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    for (const char* name : {"CHUB_TEST_TOKEN", "CHUB_TEST_SECRET", "CHUB_TEST_URL",
                             "CHUB_TEST_DIR", "CHUB_TEST_TIMEOUT", "SHOPIFY_WEBHOOK_SECRET"}) {
      ::unsetenv(name);
    }
  }

  // Writes "text" to "name" in the temporary directory; returns its path.
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // Loads "text" as hub.yaml; returns the diagnostics as text with the directory left out
  // ("hub.yaml:3:5: key: message").
  std::vector<std::string> Errors(const std::string& text, const Overrides& overrides = {}) {
    LoadResult r = LoadConfig(Write("hub.yaml", text), overrides);
    EXPECT_EQ(r.config.has_value(), r.diagnostics.empty());
    std::vector<std::string> out;
    for (const Diagnostic& d : r.diagnostics) {
      std::string s = d.ToString();
      if (s.starts_with(dir_ + "/")) s.erase(0, dir_.size() + 1);
      out.push_back(s);
    }
    return out;
  }

  // Loads "text" as hub.yaml and expects it to be valid.
  Config Load(const std::string& text, const Overrides& overrides = {}) {
    LoadResult r = LoadConfig(Write("hub.yaml", text), overrides);
    for (const Diagnostic& d : r.diagnostics) ADD_FAILURE() << d.ToString();
    return r.config.value_or(Config{});
  }

  std::string dir_;
};

// A valid configuration that the tests below change in one place each.
constexpr const char* kBase = R"(listen: 127.0.0.1:8080
data_dir: ./var
sources:
  webshop:
    mapping: builtin:shopify.order
destinations:
  archive:
    type: file
    path: ${data_dir}/out/events.jsonl
routes:
  - from: [webshop]
    types: [order.*]
    to: [archive]
)";

// --- the shipped configurations ---

TEST_F(ConfigTest, LoadsTheQuickStartConfig) {
  const std::string path = std::string(CHUB_SOURCE_DIR) + "/config/hub.yaml";
  LoadResult r = LoadConfig(path);
  for (const Diagnostic& d : r.diagnostics) ADD_FAILURE() << d.ToString();
  ASSERT_TRUE(r.config.has_value());
  const Config& c = *r.config;
  EXPECT_EQ(c.file, path);
  EXPECT_EQ(c.server.listen.host, "127.0.0.1");
  EXPECT_EQ(c.server.listen.port, 8080);
  EXPECT_EQ(c.data_dir, "./var");
  EXPECT_EQ(c.log_level, "info");
  ASSERT_EQ(c.sources.size(), 1u);
  const SourceConfig& s = c.sources.at("webshop");
  EXPECT_EQ(s.name, "webshop");
  EXPECT_EQ(s.connector, "generic");
  EXPECT_EQ(s.mapping, "");
  ASSERT_EQ(s.mapping_by_kind.size(), 1u);
  EXPECT_EQ(s.mapping_by_kind.at("*"), (std::vector<std::string>{"shopify/orders_create.to_canon.yaml",
                                                                 "shopify/order_customer.to_canon.yaml"}));
  EXPECT_EQ(c.mappings_dir, "./mappings");
  EXPECT_EQ(s.auth.kind, SourceAuth::Kind::kNone);
  EXPECT_EQ(s.event_id_header, "X-Shopify-Event-Id");
  EXPECT_GT(s.line, 0);
  ASSERT_EQ(c.destinations.size(), 2u);
  const DestinationConfig& d = c.destinations.at("archive");
  EXPECT_EQ(d.type, DestinationConfig::Type::kFile);
  EXPECT_EQ(d.path, "./var/out/events.jsonl");
  EXPECT_EQ(c.master_destination, "golden");
  EXPECT_EQ(c.master.path, "./var/master.db");
  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_THAT(c.routes[0].from, ElementsAre("webshop"));
  EXPECT_THAT(c.routes[0].types, ElementsAre("order.*", "customer.*"));
  EXPECT_THAT(c.routes[0].to, ElementsAre("archive", "golden"));
  EXPECT_THAT(c.routes[1].from, ElementsAre("master"));
  EXPECT_THAT(c.routes[1].to, ElementsAre("archive"));
}

TEST_F(ConfigTest, LoadsTheShopifyExampleWhenItsSecretIsSet) {
  const std::string path = std::string(CHUB_SOURCE_DIR) + "/config/examples/shopify-to-erp.yaml";
  ::setenv("SHOPIFY_WEBHOOK_SECRET", "hush-hush", 1);
  LoadResult r = LoadConfig(path);
  for (const Diagnostic& d : r.diagnostics) ADD_FAILURE() << d.ToString();
  ASSERT_TRUE(r.config.has_value());
  const SourceConfig& s = r.config->sources.at("shopify");
  EXPECT_EQ(s.connector, "shopify");  // the plugin connector (connectors/ecommerce)
  EXPECT_FALSE(s.builtin());
  EXPECT_EQ(s.settings.at("secret").value, "hush-hush");
  EXPECT_TRUE(s.settings.at("secret").secret);
  EXPECT_EQ(s.auth.kind, SourceAuth::Kind::kNone);  // the connector checks signatures itself
  EXPECT_THAT(r.config->plugins, ElementsAre("./build/plugins"));
  const DestinationConfig& erp = r.config->destinations.at("erp");
  EXPECT_EQ(erp.type, DestinationConfig::Type::kHttp);
  EXPECT_EQ(erp.retry.max, std::chrono::minutes(10));
  EXPECT_EQ(erp.retry.max_age, std::chrono::hours(24));
  EXPECT_EQ(r.config->destinations.at("archive").path, "/var/lib/channelhub/out/events.jsonl");
}

TEST_F(ConfigTest, ShopifyExampleNamesTheMissingSecretWithoutLeakingIt) {
  const std::string path = std::string(CHUB_SOURCE_DIR) + "/config/examples/shopify-to-erp.yaml";
  LoadResult r = LoadConfig(path);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].key, "sources.shopify.settings.secret");
  EXPECT_EQ(r.diagnostics[0].message,
            "environment variable SHOPIFY_WEBHOOK_SECRET is not set (used as "
            "${env:SHOPIFY_WEBHOOK_SECRET})");
  EXPECT_GT(r.diagnostics[0].line, 0);
}

// --- a complete configuration ---

TEST_F(ConfigTest, ReadsEverySetting) {
  ::setenv("CHUB_TEST_TOKEN", "tok", 1);
  Write("erp_token", "erp-secret\n");
  const Config c = Load(R"(listen: "[::1]:0"
data_dir: /srv/hub/
log_level: debug
server:
  threads: 4
  body_limit: 512KiB
  read_timeout: 1m30s
  idle_timeout: 5s
  max_connections: 10
journal:
  max_batch: 64
  queue_limit: 100
  sync: normal
sources:
  shop-1:
    connector: generic
    mapping: mappings/shop/order.yaml
    auth:
      type: bearer
      token: ${env:CHUB_TEST_TOKEN}
    event_id:
      field: /order/id
  signed_shop:
    mapping: builtin:canonical.order
    auth:
      type: hmac_sha256
      secret: s
      header: X-Signature
      encoding: base64
      prefix: "sha256="
destinations:
  erp:
    type: http
    url: https://erp.example.com:8443/in?x=1
    headers:
      Authorization: "Bearer ${file:erp_token}"
      X-Tenant: "42"
    timeout: 3s
    retry: { initial: 500ms, max: 1m, max_age: 2h, multiplier: 1.5 }
routes:
  - from: ["*"]
    types: ["*"]
    to: [erp]
  - from: [shop-1, signed_shop]
    types: [order.upserted, customer.*, stock.*]
    to: [erp]
)");
  EXPECT_EQ(c.server.listen.host, "::1");
  EXPECT_EQ(c.server.listen.port, 0);
  EXPECT_EQ(c.data_dir, "/srv/hub");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.server.threads, 4);
  EXPECT_EQ(c.server.body_limit, 512u * 1024u);
  EXPECT_EQ(c.server.read_timeout, Millis{90000});
  EXPECT_EQ(c.server.idle_timeout, Millis{5000});
  EXPECT_EQ(c.server.max_connections, 10u);
  EXPECT_EQ(c.journal.max_batch, 64u);
  EXPECT_EQ(c.journal.queue_limit, 100u);
  EXPECT_FALSE(c.journal.synchronous_full);

  const SourceConfig& shop = c.sources.at("shop-1");
  EXPECT_EQ(shop.mapping, "mappings/shop/order.yaml");
  EXPECT_EQ(shop.auth.kind, SourceAuth::Kind::kBearer);
  EXPECT_EQ(shop.auth.token_sha256, Sha256Hex("tok"));  // kept as a hash only
  EXPECT_EQ(shop.event_id_field, "/order/id");
  EXPECT_EQ(shop.event_id_header, "");
  EXPECT_EQ(shop.line, 15);

  const SourceConfig& signed_shop = c.sources.at("signed_shop");
  EXPECT_EQ(signed_shop.connector, "generic");
  EXPECT_EQ(signed_shop.auth.kind, SourceAuth::Kind::kHmacSha256);
  EXPECT_EQ(signed_shop.auth.secret, "s");
  EXPECT_EQ(signed_shop.auth.header, "X-Signature");
  EXPECT_EQ(signed_shop.auth.encoding, SourceAuth::Encoding::kBase64);
  EXPECT_EQ(signed_shop.auth.prefix, "sha256=");
  EXPECT_EQ(signed_shop.line, 23);

  const DestinationConfig& erp = c.destinations.at("erp");
  EXPECT_EQ(erp.type, DestinationConfig::Type::kHttp);
  EXPECT_EQ(erp.url, "https://erp.example.com:8443/in?x=1");
  EXPECT_EQ(erp.headers.at("Authorization"), "Bearer erp-secret");
  EXPECT_EQ(erp.headers.at("X-Tenant"), "42");
  EXPECT_EQ(erp.timeout, Millis{3000});
  EXPECT_EQ(erp.retry.initial, Millis{500});
  EXPECT_EQ(erp.retry.max, Millis{60000});
  EXPECT_EQ(erp.retry.max_age, Millis{7200000});
  EXPECT_DOUBLE_EQ(erp.retry.multiplier, 1.5);
  EXPECT_EQ(erp.line, 32);

  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_EQ(c.routes[0].line, 41);
  EXPECT_THAT(c.routes[0].from, ElementsAre("*"));
  EXPECT_EQ(c.routes[1].line, 44);
  EXPECT_THAT(c.routes[1].from, ElementsAre("shop-1", "signed_shop"));
  EXPECT_THAT(c.routes[1].types, ElementsAre("order.upserted", "customer.*", "stock.*"));
}

TEST_F(ConfigTest, UsesDefaultsForOptionalSettings) {
  const Config c = Load(kBase);
  const Config defaults;
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.server.threads, 0);
  EXPECT_EQ(c.server.body_limit, defaults.server.body_limit);
  EXPECT_EQ(c.server.read_timeout, defaults.server.read_timeout);
  EXPECT_EQ(c.journal.max_batch, defaults.journal.max_batch);
  EXPECT_TRUE(c.journal.synchronous_full);
  const SourceConfig& s = c.sources.at("webshop");
  EXPECT_EQ(s.connector, "generic");
  EXPECT_EQ(s.auth.kind, SourceAuth::Kind::kNone);
  EXPECT_EQ(s.event_id_header, "");
  EXPECT_EQ(s.line, 4);
  EXPECT_EQ(c.destinations.at("archive").line, 7);
  EXPECT_EQ(c.routes.at(0).line, 11);
}

TEST_F(ConfigTest, AllowsEmptyRoutesAndEmptyBlocks) {
  const Config c =
      Load("data_dir: ./var\nserver:\njournal: {}\nsources:\ndestinations:\nroutes: []\n");
  EXPECT_TRUE(c.sources.empty());
  EXPECT_TRUE(c.destinations.empty());
  EXPECT_TRUE(c.routes.empty());
  EXPECT_EQ(c.server.listen.port, 8080);
}

// --- files and YAML ---

TEST_F(ConfigTest, ReportsAMissingFileWithoutALine) {
  const std::string path = dir_ + "/nope.yaml";
  LoadResult r = LoadConfig(path);
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].line, 0);
  EXPECT_EQ(r.diagnostics[0].file, path);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            path + ": cannot read the configuration file: No such file or directory");
}

TEST_F(ConfigTest, ReportsADirectoryAsUnreadable) {
  LoadResult r = LoadConfig(dir_);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            dir_ + ": cannot read the configuration file: Is a directory");
}

TEST_F(ConfigTest, ReportsYamlSyntaxErrorsWithTheirPosition) {
  EXPECT_THAT(Errors("data_dir: ./var\nsources:\n  webshop:\n   mapping: x\n  - oops\n"),
              ElementsAre("hub.yaml:5:3: invalid YAML: end of map not found"));
  EXPECT_THAT(Errors("data_dir: ./var\nlisten: a: b\n"),
              ElementsAre("hub.yaml:2:10: invalid YAML: illegal map value (a value that contains "
                          "\": \" must be quoted)"));
  EXPECT_THAT(Errors("data_dir: ./var\n\tlisten: x\n"),
              ElementsAre("hub.yaml:2:1: invalid YAML: illegal tab when looking for indentation "
                          "(indent with spaces)"));
}

TEST_F(ConfigTest, ExplainsThatASubstitutionInBracesMustBeQuoted) {
  EXPECT_THAT(Errors("data_dir: ./var\ndestinations:\n"
                     "  archive: { type: file, path: ${data_dir}/out/events.jsonl }\n"),
              ElementsAre("hub.yaml:3:33: invalid YAML: end of map flow not found (inside { } or "
                          "[ ], a value with ${...} must be quoted, like path: "
                          "\"${data_dir}/out/events.jsonl\")"));
}

TEST_F(ConfigTest, ExplainsThatAStarMustBeQuoted) {
  EXPECT_THAT(Errors("data_dir: ./var\nroutes:\n  - from: [*]\n"),
              ElementsAre("hub.yaml:3:13: invalid YAML: alias not found after * (a value that "
                          "starts with \"*\" or \"&\" must be quoted, like \"*\")"));
}

TEST_F(ConfigTest, TreatsAnEmptyFileAsMissingDataDir) {
  EXPECT_THAT(Errors(""), ElementsAre("hub.yaml:1:1: data_dir: missing; expected the directory "
                                      "where channelhub keeps its journal and files, like "
                                      "data_dir: ./var"));
  EXPECT_THAT(Errors("# only a comment\n"), ElementsAre(HasSubstr("data_dir: missing")));
}

TEST_F(ConfigTest, RejectsATopLevelThatIsNotAMap) {
  EXPECT_THAT(Errors("- a\n- b\n"),
              ElementsAre("hub.yaml:1:1: expected a map of settings (listen, data_dir, "
                          "mappings_dir, log_level, ...); got a list"));
}

TEST_F(ConfigTest, RejectsASecondDocument) {
  EXPECT_THAT(Errors(std::string(kBase) + "---\nlisten: 1.2.3.4:80\n"),
              ElementsAre("hub.yaml:15:1: expected one YAML document; another one starts here "
                          "(remove the \"---\" above it)"));
}

// --- keys ---

TEST_F(ConfigTest, RejectsUnknownKeyWithSuggestion) {
  EXPECT_THAT(Errors(R"(data_dir: ./var
destinations:
  erp:
    type: http
    ur1: http://127.0.0.1:9000/events
)"),
              ElementsAre("hub.yaml:3:3: destinations.erp.url: missing; expected an http:// or "
                          "https:// URL with a host, like http://127.0.0.1:9000/events",
                          "hub.yaml:5:5: destinations.erp.ur1: unknown key \"ur1\"; did you mean "
                          "\"url\"?"));
}

TEST_F(ConfigTest, RejectsUnknownKeyListingTheAllowedOnes) {
  EXPECT_THAT(Errors(std::string(kBase) + "colour: blue\n"),
              ElementsAre("hub.yaml:14:1: colour: unknown key \"colour\"; expected one of listen, "
                          "data_dir, mappings_dir, log_level, log_format, tls, plugins, server, "
                          "journal, admin, bus, sources, destinations, routes, master, data_protection, "
                          "remote_connectors"));
}

TEST_F(ConfigTest, MappingsDirDefaultsToMappingsAndCanBeSet) {
  EXPECT_EQ(Load(std::string(kBase)).mappings_dir, "mappings");
  EXPECT_EQ(Load(std::string(kBase) + "mappings_dir: /etc/channelhub/mappings\n").mappings_dir,
            "/etc/channelhub/mappings");
  EXPECT_THAT(Errors(std::string(kBase) + "mappings_dir: \"\"\n"), Not(IsEmpty()));
}

TEST_F(ConfigTest, SourceMappingsByPayloadKind) {
  std::string text = kBase;
  text.replace(text.find("    mapping: builtin:shopify.order\n"), 35,
               "    mapping:\n      orders/create: [shopify/a.yaml, shopify/b.yaml]\n"
               "      \"*\": builtin:canonical.order\n");
  const SourceConfig s = Load(text).sources.at("webshop");
  EXPECT_EQ(s.mapping_by_kind.at("orders/create"), (std::vector<std::string>{"shopify/a.yaml", "shopify/b.yaml"}));
  EXPECT_EQ(s.mapping_by_kind.at("*"), (std::vector<std::string>{"builtin:canonical.order"}));
  text.replace(text.find("builtin:canonical.order"), 23, "builtin:nope");
  EXPECT_THAT(Errors(text), ElementsAre(HasSubstr("unknown built-in mapping \"builtin:nope\"")));
  // An empty list maps nothing: every event would be a dead letter.
  text.replace(text.find("builtin:nope"), 12, "[]");
  EXPECT_THAT(Errors(text), ElementsAre(HasSubstr("sources.webshop.mapping.*: no mapping file for payload kind \"*\"")));
}

TEST_F(ConfigTest, HttpDestinationsTakeAnOutboundMappingFile) {
  // kBase with one more line in the archive destination, or an http destination beside it.
  auto with = [](const std::string& destination_lines) {
    std::string text = kBase;
    const std::string anchor = "routes:";
    text.insert(text.find(anchor), destination_lines);
    return text;
  };
  const std::string erp = "  erp:\n    type: http\n    url: http://127.0.0.1:9/save\n";
  EXPECT_EQ(Load(with(erp + "    mapping: kingdee/sal_saleorder.from_canon.yaml\n")).destinations.at("erp").mapping,
            "kingdee/sal_saleorder.from_canon.yaml");
  EXPECT_THAT(Errors(with(erp + "    mapping: /etc/x.yaml\n")),
              ElementsAre(HasSubstr("destinations.erp.mapping: expected a relative path to an outbound mapping file")));
  EXPECT_THAT(Errors(with("    mapping: kingdee/sal_saleorder.from_canon.yaml\n")),
              ElementsAre(HasSubstr("destinations.archive.mapping: \"mapping\" is only used with type http")));
}

TEST_F(ConfigTest, RejectsUnknownKeysInEveryBlock) {
  EXPECT_THAT(
      Errors(R"(data_dir: ./var
server: { thread: 2 }
journal: { maxbatch: 1 }
sources:
  s:
    mapping: builtin:shopify.order
    auth: { type: none, tokn: x }
    event_id: { headers: X-Id }
destinations:
  d:
    type: file
    path: /tmp/x
    retry: { inital: 1s }
routes:
  - { from: [s], types: ["*"], to: [d], when: always }
)"),
      ElementsAre("hub.yaml:2:11: server.thread: unknown key \"thread\"; did you mean "
                  "\"threads\"?",
                  "hub.yaml:3:12: journal.maxbatch: unknown key \"maxbatch\"; did you mean "
                  "\"max_batch\"?",
                  "hub.yaml:7:25: sources.s.auth.tokn: unknown key \"tokn\"; did you mean "
                  "\"token\"?",
                  "hub.yaml:8:17: sources.s.event_id.headers: unknown key \"headers\"; did "
                  "you mean \"header\"?",
                  "hub.yaml:13:14: destinations.d.retry.inital: unknown key \"inital\"; did "
                  "you mean \"initial\"?",
                  "hub.yaml:15:41: routes[0].when: unknown key \"when\"; expected one of "
                  "from, types, to"));
}

TEST_F(ConfigTest, ReportsDuplicateKeys) {
  EXPECT_THAT(Errors(std::string(kBase) + "data_dir: ./other\n"),
              ElementsAre("hub.yaml:14:1: data_dir: duplicate key \"data_dir\"; it is already set "
                          "above"));
  EXPECT_THAT(Errors(R"(data_dir: ./var
sources:
  a: { mapping: builtin:shopify.order }
  a: { mapping: builtin:canonical.order }
)"),
              ElementsAre("hub.yaml:4:3: sources.a: duplicate key \"a\"; it is already set above"));
}

TEST_F(ConfigTest, ReportsEveryProblemAtOnceInFileOrder) {
  const std::vector<std::string> errors = Errors(R"(listen: localhost
data_dir: ./var
log_level: warning
server:
  read_timeout: 10 seconds
sources:
  webshop:
    connector: shopfiy
    mapping: builtin:shopify.ordr
destinations:
  archive:
    type: file
    path: ${data_dir}/out/events.jsonl
routes:
  - from: [webshop]
    types: [orders.*]
    to: [archive, ar1chive]
)");
  EXPECT_THAT(
      errors,
      ElementsAre(
          "hub.yaml:1:9: listen: expected HOST:PORT like 127.0.0.1:8080; got \"localhost\" (the "
          "port is missing)",
          "hub.yaml:3:12: log_level: expected trace, debug, info, warn or error; got \"warning\"; "
          "did you mean \"warn\"?",
          "hub.yaml:5:17: server.read_timeout: expected a duration like 500ms, 10s, 5m, 1h; got "
          "\"10 seconds\"",
          "hub.yaml:9:14: sources.webshop.mapping: unknown built-in mapping "
          "\"builtin:shopify.ordr\"; did you mean \"builtin:shopify.order\"? (known: "
          "builtin:canonical.customer, builtin:canonical.order, builtin:shopify.order)",
          "hub.yaml:16:13: routes[0].types[0]: unknown entity \"orders\" in \"orders.*\"; expected "
          "order, customer, stock or *; did you mean \"order\"?",
          "hub.yaml:17:19: routes[0].to[1]: unknown destination \"ar1chive\" (configured: "
          "archive)"));
}

// --- types of values ---

TEST_F(ConfigTest, ReportsWrongTypesWithoutCrashing) {
  EXPECT_THAT(Errors(R"(listen: { host: x }
data_dir: [a, b]
server: 4
sources:
  webshop: builtin:shopify.order
destinations: [archive]
routes:
  from: [webshop]
)"),
              ElementsAre("hub.yaml:1:9: listen: expected HOST:PORT like 127.0.0.1:8080; got a map",
                          "hub.yaml:2:11: data_dir: expected a directory like ./var; got a list",
                          "hub.yaml:3:9: server: expected a map of settings (threads, body_limit, "
                          "read_timeout, idle_timeout, ...); got \"4\"",
                          "hub.yaml:5:12: sources.webshop: expected a map of settings (connector, "
                          "mapping, auth, event_id, ...); got \"builtin:shopify.order\"",
                          "hub.yaml:6:15: destinations: expected a map of \"name: value\" lines; "
                          "got a list",
                          "hub.yaml:8:3: routes: expected a list like [{from: [webshop], types: "
                          "[\"order.*\"], to: [archive]}]; got a map"));
}

TEST_F(ConfigTest, ReportsAnEmptyValueAtItsKey) {
  EXPECT_THAT(Errors("data_dir:\nlog_level:\n"),
              ElementsAre("hub.yaml:1:1: data_dir: expected a directory like ./var; got nothing",
                          "hub.yaml:2:1: log_level: expected trace, debug, info, warn or error; "
                          "got nothing"));
}

TEST_F(ConfigTest, ChecksNumbersAndTheirLimits) {
  EXPECT_THAT(Errors(R"(data_dir: ./var
server:
  threads: -1
  max_connections: 0
  body_limit: 0
journal:
  max_batch: 99999999999999999999999
  queue_limit: 1e3
)"),
              ElementsAre("hub.yaml:3:12: server.threads: expected a whole number from 0 to 1024; "
                          "got \"-1\"",
                          "hub.yaml:4:20: server.max_connections: expected a whole number from 1 "
                          "to 1000000; got \"0\"",
                          "hub.yaml:5:15: server.body_limit: expected a size from 1B to 1024MiB; "
                          "got \"0\"",
                          "hub.yaml:7:14: journal.max_batch: expected a whole number from 1 to "
                          "100000; got \"99999999999999999999999\"",
                          "hub.yaml:8:16: journal.queue_limit: expected a whole number from 1 to "
                          "10000000; got \"1e3\""));
}

TEST_F(ConfigTest, ChecksRequestAndXmlLimits) {
  EXPECT_THAT(Errors(R"(data_dir: ./var
server:
  header_limit: 100B
  max_headers: 2
  xml_max_depth: 0
  xml_max_nodes: many
)"),
              ElementsAre("hub.yaml:3:17: server.header_limit: expected a size from 1024B to 1MiB; got \"100B\"",
                          "hub.yaml:4:16: server.max_headers: expected a whole number from 8 to 10000; got \"2\"",
                          "hub.yaml:5:18: server.xml_max_depth: expected a whole number from 1 to 100000; got \"0\"",
                          "hub.yaml:6:18: server.xml_max_nodes: expected a whole number from 1 to 100000000; "
                          "got \"many\""));
}

TEST_F(ConfigTest, ChecksDurationsAndSizes) {
  EXPECT_THAT(
      Errors(R"(data_dir: ./var
server:
  read_timeout: 0s
  idle_timeout: 30
  body_limit: 1mb
journal:
  sync: always
)"),
      ElementsAre("hub.yaml:3:17: server.read_timeout: expected a duration longer than 0, "
                  "like 10s; got \"0s\"",
                  "hub.yaml:4:17: server.idle_timeout: expected a duration like 500ms, 10s, "
                  "5m, 1h; got \"30\" (add a unit: ms, s, m, h or d)",
                  "hub.yaml:5:15: server.body_limit: unknown unit \"mb\" in \"1mb\"; "
                  "expected B, KB, KiB, MB or MiB; did you mean \"MB\"?",
                  "hub.yaml:7:9: journal.sync: expected full or normal; got \"always\""));
}

// --- sources ---

TEST_F(ConfigTest, RejectsBadSourceAndDestinationNames) {
  EXPECT_THAT(
      Errors(R"(data_dir: ./var
sources:
  Web Shop: { mapping: builtin:shopify.order }
  _x: { mapping: builtin:shopify.order }
destinations:
  Archive: { type: file, path: /tmp/a }
routes:
  - { from: [Web Shop], types: ["*"], to: [Archive] }
)"),
      ElementsAre("hub.yaml:3:3: sources.Web Shop: expected a source name of lower-case "
                  "letters, digits, \"_\" and \"-\" (it becomes the URL /webhooks/<name>); "
                  "got \"Web Shop\"",
                  "hub.yaml:4:3: sources._x: expected a source name of lower-case letters, "
                  "digits, \"_\" and \"-\" (it becomes the URL /webhooks/<name>); got \"_x\"",
                  "hub.yaml:6:3: destinations.Archive: expected a destination name of "
                  "lower-case letters, digits, \"_\" and \"-\"; got \"Archive\""));
}

TEST_F(ConfigTest, RequiresAMapping) {
  EXPECT_THAT(Errors("data_dir: ./var\nsources:\n  webshop:\n    connector: generic\n"),
              ElementsAre("hub.yaml:3:3: sources.webshop.mapping: missing; expected the mapping "
                          "that turns what this source posts into events, like mapping: "
                          "shopify/orders_create.to_canon.yaml"));
}

TEST_F(ConfigTest, ChecksMappingReferences) {
  EXPECT_THAT(Errors(R"(data_dir: ./var
sources:
  a: { mapping: shopify.order }
  b: { mapping: /etc/map.yaml }
  c: { mapping: "builtin:" }
  d: { mapping: ../mappings/d.yml }
)"),
              ElementsAre("hub.yaml:3:17: sources.a.mapping: expected builtin:<name> or a relative "
                          "path to a mapping file (.yaml); got \"shopify.order\"; did you mean "
                          "\"builtin:shopify.order\"?",
                          "hub.yaml:4:17: sources.b.mapping: expected builtin:<name> or a relative "
                          "path to a mapping file; got \"/etc/map.yaml\"",
                          "hub.yaml:5:17: sources.c.mapping: unknown built-in mapping \"builtin:\" "
                          "(known: builtin:canonical.customer, builtin:canonical.order, "
                          "builtin:shopify.order)"));
}

TEST_F(ConfigTest, PluginConnectorsTakeSettingsAUrlAndAPollSchedule) {
  ::setenv("CHUB_TEST_SECRET", "k", 1);
  const Config c = Load(R"(data_dir: ./var
plugins: [./build/plugins, /opt/x/chub_erp.so]
sources:
  shop:
    connector: shopify
    mapping: shopify/orders_create.to_canon.yaml
    settings: { secret: "${env:CHUB_TEST_SECRET}", max_age: 300 }
    rate_limit: { rate: 50 }
  orders:
    connector: kingdee
    mapping: kingdee/sal_saleorder.to_canon.yaml
    url: http://erp.local/k3cloud/
    poll: { interval: 2m, timeout: 20s }
    settings: { form_id: SAL_SaleOrder, lcid: 2052 }
destinations:
  erp:
    type: connector
    connector: kingdee
    url: http://erp.local/k3cloud/
    timeout: 30s
    mapping: kingdee/sal_saleorder.from_canon.yaml
    settings: { form_id: SAL_SaleOrder, operations: "save,submit,audit" }
    retry: { max_attempts: 12 }
    concurrency: 8
    breaker: { failures: 3, open_for: 1m }
)");
  EXPECT_THAT(c.plugins, ElementsAre("./build/plugins", "/opt/x/chub_erp.so"));
  EXPECT_EQ(c.sources.at("shop").rate_limit.rate, 50);
  EXPECT_EQ(c.sources.at("shop").rate_limit.burst, 50);  // the rate when not given
  EXPECT_EQ(c.destinations.at("erp").retry.max_attempts, 12);
  EXPECT_EQ(c.destinations.at("erp").concurrency, 8);
  EXPECT_EQ(c.destinations.at("erp").breaker.failures, 3);
  EXPECT_EQ(c.destinations.at("erp").breaker.open_for, std::chrono::minutes(1));
  const SourceConfig& shop = c.sources.at("shop");
  EXPECT_EQ(shop.settings.at("secret").value, "k");
  EXPECT_TRUE(shop.settings.at("secret").secret);
  EXPECT_EQ(shop.settings.at("max_age").value, "300");  // numbers are text to a connector
  EXPECT_FALSE(shop.settings.at("max_age").secret);
  EXPECT_EQ(shop.settings.at("max_age").line, 7);
  EXPECT_FALSE(shop.poll.enabled);
  const SourceConfig& orders = c.sources.at("orders");
  EXPECT_TRUE(orders.poll.enabled);
  EXPECT_EQ(orders.poll.interval, std::chrono::minutes(2));
  EXPECT_EQ(orders.poll.timeout, std::chrono::seconds(20));
  EXPECT_EQ(orders.url, "http://erp.local/k3cloud/");
  const DestinationConfig& erp = c.destinations.at("erp");
  EXPECT_EQ(erp.type, DestinationConfig::Type::kConnector);
  EXPECT_EQ(erp.connector, "kingdee");
  EXPECT_EQ(erp.mapping, "kingdee/sal_saleorder.from_canon.yaml");
  EXPECT_EQ(erp.settings.at("operations").value, "save,submit,audit");
  EXPECT_EQ(erp.timeout, std::chrono::seconds(30));
}

TEST_F(ConfigTest, AuthAndEventIdBelongToTheGenericConnectorAndSettingsToPlugins) {
  EXPECT_THAT(Errors(R"(data_dir: ./var
sources:
  shop:
    connector: shopify
    mapping: shopify/orders_create.to_canon.yaml
    auth: { secret: s }
  web:
    connector: generic
    mapping: shopify/orders_create.to_canon.yaml
    settings: { secret: s }
  poller:
    connector: kingdee
    mapping: kingdee/sal_saleorder.to_canon.yaml
    poll: { interval: 500ms }
  Bad:
    connector: Kingdee!
    mapping: kingdee/sal_saleorder.to_canon.yaml
destinations:
  erp:
    type: connector
    headers: { X-A: b }
  f:
    type: file
    path: /tmp/f
    connector: kingdee
)"),
              ElementsAre("hub.yaml:6:5: sources.shop.auth: \"auth\" is only used with connector generic; "
                          "connector shopify checks requests itself and takes its secrets under settings:, "
                          "like settings: { secret: ${env:SHOPIFY_WEBHOOK_SECRET} }",
                          "hub.yaml:10:5: sources.web.settings: \"settings\" is for plugin connectors; "
                          "connector generic is configured with auth: and event_id:",
                          "hub.yaml:11:3: sources.poller.url: missing; expected the address of the system to "
                          "poll, like url: http://erp.example.local/k3cloud/",
                          "hub.yaml:14:23: sources.poller.poll.interval: expected an interval of at least 1s; got 500ms",
                          "hub.yaml:15:3: sources.Bad: expected a source name of lower-case letters, digits, \"_\" "
                          "and \"-\" (it becomes the URL /webhooks/<name>); got \"Bad\"",
                          "hub.yaml:16:16: sources.Bad.connector: expected a connector name of lower-case letters, "
                          "digits, \"_\" and \"-\"; got \"Kingdee!\"",
                          "hub.yaml:19:3: destinations.erp.connector: missing; expected the plugin connector that "
                          "delivers, like connector: kingdee",
                          "hub.yaml:19:3: destinations.erp.url: missing; expected the system's address, like url: "
                          "http://erp.example.local/k3cloud/",
                          "hub.yaml:21:5: destinations.erp.headers: \"headers\" is only used with type http; a "
                          "connector builds its own requests (set what it needs under settings:)",
                          "hub.yaml:25:5: destinations.f.connector: \"connector\" is only used with type connector; "
                          "this destination has type file"));
}

TEST_F(ConfigTest, ChecksAuthSettingsPerType) {
  EXPECT_THAT(
      Errors(R"(data_dir: ./var
sources:
  a:
    mapping: builtin:shopify.order
    auth: { type: bearer }
  b:
    mapping: builtin:shopify.order
    auth: { type: hmac, secret: s }
  c:
    mapping: builtin:shopify.order
    auth: { type: hmac_sha256, secret: s, token: t, encoding: b64 }
  d:
    mapping: builtin:shopify.order
    auth: { type: none, secret: s }
  e:
    mapping: builtin:shopify.order
    auth: { type: bearer, token: "" }
)"),
      ElementsAre("hub.yaml:5:5: sources.a.auth.token: missing; expected the token "
                  "senders put in \"Authorization: Bearer <token>\", like token: "
                  "${env:WEBSHOP_TOKEN}",
                  "hub.yaml:8:19: sources.b.auth.type: expected none, bearer or "
                  "hmac_sha256; got \"hmac\"; did you mean \"hmac_sha256\"?",
                  "hub.yaml:11:5: sources.c.auth.header: missing; expected the request "
                  "header that carries the signature, like header: X-Signature",
                  "hub.yaml:11:43: sources.c.auth.token: \"token\" is only used with type "
                  "bearer; this auth has type hmac_sha256",
                  "hub.yaml:11:63: sources.c.auth.encoding: expected hex or base64; got "
                  "\"b64\"",
                  "hub.yaml:14:25: sources.d.auth.secret: \"secret\" is only used with type "
                  "hmac_sha256; this auth has type none",
                  "hub.yaml:17:34: sources.e.auth.token: expected the token; got \"\""));
}

TEST_F(ConfigTest, ChecksEventIdSettings) {
  EXPECT_THAT(Errors(R"(data_dir: ./var
sources:
  a:
    mapping: builtin:shopify.order
    event_id: { field: id }
  b:
    mapping: builtin:shopify.order
    event_id: { field: "/a~2b" }
  c:
    mapping: builtin:shopify.order
    event_id: { header: "X Id" }
)"),
              ElementsAre("hub.yaml:5:24: sources.a.event_id.field: expected a JSON Pointer into "
                          "the body like /id or /order/id; got \"id\"",
                          "hub.yaml:8:24: sources.b.event_id.field: expected a JSON Pointer into "
                          "the body like /id or /order/id; got \"/a~2b\"",
                          "hub.yaml:11:25: sources.c.event_id.header: expected an HTTP header name "
                          "like X-Signature; got \"X Id\""));
}

TEST_F(ConfigTest, TakesTheEventIdFromAHeaderWithAFieldAsFallback) {
  const Config c = Load(R"(data_dir: ./var
sources:
  s:
    mapping: builtin:shopify.order
    event_id: { header: X-Id, field: /id }
)");
  EXPECT_EQ(c.sources.at("s").event_id_header, "X-Id");
  EXPECT_EQ(c.sources.at("s").event_id_field, "/id");
}

// --- destinations ---

TEST_F(ConfigTest, ChecksDestinationSettingsPerType) {
  EXPECT_THAT(Errors(R"(data_dir: ./var
destinations:
  a: { path: /tmp/a }
  b: { type: fiel, path: /tmp/b }
  c: { type: file, url: "http://x/" }
  d: { type: http, path: /tmp/d, url: "ftp://x/" }
  e: { type: http, url: "http:///path" }
  f: { type: http, url: "https://user:pw@erp/" }
  g: { type: http, url: "http://erp:99999/" }
)"),
              ElementsAre("hub.yaml:3:3: destinations.a.type: missing; expected file (append "
                          "events to a file), http (post them to a URL), connector (a plugin "
                          "connector such as kingdee builds the requests) or master (the master customer "
                          "record), like type: http",
                          "hub.yaml:4:14: destinations.b.type: expected file, http, connector or master; got "
                          "\"fiel\"; did you mean \"file\"?",
                          "hub.yaml:5:3: destinations.c.path: missing; expected the file to append "
                          "events to, like path: ${data_dir}/out/events.jsonl",
                          "hub.yaml:5:20: destinations.c.url: \"url\" is only used with type http; "
                          "this destination has type file",
                          "hub.yaml:6:20: destinations.d.path: \"path\" is only used with type "
                          "file; this destination has type http",
                          "hub.yaml:6:39: destinations.d.url: expected an http:// or https:// URL "
                          "with a host, like http://127.0.0.1:9000/events; got \"ftp://x/\"",
                          "hub.yaml:7:25: destinations.e.url: expected an http:// or https:// URL "
                          "with a host, like http://127.0.0.1:9000/events; got \"http:///path\"",
                          "hub.yaml:8:25: destinations.f.url: a user name or password in the URL "
                          "is not supported; send credentials with headers, e.g. headers: { "
                          "Authorization: \"Bearer ${env:ERP_TOKEN}\" }",
                          "hub.yaml:9:25: destinations.g.url: port 99999 is out of range 1-65535"));
}

TEST_F(ConfigTest, ChecksHttpHeaders) {
  EXPECT_THAT(Errors(R"(data_dir: ./var
destinations:
  erp:
    type: http
    url: http://127.0.0.1:9000/events
    headers:
      X-Ok: fine
      Bad Name: x
      Content-Length: "5"
      x-ok: again
      X-List: [a]
      X-Break: "a\r\nInjected: 1"
)"),
              ElementsAre("hub.yaml:8:7: destinations.erp.headers.Bad Name: expected an HTTP "
                          "header name like X-Api-Key; got \"Bad Name\"",
                          "hub.yaml:9:7: destinations.erp.headers.Content-Length: header "
                          "\"Content-Length\" is set by channelhub itself",
                          "hub.yaml:10:7: destinations.erp.headers.x-ok: header \"x-ok\" is "
                          "already set above (names ignore case)",
                          "hub.yaml:11:15: destinations.erp.headers.X-List: expected a header "
                          "value; got a list",
                          "hub.yaml:12:16: destinations.erp.headers.X-Break: expected a header "
                          "value on one line; this one has a line break"));
}

TEST_F(ConfigTest, ChecksRetryPolicies) {
  EXPECT_THAT(
      Errors(R"(data_dir: ./var
destinations:
  a:
    type: file
    path: /tmp/a
    retry: { initial: 0s, multiplier: 0.5 }
  b:
    type: file
    path: /tmp/b
    retry: { initial: 1m, max: 30s, max_age: 10s }
  c:
    type: file
    path: /tmp/c
    retry: { initial: 20m }
  d:
    type: file
    path: /tmp/d
    retry: { multiplier: two }
)"),
      ElementsAre("hub.yaml:6:23: destinations.a.retry.initial: expected a duration longer "
                  "than 0, like 10s; got \"0s\"",
                  "hub.yaml:6:39: destinations.a.retry.multiplier: expected a number of at "
                  "least 1, like 2 or 1.5; got \"0.5\"",
                  "hub.yaml:10:32: destinations.b.retry.max: expected at least initial "
                  "(1m); got \"30s\"",
                  "hub.yaml:10:46: destinations.b.retry.max_age: expected at least initial "
                  "(1m); got \"10s\"",
                  "hub.yaml:14:23: destinations.c.retry.initial: expected at most max (10m "
                  "by default); got \"20m\"",
                  "hub.yaml:18:26: destinations.d.retry.multiplier: expected a number of at "
                  "least 1, like 2 or 1.5; got \"two\""));
}

// --- routes ---

TEST_F(ConfigTest, RejectsRoutesToUnknownSourcesAndDestinations) {
  EXPECT_THAT(Errors(R"(data_dir: ./var
sources:
  webshop: { mapping: builtin:shopify.order }
destinations:
  archive: { type: file, path: /tmp/a }
  erp: { type: http, url: "http://127.0.0.1:9000/" }
routes:
  - from: [webshp, webshop, webshop]
    types: [order.*]
    to: [archive, ar1chive]
)"),
              ElementsAre("hub.yaml:8:12: routes[0].from[0]: unknown source \"webshp\" "
                          "(configured: webshop)",
                          "hub.yaml:8:29: routes[0].from[2]: \"webshop\" is listed twice",
                          "hub.yaml:10:19: routes[0].to[1]: unknown destination \"ar1chive\" "
                          "(configured: archive, erp)"));
}

TEST_F(ConfigTest, RejectsRoutesWhenNothingIsConfigured) {
  EXPECT_THAT(Errors("data_dir: ./var\nroutes:\n  - { from: [a], types: [\"*\"], to: [b] }\n"),
              ElementsAre("hub.yaml:3:14: routes[0].from[0]: unknown source \"a\" (no sources are "
                          "configured)",
                          "hub.yaml:3:37: routes[0].to[0]: unknown destination \"b\" (no "
                          "destinations are configured)"));
}

TEST_F(ConfigTest, RequiresNonEmptyRouteLists) {
  EXPECT_THAT(Errors(std::string(kBase) + "  - from: []\n    types:\n"),
              ElementsAre("hub.yaml:14:5: routes[1].to: missing; expected a list of destination "
                          "names like [archive]",
                          "hub.yaml:14:11: routes[1].from: expected at least one source name; use "
                          "a list like [webshop] or [\"*\"]",
                          "hub.yaml:15:5: routes[1].types: expected at least one event type "
                          "pattern; use a list like [\"order.*\", \"customer.*\"]"));
}

TEST_F(ConfigTest, ReportsAnEmptyRouteOnce) {
  EXPECT_THAT(Errors("data_dir: ./var\nroutes:\n  -\n  - 5\n"),
              ElementsAre("hub.yaml:3:3: routes[0]: expected a route like {from: [webshop], types: "
                          "[\"order.*\"], to: [archive]}; got nothing",
                          "hub.yaml:4:5: routes[1]: expected a map of settings (from, types, to); "
                          "got \"5\""));
}

TEST_F(ConfigTest, ChecksEventTypePatterns) {
  EXPECT_THAT(Errors(R"(data_dir: ./var
sources:
  s: { mapping: builtin:shopify.order }
destinations:
  d: { type: file, path: /tmp/d }
routes:
  - from: [s]
    to: [d]
    types:
      - com.channelhub.order.*
      - order
      - ord*
      - "order..x"
      - invoice.*
      - "*.upserted"
      - stock.level_changed
)"),
              ElementsAre("hub.yaml:10:9: routes[0].types[0]: expected an event type pattern like "
                          "\"order.*\", \"customer.upserted\" or \"*\"; got "
                          "\"com.channelhub.order.*\" (leave out the \"com.channelhub.\" prefix)",
                          "hub.yaml:11:9: routes[0].types[1]: expected an event type pattern like "
                          "\"order.*\", \"customer.upserted\" or \"*\"; got \"order\" (it names no "
                          "event; \"order.*\" means all order events)",
                          "hub.yaml:12:9: routes[0].types[2]: expected an event type pattern like "
                          "\"order.*\", \"customer.upserted\" or \"*\"; got \"ord*\"",
                          "hub.yaml:13:9: routes[0].types[3]: expected an event type pattern like "
                          "\"order.*\", \"customer.upserted\" or \"*\"; got \"order..x\"",
                          "hub.yaml:14:9: routes[0].types[4]: unknown entity \"invoice\" in "
                          "\"invoice.*\"; expected order, customer, stock or *"));
}

// --- substitution, secrets and overrides ---

TEST_F(ConfigTest, ResolvesEnvironmentSecrets) {
  ::setenv("CHUB_TEST_TOKEN", "t0k3n", 1);
  ::setenv("CHUB_TEST_URL", "http://10.0.0.5:9000/in", 1);
  const Config c = Load(R"(data_dir: ./var
sources:
  s:
    mapping: builtin:shopify.order
    auth: { type: bearer, token: "${env:CHUB_TEST_TOKEN}" }
destinations:
  erp:
    type: http
    url: ${env:CHUB_TEST_URL}
    headers: { Authorization: "Bearer ${env:CHUB_TEST_TOKEN}" }
)");
  EXPECT_EQ(c.sources.at("s").auth.token_sha256, Sha256Hex("t0k3n"));
  EXPECT_EQ(c.destinations.at("erp").url, "http://10.0.0.5:9000/in");
  EXPECT_EQ(c.destinations.at("erp").headers.at("Authorization"), "Bearer t0k3n");
}

TEST_F(ConfigTest, NamesTheKeyAndVariableOfAMissingSecret) {
  ::setenv("CHUB_TEST_SECRET", "", 1);
  EXPECT_THAT(Errors(R"(data_dir: ./var
sources:
  s:
    mapping: builtin:shopify.order
    auth:
      type: hmac_sha256
      header: X-Sig
      secret: ${env:CHUB_TEST_SECRET}
  t:
    mapping: builtin:shopify.order
    auth: { type: bearer, token: "${env:CHUB_TEST_TOKEN}" }
)"),
              ElementsAre("hub.yaml:8:15: sources.s.auth.secret: environment variable "
                          "CHUB_TEST_SECRET is empty (used as ${env:CHUB_TEST_SECRET})",
                          "hub.yaml:11:34: sources.t.auth.token: environment variable "
                          "CHUB_TEST_TOKEN is not set (used as ${env:CHUB_TEST_TOKEN})"));
}

TEST_F(ConfigTest, NeverShowsTheValueOfASecret) {
  ::setenv("CHUB_TEST_URL", "ftp://user:TOPSECRET@erp/", 1);
  ::setenv("CHUB_TEST_TIMEOUT", "TOPSECRET", 1);
  const std::vector<std::string> errors = Errors(R"(data_dir: ./var
destinations:
  erp:
    type: http
    url: ${env:CHUB_TEST_URL}
    timeout: ${env:CHUB_TEST_TIMEOUT}
)");
  EXPECT_THAT(errors, ElementsAre("hub.yaml:5:10: destinations.erp.url: expected an http:// or "
                                  "https:// URL with a host, like http://127.0.0.1:9000/events; "
                                  "got \"${env:CHUB_TEST_URL}\"",
                                  "hub.yaml:6:14: destinations.erp.timeout: expected a duration "
                                  "like 500ms, 10s, 5m, 1h; got \"${env:CHUB_TEST_TIMEOUT}\""));
  for (const std::string& e : errors) EXPECT_THAT(e, Not(HasSubstr("TOPSECRET")));
}

TEST_F(ConfigTest, ReadsFileSecretsTrimmedAndRelativeToTheConfig) {
  Write("secret", "abc\n");
  const std::string absolute = Write("token", "xyz \n\n");
  const Config c = Load(R"(data_dir: ./var
sources:
  s:
    mapping: builtin:shopify.order
    auth: { type: hmac_sha256, header: X-Sig, secret: "${file:secret}" }
  t:
    mapping: builtin:shopify.order
    auth: { type: bearer, token: "${file:)" +
                        absolute + R"(}" }
)");
  EXPECT_EQ(c.sources.at("s").auth.secret, "abc");
  EXPECT_EQ(c.sources.at("t").auth.token_sha256, Sha256Hex("xyz"));
}

TEST_F(ConfigTest, ReportsUnreadableFileSecretsWithTheReason) {
  EXPECT_THAT(Errors(R"(data_dir: ./var
sources:
  s:
    mapping: builtin:shopify.order
    auth: { type: bearer, token: "${file:/nonexistent/chub/token}" }
)"),
              ElementsAre("hub.yaml:5:34: sources.s.auth.token: cannot read "
                          "${file:/nonexistent/chub/token}: No such file or directory"));
}

TEST_F(ConfigTest, SubstitutesDataDir) {
  ::setenv("CHUB_TEST_DIR", "/srv/chub", 1);
  const Config c = Load(R"(data_dir: ${env:CHUB_TEST_DIR}/
destinations:
  a: { type: file, path: "${data_dir}/out/a.jsonl" }
  b: { type: file, path: "cost: $${data_dir}" }
)");
  EXPECT_EQ(c.data_dir, "/srv/chub");
  EXPECT_EQ(c.destinations.at("a").path, "/srv/chub/out/a.jsonl");
  EXPECT_EQ(c.destinations.at("b").path, "cost: ${data_dir}");
}

TEST_F(ConfigTest, RejectsDataDirInDataDirAndUnknownSubstitutions) {
  EXPECT_THAT(Errors(R"(data_dir: ${data_dir}/x
destinations:
  a: { type: file, path: "${foo}/a" }
  b: { type: file, path: "${datadir}/b" }
)"),
              ElementsAre("hub.yaml:1:11: data_dir: ${data_dir} cannot be used in data_dir itself",
                          "hub.yaml:3:26: destinations.a.path: unknown substitution \"${foo}\"; "
                          "expected ${env:NAME}, ${file:/path} or ${data_dir}",
                          "hub.yaml:4:26: destinations.b.path: unknown substitution "
                          "\"${datadir}\"; expected ${env:NAME}, ${file:/path} or ${data_dir}; did "
                          "you mean ${data_dir}?"));
}

TEST_F(ConfigTest, ShowsWhatDataDirBecameInMessages) {
  EXPECT_THAT(Errors("data_dir: ./var\nlisten: ${data_dir}\n"),
              ElementsAre("hub.yaml:2:9: listen: expected HOST:PORT like 127.0.0.1:8080; got "
                          "\"${data_dir}\" (that is \"./var\")"));
}

TEST_F(ConfigTest, OverridesReplaceListenAndDataDir) {
  Overrides overrides;
  overrides.listen = "0.0.0.0:0";
  overrides.data_dir = "/tmp/elsewhere";
  const Config c = Load(kBase, overrides);
  EXPECT_EQ(c.server.listen.host, "0.0.0.0");
  EXPECT_EQ(c.server.listen.port, 0);
  EXPECT_EQ(c.data_dir, "/tmp/elsewhere");
  EXPECT_EQ(c.destinations.at("archive").path, "/tmp/elsewhere/out/events.jsonl");
}

TEST_F(ConfigTest, OverridesAreAppliedBeforeTheCheck) {
  Overrides overrides;
  overrides.listen = "127.0.0.1:9999";
  overrides.data_dir = "./v";
  // Neither the missing data_dir nor the bad listen of the file is reported.
  const Config c = Load("listen: nonsense\n", overrides);
  EXPECT_EQ(c.data_dir, "./v");
  EXPECT_EQ(c.server.listen.port, 9999);
}

TEST_F(ConfigTest, ReportsBadOverridesWithoutALine) {
  Overrides overrides;
  overrides.listen = "9000";
  overrides.data_dir = "";
  LoadResult r = LoadConfig(Write("hub.yaml", kBase), overrides);
  ASSERT_EQ(r.diagnostics.size(), 2u);
  EXPECT_EQ(r.diagnostics[0].line, 0);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            dir_ + "/hub.yaml: data_dir: the data directory given on the command line is empty");
  EXPECT_EQ(r.diagnostics[1].ToString(),
            dir_ +
                "/hub.yaml: listen: expected HOST:PORT like 127.0.0.1:8080; got \"9000\" (the "
                "port is missing) (given on the command line)");
}

TEST_F(ConfigTest, DiagnosticsCarryFileLineColumnAndKey) {
  const std::string path = Write("hub.yaml", "data_dir: ./var\nserver:\n  threads: many\n");
  LoadResult r = LoadConfig(path);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  const Diagnostic& d = r.diagnostics[0];
  EXPECT_EQ(d.file, path);
  EXPECT_EQ(d.line, 3);
  EXPECT_EQ(d.column, 12);
  EXPECT_EQ(d.key, "server.threads");
  EXPECT_EQ(d.message, "expected a whole number from 0 to 1024; got \"many\"");
  EXPECT_FALSE(r.config.has_value());
}

TEST_F(ConfigTest, ValidConfigHasNoDiagnostics) {
  LoadResult r = LoadConfig(Write("hub.yaml", kBase));
  EXPECT_THAT(r.diagnostics, IsEmpty());
  ASSERT_TRUE(r.config.has_value());
  EXPECT_EQ(r.config->file, dir_ + "/hub.yaml");
}

}  // namespace
}  // namespace channelhub::config

namespace channelhub::config {
namespace {

constexpr const char* kMasterBase = R"(data_dir: ./var
sources:
  erp: { mapping: builtin:canonical.customer }
destinations:
  golden: { type: master }
  kingdee_out: { type: file, path: /tmp/k.jsonl, system: kingdee }
routes:
  - { from: [erp], types: ["customer.*"], to: [golden] }
  - { from: [master], types: [customer.golden.updated], to: [kingdee_out] }
)";

TEST_F(ConfigTest, ReadsTheMasterRecordSection) {
  Config c = Load(std::string(kMasterBase) + R"(master:
  path: ${data_dir}/golden.db
  wecom_corp: ww0123
  match:
    threshold: 9
    review_threshold: 4.5
    deterministic: { same_unionid: false }
    comparisons:
      name: { method: jaro_winkler, levels: [[0.95, 6], [0.85, 2]], else: -4 }
    blocking: [[mobile], [name_key, district]]
  survivorship:
    default: most_frequent
    name: { rule: source_priority, sources: [kingdee, shopify] }
    mobiles: most_recent
)");
  EXPECT_EQ(c.master_destination, "golden");
  EXPECT_EQ(c.destinations.at("kingdee_out").system, "kingdee");
  EXPECT_EQ(c.destinations.at("golden").type, DestinationConfig::Type::kMaster);
  EXPECT_EQ(c.master.path, "./var/golden.db");
  EXPECT_EQ(c.master.wecom_corp, "ww0123");
  EXPECT_EQ(c.master.match_threshold, 9.0);
  EXPECT_EQ(c.master.review_threshold, 4.5);
  EXPECT_FALSE(c.master.deterministic.at("same_unionid"));
  ASSERT_EQ(c.master.comparisons.at("name").levels.size(), 2u);
  EXPECT_EQ(c.master.comparisons.at("name").levels[0], (std::pair<double, double>{0.95, 6}));
  EXPECT_EQ(c.master.comparisons.at("name").else_weight, -4.0);
  EXPECT_EQ(c.master.blocking.size(), 2u);
  EXPECT_EQ(c.master.default_rule, "most_frequent");
  EXPECT_EQ(c.master.survivorship.at("name").sources, (std::vector<std::string>{"kingdee", "shopify"}));
  EXPECT_EQ(c.master.survivorship.at("mobiles").rule, "most_recent");
}

TEST_F(ConfigTest, MasterRecordDefaultsAndSystems) {
  Config c = Load(kMasterBase);
  EXPECT_EQ(c.master.path, "./var/master.db");
  EXPECT_EQ(c.destinations.at("golden").system, "golden") << "a destination's system defaults to its name";
}

TEST_F(ConfigTest, ChecksTheMasterRecordSection) {
  EXPECT_THAT(Errors(std::string(kMasterBase) + R"(master:
  match:
    threshold: 3
    review_threshold: 5
    comparisons:
      nmae: { method: exact }
      address: { method: fuzzy, levels: [[0.8, 1], [0.9, 2]] }
    blocking: [[mobile], [town]]
  survivorship:
    name: { rule: source_priority }
    tier: union
    colour: most_recent
)"),
              ElementsAre(
                  "hub.yaml:13:23: master.match.review_threshold: expected a review threshold at or below the match "
                  "threshold (3)",
                  HasSubstr("master.match.comparisons.nmae: unknown key \"nmae\""),
                  HasSubstr("master.match.comparisons.address.method: expected exact, jaro_winkler, edit or name; got "
                            "\"fuzzy\""),
                  HasSubstr("master.match.comparisons.address.levels[1][0]: expected levels with the highest similarity "
                            "first"),
                  HasSubstr("master.match.blocking[1][0]: expected a blocking field"),
                  HasSubstr("master.survivorship.name.rule: source_priority needs the systems in order of trust"),
                  HasSubstr("master.survivorship.tier: union is for list attributes"),
                  HasSubstr("master.survivorship.colour: unknown key")));
  EXPECT_THAT(Errors(R"(data_dir: ./var
sources:
  master: { mapping: builtin:canonical.customer }
destinations:
  a: { type: master }
  b: { type: master }
routes:
  - { from: [master], types: ["*"], to: [a] }
master: {}
)"),
              ElementsAre(HasSubstr("sources.master: \"master\" is reserved"),
                          HasSubstr("destinations.b: only one destination can have type master; \"a\" has it already")));
  EXPECT_THAT(Errors(R"(data_dir: ./var
sources:
  erp: { mapping: builtin:canonical.customer }
destinations:
  out: { type: file, path: /tmp/o.jsonl }
routes:
  - { from: [master], types: ["*"], to: [out] }
master: {}
)"),
              ElementsAre(HasSubstr("routes[0].from[0]: \"master\" (golden-record changes) needs a destination of type master"),
                          HasSubstr("master: the master record is configured but no destination has type master")));
}

}  // namespace
}  // namespace channelhub::config
