#include "tests/e2e/sim_finance.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace channelhub::e2e {

namespace {

std::string B64(const std::string& raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

std::string UnB64(const std::string& text) {
  std::string out(3 * text.size() / 4 + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return "";
  std::size_t len = static_cast<std::size_t>(n);
  if (!text.empty() && text.back() == '=') --len;
  if (text.size() > 1 && text[text.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

// Base64 of the lowercase hex HMAC-SHA256: Kingdee's signature encoding.
std::string KdSig(const std::string& key, const std::string& msg) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), d, &n);
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", d[i]);
    hex += buf;
  }
  return B64(hex);
}

std::string PathEncode(const std::string& path) {
  std::string out;
  char buf[4];
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string Json(const rapidjson::Value& v) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  v.Accept(w);
  return std::string(b.GetString(), b.GetSize());
}

std::string Ok(const std::string& number, int64_t id) {
  return R"({"Result":{"ResponseStatus":{"IsSuccess":true,"Errors":[],"SuccessEntitys":[{"Id":)" + std::to_string(id) +
         R"(,"Number":")" + number + R"(","DIndex":0}],"SuccessMessages":[],"MsgCode":0},"Id":)" + std::to_string(id) +
         R"(,"Number":")" + number + R"(","NeedReturnData":[{}]}})";
}

std::string Failed(const std::string& field, const std::string& message, int code = 11) {
  return R"({"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":")" + field +
         R"(","Message":")" + message + R"(","DIndex":0}],"SuccessEntitys":[],"SuccessMessages":[],"MsgCode":)" +
         std::to_string(code) + "}}}";
}

ScriptedReply Reply(std::string body) {
  ScriptedReply r;
  r.body = std::move(body);
  r.headers = {{"Content-Type", "application/json; charset=utf-8"}};
  return r;
}

}  // namespace

KingdeeFinanceSimulator::KingdeeFinanceSimulator(std::string app_id, std::string app_secret, std::string acct_id,
                                                 std::string user, std::string credit_form_id)
    : app_id_(std::move(app_id)), app_secret_(std::move(app_secret)), acct_id_(std::move(acct_id)),
      user_(std::move(user)), credit_form_id_(std::move(credit_form_id)) {}

void KingdeeFinanceSimulator::PutCredit(Credit c) {
  std::lock_guard<std::mutex> lock(mu_);
  for (Credit& x : credits_) {
    if (x.fid == c.fid) {
      x = std::move(c);
      return;
    }
  }
  credits_.push_back(std::move(c));
}

std::vector<KingdeeFinanceSimulator::Bill> KingdeeFinanceSimulator::Bills() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bills_;
}
int KingdeeFinanceSimulator::Queries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queries_;
}
int KingdeeFinanceSimulator::AuthFailures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return auth_failures_;
}
void KingdeeFinanceSimulator::FailNext(int n) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_next_ = n;
}
void KingdeeFinanceSimulator::RefuseNextSave(std::string field, std::string message) {
  std::lock_guard<std::mutex> lock(mu_);
  refusals_.emplace_back(std::move(field), std::move(message));
}

void KingdeeFinanceSimulator::LoseNextSaveAnswer() {
  std::lock_guard<std::mutex> lock(mu_);
  lose_next_save_ = true;
}
int KingdeeFinanceSimulator::RequestCount(const std::string& service) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counts_.find(service);
  return it == counts_.end() ? 0 : it->second;
}

