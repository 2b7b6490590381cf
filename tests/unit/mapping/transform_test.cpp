#include "hub/mapping/transform.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace channelhub::mapping {
namespace {

using Kind = Scalar::Kind;

TransformArgs Named(std::initializer_list<std::pair<const std::string, std::string>> named) {
  TransformArgs args;
  args.named = named;
  return args;
}

// Compiles a transform that must compile.
std::unique_ptr<Transform> MustCompile(std::string_view name, const TransformArgs& args = {},
                                       const std::string& base_dir = ".") {
  Result<std::unique_ptr<Transform>> t = CompileTransform(name, args, base_dir);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(t).value() : nullptr;
}

// The compile error's message; "" if it compiled.
std::string CompileError(std::string_view name, const TransformArgs& args = {},
                         const std::string& base_dir = ".") {
  Result<std::unique_ptr<Transform>> t = CompileTransform(name, args, base_dir);
  return t.ok() ? "" : t.status().message();
}

// The output text of a string input, or "ERROR: message".
std::string Out(const Transform& t, const Scalar& in) {
  Result<Scalar> out = t.Apply(in);
  if (!out.ok()) return "ERROR: " + out.status().message();
  return out->text();
}
std::string Out(const Transform& t, std::string in) {
  return Out(t, Scalar::String(std::move(in)));
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("transform_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }
  void Write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name, std::ios::binary) << content;
  }

 private:
  std::filesystem::path path_;
};

// --- registry, scalars, arguments ---

TEST(TransformTest, ListsEveryTransformSortedWithDocs) {
  std::vector<TransformInfo> all = ListTransforms();
  std::vector<std::string> names;
  for (const auto& info : all) {
    names.push_back(info.name);
    EXPECT_FALSE(info.summary.empty()) << info.name;
    for (const auto& arg : info.args) EXPECT_FALSE(arg.doc.empty()) << info.name << "." << arg.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{
                       "cents_to_decimal", "datetime_format", "datetime_parse", "decimal",
                       "decimal_to_cents", "default", "email", "halfwidth", "hash", "lookup",
                       "lower", "phone_e164", "regex_replace", "split", "trim", "upper"}));
}

TEST(TransformTest, InfoSignatureMatchesCompiledKinds) {
  for (const TransformInfo& info : ListTransforms()) EXPECT_NE(info.signature, "") << info.name;
  auto t = MustCompile("decimal_to_cents");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->input_kinds().ToString(), "string, decimal, integer");
  EXPECT_EQ(t->output_kind(), Kind::kInteger);
  auto info = ListTransforms();
  auto it = std::find_if(info.begin(), info.end(),
                         [](const TransformInfo& i) { return i.name == "decimal_to_cents"; });
  ASSERT_NE(it, info.end());
  EXPECT_EQ(it->signature, "string, decimal, integer -> integer");
}

TEST(TransformTest, UnknownNameSuggestsTheClosest) {
  Result<std::unique_ptr<Transform>> t = CompileTransform("trimm", {}, ".");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(t.status().message(),
            "unknown transform \"trimm\"; did you mean \"trim\"? Known transforms: "
            "cents_to_decimal, datetime_format, datetime_parse, decimal, decimal_to_cents, "
            "default, email, halfwidth, hash, lookup, lower, phone_e164, regex_replace, split, "
            "trim, upper");
}

TEST(TransformTest, UnknownNameFarFromAllHasNoSuggestion) {
  std::string message = CompileError("frobnicate");
  EXPECT_EQ(message.find("did you mean"), std::string::npos) << message;
  EXPECT_NE(message.find("Known transforms: cents_to_decimal"), std::string::npos) << message;
}

TEST(TransformTest, RejectsUnknownArgument) {
  EXPECT_EQ(CompileError("trim", Named({{"side", "left"}})),
            "trim: unknown argument \"side\"; expected one of: none");
  EXPECT_EQ(CompileError("decimal", Named({{"scal", "2"}})),
            "decimal: unknown argument \"scal\"; expected one of: scale, rounding, thousands");
}

TEST(TransformTest, RejectsMissingAndDoublyGivenArguments) {
  EXPECT_EQ(CompileError("split", Named({{"separator", ","}})),
            "split: missing required argument \"index\" (0 for the first part, -1 for the last)");
  TransformArgs args;
  args.positional = {",", "1"};
  args.named = {{"separator", ";"}};
  EXPECT_EQ(CompileError("split", args),
            "split: argument \"separator\" is given both by position and by name");
  TransformArgs many;
  many.positional = {"a"};
  EXPECT_EQ(CompileError("upper", many),
            "upper: takes at most 0 positional arguments (none), got 1");
}

TEST(TransformTest, PositionalArgumentsFollowTheDocumentedOrder) {
  TransformArgs args;
  args.positional = {"-", "-1"};
  auto t = MustCompile("split", args);
  ASSERT_TRUE(t);
  EXPECT_EQ(Out(*t, "a-b-c"), "c");
}

TEST(TransformTest, TableOnlyForLookup) {
  TransformArgs args;
  args.table = {{"a", "b"}};
  EXPECT_EQ(CompileError("trim", args), "trim: takes no table");
}

TEST(TransformTest, NullPassesThroughAndWrongKindIsRejected) {
  auto t = MustCompile("upper");
  ASSERT_TRUE(t);
  Result<Scalar> out = t->Apply(Scalar::Null());
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->is_null());
  // An integer is text to a text transform; a time or a decimal is not.
  EXPECT_EQ(Out(*t, Scalar::Integer(5)), "5");
  auto trim = MustCompile("regex_replace", Named({{"pattern", "^0+"}, {"replacement", ""}}));
  ASSERT_TRUE(trim);
  EXPECT_EQ(Out(*trim, Scalar::Integer(10086)), "10086");
  EXPECT_EQ(Out(*t, Scalar::FromDecimal(*Decimal::Parse("1.5"))), "ERROR: upper: expects string, got decimal \"1.5\"");
  EXPECT_TRUE(t->input_kinds().Contains(Kind::kString));
  EXPECT_FALSE(t->input_kinds().Contains(Kind::kDecimal));
  EXPECT_EQ(t->output_kind(), Kind::kString);
  EXPECT_EQ(t->name(), "upper");
}

