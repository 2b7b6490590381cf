// Encryption at rest in the master record: sealed records and versions, hashed search keys (a
// blind index) that still find by equality, turning encryption on for an existing store, and key
// rotation with MasterStore::Rekey.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "hub/common/json.hpp"
#include "hub/common/seal.hpp"
#include "hub/master/store.hpp"

namespace channelhub::master {
namespace {

class SealedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/chub-sealed-master-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  MasterOptions Options(std::shared_ptr<const seal::Keyring> ring) {
    MasterOptions o;
    o.path = dir_ + "/master.db";
    o.synchronous_full = false;
    o.keyring = std::move(ring);
    return o;
  }
  std::unique_ptr<MasterStore> Open(std::shared_ptr<const seal::Keyring> ring) {
    auto s = MasterStore::Open(Options(std::move(ring)));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  static std::shared_ptr<const seal::Keyring> Ring(char current, std::vector<char> previous = {}) {
    std::vector<std::string> prev;
    for (char c : previous) prev.emplace_back(32, c);
    return *seal::Keyring::Create(std::string(32, current), prev);
  }
  static void ApplyOk(MasterStore& s, const std::vector<MasterInput>& in) {
    auto r = s.Apply(in);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const Status& st : *r) EXPECT_TRUE(st.ok()) << st.ToString();
  }
  static MasterInput Person(const std::string& event, const std::string& system, const std::string& id) {
    return {event, "com.channelhub.customer.upserted",
            R"({"kind":"person","name":"钱晓红","mobiles":["+8613655556666"],"emails":["qian.xh@example.cn"],)"
            R"("addresses":[{"province":"浙江省","city":"杭州市","line":"西湖区文三路 88 号"}],)"
            R"("source":{"system":")" + system + R"(","id":")" + id + R"("}})",
            1700000000000};
  }
  static MasterInput GuestOrder(const std::string& no) {
    return {"o" + no, "com.channelhub.order.upserted",
            R"({"order_no":")" + no + R"(","source":{"system":"youzan","id":")" + no +
                R"("},"channel":"ecommerce","buyer":{"name":"guest","mobile":"+8613655556666"},"status":"paid",)"
                R"("currency":"CNY","lines":[],"totals":{"total":"8.00"}})",
            0};
  }
  std::vector<std::string> Ids(MasterStore& s, const SearchQuery& q) {
    auto r = s.Search(q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    rapidjson::Document d;
    std::vector<std::string> out;
    if (!r.ok() || !json::Parse(*r, &d).ok()) return out;
    for (const auto& x : d.GetArray()) out.push_back(x["id"].GetString());
    return out;
  }
  std::string Bytes() {
    std::string bytes;
    for (const char* file : {"/master.db", "/master.db-wal"}) {
      std::ifstream f(dir_ + file, std::ios::binary);
      bytes.append(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
    return bytes;
  }
  void ExpectNothingInClear() {
    const std::string bytes = Bytes();
    for (const char* value : {"13655556666", "qian.xh@example.cn", "钱晓红", "文三路"}) {
      EXPECT_EQ(bytes.find(value), std::string::npos) << value;
    }
  }
  std::string dir_;
};

TEST_F(SealedStoreTest, KeepsNothingInClearAndStillFindsByEquality) {
  auto s = Open(Ring('a'));
  ASSERT_TRUE(s);
  ApplyOk(*s, {Person("e1", "shop", "1"), Person("e2", "erp", "C7")});
  ApplyOk(*s, {GuestOrder("9001")});
  const std::string g = *s->Resolve("shop/1");
  EXPECT_EQ(*s->Resolve("erp/C7"), g) << "matching works on what is in memory";
  EXPECT_EQ(Ids(*s, {.phone = "136 5555 6666"}), std::vector<std::string>{g});
  EXPECT_EQ(Ids(*s, {.email = "Qian.XH@example.cn"}), std::vector<std::string>{g});
  EXPECT_EQ(Ids(*s, {.name = "钱晓红"}), std::vector<std::string>{g}) << "the whole name";
  EXPECT_EQ(Ids(*s, {.name = "钱"}), std::vector<std::string>{g}) << "a prefix: searched in memory, not on disk";
  rapidjson::Document view;
  ASSERT_TRUE(json::Parse(*s->View(g), &view).ok());
  EXPECT_STREQ(view["golden"]["mobiles"][0].GetString(), "+8613655556666");
  EXPECT_EQ(view["orders"]["count"].GetInt(), 1) << "a guest order found by the hashed mobile";
  auto emissions = s->PendingEmissions(10);
  ASSERT_TRUE(emissions.ok());
  ASSERT_FALSE(emissions->empty());
  EXPECT_NE(emissions->back().payload.find("13655556666"), std::string::npos);
  ASSERT_TRUE(s->History(g).ok());
  s.reset();
  ExpectNothingInClear();

  // Reopened with the key: the matcher is rebuilt from the sealed records.
  s = Open(Ring('a'));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->indexed(), 2u);
  ApplyOk(*s, {Person("e3", "wecom", "wm1")});
  EXPECT_EQ(*s->Resolve("wecom/wm1"), g);
  s.reset();

  // Without it, or with another key, the store does not open: it says which key it needs.
  const std::string id = seal::KeyIdText(Ring('a')->current_id());
  for (auto ring : {std::shared_ptr<const seal::Keyring>(), Ring('b')}) {
    auto opened = MasterStore::Open(Options(ring));
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.status().message().find(id), std::string::npos) << opened.status().message();
  }
}

