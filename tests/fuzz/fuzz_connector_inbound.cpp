// libFuzzer target: what every built-in connector reads from the outside, through the plugin C ABI
// exactly as the hub calls it (create once, then inbound / build_poll + parse_poll / parse_token /
// judge_delivery). WeCom has its own target (fuzz_wecom_inbound.cpp).
//
// Input: the first byte picks the connector (byte % 8, see kConnectors below); the rest is text
//   line 1       "<word> <rest>": for webhooks the method and the raw query ("POST a=1&b=2"); for
//                the pollers the HTTP status and the poll cursor ("200 {\"start\":...}")
//   headers      "Name: value" lines up to the first empty line
//   body         everything after the empty line
// Webhook connectors get the request as sent (their verification must refuse garbage), then
// once more signed correctly with the test secret below, so that the fuzzer reaches the unwrap
// and parse code behind the check (Shopify HMAC, Youzan md5 sign in the body, SAP Basic auth,
// QiMen query sign). Pollers and token connectors get the text as the system's HTTP answer.
//
// Besides crashes and sanitizer reports, the target traps on a broken ABI contract: a call that
// answers neither or twice, a reject status outside 4xx/5xx, a payload content type other than
// JSON or XML, or a verdict outside the ABI's enum.
#include <channelhub/plugin.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/common/crypto.hpp"
#include "connectors/ecommerce/shopify.hpp"
#include "connectors/ecommerce/taobao.hpp"
#include "connectors/ecommerce/youzan.hpp"
#include "connectors/erp/kingdee.hpp"
#include "connectors/erp/sap_idoc.hpp"
#include "connectors/finance/kingdee_finance.hpp"
#include "connectors/wms/qimen.hpp"

namespace sdk = channelhub::sdk;
namespace cn = channelhub::connectors;
namespace eco = channelhub::connectors::ecommerce;
namespace erp = channelhub::connectors::erp;
namespace wms = channelhub::connectors::wms;
namespace fin = channelhub::connectors::finance;

namespace {

using KV = std::vector<std::pair<std::string, std::string>>;

// ---- Test credentials (made up for this target; none is a real system's) ----
constexpr std::string_view kShopifySecret = "fuzz-shopify-secret";
constexpr std::string_view kYouzanClient = "fuzzclient01";
constexpr std::string_view kYouzanSecret = "fuzz-youzan-secret";
constexpr std::string_view kSapAuth = "Basic c2FwdXNlcjpmdXp6LXNhcC1wdw==";  // sapuser:fuzz-sap-pw
constexpr std::string_view kQimenAppKey = "fuzzwms";
constexpr std::string_view kQimenSecret = "fuzz-qimen-secret";
constexpr std::string_view kQimenCustomer = "C100";
constexpr const char* kKingdeeAppId = "fuzz01_ZnV6ei1hcHAtc2VjcmV0IQ==";  // Base64 of "fuzz-app-secret!"
constexpr int64_t kNowMs = 1700000000000;  // 2023-11-14T22:13:20Z

// ---- Input ----
struct Input {
  std::string word;  // method, or the HTTP status of an answer
  std::string rest;  // raw query, or the poll cursor
  KV headers;
  std::string body;
};

std::string_view StripCr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

Input Split(std::string_view in) {
  Input out;
  std::size_t nl = in.find('\n');
  std::string_view first = StripCr(in.substr(0, nl));
  in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  std::size_t sp = first.find(' ');
  out.word = std::string(first.substr(0, sp));
  if (sp != std::string_view::npos) out.rest = std::string(first.substr(sp + 1));
  while (!in.empty()) {
    nl = in.find('\n');
    std::string_view line = StripCr(in.substr(0, nl));
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    if (line.empty()) break;
    std::size_t colon = line.find(':');
    std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    out.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  out.body = std::string(in);
  return out;
}

int StatusOf(std::string_view word) {
  int status = 200;
  auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), status);
  if (ec != std::errc() || end != word.data() + word.size()) return 200;
  return status;
}

