// Time transforms: datetime_parse and datetime_format.
#include <charconv>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "hub/common/time.hpp"
#include "hub/mapping/transform.hpp"
#include "hub/mapping/transform_internal.hpp"

namespace channelhub::mapping::internal {
namespace {

using Kind = Scalar::Kind;
using std::chrono::minutes;

// A compiled pattern: literals and fields, from "%Y-%m-%d %H:%M:%S" and the like.
struct Token {
  char field = 0;  // 'Y','m','d','H','M','S','f','z','Z' (%:z) or 0 for a literal
  std::string literal;
};

enum class Special { kNone, kRfc3339, kEpochSeconds, kEpochMillis };

struct Pattern {
  Special special = Special::kNone;
  std::vector<Token> tokens;
};

constexpr std::string_view kDirectives =
    "%Y (4-digit year), %m, %d, %H, %M, %S (1 or 2 digits when parsing, 2 when formatting), "
    "%f (fraction of a second; 3 digits when formatting), %z (+0800, +08:00 or Z), "
    "%:z (+08:00, formatting), %F (%Y-%m-%d), %T (%H:%M:%S), %% (a %)";

Result<Pattern> CompilePattern(const ArgReader& a, bool parsing) {
  std::string f = a.Get("format").value_or("");
  Pattern p;
  if (f == "rfc3339") return Pattern{Special::kRfc3339, {}};
  if (f == "epoch_s") return Pattern{Special::kEpochSeconds, {}};
  if (f == "epoch_ms") return Pattern{Special::kEpochMillis, {}};
  std::string expanded;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '%' && i + 1 < f.size() && f[i + 1] == 'F') {
      expanded += "%Y-%m-%d", ++i;
    } else if (f[i] == '%' && i + 1 < f.size() && f[i + 1] == 'T') {
      expanded += "%H:%M:%S", ++i;
    } else {
      expanded += f[i];
    }
  }
  std::string seen;
  for (size_t i = 0; i < expanded.size(); ++i) {
    char c = expanded[i];
    if (c != '%') {
      if (p.tokens.empty() || p.tokens.back().field != 0) p.tokens.push_back({});
      p.tokens.back().literal += c;
      continue;
    }
    if (i + 1 >= expanded.size())
      return a.Error("format", "a pattern that does not end in a lone %");
    char d = expanded[++i];
    if (d == '%') {
      if (p.tokens.empty() || p.tokens.back().field != 0) p.tokens.push_back({});
      p.tokens.back().literal += '%';
      continue;
    }
    if (d == ':' && i + 1 < expanded.size() && expanded[i + 1] == 'z') d = 'Z', ++i;
    if (std::string_view("YmdHMSfzZ").find(d) == std::string_view::npos) {
      return a.Error("format", "\"rfc3339\", \"epoch_s\", \"epoch_ms\" or a pattern of " +
                                   std::string(kDirectives) + "; %" + std::string(1, d) +
                                   " is not supported");
    }
    char key = d == 'Z' ? 'z' : d;
    if (seen.find(key) != std::string::npos) {
      return a.Error("format", "a pattern naming each field once");
    }
    seen += key;
    p.tokens.push_back({d, ""});
  }
  if (seen.empty()) {  // "RFC3339", "epochms", "yyyy-MM-dd": would write the same text for every time
    return a.Error("format", "\"rfc3339\", \"epoch_s\", \"epoch_ms\" or a pattern with at least one of " +
                                 std::string(kDirectives) + " (names are lower case; patterns use %, like %Y-%m-%d)");
  }
  if (parsing) {
    for (char need : {'Y', 'm', 'd'}) {
      if (seen.find(need) == std::string::npos) {
        return a.Error("format", "a pattern with at least %Y, %m and %d (or %F)");
      }
    }
  }
  return p;
}

// Reads 1..max_len digits (exactly max_len when exact) at "*pos".
bool ReadNumber(std::string_view s, size_t* pos, size_t max_len, bool exact, int* out) {
  size_t start = *pos;
  size_t end = start;
  while (end < s.size() && end - start < max_len && s[end] >= '0' && s[end] <= '9') ++end;
  if (end == start || (exact && end - start != max_len)) return false;
  std::from_chars(s.data() + start, s.data() + end, *out);
  *pos = end;
  return true;
}

