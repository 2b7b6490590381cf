// `channelhub check` and `channelhub serve` with good and bad configurations: the error text is
// the product ("FILE:LINE:COLUMN: key: message").

#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/harness.hpp"

namespace channelhub::e2e {
namespace {

constexpr char kGoodConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
sources:
  webshop:
    connector: generic
    mapping: builtin:shopify.order
    auth: { type: hmac_sha256, secret: "s3cret", header: X-Signature, encoding: hex, prefix: "sha256=" }
    event_id: { header: X-Event-Id }
  dealer:
    connector: generic
    mapping: builtin:canonical.order
    auth: { type: bearer, token: abc }
    event_id: { field: /order_no }
  crm:
    connector: generic
    mapping: builtin:canonical.customer
destinations:
  archive:   # block style: "{" in ${data_dir} is a flow indicator inside { ... }
    type: file
    path: ${data_dir}/out/events.jsonl
  erp:
    type: http
    url: http://127.0.0.1:9/events
    timeout: 2s
    retry: { initial: 100ms, max: 1s, max_age: 1h, multiplier: 2 }
routes:
  - { from: [webshop, dealer], types: ["order.*", "customer.*"], to: [archive, erp] }
  - { from: [crm], types: ["customer.*"], to: [archive] }
)";

// The 1-based line of the first line containing "marker".
int LineOf(const std::string& text, const std::string& marker) {
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find(marker) != std::string::npos) return n;
  }
  return 0;
}

// The lines of "err" that start with "<file>:<line>:".
std::vector<std::string> DiagnosticsAt(const std::string& err, const std::string& file, int line) {
  std::vector<std::string> found;
  const std::string prefix = file + ":" + std::to_string(line) + ":";
  std::istringstream in(err);
  for (std::string l; std::getline(in, l);) {
    if (l.rfind(prefix, 0) == 0) found.push_back(l);
  }
  return found;
}

class CliE2E : public HubTest {};

TEST_F(CliE2E, CheckAcceptsAGoodConfig) {
  const std::string path = WriteConfig(kGoodConfig);
  RunResult r = RunChannelhub({"check", "--config", path}, tmp_.path());
  EXPECT_TRUE(r.status.Succeeded()) << r.status.ToString() << "\nstderr:\n" << r.err << "\nstdout:\n" << r.out;
}

TEST_F(CliE2E, CheckRejectsAMissingFile) {
  const std::string path = tmp_.Join("nope.yaml");
  RunResult r = RunChannelhub({"check", "--config", path}, tmp_.path());
  EXPECT_TRUE(r.status.exited && r.status.code != 0) << r.status.ToString();
  EXPECT_NE(r.err.find("nope.yaml"), std::string::npos) << r.err;
}

// One bad configuration: the line marked "# <-" is where the diagnostic must point, and the
// diagnostic must mention "needle".
struct BadCase {
  const char* name;
  const char* yaml;
  const char* needle;
  int column;  // expected 1-based column of the diagnostic, 0 = not checked
};

// Names the case in test output and ctest listings instead of dumping its bytes.
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class CheckRejects : public HubTest, public ::testing::WithParamInterface<BadCase> {};

TEST_P(CheckRejects, WithFileLineColumnKeyMessage) {
  const BadCase& c = GetParam();
  const std::string yaml = c.yaml;
  const std::string path = WriteConfig(yaml);
  const int line = LineOf(yaml, "# <-");
  ASSERT_GT(line, 0);

  RunResult r = RunChannelhub({"check", "--config", path}, tmp_.path());
  EXPECT_TRUE(r.status.exited) << r.status.ToString();
  EXPECT_EQ(r.status.code, 2) << "stderr:\n" << r.err;

  auto at_line = DiagnosticsAt(r.err, path, line);
  ASSERT_FALSE(at_line.empty()) << "no diagnostic starting with " << path << ":" << line << ": in stderr:\n" << r.err;
  bool mentions = false;
  for (const auto& d : at_line) mentions = mentions || d.find(c.needle) != std::string::npos;
  EXPECT_TRUE(mentions) << "no diagnostic at line " << line << " mentions '" << c.needle << "':\n" << r.err;
  if (c.column > 0) {
    const std::string with_column = path + ":" + std::to_string(line) + ":" + std::to_string(c.column) + ":";
    EXPECT_EQ(at_line[0].rfind(with_column, 0), 0u) << "expected column " << c.column << ": " << at_line[0];
  }
}