// Replaces (or adds) the header "name".
void SetHeader(KV* headers, std::string_view name, std::string value) {
  KV out;
  for (auto& kv : *headers) {
    if (!sdk::EqualsIgnoreCase(kv.first, name)) out.push_back(std::move(kv));
  }
  out.emplace_back(std::string(name), std::move(value));
  *headers = std::move(out);
}

bool HasHeader(const KV& headers, std::string_view name) {
  for (const auto& kv : headers) {
    if (sdk::EqualsIgnoreCase(kv.first, name)) return true;
  }
  return false;
}

std::vector<chub_kv> ToKv(const KV& kv) {
  std::vector<chub_kv> out;
  out.reserve(kv.size());
  for (const auto& [k, v] : kv) out.push_back({sdk::Str(k), sdk::Str(v)});
  return out;
}

// ---- The ABI, with sinks that check its contract ----

// CHUB_FUZZ_VERBOSE=1 prints every answer (to stderr), to see what an input reaches.
const bool kVerbose = std::getenv("CHUB_FUZZ_VERBOSE") != nullptr;

void Say(const char* what, int n, chub_str a, chub_str b = {}) {
  if (!kVerbose) return;
  std::fprintf(stderr, "  %s %d [%.*s] [%.*s]\n", what, n, static_cast<int>(std::min<size_t>(a.size, 200)), a.data,
               static_cast<int>(std::min<size_t>(b.size, 200)), b.data);
}

// Reads every byte the connector hands back, so that ASan sees a dangling or short range.
unsigned Touch(chub_str s) {
  if (s.size && !s.data) __builtin_trap();
  unsigned sum = 0;
  for (std::size_t i = 0; i < s.size; ++i) sum += static_cast<unsigned char>(s.data[i]);
  return sum;
}

void CheckContentType(chub_str ct) {
  const std::string_view t = sdk::View(ct);
  if (t != "application/json" && t != "application/xml") __builtin_trap();
}

volatile unsigned g_touched;  // keeps the reads above from being optimised away

struct Answers {
  int final_calls = 0;  // respond/reject, cursor/fail, token/fail, verdict, request/fail
  unsigned sum = 0;
  void Done() const {
    if (final_calls != 1) __builtin_trap();
    g_touched = sum;
  }
};

int64_t Now(void*) { return kNowMs; }
void Random(void*, unsigned char* buffer, size_t size) {
  for (size_t i = 0; i < size; ++i) buffer[i] = static_cast<unsigned char>(0x5A + i);
}
const chub_host kHost{CHUB_PLUGIN_ABI_VERSION, nullptr, [](void*, int, chub_str) {}, &Now, &Random};

void* Create(const chub_connector& c, const KV& settings) {
  std::vector<chub_kv> kv = ToKv(settings);
  const chub_settings s{kv.data(), kv.size()};
  char error[512];
  void* instance = c.create(&kHost, &s, error, sizeof error);
  if (!instance) __builtin_trap();  // the settings above are valid: creation must work
  return instance;
}

void Inbound(const chub_connector& c, void* instance, std::string_view method, std::string_view query,
             const KV& headers, std::string_view body) {
  std::vector<chub_kv> kv = ToKv(headers);
  const chub_http_request req{sdk::Str(method), sdk::Str("/webhooks/fuzz"), sdk::Str(query), kv.data(), kv.size(),
                              sdk::Str(body),   sdk::Str("203.0.113.7")};
  Answers a;
  const chub_inbound_sink sink{
      &a,
      [](void* ctx, chub_str id, chub_str kind, chub_str ct, chub_str payload) {
        auto* a = static_cast<Answers*>(ctx);
        if (a->final_calls) __builtin_trap();  // a payload after the answer
        CheckContentType(ct);
        Say("payload", 0, id, kind);
        a->sum += Touch(id) + Touch(kind) + Touch(payload);
      },
      [](void* ctx, int status, chub_str ct, chub_str answer) {
        auto* a = static_cast<Answers*>(ctx);
        if (status < 100 || status > 599) __builtin_trap();
        Say("respond", status, answer);
        a->sum += Touch(ct) + Touch(answer);
        ++a->final_calls;
      },
      [](void* ctx, int status, chub_str reason) {
        auto* a = static_cast<Answers*>(ctx);
        if (status < 400 || status > 599) __builtin_trap();
        Say("reject", status, reason);
        a->sum += Touch(reason);
        ++a->final_calls;
      }};
  c.inbound(instance, &req, &sink);
  a.Done();
}