class DatetimeParse final : public Transform {
 public:
  DatetimeParse(Pattern pattern, minutes offset, KindSet inputs)
      : Transform("datetime_parse", inputs, Kind::kTime),
        pattern_(std::move(pattern)),
        offset_(offset) {}

 private:
  Result<Scalar> ApplyValue(const Scalar& in) const override {
    const std::string& s = in.text();
    switch (pattern_.special) {
      case Special::kRfc3339: {
        Result<UtcTime> t = ParseRfc3339(s, offset_);
        if (!t.ok()) return ValueError(s, "is not an RFC 3339 time: " + t.status().message());
        return Scalar::Time(*t);
      }
      case Special::kEpochSeconds:
      case Special::kEpochMillis: {
        Result<Scalar> n = Scalar::Parse(Kind::kInteger, s);
        bool seconds = pattern_.special == Special::kEpochSeconds;
        // Years 0000..9999 only, so that the time can be written in RFC 3339.
        constexpr int64_t kMinS = -62167219200, kMaxS = 253402300799;
        int64_t v = n.ok() ? std::stoll(n->text()) : 0;
        int64_t lo = seconds ? kMinS : kMinS * 1000;
        int64_t hi = seconds ? kMaxS : kMaxS * 1000 + 999;
        if (!n.ok() || v < lo || v > hi) {
          return ValueError(s, seconds ? "is not a count of seconds since 1970 in years 0..9999"
                                       : "is not a count of milliseconds since 1970 in years "
                                         "0..9999");
        }
        // Seconds given as milliseconds (a 1970 date) or the reverse (a year past 5000): the other
        // format was meant, and a time off by a factor of 1000 would go downstream unnoticed.
        constexpr int64_t kSplit = 100000000000;  // 1973-03-03 in ms, the year 5138 in seconds
        if (!seconds && v > 0 && v < kSplit) {
          return ValueError(s, "as milliseconds is a time in 1970-1973; it looks like seconds: use format: epoch_s");
        }
        if (seconds && v >= kSplit) {
          return ValueError(s, "as seconds is a time after the year 5000; it looks like milliseconds: use format: "
                               "epoch_ms");
        }
        return Scalar::Time(UtcTime(std::chrono::milliseconds(seconds ? v * 1000 : v)));
      }
      case Special::kNone:
        break;
    }
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
    minutes offset = offset_;
    size_t pos = 0;
    auto fail = [&](std::string_view what) {
      return ValueError(s, "does not match the format: " + std::string(what) +
                               " expected at byte " + std::to_string(pos));
    };
    for (const Token& t : pattern_.tokens) {
      switch (t.field) {
        case 0:
          if (s.compare(pos, t.literal.size(), t.literal) != 0) {
            return fail(Quote(t.literal));
          }
          pos += t.literal.size();
          break;
        case 'Y':
          if (!ReadNumber(s, &pos, 4, true, &year)) return fail("a 4-digit year");
          break;
        case 'm':
          if (!ReadNumber(s, &pos, 2, false, &month)) return fail("a month");
          break;
        case 'd':
          if (!ReadNumber(s, &pos, 2, false, &day)) return fail("a day");
          break;
        case 'H':
          if (!ReadNumber(s, &pos, 2, false, &hour)) return fail("an hour");
          break;
        case 'M':
          if (!ReadNumber(s, &pos, 2, false, &minute)) return fail("minutes");
          break;
        case 'S':
          if (!ReadNumber(s, &pos, 2, false, &second)) return fail("seconds");
          break;
        case 'f': {
          size_t start = pos;
          int ignored = 0;
          if (!ReadNumber(s, &pos, 9, false, &ignored)) return fail("a fraction of a second");
          std::string ms = s.substr(start, std::min<size_t>(pos - start, 3));
          ms.resize(3, '0');
          millis = std::stoi(ms);
          break;
        }
        case 'z':
        case 'Z': {
          size_t end = pos;
          if (end < s.size() && (s[end] == 'Z' || s[end] == 'z')) {
            ++end;
          } else if (end < s.size() && (s[end] == '+' || s[end] == '-')) {
            ++end;
            while (end < s.size() && end - pos < 6 &&
                   ((s[end] >= '0' && s[end] <= '9') || s[end] == ':'))
              ++end;
          }
          std::string zone = s.substr(pos, end - pos);
          if (zone == "z") zone = "Z";
          Result<minutes> o = ParseUtcOffset(zone);
          if (!o.ok()) return fail("a UTC offset (+0800, +08:00 or Z)");
          offset = *o;
          pos = end;
          break;
        }
        default:
          return Status::Internal("datetime_parse: bad token");
      }
    }
    if (pos != s.size()) return fail("the end of the text");
    using namespace std::chrono;
    year_month_day ymd{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                       std::chrono::day(static_cast<unsigned>(day))};
    if (!ymd.ok()) return ValueError(s, "is not a valid date");
    if (hour > 23 || minute > 59 || second > 59) return ValueError(s, "is not a valid time of day");
    auto local =
        sys_days(ymd) + hours(hour) + minutes(minute) + seconds(second) + milliseconds(millis);
    UtcTime utc = time_point_cast<milliseconds>(local - offset);
    if (utc < sys_days(year_month_day{std::chrono::year(0), January, std::chrono::day(1)}) ||
        utc >= sys_days(year_month_day{std::chrono::year(10000), January, std::chrono::day(1)})) {
      return ValueError(s, "is outside the years 0000..9999 in UTC");
    }
    return Scalar::Time(utc);
  }

