// A QiMen (奇门) WMS simulator for end-to-end tests: both sides of the protocol, implemented on
// its own (OpenSSL directly), sharing no code with connectors/wms.
//
//   * As the WMS calling the ERP: SignedCall() builds a signed taobao.qimen.* request (the
//     system parameters in the query, the XML body) that the test posts to the hub's webhook.
//   * As the WMS receiving calls: Handle() (for FakeHttpServer::SetHandler) checks the method,
//     app_key, customerId and sign of taobao.qimen.deliveryorder.create, records the delivery
//     order and answers QiMen's <response>; faults: HTTP 503, or flag failure with a code.
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "tests/e2e/harness.hpp"

namespace channelhub::e2e {

class QimenWmsSimulator {
 public:
  // sign_method: "md5" or "hmac" (HMAC-MD5).
  QimenWmsSimulator(std::string app_key, std::string secret, std::string customer_id, std::string sign_method = "md5");

  // The sign of QiMen: UPPER(HEX(MD5(secret + sorted name+value (without sign) + body + secret)))
  // or UPPER(HEX(HMAC-MD5(secret, sorted name+value + body))).
  std::string Sign(const std::vector<std::pair<std::string, std::string>>& params, const std::string& body) const;

  // "?method=...&...&sign=..." for a call of "method" at "timestamp" with "body".
  std::string SignedQuery(const std::string& method, const std::string& body,
                          const std::string& timestamp = "2025-11-20 16:50:00") const;

  // Faults of the receiving side.
  void FailNext(int n);                                         // HTTP 503
  void RefuseNext(std::string code, std::string message);       // flag failure

  ScriptedReply Handle(const RecordedRequest& request);

  struct Order {
    std::string code;   // deliveryOrderCode
    std::string body;   // the XML as received
    std::map<std::string, std::string> params;  // the query parameters
  };
  std::vector<Order> Orders() const;
  int SignFailures() const;
  int Requests() const;

 private:
  std::string app_key_, secret_, customer_id_, sign_method_;
  mutable std::mutex mu_;
  int fail_next_ = 0;
  std::vector<std::pair<std::string, std::string>> refusals_;
  std::vector<Order> orders_;
  int sign_failures_ = 0;
  int requests_ = 0;
};

// The text of the first <tag>...</tag> in "xml" ("" when absent); no entity decoding.
std::string XmlElementText(const std::string& xml, const std::string& tag);

}  // namespace channelhub::e2e