chub_http_response Response(int status, const std::vector<chub_kv>& kv, std::string_view body) {
  return chub_http_response{status, kv.data(), kv.size(), sdk::Str(body)};
}

void ParsePoll(const chub_connector& c, void* instance, std::string_view cursor, const Input& in) {
  std::vector<chub_kv> kv = ToKv(in.headers);
  const chub_http_response res = Response(StatusOf(in.word), kv, in.body);
  Answers a;
  const chub_poll_sink sink{
      &a,
      [](void* ctx, chub_str id, chub_str kind, chub_str ct, chub_str payload) {
        auto* a = static_cast<Answers*>(ctx);
        if (a->final_calls) __builtin_trap();
        CheckContentType(ct);
        Say("poll payload", 0, id, kind);
        a->sum += Touch(id) + Touch(kind) + Touch(payload);
      },
      [](void* ctx, chub_str next, int more) {
        auto* a = static_cast<Answers*>(ctx);
        Say("poll cursor", more, next);
        a->sum += Touch(next);
        ++a->final_calls;
      },
      [](void* ctx, int verdict, chub_str message) {
        auto* a = static_cast<Answers*>(ctx);
        if (verdict != CHUB_VERDICT_RETRY && verdict != CHUB_VERDICT_PERMANENT &&
            verdict != CHUB_VERDICT_TOKEN_EXPIRED) {
          __builtin_trap();
        }
        Say("poll fail", verdict, message);
        a->sum += Touch(message);
        ++a->final_calls;
      }};
  c.parse_poll(instance, sdk::Str(cursor), &res, &sink);
  a.Done();
}

const chub_request_sink* RequestSink(Answers* a) {
  static thread_local chub_request_sink sink;
  sink = chub_request_sink{
      a,
      [](void* ctx, chub_str method, chub_str target, const chub_kv* kv, size_t n, chub_str body) {
        auto* a = static_cast<Answers*>(ctx);
        a->sum += Touch(method) + Touch(target) + Touch(body);
        for (size_t i = 0; i < n; ++i) a->sum += Touch(kv[i].key) + Touch(kv[i].value);
        ++a->final_calls;
      },
      [](void* ctx, chub_str reason) {
        auto* a = static_cast<Answers*>(ctx);
        a->sum += Touch(reason);
        ++a->final_calls;
      }};
  return &sink;
}

void BuildPoll(const chub_connector& c, void* instance, std::string_view cursor) {
  Answers a;
  c.build_poll(instance, sdk::Str(cursor), sdk::Str(""), RequestSink(&a));
  a.Done();
}

void ParseToken(const chub_connector& c, void* instance, const Input& in) {
  std::vector<chub_kv> kv = ToKv(in.headers);
  const chub_http_response res = Response(StatusOf(in.word), kv, in.body);
  Answers a;
  const chub_token_sink sink{&a,
                             [](void* ctx, chub_str token, int64_t) {
                               auto* a = static_cast<Answers*>(ctx);
                               Say("token", 0, token);
                               a->sum += Touch(token);
                               ++a->final_calls;
                             },
                             [](void* ctx, chub_str message) {
                               auto* a = static_cast<Answers*>(ctx);
                               Say("token fail", 0, message);
                               a->sum += Touch(message);
                               ++a->final_calls;
                             }};
  c.parse_token(instance, &res, &sink);
  a.Done();
}

