#include "tests/e2e/sim_ecommerce.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <utility>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace channelhub::e2e {
namespace {

constexpr std::string_view kTopMethod = "taobao.trades.sold.increment.get";
constexpr int64_t kTopMaxWindowSeconds = 86400;

std::string ToHex(const unsigned char* bytes, std::size_t n, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[bytes[i] >> 4]);
    out.push_back(digits[bytes[i] & 15]);
  }
  return out;
}

std::string Md5Hex(std::string_view data, bool upper) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, EVP_md5(), nullptr);
  return ToHex(out, n, upper);
}

std::string HmacHexUpper(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &n);
  return ToHex(out, n, true);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding ('+' is a space).
std::string FormDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void ParseForm(std::string_view text, std::map<std::string, std::string>* out) {
  while (!text.empty()) {
    const std::size_t amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    (*out)[FormDecode(pair.substr(0, eq))] =
        eq == std::string_view::npos ? std::string() : FormDecode(pair.substr(eq + 1));
  }
}

// "yyyy-MM-dd HH:mm:ss" (GMT+8) -> Unix seconds.
std::optional<int64_t> TopTimeSeconds(std::string_view s) {
  if (s.size() != 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  int v[6] = {0, 0, 0, 0, 0, 0};
  const std::size_t at[6] = {0, 5, 8, 11, 14, 17}, len[6] = {4, 2, 2, 2, 2, 2};
  for (int f = 0; f < 6; ++f) {
    for (std::size_t i = at[f]; i < at[f] + len[f]; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v[f] = v[f] * 10 + (s[i] - '0');
    }
  }
  using namespace std::chrono;
  const year_month_day ymd{year(v[0]), month(static_cast<unsigned>(v[1])), day(static_cast<unsigned>(v[2]))};
  if (!ymd.ok() || v[3] > 23 || v[4] > 59 || v[5] > 59) return std::nullopt;
  return sys_days(ymd).time_since_epoch().count() * 86400LL + v[3] * 3600 + v[4] * 60 + v[5] - 8 * 3600;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && s.size() <= 19 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Headers ShopifyWebhookHeaders(std::string_view secret, std::string_view body, std::string_view topic,
                              std::string_view event_id, std::string_view triggered_at) {
  std::string when(triggered_at);
  if (when.empty()) {
    const auto now = std::chrono::system_clock::now();
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
    when = buf;
  }
  return {
      {"X-Shopify-Topic", std::string(topic)},
      {"X-Shopify-Hmac-Sha256", HmacSha256Base64(secret, body)},
      {"X-Shopify-Shop-Domain", "channelhub-test.myshopify.com"},
      {"X-Shopify-API-Version", "2024-07"},
      {"X-Shopify-Webhook-Id", "wh-" + std::string(event_id)},
      {"X-Shopify-Event-Id", std::string(event_id)},
      {"X-Shopify-Triggered-At", when},
  };
}

std::string YouzanEncodeMsg(std::string_view msg_json) {
  // encodeURI leaves A-Z a-z 0-9 and ;,/?:@&=+$-_.!~*'()# as they are.
  static constexpr std::string_view kKept = ";,/?:@&=+$-_.!~*'()#";
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : msg_json) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        kKept.find(static_cast<char>(c)) != std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string YouzanPush(std::string_view client_id, std::string_view client_secret, std::string_view type,
                       std::string_view id, std::string_view status, std::string_view msg_json, int send_count,
                       int64_t version) {
  const std::string msg = YouzanEncodeMsg(msg_json);
  std::string signed_text;
  signed_text.append(client_id).append(msg).append(client_secret);
  const std::string sign = Md5Hex(signed_text, false);

  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  auto str = [&](const char* key, std::string_view value) {
    w.Key(key);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  w.StartObject();
  str("client_id", client_id);
  str("id", id);
  w.Key("kdt_id");
  w.Int64(17284278);
  str("kdt_name", "channelhub 测试店");
  w.Key("mode");
  w.Int(1);
  str("msg", msg);
  w.Key("sendCount");
  w.Int(send_count);
  str("sign", sign);
  str("status", status);
  w.Key("test");
  w.Bool(false);
  str("type", type);
  w.Key("version");
  w.Int64(version);
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

std::string YouzanProbe(std::string_view client_id, std::string_view client_secret) {
  std::string signed_text;
  signed_text.append(client_id).append(client_secret);
  return R"({"client_id":")" + JsonEscape(client_id) + R"(","mode":1,"msg":"","sign":")" +
         Md5Hex(signed_text, false) + R"(","test":true,"type":"TEST","version":0})";
}

TaobaoTopSimulator::TaobaoTopSimulator(std::string app_key, std::string app_secret, std::string session)
    : app_key_(std::move(app_key)), app_secret_(std::move(app_secret)), sessions_{std::move(session)} {}

void TaobaoTopSimulator::AddTrade(std::string_view tid, std::string_view modified, std::string_view status,
                                  std::string_view payment) {
  std::lock_guard<std::mutex> lock(mu_);
  for (Trade& t : trades_) {
    if (t.tid == tid) {
      t.modified = std::string(modified);
      t.status = std::string(status);
      t.payment = std::string(payment);
      return;
    }
  }
  trades_.push_back({std::string(tid), std::string(modified), std::string(status), std::string(payment)});
}

void TaobaoTopSimulator::AddSession(std::string_view session) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.emplace_back(session);
}

