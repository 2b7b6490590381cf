// Shopify webhooks (inbound): verifies X-Shopify-Hmac-Sha256 over the raw body, then journals
// the delivery under its topic ("orders/create", ...) with X-Shopify-Event-Id as the event id.
#pragma once

#include <channelhub/plugin.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace channelhub::connectors::ecommerce {

inline const char* const kShopifySettings[] = {"secret", "max_age", nullptr};

class Shopify final : public sdk::Connector {
 public:
  // Settings: "secret" (required, the app's client secret), "max_age" (optional, seconds: a
  // delivery triggered longer ago than that is refused as stale).
  Shopify(const sdk::Host& host, const sdk::Settings& settings);

  sdk::InboundResult Inbound(const sdk::Request& req) override;

 private:
  std::string secret_;
  std::optional<int64_t> max_age_s_;
};

// X-Shopify-Triggered-At ("2024-05-01T10:00:00.123456789Z", "...+02:00") as Unix milliseconds;
// nullopt when it is not such a timestamp.
std::optional<int64_t> ParseIso8601Ms(std::string_view text);

}  // namespace channelhub::connectors::ecommerce
