// The e-commerce plugin: Shopify and Youzan webhooks, Taobao/Tmall trade polling.
#include "connectors/ecommerce/shopify.hpp"
#include "connectors/ecommerce/taobao.hpp"
#include "connectors/ecommerce/youzan.hpp"

namespace eco = channelhub::connectors::ecommerce;

CHUB_PLUGIN("channelhub-ecommerce", "1.0.0",
            channelhub::sdk::Describe<eco::Shopify>("shopify", "Shopify webhooks (X-Shopify-Hmac-Sha256 verified)",
                                                    CHUB_CAP_INBOUND, eco::kShopifySettings),
            channelhub::sdk::Describe<eco::Youzan>("youzan", "Youzan push messages (md5 sign verified, msg decoded)",
                                                   CHUB_CAP_INBOUND, eco::kYouzanSettings),
            channelhub::sdk::Describe<eco::Taobao>("taobao",
                                                   "Taobao/Tmall trades polled with taobao.trades.sold.increment.get",
                                                   CHUB_CAP_POLL, eco::kTaobaoSettings))
