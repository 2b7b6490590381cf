#include "connectors/ecommerce/taobao.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>

#include "connectors/common/crypto.hpp"
#include "connectors/common/json_guard.hpp"

namespace channelhub::connectors::ecommerce {
namespace {

constexpr int64_t kGmt8 = 8 * 3600;
constexpr const char* kMethod = "taobao.trades.sold.increment.get";
constexpr const char* kResponseKey = "trades_sold_increment_get_response";
constexpr const char* kDefaultFields =
    "tid,tid_str,type,status,created,modified,pay_time,consign_time,end_time,payment,total_fee,post_fee,"
    "discount_fee,adjust_fee,buyer_nick,buyer_open_uid,seller_nick,buyer_message,seller_memo,seller_flag,"
    "receiver_name,receiver_state,receiver_city,receiver_district,receiver_town,receiver_address,"
    "receiver_zip,receiver_mobile,receiver_phone,receiver_country,shipping_type,orders";

int64_t ParseInt(const std::string& text, const char* key) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw sdk::Failure(std::string("setting \"") + key + "\": expected a whole number, got \"" + text + "\"");
  }
  return n;
}

std::string Text(const rapidjson::Value& v) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  return {};
}

const rapidjson::Value* Member(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

sdk::PollResult JudgeError(const rapidjson::Value& err) {
  const rapidjson::Value* code_v = Member(err, "code");
  int64_t code = -1;
  if (code_v && code_v->IsInt64()) code = code_v->GetInt64();
  if (code_v && code_v->IsString()) {
    std::string_view s(code_v->GetString(), code_v->GetStringLength());
    std::from_chars(s.data(), s.data() + s.size(), code);
  }
  auto str = [&](const char* name) {
    const rapidjson::Value* v = Member(err, name);
    return v ? Text(*v) : std::string();
  };
  const std::string msg = str("msg"), sub_code = str("sub_code"), sub_msg = str("sub_msg");
  std::string detail = "TOP error " + std::to_string(code) + " " + msg;
  if (!sub_code.empty()) detail += " (" + sub_code + (sub_msg.empty() ? "" : ": " + sub_msg) + ")";

  if (code == 26 || code == 27 || code == 53) {
    return sdk::PollResult::Fail(CHUB_VERDICT_PERMANENT,
                                 detail + ": the shop's session key is missing, invalid or expired; the seller "
                                          "must re-authorise the app and the \"session\" setting be updated");
  }
  const bool limited = code == 7 || (StartsWith(sub_code, "isv.") && sub_code.find("-limit") != std::string::npos) ||
                       sub_code.find("accesscontrol.limited") != std::string::npos;
  // 10: service currently unavailable; isp.*: the platform's own failures (busy, timeouts).
  const bool busy = code == 10 || StartsWith(sub_code, "isp.");
  if (limited) return sdk::PollResult::Fail(CHUB_VERDICT_RETRY, detail + ": call limit reached, retrying later");
  if (busy) return sdk::PollResult::Fail(CHUB_VERDICT_RETRY, detail + ": platform busy, retrying later");
  return sdk::PollResult::Fail(CHUB_VERDICT_PERMANENT, detail);
}

}  // namespace

std::string TopSign(const std::map<std::string, std::string>& params, std::string_view secret,
                    std::string_view sign_method) {
  std::string concat;
  for (const auto& [k, v] : params) {
    if (k.empty() || v.empty() || k == "sign") continue;
    concat.append(k).append(v);
  }
  if (sign_method == "md5") {
    std::string text;
    text.reserve(concat.size() + 2 * secret.size());
    text.append(secret).append(concat).append(secret);
    return HexUpper(Md5(text));
  }
  if (sign_method == "hmac") return HexUpper(HmacMd5(secret, concat));
  if (sign_method == "hmac-sha256") return HexUpper(HmacSha256(secret, concat));
  throw sdk::Failure("unknown TOP sign_method \"" + std::string(sign_method) + "\" (md5, hmac or hmac-sha256)");
}

std::string FormatTopTime(int64_t unix_seconds) {
  const int64_t local = unix_seconds + kGmt8;
  int64_t days = local / 86400;
  int64_t rem = local % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  const std::chrono::year_month_day ymd{std::chrono::sys_days(std::chrono::days(days))};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), static_cast<int>(rem / 3600),
                static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60));
  return buf;
}