TEST(TransformTest, ScalarParseCanonicalises) {
  EXPECT_EQ(Scalar::Parse(Kind::kInteger, "+7")->text(), "7");
  EXPECT_EQ(Scalar::Parse(Kind::kBoolean, "TRUE")->text(), "true");
  EXPECT_EQ(Scalar::Parse(Kind::kDecimal, "1.50")->text(), "1.50");
  EXPECT_EQ(Scalar::Parse(Kind::kTime, "2024-01-05 10:00:00")->text(), "2024-01-05T02:00:00Z");
  EXPECT_FALSE(Scalar::Parse(Kind::kInteger, "1.5").ok());
  EXPECT_FALSE(Scalar::Parse(Kind::kInteger, "99999999999999999999").ok());
  EXPECT_EQ(KindName(Kind::kTime), "time");
  EXPECT_EQ(*KindFromName("decimal"), Kind::kDecimal);
  EXPECT_FALSE(KindFromName("float").ok());
}

TEST(TransformTest, LongValuesAreShortenedInErrors) {
  auto t = MustCompile("decimal");
  ASSERT_TRUE(t);
  std::string message = Out(*t, std::string(200, 'x'));
  EXPECT_NE(message.find("\"" + std::string(64, 'x') + "\"..."), std::string::npos) << message;
  EXPECT_LT(message.size(), 200u);
}

// --- text ---

TEST(TransformTest, TrimStripsAsciiAndIdeographicSpaces) {
  auto t = MustCompile("trim");
  ASSERT_TRUE(t);
  EXPECT_EQ(Out(*t, "  \t abc \r\n"), "abc");
  EXPECT_EQ(Out(*t, "\xE3\x80\x80张三\xC2\xA0 "), "张三");
  EXPECT_EQ(Out(*t, "a b"), "a b");
  EXPECT_EQ(Out(*t, "   "), "");
  EXPECT_EQ(Out(*t, "a\xFF"), "ERROR: trim: \"a\\xff\" is not valid UTF-8 (at byte 1)");
}

TEST(TransformTest, UpperAndLowerChangeAsciiOnly) {
  auto up = MustCompile("upper");
  auto low = MustCompile("lower");
  ASSERT_TRUE(up && low);
  EXPECT_EQ(Out(*up, "abc-Ü-张"), "ABC-Ü-张");
  EXPECT_EQ(Out(*low, "SKU-AB"), "sku-ab");
}

TEST(TransformTest, HalfwidthConvertsFullWidthAscii) {
  auto t = MustCompile("halfwidth");
  ASSERT_TRUE(t);
  EXPECT_EQ(Out(*t, "ＡＢＣ１２３！～\xE3\x80\x80张三"), "ABC123!~ 张三");
  EXPECT_EQ(Out(*t, "（０２１）６１２３"), "(021)6123");
  EXPECT_EQ(Out(*t, "plain"), "plain");
}

TEST(TransformTest, HalfwidthRejectsInvalidUtf8) {
  auto t = MustCompile("halfwidth");
  ASSERT_TRUE(t);
  EXPECT_EQ(Out(*t, "ab\xC3"), "ERROR: halfwidth: \"ab\\xc3\" is not valid UTF-8 (at byte 2)");
  EXPECT_NE(Out(*t, "\xC0\xAF").find("not valid UTF-8"), std::string::npos);          // overlong
  EXPECT_NE(Out(*t, "\xED\xA0\x80").find("not valid UTF-8"), std::string::npos);      // surrogate
  EXPECT_NE(Out(*t, "\xF4\x90\x80\x80").find("not valid UTF-8"), std::string::npos);  // >10FFFF
  EXPECT_EQ(Out(*t, "\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");  // an emoji is kept
}

TEST(TransformTest, SplitTakesIndexFromEitherEnd) {
  auto first = MustCompile("split", Named({{"separator", "/"}, {"index", "0"}}));
  auto last = MustCompile("split", Named({{"separator", " / "}, {"index", "-1"}}));
  ASSERT_TRUE(first && last);
  EXPECT_EQ(Out(*first, "广东省/深圳市/南山区"), "广东省");
  EXPECT_EQ(Out(*last, "a / b / c"), "c");
  EXPECT_EQ(Out(*first, ""), "");
}

TEST(TransformTest, SplitOutOfRangeIsErrorOrNull) {
  auto strict = MustCompile("split", Named({{"separator", ","}, {"index", "2"}}));
  auto lenient =
      MustCompile("split", Named({{"separator", ","}, {"index", "-3"}, {"on_missing", "null"}}));
  ASSERT_TRUE(strict && lenient);
  EXPECT_EQ(Out(*strict, "a,b"),
            "ERROR: split: \"a,b\" has 2 parts separated by \",\", no part at index 2");
  Result<Scalar> out = lenient->Apply(Scalar::String("a,b"));
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->is_null());
}

TEST(TransformTest, SplitRejectsBadArguments) {
  EXPECT_EQ(CompileError("split", Named({{"separator", ""}, {"index", "0"}})),
            "split: argument \"separator\" must be a non-empty text, got \"\"");
  EXPECT_EQ(CompileError("split", Named({{"separator", ","}, {"index", "first"}})),
            "split: argument \"index\" must be an integer -1000..1000, got \"first\"");
  EXPECT_EQ(
      CompileError("split", Named({{"separator", ","}, {"index", "0"}, {"on_missing", "skip"}})),
      "split: argument \"on_missing\" must be one of error, null, got \"skip\"");
}

TEST(TransformTest, RegexReplaceReplacesEveryMatch) {
  auto t = MustCompile("regex_replace", Named({{"pattern", "[^0-9]"}, {"replacement", ""}}));
  auto groups = MustCompile("regex_replace",
                            Named({{"pattern", "^(\\d{4})(\\d{2})$"}, {"replacement", "$1-$2"}}));
  ASSERT_TRUE(t && groups);
  EXPECT_EQ(Out(*t, "SO-2024-0001"), "20240001");
  EXPECT_EQ(Out(*groups, "202401"), "2024-01");
  EXPECT_EQ(Out(*groups, "2024011"), "2024011");
}

