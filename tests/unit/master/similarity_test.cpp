#include "hub/master/similarity.hpp"

#include <gtest/gtest.h>

namespace channelhub::master {
namespace {

TEST(Similarity, JaroWinklerKnownValues) {
  // Winkler's classic examples.
  EXPECT_NEAR(JaroWinkler("martha", "marhta"), 0.9611, 1e-4);
  EXPECT_NEAR(JaroWinkler("dwayne", "duane"), 0.84, 1e-4);
  EXPECT_NEAR(JaroWinkler("dixon", "dicksonx"), 0.8133, 1e-4);
  EXPECT_NEAR(Jaro(U"martha", U"marhta"), 0.9444, 1e-4);
  EXPECT_DOUBLE_EQ(JaroWinkler("abc", "abc"), 1.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("abc", "xyz"), 0.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("", ""), 1.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("", "a"), 0.0);
}

TEST(Similarity, CountsCodePointsNotBytes) {
  // Two Chinese characters, one differing: m = 1 of 2 -> Jaro (1/2 + 1/2 + 1) / 3.
  EXPECT_NEAR(Jaro(ToCodePoints("张伟"), ToCodePoints("张玮")), 2.0 / 3.0, 1e-9);
  EXPECT_NEAR(JaroWinkler("张伟", "张伟"), 1.0, 1e-12);
  EXPECT_EQ(ToCodePoints("北京a").size(), 3u);
  EXPECT_EQ(EditDistance(ToCodePoints("北京市"), ToCodePoints("北京")), 1u);
}

TEST(Similarity, Symmetric) {
  const char* words[] = {"martha", "marhta", "张伟", "张玮", "深圳市南山区", "南山区科技园", "", "dixon"};
  for (const char* a : words) {
    for (const char* b : words) {
      EXPECT_DOUBLE_EQ(JaroWinkler(a, b), JaroWinkler(b, a)) << a << " / " << b;
      EXPECT_DOUBLE_EQ(EditSimilarity(a, b), EditSimilarity(b, a)) << a << " / " << b;
    }
  }
}

TEST(Similarity, EditDistanceCountsTranspositionsOnce) {
  EXPECT_EQ(EditDistance(U"19560409", U"19560490"), 1u);
  EXPECT_EQ(EditDistance(U"kitten", U"sitting"), 3u);
  EXPECT_EQ(EditDistance(U"", U"abc"), 3u);
  EXPECT_DOUBLE_EQ(EditSimilarity("1804974", "1804974"), 1.0);
  EXPECT_NEAR(EditSimilarity("1804974", "1804975"), 6.0 / 7.0, 1e-12);
}

TEST(Similarity, InvalidUtf8BecomesReplacementCharacters) {
  const std::u32string cps = ToCodePoints(std::string("a\xff\xe4\xb8", 4));
  // 0xff is never valid; 0xe4 0xb8 is a 3-byte sequence cut short: one U+FFFD per bad byte.
  EXPECT_EQ(cps, std::u32string(U"a\xFFFD\xFFFD\xFFFD"));
  // Overlong encodings are rejected too.
  EXPECT_EQ(ToCodePoints(std::string("\xc0\xaf", 2)), std::u32string(U"\xFFFD\xFFFD"));
}

TEST(Similarity, ExactPrefixAndSets) {
  EXPECT_TRUE(ExactMatch("a", "a"));
  EXPECT_FALSE(ExactMatch("", ""));
  EXPECT_TRUE(PrefixMatch("上海华为", "上海华为技术", 3));
  EXPECT_FALSE(PrefixMatch("上海", "上海华为技术", 3));
  EXPECT_FALSE(PrefixMatch("华为", "上海华为", 1));
  EXPECT_TRUE(SortedIntersect({"a", "c", "e"}, {"b", "e"}));
  EXPECT_FALSE(SortedIntersect({"a", "c"}, {"b", "d"}));
  EXPECT_FALSE(SortedIntersect({}, {"b"}));
}

}  // namespace
}  // namespace channelhub::master
