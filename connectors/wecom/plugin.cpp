// The WeCom (企业微信) connector family: encrypted callbacks and customer contacts.
#include <channelhub/plugin.hpp>

#include "connectors/wecom/wecom.hpp"

namespace wecom = channelhub::connectors::wecom;
namespace sdk = channelhub::sdk;

CHUB_PLUGIN("channelhub-wecom", "1.0.0",
            sdk::Describe<wecom::Wecom>(
                "wecom",
                "WeCom callbacks: URL verification, encrypted external-contact events; gettoken",
                CHUB_CAP_INBOUND | CHUB_CAP_TOKEN, wecom::Wecom::kSettings),
            sdk::Describe<wecom::WecomContacts>(
                "wecom_contacts",
                "WeCom customers of the listed members: batch/get_by_user ids, externalcontact/get each",
                CHUB_CAP_POLL | CHUB_CAP_TOKEN, wecom::WecomContacts::kSettings))