  Pattern pattern_;
  minutes offset_;
};

void AppendPadded(int v, int width, std::string* out) {
  std::string digits = std::to_string(v);
  if (static_cast<int>(digits.size()) < width) out->append(width - digits.size(), '0');
  *out += digits;
}

std::string FormatOffset(minutes offset, bool colon) {
  std::string out(1, offset.count() < 0 ? '-' : '+');
  int m = static_cast<int>(offset.count() < 0 ? -offset.count() : offset.count());
  AppendPadded(m / 60, 2, &out);
  if (colon) out += ':';
  AppendPadded(m % 60, 2, &out);
  return out;
}

class DatetimeFormat final : public Transform {
 public:
  DatetimeFormat(Pattern pattern, minutes offset)
      : Transform(
            "datetime_format", {Kind::kTime, Kind::kString},
            pattern.special == Special::kEpochSeconds || pattern.special == Special::kEpochMillis
                ? Kind::kInteger
                : Kind::kString),
        pattern_(std::move(pattern)),
        offset_(offset) {}

 private:
  Result<Scalar> ApplyValue(const Scalar& in) const override {
    using namespace std::chrono;
    Result<UtcTime> t = ParseRfc3339(in.text(), offset_);
    if (!t.ok()) return ValueError(in.text(), "is not an RFC 3339 time: " + t.status().message());
    int64_t ms = t->time_since_epoch().count();
    if (pattern_.special == Special::kEpochMillis) return Scalar::Integer(ms);
    if (pattern_.special == Special::kEpochSeconds) {
      return Scalar::Integer(floor<seconds>(*t).time_since_epoch().count());
    }
    auto local = *t + offset_;
    sys_days days = floor<std::chrono::days>(local);
    year_month_day ymd(days);
    int y = static_cast<int>(ymd.year());
    if (y < 0 || y > 9999)
      return ValueError(in.text(), "is outside the years 0000..9999 in the zone");
    hh_mm_ss<milliseconds> hms(local - days);
    if (pattern_.special == Special::kRfc3339) {
      std::string out;
      AppendPadded(y, 4, &out), out += '-';
      AppendPadded(static_cast<int>(static_cast<unsigned>(ymd.month())), 2, &out), out += '-';
      AppendPadded(static_cast<int>(static_cast<unsigned>(ymd.day())), 2, &out), out += 'T';
      AppendPadded(static_cast<int>(hms.hours().count()), 2, &out), out += ':';
      AppendPadded(static_cast<int>(hms.minutes().count()), 2, &out), out += ':';
      AppendPadded(static_cast<int>(hms.seconds().count()), 2, &out);
      if (hms.subseconds().count() != 0) {
        out += '.';
        AppendPadded(static_cast<int>(hms.subseconds().count()), 3, &out);
      }
      out += offset_.count() == 0 ? "Z" : FormatOffset(offset_, true);
      return Scalar::String(std::move(out));
    }
    std::string out;
    for (const Token& tok : pattern_.tokens) {
      switch (tok.field) {
        case 0:
          out += tok.literal;
          break;
        case 'Y':
          AppendPadded(y, 4, &out);
          break;
        case 'm':
          AppendPadded(static_cast<int>(static_cast<unsigned>(ymd.month())), 2, &out);
          break;
        case 'd':
          AppendPadded(static_cast<int>(static_cast<unsigned>(ymd.day())), 2, &out);
          break;
        case 'H':
          AppendPadded(static_cast<int>(hms.hours().count()), 2, &out);
          break;
        case 'M':
          AppendPadded(static_cast<int>(hms.minutes().count()), 2, &out);
          break;
        case 'S':
          AppendPadded(static_cast<int>(hms.seconds().count()), 2, &out);
          break;
        case 'f':
          AppendPadded(static_cast<int>(hms.subseconds().count()), 3, &out);
          break;
        case 'z':
          out += FormatOffset(offset_, false);
          break;
        case 'Z':
          out += FormatOffset(offset_, true);
          break;
        default:
          return Status::Internal("datetime_format: bad token");
      }
    }
    return Scalar::String(std::move(out));
  }

