// The finance connector family: Kingdee K/3 Cloud receivables / vouchers out, credit limits in.
#include <channelhub/plugin.hpp>

#include "connectors/finance/kingdee_finance.hpp"

namespace finance = channelhub::connectors::finance;
namespace sdk = channelhub::sdk;

CHUB_PLUGIN("channelhub-finance", "1.0.0",
            sdk::Describe<finance::KingdeeFinance>(
                "kingdee_finance",
                "Kingdee K/3 Cloud finance, signed app headers: receivables / receipts / vouchers "
                "for paid orders (Save/Submit/Audit), credit-limit polling",
                CHUB_CAP_OUTBOUND | CHUB_CAP_POLL, finance::KingdeeFinance::kSettings))
