#include "hub/common/decimal.hpp"

#include <algorithm>
#include <charconv>
#include <array>
#include <cstring>
#include <limits>

namespace channelhub {
namespace {

// 10^0 .. 10^38; 10^38 still fits in a signed 128-bit integer (max is about 1.7 * 10^38).
constexpr std::array<Int128, 39> MakePowersOfTen() {
  std::array<Int128, 39> p{};
  p[0] = 1;
  for (size_t i = 1; i < p.size(); ++i) p[i] = p[i - 1] * 10;
  return p;
}
constexpr std::array<Int128, 39> kPow10 = MakePowersOfTen();
constexpr Int128 kMaxMantissa = kPow10[Decimal::kMaxDigits] - 1;

bool InRange(Int128 m) { return m <= kMaxMantissa && m >= -kMaxMantissa; }

// Quotes user text for an error message, shortened so that junk input cannot flood a log.
std::string Quote(std::string_view text) {
  constexpr size_t kMaxShown = 40;
  std::string s = "\"";
  if (text.size() > kMaxShown) {
    s.append(text.substr(0, kMaxShown));
    s += "...";
  } else {
    s.append(text);
  }
  s += '"';
  return s;
}

Status BadDecimal(std::string_view text, std::string_view why) {
  std::string m = "invalid decimal ";
  m += Quote(text);
  m += ": ";
  m.append(why);
  return Status::Invalid(std::move(m));
}

// m / 10^digits, rounded with "mode". REQUIRES: 0 < digits <= 38.
Int128 DivideRounded(Int128 m, int digits, RoundingMode mode) {
  const Int128 p = kPow10[static_cast<size_t>(digits)];
  const Int128 q = m / p;
  const Int128 r = m % p;  // has the sign of m
  if (r == 0) return q;
  const Int128 abs_r = r < 0 ? -r : r;
  const Int128 away = m < 0 ? q - 1 : q + 1;
  // Compares 2*|r| with p without computing 2*|r| (which could overflow for large p).
  const Int128 rest = p - abs_r;
  switch (mode) {
    case RoundingMode::kDown:
      return q;
    case RoundingMode::kUp:
      return away;
    case RoundingMode::kHalfUp:
      return abs_r >= rest ? away : q;
    case RoundingMode::kHalfEven:
      if (abs_r > rest) return away;
      if (abs_r < rest) return q;
      return (q % 2 == 0) ? q : away;
  }
  return q;
}

// m * 10^digits; false when the result leaves the 38-digit range.
bool ScaleUp(Int128 m, int digits, Int128* out) {
  if (digits == 0) {
    *out = m;
    return true;
  }
  if (digits > Decimal::kMaxDigits) {
    *out = 0;
    return m == 0;
  }
  Int128 r;
  if (__builtin_mul_overflow(m, kPow10[static_cast<size_t>(digits)], &r) || !InRange(r))
    return false;
  *out = r;
  return true;
}

std::string Int128ToString(Int128 v) {
  if (v >= 0 && v <= static_cast<Int128>(std::numeric_limits<uint64_t>::max())) {
    char buf[24];  // the common case, without a 128-bit division per digit
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<uint64_t>(v));
    return std::string(buf, r.ptr);
  }
  if (v == 0) return "0";
  const bool negative = v < 0;
  // |v| <= kMaxMantissa in every caller, so negating cannot overflow.
  Int128 a = negative ? -v : v;
  std::string digits;
  while (a > 0) {
    digits.push_back(static_cast<char>('0' + static_cast<int>(a % 10)));
    a /= 10;
  }
  if (negative) digits.push_back('-');
  std::reverse(digits.begin(), digits.end());
  return digits;
}

}  // namespace

