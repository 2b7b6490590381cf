// SAP IDoc over HTTP (XML-IDoc, protocols.md §3).
//
// Inbound: SAP's XML HTTP port POSTs one XML document whose root is the IDoc type (ORDERS05,
// DEBMAS07, or an extension such as _-LUMBERL_-3PL_ORDERS05_EXT) holding one or more
// <IDOC BEGIN="1"> elements. Each IDOC becomes one payload: a standalone document with the same
// root, event id = EDI_DC40/DOCNUM (trimmed, leading zeros kept), kind = the root name.
// Outbound: POSTs the mapped IDoc XML to the destination url (with ?sap-client=NNN when set).
//
// Settings: user, password (HTTP Basic, both directions; optional), sap_client (optional, three
// digits), url (destinations).
#pragma once

#include <channelhub/plugin.hpp>
#include <string>

namespace channelhub::connectors::erp {

class SapIdoc final : public sdk::Connector {
 public:
  SapIdoc(const sdk::Host& host, const sdk::Settings& settings);

  sdk::InboundResult Inbound(const sdk::Request& req) override;
  sdk::OutRequest BuildDelivery(const sdk::Delivery& d) override;
  sdk::Verdict JudgeDelivery(const sdk::Delivery& d, const sdk::Response& res) override;

  static const char* const kSettings[];

 private:
  bool Authorised(std::string_view authorization) const;

  std::string user_;
  std::string password_;
  std::string sap_client_;
  std::string url_;
};

}  // namespace channelhub::connectors::erp
