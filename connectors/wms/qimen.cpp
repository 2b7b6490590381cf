#include "connectors/wms/qimen.hpp"

#include <pugixml.hpp>

#include <algorithm>
#include <ctime>

#include "connectors/common/crypto.hpp"
#include "connectors/common/xml_guard.hpp"

namespace channelhub::connectors::wms {

namespace qimen {

namespace {

constexpr std::string_view kPrefix = "taobao.qimen.";

std::string Trimmed(std::string_view s) {
  const char* ws = " \t\r\n";
  std::size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return "";
  std::size_t e = s.find_last_not_of(ws);
  return std::string(s.substr(b, e - b + 1));
}

void AppendEscaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
}

}  // namespace

bool ParseSignMethod(std::string_view text, SignMethod* out) {
  if (text == "md5") *out = SignMethod::kMd5;
  else if (text == "hmac") *out = SignMethod::kHmacMd5;
  else if (text == "hmac-sha256") *out = SignMethod::kHmacSha256;
  else return false;
  return true;
}

std::string SignBase(std::vector<std::pair<std::string, std::string>> params, std::string_view body) {
  params.erase(std::remove_if(params.begin(), params.end(),
                              [](const auto& kv) { return kv.first.empty() || kv.second.empty() || kv.first == "sign"; }),
               params.end());
  std::stable_sort(params.begin(), params.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string base;
  for (const auto& [k, v] : params) {
    base += k;
    base += v;
  }
  base.append(body.data(), body.size());
  return base;
}

std::string Sign(SignMethod method, std::string_view secret,
                 const std::vector<std::pair<std::string, std::string>>& params, std::string_view body) {
  const std::string base = SignBase(params, body);
  switch (method) {
    case SignMethod::kMd5: {
      std::string text(secret);
      text += base;
      text.append(secret.data(), secret.size());
      return HexUpper(Md5(text));
    }
    case SignMethod::kHmacMd5: return HexUpper(HmacMd5(secret, base));
    case SignMethod::kHmacSha256: return HexUpper(HmacSha256(secret, base));
  }
  return "";
}

std::string ResponseXml(bool success, std::string_view code, std::string_view message) {
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?><response><flag>";
  out += success ? "success" : "failure";
  out += "</flag><code>";
  AppendEscaped(out, code);
  out += "</code><message>";
  AppendEscaped(out, message);
  out += "</message></response>";
  return out;
}

std::string ShortMethod(std::string_view method) {
  if (method.substr(0, kPrefix.size()) == kPrefix) method.remove_prefix(kPrefix.size());
  return std::string(method);
}

std::string ChinaTime(int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000 + 8 * 3600);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

}  // namespace qimen

namespace {

using qimen::Trimmed;

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    std::size_t comma = text.find(',');
    std::string item = Trimmed(text.substr(0, comma));
    if (!item.empty()) out.push_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// The text of the first element at "xpath" under "doc", trimmed ("" when absent).
std::string Text(const pugi::xml_node& node, const char* xpath) {
  pugi::xpath_node n = node.select_node(xpath);
  return n ? Trimmed(n.node().child_value()) : std::string();
}

// The hub takes event ids of 1 to 200 characters without spaces or control characters: those
// become '_'; a longer id becomes a hash.
std::string EventId(std::string id) {
  for (char& c : id) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x21 || u == 0x7f) c = '_';
  }
  if (id.size() > 200) id = "qimen:" + HexLower(Sha256(id)).substr(0, 40);
  return id;
}

bool Supported(std::string_view short_method) {
  return short_method == "deliveryorder.confirm" || short_method == "inventory.report" ||
         short_method == "stockchange.report";
}

}  // namespace

const char* const Qimen::kSettings[] = {"app_key",        "secret", "customer_id", "sign_method",
                                        "target_app_key", "method", "statuses",    "url",
                                        nullptr};

