// Request bodies the end-to-end tests post: Shopify-shaped orders (protocols.md §2.2) and
// canonical orders for builtin:canonical.order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace channelhub::e2e {

// A Shopify orders/create payload, about 1.5 KB, in the shape of the official sample.
// "customer_id" 0 leaves the customer out. Ids are written as JSON numbers, as Shopify does
// (they exceed 2^53: a mapper must not read them as doubles).
std::string ShopifyOrderJson(uint64_t order_id, uint64_t customer_id, std::string_view name,
                             std::string_view total_price = "388.00");

// A canonical Order (the hub's own model) with one line; "total" is a decimal string.
std::string CanonicalOrderJson(std::string_view order_no, std::string_view total = "20.00",
                               std::string_view status = "created");

}  // namespace channelhub::e2e
