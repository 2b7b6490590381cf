// Simulators of the ERP systems for end-to-end tests of the real hub binary: plug Handle() into
// FakeHttpServer::SetHandler. They implement the systems' side of the protocols on their own
// (OpenSSL directly, RapidJSON), sharing no code with the connectors they test.
//
//   KingdeeSimulator  K/3 Cloud WebAPI: signature-header or ValidateUser-session authentication,
//                     Save / Submit / Audit with Kingdee's answer shapes, ExecuteBillQuery over
//                     the bills the test adds or saves.
//   SapIdocReceiver   an SAP XML-IDoc HTTP port: optional Basic auth, records the IDocs.
//
// Both are thread-safe: Handle() runs on the server's threads, the accessors on the test's.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tests/e2e/harness.hpp"

namespace channelhub::e2e {

class KingdeeSimulator {
 public:
  struct Bill {
    std::string form_id;   // "SAL_SaleOrder"
    int64_t fid = 0;       // FID
    std::string number;    // FBillNo / FNumber, e.g. "XSDD000001"
    std::string modified;  // FModifyDate, "yyyy-MM-dd HH:mm:ss"
    std::string customer;  // FCustId.FNumber
    std::string status;    // FDocumentStatus: A created, B submitted, C audited
    std::string data;      // the Save "data" object as received ("" for AddBill)
  };
  struct SaveError {
    std::string field;  // FieldName ("" for none)
    std::string message;
  };

  // Accepts every request until UseSignature() or UseLogin() says how to authenticate.
  KingdeeSimulator() = default;

  // Signature-header mode (第三方系统登录授权): every request must be signed for this app, and
  // X-Kd-Appdata must name this account and user.
  void UseSignature(std::string app_id, std::string app_secret, std::string acct_id,
                    std::string user);
  // Session mode: ValidateUser with these credentials opens a session (cookies
  // kdservice-sessionid and ASP.NET_SessionId, KDSVCSessionId in the body). A session serves
  // "requests_per_session" requests (0 = unlimited), then is lost.
  void UseLogin(std::string acct_id, std::string user, std::string password,
                int requests_per_session = 0);
  // Every open session is lost ("会话信息已丢失，请重新登录" on its next use).
  void ExpireSessions();

  // The next Save fails with these errors (Kingdee's failure shape, MsgCode "msg_code").
  void RejectNextSave(std::vector<SaveError> errors, int msg_code = 11);
  // The next "n" requests (any service, before authentication) get HTTP 500.
  void FailNext(int n);
  // The next Save is carried out, but its answer never arrives (the connection is dropped):
  // the ambiguous failure after which a retry must not book the bill twice.
  void LoseNextSaveAnswer();
  // A bill for ExecuteBillQuery. modified: "yyyy-MM-dd HH:mm:ss".
  void AddBill(int64_t fid, std::string number, std::string modified, std::string customer,
               std::string form_id = "SAL_SaleOrder", std::string status = "C");
  // The FModifyDate that saves, submits and audits stamp ("yyyy-MM-dd HH:mm:ss"); by default
  // the UTC wall clock.
  void SetClock(std::string now);

  ScriptedReply Handle(const RecordedRequest& request);

  // Bills created by Save, in order (as they are now: status and modified time included).
  std::vector<Bill> SavedBills() const;
  // Every bill, added or saved.
  std::vector<Bill> Bills() const;
  std::vector<std::string> SubmittedNumbers() const;
  // Numbers audited successfully, in order (a refused second audit is not listed).
  std::vector<std::string> AuditedNumbers() const;
  // Requests per service, by its last name part: "Save", "Submit", "Audit", "ExecuteBillQuery",
  // "ValidateUser" (counted before authentication and FailNext).
  int RequestCount(std::string_view service) const;
  // Requests refused for a bad signature or a missing / lost session, and why.
  int AuthFailures() const;
  std::vector<std::string> AuthErrors() const;
  int Logins() const;

 private:
  enum class Auth { kNone, kSignature, kLogin };
  struct Answer {
    int status = 200;
    std::string body;
    Headers headers;
  };

  std::string Now() const;
  // Empty when the request is authenticated, else why not.
  std::string CheckSignature(const RecordedRequest& request, std::string_view path) const;
  std::string CheckSession(const RecordedRequest& request);
  Answer ValidateUser(const std::string& body);
  Answer Save(const std::string& body);
  Answer SubmitOrAudit(const std::string& body, bool audit);
  Answer Query(const std::string& body);
  Answer View(const std::string& body);
  Bill* Find(std::string_view form_id, std::string_view number);

  mutable std::mutex mu_;
  Auth auth_ = Auth::kNone;
  std::string app_id_, app_secret_, acct_id_, user_, password_;
  int requests_per_session_ = 0;
  std::map<std::string, int> sessions_;  // session id -> requests left (-1: unlimited)
  int session_seq_ = 0;
  int logins_ = 0;
  std::vector<SaveError> reject_next_save_;
  int reject_msg_code_ = 11;
  int fail_next_ = 0;
  bool lose_next_save_answer_ = false;
  std::string clock_;
  std::vector<Bill> bills_;
  std::vector<std::size_t> saved_;  // indexes into bills_
  int64_t next_fid_ = 100001;
  std::map<std::string, int> number_seq_;  // form -> last number
  std::vector<std::string> submitted_, audited_;
  std::map<std::string, int> counts_;
  std::vector<std::string> auth_errors_;
};

class SapIdocReceiver {
 public:
  struct Received {
    std::string target;  // with the query (?sap-client=...)
    std::string content_type;
    std::string body;  // the IDoc XML
  };

  // Requests must then carry "Authorization: Basic base64(user:password)" (else 401).
  void RequireBasicAuth(std::string user, std::string password);
  // The next "n" requests get HTTP 503.
  void FailNext(int n);

  ScriptedReply Handle(const RecordedRequest& request);

  // The accepted IDoc documents, in order.
  std::vector<std::string> Documents() const;
  std::vector<Received> Deliveries() const;
  int AuthFailures() const;

 private:
  mutable std::mutex mu_;
  std::string user_, password_;
  bool auth_ = false;
  int fail_next_ = 0;
  bool lose_next_save_answer_ = false;
  int auth_failures_ = 0;
  std::vector<Received> received_;
};

}  // namespace channelhub::e2e
