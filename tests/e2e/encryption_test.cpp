// Encryption at rest through the real binary: with data_protection a customer's mobile number,
// e-mail and name never appear in clear in journal.db, master.db or their WALs (SIGKILL
// included), everything still reads after a restart, and a key rotation with `channelhub rekey`
// lets the old key go.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "hub/common/seal.hpp"
#include "tests/e2e/harness.hpp"

namespace channelhub::e2e {
namespace {

constexpr char kToken[] = "operator-token-encrypt-0123456789";
constexpr char kAdminToken[] = "admin-token-encrypt-0123456789ab";
constexpr char kKeyA[] = "3f1c2a9b8d7e6f5041322314a5b6c7d8e9f00112233445566778899aabbccdd0";
constexpr char kKeyB[] = "c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc";

constexpr char kConfig[] = R"(listen: 127.0.0.1:0
data_dir: @DIR@/var
admin:
  listen: 127.0.0.1:0
  tokens:
    - { name: ops, token: "${env:CHUB_T_ENC}", role: operator }
    - { name: dpo, token: "${env:CHUB_T_ENC_ADMIN}", role: admin }
sources:
  crm: { connector: generic, mapping: builtin:canonical.customer, event_id: { header: X-Event-Id } }
destinations:
  golden: { type: master }
  archive: { type: file, path: "@DIR@/out/customers.jsonl" }
routes:
  - { from: [crm], types: ["customer.*"], to: [golden, archive] }
data_protection:
@KEYS@
)";

const std::string kMobile = "13512345678";
const std::string kEmail = "feng.xiaomei@example.cn";
const std::string kName = "冯晓梅";

std::string Customer(const std::string& id, const std::string& name, const std::string& mobile,
                     const std::string& email) {
  return R"({"kind":"person","name":")" + name + R"(","mobiles":["+86)" + mobile + R"("],"emails":[")" + email +
         R"("],"addresses":[{"province":"广东省","city":"广州市","line":"天河路 385 号"}],"source":{"system":"crm","id":")" +
         id + R"("}})";
}

std::string KeyId(const char* hex) {
  auto key = seal::ParseKey(hex);
  return seal::KeyIdText((*seal::Keyring::Create(*key))->current_id());
}

class EncryptionE2E : public HubTest {
 protected:
  void SetUp() override {
    ::setenv("CHUB_T_ENC", kToken, 1);
    ::setenv("CHUB_T_ENC_ADMIN", kAdminToken, 1);
    ASSERT_TRUE(WriteKey("keys/a.key", kKeyA));
    ASSERT_TRUE(WriteKey("keys/b.key", kKeyB));
  }
  bool WriteKey(const std::string& name, const std::string& hex) {
    return WriteFile(tmp_.Join(name), hex + "\n") && ::chmod(tmp_.Join(name).c_str(), 0600) == 0;
  }
  std::string Config(const std::string& keys, const std::string& name) {
    return WriteConfig(Replace(kConfig, "@KEYS@", keys), name);
  }
  void StartWithAdmin(const std::string& config) {
    const std::string ready = tmp_.Join("admin.ready." + std::to_string(hubs_.size()));
    ASSERT_NO_FATAL_FAILURE(StartHub(config, {"--admin-ready-file", ready}));
    ASSERT_TRUE(WaitFor([&] { return !ReadFile(ready).empty(); }, Millis(5000)));
    const std::string addr = ReadFile(ready);
    admin_port_ = static_cast<uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
  }
  Result<HttpResponse> Admin(const std::string& method, const std::string& target, const std::string& body = "",
                             const char* token = kToken) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.headers.emplace_back("Authorization", std::string("Bearer ") + token);
    if (!body.empty()) {
      r.headers.emplace_back("Content-Type", "application/json");
      r.body = body;
    }
    return HttpCall(admin_port_, r);
  }
  // The golden id the admin API finds for a mobile number, or "" (after waiting for it).
  std::string FindByPhone(const std::string& mobile) {
    std::string id;
    WaitFor(
        [&] {
          auto r = Admin("GET", "/api/v1/customers?phone=" + mobile);
          if (!r.ok() || r->status != 200) return false;
          auto d = r->Json();
          if (d.HasParseError() || !d.IsArray() || d.Empty()) return false;
          id = d[0]["id"].GetString();
          return true;
        },
        kDeliveryTimeout);
    return id;
  }
  // The raw bytes of the store files, as an attacker with a copy of the disk would see them.
  std::string StoreBytes() {
    std::string bytes;
    for (const char* f : {"var/journal.db", "var/journal.db-wal", "var/master.db", "var/master.db-wal"}) {
      bytes += ReadFile(tmp_.Join(f));
    }
    return bytes;
  }
  void ExpectNothingInClear(const std::string& when) {
    const std::string bytes = StoreBytes();
    ASSERT_GT(bytes.size(), 4096u) << "the stores exist";
    EXPECT_EQ(bytes.find(kMobile), std::string::npos) << when << ": the mobile number is in clear";
    EXPECT_EQ(bytes.find(kEmail), std::string::npos) << when << ": the e-mail address is in clear";
    EXPECT_EQ(bytes.find(kName), std::string::npos) << when << ": the name is in clear";
    EXPECT_EQ(bytes.find("天河路"), std::string::npos) << when << ": the address is in clear";
  }

  uint16_t admin_port_ = 0;
};

