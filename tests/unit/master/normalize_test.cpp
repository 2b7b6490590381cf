#include "hub/master/normalize.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace channelhub::master {
namespace {

using model::CustomerKind;

TEST(NormalizeText, NfkcFullWidthAndWhitespace) {
  EXPECT_EQ(NormalizeText("  Ａｂｃ\xe3\x80\x80１２３  "), "Abc 123");  // full-width, U+3000
  EXPECT_EQ(NormalizeText("a \t\n b"), "a b");
  EXPECT_EQ(NormalizeText("a\xe2\x80\x8b" "b"), "ab");  // zero-width space (format) dropped
  EXPECT_EQ(NormalizeText("\xef\xac\x81"), "fi");       // ligature, a compatibility form
  EXPECT_EQ(NormalizeText(std::string("x\xffy", 3)), "x\xef\xbf\xbdy");  // repaired, not dropped
  EXPECT_EQ(NormalizeText(""), "");
}

TEST(NormalizeText, TraditionalToSimplified) {
  ASSERT_TRUE(SimplifiedChineseAvailable()) << "OpenCC t2s.json could not be loaded";
  EXPECT_EQ(ToSimplified("張偉"), "张伟");
  EXPECT_EQ(ToSimplified("廣東省深圳市"), "广东省深圳市");
  EXPECT_EQ(ToSimplified("abc"), "abc");
}

TEST(NormalizeMobile, ChineseFormats) {
  for (const char* raw : {"13800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000",
                          "0086 13800138000", "8613800138000", "86 138 0013 8000",
                          "１３８００１３８０００"}) {
    EXPECT_EQ(NormalizeMobile(raw).value_or("<none>"), "+8613800138000") << raw;
  }
  EXPECT_EQ(NormalizeMobile("+1 415 555 2671").value_or("<none>"), "+14155552671");
  EXPECT_FALSE(NormalizeMobile("12345").has_value());
  EXPECT_FALSE(NormalizeMobile("call me").has_value());
  EXPECT_FALSE(NormalizeMobile("").has_value());
}

TEST(NormalizeEmail, TrimsAndLowers) {
  EXPECT_EQ(NormalizeEmail("  Zhang.Wei@Example.COM ").value_or("<none>"), "zhang.wei@example.com");
  EXPECT_EQ(NormalizeEmail("ｚｗ＠ｅｘａｍｐｌｅ．ｃｎ").value_or("<none>"), "zw@example.cn");
  EXPECT_FALSE(NormalizeEmail("not-an-email").has_value());
}

TEST(CreditCode, CheckDigit) {
  EXPECT_TRUE(IsValidCreditCode("91350100M000100Y43"));
  EXPECT_TRUE(IsValidCreditCode("91110000600037341L"));
  EXPECT_TRUE(IsValidCreditCode("914403001922038216"));
  EXPECT_FALSE(IsValidCreditCode("91350100M000100Y44"));  // wrong check digit
  EXPECT_FALSE(IsValidCreditCode("91350100M000100Y4"));   // 17 characters
  EXPECT_FALSE(IsValidCreditCode("91350100I000100Y43"));  // I is not in the alphabet
  EXPECT_EQ(CreditCodeCheckChar("91110000600037341").value_or('?'), 'L');
  EXPECT_FALSE(CreditCodeCheckChar("9111000060003734").has_value());

  auto [code, status] = NormalizeCreditCode(" ９１３５０１００ｍ０００１００ｙ４３ ");
  EXPECT_EQ(code, "91350100M000100Y43");
  EXPECT_EQ(status, CreditCodeStatus::kValid);
  auto [bad, bad_status] = NormalizeCreditCode("91350100-M000100Y-44");
  EXPECT_EQ(bad, "91350100M000100Y44");  // flagged, kept
  EXPECT_EQ(bad_status, CreditCodeStatus::kInvalid);
  EXPECT_EQ(NormalizeCreditCode("  ").second, CreditCodeStatus::kAbsent);
}

TEST(CompanyNames, LegalFormsAndBranches) {
  CompanyName c = SplitCompanyName("华为技术有限公司");
  EXPECT_EQ(c.base, "华为技术");
  EXPECT_EQ(c.legal_form, "有限公司");
  EXPECT_EQ(c.branch, "");

  c = SplitCompanyName("华为技术有限公司北京分公司");
  EXPECT_EQ(c.base, "华为技术");
  EXPECT_EQ(c.legal_form, "有限公司");
  EXPECT_EQ(c.branch, "北京分公司");

  c = SplitCompanyName("海远机械武汉分公司");  // no legal form: the place is found anyway
  EXPECT_EQ(c.base, "海远机械");
  EXPECT_EQ(c.branch, "武汉分公司");
  c = SplitCompanyName("海远机械哈尔滨分公司");
  EXPECT_EQ(c.base, "海远机械");
  EXPECT_EQ(c.branch, "哈尔滨分公司");

  c = SplitCompanyName("美的集团股份有限公司");
  EXPECT_EQ(c.base, "美的");
  EXPECT_EQ(c.legal_form, "集团股份有限公司");

  c = SplitCompanyName("上海某某贸易有限责任公司");
  EXPECT_EQ(c.base, "某某贸易");
  EXPECT_EQ(c.region, "上海");
  EXPECT_EQ(c.legal_form, "有限责任公司");

  c = SplitCompanyName("acme trading co., ltd.");
  EXPECT_EQ(c.base, "acmetrading");
  EXPECT_EQ(c.legal_form, "co ltd");

  c = SplitCompanyName("深圳市腾讯计算机系统有限公司");
  EXPECT_EQ(c.base, "腾讯计算机系统");
  EXPECT_EQ(c.region, "深圳");
  c = SplitCompanyName("广东省深圳市腾讯计算机系统有限公司");
  EXPECT_EQ(c.base, "腾讯计算机系统");
  EXPECT_EQ(c.region, "深圳");
  c = SplitCompanyName("北京京东世纪贸易有限公司");
  EXPECT_EQ(c.base, "京东世纪贸易");
  EXPECT_EQ(c.region, "北京");
  c = SplitCompanyName("厦门市华海电子有限公司");
  EXPECT_EQ(c.base, "华海电子");
  EXPECT_EQ(c.region, "厦门");
  c = SplitCompanyName("盐城市东方贸易有限公司");
  EXPECT_EQ(c.base, "东方贸易");
  EXPECT_EQ(c.region, "盐城");
  c = SplitCompanyName("华为技术(中国)有限公司");
  EXPECT_EQ(c.base, "华为技术");
  EXPECT_EQ(c.region, "中国");
  // Shops and words ending in 市 are no city; a region never takes the whole name.
  c = SplitCompanyName("天天超市连锁有限公司");
  EXPECT_EQ(c.base, "天天超市连锁");
  EXPECT_EQ(c.region, "");
  c = SplitCompanyName("北京市有限公司");
  EXPECT_EQ(c.region, "");
  // A name that is nothing but a legal form keeps it as its base.
  EXPECT_EQ(SplitCompanyName("有限公司").base, "有限公司");
}

TEST(NormalizeName, PersonsAndCompanies) {
  auto [name, key] = NormalizeName("  張  偉 ", CustomerKind::kPerson);
  EXPECT_EQ(name, "张 伟");
  EXPECT_EQ(key, "张伟");
  EXPECT_EQ(NormalizeName("Smith, John", CustomerKind::kPerson).second,
            NormalizeName("JOHN SMITH", CustomerKind::kPerson).second);
  CompanyName parts;
  auto [cname, ckey] = NormalizeName("華為技術（深圳）有限公司", CustomerKind::kCompany, &parts);
  EXPECT_EQ(cname, "华为技术(深圳)有限公司");
  EXPECT_EQ(ckey, "华为技术");
  EXPECT_EQ(parts.legal_form, "有限公司");
  EXPECT_EQ(parts.region, "深圳");
}

TEST(Provinces, CanonicalNames) {
  EXPECT_EQ(CanonicalProvince("广东"), "广东省");
  EXPECT_EQ(CanonicalProvince("广东省"), "广东省");
  EXPECT_EQ(CanonicalProvince("北京"), "北京市");
  EXPECT_EQ(CanonicalProvince("新疆"), "新疆维吾尔自治区");
  EXPECT_EQ(CanonicalProvince("内蒙古自治区"), "内蒙古自治区");
  EXPECT_EQ(CanonicalProvince("香港"), "香港特别行政区");
  EXPECT_EQ(CanonicalProvince("火星"), "");
}

model::Address Line(std::string line) {
  model::Address a;
  a.line = std::move(line);
  return a;
}

TEST(Addresses, SplitFromOneLine) {
  NormalizedAddress a = NormalizeAddress(Line("广东省深圳市南山区科技园路1号"));
  EXPECT_EQ(a.province, "广东省");
  EXPECT_EQ(a.city, "深圳");
  EXPECT_EQ(a.district, "南山区");
  EXPECT_EQ(a.line, "科技园路1号");

  a = NormalizeAddress(Line("北京市朝阳区建国路88号"));
  EXPECT_EQ(a.province, "北京市");
  EXPECT_EQ(a.city, "北京");
  EXPECT_EQ(a.district, "朝阳区");
  EXPECT_EQ(a.line, "建国路88号");

  a = NormalizeAddress(Line("上海浦东新区世纪大道100号"));
  EXPECT_EQ(a.province, "上海市");
  EXPECT_EQ(a.city, "上海");
  EXPECT_EQ(a.district, "浦东新区");
  EXPECT_EQ(a.line, "世纪大道100号");

  a = NormalizeAddress(Line("江蘇蘇州市昆山市前进中路8号"));  // traditional, short province
  EXPECT_EQ(a.province, "江苏省");
  EXPECT_EQ(a.city, "苏州");
  EXPECT_EQ(a.district, "昆山市");
  EXPECT_EQ(a.line, "前进中路8号");

  a = NormalizeAddress(Line("吉林市船营区北京路1号"));  // the city 吉林, not the province
  EXPECT_EQ(a.province, "");
  EXPECT_EQ(a.city, "吉林");
  EXPECT_EQ(a.district, "船营区");

  a = NormalizeAddress(Line("深圳市阳光小区3栋"));  // a housing estate is no district
  EXPECT_EQ(a.city, "深圳");
  EXPECT_EQ(a.district, "");
  EXPECT_EQ(a.line, "阳光小区3栋");

  a = NormalizeAddress(Line("内蒙古自治区呼和浩特市新城区"));
  EXPECT_EQ(a.province, "内蒙古自治区");
  EXPECT_EQ(a.city, "呼和浩特");
  EXPECT_EQ(a.district, "新城区");
}

TEST(Addresses, StructuredFieldsWin) {
  model::Address in;
  in.province = "廣東";
  in.city = "深圳市";
  in.line = "南山区 科技园路1号";
  in.postcode = " 518057 ";
  in.country = "cn";
  NormalizedAddress a = NormalizeAddress(in);
  EXPECT_EQ(a.province, "广东省");
  EXPECT_EQ(a.city, "深圳");
  EXPECT_EQ(a.district, "南山区");
  EXPECT_EQ(a.line, "科技园路1号");
  EXPECT_EQ(a.key, "科技园路1号");
  EXPECT_EQ(a.postcode, "518057");
  EXPECT_EQ(a.country, "CN");

  // A line that names another city is left whole rather than split against the fields.
  in.line = "广州市天河区体育西路1号";
  a = NormalizeAddress(in);
  EXPECT_EQ(a.city, "深圳");
  EXPECT_EQ(a.district, "");
  EXPECT_EQ(a.line, "广州市天河区体育西路1号");
}

TEST(Normalize, WholeCustomer) {
  model::Customer c;
  c.kind = CustomerKind::kCompany;
  c.name = "深圳市騰訊計算機系統有限公司";
  c.mobiles = {"138-0013-8000", "0086 13800138000", "12", "+86 139 0013 9000"};
  c.emails = {" Info@Tencent.COM", "bad"};
  c.wecom.unionid = " oU123 ";
  c.credit_code = "91440300708461136T";
  c.addresses.push_back(Line("广东省深圳市南山区科技中一路腾讯大厦"));
  NormalizedCustomer n = Normalize(c, {.wecom_corp = "ww-corp-1"});
  EXPECT_EQ(n.name, "深圳市腾讯计算机系统有限公司");
  EXPECT_EQ(n.name_key, "腾讯计算机系统");
  EXPECT_EQ(n.name_region, "深圳");
  EXPECT_EQ(n.legal_form, "有限公司");
  EXPECT_EQ(n.mobiles, (std::vector<std::string>{"+8613800138000", "+8613900139000"}));
  EXPECT_EQ(n.invalid_mobiles, (std::vector<std::string>{"12"}));
  EXPECT_EQ(n.emails, (std::vector<std::string>{"info@tencent.com"}));
  EXPECT_EQ(n.invalid_emails, (std::vector<std::string>{"bad"}));
  EXPECT_EQ(n.wecom_corp, "ww-corp-1");
  EXPECT_EQ(n.wecom_unionid, "oU123");
  EXPECT_EQ(n.credit_code_status, CreditCodeStatus::kValid);
  ASSERT_EQ(n.addresses.size(), 1u);
  EXPECT_EQ(n.city, "深圳");

  c.credit_code = "91440300708461136X";
  EXPECT_EQ(Normalize(c).credit_code_status, CreditCodeStatus::kInvalid);
}

TEST(Normalize, Attributes) {
  NormalizedCustomer n;
  n.SetAttribute("dob", "19560409");
  n.SetAttribute("a", "1");
  n.SetAttribute("z", "2");
  EXPECT_EQ(n.Attribute("dob"), "19560409");
  EXPECT_EQ(n.Attribute("a"), "1");
  EXPECT_EQ(n.Attribute("missing"), "");
  n.SetAttribute("dob", "");
  EXPECT_EQ(n.Attribute("dob"), "");
  EXPECT_EQ(n.attributes.size(), 2u);
}

}  // namespace
}  // namespace channelhub::master