TEST(TransformTest, RegexReplaceRejectsBadPatternAndLongInput) {
  std::string message = CompileError("regex_replace", Named({{"pattern", "(ab"}}));
  EXPECT_EQ(message.rfind("regex_replace: argument \"pattern\" is not a valid regular expression: ", 0), 0u)
      << message;
  EXPECT_NE(message.find("at offset 3"), std::string::npos) << message;  // where it went wrong
  EXPECT_NE(message.find("got \"(ab\""), std::string::npos) << message;
  EXPECT_EQ(CompileError("regex_replace", Named({{"replacement", "x"}})),
            "regex_replace: missing required argument \"pattern\" (a regular expression (PCRE2: "
            "lookarounds, \\d, [^...], {m,n}))");
  auto t = MustCompile("regex_replace", Named({{"pattern", "a"}}));
  ASSERT_TRUE(t);
  EXPECT_NE(Out(*t, std::string(70000, 'a')).find("is longer than the 65536 bytes"), std::string::npos);
  EXPECT_NE(Out(*t, "a\xFF").find("is not valid UTF-8"), std::string::npos);
}

TEST(TransformTest, RegexReplaceChecksItsReplacementWhenItLoads) {
  // Each of these would load and then fail on every value that matches.
  const auto bad = [](const std::string& replacement) {
    return CompileError("regex_replace", Named({{"pattern", "^(?<y>\\d{4})(\\d{2})"}, {"replacement", replacement}}));
  };
  EXPECT_EQ(bad("$3"), "regex_replace: argument \"replacement\": \"$3\" inserts group 3, but the pattern has 2 "
                       "groups, got \"$3\"");
  EXPECT_THAT(bad("$12"), ::testing::HasSubstr("\"$12\" inserts group 12, but the pattern has 2 groups; for group 1 followed "
                                    "by \"2\" write ${1}2"));
  EXPECT_THAT(bad("$mm"), ::testing::HasSubstr("\"$mm\": the pattern has no group named \"mm\""));
  EXPECT_THAT(bad("${9}"), ::testing::HasSubstr("\"$9\" inserts group 9"));
  EXPECT_THAT(bad("${1"), ::testing::HasSubstr("\"${\" is not closed"));
  EXPECT_THAT(bad("10$"), ::testing::HasSubstr("a lone $ at the end"));
  EXPECT_THAT(bad("$-"), ::testing::HasSubstr("\"$-\" starts no group reference"));
  // What is right loads, and $& is the match even before a digit.
  auto good = MustCompile("regex_replace",
                          Named({{"pattern", "^(?<y>\\d{4})(\\d{2})"}, {"replacement", "$y-${2}0 $$ $&1"}}));
  ASSERT_TRUE(good);
  EXPECT_EQ(Out(*good, "202401"), "2024-010 $ 2024011");
}

TEST(TransformTest, RegexReplaceHasLookaroundsUnicodeClassesAndABacktrackingLimit) {
  auto zeros = MustCompile("regex_replace", Named({{"pattern", "^0+(?=.)"}, {"replacement", ""}}));
  auto cjk = MustCompile("regex_replace", Named({{"pattern", "[号室]$"}, {"replacement", ""}}));
  auto whole = MustCompile("regex_replace", Named({{"pattern", "\\d+"}, {"replacement", "<$&>"}}));
  auto evil = MustCompile("regex_replace", Named({{"pattern", "^(a+)+$"}, {"replacement", "x"}}));
  ASSERT_TRUE(zeros && cjk && whole && evil);
  EXPECT_EQ(Out(*zeros, "000010"), "10");
  EXPECT_EQ(Out(*zeros, "0000"), "0");
  EXPECT_EQ(Out(*cjk, "18号"), "18");
  EXPECT_EQ(Out(*whole, "a12b3"), "a<12>b<3>");
  // Catastrophic backtracking ends in an error, not a stalled pipeline.
  EXPECT_NE(Out(*evil, std::string(40, 'a') + "b").find("too many steps"), std::string::npos);
  // A result longer than the input.
  auto grow = MustCompile("regex_replace", Named({{"pattern", "."}, {"replacement", "$0$0$0$0"}}));
  ASSERT_TRUE(grow);
  EXPECT_EQ(Out(*grow, "abcdefghijklmnopqrstuvwxyz"), std::string("aaaabbbbccccddddeeeeffffgggghhhhiiiijjjjkkkkllllmmmmnnnnooooppppqqqqrrrrssssttttuuuuvvvvwwwwxxxxyyyyzzzz"));
}

TEST(TransformTest, EmailLowerCasesAndValidates) {
  auto t = MustCompile("email");
  auto keep_local = MustCompile("email", Named({{"lower_local", "false"}}));
  ASSERT_TRUE(t && keep_local);
  EXPECT_EQ(Out(*t, "  Li.Lei@Example.COM "), "li.lei@example.com");
  EXPECT_EQ(Out(*keep_local, "Li.Lei@Example.COM"), "Li.Lei@example.com");
  EXPECT_EQ(Out(*t, "a@b@c.com"),
            "ERROR: email: \"a@b@c.com\" is not an email address: it must contain exactly one "
            "\"@\"");
  EXPECT_EQ(Out(*t, "someone@localhost"),
            "ERROR: email: \"someone@localhost\" is not an email address: the domain has no \".\"");
  EXPECT_NE(Out(*t, "a@b..com").find("empty label"), std::string::npos);
  EXPECT_NE(Out(*t, "@b.com").find("nothing before"), std::string::npos);
  EXPECT_NE(Out(*t, "a b@c.com").find("space"), std::string::npos);
  // Full-width, as typed on a Chinese keyboard; the address out of "name <address>".
  EXPECT_EQ(Out(*t, "\u3000ｗａｎｇ．ｆａｎｇ＠Ｅｘａｍｐｌｅ．ｃｎ\u3000"), "wang.fang@example.cn");
  EXPECT_EQ(Out(*t, "王芳 <Wang.Fang@Example.cn>"), "wang.fang@example.cn");
  EXPECT_EQ(Out(*t, "<a@b.cn>"), "a@b.cn");
  EXPECT_EQ(Out(*t, "a@b.cn>"), "ERROR: email: \"a@b.cn>\" is not an email address: it contains \">\"");
  EXPECT_NE(Out(*t, "a,b@c.cn").find("it contains \",\""), std::string::npos);
  EXPECT_EQ(Out(*t, "用户@例子.中国"), "用户@例子.中国");  // internationalised addresses stay
  EXPECT_EQ(CompileError("email", Named({{"lower_local", "yes"}})),
            "email: argument \"lower_local\" must be true or false, got \"yes\"");
}

