// Number transforms: decimal, cents_to_decimal, decimal_to_cents.
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "hub/common/decimal.hpp"
#include "hub/mapping/transform.hpp"
#include "hub/mapping/transform_internal.hpp"

namespace channelhub::mapping::internal {
namespace {

using Kind = Scalar::Kind;

Result<RoundingMode> ReadRounding(const ArgReader& a) {
  Result<std::string> r = a.OneOf("rounding", {"half_up", "half_even", "down", "up"});
  if (!r.ok()) return r.status();
  if (*r == "half_even") return RoundingMode::kHalfEven;
  if (*r == "down") return RoundingMode::kDown;
  if (*r == "up") return RoundingMode::kUp;
  return RoundingMode::kHalfUp;
}

// Decimal::Parse's reason without its own "invalid decimal "<text>": " prefix, since
// ValueError() quotes the value already.
std::string Why(const Status& status) {
  const std::string& m = status.message();
  if (m.rfind("invalid decimal \"", 0) == 0) {
    size_t end = m.find("\": ", 17);
    if (end != std::string::npos) return m.substr(end + 3);
  }
  return m;
}

const ArgInfo kRoundingArg{"rounding", false, "half_up",
                           "half_up (ties away from zero), half_even, down (towards zero) or up"};

class DecimalTransform final : public Transform {
 public:
  DecimalTransform(std::optional<int> scale, RoundingMode mode, char thousands)
      : Transform("decimal", {Kind::kString, Kind::kDecimal, Kind::kInteger}, Kind::kDecimal),
        scale_(scale),
        mode_(mode),
        thousands_(thousands) {}

 private:
  // Removes the grouping separators, which must stand between groups of exactly three digits
  // of the integer part ("1,234,567.5"; not "12,34" nor "1,234.5,6").
  std::optional<std::string> Ungroup(std::string_view s) const {
    size_t point = s.find('.');
    std::string_view whole = s.substr(0, point);
    std::string out;
    size_t digits_since_sep = 0;
    bool seen_sep = false;
    for (size_t i = 0; i < whole.size(); ++i) {
      char c = whole[i];
      if (c == thousands_) {
        if (digits_since_sep == 0 || (seen_sep && digits_since_sep != 3) ||
            (!seen_sep && digits_since_sep > 3)) {
          return std::nullopt;
        }
        seen_sep = true;
        digits_since_sep = 0;
        continue;
      }
      if (c >= '0' && c <= '9') ++digits_since_sep;
      out.push_back(c);
    }
    if (seen_sep && digits_since_sep != 3) return std::nullopt;
    if (point != std::string_view::npos) {
      std::string_view frac = s.substr(point);
      if (frac.find(thousands_) != std::string_view::npos) return std::nullopt;
      out.append(frac);
    }
    return out;
  }

  Result<Scalar> ApplyValue(const Scalar& in) const override {
    std::string text = in.text();
    if (thousands_ != '\0' && in.kind() == Kind::kString) {
      std::optional<std::string> plain = Ungroup(text);
      if (!plain) {
        return ValueError(text, std::string("is not a decimal: misplaced \"") + thousands_ +
                                    "\" (groups of three digits expected)");
      }
      text = std::move(*plain);
    }
    Result<Decimal> d = Decimal::Parse(text);
    if (!d.ok()) return ValueError(in.text(), "is not a decimal: " + Why(d.status()));
    if (!scale_) return Scalar::FromDecimal(*d);
    Result<Decimal> scaled = d->Rescale(*scale_, mode_);
    if (!scaled.ok())
      return ValueError(in.text(), "cannot be rescaled: " + scaled.status().message());
    return Scalar::FromDecimal(*scaled);
  }

  std::optional<int> scale_;
  RoundingMode mode_;
  char thousands_;  // '\0': none accepted

 public:
  // The digits after the point when "s" is already written as Decimal::ToString writes it
  // ("-?(0|[1-9][0-9]*)(\.[0-9]+)?", not negative zero, at most 18 digits in all), else -1.
  static int CanonicalFraction(std::string_view s) {
    std::size_t i = s.starts_with('-') ? 1 : 0;
    const std::size_t first = i;
    bool nonzero = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') nonzero |= s[i++] != '0';
    const std::size_t whole = i - first;
    if (whole == 0 || (whole > 1 && s[first] == '0')) return -1;
    int fraction = 0;
    if (i < s.size()) {
      if (s[i++] != '.') return -1;
      const std::size_t start = i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') nonzero |= s[i++] != '0';
      if (i != s.size() || i == start) return -1;
      fraction = static_cast<int>(i - start);
    }
    if (whole + static_cast<std::size_t>(fraction) > 18 || (first == 1 && !nonzero)) return -1;
    return fraction;
  }

  bool AppendFromText(std::string_view in, std::string* out) const override {
    if (thousands_ != '\0' || in.empty()) return false;
    // Most payloads write amounts as the canonical model does: then the text is the result,
    // padded with zeros up to the scale (never rounded: more digits go the long way).
    if (const int fraction = CanonicalFraction(in); fraction >= 0 && (!scale_ || fraction <= *scale_)) {
      out->append(in);
      if (scale_ && fraction < *scale_) {
        if (fraction == 0) out->push_back('.');
        out->append(static_cast<std::size_t>(*scale_ - fraction), '0');
      }
      return true;
    }
    Result<Decimal> d = Decimal::Parse(in);
    if (!d.ok()) return false;
    if (scale_) {
      d = d->Rescale(*scale_, mode_);
      if (!d.ok()) return false;
    }
    d->AppendTo(out);
    return true;
  }

