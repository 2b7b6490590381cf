// The WMS connector family: the QiMen (奇门) warehousing API.
#include <channelhub/plugin.hpp>

#include "connectors/wms/qimen.hpp"

namespace wms = channelhub::connectors::wms;
namespace sdk = channelhub::sdk;

CHUB_PLUGIN("channelhub-wms", "1.0.0",
            sdk::Describe<wms::Qimen>("qimen",
                                      "QiMen WMS API: signed deliveryorder.confirm / inventory.report "
                                      "callbacks in, signed deliveryorder.create out",
                                      CHUB_CAP_INBOUND | CHUB_CAP_OUTBOUND, wms::Qimen::kSettings))
