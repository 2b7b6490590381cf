#include "hub/master/matcher.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <tuple>

namespace channelhub::master {
namespace {

using model::CustomerKind;

model::Customer Person(std::string name, std::vector<std::string> mobiles = {},
                       std::vector<std::string> emails = {}, std::string line = {}) {
  model::Customer c;
  c.kind = CustomerKind::kPerson;
  c.name = std::move(name);
  c.mobiles = std::move(mobiles);
  c.emails = std::move(emails);
  if (!line.empty()) {
    model::Address a;
    a.line = std::move(line);
    c.addresses.push_back(a);
  }
  return c;
}

model::Customer Company(std::string name, std::string credit_code, std::string line = {}) {
  model::Customer c = Person(std::move(name), {}, {}, std::move(line));
  c.kind = CustomerKind::kCompany;
  c.credit_code = std::move(credit_code);
  return c;
}

TEST(MatchConfig, DefaultsAreValidAndChecked) {
  MatchConfig c;
  EXPECT_EQ(c.Check(), "");
  c.review_threshold = c.match_threshold + 1;
  EXPECT_NE(c.Check(), "");
  c = MatchConfig();
  c.blocking.push_back({{"shoe_size"}});
  EXPECT_NE(c.Check().find("shoe_size"), std::string::npos);
  c = MatchConfig();
  c.name.levels = {{0.5, 1.0}, {0.9, 2.0}};
  EXPECT_NE(c.Check(), "");
  c = MatchConfig();
  c.name.homophone_cost = 1.5;
  EXPECT_NE(c.Check().find("homophone_cost"), std::string::npos);
}

TEST(Score, SameCreditCodeMatchesDespiteDifferentNames) {
  MatchConfig cfg;
  auto a = Normalize(Company("腾讯科技有限公司", "91440300708461136T"));
  auto b = Normalize(Company("深圳腾讯", "9144 0300 7084 6113 6T"));
  ScoreResult r = Score(a, b, cfg);
  EXPECT_EQ(r.rule, MatchRule::kSameCreditCode);
  EXPECT_EQ(Decide(r.score, cfg), Decision::kMatch);
}

TEST(Score, ConflictingValidCreditCodesNeverMatch) {
  MatchConfig cfg;
  auto a = Normalize(Company("华为技术有限公司", "914403001922038216", "广东省深圳市龙岗区坂田华为基地"));
  auto b = Normalize(Company("华为技术有限公司", "91350100M000100Y43", "广东省深圳市龙岗区坂田华为基地"));
  ScoreResult r = Score(a, b, cfg);
  EXPECT_EQ(r.rule, MatchRule::kCreditCodeConflict);
  EXPECT_EQ(Decide(r.score, cfg), Decision::kNew);
  // An invalid (mistyped) code is no conflict: the weighted rules decide, and one typo is close.
  auto c = Normalize(Company("华为技术有限公司", "914403001922038217", "广东省深圳市龙岗区坂田华为基地"));
  ASSERT_EQ(c.credit_code_status, CreditCodeStatus::kInvalid);
  r = Score(a, c, cfg);
  EXPECT_EQ(r.rule, MatchRule::kWeighted);
  EXPECT_EQ(Decide(r.score, cfg), Decision::kMatch) << r.score;
}

TEST(Score, UnionidOnlyWithinTheSameCorp) {
  MatchConfig cfg;
  model::Customer x = Person("张伟");
  x.wecom.unionid = "oABC";
  model::Customer y = Person("Zhang Wei");
  y.wecom.unionid = "oABC";
  auto a = Normalize(x, {.wecom_corp = "corp1"});
  auto b = Normalize(y, {.wecom_corp = "corp1"});
  EXPECT_EQ(Score(a, b, cfg).rule, MatchRule::kSameUnionid);
  auto c = Normalize(y, {.wecom_corp = "corp2"});
  EXPECT_EQ(Score(a, c, cfg).rule, MatchRule::kWeighted);
  EXPECT_NE(Decide(Score(a, c, cfg).score, cfg), Decision::kMatch);

  Matcher m(cfg);
  m.Add("a", a);
  EXPECT_EQ(m.Candidates(b), std::vector<std::string>{"a"});
  EXPECT_TRUE(m.Candidates(c).empty());  // blocked per corp too
}

TEST(Score, PhoneAndNameVariantsMatch) {
  MatchConfig cfg;
  auto a = Normalize(Person("張偉", {"138 0013 8000"}, {}, "北京市朝阳区建国路88号"));
  auto b = Normalize(Person("张伟", {"+86-138-0013-8000"}, {}, "北京朝阳区建国路88号"));
  std::vector<ScoreTerm> terms;
  ScoreResult r = Score(a, b, cfg, &terms);
  EXPECT_EQ(Decide(r.score, cfg), Decision::kMatch) << r.score;
  EXPECT_FALSE(terms.empty());
  double sum = 0;
  for (const auto& t : terms) sum += t.weight;
  EXPECT_DOUBLE_EQ(sum, r.score);
}

TEST(Score, SharedFamilyPhoneIsNotAMatch) {
  MatchConfig cfg;
  auto parent = Normalize(Person("王建国", {"13912345678"}, {}, "上海市徐汇区漕溪北路1号"));
  auto child = Normalize(Person("王小明", {"13912345678"}, {}, "上海市徐汇区漕溪北路1号"));
  EXPECT_NE(Decide(Score(parent, child, cfg).score, cfg), Decision::kMatch);
}

TEST(Score, HomophoneTypoMatchesWhereAnotherCharacterDoesNot) {
  MatchConfig cfg;
  // The input method offered 玮 for wei: the same person, with the phone and the address.
  auto a = Normalize(Person("王伟", {"13912345678"}, {}, "上海市徐汇区漕溪北路1号"));
  auto typo = Normalize(Person("王玮", {"13912345678"}, {}, "上海市徐汇区漕溪北路1号"));
  EXPECT_EQ(Decide(Score(a, typo, cfg).score, cfg), Decision::kMatch);
  // A relative sharing the phone and the address has a name that sounds different.
  auto relative = Normalize(Person("王强", {"13912345678"}, {}, "上海市徐汇区漕溪北路1号"));
  EXPECT_EQ(Decide(Score(a, relative, cfg).score, cfg), Decision::kNew);
  // Three characters with one homophone and the phone alone are enough; two are reviewed.
  auto three = Normalize(Person("李晓伟", {"13912345678"}));
  auto three_typo = Normalize(Person("李晓玮", {"13912345678"}));
  EXPECT_EQ(Decide(Score(three, three_typo, cfg).score, cfg), Decision::kMatch);
  auto two = Normalize(Person("王伟", {"13912345678"}));
  auto two_typo = Normalize(Person("王玮", {"13912345678"}));
  EXPECT_EQ(Decide(Score(two, two_typo, cfg).score, cfg), Decision::kReview);
  // At homophone_cost 1 a homophone is any other character again.
  cfg.name.homophone_cost = 1.0;
  EXPECT_NE(Decide(Score(a, typo, cfg).score, cfg), Decision::kMatch);
}

TEST(Score, PinyinNameMatchesTheCharacters) {
  MatchConfig cfg;
  auto hanzi = Normalize(Person("張偉明", {"13912345678"}));
  for (const char* latin : {"Zhang Weiming", "ZHANG Wei Ming", "Weiming Zhang"}) {
    auto p = Normalize(Person(latin, {"+86 139 1234 5678"}));
    EXPECT_EQ(Decide(Score(hanzi, p, cfg).score, cfg), Decision::kMatch) << latin;
    EXPECT_EQ(Score(hanzi, p, cfg).score, Score(p, hanzi, cfg).score) << latin;
  }
  // Another given name in pinyin on the same phone is no match.
  auto other = Normalize(Person("Zhang Fang", {"13912345678"}));
  EXPECT_EQ(Decide(Score(hanzi, other, cfg).score, cfg), Decision::kNew);
  // Two relatives in pinyin on the same phone and address: compared syllable by syllable.
  auto lei = Normalize(Person("Huang Lei", {"13912345678"}, {}, "上海市徐汇区漕溪北路1号"));
  auto zihui = Normalize(Person("HUANG Zihui", {"13912345678"}, {}, "上海市徐汇区漕溪北路1号"));
  EXPECT_EQ(Decide(Score(lei, zihui, cfg).score, cfg), Decision::kNew);
  auto lei2 = Normalize(Person("Lei Huang", {"13912345678"}, {}, "上海市徐汇区漕溪北路1号"));
  EXPECT_EQ(Decide(Score(lei, lei2, cfg).score, cfg), Decision::kMatch);
  // Latin names that are not pinyin are compared as before (Jaro-Winkler).
  auto smith = Normalize(Person("John Smith"));
  auto smith2 = Normalize(Person("Smith John"));
  EXPECT_DOUBLE_EQ(cfg.name.Similarity(smith.name_key, smith2.name_key), 1.0);
}

TEST(Score, BranchOfficeIsNotTheHeadOffice) {
  MatchConfig cfg;
  model::Customer head = Company("华为技术有限公司", "");
  head.mobiles = {"075528780808"};
  model::Customer branch = Company("华为技术有限公司北京分公司", "");
  branch.mobiles = {"075528780808"};
  EXPECT_EQ(Decide(Score(Normalize(head), Normalize(branch), cfg).score, cfg), Decision::kNew);
  // Two spellings of the same head office do match.
  model::Customer head2 = Company("華為技術有限公司", "");
  head2.mobiles = {"0755-2878 0808"};
  EXPECT_EQ(Decide(Score(Normalize(head), Normalize(head2), cfg).score, cfg), Decision::kMatch);
}

TEST(Score, CompanyNameRegions) {
  MatchConfig cfg;
  model::Customer a = Company("深圳市腾讯计算机系统有限公司", "");
  a.mobiles = {"075586013388"};
  model::Customer b = Company("腾讯计算机系统有限公司", "");
  b.mobiles = {"0755-86013388"};
  EXPECT_EQ(Decide(Score(Normalize(a), Normalize(b), cfg).score, cfg), Decision::kMatch);
  model::Customer c = Company("上海腾讯计算机系统有限公司", "");
  c.mobiles = {"0755-86013388"};
  std::vector<ScoreTerm> terms;
  EXPECT_NE(Decide(Score(Normalize(a), Normalize(c), cfg, &terms).score, cfg), Decision::kMatch);
  EXPECT_TRUE(std::any_of(terms.begin(), terms.end(),
                          [](const ScoreTerm& t) { return t.comparison == "region_conflict"; }));
}

TEST(Score, PersonAgainstCompanyIsPenalised) {
  MatchConfig cfg;
  auto p = Normalize(Person("美的", {"13800138000"}));
  model::Customer co = Company("美的", "");
  co.mobiles = {"13800138000"};
  std::vector<ScoreTerm> terms;
  Score(p, Normalize(co), cfg, &terms);
  EXPECT_TRUE(std::any_of(terms.begin(), terms.end(),
                          [](const ScoreTerm& t) { return t.comparison == "kind_conflict"; }));
}

TEST(Score, SymmetricOverManyPairs) {
  MatchConfig cfg;
  std::vector<NormalizedCustomer> rs = {
      Normalize(Person("张伟", {"13800138000"}, {"zw@a.cn"}, "北京市朝阳区建国路88号")),
      Normalize(Person("张玮", {"13800138001"}, {"zw@a.cn"}, "北京市朝阳区建国路86号")),
      Normalize(Company("华为技术有限公司北京分公司", "91350100M000100Y43")),
      Normalize(Company("华为技术有限公司", "914403001922038216", "深圳市龙岗区坂田")),
      Normalize(Person("John Smith", {}, {"J.Smith@x.com"})),
      Normalize(Person("smith john", {}, {"j.smith@x.com"})),
  };
  for (const auto& a : rs) {
    for (const auto& b : rs) {
      EXPECT_DOUBLE_EQ(Score(a, b, cfg).score, Score(b, a, cfg).score);
      EXPECT_EQ(Score(a, b, cfg).rule, Score(b, a, cfg).rule);
    }
  }
  EXPECT_EQ(Decide(Score(rs[4], rs[5], cfg).score, cfg), Decision::kMatch);
}

TEST(Decide, Thresholds) {
  MatchConfig cfg;
  cfg.match_threshold = 8;
  cfg.review_threshold = 5;
  EXPECT_EQ(Decide(8.0, cfg), Decision::kMatch);
  EXPECT_EQ(Decide(7.99, cfg), Decision::kReview);
  EXPECT_EQ(Decide(5.0, cfg), Decision::kReview);
  EXPECT_EQ(Decide(4.99, cfg), Decision::kNew);
  EXPECT_EQ(DecisionName(Decision::kReview), "review");
}

TEST(Matcher, BlockingByEachKey) {
  Matcher m;
  m.Add("by-mobile", Normalize(Person("甲", {"13800138000"})));
  m.Add("by-email", Normalize(Person("乙", {}, {"x@y.cn"})));
  m.Add("by-code", Normalize(Company("丙有限公司", "91110000600037341L")));
  m.Add("by-name-city", Normalize(Person("赵六", {}, {}, "浙江省杭州市西湖区文三路1号")));
  m.Add("other", Normalize(Person("赵六", {}, {}, "浙江省宁波市海曙区1号")));
  EXPECT_EQ(m.size(), 5u);

  EXPECT_EQ(m.Candidates(Normalize(Person("x", {"+8613800138000"}))), std::vector<std::string>{"by-mobile"});
  EXPECT_EQ(m.Candidates(Normalize(Person("x", {}, {"X@Y.CN"}))), std::vector<std::string>{"by-email"});
  EXPECT_EQ(m.Candidates(Normalize(Company("x", "91110000600037341l"))), std::vector<std::string>{"by-code"});
  EXPECT_EQ(m.Candidates(Normalize(Person("趙六", {}, {}, "杭州市上城区1号"))),
            std::vector<std::string>{"by-name-city"});
  EXPECT_TRUE(m.Candidates(Normalize(Person("无关", {"13900000000"}))).empty());
}

TEST(Matcher, AddReplacesAndRemoveForgets) {
  Matcher m;
  m.Add("c1", Normalize(Person("李雷", {"13800138000"})));
  m.Add("c1", Normalize(Person("李雷", {"13900139000"})));
  EXPECT_EQ(m.size(), 1u);
  EXPECT_TRUE(m.Candidates(Normalize(Person("李雷", {"13800138000"}))).empty());
  EXPECT_EQ(m.Candidates(Normalize(Person("李雷", {"13900139000"}))), std::vector<std::string>{"c1"});
  ASSERT_NE(m.Find("c1"), nullptr);
  EXPECT_EQ(m.Find("c1")->mobiles, std::vector<std::string>{"+8613900139000"});
  EXPECT_TRUE(m.Remove("c1"));
  EXPECT_FALSE(m.Remove("c1"));
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(m.Find("c1"), nullptr);
  EXPECT_TRUE(m.Candidates(Normalize(Person("李雷", {"13900139000"}))).empty());
}

TEST(Matcher, MatchIsSortedBestFirst) {
  Matcher m;
  m.Add("weak", Normalize(Person("韩梅", {"13800138000"})));
  m.Add("strong", Normalize(Person("韩梅梅", {"13800138000"}, {"hmm@x.cn"})));
  auto results = m.Match(Normalize(Person("韩梅梅", {"138-0013-8000"}, {"HMM@x.cn"})));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].id, "strong");
  EXPECT_EQ(results[0].decision, Decision::kMatch);
  EXPECT_GT(results[0].score, results[1].score);
}

