// Out-of-process connectors: the real binary and the Python example connector
// (plugins/examples/remote_connector.py, over ZeroMQ ROUTER/DEALER). A partner keeps posting
// orders through the connector while the connector process is SIGKILLed mid-flow and started
// again: the hub stays up, answers 503 while it is gone, takes it back on its HELLO, and every
// order it acknowledged reaches the ERP (through the connector's delivery) and the archive.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fcntl.h>
#include <set>
#include <string>
#include <thread>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/payloads.hpp"

extern char** environ;

namespace channelhub::e2e {
namespace {

const std::string kScript = std::string(CHUB_SOURCE_DIR) + "/plugins/examples/remote_connector.py";
constexpr char kPython[] = "/usr/bin/python3";  // Debian's, with python3-zmq

constexpr char kConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
remote_connectors:
  endpoint: tcp://127.0.0.1:*
  call_timeout: 2s
  heartbeat_timeout: 1s
  connectors:
    portal:
      description: the Python example
      can: [inbound, outbound]
      settings: [token, path]
admin:
  listen: 127.0.0.1:0
  tokens:
    - { name: ops, role: viewer, token: "${file:@DIR@/viewer.token}" }
sources:
  portal:
    connector: portal
    settings: { token: portal-s3cret }
    mapping: builtin:canonical.order
destinations:
  erp:
    type: connector
    connector: portal
    url: @URL@
    timeout: 2s
    settings: { token: erp-s3cret, path: /api/orders }
    retry: { initial: 50ms, max: 300ms, max_age: 1h }
  archive: { type: file, path: @DIR@/out/orders.jsonl }
routes:
  - { from: [portal], types: ["order.*"], to: [erp, archive] }
)";

// A child process (the Python connector). SIGKILLed and reaped on destruction.
class Child {
 public:
  Child() = default;
  ~Child() { Kill(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool Start(const std::vector<std::string>& args, const std::string& log) {
    std::vector<std::string> storage = args;
    std::vector<char*> argv;
    for (auto& a : storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    return rc == 0;
  }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    Wait();
  }
  int Wait() {
    int ws = 0;
    while (::waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
  }
  bool running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
};

bool HavePythonZmq() {
  return std::system("/usr/bin/python3 -c 'import zmq' >/dev/null 2>&1") == 0;
}

class RemoteE2E : public HubTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(HavePythonZmq()) << "python3-zmq is missing: scripts/setup.sh installs it";
    ASSERT_TRUE(erp_.ok());
    WriteFile(tmp_.Join("viewer.token"), "viewer-token-0123456789\n");
    endpoint_file_ = tmp_.Join("connectors.endpoint");
    ASSERT_NO_FATAL_FAILURE(
        StartHub(WriteConfig(Replace(kConfig, "@URL@", erp_.Url("/"))), {"--connectors-ready-file", endpoint_file_,
                                                                        "--admin-ready-file", tmp_.Join("admin.ready")}));
    ASSERT_TRUE(WaitFor([&] { return !ReadFile(endpoint_file_).empty(); }, Millis(5000)));
    endpoint_ = ReadFile(endpoint_file_);
    while (!endpoint_.empty() && (endpoint_.back() == '\n' || endpoint_.back() == ' ')) endpoint_.pop_back();
    ASSERT_TRUE(endpoint_.starts_with("tcp://127.0.0.1:")) << endpoint_;
  }

  bool StartConnector(Child* c, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {kPython, kScript, "--endpoint", endpoint_};
    args.insert(args.end(), extra.begin(), extra.end());
    return c->Start(args, tmp_.Join("connector.log"));
  }

  Result<HttpResponse> PostOrders(const std::vector<std::string>& order_nos, const std::string& token = "portal-s3cret") {
    std::string body = "{\"orders\":[";
    for (std::size_t i = 0; i < order_nos.size(); ++i) body += (i ? "," : "") + CanonicalOrderJson(order_nos[i]);
    body += "]}";
    HttpRequest r;
    r.method = "POST";
    r.target = "/webhooks/portal";
    r.headers = {{"Content-Type", "application/json"}, {"X-Portal-Token", token}};
    r.body = body;
    return HttpCall(port(), r);
  }

  // Posts until the hub acknowledges (a partner retrying on 503), at most "timeout".
  bool PostUntilAcked(const std::string& order_no, std::atomic<int>* unavailable, Millis timeout = Millis(15000)) {
    return WaitFor([&] {
      auto r = PostOrders({order_no});
      if (r.ok() && r->status == 503) ++*unavailable;
      return r.ok() && r->status == 200;
    }, timeout, Millis(50));
  }

  uint16_t AdminPort() {
    std::string a = ReadFile(tmp_.Join("admin.ready"));
    return static_cast<uint16_t>(std::stoi(a.substr(a.rfind(':') + 1)));
  }

  std::string Metrics() {
    HttpRequest r;
    r.method = "GET";
    r.target = "/metrics";
    r.headers = {{"Authorization", "Bearer viewer-token-0123456789"}};
    auto m = HttpCall(AdminPort(), r);
    return m.ok() ? m->body : std::string();
  }

  FakeHttpServer erp_;
  std::string endpoint_file_;
  std::string endpoint_;
};

TEST_F(RemoteE2E, ConnectorKilledMidFlowLosesNothingAndComesBack) {
  // Before any connector process: the partner is told to come back later, nothing is kept.
  auto early = PostOrders({"SO-EARLY"});
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->status, 503) << early->body;
  EXPECT_EQ(early->Header("Retry-After").value_or(""), "5");

