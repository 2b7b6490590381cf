#include "hub/common/decimal.hpp"

#include <gtest/gtest.h>

namespace channelhub {
namespace {

Decimal D(std::string_view text) {
  Result<Decimal> d = Decimal::Parse(text);
  EXPECT_TRUE(d.ok()) << text << ": " << d.status().ToString();
  return d.ok() ? *d : Decimal();
}

std::string ParseError(std::string_view text) {
  Result<Decimal> d = Decimal::Parse(text);
  EXPECT_FALSE(d.ok()) << text << " parsed as " << (d.ok() ? d->ToString() : "");
  if (d.ok()) return "";
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  return d.status().message();
}

TEST(DecimalTest, ParsesAndKeepsTheScale) {
  EXPECT_EQ(D("388.00").ToString(), "388.00");
  EXPECT_EQ(D("388.00").scale(), 2);
  EXPECT_EQ(D("-1.5").ToString(), "-1.5");
  EXPECT_EQ(D("0").ToString(), "0");
  EXPECT_EQ(D("0.05").ToString(), "0.05");
  EXPECT_EQ(D("-0.05").ToString(), "-0.05");
  EXPECT_EQ(D("+7").ToString(), "7");
  EXPECT_EQ(D("007.10").ToString(), "7.10");
  EXPECT_EQ(D("-0.00").ToString(), "0.00");
  EXPECT_EQ(D("0.000000000000000001").ToString(), "0.000000000000000001");
  EXPECT_EQ(D("99999999999999999999999999999999999999").ToString(),
            "99999999999999999999999999999999999999");
  EXPECT_EQ(D("-99999999999999999999.999999999999999999").ToString(),
            "-99999999999999999999.999999999999999999");
  // Around the 19 digits read in 64 bits before 128-bit arithmetic takes over.
  EXPECT_EQ(D("9999999999999999999").ToString(), "9999999999999999999");
  EXPECT_EQ(D("18446744073709551616").ToString(), "18446744073709551616");  // 2^64
  EXPECT_EQ(D("-1234567890123456789.0123").ToString(), "-1234567890123456789.0123");
  EXPECT_EQ(D("00000000000000000001.5").ToString(), "1.5");
  EXPECT_EQ(D("1234567890123456789").Add(D("1"))->ToString(), "1234567890123456790");
}

TEST(DecimalTest, RejectsJunkWithAReason) {
  EXPECT_EQ(ParseError(""), "invalid decimal: empty text");
  EXPECT_EQ(ParseError("1e3"), "invalid decimal \"1e3\": exponent notation is not supported");
  EXPECT_EQ(ParseError("1.5E-2"), "invalid decimal \"1.5E-2\": exponent notation is not supported");
  EXPECT_EQ(ParseError("12x"), "invalid decimal \"12x\": unexpected character 'x' at position 2");
  EXPECT_EQ(ParseError(" 1"), "invalid decimal \" 1\": unexpected character ' ' at position 0");
  EXPECT_EQ(ParseError("1,000.00"),
            "invalid decimal \"1,000.00\": unexpected character ',' at position 1");
  EXPECT_EQ(ParseError("-"), "invalid decimal \"-\": no digits");
  EXPECT_EQ(ParseError(".5"), "invalid decimal \".5\": expected a digit before the decimal point");
  EXPECT_EQ(ParseError("5."), "invalid decimal \"5.\": expected a digit after the decimal point");
  EXPECT_EQ(ParseError("1.2.3"), "invalid decimal \"1.2.3\": more than one decimal point");
  EXPECT_EQ(ParseError("NaN"), "invalid decimal \"NaN\": unexpected character 'N' at position 0");
  EXPECT_EQ(ParseError("--1"), "invalid decimal \"--1\": unexpected character '-' at position 1");
}

TEST(DecimalTest, RejectsOverflowAndTooManyFractionDigits) {
  EXPECT_EQ(ParseError("100000000000000000000000000000000000000"),
            "invalid decimal \"100000000000000000000000000000000000000\": out of range (more than "
            "38 significant "
            "digits)");
  EXPECT_EQ(
      ParseError("0.0000000000000000001"),
      "invalid decimal \"0.0000000000000000001\": more than 18 digits after the decimal point");
  EXPECT_EQ(
      ParseError("9999999999999999999999999999999999999999999"),
      "invalid decimal \"9999999999999999999999999999999999999999...\": out of range (more than 38 "
      "significant digits)");
  // Leading zeros are not significant.
  EXPECT_EQ(D("000000000000000000000000000000000000000001").ToString(), "1");
}

TEST(DecimalTest, AddSubMul) {
  EXPECT_EQ(D("388.00").Add(D("0.5"))->ToString(), "388.50");
  EXPECT_EQ(D("1").Sub(D("0.01"))->ToString(), "0.99");
  EXPECT_EQ(D("-2.5").Sub(D("-2.5"))->ToString(), "0.0");
  EXPECT_EQ(D("388.00").Mul(D("2"))->ToString(), "776.00");
  EXPECT_EQ(D("1.5").Mul(D("-0.25"))->ToString(), "-0.375");
  EXPECT_EQ(D("0.1").Add(D("0.2"))->ToString(), "0.3");  // what a double gets wrong
  // The product's scale is capped at 18, rounding half-up.
  EXPECT_EQ(D("0.000000000000000005").Mul(D("0.1"))->ToString(), "0.000000000000000001");
}

TEST(DecimalTest, ArithmeticOverflowIsAnError) {
  const Decimal big = D("99999999999999999999999999999999999999");
  EXPECT_FALSE(big.Add(D("1")).ok());
  EXPECT_FALSE(big.Negated().Sub(D("1")).ok());
  EXPECT_FALSE(big.Mul(D("10")).ok());
  EXPECT_FALSE(big.Add(D("0.1")).ok());  // aligning the scales overflows
  EXPECT_EQ(big.Add(D("0")).status().code(), StatusCode::kOk);
  EXPECT_FALSE(D("99999999999999999999").Mul(D("99999999999999999999")).ok());
}

TEST(DecimalTest, RescaleRoundsInEveryMode) {
  struct Case {
    const char* in;
    RoundingMode mode;
    const char* out;
  };
  const Case cases[] = {
      {"2.345", RoundingMode::kHalfUp, "2.35"},    {"-2.345", RoundingMode::kHalfUp, "-2.35"},
      {"2.344", RoundingMode::kHalfUp, "2.34"},    {"2.345", RoundingMode::kHalfEven, "2.34"},
      {"2.355", RoundingMode::kHalfEven, "2.36"},  {"-2.345", RoundingMode::kHalfEven, "-2.34"},
      {"2.3451", RoundingMode::kHalfEven, "2.35"}, {"2.349", RoundingMode::kDown, "2.34"},
      {"-2.349", RoundingMode::kDown, "-2.34"},    {"2.341", RoundingMode::kUp, "2.35"},
      {"-2.341", RoundingMode::kUp, "-2.35"},      {"2.340", RoundingMode::kUp, "2.34"},
      {"0.005", RoundingMode::kHalfUp, "0.01"},    {"-0.005", RoundingMode::kHalfEven, "0.00"},
  };
  for (const Case& c : cases) {
    Result<Decimal> r = D(c.in).Rescale(2, c.mode);
    ASSERT_TRUE(r.ok()) << c.in;
    EXPECT_EQ(r->ToString(), c.out) << c.in << " mode " << static_cast<int>(c.mode);
  }
  EXPECT_EQ(D("7").Rescale(2)->ToString(), "7.00");
  EXPECT_EQ(D("1.5").Rescale(0)->ToString(), "2");
  EXPECT_EQ(D("0.5").Rescale(0, RoundingMode::kHalfEven)->ToString(), "0");
  EXPECT_EQ(D("1.5").Rescale(0, RoundingMode::kHalfEven)->ToString(), "2");
  EXPECT_FALSE(D("1").Rescale(19).ok());
  EXPECT_FALSE(D("1").Rescale(-1).ok());
  EXPECT_FALSE(D("99999999999999999999999999999999999999").Rescale(1).ok());
}

TEST(DecimalTest, CentsRoundTrip) {
  EXPECT_EQ(Decimal::FromCents(38800).ToString(), "388.00");
  EXPECT_EQ(Decimal::FromCents(-1999).ToString(), "-19.99");
  EXPECT_EQ(Decimal::FromCents(5).ToString(), "0.05");
  EXPECT_EQ(*D("388.00").ToCents(), 38800);
  EXPECT_EQ(*D("0.125").ToCents(), 13);
  EXPECT_EQ(*D("0.125").ToCents(RoundingMode::kHalfEven), 12);
  EXPECT_EQ(*D("-3").ToCents(), -300);
  EXPECT_FALSE(D("100000000000000000000").ToCents().ok());
  EXPECT_EQ(Decimal::FromInteger(-42).ToString(), "-42");
}

TEST(DecimalTest, ComparesNumericallyAcrossScales) {
  EXPECT_EQ(D("1.50"), D("1.5"));
  EXPECT_FALSE(D("1.50").IdenticalTo(D("1.5")));
  EXPECT_TRUE(D("1.50").IdenticalTo(D("1.50")));
  EXPECT_LT(D("1.49"), D("1.5"));
  EXPECT_GT(D("2"), D("1.999999999999999999"));
  EXPECT_LT(D("-1.5"), D("-1.2"));
  EXPECT_LT(D("-1"), D("-0.5"));
  EXPECT_LT(D("-0.5"), D("0.3"));
  EXPECT_GT(D("0.000000000000000001"), D("0"));
  EXPECT_LT(D("-99999999999999999999999999999999999999"),
            D("99999999999999999999.999999999999999999"));
  EXPECT_EQ(D("0.00"), Decimal());
  EXPECT_NE(D("0.01"), Decimal());
}

TEST(DecimalTest, FromMantissaChecksRange) {
  EXPECT_EQ(Decimal::FromMantissa(12345, 3)->ToString(), "12.345");
  EXPECT_FALSE(Decimal::FromMantissa(1, 19).ok());
  EXPECT_FALSE(Decimal::FromMantissa(1, -1).ok());
}

}  // namespace
}  // namespace channelhub