void TaobaoTopSimulator::RevokeSession(std::string_view session) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase(sessions_, std::string(session));
}

void TaobaoTopSimulator::FailNext(int n, Fault fault) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_left_ = n;
  fault_ = fault;
}

std::vector<TaobaoTopSimulator::Call> TaobaoTopSimulator::Calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

std::size_t TaobaoTopSimulator::CallCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_.size();
}

ScriptedReply TaobaoTopSimulator::Error(Call* call, int code, std::string_view msg, std::string_view sub_code,
                                        std::string_view sub_msg) const {
  call->error_code = code;
  std::string body = R"({"error_response":{"code":)" + std::to_string(code) + R"(,"msg":")" + JsonEscape(msg) + "\"";
  if (!sub_code.empty()) body += R"(,"sub_code":")" + JsonEscape(sub_code) + "\"";
  if (!sub_msg.empty()) body += R"(,"sub_msg":")" + JsonEscape(sub_msg) + "\"";
  body += R"(,"request_id":"sim)" + std::to_string(calls_.size()) + "\"}}";
  ScriptedReply reply;
  reply.status = 200;  // TOP reports errors in the body
  reply.body = std::move(body);
  reply.headers = {{"Content-Type", "application/json;charset=UTF-8"}};
  return reply;
}