// The answer to a delivery (the first attempt, a retry that looks the bill up first, and the
// later steps), as the dispatcher hands it over.
void JudgeDeliveries(const chub_connector& c, void* instance, const Input& in, std::string_view body,
                     std::string_view content_type) {
  std::vector<chub_kv> kv = ToKv(in.headers);
  const chub_http_response res = Response(StatusOf(in.word), kv, in.body);
  struct Step {
    int attempt;
    const char* step;
  };
  for (const Step& s : {Step{1, ""}, Step{2, ""}, Step{1, "submit:SO-1"}, Step{1, "audit:SO-1"},
                        Step{1, "verify:SO-1"}}) {
    const chub_delivery d{sdk::Str("fuzz-event:0"), sdk::Str("com.channelhub.order.upserted"),
                          sdk::Str("order/fuzz/1"), sdk::Str(content_type), sdk::Str(body), s.attempt,
                          sdk::Str(""),  sdk::Str(s.step)};
    Answers a;
    const chub_verdict_sink sink{&a, [](void* ctx, int verdict, chub_str message, chub_str step, int64_t retry) {
                                   auto* a = static_cast<Answers*>(ctx);
                                   if (verdict < CHUB_VERDICT_DONE || verdict > CHUB_VERDICT_NEXT || retry < 0) {
                                     __builtin_trap();
                                   }
                                   Say("verdict", verdict, message, step);
                                   a->sum += Touch(message) + Touch(step);
                                   ++a->final_calls;
                                 }};
    c.judge_delivery(instance, &d, &res, &sink);
    a.Done();
  }
}

// ---- JSON text for the Youzan envelope ----
std::string JsonQuote(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(ch));
    } else if (ch < 0x20) {
      out += "\\u00";
      out.push_back(kHex[ch >> 4]);
      out.push_back(kHex[ch & 15]);
    } else {
      out.push_back(static_cast<char>(ch));
    }
  }
  out.push_back('"');
  return out;
}

std::string YouzanSign(std::string_view msg) {
  std::string text(kYouzanClient);
  text.append(msg).append(kYouzanSecret);
  return cn::HexLower(cn::Md5(text));
}

// ---- The connectors ----
struct Target {
  chub_connector connector;
  void* instance;
};

Target Make(chub_connector c, const KV& settings) { return Target{c, Create(c, settings)}; }

KV KingdeeSigned() {
  return {{"url", "http://erp.example:8090/k3cloud/"},
          {"app_id", kKingdeeAppId},
          {"app_secret", "fuzz-kingdee-app-secret"},
          {"acct_id", "fuzzacct01"},
          {"user", "webapi"},
          {"form_id", "SAL_SaleOrder"},
          {"operations", "save,submit,audit"},
          {"field_keys", "FID,FBillNo,FModifyDate,FCustId.FNumber"},
          {"page_size", "3"}};
}

void Shopify(const Input& in) {
  static const Target t = Make(sdk::Describe<eco::Shopify>("shopify", "fuzz", CHUB_CAP_INBOUND, eco::kShopifySettings),
                               {{"secret", std::string(kShopifySecret)}, {"max_age", "300"}});
  Inbound(t.connector, t.instance, in.word, in.rest, in.headers, in.body);
  // Signed, with the headers a real delivery has (the input's own ones kept where present).
  KV headers = in.headers;
  SetHeader(&headers, "X-Shopify-Hmac-Sha256", cn::Base64Encode(cn::HmacSha256(kShopifySecret, in.body)));
  if (!HasHeader(headers, "X-Shopify-Topic")) headers.emplace_back("X-Shopify-Topic", "orders/create");
  if (!HasHeader(headers, "X-Shopify-Triggered-At")) {
    headers.emplace_back("X-Shopify-Triggered-At", "2023-11-14T22:13:00.123456789Z");
  }
  Inbound(t.connector, t.instance, "POST", in.rest, headers, in.body);
}

