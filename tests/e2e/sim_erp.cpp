#include "tests/e2e/sim_erp.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <optional>

namespace channelhub::e2e {

namespace {

// ---- Encodings, independent of the connectors' helpers ----

std::string B64(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> UnB64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::string Hex(std::string_view raw) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// Kingdee's KD_HMAC: Base64 of the lowercase hex of HMAC-SHA256.
std::string KdSign(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  return B64(Hex(std::string_view(reinterpret_cast<const char*>(mac), len)));
}

std::string PercentEncodeAll(std::string_view s) {
  static const char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 15]);
    }
  }
  return out;
}

bool SameText(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

std::string TrimCopy(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::string Quote(std::string_view s) { return "\"" + JsonEscape(s) + "\""; }

ScriptedReply Reply(int status, std::string body) {
  ScriptedReply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// ---- Kingdee answer shapes ----

std::string FailureJson(const std::vector<KingdeeSimulator::SaveError>& errors, int msg_code) {
  std::string e;
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (i) e += ",";
    e += "{\"FieldName\":" +
         (errors[i].field.empty() ? std::string("null") : Quote(errors[i].field)) +
         ",\"Message\":" + Quote(errors[i].message) + ",\"DIndex\":0}";
  }
  return "{\"Result\":{\"ResponseStatus\":{\"ErrorCode\":500,\"IsSuccess\":false,\"Errors\":[" + e +
         "],\"SuccessEntitys\":[],\"SuccessMessages\":[],\"MsgCode\":" + std::to_string(msg_code) +
         "}}}";
}

const char kSessionLostMessage[] = "会话信息已丢失，请重新登录";

std::string NormaliseTime(std::string_view t) {
  std::string s = TrimCopy(t);
  if (s.size() < 19) return {};
  s = s.substr(0, 19);
  if (s[10] == 'T') s[10] = ' ';
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u, 11u, 12u, 14u, 15u, 17u, 18u}) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return {};
  }
  if (s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':') return {};
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A filter condition of ExecuteBillQuery: <field> <op> '<value>' (or a bare number).
struct Condition {
  std::string field;  // lowercase
  std::string op;
  std::string value;
};

// Parses "A >= 'x' AND (B = 'y')": conditions joined by AND, each optionally in parentheses.
std::optional<std::vector<Condition>> ParseFilter(std::string_view filter) {
  std::vector<Condition> out;
  std::string f = TrimCopy(filter);
  std::size_t pos = 0;
  while (pos < f.size()) {
    while (pos < f.size() && std::isspace(static_cast<unsigned char>(f[pos]))) ++pos;
    int parens = 0;
    while (pos < f.size() && f[pos] == '(') {
      ++parens;
      ++pos;
      while (pos < f.size() && std::isspace(static_cast<unsigned char>(f[pos]))) ++pos;
    }
    std::size_t start = pos;
    while (pos < f.size() &&
           (std::isalnum(static_cast<unsigned char>(f[pos])) || f[pos] == '.' || f[pos] == '_'))
      ++pos;
    Condition c;
    c.field = Lower(std::string_view(f).substr(start, pos - start));
    while (pos < f.size() && f[pos] == ' ') ++pos;
    std::size_t op_start = pos;
    while (pos < f.size() && (f[pos] == '>' || f[pos] == '<' || f[pos] == '=')) ++pos;
    c.op = f.substr(op_start, pos - op_start);
    while (pos < f.size() && f[pos] == ' ') ++pos;
    if (c.field.empty() || (c.op != ">=" && c.op != ">" && c.op != "<=" && c.op != "<" &&
                            c.op != "=" && c.op != "<>")) {
      return std::nullopt;
    }
    if (pos < f.size() && f[pos] == '\'') {
      std::size_t close = f.find('\'', pos + 1);
      if (close == std::string::npos) return std::nullopt;
      c.value = f.substr(pos + 1, close - pos - 1);
      pos = close + 1;
    } else {
      std::size_t v = pos;
      while (pos < f.size() && (std::isdigit(static_cast<unsigned char>(f[pos])) || f[pos] == '-'))
        ++pos;
      if (v == pos) return std::nullopt;
      c.value = f.substr(v, pos - v);
    }
    for (; parens > 0; --parens) {
      while (pos < f.size() && f[pos] == ' ') ++pos;
      if (pos >= f.size() || f[pos] != ')') return std::nullopt;
      ++pos;
    }
    out.push_back(std::move(c));
    while (pos < f.size() && f[pos] == ' ') ++pos;
    if (pos >= f.size()) break;
    if (!SameText(std::string_view(f).substr(pos, 3), "AND") || pos + 3 >= f.size() ||
        f[pos + 3] != ' ') {
      return std::nullopt;
    }
    pos += 4;
  }
  return out;
}

