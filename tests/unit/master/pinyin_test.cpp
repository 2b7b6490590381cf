#include "hub/master/pinyin.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "hub/master/similarity.hpp"

namespace channelhub::master {
namespace {

std::vector<std::string> Readings(char32_t c) {
  std::vector<std::string> out;
  for (std::uint16_t id : PinyinReadings(c)) out.emplace_back(PinyinSyllable(id));
  return out;
}

TEST(Pinyin, ReadingsAreTonelessWithUmlautAsV) {
  EXPECT_EQ(Readings(U'张'), std::vector<std::string>{"zhang"});
  EXPECT_EQ(Readings(U'張'), std::vector<std::string>{"zhang"});  // traditional forms too
  EXPECT_EQ(Readings(U'吕'), std::vector<std::string>{"lv"});
  // Every reading of a polyphonic character: the surname 单 reads shan.
  const auto dan = Readings(U'单');
  EXPECT_NE(std::find(dan.begin(), dan.end(), "shan"), dan.end());
  EXPECT_NE(std::find(dan.begin(), dan.end(), "dan"), dan.end());
  EXPECT_TRUE(PinyinReadings(U'a').empty());
  EXPECT_TRUE(PinyinReadings(U'。').empty());
  EXPECT_TRUE(PinyinReadings(0x20000).empty());  // outside the table's block
}

TEST(Pinyin, Homophones) {
  EXPECT_TRUE(Homophones(U'伟', U'玮'));
  EXPECT_TRUE(Homophones(U'伟', U'威'));  // another tone, the same syllable
  EXPECT_TRUE(Homophones(U'娜', U'纳'));
  EXPECT_FALSE(Homophones(U'伟', U'强'));
  EXPECT_FALSE(Homophones(U'伟', U'伟'));  // the same character is no substitution
  EXPECT_FALSE(Homophones(U'a', U'a'));
  EXPECT_EQ(Homophones(U'单', U'善'), Homophones(U'善', U'单'));
  EXPECT_TRUE(Homophones(U'单', U'善'));  // shan
}

TEST(Pinyin, SpellsInPinyinAnyGroupingAndOrder) {
  // Keys as NormalizeName makes them for Latin-script persons: words sorted, joined.
  EXPECT_TRUE(SpellsInPinyin(U"张伟", "weizhang"));        // Zhang Wei, Wei Zhang
  EXPECT_TRUE(SpellsInPinyin(U"张伟明", "weimingzhang"));  // Zhang Weiming
  EXPECT_TRUE(SpellsInPinyin(U"张伟明", "mingweizhang"));  // Zhang Wei Ming
  EXPECT_TRUE(SpellsInPinyin(U"欧阳修", "ouyangxiu"));     // Ouyang Xiu
  EXPECT_TRUE(SpellsInPinyin(U"单雄信", "shanxiongxin"));  // 单 as a surname: shan
  EXPECT_TRUE(SpellsInPinyin(U"吕布", "bulv"));            // Lv Bu
  EXPECT_TRUE(SpellsInPinyin(U"吕布", "bulyu"));           // Lyu Bu (passports)
  EXPECT_TRUE(SpellsInPinyin(U"吕布", "bulu"));            // Lu Bu
  EXPECT_TRUE(SpellsInPinyin(U"吕布", "bul\u00fc"));       // Lü Bu
  EXPECT_TRUE(SpellsInPinyin(U"张伟", "WEIZHANG"));
  EXPECT_FALSE(SpellsInPinyin(U"张伟", "fangzhang"));
  EXPECT_TRUE(SpellsInPinyin(U"张伟", "zhangwei"));  // written as one word
  EXPECT_FALSE(SpellsInPinyin(U"张伟", "zhangweiming"));
  EXPECT_FALSE(SpellsInPinyin(U"张伟", ""));
  EXPECT_FALSE(SpellsInPinyin(U"", "wei"));
  EXPECT_FALSE(SpellsInPinyin(U"张a", "azhang"));  // a character without a reading
}

TEST(Pinyin, SimilarityOfOtherNamesAndMisspellings) {
  EXPECT_DOUBLE_EQ(PinyinSimilarity(U"张伟", "weizhang"), 1.0);
  // Pinyin for another name: the share of syllables in common.
  EXPECT_NEAR(PinyinSimilarity(U"赵嘉琳", "linzhao"), 2.0 / 3.0, 1e-12);    // Zhao Lin
  EXPECT_NEAR(PinyinSimilarity(U"韩英杰", "hanjingyi"), 1.0 / 3.0, 1e-12);  // Jingyi Han
  EXPECT_DOUBLE_EQ(PinyinSimilarity(U"张伟", "fangzhang"), 0.5);
  // Not pinyin as it stands: close, but never above 0.8.
  const double close = PinyinSimilarity(U"张伟", "wiezhang");
  EXPECT_GT(close, 0.7);
  EXPECT_LE(close, 0.8);
  EXPECT_LT(PinyinSimilarity(U"张伟", "smithjohn"), 0.6);
}

TEST(Pinyin, LatinNamesComparedBySyllable) {
  // Relatives sharing a surname are far apart, though Jaro-Winkler rates the prefix highly.
  EXPECT_NEAR(*LatinPinyinSimilarity("huanglei", "huangzihui"), 1.0 / 3.0, 1e-12);
  EXPECT_GT(JaroWinkler("huanglei", "huangzihui"), 0.8);
  EXPECT_DOUBLE_EQ(*LatinPinyinSimilarity("weimingzhang", "mingweizhang"), 1.0);
  EXPECT_DOUBLE_EQ(*LatinPinyinSimilarity("bulyu", "bulv"), 1.0);  // Lyu Bu, Lv Bu
  EXPECT_DOUBLE_EQ(*LatinPinyinSimilarity("xianzhang", "xianzhang"), 1.0);
  EXPECT_FALSE(LatinPinyinSimilarity("johnsmith", "janesmith").has_value());  // not pinyin
  EXPECT_FALSE(LatinPinyinSimilarity("wang", "wangwei").has_value());         // one syllable
  EXPECT_FALSE(LatinPinyinSimilarity("", "wangwei").has_value());
}

TEST(Similarity, HomophoneEditSimilarity) {
  EXPECT_DOUBLE_EQ(HomophoneEditSimilarity(U"张伟", U"张伟", 0.2), 1.0);
  EXPECT_DOUBLE_EQ(HomophoneEditSimilarity(U"张伟", U"张玮", 0.2), 0.9);
  EXPECT_DOUBLE_EQ(HomophoneEditSimilarity(U"张伟", U"张强", 0.2), 0.5);
  EXPECT_NEAR(HomophoneEditSimilarity(U"李晓伟", U"李晓玮", 0.2), 1.0 - 0.2 / 3.0, 1e-12);
  // At cost 1 it is the plain edit similarity.
  EXPECT_DOUBLE_EQ(HomophoneEditSimilarity(U"张伟", U"张玮", 1.0),
                   EditSimilarity(U"张伟", U"张玮"));
  EXPECT_DOUBLE_EQ(HomophoneEditSimilarity(U"张嘉", U"张嘉萍", 0.2),
                   EditSimilarity(U"张嘉", U"张嘉萍"));
  EXPECT_DOUBLE_EQ(HomophoneEditSimilarity(U"", U"", 0.2), 1.0);
  EXPECT_DOUBLE_EQ(HomophoneEditSimilarity(U"张伟", U"", 0.2), 0.0);
  EXPECT_DOUBLE_EQ(HomophoneEditSimilarity(U"martha", U"marhta", 0.2),
                   EditSimilarity(U"martha", U"marhta"));
  const char32_t* names[] = {U"张伟", U"张玮", U"张威明", U"章伟", U"欧阳娜", U"欧阳纳", U""};
  for (const char32_t* a : names) {
    for (const char32_t* b : names) {
      EXPECT_DOUBLE_EQ(HomophoneEditSimilarity(a, b, 0.2), HomophoneEditSimilarity(b, a, 0.2));
    }
  }
}

}  // namespace
}  // namespace channelhub::master
