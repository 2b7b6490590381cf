// Small text helpers for configuration messages: quoting what the user wrote, listing names, and
// "did you mean" suggestions. Internal to hub/config. All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace channelhub::config::detail {

// "text" in double quotes, with quotes, backslashes and control characters escaped, and cut after
// 80 characters ("..." marks the cut) so that one message stays on one line.
std::string Quote(std::string_view text);

// "a, b, c".
std::string Join(const std::vector<std::string>& names, std::string_view separator = ", ");

// The optimal string alignment distance (insertions, deletions, substitutions and transpositions
// of adjacent characters) between "a" and "b", ignoring ASCII case.
std::size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to "word" when it is close enough to be a likely typo; or else the only
// candidate that begins with "word", or that "word" begins with, in three characters or more
// ("hmac" for "hmac_sha256", "warning" for "warn"). nullopt when none fits or two fit equally.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);

// `; did you mean "url"?` for the closest candidate, or "" when none is close.
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace channelhub::config::detail