void Youzan(const Input& in) {
  static const Target t = Make(sdk::Describe<eco::Youzan>("youzan", "fuzz", CHUB_CAP_INBOUND, eco::kYouzanSettings),
                               {{"client_id", std::string(kYouzanClient)}, {"client_secret", std::string(kYouzanSecret)}});
  Inbound(t.connector, t.instance, in.word, in.rest, in.headers, in.body);
  // 1. The body as the envelope, with client_id and sign set right.
  rapidjson::Document env;
  env.Parse<rapidjson::kParseIterativeFlag>(in.body.data(), in.body.size());
  if (!env.HasParseError() && env.IsObject()) {
    env.RemoveMember("client_id");
    env.RemoveMember("sign");
    auto msg = env.FindMember("msg");
    if (msg == env.MemberEnd() || msg->value.IsString()) {
      const std::string_view raw =
          msg == env.MemberEnd() ? std::string_view() : std::string_view(msg->value.GetString(), msg->value.GetStringLength());
      const std::string sign = YouzanSign(raw);
      auto& a = env.GetAllocator();
      env.AddMember("client_id", rapidjson::Value(kYouzanClient.data(), static_cast<rapidjson::SizeType>(kYouzanClient.size()), a), a);
      env.AddMember("sign", rapidjson::Value(sign.c_str(), static_cast<rapidjson::SizeType>(sign.size()), a), a);
      rapidjson::StringBuffer sb;
      rapidjson::Writer<rapidjson::StringBuffer> w(sb);
      env.Accept(w);
      Inbound(t.connector, t.instance, "POST", in.rest, in.headers, std::string_view(sb.GetString(), sb.GetSize()));
    }
  }
  // 2. The body as msg (URL-encoded JSON, as Youzan sends it) in a signed envelope.
  const std::string envelope = "{\"client_id\":" + JsonQuote(kYouzanClient) +
                               ",\"id\":\"E20231114000001\",\"kdt_id\":1001,\"mode\":1,\"msg\":" + JsonQuote(in.body) +
                               ",\"sendCount\":0,\"sign\":\"" + YouzanSign(in.body) +
                               "\",\"status\":\"TRADE_PAID\",\"test\":false,\"type\":\"TRADE_ORDER_STATE\","
                               "\"version\":1700000000}";
  Inbound(t.connector, t.instance, "POST", in.rest, in.headers, envelope);
}

void Taobao(const Input& in) {
  static const Target t = Make(sdk::Describe<eco::Taobao>("taobao", "fuzz", CHUB_CAP_POLL, eco::kTaobaoSettings),
                               {{"app_key", "12345678"},
                                {"app_secret", "fuzz-top-secret"},
                                {"session", "fuzz-session"},
                                {"page_size", "3"},
                                {"start", "2023-11-13 00:00:00"}});
  // The answer belongs to the request built last: build for the input's cursor, then for none
  // (so that the body is parsed even when the cursor is refused).
  BuildPoll(t.connector, t.instance, in.rest);
  ParsePoll(t.connector, t.instance, in.rest, in);
  BuildPoll(t.connector, t.instance, "");
  ParsePoll(t.connector, t.instance, "", in);
  ParsePoll(t.connector, t.instance, "", in);  // no request built for it: refused, not parsed
}

void Kingdee(const Input& in) {
  static const Target t = Make(sdk::Describe<erp::Kingdee>("kingdee", "fuzz", CHUB_CAP_OUTBOUND | CHUB_CAP_POLL,
                                                           erp::Kingdee::kSettings),
                               KingdeeSigned());
  ParsePoll(t.connector, t.instance, in.rest, in);
  BuildPoll(t.connector, t.instance, in.rest);
  JudgeDeliveries(t.connector, t.instance, in, R"({"Model":{"FBillNo":"SO-1","FCustId":{"FNumber":"C1"}}})",
                  "application/json");
}

void KingdeeLogin(const Input& in) {
  static const Target t = Make(
      sdk::Describe<erp::KingdeeLogin>("kingdee_login", "fuzz", CHUB_CAP_OUTBOUND | CHUB_CAP_POLL | CHUB_CAP_TOKEN,
                                       erp::KingdeeLogin::kSettings),
      {{"url", "http://erp.example/k3cloud"},
       {"acct_id", "fuzzacct01"},
       {"user", "integ"},
       {"password", "fuzz-pw"},
       {"form_id", "SAL_SaleOrder"},
       {"operations", "save,submit"},
       {"field_keys", "FID,FModifyDate"}});
  ParseToken(t.connector, t.instance, in);
  ParsePoll(t.connector, t.instance, in.rest, in);
  JudgeDeliveries(t.connector, t.instance, in, R"({"Model":{"FBillNo":"SO-1"}})", "application/json");
}