TEST_F(EncryptionE2E, NothingPersonalInClearOnDiskAndARotationLetsTheOldKeyGo) {
  const std::string key_a = "  key_file: @DIR@/keys/a.key";
  const std::string config_a = Config(key_a, "a.yaml");
  RunResult check = RunChannelhub({"check", "--config", config_a}, tmp_.path());
  ASSERT_TRUE(check.status.Succeeded()) << check.err << check.out;

  ASSERT_NO_FATAL_FAILURE(StartWithAdmin(config_a));
  ASSERT_EQ(PostWebhook(port(), "crm", Customer("C-1", kName, kMobile, kEmail), {{"X-Event-Id", "c-1"}}).status, 202);
  ASSERT_TRUE(WaitForLines(tmp_.Join("out/customers.jsonl"), 1)) << "delivered";
  const std::string golden = FindByPhone(kMobile);
  ASSERT_FALSE(golden.empty()) << "the master record has the customer";
  hub().Kill();  // SIGKILL: whatever is in the WALs stays there
  ExpectNothingInClear("after SIGKILL");

  // Restarted: the journal and the master record read; the admin API shows the person.
  ASSERT_NO_FATAL_FAILURE(StartWithAdmin(config_a));
  EXPECT_EQ(FindByPhone(kMobile), golden);
  auto view = Admin("GET", "/api/v1/customers/" + golden);
  ASSERT_TRUE(view.ok());
  ASSERT_EQ(view->status, 200) << view->body;
  EXPECT_NE(view->body.find(kEmail), std::string::npos) << view->body;
  auto by_email = Admin("GET", "/api/v1/customers?email=" + kEmail);
  ASSERT_TRUE(by_email.ok());
  EXPECT_NE(by_email->body.find("\"id\":\"" + golden + "\""), std::string::npos) << by_email->body;
  auto trace = Admin("GET", "/api/v1/events/crm/c-1");
  ASSERT_TRUE(trace.ok());
  EXPECT_EQ(trace->status, 200) << trace->body;
  // A second person arrives after the restart, and is delivered.
  ASSERT_EQ(PostWebhook(port(), "crm", Customer("C-2", "韩雪", "13698765432", "han.xue@example.cn"),
                        {{"X-Event-Id", "c-2"}})
                .status,
            202);
  ASSERT_TRUE(WaitForLines(tmp_.Join("out/customers.jsonl"), 2));
  const std::string second = FindByPhone("13698765432");
  ASSERT_FALSE(second.empty());
  ASSERT_TRUE(hub().Terminate().Succeeded());
  ExpectNothingInClear("after a clean stop");

  // Rotation: b becomes the key, a stays readable; rekey seals everything with b.
  const std::string config_ba =
      Config("  key_file: @DIR@/keys/b.key\n  previous_key_files: [@DIR@/keys/a.key]", "ba.yaml");
  RunResult rekey = RunChannelhub({"rekey", "--config", config_ba}, tmp_.path());
  ASSERT_TRUE(rekey.status.Succeeded()) << rekey.err << rekey.out;
  EXPECT_NE(rekey.out.find("with key " + KeyId(kKeyA)), std::string::npos) << rekey.out;
  EXPECT_NE(rekey.out.find("sealed with key " + KeyId(kKeyB) + " now"), std::string::npos) << rekey.out;

  // The old key leaves the configuration: everything still reads.
  const std::string config_b = Config("  key_file: @DIR@/keys/b.key", "b.yaml");
  RunResult again = RunChannelhub({"rekey", "--config", config_b}, tmp_.path());
  ASSERT_TRUE(again.status.Succeeded()) << again.err << again.out;
  EXPECT_EQ(again.out.find(KeyId(kKeyA)), std::string::npos) << "no value is left under the old key: " << again.out;
  RunResult search = RunChannelhub({"customers", "search", "--config", config_b, "--phone", kMobile}, tmp_.path());
  ASSERT_TRUE(search.status.Succeeded()) << search.err;
  EXPECT_NE(search.out.find(kEmail), std::string::npos) << search.out;
  ASSERT_NO_FATAL_FAILURE(StartWithAdmin(config_b));
  EXPECT_EQ(FindByPhone(kMobile), golden);
  ASSERT_EQ(PostWebhook(port(), "crm", Customer("C-3", "程亮", "13711112222", "cheng.liang@example.cn"),
                        {{"X-Event-Id", "c-3"}})
                .status,
            202);
  ASSERT_TRUE(WaitForLines(tmp_.Join("out/customers.jsonl"), 3));
  // A deletion request finds the person's sealed payloads in the journal.
  auto erased = Admin("POST", "/api/v1/customers/erase", R"({"id":")" + second + R"(","reason":"PIPL request 7"})",
                      kAdminToken);
  ASSERT_TRUE(erased.ok());
  ASSERT_EQ(erased->status, 200) << erased->body;
  EXPECT_GE(erased->Json()["journal_payloads"].GetInt64(), 2) << erased->body;
  ASSERT_TRUE(hub().Terminate().Succeeded());
  ExpectNothingInClear("after the rotation");

  // Without the key the hub does not start on these files, and says which key it needs.
  const std::string config_a_only = Config("  key_file: @DIR@/keys/a.key", "a-only.yaml");
  RunResult wrong = RunChannelhub({"customers", "show", "--config", config_a_only, golden}, tmp_.path());
  EXPECT_FALSE(wrong.status.Succeeded());
  EXPECT_NE(wrong.err.find(KeyId(kKeyB)), std::string::npos) << wrong.err;
}