Result<Decimal> Decimal::Parse(std::string_view text) {
  if (text.empty()) return Status::Invalid("invalid decimal: empty text");
  size_t i = 0;
  bool negative = false;
  if (text[0] == '-' || text[0] == '+') {
    negative = text[0] == '-';
    i = 1;
  }
  Int128 m = 0;
  // The first 19 digits accumulate in 64 bits (19 nines fit), without 128-bit arithmetic: all
  // of most amounts.
  uint64_t m64 = 0;
  int digits = 0;
  int int_digits = 0;
  int scale = 0;
  bool seen_point = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      if (seen_point) {
        if (++scale > kMaxScale)
          return BadDecimal(text, "more than 18 digits after the decimal point");
      } else {
        ++int_digits;
      }
      if (digits < 19) {
        m64 = m64 * 10 + static_cast<uint64_t>(c - '0');
        if (++digits == 19) m = static_cast<Int128>(m64);
        continue;
      }
      // Checked before multiplying, so that m never leaves the 38-digit range (and never wraps);
      // against constants, as a 128-bit division per digit would cost more than the rest.
      constexpr Int128 kLimit = kMaxMantissa / 10;
      constexpr int kLastDigit = static_cast<int>(kMaxMantissa % 10);
      if (m > kLimit || (m == kLimit && c - '0' > kLastDigit)) {
        return BadDecimal(text, "out of range (more than 38 significant digits)");
      }
      m = m * 10 + (c - '0');
      continue;
    }
    if (c == '.') {
      if (seen_point) return BadDecimal(text, "more than one decimal point");
      if (int_digits == 0) return BadDecimal(text, "expected a digit before the decimal point");
      seen_point = true;
      continue;
    }
    if (c == 'e' || c == 'E') return BadDecimal(text, "exponent notation is not supported");
    std::string why = "unexpected character ";
    if (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f) {
      why += '\'';
      why += c;
      why += '\'';
    } else {
      why += "(byte ";
      why += std::to_string(static_cast<unsigned char>(c));
      why += ')';
    }
    why += " at position ";
    why += std::to_string(i);
    return BadDecimal(text, why);
  }
  if (int_digits == 0) return BadDecimal(text, "no digits");
  if (seen_point && scale == 0) return BadDecimal(text, "expected a digit after the decimal point");
  if (digits < 19) m = static_cast<Int128>(m64);
  return Decimal(negative ? -m : m, scale);
}

Decimal Decimal::FromInteger(int64_t value) { return Decimal(value, 0); }

Decimal Decimal::FromCents(int64_t cents) { return Decimal(cents, 2); }

Result<Decimal> Decimal::FromMantissa(Int128 mantissa, int scale) {
  if (scale < 0 || scale > kMaxScale) {
    return Status::Invalid("decimal scale " + std::to_string(scale) + " is outside 0..18");
  }
  if (!InRange(mantissa))
    return Status::Invalid("decimal mantissa out of range (more than 38 digits)");
  return Decimal(mantissa, scale);
}

Result<Decimal> Decimal::Rescale(int scale, RoundingMode mode) const {
  if (scale < 0 || scale > kMaxScale) {
    return Status::Invalid("decimal scale " + std::to_string(scale) + " is outside 0..18");
  }
  if (scale == scale_) return *this;
  if (scale < scale_) return Decimal(DivideRounded(mantissa_, scale_ - scale, mode), scale);
  Int128 m;
  if (!ScaleUp(mantissa_, scale - scale_, &m)) {
    return Status::Invalid("decimal " + ToString() + " out of range at scale " +
                           std::to_string(scale));
  }
  return Decimal(m, scale);
}

Result<int64_t> Decimal::ToCents(RoundingMode mode) const {
  Result<Decimal> cents = Rescale(2, mode);
  if (!cents.ok()) return cents.status();
  const Int128 m = cents->mantissa_;
  if (m > std::numeric_limits<int64_t>::max() || m < std::numeric_limits<int64_t>::min()) {
    return Status::Invalid("decimal " + ToString() + " is too large to count in 64-bit cents");
  }
  return static_cast<int64_t>(m);
}

Result<Decimal> Decimal::Add(const Decimal& other) const {
  const int scale = std::max(scale_, other.scale_);
  Int128 a, b, sum;
  if (!ScaleUp(mantissa_, scale - scale_, &a) ||
      !ScaleUp(other.mantissa_, scale - other.scale_, &b) || __builtin_add_overflow(a, b, &sum) ||
      !InRange(sum)) {
    return Status::Invalid("decimal sum " + ToString() + " + " + other.ToString() +
                           " out of range");
  }
  return Decimal(sum, scale);
}