std::string KingdeeFinanceSimulator::CheckSignature(const RecordedRequest& r) const {
  const std::size_t cut = app_id_.find('_');
  // The app's client secret: the AppID's second part, Base64-decoded, XORed with the SDK key,
  // Base64-encoded again.
  static const std::string kKey = "0054f397c6234378b09ca7d3e5debce7";
  std::string raw = UnB64(app_id_.substr(cut + 1));
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<char>(raw[i] ^ kKey[i % kKey.size()]);
  const std::string client_secret = B64(raw);
  const std::string ts = r.Header("x-api-timestamp").value_or("");
  const std::string nonce = r.Header("x-api-nonce").value_or("");
  const std::string path = r.target.substr(0, r.target.find('?'));
  if (r.Header("X-Api-ClientID").value_or("") != app_id_.substr(0, cut)) return "client id";
  if (ts.empty() || nonce.empty()) return "timestamp / nonce";
  if (r.Header("X-Api-Signature").value_or("") !=
      KdSig(client_secret, "POST\n" + PathEncode(path) + "\n\nx-api-nonce:" + nonce + "\nx-api-timestamp:" + ts + "\n")) {
    return "X-Api-Signature";
  }
  if (r.Header("X-Kd-Appkey").value_or("") != app_id_) return "app key";
  const std::string data = UnB64(r.Header("X-Kd-Appdata").value_or(""));
  if (data.rfind(acct_id_ + "," + user_ + ",", 0) != 0) return "app data " + data;
  if (r.Header("X-Kd-Signature").value_or("") != KdSig(app_secret_, app_id_ + data)) return "X-Kd-Signature";
  return "";
}

ScriptedReply KingdeeFinanceSimulator::Handle(const RecordedRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const char* name : {"Save", "View", "Submit", "Audit", "ExecuteBillQuery"}) {
    if (request.target.find(std::string(".DynamicFormService.") + name + ".common.kdsvc") != std::string::npos) ++counts_[name];
  }
  if (fail_next_ > 0) {
    --fail_next_;
    ScriptedReply r;
    r.status = 500;
    r.body = "Internal Server Error";
    return r;
  }
  if (!CheckSignature(request).empty()) {
    ++auth_failures_;
    return Reply(Failed("", "签名验证失败", 1));
  }
  const std::string& t = request.target;
  auto service = [&](const char* name) { return t.find(std::string(".DynamicFormService.") + name + ".common.kdsvc") != std::string::npos; };
  rapidjson::Document body;
  body.Parse(request.body.c_str());
  if (body.HasParseError() || !body.IsObject()) return Reply(Failed("", "请求内容不是 JSON"));
  if (service("ExecuteBillQuery")) return Query(request.body);

  const std::string form = body.HasMember("formid") && body["formid"].IsString() ? body["formid"].GetString() : "";
  if (!body.HasMember("data") || !body["data"].IsObject()) return Reply(Failed("", "data 不能为空"));
  const rapidjson::Value& data = body["data"];
  if (service("Save")) {
    if (!refusals_.empty()) {
      auto [field, message] = refusals_.front();
      refusals_.erase(refusals_.begin());
      return Reply(Failed(field, message));
    }
    if (!data.HasMember("Model") || !data["Model"].IsObject()) return Reply(Failed("", "Model 不能为空"));
    const rapidjson::Value& model = data["Model"];
    if (!model.HasMember("FCUSTOMERID") || !model["FCUSTOMERID"].IsObject()) return Reply(Failed("FCUSTOMERID", "客户 是必填项"));
    std::string number = model.HasMember("FBillNo") && model["FBillNo"].IsString() ? model["FBillNo"].GetString() : "";
    for (const Bill& b : bills_) {
      if (!number.empty() && b.number == number && b.form_id == form) return Reply(Failed("FBillNo", "单据编号 " + number + " 已存在"));
    }
    if (number.empty()) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "AR%08zu", bills_.size() + 1);
      number = buf;
    }
    bills_.push_back({number, form, "A", Json(data)});
    ScriptedReply saved = Reply(Ok(number, 100000 + static_cast<int64_t>(bills_.size())));
    if (lose_next_save_) {
      lose_next_save_ = false;
      saved.hang_up = true;
    }
    return saved;
  }
  if (service("View")) {
    const std::string number = data.HasMember("Number") && data["Number"].IsString() ? data["Number"].GetString() : "";
    for (const Bill& b : bills_) {
      if (b.number == number && b.form_id == form) {
        return Reply(R"({"Result":{"ResponseStatus":{"IsSuccess":true},"Result":{"Number":")" + number +
                     R"(","DocumentStatus":")" + b.status + R"("}}})");
      }
    }
    return Reply(Failed("", "单据不存在", 0));
  }
  const bool submit = service("Submit");
  if (submit || service("Audit")) {
    if (!data.HasMember("Numbers") || !data["Numbers"].IsArray() || data["Numbers"].Empty()) return Reply(Failed("", "Numbers 不能为空"));
    const std::string number = data["Numbers"][0].IsString() ? data["Numbers"][0].GetString() : "";
    for (Bill& b : bills_) {
      if (b.number != number || b.form_id != form) continue;
      if (submit && b.status != "A") return Reply(Failed("", "单据已提交"));
      if (!submit && b.status != "B") return Reply(Failed("", "单据不是审核中状态"));
      b.status = submit ? "B" : "C";
      return Reply(Ok(number, 1));
    }
    return Reply(Failed("", "单据 " + number + " 不存在"));
  }
  return Reply(Failed("", "不支持的服务"));
}

