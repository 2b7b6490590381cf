// WeCom (企业微信) connectors (protocols.md §1):
//
//   wecom           the callback URL of a self-built app with 客户联系 enabled: the URL
//                   verification (GET), encrypted event callbacks (POST; the envelope in XML or
//                   the JSON flavour, the decrypted message in XML), external-contact change
//                   events journaled with a stable id, and the access token (gettoken). The
//                   receiveid must be corp_id (self-built apps; not suite or smart-bot callbacks).
//                   settings: token, encoding_aes_key, corp_id, secret, api_url
//   wecom_contacts  a full sync of the customers of the configured members: pages of
//                   externalcontact/batch/get_by_user give the customers' ids, then one
//                   externalcontact/get per customer gives the document journaled (kind
//                   "externalcontact.get", the input of mappings/wecom/external_contact.to_canon.yaml:
//                   name, unionid, every follow user with tags and remark mobiles). The event id
//                   is the customer plus a hash of the answer, so a re-sync journals only what
//                   changed. The hub keeps the token (gettoken) and renews it on WeCom's
//                   token-expired codes; a customer gone meanwhile (84061) is skipped.
//                   settings: corp_id, secret, userids (comma-separated), api_url, page_size
//
// The callback payload (kind "external_contact.<ChangeType>" for Event change_external_contact,
// "event.<Event>" for other events, "message.<MsgType>" for messages) is a JSON object of the
// decrypted XML's elements under their WeCom names (ToUserName, CreateTime as a number,
// ChangeType, UserID, ExternalUserID, State, WelcomeCode, Source, FailReason, ...), plus
//   "churn": for del_external_contact and del_follow_user, whether the relationship was ended by
//            a person (true) or by an in-service transfer (false: Source DELETE_BY_TRANSFER);
//            absent for every other change type (transfer_fail keeps the customer with its
//            member: no churn either).
#pragma once

#include <channelhub/plugin.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/wecom/wecom_crypto.hpp"

namespace channelhub::connectors::wecom {

inline constexpr std::string_view kDefaultApiUrl = "https://qyapi.weixin.qq.com";
inline constexpr std::string_view kDeleteByTransfer = "DELETE_BY_TRANSFER";
// externalcontact/get errcodes for a customer that is gone: "not external contact", "invalid
// external_userid".
inline constexpr int64_t kNotExternalContact = 84061;
inline constexpr int64_t kInvalidExternalUserId = 40096;

// A decrypted callback message.
struct CallbackMessage {
  // The top-level elements with text content, in document order (first of each name).
  std::vector<std::pair<std::string, std::string>> fields;
  std::string kind;      // "external_contact.add_external_contact", "event.click", "message.text"
  std::string event_id;  // stable across WeCom's redeliveries
  std::string json;      // the payload to journal