const rapidjson::Value* Get(const rapidjson::Value& v, const char* name) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(name);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

std::string Text(const rapidjson::Value* v) {
  if (!v) return {};
  if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  if (v->IsInt64()) return std::to_string(v->GetInt64());
  return {};
}

std::string Serialise(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// KingdeeSimulator

void KingdeeSimulator::UseSignature(std::string app_id, std::string app_secret, std::string acct_id,
                                    std::string user) {
  std::lock_guard<std::mutex> lock(mu_);
  auth_ = Auth::kSignature;
  app_id_ = std::move(app_id);
  app_secret_ = std::move(app_secret);
  acct_id_ = std::move(acct_id);
  user_ = std::move(user);
}

void KingdeeSimulator::UseLogin(std::string acct_id, std::string user, std::string password,
                                int requests_per_session) {
  std::lock_guard<std::mutex> lock(mu_);
  auth_ = Auth::kLogin;
  acct_id_ = std::move(acct_id);
  user_ = std::move(user);
  password_ = std::move(password);
  requests_per_session_ = requests_per_session;
}

void KingdeeSimulator::ExpireSessions() {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.clear();
}

void KingdeeSimulator::RejectNextSave(std::vector<SaveError> errors, int msg_code) {
  std::lock_guard<std::mutex> lock(mu_);
  reject_next_save_ = std::move(errors);
  if (reject_next_save_.empty()) reject_next_save_.push_back({"", "保存失败"});
  reject_msg_code_ = msg_code;
}

void KingdeeSimulator::FailNext(int n) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_next_ = n;
}

void KingdeeSimulator::AddBill(int64_t fid, std::string number, std::string modified,
                               std::string customer, std::string form_id, std::string status) {
  std::lock_guard<std::mutex> lock(mu_);
  Bill b;
  b.form_id = std::move(form_id);
  b.fid = fid;
  b.number = std::move(number);
  std::string when = NormaliseTime(modified);
  b.modified = when.empty() ? modified : when;
  b.customer = std::move(customer);
  b.status = std::move(status);
  bills_.push_back(std::move(b));
  next_fid_ = std::max(next_fid_, fid + 1);
}

void KingdeeSimulator::SetClock(std::string now) {
  std::lock_guard<std::mutex> lock(mu_);
  clock_ = std::move(now);
}

std::string KingdeeSimulator::Now() const {
  if (!clock_.empty()) return clock_;
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::vector<KingdeeSimulator::Bill> KingdeeSimulator::SavedBills() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Bill> out;
  for (std::size_t i : saved_) out.push_back(bills_[i]);
  return out;
}

std::vector<KingdeeSimulator::Bill> KingdeeSimulator::Bills() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bills_;
}

std::vector<std::string> KingdeeSimulator::SubmittedNumbers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return submitted_;
}

std::vector<std::string> KingdeeSimulator::AuditedNumbers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return audited_;
}

int KingdeeSimulator::RequestCount(std::string_view service) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counts_.find(std::string(service));
  return it == counts_.end() ? 0 : it->second;
}

int KingdeeSimulator::AuthFailures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(auth_errors_.size());
}

std::vector<std::string> KingdeeSimulator::AuthErrors() const {
  std::lock_guard<std::mutex> lock(mu_);
  return auth_errors_;
}

int KingdeeSimulator::Logins() const {
  std::lock_guard<std::mutex> lock(mu_);
  return logins_;
}

