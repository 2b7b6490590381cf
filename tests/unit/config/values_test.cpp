#include <gtest/gtest.h>

#include <limits>

#include "hub/config/config.hpp"

namespace channelhub::config {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ParseDurationTest, ReadsEveryUnit) {
  EXPECT_EQ(*ParseDuration("500ms"), Millis{500});
  EXPECT_EQ(*ParseDuration("10s"), seconds{10});
  EXPECT_EQ(*ParseDuration("5m"), minutes{5});
  EXPECT_EQ(*ParseDuration("1h"), hours{1});
  EXPECT_EQ(*ParseDuration("2d"), hours{48});
}

TEST(ParseDurationTest, ReadsCompoundDurations) {
  EXPECT_EQ(*ParseDuration("1h30m"), minutes{90});
  EXPECT_EQ(*ParseDuration("1m30s500ms"), Millis{90500});
  EXPECT_EQ(*ParseDuration("1d1h1m1s1ms"), Millis{90061001});
}

TEST(ParseDurationTest, ReadsZero) {
  EXPECT_EQ(*ParseDuration("0"), Millis{0});
  EXPECT_EQ(*ParseDuration("0s"), Millis{0});
  EXPECT_EQ(*ParseDuration("0ms"), Millis{0});
}

TEST(ParseDurationTest, RejectsTextWithTheExpectedForm) {
  Result<Millis> r = ParseDuration("10 seconds");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "expected a duration like 500ms, 10s, 5m, 1h; got \"10 seconds\"");
}

TEST(ParseDurationTest, RejectsMissingUnit) {
  EXPECT_EQ(
      ParseDuration("10").status().message(),
      "expected a duration like 500ms, 10s, 5m, 1h; got \"10\" (add a unit: ms, s, m, h or d)");
  EXPECT_EQ(
      ParseDuration("1h30").status().message(),
      "expected a duration like 500ms, 10s, 5m, 1h; got \"1h30\" (add a unit: ms, s, m, h or d)");
}

TEST(ParseDurationTest, RejectsNegative) {
  EXPECT_EQ(ParseDuration("-5s").status().message(),
            "expected a duration like 500ms, 10s, 5m, 1h; got \"-5s\" (it cannot be negative)");
}

TEST(ParseDurationTest, RejectsFractions) {
  EXPECT_EQ(ParseDuration("1.5s").status().message(),
            "expected a duration like 500ms, 10s, 5m, 1h; got \"1.5s\" (use whole numbers)");
}

TEST(ParseDurationTest, RejectsUnknownUnitWithSuggestion) {
  EXPECT_EQ(ParseDuration("10sec").status().message(),
            "unknown unit \"sec\" in \"10sec\"; expected ms, s, m, h or d");
  EXPECT_EQ(ParseDuration("10M").status().message(),
            "unknown unit \"M\" in \"10M\"; expected ms, s, m, h or d; did you mean \"m\"?");
}

TEST(ParseDurationTest, RejectsEmptyAndUnitOnly) {
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("s").ok());
  EXPECT_FALSE(ParseDuration("10s ").ok());
  EXPECT_FALSE(ParseDuration(" 10s").ok());
}

TEST(ParseDurationTest, RejectsOverflow) {
  // Too many digits for 64 bits.
  EXPECT_EQ(ParseDuration("99999999999999999999ms").status().message(),
            "duration \"99999999999999999999ms\" is too large");
  // Fits 64 bits as days, not as milliseconds.
  EXPECT_EQ(ParseDuration("999999999999999d").status().message(),
            "duration \"999999999999999d\" is too large");
  // The sum overflows although each part fits.
  EXPECT_FALSE(ParseDuration("9223372036854775807ms1ms").ok());
  EXPECT_EQ(*ParseDuration("9223372036854775807ms"),
            Millis{std::numeric_limits<Millis::rep>::max()});
}

