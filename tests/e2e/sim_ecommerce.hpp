// Simulators of e-commerce platforms for the end-to-end tests: what Shopify and Youzan send to a
// webhook, and a TOP gateway (Taobao Open Platform) serving taobao.trades.sold.increment.get.
// Written from the platforms' documentation (protocols.md §2), independently of the connectors
// in connectors/ecommerce, so that a test exercises the connector against the protocol and not
// against itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tests/e2e/harness.hpp"

namespace channelhub::e2e {

// The headers of a Shopify webhook delivery for "body": X-Shopify-Hmac-Sha256 (Base64 of
// HMAC-SHA256 under the app's client secret), X-Shopify-Topic, X-Shopify-Event-Id,
// X-Shopify-Webhook-Id, X-Shopify-Shop-Domain, X-Shopify-API-Version and X-Shopify-Triggered-At
// ("triggered_at", ISO 8601 UTC; the current time when empty). Content-Type is left to the
// caller (PostWebhook adds it).
Headers ShopifyWebhookHeaders(std::string_view secret, std::string_view body, std::string_view topic,
                              std::string_view event_id, std::string_view triggered_at = {});

// "msg" encoded as Youzan does (like JavaScript's encodeURI: '"', '{', '}', spaces, '%', '\' and
// non-ASCII bytes become %XX; ':' ',' '+' and the like stay).
std::string YouzanEncodeMsg(std::string_view msg_json);

// The JSON body of a Youzan push (legacy push service) for a message of "type" about business id
// "id", with msg = YouzanEncodeMsg(msg_json) and sign = md5(client_id + msg + client_secret) in
// lowercase hex. "send_count" counts retries (0 on the first delivery); a retry is the same push
// with a higher send_count. "version" is Youzan's message version (a timestamp).
std::string YouzanPush(std::string_view client_id, std::string_view client_secret, std::string_view type,
                       std::string_view id, std::string_view status, std::string_view msg_json, int send_count,
                       int64_t version = 1517045501);

// A Youzan liveness probe ("test": true), signed.
std::string YouzanProbe(std::string_view client_id, std::string_view client_secret);

// A TOP gateway for taobao.trades.sold.increment.get. Install with
//   server.SetHandler([&](const RecordedRequest& r) { return top.Handle(r); });
// and give the connector server.Url("/router/rest") as "url". It reads the parameters from the
// query and from a form-urlencoded body, checks app_key, the signature (md5, hmac or
// hmac-sha256 with its own secret), the session and the window (<= one day), and answers the
// trades whose modified time falls in the window (both ends inclusive), newest first as TOP
// does, paged by page_no/page_size, with has_next. Thread-safe.
class TaobaoTopSimulator {
 public:
  enum class Fault {
    kHttp502,      // HTTP 502 with an HTML body, as a proxy in front of the gateway would
    kCallLimited,  // error_response code 7 "App Call Limited" (accesscontrol.limited)
  };

  // One request the gateway answered.
  struct Call {
    std::map<std::string, std::string> params;  // decoded
    int http_status = 200;
    int error_code = 0;  // the error_response code, 0 for a normal answer
    std::size_t trades = 0;  // trades in the answer
    bool has_next = false;
  };

  TaobaoTopSimulator(std::string app_key, std::string app_secret, std::string session);

  // Adds a trade, or modifies it when "tid" is known (its modified time, status and payment
  // change, as a real modification does). "modified": "yyyy-MM-dd HH:mm:ss" in GMT+8.
  void AddTrade(std::string_view tid, std::string_view modified, std::string_view status,
                std::string_view payment);
  // Accepts another session key (a second shop, or a re-authorised one).
  void AddSession(std::string_view session);
  // Revokes a session key: calls with it get code 27 from now on.
  void RevokeSession(std::string_view session);
  // The next "n" requests fail with "fault" (before any check).
  void FailNext(int n, Fault fault = Fault::kHttp502);

  ScriptedReply Handle(const RecordedRequest& request);

  std::vector<Call> Calls() const;
  std::size_t CallCount() const;

 private:
  struct Trade {
    std::string tid, modified, status, payment;
  };
  ScriptedReply Error(Call* call, int code, std::string_view msg, std::string_view sub_code = {},
                      std::string_view sub_msg = {}) const;

  const std::string app_key_;
  const std::string app_secret_;
  mutable std::mutex mu_;
  std::vector<std::string> sessions_;  // guarded by mu_
  std::vector<Trade> trades_;          // guarded by mu_
  int fail_left_ = 0;                  // guarded by mu_
  Fault fault_ = Fault::kHttp502;      // guarded by mu_
  std::vector<Call> calls_;            // guarded by mu_
};

}  // namespace channelhub::e2e