  // The text of a field, "" when absent.
  std::string Get(std::string_view name) const;
};

// Parses the decrypted XML of a callback. False (with "error") when it is not a WeCom message
// (not XML, no MsgType, a change_external_contact event without ChangeType, ...).
bool ParseCallback(std::string_view xml, CallbackMessage* out, std::string* error);

// The redelivery-stable id of a message: a hash of (ToUserName, CreateTime, ChangeType,
// ExternalUserID, UserID) for external-contact changes, of (ToUserName, MsgId) for messages with
// a MsgId, of (ToUserName, FromUserName, CreateTime, Event, every other field) otherwise.
std::string EventIdOf(const CallbackMessage& m);

// The churn judgement of an external-contact change: nullopt when the change type ends no
// relationship.
std::optional<bool> ChurnOf(std::string_view change_type, std::string_view source);

// ---- The WeCom server API ----
namespace api {

// "https://qyapi.weixin.qq.com/" -> "https://qyapi.weixin.qq.com"; throws sdk::Failure when it
// is not an http(s) URL.
std::string NormaliseApiUrl(std::string_view url);

// GET {api_url}/cgi-bin/gettoken?corpid=...&corpsecret=...
sdk::OutRequest GetTokenRequest(std::string_view api_url, std::string_view corp_id,
                                std::string_view secret);
// errcode 0 -> access_token, expires_in (seconds, 7200 when absent) in ms; throws sdk::Failure
// with WeCom's errcode and errmsg otherwise.
sdk::Token ParseTokenResponse(const sdk::Response& res);

// The errcodes that mean the access token is not (or no longer) valid: 40001 invalid
// credential, 40014 invalid access_token, 42001 access_token expired, 42007/42009 token
// invalidated by a secret or permission change.
bool IsTokenExpiredCode(int64_t errcode);
// The errcodes worth a retry: -1 system busy, 45009/45033 call-rate limits, 45011 too frequent.
bool IsTransientCode(int64_t errcode);

// GET {api_url}/cgi-bin/externalcontact/get?access_token=...&external_userid=...[&cursor=...]
sdk::OutRequest ExternalContactGetRequest(std::string_view api_url, std::string_view token,
                                          std::string_view external_userid,
                                          std::string_view cursor = {});

// What an API answer means: Done (errcode 0), TokenExpired, Retry (HTTP 429/5xx, busy codes,
// a body that is not JSON) or Permanent ("errcode N: errmsg"). "errcode" receives the code when
// the body had one.
sdk::Verdict JudgeApiResponse(const sdk::Response& res, int64_t* errcode = nullptr);

// An externalcontact/get answer checked and normalised: the JSON document to journal (with
// external_contact and follow_user), the contact's external_userid, and next_cursor. Throws
// sdk::Failure when errcode is not 0 or external_contact.external_userid is missing.
struct ContactDocument {
  std::string external_userid;
  std::string json;
  std::string next_cursor;
};
ContactDocument ParseExternalContact(std::string_view body);

// POST {api_url}/cgi-bin/externalcontact/batch/get_by_user?access_token=...
sdk::OutRequest BatchGetByUserRequest(std::string_view api_url, std::string_view token,
                                      const std::vector<std::string>& userids,
                                      std::string_view cursor, int limit);
// The external_userids of a page (each once, in order) and next_cursor. Throws sdk::Failure
// when errcode is not 0.
struct BatchPage {
  std::vector<std::string> external_userids;
  std::string next_cursor;
};
BatchPage ParseBatchGetByUser(std::string_view body);

// The wecom_contacts poll cursor: the batch/get_by_user cursor of the next page, and the
// customers of the current page still to fetch with externalcontact/get.
struct SyncCursor {
  std::string page;
  std::vector<std::string> queue;
};
std::string FormatSyncCursor(const SyncCursor& c);
// False when "text" is not a cursor FormatSyncCursor wrote ("" is the start: true, empty).
bool ParseSyncCursor(std::string_view text, SyncCursor* out);

}  // namespace api

class Wecom final : public sdk::Connector {
 public:
  Wecom(const sdk::Host& host, const sdk::Settings& settings);

  sdk::InboundResult Inbound(const sdk::Request& req) override;
  sdk::OutRequest BuildToken() override;
  sdk::Token ParseToken(const sdk::Response& res) override;

  const MsgCrypt& crypt() const { return crypt_; }
  static const char* const kSettings[];

 private:
  sdk::InboundResult Verify(const sdk::Request& req);
  sdk::InboundResult Callback(const sdk::Request& req);

  MsgCrypt crypt_;
  std::string corp_id_;
  std::string secret_;
  std::string api_url_;
};

class WecomContacts final : public sdk::Connector {
 public:
  WecomContacts(const sdk::Host& host, const sdk::Settings& settings);

  sdk::OutRequest BuildPoll(std::string_view cursor, std::string_view token) override;
  sdk::PollResult ParsePoll(std::string_view cursor, const sdk::Response& res) override;
  sdk::OutRequest BuildToken() override;
  sdk::Token ParseToken(const sdk::Response& res) override;

  static const char* const kSettings[];

 private:
  std::string corp_id_;
  std::string secret_;
  std::string api_url_;
  std::vector<std::string> userids_;
  int page_size_ = 100;
};

}  // namespace channelhub::connectors::wecom
