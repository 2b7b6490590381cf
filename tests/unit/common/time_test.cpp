#include "hub/common/time.hpp"

#include <gtest/gtest.h>

namespace channelhub {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

std::string Utc(std::string_view text, minutes default_offset = kDefaultUtcOffset) {
  Result<UtcTime> t = ParseRfc3339(text, default_offset);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status().ToString();
  return t.ok() ? FormatRfc3339(*t) : "";
}

std::string Error(std::string_view text) {
  Result<UtcTime> t = ParseRfc3339(text);
  EXPECT_FALSE(t.ok()) << text;
  if (t.ok()) return "";
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  return t.status().message();
}

TEST(TimeTest, ConvertsOffsetsToUtc) {
  EXPECT_EQ(Utc("2021-12-31T19:00:00-05:00"), "2022-01-01T00:00:00Z");
  EXPECT_EQ(Utc("2022-01-01T00:00:00Z"), "2022-01-01T00:00:00Z");
  EXPECT_EQ(Utc("2022-01-01t08:00:00z"), "2022-01-01T08:00:00Z");
  EXPECT_EQ(Utc("2024-03-08T10:15:30+08:00"), "2024-03-08T02:15:30Z");
  EXPECT_EQ(Utc("2024-03-08T10:15:30+0800"), "2024-03-08T02:15:30Z");
  EXPECT_EQ(Utc("2024-03-08T10:15:30+05:45"), "2024-03-08T04:30:30Z");
  EXPECT_EQ(Utc("2024-03-08 10:15:30Z"), "2024-03-08T10:15:30Z");
  EXPECT_EQ(Utc("2024-03-08T10:15:30-00:00"), "2024-03-08T10:15:30Z");
}

TEST(TimeTest, FractionalSecondsAreKeptToTheMillisecond) {
  EXPECT_EQ(Utc("2022-01-01T00:00:00.123Z"), "2022-01-01T00:00:00.123Z");
  EXPECT_EQ(Utc("2022-01-01T00:00:00.5Z"), "2022-01-01T00:00:00.500Z");
  EXPECT_EQ(Utc("2022-01-01T00:00:00.123999+01:00"), "2021-12-31T23:00:00.123Z");  // truncated
  EXPECT_EQ(Utc("2022-01-01T00:00:00.000Z"), "2022-01-01T00:00:00Z");
  EXPECT_EQ(Error("2022-01-01T00:00:00.Z"),
            "invalid time \"2022-01-01T00:00:00.Z\": expected digits after the decimal point");
}

TEST(TimeTest, LocalTimesUseTheDefaultZone) {
  EXPECT_EQ(Utc("2021-12-31 19:00:00"), "2021-12-31T11:00:00Z");  // Asia/Shanghai, +08:00
  EXPECT_EQ(Utc("2021-12-31T19:00:00"), "2021-12-31T11:00:00Z");
  EXPECT_EQ(Utc("2021-01-01 03:00:00"), "2020-12-31T19:00:00Z");
  EXPECT_EQ(Utc("2021-12-31 19:00:00", minutes(0)), "2021-12-31T19:00:00Z");
  EXPECT_EQ(Utc("2021-12-31 19:00:00", -hours(5)), "2022-01-01T00:00:00Z");
}

TEST(TimeTest, LeapYears) {
  EXPECT_EQ(Utc("2024-02-29T12:00:00Z"), "2024-02-29T12:00:00Z");
  EXPECT_EQ(Utc("2000-02-29T12:00:00Z"), "2000-02-29T12:00:00Z");
  EXPECT_EQ(Utc("2024-02-29T23:30:00-01:00"), "2024-03-01T00:30:00Z");
  EXPECT_EQ(Error("2023-02-29T12:00:00Z"),
            "invalid time \"2023-02-29T12:00:00Z\": there is no day 29 in February 2023");
  EXPECT_EQ(Error("1900-02-29T12:00:00Z"),
            "invalid time \"1900-02-29T12:00:00Z\": there is no day 29 in February 1900");
}

TEST(TimeTest, RejectsInvalidTimesWithAReason) {
  EXPECT_EQ(Error("2021-02-30T00:00:00Z"),
            "invalid time \"2021-02-30T00:00:00Z\": there is no day 30 in February 2021");
  EXPECT_EQ(Error("2021-04-31T00:00:00Z"),
            "invalid time \"2021-04-31T00:00:00Z\": there is no day 31 in April 2021");
  EXPECT_EQ(Error("2021-13-01T00:00:00Z"),
            "invalid time \"2021-13-01T00:00:00Z\": month 13 out of range");
  EXPECT_EQ(Error("2021-00-01T00:00:00Z"),
            "invalid time \"2021-00-01T00:00:00Z\": month 0 out of range");
  EXPECT_EQ(Error("2021-01-01T24:00:00Z"),
            "invalid time \"2021-01-01T24:00:00Z\": hour 24 out of range");
  EXPECT_EQ(Error("2021-01-01T23:60:00Z"),
            "invalid time \"2021-01-01T23:60:00Z\": minute 60 out of range");
  EXPECT_EQ(Error("2016-12-31T23:59:60Z"),
            "invalid time \"2016-12-31T23:59:60Z\": leap second :60 is not supported");
  EXPECT_EQ(Error("2021-01-01T00:00:00+24:00"),
            "invalid time \"2021-01-01T00:00:00+24:00\": offset +24:00 out of range");
  EXPECT_EQ(Error("2021-01-01T00:00:00 CST"),
            "invalid time \"2021-01-01T00:00:00 CST\": expected Z or an offset such as +08:00");
  EXPECT_EQ(Error("2021-01-01T00:00:00+8"),
            "invalid time \"2021-01-01T00:00:00+8\": expected Z or an offset such as +08:00");
  const std::string shape = "expected YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)";
  EXPECT_EQ(Error("2021-01-01"), "invalid time \"2021-01-01\": " + shape);
  EXPECT_EQ(Error("2021/01/01 00:00:00"), "invalid time \"2021/01/01 00:00:00\": " + shape);
  EXPECT_EQ(Error("1640995200"), "invalid time \"1640995200\": " + shape);
  EXPECT_EQ(Error(""), "invalid time \"\": " + shape);
}

TEST(TimeTest, FormatsEpochAndOldDates) {
  EXPECT_EQ(FormatRfc3339(UtcTime{}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(UtcTime{std::chrono::milliseconds(-1)}), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(Utc("0001-01-01T00:00:00Z"), "0001-01-01T00:00:00Z");
  EXPECT_EQ(Utc("9999-12-31T23:59:59.999Z"), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(ParseRfc3339("2022-01-01T00:00:00Z")->time_since_epoch().count(), 1640995200000);
}

// Years 0 to 9999 are written digit by digit; others (and the check here) with printf.
TEST(TimeTest, FormatsEveryFieldAtItsWidth) {
  uint64_t x = 88172645463325252ULL;  // xorshift: any millisecond from year 0 to 9999
  const int64_t lo = -62167219200000;   // 0000-01-01T00:00:00Z
  const int64_t hi = 253402300799999;   // 9999-12-31T23:59:59.999Z
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    int64_t ms = lo + static_cast<int64_t>(x % static_cast<uint64_t>(hi - lo + 1));
    if (i % 3 == 0) ms -= ((ms % 1000) + 1000) % 1000;  // whole seconds too
    const UtcTime t{std::chrono::milliseconds(ms)};
    const std::string text = FormatRfc3339(t);
    ASSERT_EQ(text.size(), ms % 1000 == 0 ? 20u : 24u) << text;
    ASSERT_EQ(*ParseRfc3339(text), t) << text;
  }
  EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2024-03-08T02:05:09.007Z")), "2024-03-08T02:05:09.007Z");
  EXPECT_EQ(FormatRfc3339(UtcTime{std::chrono::milliseconds(-62167219200001)}), "-001-12-31T23:59:59.999Z");
}

TEST(TimeTest, ParsesUtcOffsets) {
  EXPECT_EQ(*ParseUtcOffset("+08:00"), hours(8));
  EXPECT_EQ(*ParseUtcOffset("-05:30"), -(hours(5) + minutes(30)));
  EXPECT_EQ(*ParseUtcOffset("Z"), minutes(0));
  EXPECT_EQ(ParseUtcOffset("Asia/Shanghai").status().message(),
            "invalid UTC offset \"Asia/Shanghai\": expected Z or an offset such as +08:00");
}

TEST(TimeTest, NowIsRecentAndRoundTrips) {
  const UtcTime now = NowUtc();
  EXPECT_GT(now, *ParseRfc3339("2024-01-01T00:00:00Z"));
  EXPECT_EQ(*ParseRfc3339(FormatRfc3339(now)), now);
}

}  // namespace
}  // namespace channelhub
