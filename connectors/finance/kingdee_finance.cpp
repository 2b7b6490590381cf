#include "connectors/finance/kingdee_finance.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdlib>

#include "connectors/common/crypto.hpp"
#include "connectors/common/json_guard.hpp"

namespace channelhub::connectors::finance {

namespace {

// The XOR key of Kingdee's SDKs for the secret part of an AppID (protocols.md §4.2).
constexpr std::string_view kServicePrefix = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.";
constexpr std::string_view kServiceSuffix = ".common.kdsvc";

std::string Trim(std::string_view s) {
  const char* ws = " \t\r\n";
  std::size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return "";
  return std::string(s.substr(b, s.find_last_not_of(ws) - b + 1));
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

std::vector<std::string> List(std::string_view text) {
  std::vector<std::string> out;
  while (true) {
    std::size_t comma = text.find(',');
    std::string item = Trim(text.substr(0, comma));
    if (!item.empty()) out.push_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::string Quote(std::string_view s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return std::string(buf.GetString(), buf.GetSize());
}

std::string Serialise(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

const rapidjson::Value* Get(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(key);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

std::string StringOf(const rapidjson::Value* v) {
  if (!v) return "";
  if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  if (v->IsInt64()) return std::to_string(v->GetInt64());
  return "";
}

int64_t ParseInt(const char* name, const std::string& text, int64_t lo, int64_t hi) {
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < lo || v > hi) {
    throw sdk::Failure(std::string("setting \"") + name + "\": expected a number from " + std::to_string(lo) +
                       " to " + std::to_string(hi) + ", got \"" + text + "\"");
  }
  return v;
}

// Kingdee's Result.ResponseStatus (a Save/Submit/Audit answer, or the error row of a query).
struct Status {
  bool found = false;
  bool success = false;
  int64_t msg_code = 0;
  std::string errors;  // "Field: message; message"
  std::string number;  // the bill number of the first success entity
};

Status ReadStatus(const rapidjson::Value& root) {
  Status s;
  const rapidjson::Value* result = Get(root, "Result");
  const rapidjson::Value* status = result ? Get(*result, "ResponseStatus") : nullptr;
  if (!status || !status->IsObject()) return s;
  s.found = true;
  const rapidjson::Value* ok = Get(*status, "IsSuccess");
  s.success = ok && ok->IsBool() && ok->GetBool();
  if (const auto* code = Get(*status, "MsgCode"); code && code->IsInt64()) s.msg_code = code->GetInt64();
  if (const auto* errors = Get(*status, "Errors"); errors && errors->IsArray()) {
    for (const auto& e : errors->GetArray()) {
      std::string field = Trim(StringOf(Get(e, "FieldName")));
      std::string message = Trim(StringOf(Get(e, "Message")));
      if (field.empty() && message.empty()) continue;
      if (!s.errors.empty()) s.errors += "; ";
      s.errors += field.empty() ? message : field + ": " + message;
    }
  }
  if (const auto* ents = Get(*status, "SuccessEntitys"); ents && ents->IsArray() && !ents->Empty()) {
    s.number = Trim(StringOf(Get((*ents)[0], "Number")));
  }
  if (s.number.empty()) s.number = Trim(StringOf(Get(*result, "Number")));
  return s;
}

std::string Capital(std::string_view op) {
  std::string s(op);
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

// The bill number a Save body carries (Model.FBillNo), "" when none.
std::string BillNo(std::string_view data) {
  rapidjson::Document doc;
  ParseJsonBounded(data, &doc);
  if (doc.HasParseError()) return "";
  const rapidjson::Value* model = Get(doc, "Model");
  return model ? Trim(StringOf(Get(*model, "FBillNo"))) : "";
}

// Kingdee's preset currency numbers (BD_Currency) as ISO 4217 codes; other values unchanged.
std::string IsoCurrency(const std::string& kingdee) {
  static const std::pair<const char*, const char*> kTable[] = {
      {"PRE001", "CNY"}, {"PRE002", "HKD"}, {"PRE003", "EUR"}, {"PRE004", "JPY"},
      {"PRE005", "TWD"}, {"PRE006", "GBP"}, {"PRE007", "USD"}};
  for (const auto& [number, iso] : kTable) {
    if (kingdee == number) return iso;
  }
  return kingdee;
}

bool LooksUpFirst(const sdk::Delivery& d, std::string_view data) {
  return d.step.empty() && d.attempt > 1 && !BillNo(data).empty();
}

}  // namespace

namespace kd {

std::string FormatCursor(const Cursor& c) {
  return "{\"since\":" + Quote(c.since) + ",\"skip\":" + std::to_string(c.skip) + "}";
}

bool ParseCursor(std::string_view text, Cursor* out) {
  rapidjson::Document doc;
  ParseJsonBounded(text, &doc);
  if (doc.HasParseError() || !doc.IsObject()) return false;
  const rapidjson::Value* since = Get(doc, "since");
  const rapidjson::Value* skip = Get(doc, "skip");
  if (!since || !since->IsString() || !skip || !skip->IsInt64() || skip->GetInt64() < 0) return false;
  std::string s = NormaliseTime(std::string_view(since->GetString(), since->GetStringLength()));
  if (s.empty()) return false;
  out->since = s;
  out->skip = skip->GetInt64();
  return true;
}

std::string NormaliseTime(std::string_view text) {
  std::string t = Trim(text);
  if (t.size() < 19) return "";
  static const char kShape[] = "dddd-dd-dd?dd:dd:dd";
  for (std::size_t i = 0; i < 19; ++i) {
    const char want = kShape[i];
    const char c = t[i];
    if (want == 'd' ? !(c >= '0' && c <= '9') : want == '?' ? !(c == ' ' || c == 'T') : c != want) return "";
  }
  if (t.size() > 19 && t[19] != '.') return "";
  std::string out = t.substr(0, 19);
  out[10] = ' ';
  return out;
}

}  // namespace kd

const char* const KingdeeFinance::kSettings[] = {
    "url",          "app_id",         "app_secret",  "acct_id",        "user",        "lcid",
    "org_num",      "form_id",        "operations",  "statuses",       "credit_form_id", "customer_field",
    "name_field",   "limit_field",    "used_field",  "currency_field", "area_field",  "modified_field",
    "id_field",     "filter",         "page_size",   "start",          "utc_offset",  nullptr};

KingdeeFinance::KingdeeFinance(const sdk::Host& host, const sdk::Settings& settings) : Connector(host) {
  const std::string url = Trim(settings.Require("url"));
  const std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) throw sdk::Failure("setting \"url\": expected http(s)://host/k3cloud/");
  const std::size_t slash = url.find('/', scheme + 3);
  base_path_ = slash == std::string::npos ? "/" : url.substr(slash);
  base_path_ = base_path_.substr(0, base_path_.find('?'));
  if (base_path_.back() != '/') base_path_ += '/';

  app_.app_id = Trim(settings.Require("app_id"));
  const std::size_t underscore = app_.app_id.find('_');
  if (underscore == std::string::npos || underscore == 0) throw sdk::Failure("setting \"app_id\": expected <clientId>_<secret>");
  kd::ClientSecret(std::string_view(app_.app_id).substr(underscore + 1));  // validates it
  app_.app_secret = settings.Require("app_secret");
  app_.acct_id = Trim(settings.Require("acct_id"));
  app_.user = Trim(settings.Require("user"));
  app_.lcid = std::to_string(ParseInt("lcid", Trim(settings.GetOr("lcid", "2052")), 1, 99999));
  app_.org_num = std::to_string(ParseInt("org_num", Trim(settings.GetOr("org_num", "0")), 0, 999999999));

  form_id_ = Trim(settings.GetOr("form_id", "AR_receivable"));
  if (form_id_.empty()) throw sdk::Failure("setting \"form_id\" is empty");
  for (const std::string& op : List(settings.GetOr("operations", "save"))) {
    const std::string o = Lower(op);
    if (o != "save" && o != "submit" && o != "audit") {
      throw sdk::Failure("setting \"operations\": unknown operation \"" + op + "\" (save, submit, audit)");
    }
    if (std::find(operations_.begin(), operations_.end(), o) != operations_.end()) {
      throw sdk::Failure("setting \"operations\": \"" + o + "\" is listed twice");
    }
    operations_.push_back(o);
  }
  if (operations_.empty() || operations_.front() != "save") {
    throw sdk::Failure("setting \"operations\": must start with save (e.g. \"save,submit,audit\")");
  }
  statuses_ = List(settings.GetOr("statuses", "paid"));

  credit_form_id_ = Trim(settings.GetOr("credit_form_id", ""));
  customer_field_ = Trim(settings.GetOr("customer_field", "FCustomerID.FNumber"));
  name_field_ = Trim(settings.GetOr("name_field", "FCustomerID.FName"));
  limit_field_ = Trim(settings.GetOr("limit_field", "FCreditAmount"));
  used_field_ = Trim(settings.GetOr("used_field", "FUsedAmount"));
  currency_field_ = Trim(settings.GetOr("currency_field", "FCurrencyID.FNumber"));
  area_field_ = Trim(settings.GetOr("area_field", ""));
  modified_field_ = Trim(settings.GetOr("modified_field", "FModifyDate"));
  id_field_ = Trim(settings.GetOr("id_field", "FID"));
  filter_ = Trim(settings.GetOr("filter", ""));
  page_size_ = ParseInt("page_size", Trim(settings.GetOr("page_size", "500")), 1, 2000);
  start_ = kd::NormaliseTime(settings.GetOr("start", "1970-01-01 00:00:00"));
  if (start_.empty()) throw sdk::Failure("setting \"start\": expected \"yyyy-MM-dd HH:mm:ss\"");
  utc_offset_ = Trim(settings.GetOr("utc_offset", "+08:00"));
  if (utc_offset_.size() != 6 || (utc_offset_[0] != '+' && utc_offset_[0] != '-') || utc_offset_[3] != ':') {
    throw sdk::Failure("setting \"utc_offset\": expected e.g. +08:00");
  }
  if (customer_field_.empty() || limit_field_.empty() || modified_field_.empty()) {
    throw sdk::Failure("settings \"customer_field\", \"limit_field\" and \"modified_field\" must not be empty");
  }
}

std::string KingdeeFinance::ServicePath(std::string_view service) const {
  return base_path_ + std::string(kServicePrefix) + std::string(service) + std::string(kServiceSuffix);
}

sdk::OutRequest KingdeeFinance::Post(std::string_view service, std::string body) const {
  sdk::OutRequest r;
  r.method = "POST";
  r.target = ServicePath(service);
  const std::string ts = std::to_string(host().NowMs() / 1000);
  const std::string random = host().Random(16);
  const bool usable = std::any_of(random.begin(), random.end(), [](char c) { return c != 0; });
  const std::string nonce = usable ? HexLower(random) : ts;
  r.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  for (auto& h : kd::Sign(app_, r.target, ts, nonce)) r.headers.push_back(std::move(h));
  r.body = std::move(body);
  return r;
}

std::string KingdeeFinance::SaveData(std::string_view body) const {
  rapidjson::Document doc;
  ParseJsonBounded(body, &doc);
  if (doc.HasParseError() || !doc.IsObject()) throw sdk::Failure("the mapped body is not a JSON object");
  auto chub = doc.FindMember("_chub");
  if (chub != doc.MemberEnd()) {
    const std::string status = Trim(StringOf(Get(chub->value, "status")));
    if (!statuses_.empty() && std::find(statuses_.begin(), statuses_.end(), status) == statuses_.end()) {
      std::string list;
      for (const auto& s : statuses_) list += (list.empty() ? "" : ", ") + s;
      throw sdk::Failure("order status \"" + status + "\" is not posted to Kingdee finance (statuses: " + list + ")");
    }
    doc.RemoveMember(chub);
  }
  if (!Get(doc, "Model")) throw sdk::Failure("the mapped body has no \"Model\"");
  return Serialise(doc);
}

std::string KingdeeFinance::NextOperation(std::string_view after) const {
  // Save, Submit and Audit happen in that order; the tenant's flow may leave some out.
  auto rank = [](std::string_view op) { return op == "save" ? 0 : op == "submit" ? 1 : 2; };
  for (const std::string& op : operations_) {
    if (rank(op) > rank(after)) return op;
  }
  return "";
}

sdk::OutRequest KingdeeFinance::BuildDelivery(const sdk::Delivery& d) {
  const std::string step(d.step);
  if (step.empty() || step == "save") {
    const std::string data = SaveData(d.body);
    if (LooksUpFirst(d, data)) {
      return Post("View", "{\"formid\":" + Quote(form_id_) + ",\"data\":{\"Number\":" + Quote(BillNo(data)) + "}}");
    }
    return Post("Save", "{\"formid\":" + Quote(form_id_) + ",\"data\":" + data + "}");
  }
  if (step.rfind("verify:", 0) == 0) {
    const std::string number = step.substr(7);
    return Post("View", "{\"formid\":" + Quote(form_id_) + ",\"data\":{\"Number\":" + Quote(number) + "}}");
  }
  const std::size_t colon = step.find(':');
  const std::string op = step.substr(0, colon);
  if (colon == std::string::npos || (op != "submit" && op != "audit")) throw sdk::Failure("unknown step \"" + step + "\"");
  return Post(Capital(op), "{\"formid\":" + Quote(form_id_) + ",\"data\":{\"Numbers\":[" + Quote(step.substr(colon + 1)) + "]}}");
}

sdk::Verdict KingdeeFinance::JudgeDelivery(const sdk::Delivery& d, const sdk::Response& res) {
  const std::string step(d.step);
  std::string op = step.empty() ? "save" : step.substr(0, step.find(':'));
  bool lookup = false;
  if (step.empty()) {
    try {
      lookup = LooksUpFirst(d, SaveData(d.body));
    } catch (const sdk::Failure&) {
      lookup = false;
    }
  }
  // "verify:<number>": a Save was refused while the bill may exist already (the hub sent the Save
  // twice, e.g. again on a fresh connection after a dropped one); refusals_ keeps Kingdee's words.
  const bool verify = step.rfind("verify:", 0) == 0;
  const std::string what = lookup || verify ? "View" : Capital(op);
  if (res.status == 429 || res.status >= 500) return sdk::Verdict::Retry("Kingdee " + what + ": HTTP " + std::to_string(res.status));
  if (res.status < 200 || res.status >= 300) return sdk::Verdict::Permanent("Kingdee " + what + ": HTTP " + std::to_string(res.status));
  rapidjson::Document doc;
  ParseJsonBounded(res.body, &doc);
  if (doc.HasParseError()) return sdk::Verdict::Retry("Kingdee " + what + ": the answer is not JSON");

  if (lookup || verify) {
    // View: the bill exists when it succeeds; then continue after the step its status shows.
    Status s = ReadStatus(doc);
    const rapidjson::Value* result = Get(doc, "Result");
    const rapidjson::Value* bill = result ? Get(*result, "Result") : nullptr;
    const bool exists = s.success || (!s.found && bill && bill->IsObject());
    if (verify) {
      auto kept = refusals_.find(std::string(d.event_id));
      const std::string refusal = kept == refusals_.end() ? "Kingdee Save refused" : kept->second;
      if (kept != refusals_.end()) refusals_.erase(kept);
      if (!exists) return sdk::Verdict::Permanent(refusal);
    }
    if (!exists) return sdk::Verdict::Next("save", "not saved before");
    const std::string number = BillNo(SaveData(d.body));
    const std::string doc_status = bill ? Trim(StringOf(Get(*bill, "DocumentStatus"))) : "";
    std::string done = "save";
    if (doc_status == "B") done = "submit";
    if (doc_status == "C") done = "audit";
    const std::string next = NextOperation(done);
    if (next.empty()) return sdk::Verdict::Done();
    return sdk::Verdict::Next(next + ":" + number, "already saved as " + number);
  }

  Status s = ReadStatus(doc);
  if (!s.found) return sdk::Verdict::Retry("Kingdee " + what + ": the answer has no Result.ResponseStatus");
  if (!s.success) {
    std::string message = "Kingdee " + what + " refused: " + (s.errors.empty() ? "no reason given" : s.errors);
    if (s.msg_code == 1) return sdk::Verdict::Retry(message);  // context lost: a later attempt signs again
    if (op == "save") {
      const std::string own = BillNo(SaveData(d.body));
      if (!own.empty()) {
        if (refusals_.size() > 1000) refusals_.clear();  // left by deliveries that never came back
        refusals_[std::string(d.event_id)] = message;
        return sdk::Verdict::Next("verify:" + own, message);
      }
    }
    return sdk::Verdict::Permanent(message);
  }
  std::string number = s.number;
  if (number.empty() && op != "save") number = step.substr(step.find(':') + 1);
  const std::string next = NextOperation(op);
  if (next.empty()) return sdk::Verdict::Done();
  if (number.empty()) return sdk::Verdict::Permanent("Kingdee " + what + " gave no bill number to " + next);
  return sdk::Verdict::Next(next + ":" + number, what + " " + number);
}

sdk::OutRequest KingdeeFinance::BuildPoll(std::string_view cursor_text, std::string_view) {
  if (credit_form_id_.empty()) throw sdk::Failure("missing setting \"credit_form_id\" (the form to poll credit limits from)");
  kd::Cursor c{start_, 0};
  if (!cursor_text.empty() && !kd::ParseCursor(cursor_text, &c)) {
    host().Log(2, "kingdee_finance: unreadable cursor, starting from the setting \"start\"");
    c = kd::Cursor{start_, 0};
  }
  std::string keys = customer_field_ + "," + modified_field_ + "," + limit_field_;
  for (const std::string* f : {&name_field_, &used_field_, &currency_field_, &area_field_}) {
    if (!f->empty()) keys += "," + *f;
  }
  std::string filter = modified_field_ + " >= '" + c.since + "'";
  if (!filter_.empty()) filter += " AND (" + filter_ + ")";
  std::string order = modified_field_ + " ASC";
  if (!id_field_.empty()) order += "," + id_field_ + " ASC";
  return Post("ExecuteBillQuery", "{\"data\":{\"FormId\":" + Quote(credit_form_id_) + ",\"FieldKeys\":" + Quote(keys) +
                                      ",\"FilterString\":" + Quote(filter) + ",\"OrderString\":" + Quote(order) +
                                      ",\"TopRowCount\":0,\"StartRow\":" + std::to_string(c.skip) +
                                      ",\"Limit\":" + std::to_string(page_size_) + "}}");
}

sdk::PollResult KingdeeFinance::ParsePoll(std::string_view cursor_text, const sdk::Response& res) {
  if (res.status == 429 || res.status >= 500) {
    return sdk::PollResult::Fail(CHUB_VERDICT_RETRY, "Kingdee ExecuteBillQuery: HTTP " + std::to_string(res.status));
  }
  if (res.status < 200 || res.status >= 300) {
    return sdk::PollResult::Fail(CHUB_VERDICT_PERMANENT, "Kingdee ExecuteBillQuery: HTTP " + std::to_string(res.status));
  }
  kd::Cursor c{start_, 0};
  if (!cursor_text.empty() && !kd::ParseCursor(cursor_text, &c)) c = kd::Cursor{start_, 0};
  rapidjson::Document doc;
  ParseJsonBounded(res.body, &doc);
  if (doc.HasParseError() || !doc.IsArray()) {
    if (!doc.HasParseError()) {
      Status s = ReadStatus(doc);
      if (s.found && !s.success) return sdk::PollResult::Fail(CHUB_VERDICT_PERMANENT, "Kingdee ExecuteBillQuery refused: " + s.errors);
    }
    return sdk::PollResult::Fail(CHUB_VERDICT_RETRY, "Kingdee ExecuteBillQuery: the answer is not a JSON array");
  }
  // The failure shape: [[{"Result":{"ResponseStatus":{...}}}]].
  if (doc.Size() == 1 && doc[0].IsArray() && doc[0].Size() == 1 && doc[0][0].IsObject()) {
    Status s = ReadStatus(doc[0][0]);
    if (s.found && !s.success) {
      return sdk::PollResult::Fail(CHUB_VERDICT_PERMANENT, "Kingdee ExecuteBillQuery refused: " + (s.errors.empty() ? "no reason given" : s.errors));
    }
  }
  std::size_t columns = 3;
  int name_col = -1, used_col = -1, currency_col = -1, area_col = -1;
  for (auto [field, col] : {std::pair{&name_field_, &name_col}, std::pair{&used_field_, &used_col},
                            std::pair{&currency_field_, &currency_col}, std::pair{&area_field_, &area_col}}) {
    if (!field->empty()) *col = static_cast<int>(columns++);
  }

  sdk::PollResult out;
  std::string max_seen;
  for (const auto& row : doc.GetArray()) {
    if (!row.IsArray() || row.Size() != columns) {
      return sdk::PollResult::Fail(CHUB_VERDICT_PERMANENT, "Kingdee ExecuteBillQuery: a row has " +
                                                               std::to_string(row.IsArray() ? row.Size() : 0) + " columns, expected " +
                                                               std::to_string(columns));
    }
    const std::string modified = kd::NormaliseTime(StringOf(&row[1]));
    if (modified.empty()) {
      return sdk::PollResult::Fail(CHUB_VERDICT_PERMANENT, "Kingdee ExecuteBillQuery: " + modified_field_ + " is not a time");
    }
    if (modified > max_seen) max_seen = modified;
    const std::string dealer = Trim(StringOf(&row[0]));
    if (dealer.empty()) continue;  // a credit line without a customer: nothing to update

    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto put = [&](const char* key, const rapidjson::Value& v) {
      if (v.IsNull()) return;
      w.Key(key);
      if (v.IsString()) {
        std::string t = Trim(std::string_view(v.GetString(), v.GetStringLength()));
        if (std::string_view(key) == "currency") t = IsoCurrency(t);
        w.String(t.data(), static_cast<rapidjson::SizeType>(t.size()));
      } else {
        v.Accept(w);
      }
    };
    w.StartObject();
    w.Key("dealer_id");
    w.String(dealer.data(), static_cast<rapidjson::SizeType>(dealer.size()));
    if (name_col >= 0) put("dealer_name", row[static_cast<rapidjson::SizeType>(name_col)]);
    if (area_col >= 0) put("credit_area", row[static_cast<rapidjson::SizeType>(area_col)]);
    if (currency_col >= 0) put("currency", row[static_cast<rapidjson::SizeType>(currency_col)]);
    put("credit_limit", row[2]);
    if (used_col >= 0) put("exposure", row[static_cast<rapidjson::SizeType>(used_col)]);
    w.Key("source");
    w.String("K3CLOUD");
    const std::string as_of = modified.substr(0, 10) + "T" + modified.substr(11) + utc_offset_;
    w.Key("as_of");
    w.String(as_of.data(), static_cast<rapidjson::SizeType>(as_of.size()));
    w.EndObject();
    std::string id = "credit:" + dealer;
    if (area_col >= 0) id += ":" + Trim(StringOf(&row[static_cast<rapidjson::SizeType>(area_col)]));
    std::string raw_time = Trim(StringOf(&row[1]));  // with Kingdee's milliseconds
    if (raw_time.size() > 10 && raw_time[10] == ' ') raw_time[10] = 'T';
    id += ":" + raw_time;
    // The hub takes ids of 1 to 200 characters without spaces or control characters.
    for (char& ch : id) {
      const unsigned char u = static_cast<unsigned char>(ch);
      if (u < 0x21 || u == 0x7f) ch = '_';
    }
    if (id.size() > 200) id = "credit:" + HexLower(Sha256(id)).substr(0, 40);
    out.payloads.push_back({id, "credit_limit", "application/json", std::string(buf.GetString(), buf.GetSize())});
  }
  // The next page starts at the newest time seen: rows at exactly that time are read again and
  // dropped by the hub as duplicates (same event id), so a row whose time moved on while we
  // paged is never skipped. Only a full page that is all at the cursor's own time pages on
  // by offset (more rows in one second than a page holds); any other page resets the offset.
  const bool full = static_cast<int64_t>(doc.Size()) >= page_size_;
  kd::Cursor next{c.since, 0};
  if (full && max_seen == c.since) {
    next.skip = c.skip + static_cast<int64_t>(doc.Size());
  } else if (!max_seen.empty()) {
    next.since = max_seen;
  }
  out.cursor = kd::FormatCursor(next);
  out.more = full;
  return out;
}

}  // namespace channelhub::connectors::finance