TEST(FormatDurationTest, WritesTheShortestCompoundForm) {
  EXPECT_EQ(FormatDuration(Millis{0}), "0s");
  EXPECT_EQ(FormatDuration(Millis{500}), "500ms");
  EXPECT_EQ(FormatDuration(minutes{90}), "1h30m");
  EXPECT_EQ(FormatDuration(hours{24}), "1d");
  EXPECT_EQ(FormatDuration(Millis{-1500}), "-1s500ms");
  EXPECT_EQ(*ParseDuration(FormatDuration(Millis{90061001})), Millis{90061001});
}

TEST(ParseSizeTest, ReadsBytesAndUnits) {
  EXPECT_EQ(*ParseSize("1048576"), 1048576u);
  EXPECT_EQ(*ParseSize("0"), 0u);
  EXPECT_EQ(*ParseSize("12B"), 12u);
  EXPECT_EQ(*ParseSize("2KB"), 2000u);
  EXPECT_EQ(*ParseSize("2KiB"), 2048u);
  EXPECT_EQ(*ParseSize("3MB"), 3000000u);
  EXPECT_EQ(*ParseSize("1MiB"), 1048576u);
}

TEST(ParseSizeTest, RejectsUnknownUnitWithSuggestion) {
  EXPECT_EQ(ParseSize("1mb").status().message(),
            "unknown unit \"mb\" in \"1mb\"; expected B, KB, KiB, MB or MiB; did you mean \"MB\"?");
  EXPECT_EQ(
      ParseSize("1Mib").status().message(),
      "unknown unit \"Mib\" in \"1Mib\"; expected B, KB, KiB, MB or MiB; did you mean \"MiB\"?");
  // "KiB" and "MiB" are equally close: no guess.
  EXPECT_EQ(ParseSize("1GiB").status().message(),
            "unknown unit \"GiB\" in \"1GiB\"; expected B, KB, KiB, MB or MiB");
}

TEST(ParseSizeTest, RejectsNegativeFractionsAndText) {
  EXPECT_EQ(ParseSize("-1").status().message(),
            "expected a size like 1048576, 512KiB or 1MiB; got \"-1\" (it cannot be negative)");
  EXPECT_EQ(ParseSize("1.5MiB").status().message(),
            "expected a size like 1048576, 512KiB or 1MiB; got \"1.5MiB\" (use whole numbers)");
  EXPECT_EQ(ParseSize("one").status().message(),
            "expected a size like 1048576, 512KiB or 1MiB; got \"one\"");
  EXPECT_FALSE(ParseSize("").ok());
  EXPECT_FALSE(ParseSize("1 MiB").ok());
  EXPECT_FALSE(ParseSize("1MiB2").ok());
}

TEST(ParseSizeTest, RejectsOverflow) {
  EXPECT_EQ(ParseSize("99999999999999999999").status().message(),
            "size \"99999999999999999999\" is too large");
  EXPECT_EQ(ParseSize("18446744073709551615MiB").status().message(),
            "size \"18446744073709551615MiB\" is too large");
  EXPECT_EQ(*ParseSize("18446744073709551615"), std::numeric_limits<std::size_t>::max());
}