  Child connector;
  ASSERT_TRUE(StartConnector(&connector, {"--delay-ms", "5"}));
  std::atomic<int> unavailable{0};
  ASSERT_TRUE(PostUntilAcked("SO-0", &unavailable)) << ReadFile(tmp_.Join("connector.log"));

  // The connector's own checks run in the connector.
  auto refused = PostOrders({"SO-BAD"}, "wrong");
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 401);
  auto malformed = PostOrders({});
  ASSERT_TRUE(malformed.ok());
  EXPECT_EQ(malformed->status, 200);  // an empty list is fine: nothing to keep

  // A partner posting without pause; the connector is SIGKILLed and restarted meanwhile.
  constexpr int kOrders = 60;
  std::set<std::string> acked = {"SO-0"};
  std::atomic<bool> failed{false};
  std::atomic<int> acked_count{0};
  std::thread partner([&] {
    for (int i = 1; i <= kOrders; ++i) {
      const std::string no = "SO-" + std::to_string(i);
      if (!PostUntilAcked(no, &unavailable)) {
        failed = true;
        return;
      }
      acked.insert(no);
      ++acked_count;
    }
  });
  // Mid-flow, whatever the machine's speed: after the tenth order, calls in flight get no answer.
  EXPECT_TRUE(WaitFor([&] { return acked_count.load() >= 10 || failed.load(); }, Millis(15000)));
  connector.Kill();
  std::this_thread::sleep_for(Millis(1800));  // past the heartbeat timeout: the hub says it is gone
  Child again;
  ASSERT_TRUE(StartConnector(&again));
  partner.join();
  ASSERT_FALSE(failed) << "an order was never acknowledged\n" << hub().Log();
  EXPECT_GT(unavailable.load(), 0) << "no request met the gap (the kill came too late?)";

  // Every acknowledged order reaches the archive once, and the ERP through the connector's
  // delivery (with the connector's headers).
  ASSERT_TRUE(WaitForLines(tmp_.Join("out/orders.jsonl"), acked.size()));
  std::set<std::string> at_erp;
  ASSERT_TRUE(WaitFor([&] {
    at_erp.clear();
    for (const auto& r : erp_.Requests()) {
      if (r.replied_status == 200 && r.Header("Idempotency-Key")) at_erp.insert(*r.Header("Idempotency-Key"));
    }
    return at_erp.size() >= acked.size();
  }, kDeliveryTimeout)) << at_erp.size() << " of " << acked.size();
  std::set<std::string> expected;
  for (const auto& no : acked) expected.insert("portal-" + no + ":0");  // the first canonical event of the payload
  EXPECT_EQ(at_erp, expected);
  const auto requests = erp_.Requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.front().Header("Authorization").value_or(""), "Bearer erp-s3cret");
  EXPECT_EQ(requests.front().target, "/api/orders");
  // A delivery whose verdict was lost with the process is sent again (with the same
  // Idempotency-Key): at most one per delivery lane in flight at the kill.
  EXPECT_LE(requests.size(), acked.size() + 4);
  const std::string archive = ReadFile(tmp_.Join("out/orders.jsonl"));
  EXPECT_EQ(static_cast<std::size_t>(std::count(archive.begin(), archive.end(), '\n')), acked.size());

  // The hub noticed, reported and took the connector back.
  const std::string log = hub().Log();
  EXPECT_NE(log.find("remote connector portal connected"), std::string::npos) << log;
  // Gone: noticed by the heartbeat, or at once when a send finds its connection closed.
  EXPECT_TRUE(log.find("has been silent") != std::string::npos || log.find("cannot be reached") != std::string::npos)
      << log;
  EXPECT_NE(log.find("remote connector portal reconnected"), std::string::npos) << log;
  const std::string m = Metrics();
  EXPECT_NE(m.find("channelhub_remote_connector_up{connector=\"portal\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("channelhub_remote_connector_connects_total{connector=\"portal\"} 2"), std::string::npos) << m;
  EXPECT_TRUE(hub().running());
}

