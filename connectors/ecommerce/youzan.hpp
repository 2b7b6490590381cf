// Youzan (有赞) push messages (inbound): verifies sign = md5(client_id + msg + client_secret) with
// msg as received (still URL-encoded), answers liveness probes, and journals each push once, with
// msg decoded into JSON, under its type ("TRADE_ORDER_STATE", ...).
#pragma once

#include <channelhub/plugin.hpp>

#include <string>

namespace channelhub::connectors::ecommerce {

inline const char* const kYouzanSettings[] = {"client_id", "client_secret", nullptr};

class Youzan final : public sdk::Connector {
 public:
  Youzan(const sdk::Host& host, const sdk::Settings& settings);

  sdk::InboundResult Inbound(const sdk::Request& req) override;

 private:
  std::string client_id_;
  std::string client_secret_;
};

}  // namespace channelhub::connectors::ecommerce