TEST(TransformTest, PhoneE164NormalisesChineseNumbers) {
  auto t = MustCompile("phone_e164");
  ASSERT_TRUE(t);
  EXPECT_EQ(Out(*t, "139 1234 5678"), "+8613912345678");
  EXPECT_EQ(Out(*t, "139-1234-5678"), "+8613912345678");
  EXPECT_EQ(Out(*t, Scalar::Integer(13912345678)), "+8613912345678");
  EXPECT_EQ(Out(*t, "021-6123 4567"), "+862161234567");
  EXPECT_EQ(Out(*t, "(0755) 8765 4321"), "+8675587654321");
  EXPECT_EQ(Out(*t, "0571-8123456"), "+865718123456");
  EXPECT_EQ(Out(*t, "+86 139 1234 5678"), "+8613912345678");
  EXPECT_EQ(Out(*t, "+86 (0)21 6123 4567"), "+862161234567");
  EXPECT_EQ(Out(*t, "0086 13912345678"), "+8613912345678");
  EXPECT_EQ(Out(*t, "8613912345678"), "+8613912345678");
  EXPECT_EQ(Out(*t, "400-820-8820"), "+864008208820");
  EXPECT_EQ(Out(*t, "+1 (415) 555-2671"), "+14155552671");
  EXPECT_EQ(Out(*t, "+852 2123 4567"), "+85221234567");
}

TEST(TransformTest, PhoneE164RejectsWhatItCannotNormalise) {
  auto t = MustCompile("phone_e164");
  ASSERT_TRUE(t);
  EXPECT_EQ(Out(*t, "12345"),
            "ERROR: phone_e164: \"12345\" is not a valid CN phone number: expected an 11-digit "
            "mobile number (1[3-9]...), a landline with its area code (0...), or +<country code> "
            "(on_invalid: \"null\" leaves such a value out instead)");
  EXPECT_NE(Out(*t, "1291234567").find("not a valid CN"), std::string::npos);
  EXPECT_NE(Out(*t, "021-612345").find("not a valid CN"), std::string::npos);
  EXPECT_NE(Out(*t, "+86 139 1234").find("not a valid Chinese"), std::string::npos);
  EXPECT_NE(Out(*t, "139 1234 5678 ext 5").find("unexpected character \"e\""), std::string::npos);
  EXPECT_EQ(Out(*t, "１３９"),
            "ERROR: phone_e164: \"１３９\" is not a phone number: a non-ASCII character at byte 0 "
            "(apply halfwidth first for full-width digits)");
  EXPECT_EQ(CompileError("phone_e164", Named({{"region", "US"}})),
            "phone_e164: argument \"region\" must be one of CN, got \"US\"");
  // on_invalid: null: what is not a number leaves the field without a value; what is, is written.
  auto lenient = MustCompile("phone_e164", Named({{"on_invalid", "null"}}));
  ASSERT_TRUE(lenient);
  EXPECT_TRUE(lenient->Apply(Scalar::String("(502) 555-0100"))->is_null());
  EXPECT_TRUE(lenient->Apply(Scalar::String("n/a"))->is_null());
  EXPECT_EQ(Out(*lenient, "139 1234 5678"), "+8613912345678");
  EXPECT_EQ(CompileError("phone_e164", Named({{"on_invalid", "skip"}})),
            "phone_e164: argument \"on_invalid\" must be one of error, null, got \"skip\"");
}

TEST(TransformTest, HashIsSha256HexWithOptionalSalt) {
  auto plain = MustCompile("hash");
  auto salted = MustCompile("hash", Named({{"salt", "ab"}}));
  ASSERT_TRUE(plain && salted);
  EXPECT_EQ(Out(*plain, "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // sha256("ab" + "c") == sha256("abc")
  EXPECT_EQ(Out(*salted, "c"), Out(*plain, "abc"));
  EXPECT_EQ(Out(*plain, Scalar::Integer(1)), Out(*plain, "1"));
  EXPECT_EQ(CompileError("hash", Named({{"algorithm", "md5"}})),
            "hash: argument \"algorithm\" must be one of sha256, got \"md5\"");
}

TEST(TransformTest, DefaultFillsNullAndEmpty) {
  auto t = MustCompile("default", Named({{"value", "unknown"}}));
  auto dec = MustCompile("default", Named({{"value", "0.00"}, {"as", "decimal"}}));
  ASSERT_TRUE(t && dec);
  EXPECT_EQ(Out(*t, Scalar::Null()), "unknown");
  EXPECT_EQ(Out(*t, ""), "unknown");
  EXPECT_EQ(Out(*t, "x"), "x");
  Result<Scalar> d = dec->Apply(Scalar::Null());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, Scalar::FromDecimal(*Decimal::Parse("0.00")));
  EXPECT_EQ(dec->output_kind(), Kind::kDecimal);
  EXPECT_EQ(Out(*dec, Scalar::FromDecimal(*Decimal::Parse("1.5"))), "1.5");
  EXPECT_NE(CompileError("default", Named({{"value", "abc"}, {"as", "integer"}}))
                .find("default: argument \"value\" must be a integer"),
            std::string::npos);
  EXPECT_EQ(CompileError("default"),
            "default: missing required argument \"value\" (the value, written as the kind given "
            "by \"as\")");
}

// --- numbers ---

TEST(TransformTest, DecimalKeepsScaleWhenNoneGiven) {
  auto t = MustCompile("decimal");
  ASSERT_TRUE(t);
  Result<Scalar> out = t->Apply(Scalar::String("388.00"));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->kind(), Kind::kDecimal);
  EXPECT_EQ(out->text(), "388.00");
  EXPECT_EQ(Out(*t, Scalar::Integer(12)), "12");
}

TEST(TransformTest, DecimalRoundsHalfUpByDefault) {
  auto t = MustCompile("decimal", Named({{"scale", "2"}}));
  ASSERT_TRUE(t);
  EXPECT_EQ(Out(*t, "2.345"), "2.35");
  EXPECT_EQ(Out(*t, "-2.345"), "-2.35");
  EXPECT_EQ(Out(*t, "7"), "7.00");
}