TEST_F(EncryptionE2E, CheckRefusesAKeyFileOthersCanReadOrThatIsNotAKey) {
  ASSERT_TRUE(WriteFile(tmp_.Join("keys/open.key"), std::string(kKeyA) + "\n"));
  ASSERT_EQ(::chmod(tmp_.Join("keys/open.key").c_str(), 0644), 0);
  ASSERT_TRUE(WriteKey("keys/short.key", "abcdef"));
  const std::string config = Config("  key_file: @DIR@/keys/open.key\n  previous_key_files: [@DIR@/keys/short.key]",
                                    "bad.yaml");
  RunResult r = RunChannelhub({"check", "--config", config}, tmp_.path());
  EXPECT_EQ(r.status.code, 2) << r.out << r.err;
  const std::string all = r.out + r.err;
  EXPECT_NE(all.find("data_protection.key_file"), std::string::npos) << all;
  EXPECT_NE(all.find("every user of the host (mode 0644)"), std::string::npos) << all;
  EXPECT_NE(all.find("data_protection.previous_key_files[0]"), std::string::npos) << all;
  EXPECT_NE(all.find("openssl rand -hex 32"), std::string::npos) << all;
  EXPECT_EQ(all.find("abcdef"), std::string::npos) << "a key's contents are never shown";
}

}  // namespace
}  // namespace channelhub::e2e
