// Kingdee K/3 Cloud (金蝶云星空) finance connector `kingdee_finance` (protocols.md §4.2, §4.3, §6):
//
// Outbound: receivables (AR_receivable, the default), receipts (AR_RECEIVEBILL) or vouchers
//   (GL_VOUCHER) for paid orders: DynamicFormService.Save of the mapped body (the "data" object,
//   e.g. mappings/finance/ar_receivable.from_canon.yaml), then Submit and Audit of the bill
//   Kingdee numbered when `operations` says so. The mapping may add a top-level member
//   "_chub": {"status": "<canonical order status>"}: the connector removes it before sending and
//   posts only the statuses in `statuses` (default "paid"); anything else is refused (a dead
//   letter saying why). A retried delivery whose bill has its own FBillNo is first looked up
//   (View), so an ambiguous failure (a timeout after the Save went out) never books it twice;
//   likewise a refused Save of a bill with its own FBillNo is checked with a View (the same Save
//   may have reached Kingdee before): an existing bill is carried on with, else the refusal
//   stands as the dead letter's reason.
// Polling: customer credit limits and used credit through ExecuteBillQuery on `credit_form_id`
//   (the tenant's credit-archive form or report: Kingdee does not document one, §6), paged and
//   ordered by the modification time, one JSON credit record per row in the shape that
//   mappings/finance/credit_limit.to_canon.yaml reads (dealer_id, dealer_name, credit_area,
//   currency, credit_limit, exposure, source K3CLOUD, as_of), kind "credit_limit". Kingdee's
//   preset currency numbers (PRE001 ...) become ISO codes (CNY ...).
//
// Authentication: Kingdee's signed app headers (第三方系统登录授权), implemented here.
// Settings: url, app_id, app_secret, acct_id, user, lcid (2052), org_num (0); outbound: form_id
//   (AR_receivable), operations ("save" or e.g. "save,submit,audit"), statuses ("paid");
//   polling: credit_form_id, customer_field (FCustomerID.FNumber), name_field (FCustomerID.FName,
//   "" for none), limit_field (FCreditAmount), used_field (FUsedAmount, "" for none),
//   currency_field (FCurrencyID.FNumber, "" for none), area_field ("" for none), modified_field
//   (FModifyDate), id_field (FID: the tie-break of the order), filter, page_size (500, at most
//   2000), start ("yyyy-MM-dd HH:mm:ss"), utc_offset (+08:00: the zone of Kingdee's times).
#pragma once

#include <channelhub/plugin.hpp>

#include "connectors/common/kingdee_sign.hpp"
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace channelhub::connectors::finance {

namespace kd {

// Kingdee's signature headers, shared with the ERP connector (connectors/common/kingdee_sign.hpp).
using App = connectors::kingdee::AppCredentials;
using connectors::kingdee::KdHmac;
inline std::string ClientSecret(std::string_view app_id_secret_part) {
  return connectors::kingdee::DecodeAppSecret(app_id_secret_part);
}
inline sdk::Headers Sign(const App& app, std::string_view path, std::string_view timestamp, std::string_view nonce) {
  return connectors::kingdee::SignatureHeaders(app, path, timestamp, nonce);
}

// The credit poll's position: rows with modified >= since (second precision), skipping the first
// "skip" of those (only while paging through more rows of one second than a page holds).
struct Cursor {
  std::string since;  // "yyyy-MM-dd HH:mm:ss"
  int64_t skip = 0;
};
std::string FormatCursor(const Cursor& c);
bool ParseCursor(std::string_view text, Cursor* out);

// "2025-11-20T14:32:05.273" / "2025-11-20 14:32:05" -> "2025-11-20 14:32:05"; "" otherwise.
std::string NormaliseTime(std::string_view text);

}  // namespace kd

class KingdeeFinance final : public sdk::Connector {
 public:
  KingdeeFinance(const sdk::Host& host, const sdk::Settings& settings);

  sdk::OutRequest BuildDelivery(const sdk::Delivery& d) override;
  sdk::Verdict JudgeDelivery(const sdk::Delivery& d, const sdk::Response& res) override;
  sdk::OutRequest BuildPoll(std::string_view cursor, std::string_view token) override;
  sdk::PollResult ParsePoll(std::string_view cursor, const sdk::Response& res) override;

  std::string ServicePath(std::string_view service) const;
  static const char* const kSettings[];

 private:
  sdk::OutRequest Post(std::string_view service, std::string body) const;
  // The "data" object to save (without "_chub"), after the status check. Throws sdk::Failure.
  std::string SaveData(std::string_view body) const;
  std::string NextOperation(std::string_view after) const;

  kd::App app_;
  std::map<std::string, std::string> refusals_;  // event id -> a refused Save's message, until verified
  std::string base_path_;
  std::string form_id_;
  std::vector<std::string> operations_;
  std::vector<std::string> statuses_;
  // Polling.
  std::string credit_form_id_;
  std::string customer_field_, name_field_, limit_field_, used_field_, currency_field_, area_field_;
  std::string modified_field_, id_field_, filter_, start_, utc_offset_;
  int64_t page_size_ = 500;
};

}  // namespace channelhub::connectors::finance
