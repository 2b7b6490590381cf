#include "hub/common/time.hpp"

#include <cstdio>

namespace channelhub {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr std::string_view kShape = "expected YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)";

constexpr const char* kMonthNames[] = {"January",   "February", "March",    "April",
                                       "May",       "June",     "July",     "August",
                                       "September", "October",  "November", "December"};

std::string Quote(std::string_view text) {
  constexpr size_t kMaxShown = 40;
  std::string s = "\"";
  s.append(text.substr(0, kMaxShown));
  if (text.size() > kMaxShown) s += "...";
  s += '"';
  return s;
}

Status BadTime(std::string_view text, std::string_view why) {
  std::string m = "invalid time ";
  m += Quote(text);
  m += ": ";
  m.append(why);
  return Status::Invalid(std::move(m));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads "n" digits at text[pos]; false when they are not all digits.
bool Digits(std::string_view text, size_t pos, size_t n, int* out) {
  if (pos + n > text.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!IsDigit(text[i])) return false;
    v = v * 10 + (text[i] - '0');
  }
  *out = v;
  return true;
}

// Parses an offset ("Z", "+08:00", "+0800") that makes up all of "zone". The error message is
// built by the caller, which knows the whole text.
bool ParseOffset(std::string_view zone, minutes* out, std::string* why) {
  if (zone == "Z" || zone == "z") {
    *out = minutes(0);
    return true;
  }
  if (zone.empty() || (zone[0] != '+' && zone[0] != '-')) {
    *why = "expected Z or an offset such as +08:00";
    return false;
  }
  int hh = 0;
  int mm = 0;
  const bool colon = zone.size() == 6 && zone[3] == ':';
  const bool compact = zone.size() == 5;
  if ((!colon && !compact) || !Digits(zone, 1, 2, &hh) || !Digits(zone, colon ? 4 : 3, 2, &mm)) {
    *why = "expected Z or an offset such as +08:00";
    return false;
  }
  if (hh > 23 || mm > 59) {
    *why = "offset ";
    why->append(zone);
    *why += " out of range";
    return false;
  }
  const minutes offset = hours(hh) + minutes(mm);
  *out = zone[0] == '-' ? -offset : offset;
  return true;
}

}  // namespace

Result<minutes> ParseUtcOffset(std::string_view text) {
  minutes offset{0};
  std::string why;
  if (!ParseOffset(text, &offset, &why)) {
    return Status::Invalid("invalid UTC offset " + Quote(text) + ": " + why);
  }
  return offset;
}

Result<UtcTime> ParseRfc3339(std::string_view text, minutes default_offset) {
  // Fixed part: YYYY-MM-DDTHH:MM:SS (19 characters).
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (text.size() < 19 || !Digits(text, 0, 4, &year) || text[4] != '-' ||
      !Digits(text, 5, 2, &month) || text[7] != '-' || !Digits(text, 8, 2, &day) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !Digits(text, 11, 2, &hour) ||
      text[13] != ':' || !Digits(text, 14, 2, &minute) || text[16] != ':' ||
      !Digits(text, 17, 2, &second)) {
    return BadTime(text, kShape);
  }
  if (month < 1 || month > 12)
    return BadTime(text, "month " + std::to_string(month) + " out of range");
  const std::chrono::year_month_day ymd{std::chrono::year(year),
                                        std::chrono::month(static_cast<unsigned>(month)),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) {
    return BadTime(text, "there is no day " + std::to_string(day) + " in " +
                             kMonthNames[month - 1] + " " + std::to_string(year));
  }
  if (hour > 23) return BadTime(text, "hour " + std::to_string(hour) + " out of range");
  if (minute > 59) return BadTime(text, "minute " + std::to_string(minute) + " out of range");
  if (second == 60) return BadTime(text, "leap second :60 is not supported");
  if (second > 59) return BadTime(text, "second " + std::to_string(second) + " out of range");

  size_t pos = 19;
  int millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const size_t first = pos;
    while (pos < text.size() && IsDigit(text[pos])) {
      if (pos - first < 3) millis = millis * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == first) return BadTime(text, "expected digits after the decimal point");
    for (size_t n = pos - first; n < 3; ++n) millis *= 10;
  }

  minutes offset = default_offset;
  if (pos < text.size()) {
    std::string why;
    if (!ParseOffset(text.substr(pos), &offset, &why)) return BadTime(text, why);
  }

  const std::chrono::sys_days date{ymd};
  return UtcTime(date + hours(hour) + minutes(minute) + seconds(second) + milliseconds(millis) -
                 offset);
}

std::string FormatRfc3339(UtcTime t) {
  const auto date = std::chrono::floor<days>(t);
  const std::chrono::year_month_day ymd{date};
  const std::chrono::hh_mm_ss<milliseconds> tod{t - date};
  char buf[40];
  const int ms = static_cast<int>(tod.subseconds().count());
  const int year = static_cast<int>(ymd.year());
  if (year >= 0 && year <= 9999) {  // every real timestamp: digits written by hand, no printf
    auto put = [](char* at, unsigned v, int width) {
      for (int i = width - 1; i >= 0; --i, v /= 10) at[i] = static_cast<char>('0' + v % 10);
    };
    put(buf, static_cast<unsigned>(year), 4);
    buf[4] = '-';
    put(buf + 5, static_cast<unsigned>(ymd.month()), 2);
    buf[7] = '-';
    put(buf + 8, static_cast<unsigned>(ymd.day()), 2);
    buf[10] = 'T';
    put(buf + 11, static_cast<unsigned>(tod.hours().count()), 2);
    buf[13] = ':';
    put(buf + 14, static_cast<unsigned>(tod.minutes().count()), 2);
    buf[16] = ':';
    put(buf + 17, static_cast<unsigned>(tod.seconds().count()), 2);
    std::size_t n = 19;
    if (ms != 0) {
      buf[n++] = '.';
      put(buf + n, static_cast<unsigned>(ms), 3);
      n += 3;
    }
    buf[n++] = 'Z';
    return std::string(buf, n);
  }
  if (ms != 0) {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                  static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<int>(tod.hours().count()),
                  static_cast<int>(tod.minutes().count()), static_cast<int>(tod.seconds().count()),
                  ms);
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                  static_cast<int>(tod.seconds().count()));
  }
  return buf;
}

UtcTime NowUtc() { return std::chrono::floor<milliseconds>(std::chrono::system_clock::now()); }

}  // namespace channelhub
