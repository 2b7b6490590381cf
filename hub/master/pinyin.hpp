// Mandarin readings of Chinese characters for customer matching (hub/master): which characters
// sound alike, and whether a name written in pinyin ("Zhang Wei", "ZHANG Weiming") spells a name
// written in characters (张伟, 张伟明).
//
// Why: almost all Chinese text is typed through a pinyin input method, so the usual typo in a
// Chinese name is a homophone the user picked from the candidate list (张伟 -> 张玮, 李娜 -> 李纳),
// not an arbitrary other character; and shop, shipping and passport data often carry the name in
// pinyin. Both need to know how characters are read.
//
// Readings are toneless syllables in lower case with ü written "v" ("lv", "nve"); a character
// may have several (单: dan, chan, shan — the surname reads shan, and every reading is kept so
// that such a surname is never missed). The table covers the CJK Unified Ideographs block
// (U+4E00..U+9FFF, 20,901 characters with a reading), simplified and traditional alike; it is
// compiled in (pinyin.inc) and needs nothing at run time. Thread-safe: built once, on first use.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace channelhub::master {

// The toneless readings of "c" (syllable ids for PinyinSyllable()), empty for anything that is
// not a CJK ideograph of the table.
std::span<const std::uint16_t> PinyinReadings(char32_t c);

// The syllable for an id from PinyinReadings() ("zhang").
std::string_view PinyinSyllable(std::uint16_t id);

// True when "a" and "b" are different characters that share a toneless reading (伟/玮: wei).
bool Homophones(char32_t a, char32_t b);

// True when "latin", a name key in Latin letters (lower case, the words sorted and joined as
// NormalizeName() makes them: "weizhang" for "Zhang Wei"), spells "hanzi" in toneless pinyin
// with any grouping of the syllables into words and any word order ("zhang wei ming",
// "Weiming Zhang"), using any reading of each character; ü may be written v, u or yu
// ("Lyu", "Lu", "Lv"). False when a character of "hanzi" has no reading or either side is empty.
bool SpellsInPinyin(std::u32string_view hanzi, std::string_view latin);

// How close "latin" comes to spelling "hanzi": 1.0 exactly when SpellsInPinyin() holds; when
// "latin" is pinyin for another name, the share of syllables the two have in common over the
// longer one ("Zhao Lin" / 赵嘉琳: 2/3; "Han Jingyi" / 韩英杰: 1/3), whatever the order; when it is
// not pinyin as it stands (a misspelling, "Zhang Wie"), 0.8 x the best Jaro-Winkler similarity
// to a spelling. 0 when "hanzi" has a character without a reading or more than six characters.
double PinyinSimilarity(std::u32string_view hanzi, std::string_view latin);

// Two names in Latin letters that both read as at least two pinyin syllables ("huang lei",
// "huangzihui"): the share of syllables they have in common, whatever the order ("Huang Lei" /
// "Huang Zihui": 1/3), so that two relatives with the same surname are as far apart as in
// characters; nullopt when either is not pinyin (compare such names as any others).
std::optional<double> LatinPinyinSimilarity(std::string_view a, std::string_view b);

}  // namespace channelhub::master
