#include "hub/config/text.hpp"

#include <gtest/gtest.h>

namespace channelhub::config::detail {
namespace {

TEST(EditDistanceTest, CountsEditsIgnoringCase) {
  EXPECT_EQ(EditDistance("url", "url"), 0u);
  EXPECT_EQ(EditDistance("ur1", "url"), 1u);
  EXPECT_EQ(EditDistance("Shopify", "shopify"), 0u);
  EXPECT_EQ(EditDistance("shopfiy", "shopify"), 1u);  // a transposition is one edit
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

TEST(ClosestMatchTest, SuggestsOnlyLikelyTypos) {
  const std::vector<std::string> keys = {"type", "path", "url", "headers", "timeout", "retry"};
  EXPECT_EQ(ClosestMatch("ur1", keys), "url");
  EXPECT_EQ(ClosestMatch("header", keys), "headers");
  EXPECT_EQ(ClosestMatch("retyr", keys), "retry");
  EXPECT_EQ(ClosestMatch("colour", keys), std::nullopt);
  EXPECT_EQ(ClosestMatch("hmac", {"none", "bearer", "hmac_sha256"}), "hmac_sha256");
  EXPECT_EQ(ClosestMatch("", keys), std::nullopt);
  EXPECT_EQ(ClosestMatch("GiB", {"KiB", "MiB"}), std::nullopt);  // a tie is no suggestion
  EXPECT_EQ(ClosestMatch("warning", {"debug", "info", "warn"}), "warn");
  EXPECT_EQ(ClosestMatch("builtin:", {"builtin:a.b", "builtin:c.d"}), std::nullopt);
}

TEST(DidYouMeanTest, FormatsTheSuggestion) {
  EXPECT_EQ(DidYouMean("ur1", {"url"}), "; did you mean \"url\"?");
  EXPECT_EQ(DidYouMean("zzz", {"url"}), "");
}

TEST(QuoteTest, EscapesAndShortens) {
  EXPECT_EQ(Quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\x01\"");
  EXPECT_EQ(Quote(std::string(100, 'x')), "\"" + std::string(80, 'x') + "...\"");
}

TEST(JoinTest, SeparatesWithCommas) {
  EXPECT_EQ(Join({}), "");
  EXPECT_EQ(Join({"a"}), "a");
  EXPECT_EQ(Join({"a", "b", "c"}), "a, b, c");
}

}  // namespace
}  // namespace channelhub::config::detail
