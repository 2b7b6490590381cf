// Canonical Customer (model v1) and its JSON form (mappings/schema/customer.schema.json).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/common/decimal.hpp"
#include "hub/common/status.hpp"
#include "hub/common/time.hpp"
#include "hub/model/types.hpp"

namespace channelhub::model {

enum class CustomerKind { kPerson, kCompany, kDealer };

// "person", "company", "dealer".
std::string_view CustomerKindName(CustomerKind kind);
std::optional<CustomerKind> ParseCustomerKind(std::string_view name);

// WeCom (企业微信) identities of an external contact. JSON: {"external_userid", "unionid"}.
struct WecomIds {
  std::string external_userid;
  std::string unionid;

  bool empty() const { return external_userid.empty() && unionid.empty(); }
  bool operator==(const WecomIds&) const = default;
};

// A credit line. JSON: {"limit": "50000.00", "used": "1200.00", "currency": "CNY"}.
struct Credit {
  std::optional<Decimal> limit;
  std::optional<Decimal> used;
  std::string currency;

  bool operator==(const Credit&) const = default;
};

// A customer as one source system sees it. JSON keys, in order:
//   kind, name, mobiles, emails, wecom, credit_code, addresses, region, tier, credit, tags,
//   updated_at, source, ext
// Required: kind, source (system and id).
struct Customer {
  CustomerKind kind = CustomerKind::kPerson;
  std::string name;
  std::vector<std::string> mobiles;  // E.164: "+8613800138000"
  std::vector<std::string> emails;   // lower-cased by the mappings
  WecomIds wecom;
  std::string credit_code;  // 统一社会信用代码, 18 characters, companies and dealers
  std::vector<Address> addresses;
  std::string region;
  std::string tier;
  std::optional<Credit> credit;
  std::vector<std::string> tags;
  std::optional<UtcTime> updated_at;
  SourceRef source;
  std::string ext_json;

  bool operator==(const Customer&) const = default;
};

// Checks what the schema checks; InvalidArgument naming the field ("mobiles[1]: ...").
Status Validate(const Customer& c);

// Compact canonical JSON. REQUIRES: Validate(c) is OK (an ext_json that is not an object is
// kept as {"unparsed": "<text>"} rather than producing invalid JSON).
std::string ToJson(const Customer& c);

// Parses and validates canonical Customer JSON. Unknown keys, nulls and wrong types are errors
// naming the field: "addresses[0].postcode: expected a string, got number".
Result<Customer> CustomerFromJson(std::string_view json);

}  // namespace channelhub::model
