// The golden-record store: matching as records arrive, survivorship with origins, versions and
// emissions, merge / unmerge / review with their audit trail, the 360° view and search — on a
// real SQLite file.
#include "hub/master/store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "hub/common/json.hpp"
#include "hub/journal/sqlite.hpp"

namespace channelhub::master {
namespace {

class TempFile {
 public:
  TempFile() {
    char dir[] = "/tmp/chub-master-XXXXXX";
    path_ = mkdtemp(dir);
  }
  ~TempFile() { std::filesystem::remove_all(path_); }
  std::string path(const std::string& name = "master.db") const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string Customer(const std::string& system, const std::string& id, const std::string& name,
                     const std::string& mobile, const std::string& extra = "") {
  // Canonical data carries E.164 numbers (the mappings convert); tests may write them loosely.
  std::string e164;
  for (char c : mobile) {
    if (c >= '0' && c <= '9') e164 += c;
  }
  if (e164.size() == 11) e164 = "86" + e164;
  std::string j = "{\"kind\":\"person\",\"name\":\"" + name + "\"";
  if (!mobile.empty()) j += ",\"mobiles\":[\"+" + e164 + "\"]";
  if (!extra.empty()) j += "," + extra;
  j += ",\"source\":{\"system\":\"" + system + "\",\"id\":\"" + id + "\"}}";
  return j;
}

MasterInput In(std::string event_id, std::string data, int64_t at_ms = 1700000000000) {
  return {std::move(event_id), "com.channelhub.customer.upserted", std::move(data), at_ms};
}

rapidjson::Document Json(const std::string& text) {
  rapidjson::Document d;
  EXPECT_TRUE(json::Parse(text, &d).ok()) << text;
  return d;
}

std::unique_ptr<MasterStore> Open(const std::string& path, MasterOptions o = {}) {
  o.path = path;
  o.synchronous_full = false;
  auto s = MasterStore::Open(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

void ApplyOk(MasterStore& s, const std::vector<MasterInput>& in) {
  auto r = s.Apply(in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const Status& st : *r) EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST(MasterStore, LinksRecordsOfTwoSystemsWithOriginsVersionsAndEmissions) {
  TempFile tmp;
  MasterOptions o;
  o.survivorship.by_attribute["name"] = {SurvivorshipRule::kSourcePriority, {"kingdee", "shopify"}};
  auto s = Open(tmp.path(), o);
  ApplyOk(*s, {In("e1", Customer("shopify", "777", "Li Na", "138 0013 8000", "\"emails\":[\"LiNa@Example.com\"]"))});
  ApplyOk(*s, {In("e2", Customer("kingdee", "C001", "李娜", "+8613800138000", "\"emails\":[\"lina@example.com\"]"))});
  auto id = s->Resolve("kingdee/C001");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*s->Resolve("shopify:777"), *id) << "the two records are one customer";
  auto view = Json(*s->View(*id));
  EXPECT_STREQ(view["golden"]["name"].GetString(), "李娜") << "kingdee wins the name by source priority";
  EXPECT_STREQ(view["origins"]["name"]["system"].GetString(), "kingdee");
  EXPECT_STREQ(view["origins"]["name"]["event_id"].GetString(), "e2");
  EXPECT_EQ(view["records"].Size(), 2u);
  // Union of e-mails without the duplicate that differs in case only; each with its origin.
  EXPECT_EQ(view["golden"]["emails"].Size(), 1u);
  EXPECT_EQ(view["version"].GetInt64(), 2);
  auto pending = s->PendingEmissions(10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].origin_system, "shopify");
  EXPECT_EQ((*pending)[1].origin_system, "kingdee");
  EXPECT_EQ((*pending)[1].event_id(), *id + ":v2");
  auto payload = Json((*pending)[1].payload);
  EXPECT_STREQ(payload["source"]["system"].GetString(), "master");
  EXPECT_EQ(payload["ext"]["golden"]["links"].Size(), 2u);
  ASSERT_TRUE(s->MarkEmitted({(*pending)[0].seq, (*pending)[1].seq}).ok());
  EXPECT_TRUE(s->PendingEmissions(10)->empty());
}

TEST(MasterStore, TheSameEventTwiceAndAnEchoOfTheSameDataChangeNothing) {
  TempFile tmp;
  auto s = Open(tmp.path());
  const std::string c = Customer("erp", "1", "王芳", "13900139000");
  ApplyOk(*s, {In("e1", c)});
  ApplyOk(*s, {In("e1", c)});                    // redelivery of the same event
  ApplyOk(*s, {In("e2", c, 1700000009999)});     // the system echoing what it was sent
  EXPECT_EQ(s->PendingEmissions(10)->size(), 1u);
  EXPECT_EQ(Json(*s->View("erp/1"))["version"].GetInt64(), 1);
}

TEST(MasterStore, APartialRecordKeepsWhatItDoesNotCarry) {
  TempFile tmp;
  auto s = Open(tmp.path());
  ApplyOk(*s, {In("e1", Customer("kingdee", "CUST0087", "华强电子", "13800138000", "\"tier\":\"A\""))});
  // The finance feed: the same customer id with its credit line only.
  ApplyOk(*s, {In("e2",
                  R"({"kind":"dealer","credit":{"limit":"300000.00","used":"24800.50","currency":"CNY"},"source":{"system":"kingdee","id":"CUST0087"}})")});
  auto view = Json(*s->View("kingdee/CUST0087"));
  EXPECT_STREQ(view["golden"]["name"].GetString(), "华强电子");
  EXPECT_STREQ(view["golden"]["tier"].GetString(), "A");
  EXPECT_STREQ(view["credit"]["available"].GetString(), "275199.50");
  EXPECT_FALSE(view["credit"]["over_limit"].GetBool());
  EXPECT_STREQ(view["golden"]["kind"].GetString(), "dealer");
}

TEST(MasterStore, RefusesWhatItCannotApplyWithoutStoppingTheBatch) {
  TempFile tmp;
  auto s = Open(tmp.path());
  auto r = s->Apply({In("bad1", R"({"kind":"person","name":"x"})"),  // no source
                     {"bad2", "com.channelhub.stock_level.upserted", "{}", 0},
                     In("ok", Customer("erp", "2", "赵磊", "13700137000"))});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].code(), StatusCode::kInvalidArgument);
  EXPECT_NE((*r)[0].message().find("source"), std::string::npos);
  EXPECT_EQ((*r)[1].code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE((*r)[2].ok());
  EXPECT_EQ(s->Stats()->records, 1);
  // A refused event leaves no mark: replayed after a fix (the dead letter replayed), it applies.
  ApplyOk(*s, {In("bad1", Customer("erp", "3", "钱坤", "13600000003"))});
  EXPECT_EQ(s->Stats()->records, 2);
}

// A labelled set of records with the traps of real data: formats, traditional characters,
// relatives sharing a family phone, companies with a branch office.
struct Labelled {
  std::string json;
  int entity;
};

std::vector<Labelled> Population(int entities, unsigned seed) {
  static const char* kSurnames[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"};
  static const char* kGiven[] = {"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "艳", "勇", "杰", "娟", "涛"};
  std::mt19937 rng(seed);
  std::vector<Labelled> out;
  const char* systems[] = {"kingdee", "shopify", "youzan", "wecom", "wms"};
  for (int e = 0; e < entities; ++e) {
    const std::string name = std::string(kSurnames[e % 10]) + kGiven[(e / 10) % 15] + kGiven[(e / 150 + e) % 15];
    const std::string mobile = "139" + std::to_string(10000000 + e * 7);
    const std::string email = "user" + std::to_string(e) + "@example.com";
    const int copies = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < copies; ++k) {
      std::string m = k % 2 ? "+86 " + mobile.substr(0, 3) + "-" + mobile.substr(3) : mobile;
      std::string extra = "\"emails\":[\"" + std::string(k == 2 ? "USER" + std::to_string(e) + "@EXAMPLE.COM" : email) +
                          "\"],\"addresses\":[{\"line\":\"广东省深圳市南山区科技园路" + std::to_string(e) + "号\"}]";
      out.push_back({Customer(systems[k], "E" + std::to_string(e), name, m, extra), e});
    }
    // Every tenth customer has a relative on the same family phone, another given name, no e-mail.
    if (e % 10 == 0) {
      const std::string relative = std::string(kSurnames[e % 10]) + "小" + kGiven[(e + 7) % 15];
      out.push_back({Customer("youzan", "R" + std::to_string(e), relative, mobile,
                              "\"addresses\":[{\"line\":\"广东省深圳市南山区科技园路" + std::to_string(e) + "号\"}]"),
                     100000 + e});
    }
  }
  return out;
}

// The partition the store ends with: for each record "system/id", the set of records it shares
// a golden record with.
std::set<std::set<std::string>> Partition(MasterStore& s, const std::vector<Labelled>& records) {
  std::map<std::string, std::set<std::string>> by_golden;
  for (const auto& r : records) {
    auto d = Json(r.json);
    const std::string key = std::string(d["source"]["system"].GetString()) + "/" + d["source"]["id"].GetString();
    by_golden[*s.Resolve(key)].insert(key);
  }
  std::set<std::set<std::string>> out;
  for (auto& [g, members] : by_golden) out.insert(members);
  return out;
}

TEST(MasterStore, TheResultDoesNotDependOnTheOrderRecordsArriveIn) {
  std::vector<Labelled> records = Population(300, 7);
  std::vector<std::set<std::set<std::string>>> partitions;
  for (int order = 0; order < 3; ++order) {
    std::vector<Labelled> in = records;
    if (order == 1) std::reverse(in.begin(), in.end());
    if (order == 2) std::shuffle(in.begin(), in.end(), std::mt19937(42));
    TempFile tmp;
    auto s = Open(tmp.path());
    std::vector<MasterInput> batch;
    int n = 0;
    for (const auto& r : in) {
      batch.push_back(In("e" + std::to_string(n++), r.json));
      if (batch.size() == 64) {
        ApplyOk(*s, batch);
        batch.clear();
      }
    }
    ApplyOk(*s, batch);
    partitions.push_back(Partition(*s, records));
  }
  EXPECT_EQ(partitions[0], partitions[1]);
  EXPECT_EQ(partitions[0], partitions[2]);
  // And it is the right one: one golden record per entity.
  std::map<int, std::set<std::string>> truth;
  for (const auto& r : records) {
    auto d = Json(r.json);
    truth[r.entity].insert(std::string(d["source"]["system"].GetString()) + "/" + d["source"]["id"].GetString());
  }
  std::set<std::set<std::string>> expected;
  for (auto& [e, m] : truth) expected.insert(m);
  EXPECT_EQ(partitions[0], expected);
}

TEST(MasterStore, UnmergeRestoresTheRecordsAndKeepsThemApart) {
  TempFile tmp;
  auto s = Open(tmp.path());
  ApplyOk(*s, {In("e1", Customer("erp", "1", "陈静", "13600136000", "\"tier\":\"gold\""))});
  ApplyOk(*s, {In("e2", Customer("shop", "9", "陈静", "13600136000", "\"emails\":[\"cj@example.com\"]"))});
  const std::string g = *s->Resolve("erp/1");
  ASSERT_EQ(*s->Resolve("shop/9"), g);
  auto fresh = s->Unmerge("shop/9", "cli:test", "a namesake");
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_NE(*fresh, g);
  auto old_view = Json(*s->View(g));
  EXPECT_FALSE(old_view["golden"].HasMember("emails")) << "the e-mail left with its record";
  EXPECT_EQ(old_view["records"].Size(), 1u);
  auto new_view = Json(*s->View(*fresh));
  EXPECT_STREQ(new_view["golden"]["emails"][0].GetString(), "cj@example.com");
  // An update of the split record does not bring it back, nor does a third record like both.
  ApplyOk(*s, {In("e3", Customer("shop", "9", "陈静", "13600136000", "\"tags\":[\"vip\"]"))});
  ApplyOk(*s, {In("e4", Customer("wecom", "w1", "陈静", "13600136000"))});
  EXPECT_EQ(*s->Resolve("shop/9"), *fresh);
  EXPECT_NE(*s->Resolve("erp/1"), *s->Resolve("shop/9"));
  // Unmerging the only record of a golden record is refused with a reason.
  auto again = s->Unmerge("shop/9", "cli:test", "");
  if (*s->Resolve("wecom/w1") != *fresh) {
    EXPECT_EQ(again.status().code(), StatusCode::kInvalidArgument);
  }
  auto audit = Json(*s->Audit(10));
  ASSERT_GE(audit.Size(), 1u);
  EXPECT_STREQ(audit[0]["action"].GetString(), "customers.unmerge");
  EXPECT_STREQ(audit[0]["actor"].GetString(), "cli:test");
  auto history = Json(*s->History(g));
  bool unmerge_version = false;
  for (const auto& v : history.GetArray()) {
    unmerge_version |= std::string(v["cause"].GetString()).find("unmerge of shop/9 by cli:test") != std::string::npos;
  }
  EXPECT_TRUE(unmerge_version) << "the unmerge is a version of the golden record it left";
}

TEST(MasterStore, ManualMergeKeepsTheMergedAwayIdResolvable) {
  TempFile tmp;
  auto s = Open(tmp.path());
  ApplyOk(*s, {In("e1", Customer("erp", "1", "周杰", "13500135000"))});
  ApplyOk(*s, {In("e2", Customer("shop", "2", "Jay Chou", "13511111111"))});
  const std::string a = *s->Resolve("erp/1"), b = *s->Resolve("shop/2");
  ASSERT_NE(a, b);
  auto merged = s->Merge(a, b, "api:ops", "same person, confirmed by phone");
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(*merged, a);
  EXPECT_EQ(*s->Resolve(b), a);
  auto view = Json(*s->View(b));
  EXPECT_STREQ(view["id"].GetString(), a.c_str());
  EXPECT_STREQ(view["resolved_from"].GetString(), b.c_str());
  EXPECT_STREQ(view["merged_ids"][0].GetString(), b.c_str());
  EXPECT_EQ(view["golden"]["mobiles"].Size(), 2u);
  EXPECT_EQ(s->Merge(a, b, "api:ops", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->Merge(a, "G999", "api:ops", "").status().code(), StatusCode::kNotFound);
}

TEST(MasterStore, ReviewItemsAreAcceptedOrRejected) {
  TempFile tmp;
  MasterOptions o;
  o.match.match_threshold = 100;  // everything that scores is a review item here
  o.match.review_threshold = 1;
  auto s = Open(tmp.path(), o);
  ApplyOk(*s, {In("e1", Customer("erp", "1", "刘洋", "13300133000"))});
  ApplyOk(*s, {In("e2", Customer("shop", "2", "刘洋", "13300133000"))});
  ApplyOk(*s, {In("e3", Customer("erp", "3", "黄艳", "13200132000"))});
  ApplyOk(*s, {In("e4", Customer("shop", "4", "黄艳", "13200132000"))});
  auto open = s->Reviews("open", 10);
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 2u);
  EXPECT_EQ((*open)[0].record, "shop/2");
  EXPECT_EQ((*open)[0].candidate, "erp/1");
  EXPECT_NE((*open)[0].terms_json.find("mobile"), std::string::npos) << (*open)[0].terms_json;
  ASSERT_TRUE(s->DecideReview((*open)[0].id, true, "api:ops", "").ok());
  ASSERT_TRUE(s->DecideReview((*open)[1].id, false, "api:ops", "twins").ok());
  EXPECT_EQ(*s->Resolve("shop/2"), *s->Resolve("erp/1"));
  EXPECT_NE(*s->Resolve("shop/4"), *s->Resolve("erp/3"));
  EXPECT_EQ(s->DecideReview((*open)[0].id, true, "api:ops", "").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(s->Reviews("open", 10)->empty());
  EXPECT_EQ(s->Reviews("", 10)->size(), 2u);
}

TEST(MasterStore, TheViewCountsOrdersOfEveryLinkedRecordAndGuestOrdersByMobile) {
  TempFile tmp;
  auto s = Open(tmp.path());
  ApplyOk(*s, {In("e1", Customer("kingdee", "D1", "杨军", "13100131000",
                                 "\"ext\":{\"follow_userid\":\"sales-zhang\"}"))});
  ApplyOk(*s, {In("e2", Customer("shopify", "55", "杨军", "13100131000"))});
  auto order = [](const std::string& system, const std::string& no, const std::string& buyer, const std::string& status,
                  const std::string& total) {
    return MasterInput{"o-" + system + no, "com.channelhub.order.upserted",
                       R"({"order_no":")" + no + R"(","source":{"system":")" + system +
                           R"(","id":")" + no + R"("},"channel":"ecommerce",)" + buyer + R"("status":")" + status +
                           R"(","currency":"CNY","lines":[],"totals":{"total":")" + total + R"("},"created_at":"2026-01-0)" +
                           no.substr(no.size() - 1) + R"(T00:00:00Z"})",
                       0};
  };
  ApplyOk(*s, {order("shopify", "1001", R"("buyer":{"source":{"system":"shopify","id":"55"}},)", "paid", "100.50"),
               order("shopify", "1002", R"("buyer":{"source":{"system":"shopify","id":"55"}},)", "cancelled", "20.00"),
               order("youzan", "2003", R"("buyer":{"name":"guest","mobile":"+8613100131000"},)", "delivered", "9.50"),
               order("youzan", "2004", R"("buyer":{"name":"other","mobile":"+8613999999999"},)", "paid", "1.00")});
  auto view = Json(*s->View("G1"));
  EXPECT_EQ(view["orders"]["count"].GetInt(), 3);
  EXPECT_STREQ(view["orders"]["total"]["CNY"].GetString(), "110.00") << "a cancelled order does not count";
  EXPECT_EQ(view["orders"]["open"].GetInt(), 1);
  EXPECT_STREQ(view["orders"]["last_order"]["order_no"].GetString(), "2003");
  EXPECT_STREQ(view["wecom_followers"][0]["userid"].GetString(), "sales-zhang");
}

TEST(MasterStore, SearchByPhoneEmailNameCreditCodeAndSource) {
  TempFile tmp;
  auto s = Open(tmp.path());
  ApplyOk(*s, {In("e1", Customer("erp", "1", "吴敏", "13000130000", "\"emails\":[\"wm@example.com\"]"))});
  ApplyOk(*s, {In("e2", R"({"kind":"company","name":"深圳市腾讯计算机系统有限公司","credit_code":"91440300708461136T","source":{"system":"erp","id":"T"}})")});
  auto ids = [&](SearchQuery q) {
    auto r = s->Search(q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    auto d = Json(*r);
    std::vector<std::string> out;
    for (const auto& x : d.GetArray()) out.push_back(x["id"].GetString());
    return out;
  };
  const std::string wu = *s->Resolve("erp/1"), tx = *s->Resolve("erp/T");
  EXPECT_EQ(ids({.phone = "130-0013-0000"}), std::vector<std::string>{wu});
  EXPECT_EQ(ids({.email = " WM@example.com "}), std::vector<std::string>{wu});
  EXPECT_EQ(ids({.name = "吴"}), std::vector<std::string>{wu});
  EXPECT_EQ(ids({.name = "腾讯"}), std::vector<std::string>{tx});
  EXPECT_EQ(ids({.credit_code = "91440300708461136t"}), std::vector<std::string>{tx});
  EXPECT_EQ(ids({.source = "erp:T"}), std::vector<std::string>{tx});
  EXPECT_TRUE(ids({.phone = "13000130000", .name = "腾讯"}).empty()) << "criteria combine";
  EXPECT_EQ(s->Search({.phone = "not a phone"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->Search({}).status().code(), StatusCode::kInvalidArgument);
}

TEST(MasterStore, SurvivorshipRulesPerAttribute) {
  TempFile tmp;
  MasterOptions o;
  o.survivorship.by_attribute["name"] = {SurvivorshipRule::kMostFrequent, {}};
  o.survivorship.by_attribute["tier"] = {SurvivorshipRule::kNonEmpty, {}};
  o.survivorship.by_attribute["region"] = {SurvivorshipRule::kMostRecent, {}};
  auto s = Open(tmp.path(), o);
  ApplyOk(*s, {In("e1", Customer("a", "1", "孙丽", "13800000001", "\"tier\":\"bronze\",\"region\":\"north\""), 1000)});
  ApplyOk(*s, {In("e2", Customer("b", "1", "孫麗", "13800000001", "\"tier\":\"gold\",\"region\":\"south\""), 3000)});
  ApplyOk(*s, {In("e3", Customer("c", "1", "孙丽", "13800000001", "\"region\":\"east\""), 2000)});
  auto v = Json(*s->View("a/1"));
  EXPECT_STREQ(v["golden"]["name"].GetString(), "孙丽") << "two of three records say so";
  EXPECT_STREQ(v["golden"]["tier"].GetString(), "bronze") << "the first record linked that has one";
  EXPECT_STREQ(v["golden"]["region"].GetString(), "south") << "the newest record";
  EXPECT_STREQ(v["origins"]["region"]["system"].GetString(), "b");
}

// The erasure test, plain and with encryption at rest (options.keyring).
void CheckErasure(const MasterOptions& options) {
  TempFile tmp;
  auto s = Open(tmp.path(), options);
  ApplyOk(*s, {In("e1", Customer("erp", "1", "欧阳娜娜", "13812345678", "\"emails\":[\"nana@example.com\"]"))});
  ApplyOk(*s, {In("e2", Customer("shop", "9", "欧阳娜娜", "13812345678"))});
  ApplyOk(*s, {In("e3", Customer("erp", "2", "别人", "13700000000"))});
  ApplyOk(*s, {{"o1", "com.channelhub.order.upserted",
                R"({"order_no":"1","source":{"system":"shop","id":"1"},"channel":"ecommerce","buyer":{"source":{"system":"shop","id":"9"}},"status":"paid","currency":"CNY","lines":[],"totals":{"total":"1.00"}})",
                0}});
  const std::string g = *s->Resolve("shop/9");
  EXPECT_EQ(s->Erase("shop/9", "api:dpo", "").status().code(), StatusCode::kInvalidArgument) << "a reason is required";
  auto e = s->Erase("shop/9", "api:dpo", "PIPL request 2026-0042");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->golden_id, g);
  EXPECT_EQ(e->records.size(), 2u);
  for (const char* needle : {"+8613812345678", "13812345678", "138 1234 5678", "138-1234-5678", "nana@example.com"}) {
    EXPECT_NE(std::find(e->needles.begin(), e->needles.end(), needle), e->needles.end()) << needle;
  }
  EXPECT_EQ(s->View(g).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s->View("erp/1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Json(*s->Search({.phone = "13812345678"})).Size(), 0u);
  EXPECT_EQ(s->Stats()->records, 1);
  EXPECT_EQ(s->Stats()->goldens, 1);
  EXPECT_EQ(s->Stats()->orders, 0);
  auto audit = Json(*s->Audit(10));
  EXPECT_STREQ(audit[audit.Size() - 1]["action"].GetString(), "customers.erase");
  EXPECT_EQ(std::string(audit[audit.Size() - 1]["detail"].GetString()).find("欧阳"), std::string::npos);
  // A new record with the same phone starts afresh: nothing of the erased person is matched.
  ApplyOk(*s, {In("e4", Customer("wecom", "w", "欧阳娜娜", "13812345678"))});
  EXPECT_EQ(Json(*s->View("wecom/w"))["records"].Size(), 1u);
  s.reset();
  std::string bytes;
  for (const char* file : {"master.db", "master.db-wal"}) {
    std::ifstream f(tmp.path(file), std::ios::binary);
    bytes.append(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  EXPECT_EQ(bytes.find("nana@example.com"), std::string::npos) << "the erased e-mail is not in the files";
  if (options.keyring) {
    EXPECT_EQ(bytes.find("13700000000"), std::string::npos) << "sealed: nobody is in clear";
  }
}

TEST(MasterStore, ErasureRemovesThePersonAndSaysWhatTheJournalMustErase) { CheckErasure({}); }

TEST(MasterStore, ErasureWorksTheSameWhenEncrypted) {
  MasterOptions o;
  o.keyring = *seal::Keyring::Create(std::string(32, 'k'));
  CheckErasure(o);
}

TEST(MasterStore, ReopenedStoreMatchesAgainstWhatItHad) {
  TempFile tmp;
  {
    auto s = Open(tmp.path());
    ApplyOk(*s, {In("e1", Customer("erp", "1", "郑洁", "13900000002"))});
  }
  auto s = Open(tmp.path());
  EXPECT_EQ(s->indexed(), 1u);
  auto found = Json(*s->Search({.phone = "13900000002"}));
  ASSERT_EQ(found.Size(), 1u) << "the search keys are rebuilt in memory at open";
  ApplyOk(*s, {In("e2", Customer("shop", "1", "郑洁", "139 0000 0002"))});
  EXPECT_EQ(*s->Resolve("shop/1"), *s->Resolve("erp/1"));
  found = Json(*s->Search({.phone = "13900000002", .name = "郑"}));
  ASSERT_EQ(found.Size(), 1u) << "two records, one golden record";
  EXPECT_EQ(std::string(found[0]["id"].GetString()), *s->Resolve("erp/1"));
  // A record whose phone changes is found by the new one only.
  ApplyOk(*s, {In("e3", Customer("shop", "1", "郑洁", "13900000003"))});
  EXPECT_EQ(Json(*s->Search({.phone = "13900000003"})).Size(), 1u);
  EXPECT_EQ(Json(*s->Search({.phone = "13900000002"})).Size(), 1u) << "the ERP record still has it";
}

TEST(MasterStore, VersionsInTheEarlierLayoutAreMovedAtOpen) {
  TempFile tmp;
  std::string g;
  {
    auto s = Open(tmp.path());
    ApplyOk(*s, {In("e1", Customer("erp", "1", "冯涛", "13600000001"))});
    ApplyOk(*s, {In("e2", Customer("erp", "1", "冯涛", "13600000002"))});
    g = *s->Resolve("erp/1");
  }
  {  // the table as versions before this one wrote it: clustered by (golden, version)
    auto db = journal::Database::Open(tmp.path(), 1000);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Exec("CREATE TABLE v0(golden INTEGER NOT NULL, version INTEGER NOT NULL, at_ms INTEGER NOT NULL, "
                            "cause TEXT NOT NULL, event_id TEXT NOT NULL, actor TEXT NOT NULL, doc TEXT NOT NULL, "
                            "PRIMARY KEY(golden, version)) WITHOUT ROWID;"
                            "INSERT INTO v0 SELECT golden, version, at_ms, cause, event_id, actor, doc FROM versions;"
                            "DROP TABLE versions; ALTER TABLE v0 RENAME TO versions;")
                    .ok());
  }
  auto s = Open(tmp.path());
  auto history = Json(*s->History(g));
  ASSERT_EQ(history.Size(), 2u) << "both versions were moved";
  EXPECT_EQ(history[1]["version"].GetInt(), 2);
  auto view = Json(*s->View(g));
  ASSERT_EQ(view["golden"]["mobiles"].Size(), 1u);
  EXPECT_STREQ(view["golden"]["mobiles"][0].GetString(), "+8613600000002") << "the record as it is now";
  ApplyOk(*s, {In("e3", Customer("erp", "1", "冯涛", "13600000003"))});
  EXPECT_EQ(Json(*s->History(g)).Size(), 3u) << "and new ones follow them";
  auto db = journal::Database::Open(tmp.path(), 1000);
  auto q = (*db)->Prepare("SELECT sql FROM sqlite_master WHERE name='versions'");
  ASSERT_TRUE(q.ok());
  Status step;
  ASSERT_TRUE(q->Step(&step));
  EXPECT_EQ(q->TextView(0).find("WITHOUT ROWID"), std::string_view::npos);
}

}  // namespace
}  // namespace channelhub::master