namespace channelhub::master {
namespace {

// Normalize() is called from several pipeline threads at once: OpenCC, utf8proc and the shared
// transforms must give every thread the same answer.
TEST(Normalize, ConcurrentCallsAgree) {
  model::Customer c;
  c.kind = CustomerKind::kCompany;
  c.name = "廣州市華潤萬家超市有限公司天河分公司";
  c.mobiles = {"０２０-８７６５ ４３２１", "+86 139 0013 9000"};
  c.emails = {" Info@Example.COM "};
  c.credit_code = "91350100m000100y43";
  model::Address a;
  a.line = "廣東省廣州市天河區體育西路1號";
  c.addresses.push_back(a);
  const NormalizedCustomer expected = Normalize(c);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        const NormalizedCustomer n = Normalize(c);
        if (n.name != expected.name || n.name_key != expected.name_key || n.mobiles != expected.mobiles ||
            n.addresses.size() != 1 || n.addresses[0].key != expected.addresses[0].key) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(expected.name_key, "华润万家超市");
  EXPECT_EQ(expected.name_region, "广州");
  EXPECT_EQ(expected.branch, "天河分公司");
  EXPECT_EQ(expected.mobiles, (std::vector<std::string>{"+8613900139000", "+862087654321"}));  // sorted
  EXPECT_EQ(expected.credit_code_status, CreditCodeStatus::kValid);
  EXPECT_EQ(expected.city, "广州");
  EXPECT_EQ(expected.addresses[0].district, "天河区");
  EXPECT_EQ(expected.addresses[0].line, "体育西路1号");
}

// Whatever bytes a source system sends, normalisation and scoring neither crash nor produce
// invalid UTF-8 in the name.
TEST(Normalize, ArbitraryBytesAreSafe) {
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<unsigned char>(state >> 56);
  };
  auto junk = [&] {
    std::string s;
    const int n = next() % 40;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>(next()));
    return s;
  };
  std::vector<NormalizedCustomer> all;
  for (int round = 0; round < 300; ++round) {
    model::Customer c;
    c.kind = static_cast<CustomerKind>(round % 3);
    c.name = junk();
    c.mobiles = {junk(), junk()};
    c.emails = {junk()};
    c.credit_code = junk();
    c.wecom.unionid = junk();
    model::Address a;
    a.province = junk();
    a.city = junk();
    a.line = junk();
    a.postcode = junk();
    c.addresses.push_back(a);
    NormalizedCustomer n = Normalize(c);
    EXPECT_EQ(NormalizeText(n.name), n.name);  // already normal, so valid UTF-8 and stable
    all.push_back(std::move(n));
  }
  ASSERT_FALSE(all.empty());
}

}  // namespace
}  // namespace channelhub::master