TEST(TransformTest, DecimalRoundsHalfEven) {
  auto t = MustCompile("decimal", Named({{"scale", "2"}, {"rounding", "half_even"}}));
  ASSERT_TRUE(t);
  EXPECT_EQ(Out(*t, "2.345"), "2.34");
  EXPECT_EQ(Out(*t, "2.355"), "2.36");
}

TEST(TransformTest, DecimalRoundsDownAndUp) {
  auto down = MustCompile("decimal", Named({{"scale", "1"}, {"rounding", "down"}}));
  auto up = MustCompile("decimal", Named({{"scale", "1"}, {"rounding", "up"}}));
  ASSERT_TRUE(down && up);
  EXPECT_EQ(Out(*down, "-1.99"), "-1.9");
  EXPECT_EQ(Out(*up, "1.01"), "1.1");
}

TEST(TransformTest, DecimalAcceptsThousandsOnlyWhenAsked) {
  auto plain = MustCompile("decimal");
  auto grouped = MustCompile("decimal", Named({{"thousands", ","}}));
  ASSERT_TRUE(plain && grouped);
  EXPECT_NE(Out(*plain, "1,234.50").find("ERROR: decimal: \"1,234.50\" is not a decimal: "),
            std::string::npos);
  EXPECT_EQ(Out(*grouped, "1,234.50"), "1234.50");
  EXPECT_EQ(Out(*grouped, "-1,234,567"), "-1234567");
  EXPECT_EQ(Out(*grouped, "999"), "999");
  EXPECT_EQ(Out(*grouped, "12,34"),
            "ERROR: decimal: \"12,34\" is not a decimal: misplaced \",\" (groups of three "
            "digits expected)");
  EXPECT_NE(Out(*grouped, "1234,567").find("misplaced"), std::string::npos);
  EXPECT_NE(Out(*grouped, "1.234,5").find("misplaced"), std::string::npos);
}

// The runtime's text fast path (AppendFromText) must give what Apply gives, for every text it
// takes (canonical amounts are copied as they are) and refuse nothing Apply accepts.
TEST(TransformTest, DecimalTextFastPathAgreesWithApply) {
  std::vector<std::unique_ptr<Transform>> all;
  all.push_back(MustCompile("decimal"));
  for (const char* scale : {"0", "1", "2", "4"}) {
    for (const char* mode : {"half_up", "half_even", "down", "up"}) {
      all.push_back(MustCompile("decimal", Named({{"scale", scale}, {"rounding", mode}})));
    }
  }
  std::vector<std::string> texts = {"0", "-0", "-0.00", "0.0", "00", "01", "1.", ".5", "+1", "-", "1e3", "1.2.3",
                                    " 1", "1 ", "19.99", "-19.99", "388", "388.00", "0.005", "-0.005", "2.345",
                                    "123456789012345678", "1234567890123456789", "0.123456789012345678",
                                    "99999999999999999.9", "-99999999999999999.95", "12,5", "1.50"};
  std::mt19937 rng(7);
  const std::string alphabet = "0123456789.-+";
  for (int i = 0; i < 3000; ++i) {
    std::string t;
    const int len = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < len; ++k) t += alphabet[rng() % (k == 0 ? alphabet.size() : 11)];
    texts.push_back(t);
  }
  int fast = 0;
  for (const auto& t : all) {
    for (const std::string& text : texts) {
      Result<Scalar> slow = t->Apply(Scalar::String(text));
      std::string out = "x";
      const bool took = t->AppendFromText(text, &out);
      if (!took) {
        EXPECT_EQ(out, "x") << text;
        continue;
      }
      ++fast;
      ASSERT_TRUE(slow.ok()) << text << ": the fast path took what Apply refuses";
      EXPECT_EQ(out.substr(1), slow->text()) << text;
    }
  }
  EXPECT_GT(fast, 3000);
}

TEST(TransformTest, DecimalRejectsBadArguments) {
  EXPECT_EQ(CompileError("decimal", Named({{"scale", "two"}})),
            "decimal: argument \"scale\" must be an integer 0..18, got \"two\"");
  EXPECT_EQ(CompileError("decimal", Named({{"scale", "19"}})),
            "decimal: argument \"scale\" must be an integer 0..18, got \"19\"");
  EXPECT_EQ(CompileError("decimal", Named({{"rounding", "ceiling"}})),
            "decimal: argument \"rounding\" must be one of half_up, half_even, down, up, got "
            "\"ceiling\"");
  EXPECT_EQ(CompileError("decimal", Named({{"thousands", "."}})),
            "decimal: argument \"thousands\" must be one of \",\", \" \", \"'\", \"_\", got \".\"");
}

TEST(TransformTest, DecimalRejectsNonNumbers) {
  auto t = MustCompile("decimal", Named({{"scale", "2"}}));
  ASSERT_TRUE(t);
  EXPECT_EQ(Out(*t, "abc"),
            "ERROR: decimal: \"abc\" is not a decimal: unexpected character 'a' at position 0");
  EXPECT_NE(Out(*t, "1e3").find("is not a decimal"), std::string::npos);
  EXPECT_NE(Out(*t, Scalar::Boolean(true)).find("expects string, decimal, integer, got boolean"),
            std::string::npos);
}

TEST(TransformTest, CentsToDecimalAndBack) {
  auto to_dec = MustCompile("cents_to_decimal");
  auto yen = MustCompile("cents_to_decimal", Named({{"scale", "0"}}));
  auto to_cents = MustCompile("decimal_to_cents");
  auto to_cents_even = MustCompile("decimal_to_cents", Named({{"rounding", "half_even"}}));
  ASSERT_TRUE(to_dec && yen && to_cents && to_cents_even);
  EXPECT_EQ(Out(*to_dec, Scalar::Integer(1999)), "19.99");
  EXPECT_EQ(Out(*to_dec, "-5"), "-0.05");
  EXPECT_EQ(Out(*yen, "1200"), "1200");
  EXPECT_EQ(to_dec->output_kind(), Kind::kDecimal);
  Result<Scalar> cents = to_cents->Apply(Scalar::String("19.99"));
  ASSERT_TRUE(cents.ok());
  EXPECT_EQ(*cents, Scalar::Integer(1999));
  EXPECT_EQ(Out(*to_cents, "0.125"), "13");
  EXPECT_EQ(Out(*to_cents_even, "0.125"), "12");
  EXPECT_EQ(Out(*to_cents, Scalar::Integer(3)), "300");
}