  Pattern pattern_;
  minutes offset_;
};

const ArgInfo kZoneArg{"zone", false, "Asia/Shanghai",
                       "a UTC offset (+08:00) or Asia/Shanghai, Asia/Hong_Kong, Asia/Taipei, "
                       "Asia/Singapore, Asia/Tokyo, Asia/Seoul, UTC, Etc/UTC"};

}  // namespace

std::vector<Registration> TimeTransforms() {
  std::vector<Registration> r;
  r.push_back(
      {{"datetime_parse",
        "string (integer too for epoch formats) -> time",
        "a local date and time in a zone (or epoch seconds/milliseconds) to a UTC time",
        {{"format", true, "",
          "rfc3339, epoch_s, epoch_ms, or a pattern such as \"%Y-%m-%d %H:%M:%S\" or "
          "\"%Y%m%d%H%M%S\" (%Y %m %d %H %M %S %f %z %F %T %%)"},
         kZoneArg}},
       [](const ArgReader& a, const std::string&) -> Result<std::unique_ptr<Transform>> {
         Result<Pattern> p = CompilePattern(a, true);
         if (!p.ok()) return p.status();
         Result<minutes> zone = ResolveZone(a, "zone");
         if (!zone.ok()) return zone.status();
         bool epoch = p->special == Special::kEpochSeconds || p->special == Special::kEpochMillis;
         KindSet inputs = epoch ? KindSet{Kind::kInteger, Kind::kString} : KindSet{Kind::kString};
         return std::unique_ptr<Transform>(
             std::make_unique<DatetimeParse>(std::move(*p), *zone, inputs));
       }});
  r.push_back(
      {{"datetime_format",
        "time, string (RFC 3339) -> string (integer for epoch formats)",
        "a time to text in a zone with a pattern, or to epoch seconds/milliseconds (an integer)",
        {{"format", false, "rfc3339",
          "rfc3339 (with the zone's offset), epoch_s, epoch_ms, or a pattern such as "
          "\"%Y-%m-%d %H:%M:%S\" (%Y %m %d %H %M %S %f %z %:z %F %T %%)"},
         kZoneArg}},
       [](const ArgReader& a, const std::string&) -> Result<std::unique_ptr<Transform>> {
         Result<Pattern> p = CompilePattern(a, false);
         if (!p.ok()) return p.status();
         Result<minutes> zone = ResolveZone(a, "zone");
         if (!zone.ok()) return zone.status();
         return std::unique_ptr<Transform>(std::make_unique<DatetimeFormat>(std::move(*p), *zone));
       }});
  return r;
}

}  // namespace channelhub::mapping::internal