Result<Decimal> Decimal::Sub(const Decimal& other) const { return Add(other.Negated()); }

Result<Decimal> Decimal::Mul(const Decimal& other) const {
  Int128 product;
  if (__builtin_mul_overflow(mantissa_, other.mantissa_, &product)) {
    return Status::Invalid("decimal product " + ToString() + " * " + other.ToString() +
                           " out of range");
  }
  int scale = scale_ + other.scale_;
  if (scale > kMaxScale) {
    product = DivideRounded(product, scale - kMaxScale, RoundingMode::kHalfUp);
    scale = kMaxScale;
  }
  if (!InRange(product)) {
    return Status::Invalid("decimal product " + ToString() + " * " + other.ToString() +
                           " out of range");
  }
  return Decimal(product, scale);
}

Decimal Decimal::Negated() const { return Decimal(-mantissa_, scale_); }

namespace {

// Writes the text of mantissa * 10^-scale at "buf" (64 bytes: a sign, up to 38 digits, a point
// and a leading zero) and returns its end. A mantissa within 64 bits (nearly all) is written as
// its integer part and its fraction, without an intermediate string.
char* FormatDecimal(Int128 mantissa, int scale_digits, char* buf) {
  char* p = buf;
  char* const end = buf + 64;
  if (mantissa < 0) *p++ = '-';
  const Int128 a = mantissa < 0 ? -mantissa : mantissa;
  const std::size_t scale = static_cast<std::size_t>(scale_digits);
  if (a > static_cast<Int128>(std::numeric_limits<uint64_t>::max())) {
    std::string digits = Int128ToString(a);
    if (scale > 0) {
      if (digits.size() <= scale) digits.insert(0, scale + 1 - digits.size(), '0');
      digits.insert(digits.size() - scale, 1, '.');
    }
    std::memcpy(p, digits.data(), digits.size());
    return p + digits.size();
  }
  uint64_t v = static_cast<uint64_t>(a);
  if (scale == 0) return std::to_chars(p, end, v).ptr;
  uint64_t pow = 1;
  for (std::size_t i = 0; i < scale; ++i) pow *= 10;  // scale <= 18
  p = std::to_chars(p, end, v / pow).ptr;
  *p++ = '.';
  uint64_t frac = v % pow;
  for (std::size_t k = scale; k > 0; --k) {
    p[k - 1] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  return p + scale;
}

}  // namespace

std::string Decimal::ToString() const {
  char buf[64];
  return std::string(buf, FormatDecimal(mantissa_, scale_, buf));
}

void Decimal::AppendTo(std::string* out) const {
  char buf[64];
  out->append(buf, FormatDecimal(mantissa_, scale_, buf));
}

std::strong_ordering Decimal::operator<=>(const Decimal& other) const {
  // Integer parts first, then the fractions widened to 18 digits; both steps stay in range, so
  // values of any two scales compare without overflow. Truncating division keeps the fraction's
  // sign equal to the value's, which makes the pairwise order the numeric order.
  const Int128 p1 = kPow10[static_cast<size_t>(scale_)];
  const Int128 p2 = kPow10[static_cast<size_t>(other.scale_)];
  const Int128 int1 = mantissa_ / p1;
  const Int128 int2 = other.mantissa_ / p2;
  if (int1 != int2) return int1 < int2 ? std::strong_ordering::less : std::strong_ordering::greater;
  const Int128 frac1 = (mantissa_ % p1) * kPow10[static_cast<size_t>(kMaxScale - scale_)];
  const Int128 frac2 =
      (other.mantissa_ % p2) * kPow10[static_cast<size_t>(kMaxScale - other.scale_)];
  if (frac1 == frac2) return std::strong_ordering::equal;
  return frac1 < frac2 ? std::strong_ordering::less : std::strong_ordering::greater;
}

}  // namespace channelhub