KingdeeSimulator::Bill* KingdeeSimulator::Find(std::string_view form_id, std::string_view number) {
  for (Bill& b : bills_) {
    if (SameText(b.form_id, form_id) && b.number == number) return &b;
  }
  return nullptr;
}

std::string KingdeeSimulator::CheckSignature(const RecordedRequest& r,
                                             std::string_view path) const {
  const char* required[] = {"X-Api-ClientID", "X-Api-Auth-Version", "x-api-timestamp",
                            "x-api-nonce",    "x-api-signheaders",  "X-Api-Signature",
                            "X-Kd-Appkey",    "X-Kd-Appdata",       "X-Kd-Signature"};
  for (const char* h : required) {
    if (!r.Header(h)) return std::string("missing header ") + h;
  }
  std::size_t cut = app_id_.find('_');
  if (cut == std::string::npos) return "simulator misconfigured: app id without '_'";
  if (*r.Header("X-Kd-Appkey") != app_id_) return "unknown app " + *r.Header("X-Kd-Appkey");
  if (*r.Header("X-Api-ClientID") != app_id_.substr(0, cut))
    return "X-Api-ClientID does not match the app";
  if (*r.Header("X-Api-Auth-Version") != "2.0") return "X-Api-Auth-Version is not 2.0";
  if (!SameText(*r.Header("x-api-signheaders"), "x-api-timestamp,x-api-nonce"))
    return "unexpected x-api-signheaders";

  std::optional<std::string> mixed = UnB64(app_id_.substr(cut + 1));
  if (!mixed) return "simulator misconfigured: app id secret part is not Base64";
  static const char kMask[] = "0054f397c6234378b09ca7d3e5debce7";
  for (std::size_t i = 0; i < mixed->size(); ++i)
    (*mixed)[i] = static_cast<char>((*mixed)[i] ^ kMask[i % 32]);
  std::string client_secret = B64(*mixed);

  std::string ts = *r.Header("x-api-timestamp");
  std::string nonce = *r.Header("x-api-nonce");
  std::string signed_text = "POST\n" + PercentEncodeAll(path) + "\n\nx-api-nonce:" + nonce +
                            "\nx-api-timestamp:" + ts + "\n";
  if (*r.Header("X-Api-Signature") != KdSign(client_secret, signed_text))
    return "X-Api-Signature does not verify";

  std::optional<std::string> app_data = UnB64(*r.Header("X-Kd-Appdata"));
  if (!app_data) return "X-Kd-Appdata is not Base64";
  if (*r.Header("X-Kd-Signature") != KdSign(app_secret_, app_id_ + *app_data))
    return "X-Kd-Signature does not verify";
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = app_data->find(',', start);
    parts.push_back(
        app_data->substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (parts.size() != 4) return "X-Kd-Appdata is not acct,user,lcid,org";
  if (parts[0] != acct_id_) return "X-Kd-Appdata names account " + parts[0];
  if (parts[1] != user_) return "X-Kd-Appdata names user " + parts[1];
  return {};
}

std::string KingdeeSimulator::CheckSession(const RecordedRequest& r) {
  std::string sid;
  if (auto cookie = r.Header("Cookie")) {
    std::string_view c = *cookie;
    while (!c.empty()) {
      std::size_t semi = c.find(';');
      std::string pair = TrimCopy(c.substr(0, semi));
      if (pair.rfind("kdservice-sessionid=", 0) == 0) sid = pair.substr(20);
      c = semi == std::string_view::npos ? std::string_view() : c.substr(semi + 1);
    }
  }
  if (sid.empty()) {
    if (auto h = r.Header("kdservice-sessionid")) sid = *h;
  }
  if (sid.empty()) return "no session cookie";
  auto it = sessions_.find(sid);
  if (it == sessions_.end()) return "session " + sid + " is unknown or expired";
  if (it->second > 0 && --it->second == 0) sessions_.erase(it);  // its last request
  return {};
}

ScriptedReply KingdeeSimulator::Handle(const RecordedRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string path = request.target.substr(0, request.target.find('?'));
  std::string_view name = std::string_view(path).substr(path.rfind('/') + 1);
  static constexpr std::string_view kSuffix = ".common.kdsvc";
  if (name.size() <= kSuffix.size() || name.substr(name.size() - kSuffix.size()) != kSuffix) {
    return Reply(404, "<html><body>Not Found</body></html>");
  }
  name.remove_suffix(kSuffix.size());
  std::string service(name.substr(name.rfind('.') + 1));
  ++counts_[service];
  if (fail_next_ > 0) {
    --fail_next_;
    return Reply(500, "<html><body>Internal Server Error</body></html>");
  }
  if (request.method != "POST") return Reply(405, "Method Not Allowed");

  Answer a;
  if (service == "ValidateUser") {
    a = ValidateUser(request.body);
  } else {
    std::string why;
    if (auth_ == Auth::kSignature) why = CheckSignature(request, path);
    if (auth_ == Auth::kLogin) why = CheckSession(request);
    if (!why.empty()) {
      auth_errors_.push_back(service + ": " + why);
      std::string lost = FailureJson({{"", kSessionLostMessage}}, 1);
      return Reply(200, service == "ExecuteBillQuery" ? "[[" + lost + "]]" : lost);
    }
    if (service == "Save") {
      a = Save(request.body);
      if (lose_next_save_answer_) {
        lose_next_save_answer_ = false;
        ScriptedReply lost;
        lost.hang_up = true;  // saved, but the caller never hears it
        return lost;
      }
    } else if (service == "View") {
      a = View(request.body);
    } else if (service == "Submit") {
      a = SubmitOrAudit(request.body, false);
    } else if (service == "Audit") {
      a = SubmitOrAudit(request.body, true);
    } else if (service == "ExecuteBillQuery") {
      a = Query(request.body);
    } else {
      a.body = FailureJson({{"", "服务 " + service + " 未在模拟器中实现"}}, 4);
    }
  }
  ScriptedReply reply;
  reply.status = a.status;
  reply.body = std::move(a.body);
  reply.headers = std::move(a.headers);
  reply.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  return reply;
}

KingdeeSimulator::Answer KingdeeSimulator::ValidateUser(const std::string& body) {
  Answer a;
  rapidjson::Document d;
  d.Parse(body.c_str());
  std::string acct, user, password, lcid;
  if (!d.HasParseError() && d.IsObject()) {
    if (const auto* params = Get(d, "parameters");
        params && params->IsArray() && params->Size() >= 4) {
      acct = Text(&(*params)[0]);
      user = Text(&(*params)[1]);
      password = Text(&(*params)[2]);
      lcid = Text(&(*params)[3]);
    } else {
      acct = Text(Get(d, "acctID"));
      user = Text(Get(d, "username"));
      password = Text(Get(d, "password"));
      lcid = Text(Get(d, "lcid"));
    }
  }
  if (auth_ != Auth::kLogin || acct != acct_id_ || user != user_ || password != password_ ||
      lcid.empty()) {
    std::string message = acct != acct_id_ ? "数据中心不存在" : "用户名或密码错误！";
    a.body = "{\"Message\":" + Quote(message) +
             ",\"MessageCode\":\"CheckPasswordPolicy\",\"LoginResultType\":0,\"Context\":null,"
             "\"KDSVCSessionId\":null,\"IsSuccessByAPI\":false}";
    return a;
  }
  ++logins_;
  ++session_seq_;
  char sid[64];
  std::snprintf(sid, sizeof sid, "5f1d%04x-sim-%06d",
                static_cast<unsigned>(session_seq_ * 7919 % 65536), session_seq_);
  sessions_[sid] = requests_per_session_ > 0 ? requests_per_session_ : -1;
  a.headers.emplace_back("Set-Cookie", std::string("kdservice-sessionid=") + sid + "; path=/");
  a.headers.emplace_back("Set-Cookie", "ASP.NET_SessionId=aspnet" + std::to_string(session_seq_) +
                                           "; path=/; HttpOnly");
  a.body =
      "{\"Message\":null,\"MessageCode\":\"CheckPasswordPolicy\",\"LoginResultType\":1,\"Context\":"
      "{\"UserLocale\":"
      "\"zh-CN\",\"LogId\":\"\",\"UserId\":100008,\"UserName\":" +
      Quote(user_) + ",\"DBid\":" + Quote(acct_id_) + ",\"SessionId\":" + Quote(sid) +
      ",\"DisplayVersion\":\"8.2.0.0\"},\"KDSVCSessionId\":" + Quote(sid) +
      ",\"IsSuccessByAPI\":true}";
  return a;
}

void KingdeeSimulator::LoseNextSaveAnswer() {
  std::lock_guard<std::mutex> lock(mu_);
  lose_next_save_answer_ = true;
}

KingdeeSimulator::Answer KingdeeSimulator::View(const std::string& body) {
  Answer a;
  rapidjson::Document d;
  d.Parse(body.c_str());
  const rapidjson::Value* data = d.HasParseError() ? nullptr : Get(d, "data");
  std::string form = d.HasParseError() ? std::string() : Text(Get(d, "formid"));
  std::string number = data ? Text(Get(*data, "Number")) : std::string();
  if (form.empty() || number.empty()) {
    a.body = FailureJson({{"", "请求参数格式错误：需要 formid 和 data.Number"}}, 8);
    return a;
  }
  const Bill* bill = Find(form, number);
  if (!bill) {
    a.body = FailureJson({{"", "单据编号为" + number + "的单据不存在"}}, 11);
    return a;
  }
  a.body = "{\"Result\":{\"ResponseStatus\":null,\"Result\":{\"Id\":" + std::to_string(bill->fid) +
           ",\"Number\":" + Quote(bill->number) + ",\"DocumentStatus\":" + Quote(bill->status) + "}}}";
  return a;
}

KingdeeSimulator::Answer KingdeeSimulator::Save(const std::string& body) {
  Answer a;
  rapidjson::Document d;
  d.Parse(body.c_str());
  std::string form = d.HasParseError() ? std::string() : Text(Get(d, "formid"));
  const rapidjson::Value* data = d.HasParseError() ? nullptr : Get(d, "data");
  if (form.empty() || !data || !data->IsObject()) {
    a.body = FailureJson({{"", "请求参数格式错误：需要 formid 和 data"}}, 8);
    return a;
  }
  if (!reject_next_save_.empty()) {
    a.body = FailureJson(reject_next_save_, reject_msg_code_);
    reject_next_save_.clear();
    return a;
  }
  const rapidjson::Value* model = Get(*data, "Model");
  if (!model || !model->IsObject()) {
    a.body = FailureJson({{"", "Model 不能为空"}}, 8);
    return a;
  }
  bool order = SameText(form, "SAL_SaleOrder");
  bool customer_form = SameText(form, "BD_Customer");
  std::string customer =
      Text(Get(*model, "FCustId") ? Get(*Get(*model, "FCustId"), "FNumber") : nullptr);
  if (order && customer.empty()) {
    a.body = FailureJson({{"FCustId", "字段“客户”是必填项"}}, 11);
    return a;
  }
  if (customer_form && Text(Get(*model, "FName")).empty()) {
    a.body = FailureJson({{"FName", "字段“客户名称”是必填项"}}, 11);
    return a;
  }
  std::string fid_text = Text(Get(*model, customer_form ? "FCUSTID" : "FID"));
  int64_t fid = 0;
  if (!fid_text.empty()) fid = std::strtoll(fid_text.c_str(), nullptr, 10);
  Bill* bill = nullptr;
  if (fid != 0) {
    for (Bill& b : bills_) {
      if (b.fid == fid && SameText(b.form_id, form)) bill = &b;
    }
    if (!bill) {
      a.body = FailureJson({{"FID", "内码为" + fid_text + "的数据不存在"}}, 10);
      return a;
    }
    if (bill->status != "A") {
      a.body = FailureJson(
          {{"", bill->number + "单据已经" + std::string(bill->status == "C" ? "审核" : "提交") +
                    "，不允许修改"}},
          11);
      return a;
    }
  } else {
    Bill b;
    b.form_id = form;
    b.fid = next_fid_++;
    int seq = ++number_seq_[Lower(form)];
    char number[64];
    if (order) {
      std::snprintf(number, sizeof number, "XSDD%06d", seq);
    } else if (customer_form) {
      std::snprintf(number, sizeof number, "CUST%06d", seq);
    } else {
      std::snprintf(number, sizeof number, "BILL%06d", seq);
    }
    b.number = number;
    if (order) {  // a bill that brings its own number keeps it (coding rule "manual allowed")
      std::string given = Text(Get(*model, "FBillNo"));
      if (!given.empty()) {
        if (Find(form, given)) {
          a.body = FailureJson({{"FBillNo", "单据编号“" + given + "”已经存在"}}, 11);
          return a;
        }
        b.number = given;
      }
    }
    if (customer_form) {
      std::string given = Text(Get(*model, "FNumber"));
      if (!given.empty()) {
        if (Find(form, given)) {
          a.body = FailureJson({{"FNumber", "编码“" + given + "”已经被使用"}}, 11);
          return a;
        }
        b.number = given;
      }
      customer = b.number;
    }
    b.status = "A";
    bills_.push_back(std::move(b));
    saved_.push_back(bills_.size() - 1);
    bill = &bills_.back();
  }
  bill->customer = customer;
  bill->modified = Now();
  bill->data = Serialise(*data);
  const rapidjson::Value* auto_audit = Get(*data, "IsAutoSubmitAndAudit");
  if (auto_audit && auto_audit->IsBool() && auto_audit->GetBool()) {
    bill->status = "C";
    submitted_.push_back(bill->number);
    audited_.push_back(bill->number);
  }
  std::string id = std::to_string(bill->fid);
  a.body =
      "{\"Result\":{\"ResponseStatus\":{\"IsSuccess\":true,\"Errors\":[],\"SuccessEntitys\":[{"
      "\"Id\":" +
      id + ",\"Number\":" + Quote(bill->number) +
      ",\"DIndex\":0}],\"SuccessMessages\":[],\"MsgCode\":0},\"Id\":" + id +
      ",\"Number\":" + Quote(bill->number) + ",\"NeedReturnData\":[{}]}}";
  return a;
}

KingdeeSimulator::Answer KingdeeSimulator::SubmitOrAudit(const std::string& body, bool audit) {
  Answer a;
  rapidjson::Document d;
  d.Parse(body.c_str());
  std::string form = d.HasParseError() ? std::string() : Text(Get(d, "formid"));
  const rapidjson::Value* data = d.HasParseError() ? nullptr : Get(d, "data");
  const rapidjson::Value* numbers = data ? Get(*data, "Numbers") : nullptr;
  if (form.empty() || !numbers || !numbers->IsArray() || numbers->Empty()) {
    a.body = FailureJson({{"", "请求参数格式错误：需要 formid 和 data.Numbers"}}, 8);
    return a;
  }
  std::vector<SaveError> errors;
  std::string successes;
  for (const auto& n : numbers->GetArray()) {
    std::string number = Text(&n);
    Bill* b = Find(form, number);
    std::string error;
    if (!b) {
      error = "单据编号为“" + number + "”的单据不存在";
    } else if (audit) {
      if (b->status == "C") {
        error = number + "单据已经审核！";
      } else if (b->status != "B") {
        error = number + "单据不是已提交状态，不能审核";
      } else {
        b->status = "C";
        audited_.push_back(number);
      }
    } else {
      if (b->status == "C") {
        error = number + "单据已经审核，不能提交";
      } else if (b->status == "B") {
        error = number + "单据已经提交，不能重复提交";
      } else {
        b->status = "B";
        submitted_.push_back(number);
      }
    }
    if (!error.empty()) {
      errors.push_back({"", error});
      continue;
    }
    b->modified = Now();
    if (!successes.empty()) successes += ",";
    successes +=
        "{\"Id\":" + std::to_string(b->fid) + ",\"Number\":" + Quote(number) + ",\"DIndex\":0}";
  }
  if (!errors.empty()) {
    a.body = FailureJson(errors, 11);
    return a;
  }
  a.body =
      "{\"Result\":{\"ResponseStatus\":{\"IsSuccess\":true,\"Errors\":[],\"SuccessEntitys\":[" +
      successes + "],\"SuccessMessages\":[],\"MsgCode\":0}}}";
  return a;
}

KingdeeSimulator::Answer KingdeeSimulator::Query(const std::string& body) {
  Answer a;
  auto fail = [&](const std::string& message, int msg_code) {
    a.body = "[[" + FailureJson({{"", message}}, msg_code) + "]]";
    return a;
  };
  rapidjson::Document d;
  d.Parse(body.c_str());
  const rapidjson::Value* data = d.HasParseError() ? nullptr : Get(d, "data");
  rapidjson::Document inner;
  if (data && data->IsString()) {  // some clients send the data object as a JSON string
    inner.Parse(data->GetString());
    data = inner.HasParseError() ? nullptr : &inner;
  }
  if (!data || !data->IsObject()) return fail("请求参数格式错误：需要 data", 8);
  std::string form = Text(Get(*data, "FormId"));
  std::string keys = Text(Get(*data, "FieldKeys"));
  if (form.empty() || keys.empty()) return fail("FormId 和 FieldKeys 不能为空", 8);

  static const char* const kKnown[] = {"fid",         "fbillno",         "fnumber",
                                       "fmodifydate", "fcustid.fnumber", "fdocumentstatus"};
  auto known = [](const std::string& lower) {
    return std::find(std::begin(kKnown), std::end(kKnown), lower) != std::end(kKnown);
  };
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = keys.find(',', start);
    std::string key = TrimCopy(std::string_view(keys).substr(
        start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!known(Lower(key))) return fail("元数据中标识为" + key + "的字段不存在", 9);
    fields.push_back(Lower(key));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  auto filter = ParseFilter(Text(Get(*data, "FilterString")));
  if (!filter) return fail("过滤条件无法解析：" + Text(Get(*data, "FilterString")), 8);
  for (const Condition& c : *filter) {
    if (!known(c.field)) return fail("元数据中标识为" + c.field + "的字段不存在", 9);
  }

  // The value of a field for comparisons and sorting (times as "yyyy-MM-dd HH:mm:ss").
  auto value = [](const Bill& b, const std::string& f) -> std::string {
    if (f == "fid") return std::to_string(b.fid);
    if (f == "fbillno" || f == "fnumber") return b.number;
    if (f == "fmodifydate") return b.modified;
    if (f == "fcustid.fnumber") return b.customer;
    return b.status;
  };
  auto compare = [&](const Bill& b, const std::string& f, const std::string& v) -> int {
    if (f == "fid") {
      int64_t x = b.fid, y = std::strtoll(v.c_str(), nullptr, 10);
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    std::string lhs = value(b, f);
    std::string rhs = f == "fmodifydate" && !NormaliseTime(v).empty() ? NormaliseTime(v) : v;
    if (f == "fmodifydate" && v.size() == 10) rhs = v + " 00:00:00";
    return lhs.compare(rhs) < 0 ? -1 : (lhs.compare(rhs) > 0 ? 1 : 0);
  };

  std::vector<const Bill*> rows;
  for (const Bill& b : bills_) {
    if (!SameText(b.form_id, form)) continue;
    bool match = true;
    for (const Condition& c : *filter) {
      int r = compare(b, c.field, c.value);
      if (c.op == ">=") match = r >= 0;
      if (c.op == ">") match = r > 0;
      if (c.op == "<=") match = r <= 0;
      if (c.op == "<") match = r < 0;
      if (c.op == "=") match = r == 0;
      if (c.op == "<>") match = r != 0;
      if (!match) break;
    }
    if (match) rows.push_back(&b);
  }

  // OrderString: "F1 ASC,F2 DESC"; FID ascending by default.
  std::vector<std::pair<std::string, bool>> order;  // field, descending
  std::string order_text = Text(Get(*data, "OrderString"));
  start = 0;
  while (!TrimCopy(order_text).empty()) {
    std::size_t comma = order_text.find(',', start);
    std::string part = TrimCopy(
        std::string_view(order_text)
            .substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    std::size_t space = part.find(' ');
    std::string f = Lower(part.substr(0, space));
    std::string dir = space == std::string::npos ? "asc" : Lower(TrimCopy(part.substr(space + 1)));
    if (!known(f) || (dir != "asc" && dir != "desc"))
      return fail("排序条件无法解析：" + order_text, 8);
    order.emplace_back(f, dir == "desc");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  order.emplace_back("fid", false);
  std::stable_sort(rows.begin(), rows.end(), [&](const Bill* x, const Bill* y) {
    for (const auto& [f, desc] : order) {
      int r = f == "fid" ? (x->fid < y->fid ? -1 : (x->fid > y->fid ? 1 : 0))
                         : value(*x, f).compare(value(*y, f));
      if (r != 0) return desc ? r > 0 : r < 0;
    }
    return false;
  });

  const rapidjson::Value* start_row = Get(*data, "StartRow");
  const rapidjson::Value* limit_value = Get(*data, "Limit");
  int64_t first =
      start_row && start_row->IsInt64() ? std::max<int64_t>(0, start_row->GetInt64()) : 0;
  int64_t limit = limit_value && limit_value->IsInt64() ? limit_value->GetInt64() : 0;
  if (limit <= 0 || limit > 2000) limit = 2000;

  std::string out = "[";
  int64_t emitted = 0;
  for (int64_t i = first; i < static_cast<int64_t>(rows.size()) && emitted < limit;
       ++i, ++emitted) {
    const Bill& b = *rows[static_cast<std::size_t>(i)];
    if (emitted) out += ",";
    out += "[";
    for (std::size_t c = 0; c < fields.size(); ++c) {
      if (c) out += ",";
      const std::string& f = fields[c];
      if (f == "fid") {
        out += std::to_string(b.fid);
      } else if (f == "fmodifydate") {
        std::string t = b.modified;
        if (t.size() > 10 && t[10] == ' ') t[10] = 'T';
        out += Quote(t);
      } else {
        out += Quote(value(b, f));
      }
    }
    out += "]";
  }
  out += "]";
  a.body = std::move(out);
  return a;
}

// ---------------------------------------------------------------------------------------------
// SapIdocReceiver

void SapIdocReceiver::RequireBasicAuth(std::string user, std::string password) {
  std::lock_guard<std::mutex> lock(mu_);
  auth_ = true;
  user_ = std::move(user);
  password_ = std::move(password);
}

void SapIdocReceiver::FailNext(int n) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_next_ = n;
}

ScriptedReply SapIdocReceiver::Handle(const RecordedRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auth_) {
    std::optional<std::string> h = request.Header("Authorization");
    bool ok = false;
    if (h && h->size() > 6 && SameText(h->substr(0, 6), "Basic ")) {
      std::optional<std::string> creds = UnB64(TrimCopy(h->substr(6)));
      ok = creds && *creds == user_ + ":" + password_;
    }
    if (!ok) {
      ++auth_failures_;
      ScriptedReply r = Reply(401,
                              "<html><head><title>Logon Error Message</title></head><body>401 "
                              "Unauthorized</body></html>");
      r.headers.emplace_back("WWW-Authenticate",
                             "Basic realm=\"SAP NetWeaver Application Server\"");
      return r;
    }
  }
  if (fail_next_ > 0) {
    --fail_next_;
    return Reply(503, "<html><body>503 Service Unavailable</body></html>");
  }
  if (request.method != "POST") return Reply(405, "Method Not Allowed");
  if (request.body.find("<IDOC") == std::string::npos ||
      request.body.find("EDI_DC40") == std::string::npos) {
    return Reply(400, "<html><body>IDoc XML expected: no IDOC with EDI_DC40</body></html>");
  }
  Received r;
  r.target = request.target;
  r.content_type = request.Header("Content-Type").value_or("");
  r.body = request.body;
  received_.push_back(std::move(r));
  return Reply(200, "");
}

std::vector<std::string> SapIdocReceiver::Documents() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const Received& r : received_) out.push_back(r.body);
  return out;
}

std::vector<SapIdocReceiver::Received> SapIdocReceiver::Deliveries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return received_;
}

int SapIdocReceiver::AuthFailures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return auth_failures_;
}

}  // namespace channelhub::e2e