Qimen::Qimen(const sdk::Host& host, const sdk::Settings& settings) : Connector(host) {
  app_key_ = Trimmed(settings.Require("app_key"));
  secret_ = settings.Require("secret");
  customer_id_ = Trimmed(settings.GetOr("customer_id", ""));
  sign_method_name_ = Trimmed(settings.GetOr("sign_method", "md5"));
  if (sign_method_name_.empty()) sign_method_name_ = "md5";
  if (!qimen::ParseSignMethod(sign_method_name_, &sign_method_)) {
    throw sdk::Failure("setting \"sign_method\": expected md5, hmac or hmac-sha256, got \"" + sign_method_name_ + "\"");
  }
  target_app_key_ = Trimmed(settings.GetOr("target_app_key", ""));
  out_method_ = Trimmed(settings.GetOr("method", "taobao.qimen.deliveryorder.create"));
  if (out_method_.empty()) throw sdk::Failure("setting \"method\" is empty");
  if (out_method_.find('.') == std::string::npos) throw sdk::Failure("setting \"method\": expected e.g. taobao.qimen.deliveryorder.create");
  if (out_method_.rfind("taobao.qimen.", 0) != 0) out_method_ = "taobao.qimen." + out_method_;
  statuses_ = SplitList(settings.GetOr("statuses", "confirmed,paid"));
  const std::string url = Trimmed(settings.GetOr("url", ""));
  if (!url.empty()) {
    std::size_t scheme = url.find("://");
    std::size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    std::string rest = slash == std::string::npos ? "/" : url.substr(slash);
    std::size_t q = rest.find('?');
    url_path_ = rest.substr(0, q);
    if (q != std::string::npos) url_query_ = rest.substr(q + 1);
  }
  if (url_path_.empty()) url_path_ = "/";
}

sdk::InboundResult Qimen::Failure(std::string_view code, std::string_view message, std::string_view log) const {
  host().Log(2, "qimen: refused a request: " + std::string(log));
  sdk::InboundResult r;  // no payloads: nothing is journaled
  r.status = 200;        // QiMen reads the flag; see the header
  r.content_type = "application/xml; charset=utf-8";
  r.body = qimen::ResponseXml(false, code, message);
  return r;
}

sdk::InboundResult Qimen::Inbound(const sdk::Request& req) {
  if (!sdk::EqualsIgnoreCase(req.method, "POST")) return sdk::InboundResult::Reject(405, "QiMen calls are POST");
  std::vector<std::pair<std::string, std::string>> params = sdk::ParseQuery(req.query);
  std::string sign, method, app_key, sign_method = "md5", customer;
  for (const auto& [k, v] : params) {
    if (k == "sign") sign = v;
    else if (k == "method") method = v;
    else if (k == "app_key") app_key = v;
    else if (k == "sign_method") sign_method = v;
    else if (k == "customerId") customer = v;
  }
  // Authentication first, with one generic answer for every way it can fail.
  bool ok = !sign.empty();
  ok = ConstantTimeEquals(app_key, app_key_) && ok;
  qimen::SignMethod m;
  const bool known_method = qimen::ParseSignMethod(sign_method, &m) && m == sign_method_;
  const std::string expected = qimen::Sign(sign_method_, secret_, params, req.body);
  std::string given = sign;
  for (char& c : given) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  ok = ConstantTimeEquals(given, expected) && ok && known_method;
  if (!ok) return Failure("sign-check-failure", "Illegal request", "bad app_key, sign_method or sign");
  if (!customer_id_.empty() && customer != customer_id_) {
    return Failure("invalid-customer", "unknown customerId", "customerId \"" + customer + "\" is not this source's");
  }

  const std::string short_method = qimen::ShortMethod(method);
  if (!Supported(short_method)) {
    return Failure("invalid-method", "method not supported: " + method, "unsupported method " + method);
  }
  pugi::xml_document doc;
  const std::string problem = ParseXmlGuarded(req.body, &doc);
  pugi::xml_node root = doc.document_element();
  if (!problem.empty() || !root || std::string_view(root.name()) != "request") {
    return Failure("invalid-body", "the body is not a QiMen <request> XML document", "malformed body");
  }

  std::string event_id;
  if (short_method == "deliveryorder.confirm") {
    const std::string code = Text(root, "deliveryOrder/deliveryOrderCode");
    if (code.empty()) return Failure("invalid-body", "deliveryOrder/deliveryOrderCode is missing", "no deliveryOrderCode");
    std::string version = Text(root, "deliveryOrder/outBizCode");
    if (version.empty()) version = Text(root, "deliveryOrder/orderConfirmTime");
    if (version.empty()) version = Text(root, "deliveryOrder/operateTime");
    if (version.size() > 10 && version[10] == ' ') version[10] = 'T';  // "yyyy-MM-dd HH:mm:ss"
    event_id = "deliveryorder:" + code;
    if (!version.empty()) event_id += ":" + version;
  } else {
    // A stock report's own idempotency key when it has one, else the hash of the body.
    const std::string out_biz = Text(root, "outBizCode");
    event_id = short_method + ":" + (out_biz.empty() ? HexLower(Sha256(req.body)).substr(0, 40) : out_biz);
  }
  sdk::InboundResult r;
  r.payloads.push_back({EventId(std::move(event_id)), short_method, "application/xml", std::string(req.body)});
  r.status = 200;
  r.content_type = "application/xml; charset=utf-8";
  r.body = qimen::ResponseXml(true, "0", "success");
  return r;
}

