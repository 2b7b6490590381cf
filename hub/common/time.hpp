// UTC time points, RFC 3339 parsing and formatting.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "hub/common/status.hpp"

namespace channelhub {

// Every time the hub stores or sends is UTC, with millisecond precision.
using UtcTime = std::chrono::sys_time<std::chrono::milliseconds>;

// The zone assumed for local times that carry no offset: Asia/Shanghai, which is UTC+08:00 all
// year (no daylight saving since 1991), so a fixed offset is exact.
inline constexpr std::chrono::minutes kDefaultUtcOffset{8 * 60};

// Parses an RFC 3339 timestamp into UTC:
//   "2021-12-31T19:00:00-05:00", "2022-01-01T00:00:00Z", "2022-01-01T00:00:00.5+08:00".
// Also accepted: 't'/'z' in lower case, a space instead of 'T', an offset without a colon
// ("+0800"), and a local time without any zone ("2021-12-31 19:00:00"), which is read as being at
// "default_offset" east of UTC. Fractional seconds beyond milliseconds are truncated.
// InvalidArgument, saying what is wrong, for any other shape, an impossible date ("2021-02-30"),
// an hour, minute or offset out of range, and the leap second :60 (not representable).
Result<UtcTime> ParseRfc3339(std::string_view text,
                             std::chrono::minutes default_offset = kDefaultUtcOffset);

// Parses a UTC offset: "Z", "+08:00", "-05:30", "+0800". InvalidArgument otherwise.
Result<std::chrono::minutes> ParseUtcOffset(std::string_view text);

// "2022-01-01T00:00:00Z", or "2022-01-01T00:00:00.120Z" when the milliseconds are not zero.
// REQUIRES: "t" lies in the years 0000..9999.
std::string FormatRfc3339(UtcTime t);

// The current time, truncated to milliseconds.
UtcTime NowUtc();

// NowUtc() as milliseconds since the Unix epoch, as the journal stores times.
inline int64_t NowUnixMillis() { return NowUtc().time_since_epoch().count(); }

}  // namespace channelhub
