// TLS on the webhook listener: HTTPS with a certificate from files, mutual TLS for dealer
// systems, certificates reloaded on SIGHUP, and unusable files refused at start with their name.
// Certificates are made at run time with the openssl command; curl is the client.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <string>

#include "tests/e2e/harness.hpp"
#include "tests/e2e/payloads.hpp"

namespace channelhub::e2e {
namespace {

// Runs a shell command; returns its exit code and stdout.
std::pair<int, std::string> Shell(const std::string& command) {
  std::string out;
  FILE* p = ::popen(("{ " + command + " ; } 2>/dev/null").c_str(), "r");
  if (!p) return {-1, ""};
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

class TlsE2E : public HubTest {
 protected:
  void SetUp() override {
    dir_ = tmp_.Join("tls");
    ASSERT_EQ(Shell("mkdir -p " + dir_).first, 0);
    // A CA, a server certificate for 127.0.0.1 signed by it, and a client certificate.
    MakeCa("ca");
    MakeSigned("server", "/CN=channelhub", "subjectAltName=IP:127.0.0.1");
    MakeSigned("client", "/CN=dealer-1001", "extendedKeyUsage=clientAuth");
  }
  void MakeCa(const std::string& name) {
    ASSERT_EQ(Shell("cd " + dir_ + " && openssl req -x509 -newkey rsa:2048 -nodes -keyout " + name + ".key -out " +
                    name + ".crt -days 2 -subj /CN=test-ca")
                  .first,
              0);
  }
  void MakeSigned(const std::string& name, const std::string& subject, const std::string& ext) {
    ASSERT_EQ(Shell("cd " + dir_ + " && openssl req -newkey rsa:2048 -nodes -keyout " + name + ".key -out " + name +
                    ".csr -subj " + subject + " && printf '" + ext + "' > " + name + ".ext && openssl x509 -req -in " +
                    name + ".csr -CA ca.crt -CAkey ca.key -CAcreateserial -out " + name + ".crt -days 2 -extfile " +
                    name + ".ext")
                  .first,
              0);
  }
  std::string Config(const std::string& client_ca = "") {
    std::string tls = "tls: { cert: " + dir_ + "/server.crt, key: " + dir_ + "/server.key" +
                      (client_ca.empty() ? "" : ", client_ca: " + client_ca) + " }\n";
    return WriteConfig(R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
)" + tls + R"(sources:
  orders:
    connector: generic
    mapping: builtin:canonical.order
    event_id: { header: X-Event-Id }
)");
  }
  // POSTs an order over HTTPS with curl; returns the HTTP status (0 when no exchange happened).
  int Post(const std::string& id, const std::string& extra = "") {
    WriteFile(tmp_.Join("body.json"), CanonicalOrderJson("SO-" + id));
    auto [rc, out] = Shell("curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert " + dir_ + "/ca.crt " +
                           extra + " -H 'Content-Type: application/json' -H 'X-Event-Id: " + id +
                           "' --data-binary @" + tmp_.Join("body.json") + " https://127.0.0.1:" +
                           std::to_string(port()) + "/webhooks/orders");
    (void)rc;
    return out.empty() ? 0 : std::atoi(out.c_str());
  }
  std::string dir_;
};

TEST_F(TlsE2E, WebhooksOverHttpsAndCertificatesReloadedOnSighup) {
  ASSERT_NO_FATAL_FAILURE(StartHub(Config()));
  EXPECT_NE(hub().Log().find("listening on https://"), std::string::npos);
  EXPECT_EQ(Post("t-1"), 202);
  // Plain HTTP on the TLS port gets no answer it could mistake for success.
  auto plain = HttpPost(port(), "/webhooks/orders", CanonicalOrderJson("SO-X"), {{"X-Event-Id", "t-x"}});
  EXPECT_TRUE(!plain.ok() || plain->status != 202);
  // A certificate renewal: new files in place, SIGHUP, new connections get the new certificate.
  const auto before = Shell("echo | openssl s_client -connect 127.0.0.1:" + std::to_string(port()) +
                            " 2>/dev/null | openssl x509 -noout -serial").second;
  MakeSigned("server", "/CN=channelhub-renewed", "subjectAltName=IP:127.0.0.1");
  ::kill(hub().pid(), SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return hub().Log().find("TLS certificate reloaded") != std::string::npos; }, Millis(5000)));
  const auto after = Shell("echo | openssl s_client -connect 127.0.0.1:" + std::to_string(port()) +
                           " 2>/dev/null | openssl x509 -noout -serial").second;
  EXPECT_FALSE(before.empty());
  EXPECT_NE(before, after);
  EXPECT_EQ(Post("t-2"), 202);
}

TEST_F(TlsE2E, MutualTlsLetsOnlyClientsWithACertificateOfTheCa) {
  ASSERT_NO_FATAL_FAILURE(StartHub(Config(dir_ + "/ca.crt")));
  EXPECT_EQ(Post("m-1"), 0);  // no client certificate: the handshake fails
  EXPECT_EQ(Post("m-2", "--cert " + dir_ + "/client.crt --key " + dir_ + "/client.key"), 202);
}

TEST_F(TlsE2E, UnusableFilesAreRefusedWithTheirName) {
  WriteFile(tmp_.Join("tls/garbage.key"), "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
  const std::string bad = WriteConfig(R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
tls: { cert: )" + dir_ + R"(/server.crt, key: )" + dir_ + R"(/garbage.key }
sources:
  s: { mapping: builtin:canonical.order }
)", "bad.yaml");
  RunResult r = RunChannelhub({"serve", "--config", bad}, tmp_.path(), Millis(10000));
  EXPECT_EQ(r.status.code, 1) << r.err;
  EXPECT_NE(r.err.find("TLS key " + dir_ + "/garbage.key cannot be used"), std::string::npos) << r.err;
  const std::string missing = WriteConfig(R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
tls: { cert: /nonexistent/hub.crt }
sources:
  s: { mapping: builtin:canonical.order }
)", "missing.yaml");
  RunResult m = RunChannelhub({"check", "--config", missing}, tmp_.path());
  EXPECT_EQ(m.status.code, 2);
  EXPECT_NE(m.err.find("tls.cert: cannot read /nonexistent/hub.crt"), std::string::npos) << m.err;
  EXPECT_NE(m.err.find("tls.key: missing; expected its private key"), std::string::npos) << m.err;
}

// Outbound HTTPS: a destination behind an in-house CA is trusted with tls.ca; without it the
// delivery fails on the certificate (and is retried, never sent in clear); insecure_skip_verify
// works for a lab system and says so loudly.
TEST_F(TlsE2E, DestinationsVerifyTheirPeerWithTheSystemStoreOrAConfiguredCa) {
  // The receiving system: a second hub on TLS with the test CA's certificate.
  ASSERT_NO_FATAL_FAILURE(StartHub(Config()));
  const uint16_t receiver = port();
  auto sender = [&](const std::string& name, const std::string& tls) {
    return WriteConfig(R"(listen: 127.0.0.1:0
data_dir: @DIR@/)" + name + R"(
sources:
  shop: { connector: generic, mapping: builtin:canonical.order, event_id: { header: X-Event-Id } }
destinations:
  erp:
    type: http
    url: "https://127.0.0.1:)" + std::to_string(receiver) + R"(/webhooks/orders"
    retry: { initial: 50ms, max: 200ms }
)" + tls + R"(routes:
  - { from: [shop], types: ["order.*"], to: [erp] }
)", name + ".yaml");
  };
  // 1. No CA configured: the test CA is not in the system store, so nothing is delivered.
  ASSERT_NO_FATAL_FAILURE(StartHub(sender("plain", "")));
  ASSERT_EQ(PostWebhook(port(), "shop", CanonicalOrderJson("SO-V1"), {{"X-Event-Id", "v-1"}}).status, 202);
  ASSERT_TRUE(WaitFor([&] { return hub().Log().find("certificate verify failed") != std::string::npos; }, Millis(10000)))
      << hub().Log();
  // 2. tls.ca: delivered.
  ASSERT_NO_FATAL_FAILURE(StartHub(sender("with_ca", "    tls: { ca: " + dir_ + "/ca.crt }\n")));
  ASSERT_EQ(PostWebhook(port(), "shop", CanonicalOrderJson("SO-V2"), {{"X-Event-Id", "v-2"}}).status, 202);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto t = RunChannelhub({"trace", "--config", tmp_.Join("with_ca.yaml"), "--source", "shop", "--event", "v-2"},
                               tmp_.path());
        return t.out.find("delivered") != std::string::npos;
      },
      Millis(15000)));
  // 3. insecure_skip_verify: delivered, with a warning at start.
  ASSERT_NO_FATAL_FAILURE(StartHub(sender("lab", "    tls: { insecure_skip_verify: true }\n")));
  EXPECT_NE(hub().Log().find("TLS CERTIFICATES ARE NOT VERIFIED"), std::string::npos) << hub().Log();
  ASSERT_EQ(PostWebhook(port(), "shop", CanonicalOrderJson("SO-V3"), {{"X-Event-Id", "v-3"}}).status, 202);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto t = RunChannelhub({"trace", "--config", tmp_.Join("lab.yaml"), "--source", "shop", "--event", "v-3"},
                               tmp_.path());
        return t.out.find("delivered") != std::string::npos;
      },
      Millis(15000)));
  // A CA file that is not one is refused at check.
  WriteFile(tmp_.Join("not-a-ca.pem"), "hello");
  RunResult bad = RunChannelhub({"check", "--config", sender("bad", "    tls: { ca: " + tmp_.Join("not-a-ca.pem") + " }\n")},
                                tmp_.path());
  EXPECT_EQ(bad.status.code, 2);
  EXPECT_NE(bad.err.find("destinations.erp.tls.ca: "), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("holds no PEM certificate"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace channelhub::e2e