  bool AppendFromDecimal(const Decimal& in, std::string* out) const override {
    if (!scale_) {
      in.AppendTo(out);
      return true;
    }
    Result<Decimal> d = in.Rescale(*scale_, mode_);
    if (!d.ok()) return false;
    d->AppendTo(out);
    return true;
  }
};

// Integer minor units (cents, fen) to a decimal with "scale" digits after the point.
class CentsToDecimal final : public Transform {
 public:
  explicit CentsToDecimal(int scale)
      : Transform("cents_to_decimal", {Kind::kString, Kind::kInteger}, Kind::kDecimal),
        scale_(scale) {}

 private:
  Result<Scalar> ApplyValue(const Scalar& in) const override {
    Result<Scalar> v = Scalar::Parse(Kind::kInteger, in.text());
    if (!v.ok()) return ValueError(in.text(), "is not an integer amount of minor units");
    int64_t cents = std::stoll(v->text());
    Result<Decimal> d = Decimal::FromMantissa(cents, scale_);
    if (!d.ok()) return ValueError(in.text(), d.status().message());
    return Scalar::FromDecimal(*d);
  }

  int scale_;
};

// A decimal to integer minor units, rounding digits beyond "scale".
class DecimalToCents final : public Transform {
 public:
  DecimalToCents(int scale, RoundingMode mode)
      : Transform("decimal_to_cents", {Kind::kString, Kind::kDecimal, Kind::kInteger},
                  Kind::kInteger),
        scale_(scale),
        mode_(mode) {}

 private:
  Result<Scalar> ApplyValue(const Scalar& in) const override {
    Result<Decimal> d = Decimal::Parse(in.text());
    if (!d.ok()) return ValueError(in.text(), "is not a decimal: " + Why(d.status()));
    Result<Decimal> scaled = d->Rescale(scale_, mode_);
    if (!scaled.ok())
      return ValueError(in.text(), "cannot be rescaled: " + scaled.status().message());
    Int128 m = scaled->mantissa();
    if (m > std::numeric_limits<int64_t>::max() || m < std::numeric_limits<int64_t>::min()) {
      return ValueError(in.text(), "is too large for a 64-bit number of minor units");
    }
    return Scalar::Integer(static_cast<int64_t>(m));
  }

  int scale_;
  RoundingMode mode_;
};

}  // namespace

std::vector<Registration> NumberTransforms() {
  std::vector<Registration> r;
  r.push_back(
      {{"decimal",
        "string, decimal, integer -> decimal",
        "parses an exact decimal (never floating point), optionally rescaling it",
        {{"scale", false, "", "digits after the point, 0..18; when absent the input's are kept"},
         kRoundingArg,
         {"thousands", false, "",
          "a grouping separator to accept in the integer part: \",\", \" \", \"'\" or \"_\"; "
          "when absent none is accepted"}}},
       [](const ArgReader& a, const std::string&) -> Result<std::unique_ptr<Transform>> {
         std::optional<int> scale;
         if (a.Has("scale")) {
           Result<int> s = a.Int("scale", 0, Decimal::kMaxScale);
           if (!s.ok()) return s.status();
           scale = *s;
         }
         Result<RoundingMode> mode = ReadRounding(a);
         if (!mode.ok()) return mode.status();
         char thousands = '\0';
         if (a.Has("thousands")) {
           Result<std::string> t = a.OneOf("thousands", {",", " ", "'", "_"});
           if (!t.ok()) return t.status();
           thousands = (*t)[0];
         }
         return std::unique_ptr<Transform>(
             std::make_unique<DecimalTransform>(scale, *mode, thousands));
       }});
  r.push_back({{"cents_to_decimal",
                "string, integer -> decimal",
                "an integer number of minor units to a decimal: 1999 -> 19.99",
                {{"scale", false, "2", "minor-unit digits, 0..18 (2 for CNY and USD, 0 for JPY)"}}},
               [](const ArgReader& a, const std::string&) -> Result<std::unique_ptr<Transform>> {
                 Result<int> s = a.Int("scale", 0, Decimal::kMaxScale);
                 if (!s.ok()) return s.status();
                 return std::unique_ptr<Transform>(std::make_unique<CentsToDecimal>(*s));
               }});
  r.push_back({{"decimal_to_cents",
                "string, decimal, integer -> integer",
                "a decimal to an integer number of minor units: 19.99 -> 1999",
                {{"scale", false, "2", "minor-unit digits, 0..18"}, kRoundingArg}},
               [](const ArgReader& a, const std::string&) -> Result<std::unique_ptr<Transform>> {
                 Result<int> s = a.Int("scale", 0, Decimal::kMaxScale);
                 if (!s.ok()) return s.status();
                 Result<RoundingMode> mode = ReadRounding(a);
                 if (!mode.ok()) return mode.status();
                 return std::unique_ptr<Transform>(std::make_unique<DecimalToCents>(*s, *mode));
               }});
  return r;
}

}  // namespace channelhub::mapping::internal