void SapIdoc(const Input& in) {
  static const Target t =
      Make(sdk::Describe<erp::SapIdoc>("sap_idoc", "fuzz", CHUB_CAP_INBOUND | CHUB_CAP_OUTBOUND, erp::SapIdoc::kSettings),
           {{"user", "sapuser"}, {"password", "fuzz-sap-pw"}, {"sap_client", "100"}, {"url", "http://sap.example/sap/idoc"}});
  Inbound(t.connector, t.instance, in.word, in.rest, in.headers, in.body);
  KV headers = in.headers;
  SetHeader(&headers, "Authorization", std::string(kSapAuth));
  Inbound(t.connector, t.instance, "POST", in.rest, headers, in.body);
  JudgeDeliveries(t.connector, t.instance, in, "<ORDERS05/>", "application/xml");
}

void Qimen(const Input& in) {
  static const Target t =
      Make(sdk::Describe<wms::Qimen>("qimen", "fuzz", CHUB_CAP_INBOUND | CHUB_CAP_OUTBOUND, wms::Qimen::kSettings),
           {{"app_key", std::string(kQimenAppKey)},
            {"secret", std::string(kQimenSecret)},
            {"customer_id", std::string(kQimenCustomer)},
            {"url", "http://wms.example/router/qimen/service?target=wms1"}});
  Inbound(t.connector, t.instance, in.word, in.rest, in.headers, in.body);
  // Signed: the input's parameters with this source's app_key, customerId and md5 sign.
  std::vector<std::pair<std::string, std::string>> params;
  for (auto& [k, v] : sdk::ParseQuery(in.rest)) {
    if (k != "sign" && k != "app_key" && k != "customerId" && k != "sign_method") params.emplace_back(k, v);
  }
  params.emplace_back("app_key", std::string(kQimenAppKey));
  params.emplace_back("customerId", std::string(kQimenCustomer));
  params.emplace_back("sign_method", "md5");
  std::string query;
  for (const auto& [k, v] : params) query += (query.empty() ? "" : "&") + sdk::UrlEncode(k) + "=" + sdk::UrlEncode(v);
  query += "&sign=" + wms::qimen::Sign(wms::qimen::SignMethod::kMd5, kQimenSecret, params, in.body);
  Inbound(t.connector, t.instance, "POST", query, in.headers, in.body);
  JudgeDeliveries(t.connector, t.instance, in, "<request><deliveryOrder/></request>", "application/xml");
}

void KingdeeFinance(const Input& in) {
  static const Target t = Make(
      sdk::Describe<fin::KingdeeFinance>("kingdee_finance", "fuzz", CHUB_CAP_OUTBOUND | CHUB_CAP_POLL,
                                         fin::KingdeeFinance::kSettings),
      {{"url", "http://erp.example:8090/k3cloud/"},
       {"app_id", kKingdeeAppId},
       {"app_secret", "fuzz-kingdee-app-secret"},
       {"acct_id", "fuzzacct01"},
       {"user", "webapi"},
       {"operations", "save,submit,audit"},
       {"credit_form_id", "CRE_CustCreditLimit"},
       {"area_field", "FCreditArea"},
       {"page_size", "3"}});
  ParsePoll(t.connector, t.instance, in.rest, in);
  BuildPoll(t.connector, t.instance, in.rest);
  JudgeDeliveries(t.connector, t.instance, in,
                  R"({"Model":{"FBillNo":"AR-1","FCUSTOMERID":{"FNumber":"C1"}},"_chub":{"status":"paid"}})",
                  "application/json");
}

using Driver = void (*)(const Input&);
constexpr Driver kConnectors[8] = {&Shopify, &Youzan, &Taobao, &Kingdee, &KingdeeLogin, &SapIdoc, &Qimen, &KingdeeFinance};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Input in = Split(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  kConnectors[data[0] % 8](in);
  return 0;
}