TEST_F(SealedStoreTest, TurningEncryptionOnThenRekeyHidesWhatWasStoredBefore) {
  {
    auto s = Open(nullptr);
    ASSERT_TRUE(s);
    ApplyOk(*s, {Person("e1", "shop", "1")});
    ApplyOk(*s, {GuestOrder("9001")});
  }
  EXPECT_NE(Bytes().find("13655556666"), std::string::npos) << "in clear before";
  auto a = Ring('a');
  {
    auto s = Open(a);  // old rows read; new ones are sealed
    ASSERT_TRUE(s);
    ApplyOk(*s, {Person("e2", "erp", "C7")});
    EXPECT_EQ(*s->Resolve("erp/C7"), *s->Resolve("shop/1"));
  }
  auto stats = MasterStore::Rekey(Options(a));
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_TRUE(stats->search_keys_rebuilt);
  EXPECT_GT(stats->found["plaintext"], 0);
  ExpectNothingInClear();
  auto s = Open(a);
  ASSERT_TRUE(s);
  const std::string g = *s->Resolve("shop/1");
  EXPECT_EQ(Ids(*s, {.phone = "13655556666"}), std::vector<std::string>{g});
  EXPECT_EQ(Ids(*s, {.name = "钱晓红"}), std::vector<std::string>{g});
  rapidjson::Document view;
  ASSERT_TRUE(json::Parse(*s->View(g), &view).ok());
  EXPECT_EQ(view["orders"]["count"].GetInt(), 1) << "the old guest order's mobile was hashed too";
}

TEST_F(SealedStoreTest, RotationWithRekeyLetsTheOldKeyGo) {
  auto a = Ring('a');
  {
    auto s = Open(a);
    ASSERT_TRUE(s);
    ApplyOk(*s, {Person("e1", "shop", "1"), Person("e2", "erp", "C7")});
  }
  auto b_then_a = Ring('b', {'a'});
  auto stats = MasterStore::Rekey(Options(b_then_a));
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_FALSE(stats->search_keys_rebuilt) << "already hashed; the index key stays";
  EXPECT_GT(stats->rewritten, 0);
  EXPECT_EQ(stats->found[seal::KeyIdText(a->current_id())], stats->rewritten);
  auto again = MasterStore::Rekey(Options(b_then_a));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->rewritten, 0) << "nothing left under the old key";
  auto s = Open(Ring('b'));
  ASSERT_TRUE(s);
  const std::string g = *s->Resolve("shop/1");
  EXPECT_EQ(Ids(*s, {.phone = "13655556666"}), std::vector<std::string>{g});
  ASSERT_TRUE(s->View(g).ok());
  ASSERT_TRUE(s->History(g).ok());
}

}  // namespace
}  // namespace channelhub::master
