// Decimal: exact fixed-point numbers for money and quantities. Never binary floating point.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "hub/common/status.hpp"

namespace channelhub {

// GCC and Clang provide a 128-bit integer; __extension__ keeps -Wpedantic quiet about it.
__extension__ typedef __int128 Int128;

enum class RoundingMode {
  kHalfUp,    // ties away from zero: 2.345 -> 2.35, -2.345 -> -2.35
  kHalfEven,  // ties to the even neighbour ("banker's"): 2.345 -> 2.34, 2.355 -> 2.36
  kDown,      // towards zero (truncate): 2.349 -> 2.34, -2.349 -> -2.34
  kUp,        // away from zero: 2.341 -> 2.35, -2.341 -> -2.35
};

// A Decimal is mantissa * 10^-scale, with a scale of 0..18 and at most 38 significant digits.
// The scale is part of the value's text: Parse("388.00").ToString() is "388.00". Comparison
// is numeric, so "1.50" == "1.5". Operations that could exceed the range return a Result instead
// of wrapping. A plain value type: cheap to copy, safe to share between threads.
class Decimal {
 public:
  static constexpr int kMaxScale = 18;
  static constexpr int kMaxDigits = 38;

  // Zero with scale 0.
  constexpr Decimal() = default;

  // Parses "-?[0-9]+(.[0-9]+)?" (a leading '+' is also accepted). Rejects empty text, spaces,
  // exponents ("1e3"), more than 18 digits after the point and more than 38 digits in all, with
  // InvalidArgument saying which.
  static Result<Decimal> Parse(std::string_view text);

  // An integer: FromInteger(3) is "3".
  static Decimal FromInteger(int64_t value);
  // Cents as a scale-2 value: FromCents(-1999) is "-19.99".
  static Decimal FromCents(int64_t cents);
  // mantissa * 10^-scale. InvalidArgument when the scale or the mantissa is out of range.
  static Result<Decimal> FromMantissa(Int128 mantissa, int scale);

  Int128 mantissa() const { return mantissa_; }
  int scale() const { return scale_; }
  bool IsZero() const { return mantissa_ == 0; }
  bool IsNegative() const { return mantissa_ < 0; }

  // The value with exactly "scale" digits after the point, rounding when digits are dropped.
  // InvalidArgument when "scale" is outside 0..18 or when the value would not fit.
  Result<Decimal> Rescale(int scale, RoundingMode mode = RoundingMode::kHalfUp) const;

  // The value in cents (rounded to scale 2 with "mode"); InvalidArgument if it exceeds int64.
  Result<int64_t> ToCents(RoundingMode mode = RoundingMode::kHalfUp) const;

  // Exact sum and difference; the scale is the larger of the two scales.
  Result<Decimal> Add(const Decimal& other) const;
  Result<Decimal> Sub(const Decimal& other) const;
  // Product; the scale is the sum of the scales, rounded half-up down to 18 when it exceeds it.
  Result<Decimal> Mul(const Decimal& other) const;
  Decimal Negated() const;

  // "388.00", "-1.5", "0". Keeps the scale; never uses an exponent.
  std::string ToString() const;
  // Appends ToString()'s text to "*out" without a string of its own.
  void AppendTo(std::string* out) const;

  // Numeric comparison, independent of the scale.
  std::strong_ordering operator<=>(const Decimal& other) const;
  bool operator==(const Decimal& other) const { return (*this <=> other) == 0; }

  // Same value and same scale: "1.50" and "1.5" are equal but not identical.
  bool IdenticalTo(const Decimal& other) const {
    return mantissa_ == other.mantissa_ && scale_ == other.scale_;
  }

 private:
  constexpr Decimal(Int128 mantissa, int scale) : mantissa_(mantissa), scale_(scale) {}

  Int128 mantissa_ = 0;
  int scale_ = 0;
};

}  // namespace channelhub