sdk::OutRequest Qimen::BuildDelivery(const sdk::Delivery& d) {
  pugi::xml_document doc;
  if (!doc.load_buffer(d.body.data(), d.body.size()) || !doc.document_element() ||
      std::string_view(doc.document_element().name()) != "request") {
    throw sdk::Failure("the mapped body is not a QiMen <request> document (use a mapping with root: request)");
  }
  const std::string status = Text(doc.document_element(), "deliveryOrder/extendProps/orderStatus");
  if (!status.empty() && !statuses_.empty() &&
      std::find(statuses_.begin(), statuses_.end(), status) == statuses_.end()) {
    std::string list;
    for (const auto& s : statuses_) list += (list.empty() ? "" : ", ") + s;
    throw sdk::Failure("order status \"" + status + "\" is not sent to the WMS (statuses: " + list + ")");
  }
  std::vector<std::pair<std::string, std::string>> params = {
      {"method", out_method_},       {"timestamp", qimen::ChinaTime(host().NowMs())},
      {"format", "xml"},             {"app_key", app_key_},
      {"v", "2.0"},                  {"sign_method", sign_method_name_}};
  if (!customer_id_.empty()) params.emplace_back("customerId", customer_id_);
  if (!target_app_key_.empty()) params.emplace_back("target_app_key", target_app_key_);
  // Parameters already in the configured url are part of the request, so they are signed too.
  for (auto& kv : sdk::ParseQuery(url_query_)) params.push_back(std::move(kv));
  const std::string sign = qimen::Sign(sign_method_, secret_, params, d.body);
  std::string query;
  for (const auto& [k, v] : params) query += (query.empty() ? "" : "&") + sdk::UrlEncode(k) + "=" + sdk::UrlEncode(v);
  query += "&sign=" + sign;

  sdk::OutRequest r;
  r.method = "POST";
  r.target = url_path_ + "?" + query;
  r.headers = {{"Content-Type", "application/xml; charset=utf-8"}, {"Idempotency-Key", std::string(d.event_id)}};
  r.body = std::string(d.body);
  return r;
}

sdk::Verdict Qimen::JudgeDelivery(const sdk::Delivery&, const sdk::Response& res) {
  if (res.status == 429 || res.status >= 500) return sdk::Verdict::Retry("QiMen answered HTTP " + std::to_string(res.status));
  if (res.status < 200 || res.status >= 300) return sdk::Verdict::Permanent("QiMen answered HTTP " + std::to_string(res.status));
  pugi::xml_document doc;
  pugi::xml_node root;
  if (doc.load_buffer(res.body.data(), res.body.size())) root = doc.document_element();
  if (!root || std::string_view(root.name()) != "response") {
    return sdk::Verdict::Retry("QiMen's answer is not a <response> document");
  }
  const std::string flag = Text(root, "flag");
  const std::string code = Text(root, "code");
  const std::string message = Text(root, "message");
  if (flag == "success") return sdk::Verdict::Done();
  if (flag != "failure") return sdk::Verdict::Retry("QiMen's answer has no flag success/failure");
  // TOP platform errors that a later attempt can get past: service busy or unavailable, limits.
  const bool transient = code.rfind("isp.", 0) == 0 || code == "7" || code == "accesscontrol.limited-by-api-access-count" ||
                         code.find("service-unavailable") != std::string::npos;
  std::string text = out_method_ + " refused: " + (code.empty() ? "" : code + ": ") + message;
  if (transient) return sdk::Verdict::Retry(text);
  return sdk::Verdict::Permanent(text);
}

}  // namespace channelhub::connectors::wms
