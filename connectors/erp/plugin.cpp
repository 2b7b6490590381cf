// The ERP connector family: SAP IDoc (XML over HTTP) and Kingdee K/3 Cloud WebAPI.
#include <channelhub/plugin.hpp>

#include "connectors/erp/kingdee.hpp"
#include "connectors/erp/sap_idoc.hpp"

namespace erp = channelhub::connectors::erp;
namespace sdk = channelhub::sdk;

CHUB_PLUGIN("channelhub-erp", "1.0.0",
            sdk::Describe<erp::SapIdoc>("sap_idoc",
                                        "SAP XML-IDoc over HTTP: receive IDocs, post mapped IDocs",
                                        CHUB_CAP_INBOUND | CHUB_CAP_OUTBOUND,
                                        erp::SapIdoc::kSettings),
            sdk::Describe<erp::Kingdee>(
                "kingdee",
                "Kingdee K/3 Cloud WebAPI, signed app headers: Save/Submit/Audit, bill queries",
                CHUB_CAP_OUTBOUND | CHUB_CAP_POLL, erp::Kingdee::kSettings),
            sdk::Describe<erp::KingdeeLogin>(
                "kingdee_login",
                "Kingdee K/3 Cloud WebAPI with a ValidateUser session: Save/Submit/Audit, "
                "bill queries",
                CHUB_CAP_OUTBOUND | CHUB_CAP_POLL | CHUB_CAP_TOKEN, erp::KingdeeLogin::kSettings))
