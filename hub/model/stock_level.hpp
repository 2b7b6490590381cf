// Canonical StockLevel (model v1) and its JSON form (mappings/schema/stock_level.schema.json).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "hub/common/decimal.hpp"
#include "hub/common/status.hpp"
#include "hub/common/time.hpp"
#include "hub/model/types.hpp"

namespace channelhub::model {

// Stock of one SKU in one warehouse at one time. JSON keys, in order:
//   warehouse, sku, on_hand, available, reserved, as_of, source, ext
// Required: warehouse, sku, source (system).
struct StockLevel {
  std::string warehouse;
  std::string sku;
  std::optional<Decimal> on_hand;
  std::optional<Decimal> available;
  std::optional<Decimal> reserved;
  std::optional<UtcTime> as_of;
  SourceRef source;
  std::string ext_json;

  bool operator==(const StockLevel&) const = default;
};

Status Validate(const StockLevel& s);
std::string ToJson(const StockLevel& s);
Result<StockLevel> StockLevelFromJson(std::string_view json);

}  // namespace channelhub::model
