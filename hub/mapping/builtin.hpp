// Built-in mappers, written in C++ while the mapping engine (mapping files) is being built.
// Each is immutable after construction and safe to call from several threads at once.
#pragma once

#include <string_view>
#include <vector>

#include "hub/mapping/mapper.hpp"

namespace channelhub::mapping {

// The references the built-in mappers are configured by.
inline constexpr std::string_view kShopifyOrderMapper = "builtin:shopify.order";
inline constexpr std::string_view kCanonicalOrderMapper = "builtin:canonical.order";
inline constexpr std::string_view kCanonicalCustomerMapper = "builtin:canonical.customer";

// A Shopify order webhook (orders/create, orders/updated, orders/paid, and the other orders/*
// topics that carry the full order) becomes one com.channelhub.order.upserted event with subject
// "order/<source>/<order id>", plus one com.channelhub.customer.upserted event with subject
// "customer/<source>/<customer id>" when the order has a customer with an id.
// The mapping, field by field, is described in builtin_shopify.cpp. Errors name the Shopify
// field: "line_items[1].price: expected a decimal string, got number".
class ShopifyOrderMapper final : public Mapper {
 public:
  Result<std::vector<MappedEvent>> Map(const InboundPayload& in) const override;
};

// The body is already a canonical Order: validated with OrderFromJson and re-serialised.
// Subject "order/<source>/<source.id>", or "order/<source>/<order_no>" when source.id is empty.
class CanonicalOrderMapper final : public Mapper {
 public:
  Result<std::vector<MappedEvent>> Map(const InboundPayload& in) const override;
};

// The body is already a canonical Customer: validated with CustomerFromJson and re-serialised.
// Subject "customer/<source>/<source.id>".
class CanonicalCustomerMapper final : public Mapper {
 public:
  Result<std::vector<MappedEvent>> Map(const InboundPayload& in) const override;
};

}  // namespace channelhub::mapping
