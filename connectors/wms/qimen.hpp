// QiMen (奇门) warehousing API, the de-facto ERP <-> WMS contract (protocols.md §5.3).
//
// Inbound (the WMS calls us): POST /webhooks/<source>?method=...&app_key=...&timestamp=...&v=2.0
//   &format=xml&sign_method=md5&customerId=...&sign=... with an XML body. The sign is checked in
//   constant time; taobao.qimen.deliveryorder.confirm, taobao.qimen.inventory.report and
//   taobao.qimen.stockchange.report (with or without the "taobao.qimen." prefix) are journaled
//   with kind = the short method name ("deliveryorder.confirm", ...), so `mapping:` picks by it.
//   Every answer is QiMen's XML (<response><flag>success|failure</flag><code/><message/></response>)
//   with HTTP 200: QiMen reads the flag, not the HTTP status (a non-200 is a transport error to
//   it and is retried), so a refused request (bad sign, unknown method, bad body) is answered
//   200 + flag failure and nothing is stored. The timestamp is signed but not checked against a
//   window (QiMen retries re-send old calls): a replayed call carries the same event id and is
//   dropped by the hub's inbox.
// Outbound (we call the WMS): taobao.qimen.deliveryorder.create with the mapped XML body and the
//   signed system parameters in the query; the answer's flag decides (success: done; failure:
//   permanent with QiMen's code and message; HTTP 5xx / 429 or an unreadable answer: retry).
//
// Settings: app_key, secret, customer_id (checked on inbound when set; sent on outbound),
//   sign_method (md5 | hmac | hmac-sha256; default md5), target_app_key (outbound, optional),
//   method (outbound, default taobao.qimen.deliveryorder.create), statuses (outbound: the
//   canonical order statuses that may be sent, default "confirmed,paid"; needs the mapping to
//   write deliveryOrder/extendProps/orderStatus), url (destinations).
#pragma once

#include <channelhub/plugin.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace channelhub::connectors::wms {

namespace qimen {

enum class SignMethod { kMd5, kHmacMd5, kHmacSha256 };

// "md5" -> kMd5, "hmac" -> kHmacMd5, "hmac-sha256" -> kHmacSha256; false for anything else.
bool ParseSignMethod(std::string_view text, SignMethod* out);

// The text that is signed: every parameter except "sign" (and those with an empty name or
// value, as the TOP SDKs skip them), sorted by name (byte order), written name + value, then the
// body.
std::string SignBase(std::vector<std::pair<std::string, std::string>> params, std::string_view body);

// md5:          UPPER(HEX(MD5(secret + base + secret)))
// hmac:         UPPER(HEX(HMAC-MD5(key = secret, base)))
// hmac-sha256:  UPPER(HEX(HMAC-SHA256(key = secret, base)))
std::string Sign(SignMethod method, std::string_view secret,
                 const std::vector<std::pair<std::string, std::string>>& params, std::string_view body);

// <?xml ...?><response><flag>..</flag><code>..</code><message>..</message></response>
std::string ResponseXml(bool success, std::string_view code, std::string_view message);

// "taobao.qimen.deliveryorder.confirm" -> "deliveryorder.confirm"; others unchanged.
std::string ShortMethod(std::string_view method);

// "yyyy-MM-dd HH:mm:ss" in China time (UTC+8) for a Unix time in milliseconds.
std::string ChinaTime(int64_t unix_ms);

}  // namespace qimen

class Qimen final : public sdk::Connector {
 public:
  Qimen(const sdk::Host& host, const sdk::Settings& settings);

  sdk::InboundResult Inbound(const sdk::Request& req) override;
  sdk::OutRequest BuildDelivery(const sdk::Delivery& d) override;
  sdk::Verdict JudgeDelivery(const sdk::Delivery& d, const sdk::Response& res) override;

  static const char* const kSettings[];

 private:
  sdk::InboundResult Failure(std::string_view code, std::string_view message, std::string_view log) const;

  std::string app_key_;
  std::string secret_;
  std::string customer_id_;
  qimen::SignMethod sign_method_ = qimen::SignMethod::kMd5;
  std::string sign_method_name_ = "md5";
  std::string target_app_key_;
  std::string out_method_;
  std::vector<std::string> statuses_;
  std::string url_path_;   // the destination url's path ("/router/qimen/service")
  std::string url_query_;  // its query, without '?', kept in front of ours
};

}  // namespace channelhub::connectors::wms
