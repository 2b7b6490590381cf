// Kingdee K/3 Cloud (金蝶云星空) WebAPI (protocols.md §4): Save / Submit / Audit deliveries and
// incremental ExecuteBillQuery polling, in two authentication modes sharing one implementation:
//
//   kingdee        every request signed with the app's headers (§4.2, 第三方系统登录授权)
//                  settings: url, app_id, app_secret, acct_id, user, lcid (2052), org_num (0)
//   kingdee_login  a session from AuthService.ValidateUser that the hub keeps as the token
//                  settings: url, acct_id, user, password, lcid (2052), session_ttl (1200 s)
//
// Outbound settings: form_id (SAL_SaleOrder, BD_Customer, ...), operations ("save", or e.g.
// "save,submit,audit"). Polling settings: query_form_id (default form_id), field_keys,
// modified_field (FModifyDate), filter, page_size (2000 at most), start ("yyyy-MM-dd HH:mm:ss").
#pragma once

#include <channelhub/plugin.hpp>

#include "connectors/common/kingdee_sign.hpp"
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace channelhub::connectors::erp {

namespace kingdee {

// "Kingdee.BOS.WebApi.ServicesStub." + service + ".common.kdsvc"
inline constexpr std::string_view kServicePrefix = "Kingdee.BOS.WebApi.ServicesStub.";
inline constexpr std::string_view kServiceSuffix = ".common.kdsvc";
inline constexpr std::string_view kSave = "DynamicFormService.Save";
inline constexpr std::string_view kSubmit = "DynamicFormService.Submit";
inline constexpr std::string_view kAudit = "DynamicFormService.Audit";
inline constexpr std::string_view kView = "DynamicFormService.View";
inline constexpr std::string_view kExecuteBillQuery = "DynamicFormService.ExecuteBillQuery";
inline constexpr std::string_view kValidateUser = "AuthService.ValidateUser";

// The signing (DecodeAppSecret, KdHmac, EncodePath, AppCredentials, SignatureHeaders) is shared
// with the finance connector: connectors/common/kingdee_sign.hpp.
using connectors::kingdee::AppCredentials;
using connectors::kingdee::DecodeAppSecret;
using connectors::kingdee::EncodePath;
using connectors::kingdee::KdHmac;
using connectors::kingdee::SignatureHeaders;

// The session the login mode keeps as its token.
struct Session {
  std::string session_id;  // kdservice-sessionid / KDSVCSessionId
  std::string cookie;      // the Cookie header: "kdservice-sessionid=...; ASP.NET_SessionId=..."
};
std::string PackSession(const Session& s);
// False when "token" is not a packed session.
bool UnpackSession(std::string_view token, Session* out);

// The poll cursor: rows with modified >= since, skipping the first start_row of them.
struct Cursor {
  std::string since;  // "yyyy-MM-dd HH:mm:ss"
  int64_t start_row = 0;
  std::string max_seen;  // the newest modified time seen so far ("" = none)
};
std::string FormatCursor(const Cursor& c);
// False when "text" is not a cursor this connector wrote.
bool ParseCursor(std::string_view text, Cursor* out);

// "2025-11-20T14:32:05.273" or "2025-11-20 14:32:05" -> "2025-11-20 14:32:05"; "" when the text
// is not such a time.
std::string NormaliseTime(std::string_view text);

}  // namespace kingdee

class KingdeeBase : public sdk::Connector {
 public:
  enum class Mode { kSigned, kLogin };

  KingdeeBase(const sdk::Host& host, const sdk::Settings& settings, Mode mode);

  sdk::OutRequest BuildDelivery(const sdk::Delivery& d) override;
  sdk::Verdict JudgeDelivery(const sdk::Delivery& d, const sdk::Response& res) override;
  sdk::OutRequest BuildPoll(std::string_view cursor, std::string_view token) override;
  sdk::PollResult ParsePoll(std::string_view cursor, const sdk::Response& res) override;

  // The path of a service under the configured url ("/k3cloud/Kingdee.BOS...Save.common.kdsvc").
  std::string ServicePath(std::string_view service) const;

 protected:
  sdk::OutRequest Post(std::string_view service, std::string body, std::string_view token) const;
  // A retried delivery whose bill carries its own number is looked up (View) before it is
  // saved again: after an ambiguous failure (a timeout after the Save went out) the bill may
  // exist, and saving it twice would book the order twice.
  static std::string BillNumberOf(std::string_view body);
  bool LooksUpFirst(const sdk::Delivery& d) const { return d.step.empty() && d.attempt > 1 && !BillNumberOf(d.body).empty(); }
  sdk::Verdict JudgeLookup(const sdk::Delivery& d, const sdk::Response& res) const;

  Mode mode_;
  std::string base_path_;  // the url's path, ending in '/'
  std::string lcid_;
  std::string acct_id_;
  std::string user_;
  // Signed mode.
  kingdee::AppCredentials app_;
  // Login mode.
  std::string password_;
  int64_t session_ttl_ms_ = 1200 * 1000;
  // Outbound.
  std::string form_id_;
  std::vector<std::string> operations_;  // "save", then "submit" / "audit"
  // Polling.
  std::string query_form_id_;
  std::vector<std::string> field_keys_;
  std::size_t modified_index_ = 0;
  std::string modified_field_;
  std::string filter_;
  int64_t page_size_ = 2000;
  std::string start_;
};

class Kingdee final : public KingdeeBase {
 public:
  Kingdee(const sdk::Host& host, const sdk::Settings& settings)
      : KingdeeBase(host, settings, Mode::kSigned) {}
  static const char* const kSettings[];
};

class KingdeeLogin final : public KingdeeBase {
 public:
  KingdeeLogin(const sdk::Host& host, const sdk::Settings& settings)
      : KingdeeBase(host, settings, Mode::kLogin) {}
  sdk::OutRequest BuildToken() override;
  sdk::Token ParseToken(const sdk::Response& res) override;
  static const char* const kSettings[];
};

}  // namespace channelhub::connectors::erp