TEST(ParseListenAddressTest, ReadsHostAndPort) {
  Result<ListenAddress> a = ParseListenAddress("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  EXPECT_EQ(ParseListenAddress("localhost:0")->port, 0);
  EXPECT_EQ(ParseListenAddress("0.0.0.0:65535")->port, 65535);
  EXPECT_EQ(ParseListenAddress("[::1]:9000")->host, "::1");
}

TEST(ParseListenAddressTest, RejectsMalformedAddresses) {
  EXPECT_EQ(ParseListenAddress("8080").status().message(),
            "expected HOST:PORT like 127.0.0.1:8080; got \"8080\" (the port is missing)");
  EXPECT_EQ(ParseListenAddress(":8080").status().message(),
            "expected HOST:PORT like 127.0.0.1:8080; got \":8080\" (the host is missing: "
            "127.0.0.1 for this machine only, 0.0.0.0 for all interfaces)");
  EXPECT_EQ(ParseListenAddress("127.0.0.1:70000").status().message(),
            "port 70000 in \"127.0.0.1:70000\" is out of range; expected 0 to 65535");
  EXPECT_EQ(ParseListenAddress("::1:8080").status().message(),
            "expected HOST:PORT like 127.0.0.1:8080; got \"::1:8080\" (write an IPv6 address in "
            "brackets, like [::1]:8080)");
  EXPECT_FALSE(ParseListenAddress("127.0.0.1:").ok());
  EXPECT_FALSE(ParseListenAddress("127.0.0.1:80a").ok());
  EXPECT_FALSE(ParseListenAddress("127.0.0.1:-1").ok());
  EXPECT_FALSE(ParseListenAddress("my host:80").ok());
  EXPECT_FALSE(ParseListenAddress("[::1]8080").ok());
  EXPECT_FALSE(ParseListenAddress("").ok());
}

TEST(TypeMatchesTest, StarMatchesEverything) {
  EXPECT_TRUE(TypeMatches("*", "com.channelhub.order.upserted"));
  EXPECT_TRUE(TypeMatches("*", "com.channelhub.customer.golden.updated"));
}

TEST(TypeMatchesTest, TrailingStarMatchesOneOrMoreParts) {
  EXPECT_TRUE(TypeMatches("order.*", "com.channelhub.order.upserted"));
  EXPECT_TRUE(TypeMatches("order.*", "com.channelhub.order.status_changed"));
  EXPECT_TRUE(TypeMatches("customer.*", "com.channelhub.customer.golden.updated"));
  EXPECT_FALSE(TypeMatches("order.*", "com.channelhub.customer.upserted"));
  EXPECT_FALSE(TypeMatches("order.*", "com.channelhub.order"));
  EXPECT_FALSE(TypeMatches("order.*", "com.channelhub.order."));
  EXPECT_FALSE(TypeMatches("order.*", "com.channelhub.orders.upserted"));
}

TEST(TypeMatchesTest, ExactPatternMatchesOnlyThatType) {
  EXPECT_TRUE(TypeMatches("order.upserted", "com.channelhub.order.upserted"));
  EXPECT_FALSE(TypeMatches("order.upserted", "com.channelhub.order.upserted.v2"));
  EXPECT_FALSE(TypeMatches("order.upserted", "com.channelhub.order.status_changed"));
  EXPECT_FALSE(TypeMatches("customer.golden", "com.channelhub.customer.golden.updated"));
}

TEST(TypeMatchesTest, InnerStarMatchesExactlyOnePart) {
  EXPECT_TRUE(TypeMatches("*.upserted", "com.channelhub.order.upserted"));
  EXPECT_TRUE(TypeMatches("*.upserted", "com.channelhub.customer.upserted"));
  EXPECT_FALSE(TypeMatches("*.upserted", "com.channelhub.customer.golden.upserted"));
}

TEST(TypeMatchesTest, RequiresTheChannelhubPrefix) {
  EXPECT_FALSE(TypeMatches("order.*", "order.upserted"));
  EXPECT_FALSE(TypeMatches("order.upserted", "com.example.order.upserted"));
  EXPECT_FALSE(TypeMatches("order.*", ""));
}

TEST(DiagnosticTest, FormatsFileLineColumnKeyAndMessage) {
  EXPECT_EQ((Diagnostic{"hub.yaml", 12, 5, "sources.webshop.auth.secret", "missing"}).ToString(),
            "hub.yaml:12:5: sources.webshop.auth.secret: missing");
  EXPECT_EQ((Diagnostic{"hub.yaml", 3, 1, "", "invalid YAML: x"}).ToString(),
            "hub.yaml:3:1: invalid YAML: x");
  EXPECT_EQ((Diagnostic{"hub.yaml", 0, 0, "listen", "bad"}).ToString(), "hub.yaml: listen: bad");
}

}  // namespace
}  // namespace channelhub::config