TEST(Matcher, OversizedBlocksAreSkipped) {
  MatchConfig cfg;
  cfg.max_block_size = 3;
  Matcher m(cfg);
  for (int i = 0; i < 4; ++i) {
    m.Add("shared" + std::to_string(i), Normalize(Person("客户" + std::to_string(i), {"4008001234"})));
  }
  // A switchboard number shared by four records is no longer a useful key.
  EXPECT_TRUE(m.Candidates(Normalize(Person("x", {"400-800-1234"}))).empty());
}

// The pairwise decisions do not depend on the order records arrive in.
TEST(Matcher, PairwiseDecisionsIndependentOfArrivalOrder) {
  std::vector<std::pair<std::string, NormalizedCustomer>> records = {
      {"r1", Normalize(Person("张伟", {"13800138000"}, {}, "北京市朝阳区建国路88号"))},
      {"r2", Normalize(Person("張偉", {"8613800138000"}, {}, "北京朝阳区建国路88号"))},
      {"r3", Normalize(Person("张伟", {"13900000001"}, {"zw@x.cn"}, "北京市朝阳区建国路88号"))},
      {"r4", Normalize(Person("张伟", {}, {"ZW@x.cn"}))},
      {"r5", Normalize(Person("王芳", {"13800138000"}))},
      {"r6", Normalize(Company("华为技术有限公司", "914403001922038216"))},
      {"r7", Normalize(Company("華為技術有限公司", "914403001922038216"))},
  };
  auto decisions = [](const std::vector<std::pair<std::string, NormalizedCustomer>>& order) {
    Matcher m;
    std::set<std::tuple<std::string, std::string, int>> out;
    for (const auto& [id, rec] : order) {
      for (const MatchResult& r : m.Match(rec)) {
        auto [lo, hi] = std::minmax(id, r.id);
        out.insert({lo, hi, static_cast<int>(r.decision)});
      }
      m.Add(id, rec);
    }
    return out;
  };
  const auto expected = decisions(records);
  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    std::shuffle(records.begin(), records.end(), rng);
    EXPECT_EQ(decisions(records), expected) << "round " << round;
  }
}

}  // namespace
}  // namespace channelhub::master
