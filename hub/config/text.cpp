#include "hub/config/text.hpp"

#include <algorithm>
#include <cstdio>

namespace channelhub::config::detail {

namespace {

constexpr std::size_t kMaxQuoted = 80;

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::string Quote(std::string_view text) {
  std::string out = "\"";
  std::size_t shown = 0;
  for (char c : text) {
    if (shown == kMaxQuoted) {
      out += "...";
      break;
    }
    ++shown;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x",
                        static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string Join(const std::vector<std::string>& names, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += separator;
    out += names[i];
  }
  return out;
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  // Three rows of the dynamic-programming table are enough for adjacent transpositions.
  const std::size_t n = b.size();
  std::vector<std::size_t> before(n + 1), previous(n + 1), current(n + 1);
  for (std::size_t j = 0; j <= n; ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= n; ++j) {
      const bool same = Lower(a[i - 1]) == Lower(b[j - 1]);
      std::size_t best =
          std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (same ? 0 : 1)});
      if (i > 1 && j > 1 && Lower(a[i - 1]) == Lower(b[j - 2]) &&
          Lower(a[i - 2]) == Lower(b[j - 1])) {
        best = std::min(best, before[j - 2] + 1);
      }
      current[j] = best;
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[n];
}

std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  // First a typo: few edits, and one candidate closer than all others.
  std::optional<std::string> best;
  std::size_t best_distance = 0;
  bool tie = false;
  for (const std::string& candidate : candidates) {
    const std::size_t distance = EditDistance(word, candidate);
    // One edit in three characters is a typo; more is probably a different word.
    const std::size_t allowed =
        std::max<std::size_t>(1, std::min(word.size(), candidate.size()) / 3);
    if (distance > allowed) continue;
    if (!best || distance < best_distance) {
      best = candidate;
      best_distance = distance;
      tie = false;
    } else if (distance == best_distance) {
      tie = true;
    }
  }
  // Two equally good guesses ("GiB": "KiB" or "MiB"?) would only mislead.
  if (best) return tie ? std::nullopt : best;
  // Then a shortened or lengthened word ("hmac" for "hmac_sha256", "warning" for "warn"), when
  // only one candidate fits.
  std::optional<std::string> prefixed;
  for (const std::string& candidate : candidates) {
    const std::size_t shorter = std::min(word.size(), candidate.size());
    if (shorter < 3 || EditDistance(word.substr(0, shorter), candidate.substr(0, shorter)) != 0) {
      continue;
    }
    if (prefixed) return std::nullopt;
    prefixed = candidate;
  }
  return prefixed;
}

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  std::optional<std::string> match = ClosestMatch(word, candidates);
  if (!match) return "";
  return "; did you mean " + Quote(*match) + "?";
}

}  // namespace channelhub::config::detail