TEST_F(RemoteE2E, UndeclaredConnectorIsRefusedWithTheReason) {
  Child stranger;
  ASSERT_TRUE(StartConnector(&stranger, {"--name", "stranger"}));
  EXPECT_EQ(stranger.Wait(), 2);
  const std::string said = ReadFile(tmp_.Join("connector.log"));
  EXPECT_NE(said.find("not declared under remote_connectors.connectors"), std::string::npos) << said;
  EXPECT_NE(said.find("declared: portal"), std::string::npos) << said;
  EXPECT_TRUE(hub().running());
}

TEST_F(RemoteE2E, APeerThatSendsAnEmptyDelimiterFrameIsAnsweredTheSameWay) {
  // Many ZeroMQ examples put an empty frame first (REQ style); the hub accepts and mirrors it.
  const std::string script = tmp_.Join("delimited.py");
  WriteFile(script, R"(import json, os, sys, zmq
s = zmq.Context().socket(zmq.DEALER)
s.connect(sys.argv[1])
s.send_multipart([b"", b"HELLO", json.dumps({"connector": "portal", "pid": os.getpid()}).encode()])
if not s.poll(5000):
    sys.exit("no answer")
frames = s.recv_multipart()
print(frames[0] == b"" and frames[1] == b"WELCOME" and "heartbeat_ms" in json.loads(frames[2]))
)");
  Child peer;
  ASSERT_TRUE(peer.Start({kPython, script, endpoint_}, tmp_.Join("delimited.log")));
  EXPECT_EQ(peer.Wait(), 0) << ReadFile(tmp_.Join("delimited.log"));
  EXPECT_NE(ReadFile(tmp_.Join("delimited.log")).find("True"), std::string::npos) << ReadFile(tmp_.Join("delimited.log"));
  EXPECT_NE(hub().Log().find("remote connector portal connected"), std::string::npos) << hub().Log();
}

TEST_F(RemoteE2E, AReloadKeepsTheLinkedConnector) {
  Child connector;
  ASSERT_TRUE(StartConnector(&connector));
  std::atomic<int> unavailable{0};
  ASSERT_TRUE(PostUntilAcked("SO-R1", &unavailable));
  // The same file again (SIGHUP): a new generation, the same link; the process stays linked.
  ASSERT_EQ(::kill(hub().pid(), SIGHUP), 0);
  ASSERT_TRUE(WaitFor([&] { return hub().Log().find("configuration reloaded") != std::string::npos; }, Millis(10000)))
      << hub().Log();
  auto r = PostOrders({"SO-R2"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(hub().Log().find("has been silent"), std::string::npos) << hub().Log();
  ASSERT_TRUE(WaitForLines(tmp_.Join("out/orders.jsonl"), 2));
}

TEST(RemoteCheck, CheckNamesAnUnknownSettingOfARemoteConnector) {
  TempDir tmp;
  const std::string path = tmp.Join("hub.yaml");
  WriteFile(path, R"(listen: 127.0.0.1:0
data_dir: )" + tmp.Join("var") + R"(
remote_connectors:
  endpoint: tcp://127.0.0.1:5999
  connectors:
    portal: { can: [inbound], settings: [token] }
sources:
  portal:
    connector: portal
    settings: { tokne: x }
    mapping: builtin:canonical.order
destinations:
  archive: { type: file, path: out.jsonl }
routes:
  - { from: [portal], types: ["order.*"], to: [archive] }
)");
  RunResult r = RunChannelhub({"check", "--config", path}, tmp.path());
  EXPECT_EQ(r.status.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("sources.portal.settings.tokne"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean"), std::string::npos) << r.err;

  WriteFile(path, R"(listen: 127.0.0.1:0
data_dir: )" + tmp.Join("var") + R"(
remote_connectors:
  endpoint: udp://127.0.0.1:5999
  connectors:
    portal: { can: [inbound, fly] }
)");
  r = RunChannelhub({"check", "--config", path}, tmp.path());
  EXPECT_EQ(r.status.code, 2);
  EXPECT_NE(r.err.find("remote_connectors.endpoint"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\"fly\""), std::string::npos) << r.err;
}

}  // namespace
}  // namespace channelhub::e2e
