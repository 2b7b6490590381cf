// A Kingdee K/3 Cloud finance simulator for end-to-end tests of connectors/finance, on its own
// (OpenSSL and RapidJSON directly): every request must carry Kingdee's signed app headers for the
// configured app, account and user; it serves Save / Submit / Audit / View of receivables
// (AR_receivable, numbered AR00000001 ...) with Kingdee's answer shapes, and ExecuteBillQuery
// over a credit-limit form the test fills (filter "<modified> >= '...'", order by the
// modification time then FID, StartRow + Limit paging, columns as FieldKeys asks). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "tests/e2e/harness.hpp"

namespace channelhub::e2e {

class KingdeeFinanceSimulator {
 public:
  KingdeeFinanceSimulator(std::string app_id, std::string app_secret, std::string acct_id, std::string user,
                          std::string credit_form_id);

  struct Credit {
    int64_t fid = 0;
    std::string customer;  // FCustomerID.FNumber
    std::string name;      // FCustomerID.FName
    std::string modified;  // FModifyDate, "yyyy-MM-dd HH:mm:ss"
    double limit = 0;      // FCreditAmount
    double used = 0;       // FUsedAmount
    std::string currency = "PRE001";
  };
  // Adds or replaces (by fid) a credit row.
  void PutCredit(Credit c);

  struct Bill {
    std::string number;
    std::string form_id;
    std::string status;  // A saved, B submitted, C audited
    std::string data;    // the Save "data" as received
  };
  std::vector<Bill> Bills() const;
  int Queries() const;
  int AuthFailures() const;
  void FailNext(int n);  // HTTP 500
  void RefuseNextSave(std::string field, std::string message);
  // The next Save is carried out but its answer is lost (the connection is dropped): the
  // ambiguous failure after which a retry must not book the receivable twice.
  void LoseNextSaveAnswer();
  // Requests per service ("Save", "View", "Submit", "Audit", "ExecuteBillQuery").
  int RequestCount(const std::string& service) const;

  ScriptedReply Handle(const RecordedRequest& request);

 private:
  std::string CheckSignature(const RecordedRequest& request) const;  // "" when valid
  ScriptedReply Query(const std::string& body);

  std::string app_id_, app_secret_, acct_id_, user_, credit_form_id_;
  mutable std::mutex mu_;
  std::vector<Credit> credits_;
  std::vector<Bill> bills_;
  int queries_ = 0;
  int auth_failures_ = 0;
  int fail_next_ = 0;
  bool lose_next_save_ = false;
  std::map<std::string, int> counts_;
  std::vector<std::pair<std::string, std::string>> refusals_;
};

}  // namespace channelhub::e2e
