#include "hub/model/stock_level.hpp"

#include <gtest/gtest.h>

namespace channelhub::model {
namespace {

TEST(StockLevelTest, RoundTrips) {
  StockLevel s;
  s.warehouse = "WH-SH-01";
  s.sku = "TEA-LJ-250";
  s.on_hand = *Decimal::Parse("120");
  s.available = *Decimal::Parse("96");
  s.reserved = *Decimal::Parse("24");
  s.as_of = *ParseRfc3339("2024-03-11 09:00:00");  // local Shanghai time
  s.source = {"jushuitan", ""};
  const std::string json = ToJson(s);
  EXPECT_EQ(
      json,
      R"({"warehouse":"WH-SH-01","sku":"TEA-LJ-250","on_hand":"120","available":"96","reserved":"24",)"
      R"("as_of":"2024-03-11T01:00:00Z","source":{"system":"jushuitan"}})");
  Result<StockLevel> back = StockLevelFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, s);
}

TEST(StockLevelTest, ErrorsNameTheField) {
  EXPECT_EQ(
      StockLevelFromJson(R"({"warehouse":"W","sku":"S","on_hand":12,"source":{"system":"x"}})")
          .status()
          .message(),
      "on_hand: expected a decimal string, got number");
  EXPECT_EQ(StockLevelFromJson(R"({"warehouse":"W","source":{"system":"x"}})").status().message(),
            "sku: required");
}

}  // namespace
}  // namespace channelhub::model
