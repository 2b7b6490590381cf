// String similarity for customer matching (hub/master): Jaro, Jaro-Winkler and a normalised
// edit similarity, all on Unicode code points (a Chinese character counts as one position, not
// three UTF-8 bytes), plus exact, prefix and set-overlap helpers.
//
// Every function here is pure, thread-safe and symmetric in its two arguments, so that a pairwise
// match decision never depends on which record arrived first. Similarities lie in [0, 1];
// two empty strings are 1.0 (identical), one empty and one not is 0.0. Callers that treat a
// missing value as "no evidence" must check emptiness themselves (the Matcher does).
//
// Example:
//   JaroWinkler("martha", "marhta")        // 0.9611
//   JaroWinkler("北京华为科技", "北京华為科技")  // < 1: compare normalised (simplified) text
//   EditSimilarity("19560409", "19560490")  // 0.875: one transposition in 8 positions
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace channelhub::master {

// Decodes UTF-8 into code points. Invalid or truncated sequences become U+FFFD, one per bad
// byte, so that any byte string can be compared.
std::u32string ToCodePoints(std::string_view utf8);

// Jaro similarity: matches within a window of max(|a|,|b|)/2 - 1 positions, minus half the
// transpositions.
double Jaro(std::u32string_view a, std::u32string_view b);

// Jaro-Winkler: Jaro plus prefix_scale * l * (1 - Jaro), where l is the common prefix length
// capped at max_prefix, applied only when Jaro exceeds boost_threshold (Winkler's 0.7).
// REQUIRES: prefix_scale * max_prefix <= 1 (so the result stays <= 1).
struct JaroWinklerOptions {
  double prefix_scale = 0.1;
  std::size_t max_prefix = 4;
  double boost_threshold = 0.7;
};
double JaroWinkler(std::u32string_view a, std::u32string_view b,
                   const JaroWinklerOptions& options = {});
// The same on UTF-8 text (decoded with ToCodePoints()).
double JaroWinkler(std::string_view a, std::string_view b, const JaroWinklerOptions& options = {});

// Optimal-string-alignment distance (insertions, deletions, substitutions and transpositions of
// two adjacent code points, each costing 1).
std::size_t EditDistance(std::u32string_view a, std::u32string_view b);
// 1 - EditDistance / max(|a|, |b|); 1.0 for two empty strings.
double EditSimilarity(std::u32string_view a, std::u32string_view b);
double EditSimilarity(std::string_view a, std::string_view b);

// Edit similarity where substituting one character for a homophone (two CJK ideographs that
// share a toneless Mandarin reading, pinyin.hpp: 伟/玮, 娜/纳) costs "homophone_cost" instead of
// 1: 1 - distance / max(|a|, |b|). The usual typo in a Chinese name is a homophone picked from
// the input method's candidate list, so "张伟" / "张玮" is 0.9 at a cost of 0.2, while "张伟" / "张强"
// stays 0.5. REQUIRES: 0 <= homophone_cost <= 1.
double HomophoneEditSimilarity(std::u32string_view a, std::u32string_view b,
                               double homophone_cost);

// Number of leading code points the two share.
std::size_t CommonPrefixLength(std::u32string_view a, std::u32string_view b);

// True when both are non-empty and byte-equal.
bool ExactMatch(std::string_view a, std::string_view b);

// True when both are non-empty, the shorter one is a prefix of the longer one, and the shorter
// one has at least min_code_points code points ("上海华为" and "上海华为技术", min 3).
bool PrefixMatch(std::string_view a, std::string_view b, std::size_t min_code_points = 1);

// True when two sorted, duplicate-free lists share an element.
bool SortedIntersect(const std::vector<std::string>& a, const std::vector<std::string>& b);

}  // namespace channelhub::master