ScriptedReply TaobaoTopSimulator::Handle(const RecordedRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.emplace_back();
  Call& call = calls_.back();

  if (const std::size_t q = request.target.find('?'); q != std::string::npos) {
    ParseForm(std::string_view(request.target).substr(q + 1), &call.params);
  }
  const std::string content_type = request.Header("Content-Type").value_or("");
  if (content_type.find("application/x-www-form-urlencoded") != std::string::npos) {
    ParseForm(request.body, &call.params);
  }
  auto param = [&](const char* name) -> std::string {
    auto it = call.params.find(name);
    return it == call.params.end() ? std::string() : it->second;
  };

  if (fail_left_ > 0) {
    --fail_left_;
    if (fault_ == Fault::kHttp502) {
      call.http_status = 502;
      ScriptedReply reply;
      reply.status = 502;
      reply.body = "<html><body><h1>502 Bad Gateway</h1></body></html>";
      reply.headers = {{"Content-Type", "text/html"}};
      return reply;
    }
    return Error(&call, 7, "App Call Limited", "accesscontrol.limited", "This ban will last for 1 more seconds");
  }

  if (param("method").empty()) return Error(&call, 21, "Missing method");
  if (param("method") != kTopMethod) return Error(&call, 22, "Invalid method");
  if (param("format") != "json") return Error(&call, 23, "Invalid format", "", "the simulator answers JSON only");
  if (param("app_key").empty()) return Error(&call, 28, "Missing app key");
  if (param("app_key") != app_key_) return Error(&call, 29, "Invalid app Key");

  // The signature: every parameter but sign, sorted by name, empty values skipped.
  std::string concat;
  for (const auto& [k, v] : call.params) {
    if (k != "sign" && !v.empty()) concat.append(k).append(v);
  }
  const std::string method = param("sign_method").empty() ? "md5" : param("sign_method");
  std::string expected;
  if (method == "md5") {
    expected = Md5Hex(app_secret_ + concat + app_secret_, true);
  } else if (method == "hmac") {
    expected = HmacHexUpper(EVP_md5(), app_secret_, concat);
  } else if (method == "hmac-sha256") {
    expected = HmacHexUpper(EVP_sha256(), app_secret_, concat);
  } else {
    return Error(&call, 25, "Invalid signature", "", "unsupported sign_method");
  }
  if (param("sign").empty()) return Error(&call, 25, "Invalid signature", "", "missing sign");
  std::string given = param("sign");
  std::transform(given.begin(), given.end(), given.begin(), [](char c) { return c >= 'a' && c <= 'f' ? c - 32 : c; });
  if (given != expected) return Error(&call, 25, "Invalid signature");

  const std::string session = param("session");
  if (session.empty()) return Error(&call, 26, "Missing session");
  if (std::find(sessions_.begin(), sessions_.end(), session) == sessions_.end()) {
    return Error(&call, 27, "Invalid session", "invalid-sessionkey", "SessionKey非法");
  }

  if (param("fields").empty()) return Error(&call, 40, "Missing required arguments:fields");
  const auto start = TopTimeSeconds(param("start_modified"));
  const auto end = TopTimeSeconds(param("end_modified"));
  if (!start || !end) {
    return Error(&call, 41, "Invalid arguments", "isv.invalid-parameter", "start_modified and end_modified are required");
  }
  if (*end < *start) return Error(&call, 41, "Invalid arguments", "isv.invalid-parameter", "end_modified before start_modified");
  if (*end - *start > kTopMaxWindowSeconds) {
    return Error(&call, 41, "Invalid arguments", "isv.invalid-parameter",
                 "end_modified - start_modified must be at most one day");
  }
  int64_t page_no = 1, page_size = 40;
  try {
    if (!param("page_no").empty()) page_no = std::stoll(param("page_no"));
    if (!param("page_size").empty()) page_size = std::stoll(param("page_size"));
  } catch (const std::exception&) {
    return Error(&call, 41, "Invalid arguments", "isv.invalid-parameter", "page_no or page_size");
  }
  if (page_no < 1 || page_size < 1 || page_size > 100) {
    return Error(&call, 41, "Invalid arguments", "isv.invalid-parameter", "page_no >= 1, 1 <= page_size <= 100");
  }

  std::vector<const Trade*> hits;
  for (const Trade& t : trades_) {
    const auto m = TopTimeSeconds(t.modified);
    if (m && *m >= *start && *m <= *end) hits.push_back(&t);
  }
  std::sort(hits.begin(), hits.end(), [](const Trade* a, const Trade* b) {
    return a->modified != b->modified ? a->modified > b->modified : a->tid > b->tid;
  });
  const std::size_t from = static_cast<std::size_t>((page_no - 1) * page_size);
  const std::size_t to = std::min(hits.size(), from + static_cast<std::size_t>(page_size));
  const bool has_next = to < hits.size();

  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  auto str = [&](const char* key, std::string_view value) {
    w.Key(key);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  auto tid_value = [&](const std::string& tid) {
    if (AllDigits(tid)) {
      w.Uint64(std::stoull(tid));
    } else {
      w.String(tid.c_str());
    }
  };
  w.StartObject();
  w.Key("trades_sold_increment_get_response");
  w.StartObject();
  if (param("use_has_next") != "true") {
    w.Key("total_results");
    w.Uint64(hits.size());
  }
  w.Key("has_next");
  w.Bool(has_next);
  if (from < to) {  // TOP leaves "trades" out of an empty page
    w.Key("trades");
    w.StartObject();
    w.Key("trade");
    w.StartArray();
    for (std::size_t i = from; i < to; ++i) {
      const Trade& t = *hits[i];
      w.StartObject();
      w.Key("tid");
      tid_value(t.tid);
      str("tid_str", t.tid);
      str("type", "fixed");
      str("status", t.status);
      str("payment", t.payment);
      str("total_fee", t.payment);
      str("post_fee", "0.00");
      str("created", t.modified);
      str("modified", t.modified);
      str("buyer_nick", "sandbox_buyer");
      str("seller_nick", "sandbox_seller");
      str("receiver_name", "张三");
      str("receiver_state", "浙江省");
      str("receiver_city", "杭州市");
      str("receiver_district", "余杭区");
      str("receiver_address", "文一西路969号");
      str("receiver_mobile", "13800000000");
      w.Key("orders");
      w.StartObject();
      w.Key("order");
      w.StartArray();
      w.StartObject();
      w.Key("oid");
      tid_value(t.tid);
      str("status", t.status);
      str("title", "sandbox item");
      w.Key("num");
      w.Int(1);
      str("price", t.payment);
      str("payment", t.payment);
      w.EndObject();
      w.EndArray();
      w.EndObject();
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  str("request_id", "sim" + std::to_string(calls_.size()));
  w.EndObject();
  w.EndObject();

  call.trades = to > from ? to - from : 0;
  call.has_next = has_next;
  ScriptedReply reply;
  reply.status = 200;
  reply.body = std::string(sb.GetString(), sb.GetSize());
  reply.headers = {{"Content-Type", "application/json;charset=UTF-8"}};
  return reply;
}

}  // namespace channelhub::e2e