TEST(TransformTest, CentsErrors) {
  auto to_dec = MustCompile("cents_to_decimal");
  auto to_cents = MustCompile("decimal_to_cents");
  ASSERT_TRUE(to_dec && to_cents);
  EXPECT_EQ(Out(*to_dec, "19.99"),
            "ERROR: cents_to_decimal: \"19.99\" is not an integer amount of minor units");
  EXPECT_NE(Out(*to_cents, "99999999999999999999").find("too large"), std::string::npos);
  EXPECT_EQ(CompileError("cents_to_decimal", Named({{"scale", "-1"}})),
            "cents_to_decimal: argument \"scale\" must be an integer 0..18, got \"-1\"");
}

// --- time ---

TEST(TransformTest, DatetimeParseDefaultsToShanghai) {
  auto t = MustCompile("datetime_parse", Named({{"format", "%Y-%m-%d %H:%M:%S"}}));
  ASSERT_TRUE(t);
  Result<Scalar> out = t->Apply(Scalar::String("2024-01-05 10:00:00"));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->kind(), Kind::kTime);
  EXPECT_EQ(out->text(), "2024-01-05T02:00:00Z");
  EXPECT_EQ(Out(*t, "2024-1-5 8:05:09"), "2024-01-05T00:05:09Z");
  EXPECT_EQ(Out(*t, "2024-01-01 07:59:59"), "2023-12-31T23:59:59Z");
}

TEST(TransformTest, DatetimeParseCompactPatternWithFraction) {
  auto t = MustCompile("datetime_parse", Named({{"format", "%Y%m%d%H%M%S.%f"}}));
  ASSERT_TRUE(t);
  EXPECT_EQ(Out(*t, "20240105100000.12"), "2024-01-05T02:00:00.120Z");
  auto compact = MustCompile("datetime_parse", Named({{"format", "%Y%m%d"}}));
  ASSERT_TRUE(compact);
  EXPECT_EQ(Out(*compact, "20240105"), "2024-01-04T16:00:00Z");
}

TEST(TransformTest, DatetimeParseZones) {
  auto tokyo = MustCompile("datetime_parse", Named({{"format", "%F %T"}, {"zone", "Asia/Tokyo"}}));
  auto utc = MustCompile("datetime_parse", Named({{"format", "%F %T"}, {"zone", "Etc/UTC"}}));
  auto offset = MustCompile("datetime_parse", Named({{"format", "%F %T"}, {"zone", "-05:30"}}));
  auto with_z = MustCompile("datetime_parse", Named({{"format", "%F %T%z"}}));
  ASSERT_TRUE(tokyo && utc && offset && with_z);
  EXPECT_EQ(Out(*tokyo, "2024-01-05 09:00:00"), "2024-01-05T00:00:00Z");
  EXPECT_EQ(Out(*utc, "2024-01-05 09:00:00"), "2024-01-05T09:00:00Z");
  EXPECT_EQ(Out(*offset, "2024-01-05 09:00:00"), "2024-01-05T14:30:00Z");
  EXPECT_EQ(Out(*with_z, "2024-01-05 09:00:00+0100"), "2024-01-05T08:00:00Z");
  EXPECT_EQ(Out(*with_z, "2024-01-05 09:00:00Z"), "2024-01-05T09:00:00Z");
}

TEST(TransformTest, DatetimeParseRejectsZonesWithDaylightSaving) {
  EXPECT_EQ(CompileError("datetime_parse", Named({{"format", "%F"}, {"zone", "Europe/Berlin"}})),
            "datetime_parse: argument \"zone\" must be a UTC offset such as \"+08:00\" or one of "
            "the fixed-offset zones Asia/Shanghai, Asia/Hong_Kong, Asia/Taipei, Asia/Singapore, "
            "Asia/Tokyo, Asia/Seoul, UTC, Etc/UTC (zones with daylight saving are not "
            "supported), got \"Europe/Berlin\"");
  EXPECT_NE(CompileError("datetime_parse", Named({{"format", "%F"}, {"zone", "+25:00"}})), "");
}

TEST(TransformTest, DatetimeParseEpochAndRfc3339) {
  auto s = MustCompile("datetime_parse", Named({{"format", "epoch_s"}}));
  auto ms = MustCompile("datetime_parse", Named({{"format", "epoch_ms"}}));
  auto rfc = MustCompile("datetime_parse", Named({{"format", "rfc3339"}}));
  ASSERT_TRUE(s && ms && rfc);
  EXPECT_EQ(Out(*s, Scalar::Integer(1704420000)), "2024-01-05T02:00:00Z");
  EXPECT_EQ(Out(*ms, "1704420000123"), "2024-01-05T02:00:00.123Z");
  EXPECT_EQ(Out(*rfc, "2024-01-05T10:00:00+08:00"), "2024-01-05T02:00:00Z");
  EXPECT_EQ(Out(*rfc, "2024-01-05 10:00:00"), "2024-01-05T02:00:00Z");
  EXPECT_NE(Out(*s, "12.5").find("is not a count of seconds"), std::string::npos);
  EXPECT_NE(Out(*s, Scalar::Integer(999999999999)).find("years 0..9999"), std::string::npos);
  // Off by a factor of 1000: the other format was meant.
  EXPECT_EQ(Out(*ms, Scalar::Integer(1704420000)),
            "ERROR: datetime_parse: \"1704420000\" as milliseconds is a time in 1970-1973; it looks like seconds: "
            "use format: epoch_s");
  EXPECT_NE(Out(*s, "170442000012").find("it looks like milliseconds: use format: epoch_ms"), std::string::npos);
  EXPECT_EQ(Out(*ms, "0"), "1970-01-01T00:00:00Z");  // the epoch itself is a time like any other
  EXPECT_TRUE(s->input_kinds().Contains(Kind::kInteger));
}

