#include "hub/master/similarity.hpp"

#include <algorithm>
#include <cstdint>

#include "hub/master/pinyin.hpp"

namespace channelhub::master {

std::u32string ToCodePoints(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    }
    std::size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    }
    bool ok = len != 0 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) {
        ok = false;
      } else {
        cp = (cp << 6) | (b & 0x3F);
      }
    }
    if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (ok) {
      out.push_back(cp);
      i += len;
    } else {
      out.push_back(0xFFFD);
      ++i;
    }
  }
  return out;
}

double Jaro(std::u32string_view a, std::u32string_view b) {
  if (a.empty() && b.empty()) return 1.0;
  if (a.empty() || b.empty()) return 0.0;
  const std::size_t la = a.size();
  const std::size_t lb = b.size();
  const std::size_t longer = std::max(la, lb);
  const std::size_t window = longer / 2 > 0 ? longer / 2 - 1 : 0;
  // Small inputs (names, codes) stay on the stack.
  constexpr std::size_t kInline = 64;
  bool a_inline[kInline];
  bool b_inline[kInline];
  std::vector<bool> a_heap;
  std::vector<bool> b_heap;
  const bool small = la <= kInline && lb <= kInline;
  if (!small) {
    a_heap.assign(la, false);
    b_heap.assign(lb, false);
  } else {
    std::fill(a_inline, a_inline + la, false);
    std::fill(b_inline, b_inline + lb, false);
  }
  auto a_used = [&](std::size_t i) -> bool { return small ? a_inline[i] : a_heap[i]; };
  auto b_used = [&](std::size_t j) -> bool { return small ? b_inline[j] : b_heap[j]; };
  auto set_a = [&](std::size_t i) {
    if (small) {
      a_inline[i] = true;
    } else {
      a_heap[i] = true;
    }
  };
  auto set_b = [&](std::size_t j) {
    if (small) {
      b_inline[j] = true;
    } else {
      b_heap[j] = true;
    }
  };

  std::size_t matches = 0;
  for (std::size_t i = 0; i < la; ++i) {
    const std::size_t lo = i > window ? i - window : 0;
    const std::size_t hi = std::min(lb, i + window + 1);
    for (std::size_t j = lo; j < hi; ++j) {
      if (!b_used(j) && a[i] == b[j]) {
        set_a(i);
        set_b(j);
        ++matches;
        break;
      }
    }
  }
  if (matches == 0) return 0.0;
  std::size_t half_transpositions = 0;
  std::size_t j = 0;
  for (std::size_t i = 0; i < la; ++i) {
    if (!a_used(i)) continue;
    while (!b_used(j)) ++j;
    if (a[i] != b[j]) ++half_transpositions;
    ++j;
  }
  const double m = static_cast<double>(matches);
  const double t = static_cast<double>(half_transpositions / 2);
  return (m / static_cast<double>(la) + m / static_cast<double>(lb) + (m - t) / m) / 3.0;
}

double JaroWinkler(std::u32string_view a, std::u32string_view b,
                   const JaroWinklerOptions& options) {
  const double jaro = Jaro(a, b);
  if (jaro <= options.boost_threshold) return jaro;
  const std::size_t prefix = std::min(CommonPrefixLength(a, b), options.max_prefix);
  const double jw = jaro + options.prefix_scale * static_cast<double>(prefix) * (1.0 - jaro);
  return std::min(jw, 1.0);
}

double JaroWinkler(std::string_view a, std::string_view b, const JaroWinklerOptions& options) {
  return JaroWinkler(ToCodePoints(a), ToCodePoints(b), options);
}

std::size_t EditDistance(std::u32string_view a, std::u32string_view b) {
  const std::size_t la = a.size();
  const std::size_t lb = b.size();
  if (la == 0) return lb;
  if (lb == 0) return la;
  // Three rolling rows: two back (for transpositions), previous and current.
  std::vector<std::size_t> prev2(lb + 1);
  std::vector<std::size_t> prev(lb + 1);
  std::vector<std::size_t> cur(lb + 1);
  for (std::size_t j = 0; j <= lb; ++j) prev[j] = j;
  for (std::size_t i = 1; i <= la; ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= lb; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      std::size_t best = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        best = std::min(best, prev2[j - 2] + 1);
      }
      cur[j] = best;
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[lb];
}

double EditSimilarity(std::u32string_view a, std::u32string_view b) {
  const std::size_t longer = std::max(a.size(), b.size());
  if (longer == 0) return 1.0;
  return 1.0 - static_cast<double>(EditDistance(a, b)) / static_cast<double>(longer);
}

double EditSimilarity(std::string_view a, std::string_view b) {
  return EditSimilarity(ToCodePoints(a), ToCodePoints(b));
}

double HomophoneEditSimilarity(std::u32string_view a, std::u32string_view b,
                               double homophone_cost) {
  const std::size_t la = a.size();
  const std::size_t lb = b.size();
  const std::size_t longer = std::max(la, lb);
  if (longer == 0) return 1.0;
  // The optimal-string-alignment recurrence of EditDistance() with a cheaper substitution.
  std::vector<double> prev2(lb + 1);
  std::vector<double> prev(lb + 1);
  std::vector<double> cur(lb + 1);
  for (std::size_t j = 0; j <= lb; ++j) prev[j] = static_cast<double>(j);
  for (std::size_t i = 1; i <= la; ++i) {
    cur[0] = static_cast<double>(i);
    for (std::size_t j = 1; j <= lb; ++j) {
      double cost = 0.0;
      if (a[i - 1] != b[j - 1]) cost = Homophones(a[i - 1], b[j - 1]) ? homophone_cost : 1.0;
      double best = std::min({prev[j] + 1.0, cur[j - 1] + 1.0, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        best = std::min(best, prev2[j - 2] + 1.0);
      }
      cur[j] = best;
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return 1.0 - prev[lb] / static_cast<double>(longer);
}

std::size_t CommonPrefixLength(std::u32string_view a, std::u32string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  std::size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

bool ExactMatch(std::string_view a, std::string_view b) { return !a.empty() && a == b; }

bool PrefixMatch(std::string_view a, std::string_view b, std::size_t min_code_points) {
  if (a.empty() || b.empty()) return false;
  std::string_view shorter = a.size() <= b.size() ? a : b;
  std::string_view longer = a.size() <= b.size() ? b : a;
  if (longer.substr(0, shorter.size()) != shorter) return false;
  return ToCodePoints(shorter).size() >= std::max<std::size_t>(min_code_points, 1);
}

bool SortedIntersect(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() && j != b.end()) {
    if (*i == *j) return true;
    if (*i < *j) {
      ++i;
    } else {
      ++j;
    }
  }
  return false;
}

}  // namespace channelhub::master
