#include "hub/master/pinyin.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "hub/master/similarity.hpp"

namespace channelhub::master {
namespace {

// pinyin.inc: one entry per toneless syllable, listing the characters that have that reading.
// Generated from pinyin_dict.go of go-pinyin 0.19.0 (Debian 12 package
// golang-github-mozillazg-go-pinyin-dev, /usr/share/gocode/src/github.com/mozillazg/go-pinyin/;
// its data come from mozillazg/pinyin-data, after Unihan kHanyuPinyin, kMandarin, kXHC1983),
// keeping U+4E00..U+9FFF, tones removed, ü written v, and the interjection-only readings m, n,
// ng, hm, hng dropped where a character has another. The package is needed only to regenerate:
//   python3 - pinyin_dict.go pinyin.inc <<'PY'
//   import re, sys, unicodedata
//   groups = {}
//   for line in open(sys.argv[1], encoding='utf-8'):
//       m = re.match(r'\s*0x([0-9A-F]+): "([^"]*)",', line)
//       if not m or not 0x4E00 <= int(m.group(1), 16) <= 0x9FFF: continue
//       seen = []
//       for r in m.group(2).split(','):
//           r = unicodedata.normalize('NFD', r).replace('u\u0308', 'v')
//           r = ''.join(c for c in r if not unicodedata.combining(c))
//           if not re.fullmatch('[a-z]+', r) or r in seen: continue
//           if r in ('m', 'n', 'ng', 'hm', 'hng') and seen: continue
//           seen.append(r)
//       for r in seen: groups.setdefault(r, []).append(chr(int(m.group(1), 16)))
//   with open(sys.argv[2], 'w', encoding='utf-8') as out:
//       out.write('// Generated from go-pinyin pinyin_dict.go; see pinyin.cpp for the source, '
//                 'licence and command.\n')
//       for s in sorted(groups):
//           chars = ''.join(groups[s])
//           parts = [chars[i:i + 60] for i in range(0, len(chars), 60)]
//           out.write('{"%s",\n %s},\n' % (s, '\n '.join('"%s"' % p for p in parts)))
//   PY
// go-pinyin and pinyin-data: Copyright (c) 2016 mozillazg, MIT licence. Permission is hereby
// granted, free of charge, to any person obtaining a copy of this software and associated
// documentation files (the "Software"), to deal in the Software without restriction, including
// without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense,
// and/or sell copies of the Software, and to permit persons to whom the Software is furnished to
// do so, subject to the following conditions: The above copyright notice and this permission
// notice shall be included in all copies or substantial portions of the Software. THE SOFTWARE
// IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
// LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
// NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
// DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
// OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
struct Group {
  std::string_view syllable;
  std::string_view chars;  // UTF-8
};
constexpr Group kGroups[] = {
#include "hub/master/pinyin.inc"
};

constexpr char32_t kFirst = 0x4E00;
constexpr char32_t kLast = 0x9FFF;

// Readings by character: readings[start[c - kFirst] .. start[c - kFirst + 1]).
struct Table {
  std::vector<std::uint32_t> start;
  std::vector<std::uint16_t> readings;
};

const Table& GetTable() {
  static const Table table = [] {
    constexpr std::size_t kCount = kLast - kFirst + 1;
    std::vector<std::vector<std::uint16_t>> by_char(kCount);
    for (std::size_t g = 0; g < std::size(kGroups); ++g) {
      for (char32_t c : ToCodePoints(kGroups[g].chars)) {
        if (c >= kFirst && c <= kLast) by_char[c - kFirst].push_back(static_cast<std::uint16_t>(g));
      }
    }
    Table t;
    t.start.reserve(kCount + 1);
    for (const auto& r : by_char) {
      t.start.push_back(static_cast<std::uint32_t>(t.readings.size()));
      t.readings.insert(t.readings.end(), r.begin(), r.end());
    }
    t.start.push_back(static_cast<std::uint32_t>(t.readings.size()));
    return t;
  }();
  return table;
}

// The spellings of one reading in Latin letters: ü as v, u or yu.
void Spellings(std::string_view syllable, std::vector<std::string>* out) {
  out->assign(1, std::string(syllable));
  const std::size_t v = syllable.find('v');
  if (v == std::string_view::npos) return;
  for (std::string_view u : {"u", "yu"}) {
    std::string s(syllable);
    s.replace(v, 1, u);
    out->push_back(std::move(s));
  }
}

// The Latin key with ü (as NFKC leaves it) written v and everything but letters dropped.
std::string LatinKey(std::string_view latin) {
  std::string out;
  for (char32_t c : ToCodePoints(latin)) {
    if (c >= 'a' && c <= 'z') {
      out.push_back(static_cast<char>(c));
    } else if (c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if (c == 0xFC || c == 0xDC) {  // ü, Ü
      out.push_back('v');
    }
  }
  return out;
}

// Names longer than this many characters, or with more reading combinations than kMaxCombos,
// are compared on their first readings only (names are two to four characters).
constexpr std::size_t kMaxChars = 6;
constexpr std::size_t kMaxCombos = 64;

// A syllable for comparison: ü written u ("lv" -> "lu"), as Latin spellings mostly have it.
std::string Canonical(std::string_view syllable) {
  std::string s(syllable);
  for (char& c : s) {
    if (c == 'v') c = 'u';
  }
  return s;
}

// Canonical syllables by spelling, with the passport spellings lyu, nyu, lyue, nyue.
const std::unordered_map<std::string, std::string>& SyllableSpellings() {
  static const std::unordered_map<std::string, std::string> spellings = [] {
    std::unordered_map<std::string, std::string> m;
    for (const Group& g : kGroups) {
      m.emplace(std::string(g.syllable), Canonical(g.syllable));
      m.emplace(Canonical(g.syllable), Canonical(g.syllable));
    }
    for (const char* s : {"lyu", "nyu", "lyue", "nyue"}) {
      std::string c(s);
      c.erase(1, 1);  // "lyu" -> "lu"
      m.emplace(s, c);
    }
    // Single letters that are syllables only as interjections (m, n) would split any word.
    m.erase("m");
    m.erase("n");
    m.erase("ng");
    m.erase("hm");
    m.erase("hng");
    return m;
  }();
  return spellings;
}

// The canonical syllables of "key" (letters only), with the fewest syllables; empty when the key
// is not a sequence of pinyin syllables.
std::vector<std::string> SplitSyllables(std::string_view key) {
  constexpr std::size_t kLongest = 6;  // "zhuang", "shuang"
  constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  const auto& spellings = SyllableSpellings();
  const std::size_t n = key.size();
  if (n == 0) return {};
  // fewest[i]: the fewest syllables spelling key[0, i); from[i]: where the last one starts.
  std::vector<std::size_t> fewest(n + 1, kNone);
  std::vector<std::size_t> from(n + 1, 0);
  fewest[0] = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (fewest[i] == kNone) continue;
    for (std::size_t len = 1; len <= kLongest && i + len <= n; ++len) {
      if (spellings.find(std::string(key.substr(i, len))) == spellings.end()) continue;
      if (fewest[i] + 1 < fewest[i + len]) {
        fewest[i + len] = fewest[i] + 1;
        from[i + len] = i;
      }
    }
  }
  if (fewest[n] == kNone) return {};
  std::vector<std::string> out;
  for (std::size_t end = n; end > 0; end = from[end]) {
    out.push_back(spellings.at(std::string(key.substr(from[end], end - from[end]))));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

// The share of syllables two sorted syllable lists have in common: |common| / max(|a|, |b|).
double SyllableOverlap(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::size_t common = 0;
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() && j != b.end()) {
    if (*i == *j) {
      ++common, ++i, ++j;
    } else if (*i < *j) {
      ++i;
    } else {
      ++j;
    }
  }
  return static_cast<double>(common) / static_cast<double>(std::max(a.size(), b.size()));
}

}  // namespace

std::span<const std::uint16_t> PinyinReadings(char32_t c) {
  if (c < kFirst || c > kLast) return {};
  const Table& t = GetTable();
  const std::size_t i = c - kFirst;
  return {t.readings.data() + t.start[i], t.readings.data() + t.start[i + 1]};
}

std::string_view PinyinSyllable(std::uint16_t id) {
  return id < std::size(kGroups) ? kGroups[id].syllable : std::string_view();
}

bool Homophones(char32_t a, char32_t b) {
  if (a == b) return false;
  const auto x = PinyinReadings(a);
  const auto y = PinyinReadings(b);
  for (std::uint16_t r : x) {
    if (std::find(y.begin(), y.end(), r) != y.end()) return true;
  }
  return false;
}

double PinyinSimilarity(std::u32string_view hanzi, std::string_view latin) {
  const std::string key = LatinKey(latin);
  if (hanzi.empty() || key.empty() || hanzi.size() > kMaxChars) return 0.0;
  // Every spelling of every character.
  std::vector<std::vector<std::string>> options(hanzi.size());
  std::vector<std::string> spellings;
  std::size_t combos = 1;
  for (std::size_t i = 0; i < hanzi.size(); ++i) {
    for (std::uint16_t r : PinyinReadings(hanzi[i])) {
      Spellings(PinyinSyllable(r), &spellings);
      for (auto& s : spellings) {
        if (std::find(options[i].begin(), options[i].end(), s) == options[i].end()) {
          options[i].push_back(std::move(s));
        }
      }
    }
    if (options[i].empty()) return 0.0;
    if (combos * options[i].size() > kMaxCombos) options[i].resize(1);
    combos *= options[i].size();
  }
  const std::u32string key32 = ToCodePoints(key);
  std::vector<std::string> latin_syllables = SplitSyllables(key);
  std::sort(latin_syllables.begin(), latin_syllables.end());
  std::vector<std::string> syllables;
  double best = 0.0;
  std::vector<std::size_t> pick(hanzi.size(), 0);
  std::vector<std::string> words;
  std::string joined;
  for (std::size_t c = 0; c < combos; ++c) {
    // Every grouping of the syllables into words: bit i set = a word ends after syllable i.
    const std::size_t groupings = std::size_t{1} << (hanzi.size() - 1);
    for (std::size_t g = 0; g < groupings; ++g) {
      words.assign(1, std::string());
      for (std::size_t i = 0; i < hanzi.size(); ++i) {
        words.back() += options[i][pick[i]];
        if (i + 1 < hanzi.size() && ((g >> i) & 1U) != 0) words.emplace_back();
      }
      std::sort(words.begin(), words.end());
      joined.clear();
      for (const auto& w : words) joined += w;
      if (joined == key) return 1.0;
      if (latin_syllables.empty()) {
        // Not pinyin as it stands (a misspelling): close at best, never above 0.8.
        best = std::max(best, 0.8 * JaroWinkler(ToCodePoints(joined), key32));
      }
    }
    if (!latin_syllables.empty()) {
      // Pinyin, but another name: the share of syllables the two have in common.
      syllables.clear();
      for (std::size_t i = 0; i < hanzi.size(); ++i) {
        syllables.push_back(Canonical(options[i][pick[i]]));
      }
      std::sort(syllables.begin(), syllables.end());
      best = std::max(best, SyllableOverlap(syllables, latin_syllables));
    }
    // Next combination (odometer).
    for (std::size_t i = 0; i < pick.size(); ++i) {
      if (++pick[i] < options[i].size()) break;
      pick[i] = 0;
    }
  }
  // An inexact spelling never reaches 1.0.
  return std::min(best, 0.99);
}

std::optional<double> LatinPinyinSimilarity(std::string_view a, std::string_view b) {
  std::vector<std::string> x = SplitSyllables(LatinKey(a));
  std::vector<std::string> y = SplitSyllables(LatinKey(b));
  if (x.size() < 2 || y.size() < 2) return std::nullopt;
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  return SyllableOverlap(x, y);
}

bool SpellsInPinyin(std::u32string_view hanzi, std::string_view latin) {
  return PinyinSimilarity(hanzi, latin) == 1.0;
}

}  // namespace channelhub::master