TEST(TransformTest, DatetimeParseRejectsBadValues) {
  auto t = MustCompile("datetime_parse", Named({{"format", "%Y-%m-%d %H:%M:%S"}}));
  ASSERT_TRUE(t);
  EXPECT_EQ(Out(*t, "2024-02-30 10:00:00"),
            "ERROR: datetime_parse: \"2024-02-30 10:00:00\" is not a valid date");
  EXPECT_EQ(Out(*t, "2024-01-05 24:00:00"),
            "ERROR: datetime_parse: \"2024-01-05 24:00:00\" is not a valid time of day");
  EXPECT_EQ(Out(*t, "2024/01/05 10:00:00"),
            "ERROR: datetime_parse: \"2024/01/05 10:00:00\" does not match the format: \"-\" "
            "expected at byte 4");
  EXPECT_NE(Out(*t, "2024-01-05 10:00:00 ").find("the end of the text"), std::string::npos);
  EXPECT_NE(Out(*t, "24-01-05 10:00:00").find("a 4-digit year"), std::string::npos);
}

TEST(TransformTest, DatetimeParseRejectsBadFormats) {
  EXPECT_EQ(CompileError("datetime_parse", Named({{"format", "%H:%M"}})),
            "datetime_parse: argument \"format\" must be a pattern with at least %Y, %m and %d "
            "(or %F), got \"%H:%M\"");
  EXPECT_NE(CompileError("datetime_parse", Named({{"format", "%Y-%m-%d %I"}}))
                .find("%I is not supported"),
            std::string::npos);
  EXPECT_NE(CompileError("datetime_parse", Named({{"format", "%Y-%m-%d %Y"}}))
                .find("naming each field once"),
            std::string::npos);
  EXPECT_EQ(CompileError("datetime_parse"),
            "datetime_parse: missing required argument \"format\" (rfc3339, epoch_s, epoch_ms, "
            "or a pattern such as \"%Y-%m-%d %H:%M:%S\" or \"%Y%m%d%H%M%S\" (%Y %m %d %H %M %S "
            "%f %z %F %T %%))");
}

TEST(TransformTest, DatetimeFormatInZone) {
  auto rfc = MustCompile("datetime_format");
  auto pattern = MustCompile("datetime_format", Named({{"format", "%Y-%m-%d %H:%M:%S.%f %:z"}}));
  auto utc = MustCompile("datetime_format", Named({{"zone", "UTC"}}));
  auto seoul =
      MustCompile("datetime_format", Named({{"format", "%Y%m%d%H%M%S%z"}, {"zone", "Asia/Seoul"}}));
  auto epoch = MustCompile("datetime_format", Named({{"format", "epoch_ms"}}));
  ASSERT_TRUE(rfc && pattern && utc && seoul && epoch);
  Scalar t = *Scalar::Parse(Kind::kTime, "2024-01-04T16:30:00Z");
  EXPECT_EQ(Out(*rfc, t), "2024-01-05T00:30:00+08:00");
  EXPECT_EQ(Out(*pattern, t), "2024-01-05 00:30:00.000 +08:00");
  EXPECT_EQ(Out(*utc, t), "2024-01-04T16:30:00Z");
  EXPECT_EQ(Out(*seoul, t), "20240105013000+0900");
  EXPECT_EQ(Out(*epoch, t), "1704385800000");
  EXPECT_EQ(epoch->output_kind(), Kind::kInteger);
  EXPECT_EQ(rfc->output_kind(), Kind::kString);
  EXPECT_EQ(Out(*rfc, "2024-01-04T16:30:00.5Z"), "2024-01-05T00:30:00.500+08:00");
  EXPECT_NE(Out(*rfc, "yesterday").find("ERROR: datetime_format: \"yesterday\" is not an RFC 3339"),
            std::string::npos);
}