INSTANTIATE_TEST_SUITE_P(
    CliE2E, CheckRejects,
    ::testing::Values(
        BadCase{"UnknownSourceKey", R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
sources:
  webshop:
    connector: generic
    mapping: builtin:shopify.order
    colour: red   # <-
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [webshop], types: ["order.*"], to: [archive] }
)", "colour", 5},
        BadCase{"UnknownTopLevelKey", R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
listn: 127.0.0.1:1   # <-
sources:
  webshop: { connector: generic, mapping: builtin:shopify.order }
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [webshop], types: ["order.*"], to: [archive] }
)", "listn", 1},
        BadCase{"RouteToUnknownDestination", R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
sources:
  webshop: { connector: generic, mapping: builtin:shopify.order }
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [webshop], types: ["order.*"], to: [archive, nowhere] }   # <-
)", "nowhere", 0},
        BadCase{"RouteFromUnknownSource", R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
sources:
  webshop: { connector: generic, mapping: builtin:shopify.order }
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [webshop, nosuchsource], types: ["order.*"], to: [archive] }   # <-
)", "nosuchsource", 0},
        BadCase{"UnknownMapping", R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
sources:
  webshop:
    connector: generic
    mapping: builtin:shopify.orderz   # <-
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [webshop], types: ["order.*"], to: [archive] }
)", "mapping", 0},
        BadCase{"BadDuration", R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
sources:
  webshop: { connector: generic, mapping: builtin:shopify.order }
destinations:
  erp:
    type: http
    url: http://127.0.0.1:9/events
    timeout: two seconds   # <-
routes:
  - { from: [webshop], types: ["order.*"], to: [erp] }
)", "timeout", 0},
        BadCase{"UnknownAuthType", R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
sources:
  webshop:
    connector: generic
    mapping: builtin:shopify.order
    auth: { type: hmac_md5, secret: "x", header: X-Sig }   # <-
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [webshop], types: ["order.*"], to: [archive] }
)", "auth", 0}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

TEST_F(CliE2E, CheckReportsEveryProblemInFileOrder) {
  const std::string yaml = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
sources:
  webshop:
    connector: generic
    mapping: builtin:shopify.order
    colour: red
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [webshop], types: ["order.*"], to: [archive, nowhere] }
)";
  const std::string path = WriteConfig(yaml);
  RunResult r = RunChannelhub({"check", "--config", path}, tmp_.path());
  EXPECT_EQ(r.status.code, 2) << r.status.ToString() << "\n" << r.err;
  const std::size_t first = r.err.find(path + ":7:");
  const std::size_t second = r.err.find(path + ":11:");
  ASSERT_NE(first, std::string::npos) << r.err;
  ASSERT_NE(second, std::string::npos) << "only the first problem was reported:\n" << r.err;
  EXPECT_LT(first, second) << "diagnostics are not in file order:\n" << r.err;
}

TEST_F(CliE2E, ServeRefusesABadConfigAndListensNowhere) {
  const std::string yaml = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
sources:
  webshop:
    connector: generic
    mapping: builtin:shopify.order
    colour: red
destinations:
  archive: { type: file, path: @DIR@/out/events.jsonl }
routes:
  - { from: [webshop], types: ["order.*"], to: [archive] }
)";
  const std::string path = WriteConfig(yaml);
  const uint16_t port = PickFreePort();
  ASSERT_NE(port, 0);
  const std::string ready = tmp_.Join("ready.bad");
  HubProcess hub(tmp_.Join("serve-bad.log"), ready);
  Status spawned = hub.Spawn(path, {"--listen", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(spawned.ok()) << spawned.ToString();

  ExitStatus e = hub.WaitExit(Millis(20000));
  EXPECT_FALSE(e.timed_out) << "serve kept running with a bad config; log:\n" << hub.Log();
  EXPECT_TRUE(e.exited && e.code != 0) << e.ToString() << "; log:\n" << hub.Log();
  EXPECT_TRUE(ReadFile(ready).empty()) << "a ready file was written";
  EXPECT_FALSE(IsListening(port)) << "something listens on 127.0.0.1:" << port;
  EXPECT_FALSE(DiagnosticsAt(hub.Log(), path, 7).empty()) << "serve should print the check's diagnostics:\n"
                                                          << hub.Log();
}

}  // namespace
}  // namespace channelhub::e2e