std::optional<int64_t> ParseTopTime(std::string_view s) {
  // yyyy-MM-dd HH:mm:ss
  if (s.size() != 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  auto num = [&](std::size_t pos, std::size_t n, int* out) {
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (!num(0, 4, &y) || !num(5, 2, &mo) || !num(8, 2, &d) || !num(11, 2, &h) || !num(14, 2, &mi) ||
      !num(17, 2, &se)) {
    return std::nullopt;
  }
  if (h > 23 || mi > 59 || se > 59) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  const int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
  return days * 86400 + h * 3600 + mi * 60 + se - kGmt8;
}

Taobao::Taobao(const sdk::Host& host, const sdk::Settings& settings)
    : Connector(host),
      app_key_(settings.Require("app_key")),
      app_secret_(settings.Require("app_secret")),
      session_(settings.Require("session")),
      sign_method_(settings.GetOr("sign_method", "md5")),
      fields_(settings.GetOr("fields", kDefaultFields)) {
  // The hub sends the requests to the source's url (the gateway, e.g.
  // https://eco.taobao.com/router/rest); it passes it here only to be checked.
  const std::string url = settings.GetOr("url", "");
  if (!url.empty() && !StartsWith(url, "http://") && !StartsWith(url, "https://")) {
    throw sdk::Failure("setting \"url\": expected an http(s) URL of the TOP gateway, got \"" + url + "\"");
  }
  if (sign_method_.empty()) sign_method_ = "md5";
  if (sign_method_ != "md5" && sign_method_ != "hmac" && sign_method_ != "hmac-sha256") {
    throw sdk::Failure("setting \"sign_method\": expected md5, hmac or hmac-sha256, got \"" + sign_method_ + "\"");
  }
  if (fields_.empty()) fields_ = kDefaultFields;
  if (auto v = settings.Get("page_size"); v && !v->empty()) {
    page_size_ = ParseInt(*v, "page_size");
    if (page_size_ < 1 || page_size_ > 100) throw sdk::Failure("setting \"page_size\": must be 1 to 100");
  }
  if (auto v = settings.Get("window"); v && !v->empty()) {
    window_s_ = ParseInt(*v, "window");
    if (window_s_ < 1 || window_s_ > kMaxWindowSeconds) {
      throw sdk::Failure("setting \"window\": must be 1 to 86400 seconds (TOP allows at most one day)");
    }
  }
  if (auto v = settings.Get("lag"); v && !v->empty()) {
    lag_s_ = ParseInt(*v, "lag");
    if (lag_s_ < 5 || lag_s_ > 3600) throw sdk::Failure("setting \"lag\": must be 5 to 3600 seconds");
  }
  const int64_t now = NowSeconds();
  if (auto v = settings.Get("start"); v && !v->empty()) {
    auto t = ParseTopTime(*v);
    if (!t) throw sdk::Failure("setting \"start\": expected \"yyyy-MM-dd HH:mm:ss\" (GMT+8), got \"" + *v + "\"");
    if (*t > now) throw sdk::Failure("setting \"start\": \"" + *v + "\" is in the future");
    initial_start_ = *t;
  } else {
    initial_start_ = now - 86400;
  }
}

Taobao::Position Taobao::Decode(std::string_view cursor) const {
  Position p;
  if (cursor.empty()) {
    p.start = initial_start_;
    return p;
  }
  rapidjson::Document doc;
  ParseJsonBounded(cursor, &doc);
  const rapidjson::Value* start = doc.HasParseError() ? nullptr : Member(doc, "start");
  if (!start || !start->IsString()) throw sdk::Failure("invalid taobao cursor: " + std::string(cursor));
  auto s = ParseTopTime(std::string_view(start->GetString(), start->GetStringLength()));
  if (!s) throw sdk::Failure("invalid taobao cursor: " + std::string(cursor));
  p.start = *s;
  if (const rapidjson::Value* end = Member(doc, "end"); end && end->IsString() && end->GetStringLength() > 0) {
    auto e = ParseTopTime(std::string_view(end->GetString(), end->GetStringLength()));
    if (!e || *e < p.start) throw sdk::Failure("invalid taobao cursor: " + std::string(cursor));
    p.end = *e;
  }
  if (const rapidjson::Value* page = Member(doc, "page"); page && page->IsInt64()) {
    p.page = page->GetInt64() < 1 ? 1 : page->GetInt64();
  }
  if (p.end == 0) p.page = 1;  // a page only means something within a fixed window
  return p;
}

std::string Taobao::Encode(const Position& p) {
  std::string out = "{\"start\":\"" + FormatTopTime(p.start) + "\"";
  if (p.end != 0) out += ",\"end\":\"" + FormatTopTime(p.end) + "\",\"page\":" + std::to_string(p.page);
  out += "}";
  return out;
}

int64_t Taobao::WindowEnd(int64_t start) const {
  int64_t end = std::min(start + window_s_, NowSeconds() - lag_s_);
  // Caught up (start is within the lag): a one-second window, which still ends in the past.
  if (end <= start) end = start + 1;
  return end;
}

sdk::OutRequest Taobao::BuildPoll(std::string_view cursor, std::string_view /*token*/) {
  built_.reset();
  Position p = Decode(cursor);
  // A new window starts with a count: page 1 with total_results (use_has_next=false). The other
  // pages are then read from the last to the first (see ParsePoll).
  p.counting = p.end == 0;
  if (p.counting) p.end = WindowEnd(p.start);

  std::map<std::string, std::string> params = {
      {"method", kMethod},
      {"app_key", app_key_},
      {"session", session_},
      {"timestamp", FormatTopTime(NowSeconds())},
      {"format", "json"},
      {"v", "2.0"},
      {"sign_method", sign_method_},
      {"fields", fields_},
      {"start_modified", FormatTopTime(p.start)},
      {"end_modified", FormatTopTime(p.end)},
      {"page_no", std::to_string(p.page)},
      {"page_size", std::to_string(page_size_)},
      {"use_has_next", p.counting ? "false" : "true"},
  };
  params["sign"] = TopSign(params, app_secret_, sign_method_);

  sdk::OutRequest r;
  r.method = "POST";
  r.target = "";  // the configured url itself
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded;charset=utf-8"}, {"Accept", "application/json"}};
  for (const auto& [k, v] : params) {
    if (!r.body.empty()) r.body.push_back('&');
    r.body.append(sdk::UrlEncode(k)).append("=").append(sdk::UrlEncode(v));
  }
  built_cursor_ = std::string(cursor);
  built_ = p;
  return r;
}

sdk::PollResult Taobao::ParsePoll(std::string_view cursor, const sdk::Response& res) {
  if (!built_ || built_cursor_ != cursor) {
    built_.reset();
    return sdk::PollResult::Fail(CHUB_VERDICT_RETRY, "answer does not belong to the last request built; polling again");
  }
  const Position p = *built_;
  built_.reset();

  if (res.status >= 500 || res.status == 429 || res.status == 408) {
    return sdk::PollResult::Fail(CHUB_VERDICT_RETRY, "TOP gateway answered HTTP " + std::to_string(res.status));
  }
  if (res.status < 200 || res.status >= 300) {
    return sdk::PollResult::Fail(CHUB_VERDICT_PERMANENT, "TOP gateway answered HTTP " + std::to_string(res.status) +
                                                              "; check the \"url\" setting");
  }
  rapidjson::Document doc;
  ParseJsonBounded(res.body, &doc);
  if (doc.HasParseError() || !doc.IsObject()) {
    return sdk::PollResult::Fail(CHUB_VERDICT_RETRY, "TOP gateway answered with something other than JSON");
  }
  if (const rapidjson::Value* err = Member(doc, "error_response"); err && err->IsObject()) return JudgeError(*err);

  const rapidjson::Value* body = Member(doc, kResponseKey);
  if (!body || !body->IsObject()) {
    return sdk::PollResult::Fail(CHUB_VERDICT_RETRY, std::string("TOP answer without ") + kResponseKey);
  }

  sdk::PollResult r;
  const rapidjson::Value* trades = Member(*body, "trades");
  const rapidjson::Value* list = trades ? Member(*trades, "trade") : nullptr;
  if (list && list->IsArray()) {
    for (const rapidjson::Value& t : list->GetArray()) {
      if (!t.IsObject()) continue;
      std::string tid;
      if (const rapidjson::Value* v = Member(t, "tid_str")) tid = Text(*v);
      if (tid.empty()) {
        if (const rapidjson::Value* v = Member(t, "tid")) tid = Text(*v);
      }
      std::string modified;
      if (const rapidjson::Value* v = Member(t, "modified")) modified = Text(*v);
      rapidjson::StringBuffer sb;
      rapidjson::Writer<rapidjson::StringBuffer> w(sb);
      t.Accept(w);
      // Without a tid the hub dedups on the body's hash: nothing is dropped.
      std::string event_id = tid.empty() ? std::string() : tid + ":" + modified;
      r.payloads.push_back({std::move(event_id), "taobao.trade", "application/json",
                            std::string(sb.GetString(), sb.GetSize())});
    }
  }
  // TOP lists a window's trades newest first. A trade modified while the window is being read
  // leaves it (its new modified time is past the window's end), and every older trade moves up
  // one place: read front to back, the trade that moves from the top of the next page onto a
  // page already read would be skipped for good. So, as TOP advises, the pages are read from
  // the last to the first: a move then only repeats a trade already read (same event id), and
  // page 1 is read once more at the end for the trades that moved onto it after the count.
  Position next = p;
  next.counting = false;
  bool window_done = false;
  if (p.counting) {
    const rapidjson::Value* total_v = Member(*body, "total_results");
    int64_t total = -1;
    if (total_v && total_v->IsInt64()) total = total_v->GetInt64();
    if (total_v && total_v->IsString()) {
      std::string_view t(total_v->GetString(), total_v->GetStringLength());
      std::from_chars(t.data(), t.data() + t.size(), total);
    }
    if (total < 0) {
      return sdk::PollResult::Fail(CHUB_VERDICT_RETRY, "TOP answer without total_results for the window's count");
    }
    const int64_t pages = (total + page_size_ - 1) / page_size_;
    if (pages <= 1) {
      window_done = true;
    } else {
      next.page = pages;
    }
  } else if (p.page > 1) {
    next.page = p.page - 1;
  } else {
    window_done = true;
  }

  if (window_done) {
    // The next window starts where this one ended (both ends are inclusive in TOP, so a trade
    // modified at that very second comes twice, with the same event id).
    next = Position{};
    next.start = p.end;
    r.more = next.start + window_s_ <= NowSeconds() - lag_s_;
  } else {
    r.more = true;
  }
  r.cursor = Encode(next);
  return r;
}

}  // namespace channelhub::connectors::ecommerce
