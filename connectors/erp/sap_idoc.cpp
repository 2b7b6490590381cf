#include "connectors/erp/sap_idoc.hpp"

#include <pugixml.hpp>
#include <vector>

#include "connectors/common/crypto.hpp"
#include "connectors/common/xml_guard.hpp"
#include "connectors/erp/erp_util.hpp"

namespace channelhub::connectors::erp {

namespace {

constexpr std::string_view kXmlDeclaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

// Collects pugixml's output into a string.
class StringWriter final : public pugi::xml_writer {
 public:
  void write(const void* data, size_t size) override {
    out.append(static_cast<const char*>(data), size);
  }
  std::string out;
};

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

const char* const SapIdoc::kSettings[] = {"user", "password", "sap_client", "url", nullptr};

SapIdoc::SapIdoc(const sdk::Host& host, const sdk::Settings& settings)
    : Connector(host),
      user_(settings.GetOr("user", "")),
      password_(settings.GetOr("password", "")),
      sap_client_(Trim(settings.GetOr("sap_client", ""))),
      url_(Trim(settings.GetOr("url", ""))) {
  if (user_.empty() && !password_.empty())
    throw sdk::Failure("setting \"password\" is set but \"user\" is not");
  if (user_.find(':') != std::string::npos)
    throw sdk::Failure("setting \"user\": a Basic-auth user cannot contain ':'");
  if (!sap_client_.empty() && !(sap_client_.size() == 3 && IsDigits(sap_client_))) {
    throw sdk::Failure("setting \"sap_client\": expected three digits (e.g. 100), got \"" +
                       sap_client_ + "\"");
  }
  if (!url_.empty()) UrlTarget(url_);  // validates
}

bool SapIdoc::Authorised(std::string_view authorization) const {
  std::string_view h = Trim(authorization);
  std::size_t space = h.find(' ');
  if (space == std::string_view::npos || !sdk::EqualsIgnoreCase(h.substr(0, space), "Basic"))
    return false;
  std::string decoded;
  if (!Base64Decode(Trim(h.substr(space + 1)), &decoded)) return false;
  std::string expected = user_ + ":" + password_;
  // Both comparisons run whatever the first one says.
  bool same = ConstantTimeEquals(decoded, expected);
  return same && decoded.size() == expected.size();
}

sdk::InboundResult SapIdoc::Inbound(const sdk::Request& req) {
  if (!user_.empty() && !Authorised(req.Header("Authorization"))) {
    return sdk::InboundResult::Reject(401, "unauthorised");
  }
  if (!sdk::EqualsIgnoreCase(req.method, "POST")) {
    return sdk::InboundResult::Reject(405, "IDocs are sent with POST");
  }
  if (Trim(req.body).empty())
    return sdk::InboundResult::Reject(400, "empty body: expected an XML IDoc");
  if (ContainsIgnoreCase(req.body, "<!DOCTYPE")) {
    return sdk::InboundResult::Reject(400, "XML with a DOCTYPE is refused");
  }

  pugi::xml_document doc;
  // A DOCTYPE spelt in another encoding, too deep or too many nodes: refused before any walk.
  if (std::string problem = ParseXmlGuarded(req.body, &doc); !problem.empty()) {
    return sdk::InboundResult::Reject(400, "body is " + (problem.starts_with("not ") ? problem : "refused: " + problem));
  }
  pugi::xml_node root = doc.document_element();
  if (!root) return sdk::InboundResult::Reject(400, "body is not an XML IDoc: no root element");
  std::string kind = root.name();

  std::vector<pugi::xml_node> idocs;
  for (pugi::xml_node child : root.children("IDOC")) idocs.push_back(child);
  if (idocs.empty()) {
    return sdk::InboundResult::Reject(400,
                                      "not an XML IDoc: <" + kind + "> holds no <IDOC> element");
  }

  sdk::InboundResult result;
  for (std::size_t i = 0; i < idocs.size(); ++i) {
    std::string docnum(Trim(idocs[i].child("EDI_DC40").child_value("DOCNUM")));
    if (docnum.empty()) {
      return sdk::InboundResult::Reject(400, "IDoc " + std::to_string(i + 1) + " of " +
                                                 std::to_string(idocs.size()) +
                                                 " has no EDI_DC40/DOCNUM");
    }
    pugi::xml_document single;
    pugi::xml_node out_root = single.append_child(root.name());
    for (pugi::xml_attribute a : root.attributes()) out_root.append_copy(a);
    out_root.append_copy(idocs[i]);
    StringWriter w;
    single.save(w, "", pugi::format_raw | pugi::format_no_declaration, pugi::encoding_utf8);
    sdk::Payload p;
    p.event_id = std::move(docnum);
    p.kind = kind;
    p.content_type = "application/xml";
    p.body = std::string(kXmlDeclaration) + w.out;
    result.payloads.push_back(std::move(p));
  }
  result.status = 200;
  return result;
}

sdk::OutRequest SapIdoc::BuildDelivery(const sdk::Delivery& d) {
  if (url_.empty()) throw sdk::Failure("missing setting \"url\"");
  if (Trim(d.body).empty()) throw sdk::Failure("empty payload: nothing to send to SAP");
  sdk::OutRequest r;
  r.method = "POST";
  r.target = UrlTarget(url_);
  if (!sap_client_.empty() && r.target.find('?') == std::string::npos)
    r.target += "?sap-client=" + sap_client_;
  r.headers.emplace_back("Content-Type", "application/xml; charset=utf-8");
  if (!user_.empty())
    r.headers.emplace_back("Authorization", "Basic " + Base64Encode(user_ + ":" + password_));
  r.body = std::string(d.body);
  return r;
}

sdk::Verdict SapIdoc::JudgeDelivery(const sdk::Delivery&, const sdk::Response& res) {
  const int s = res.status;
  if (s >= 200 && s < 300) return sdk::Verdict::Done();
  std::string status = "HTTP " + std::to_string(s);
  if (s < 200) return sdk::Verdict::Retry("SAP gave no final answer (" + status + ")");
  if (s == 401 || s == 403)
    return sdk::Verdict::Permanent("SAP refused the credentials (" + status + ")");
  if (IsTransientStatus(s)) {
    std::string snippet = Snippet(res.body);
    return sdk::Verdict::Retry("SAP answered " + status + (snippet.empty() ? "" : ": " + snippet),
                               RetryAfterMs(res));
  }
  std::string snippet = Snippet(res.body);
  return sdk::Verdict::Permanent("SAP refused the IDoc (" + status + ")" +
                                 (snippet.empty() ? "" : ": " + snippet));
}

}  // namespace channelhub::connectors::erp