ScriptedReply KingdeeFinanceSimulator::Query(const std::string& text) {
  ++queries_;
  rapidjson::Document q;
  q.Parse(text.c_str());
  const rapidjson::Value* d = q.HasMember("data") && q["data"].IsObject() ? &q["data"] : nullptr;
  auto str = [&](const char* k) { return d && d->HasMember(k) && (*d)[k].IsString() ? std::string((*d)[k].GetString()) : ""; };
  auto num = [&](const char* k) { return d && d->HasMember(k) && (*d)[k].IsInt64() ? (*d)[k].GetInt64() : -1; };
  auto error = [](const std::string& field, const std::string& message) {
    return Reply("[[" + Failed(field, message) + "]]");
  };
  if (str("FormId") != credit_form_id_) return error("FormId", "表单 " + str("FormId") + " 不存在");
  const std::string filter = str("FilterString");
  const std::string prefix = "FModifyDate >= '";
  if (filter.rfind(prefix, 0) != 0 || filter.size() < prefix.size() + 20) return error("FilterString", "过滤条件不正确");
  const std::string since = filter.substr(prefix.size(), 19);
  if (str("OrderString").rfind("FModifyDate ASC", 0) != 0) return error("OrderString", "排序不正确");
  const int64_t start = num("StartRow"), limit = num("Limit");
  if (start < 0 || limit <= 0 || limit > 2000) return error("", "StartRow / Limit 不正确");
  std::vector<std::string> keys;
  std::string fk = str("FieldKeys");
  for (std::size_t at = 0; at <= fk.size();) {
    std::size_t comma = fk.find(',', at);
    if (comma == std::string::npos) comma = fk.size();
    keys.push_back(fk.substr(at, comma - at));
    at = comma + 1;
  }
  std::vector<Credit> rows;
  for (const Credit& c : credits_) {
    if (c.modified >= since) rows.push_back(c);
  }
  std::sort(rows.begin(), rows.end(), [](const Credit& a, const Credit& b) {
    return a.modified != b.modified ? a.modified < b.modified : a.fid < b.fid;
  });
  std::string out = "[";
  int64_t written = 0;
  for (std::size_t i = static_cast<std::size_t>(start); i < rows.size() && written < limit; ++i, ++written) {
    const Credit& c = rows[i];
    std::string row = "[";
    for (std::size_t k = 0; k < keys.size(); ++k) {
      std::string v;
      char buf[64];
      if (keys[k] == "FCustomerID.FNumber") v = "\"" + c.customer + "\"";
      else if (keys[k] == "FCustomerID.FName") v = "\"" + c.name + "\"";
      else if (keys[k] == "FModifyDate") v = "\"" + c.modified.substr(0, 10) + "T" + c.modified.substr(11) + ".153\"";
      else if (keys[k] == "FCreditAmount") { std::snprintf(buf, sizeof buf, "%.2f", c.limit); v = buf; }
      else if (keys[k] == "FUsedAmount") { std::snprintf(buf, sizeof buf, "%.2f", c.used); v = buf; }
      else if (keys[k] == "FCurrencyID.FNumber") v = "\"" + c.currency + "\"";
      else if (keys[k] == "FID") v = std::to_string(c.fid);
      else return error(keys[k], "字段 " + keys[k] + " 不存在");
      row += (k ? "," : "") + v;
    }
    out += (written ? "," : "") + row + "]";
  }
  return Reply(out + "]");
}

}  // namespace channelhub::e2e
