// Building blocks shared by the canonical entities (canonical model v1, ARCHITECTURE.md).
//
// Conventions for every entity in hub/model:
//  - Strings are plain std::string; an empty string means "absent" and is not written to JSON.
//  - Money, quantities and rates are Decimal, written as JSON strings ("388.00").
//  - Times are UtcTime, written as RFC 3339 UTC strings ("2022-01-01T00:00:00Z").
//  - "ext_json" holds what no rule mapped, as the text of one JSON object ("" when there is none);
//    it is kept and passed on, never dropped.
// Entities are plain values: copyable, no invariants enforced on assignment; Validate() checks
// them.
#pragma once

#include <string>
#include <string_view>

namespace channelhub::model {

// Where an entity comes from: the system ("shopify", "kingdee", or a configured source name) and
// the entity's id in that system. JSON: {"system": "...", "id": "..."}.
struct SourceRef {
  std::string system;
  std::string id;

  bool empty() const { return system.empty() && id.empty(); }
  bool operator==(const SourceRef&) const = default;
};

// A postal address. "line" is the street part in one line; "country" is ISO 3166-1 alpha-2 ("CN").
// JSON keys: province, city, district, line, postcode, country (each omitted when empty).
struct Address {
  std::string province;
  std::string city;
  std::string district;
  std::string line;
  std::string postcode;
  std::string country;

  bool empty() const {
    return province.empty() && city.empty() && district.empty() && line.empty() &&
           postcode.empty() && country.empty();
  }
  bool operator==(const Address&) const = default;
};

// The value checks that the JSON schemas in mappings/schema/ also make.
bool IsE164(std::string_view phone);         // "+8613800138000": '+', 7..15 digits, no leading 0
bool IsEmailLike(std::string_view email);    // "a@b": one '@', something either side, no spaces
bool IsCurrencyCode(std::string_view code);  // ISO 4217 shape: three upper-case letters
bool IsCountryCode(std::string_view code);   // ISO 3166-1 alpha-2 shape: two upper-case letters

}  // namespace channelhub::model