TEST(TransformTest, DatetimeRoundTrips) {
  auto parse = MustCompile("datetime_parse", Named({{"format", "%Y%m%d%H%M%S"}}));
  auto format = MustCompile("datetime_format", Named({{"format", "%Y%m%d%H%M%S"}}));
  ASSERT_TRUE(parse && format);
  Result<Scalar> t = parse->Apply(Scalar::String("20241231235959"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Out(*format, *t), "20241231235959");
}

// --- lookup ---

TEST(TransformTest, LookupInlineTable) {
  TransformArgs args;
  args.table = {{"1", "paid"}, {"2", "shipped"}};
  auto t = MustCompile("lookup", args);
  ASSERT_TRUE(t);
  EXPECT_EQ(Out(*t, "1"), "paid");
  EXPECT_EQ(Out(*t, Scalar::Integer(2)), "shipped");
  EXPECT_EQ(Out(*t, "3"), "ERROR: lookup: \"3\" is not a key of the inline table");
}

TEST(TransformTest, LookupOnMissingPolicies) {
  TransformArgs args;
  args.table = {{"A", "x"}};
  args.named = {{"on_missing", "keep"}};
  auto keep = MustCompile("lookup", args);
  args.named = {{"on_missing", "null"}};
  auto null = MustCompile("lookup", args);
  args.named = {{"on_missing", "default"}, {"default", "other"}};
  auto fallback = MustCompile("lookup", args);
  ASSERT_TRUE(keep && null && fallback);
  EXPECT_EQ(Out(*keep, "B"), "B");
  EXPECT_TRUE(null->Apply(Scalar::String("B"))->is_null());
  EXPECT_EQ(Out(*fallback, "B"), "other");
  EXPECT_EQ(Out(*fallback, "A"), "x");
}

TEST(TransformTest, LookupRejectsBadArguments) {
  TransformArgs args;
  args.table = {{"A", "x"}};
  args.named = {{"on_missing", "default"}};
  EXPECT_EQ(CompileError("lookup", args),
            "lookup: on_missing: default needs a \"default\" argument");
  args.named = {{"default", "y"}};
  EXPECT_EQ(CompileError("lookup", args),
            "lookup: argument \"default\" is only used with on_missing: default");
  args.named = {{"on_missing", "ignore"}};
  EXPECT_EQ(CompileError("lookup", args),
            "lookup: argument \"on_missing\" must be one of error, keep, null, default, got "
            "\"ignore\"");
  EXPECT_EQ(CompileError("lookup"), "lookup: needs a table or a \"file\" argument");
  args.named = {{"file", "x.csv"}};
  EXPECT_EQ(CompileError("lookup", args), "lookup: give either a table or a \"file\", not both");
}

TEST(TransformTest, LookupReadsCsvNextToTheMapping) {
  TempDir dir;
  dir.Write("groups.csv",
            "\xEF\xBB\xBF"
            "erp_group,tier\r\n"
            "VIP,gold\r\n"
            "\"WHOLESALE, NORTH\",\"silver \"\"B\"\"\"\r\n"
            "\r\n"
            "普通,standard\r\n");
  auto t = MustCompile("lookup", Named({{"file", "groups.csv"}}), dir.path());
  ASSERT_TRUE(t);
  EXPECT_EQ(Out(*t, "VIP"), "gold");
  EXPECT_EQ(Out(*t, "WHOLESALE, NORTH"), "silver \"B\"");
  EXPECT_EQ(Out(*t, "普通"), "standard");
  EXPECT_EQ(Out(*t, "erp_group"),
            "ERROR: lookup: \"erp_group\" is not a key of file \"" + dir.path() + "/groups.csv\"");
}

TEST(TransformTest, LookupCsvDuplicateKeyNamesTheLine) {
  TempDir dir;
  dir.Write("groups.csv", "key,value\nVIP,gold\nB,silver\nVIP,platinum\n");
  EXPECT_EQ(CompileError("lookup", Named({{"file", "groups.csv"}}), dir.path()),
            "lookup: file \"" + dir.path() +
                "/groups.csv\" line 4: duplicate key \"VIP\" (first on line 2)");
}

TEST(TransformTest, LookupCsvBadShapes) {
  TempDir dir;
  dir.Write("three.csv", "key,value\na,b,c\n");
  dir.Write("empty.csv", "");
  dir.Write("open.csv", "key,value\n\"a,b\n");
  EXPECT_EQ(CompileError("lookup", Named({{"file", "three.csv"}}), dir.path()),
            "lookup: file \"" + dir.path() +
                "/three.csv\" line 2: expected 2 columns (key,value), got 3");
  EXPECT_EQ(CompileError("lookup", Named({{"file", "empty.csv"}}), dir.path()),
            "lookup: file \"" + dir.path() +
                "/empty.csv\": is empty; expected a header row "
                "key,value");
  EXPECT_EQ(CompileError("lookup", Named({{"file", "open.csv"}}), dir.path()),
            "lookup: file \"" + dir.path() + "/open.csv\" line 2: a quoted field is not closed");
}

TEST(TransformTest, LookupUnreadableCsvNamesPathAndReason) {
  TempDir dir;
  Result<std::unique_ptr<Transform>> t =
      CompileTransform("lookup", Named({{"file", "missing.csv"}}), dir.path());
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kIoError);
  EXPECT_EQ(t.status().message(),
            "lookup: cannot read \"" + dir.path() + "/missing.csv\": No such file or directory");
  std::filesystem::create_directories(dir.path() + "/sub");
  EXPECT_EQ(CompileError("lookup", Named({{"file", "sub"}}), dir.path()),
            "lookup: cannot read \"" + dir.path() + "/sub\": Is a directory");
  // An absolute path ignores the base directory.
  dir.Write("abs.csv", "k,v\na,b\n");
  auto abs = MustCompile("lookup", Named({{"file", dir.path() + "/abs.csv"}}), "/nonexistent");
  ASSERT_TRUE(abs);
  EXPECT_EQ(Out(*abs, "a"), "b");
}

// Random text through every transform: each value gives a result or an InvalidArgument naming
// the transform, never a crash, an exception or an internal error.
TEST(TransformTest, GarbageInputGivesValueErrorsOnly) {
  TransformArgs table;
  table.table = {{"a", "b"}};
  std::vector<std::pair<std::string, TransformArgs>> all = {
      {"trim", {}},
      {"upper", {}},
      {"lower", {}},
      {"halfwidth", {}},
      {"split", Named({{"separator", ","}, {"index", "1"}})},
      {"regex_replace", Named({{"pattern", "(a|b)+c?"}, {"replacement", "[$1]"}})},
      {"email", {}},
      {"phone_e164", {}},
      {"hash", {}},
      {"default", Named({{"value", "x"}})},
      {"decimal", Named({{"scale", "2"}, {"thousands", ","}})},
      {"cents_to_decimal", {}},
      {"decimal_to_cents", {}},
      {"datetime_parse", Named({{"format", "%Y%m%d%H%M%S.%f%z"}})},
      {"datetime_parse", Named({{"format", "epoch_ms"}})},
      {"datetime_format", Named({{"format", "%F %T"}})},
      {"lookup", table},
  };
  const std::vector<std::string> pieces = {"0",
                                           "1",
                                           "9",
                                           "2024",
                                           "12",
                                           "31",
                                           "+",
                                           "-",
                                           ",",
                                           ".",
                                           ":",
                                           " ",
                                           "Z",
                                           "@",
                                           "a",
                                           "b",
                                           "c",
                                           "86",
                                           "\xE3\x80\x80",
                                           "\xEF\xBC\x91",
                                           "\xFF",
                                           "\xC3",
                                           "\x00",
                                           "\"",
                                           "e",
                                           "T"};
  std::mt19937 rng(12345);
  for (const auto& [name, args] : all) {
    auto t = MustCompile(name, args);
    ASSERT_TRUE(t) << name;
    for (int n = 0; n < 2000; ++n) {
      std::string in;
      int len = static_cast<int>(rng() % 24);
      for (int k = 0; k < len; ++k) in += pieces[rng() % pieces.size()];
      Result<Scalar> out = t->Apply(Scalar::String(in));
      if (!out.ok()) {
        EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument) << out.status().ToString();
        EXPECT_EQ(out.status().message().rfind(name + ": ", 0), 0u) << out.status().ToString();
      } else if (!out->is_null()) {
        EXPECT_EQ(out->kind(), t->output_kind()) << name;
      }
    }
  }
}

TEST(TransformTest, CompiledTransformIsSharedAcrossThreads) {
  auto t = MustCompile("decimal", Named({{"scale", "2"}, {"rounding", "half_even"}}));
  ASSERT_TRUE(t);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 1000; ++k) {
        if (Out(*t, "2.345") != "2.34") ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace channelhub::mapping
