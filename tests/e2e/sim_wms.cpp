#include "tests/e2e/sim_wms.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace channelhub::e2e {

namespace {

std::string UpperHex(const unsigned char* p, unsigned int n) {
  std::string out;
  char buf[3];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%02X", p[i]);
    out += buf;
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

std::string Encode(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string Answer(bool ok, const std::string& code, const std::string& message) {
  return std::string("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<response>\n  <flag>") + (ok ? "success" : "failure") +
         "</flag>\n  <code>" + code + "</code>\n  <message>" + message + "</message>\n</response>\n";
}

}  // namespace

std::string XmlElementText(const std::string& xml, const std::string& tag) {
  const std::string open = "<" + tag + ">";
  const std::size_t at = xml.find(open);
  if (at == std::string::npos) return "";
  const std::size_t end = xml.find("</" + tag + ">", at);
  if (end == std::string::npos) return "";
  return xml.substr(at + open.size(), end - at - open.size());
}

QimenWmsSimulator::QimenWmsSimulator(std::string app_key, std::string secret, std::string customer_id,
                                     std::string sign_method)
    : app_key_(std::move(app_key)), secret_(std::move(secret)), customer_id_(std::move(customer_id)),
      sign_method_(std::move(sign_method)) {}

std::string QimenWmsSimulator::Sign(const std::vector<std::pair<std::string, std::string>>& params,
                                    const std::string& body) const {
  std::map<std::string, std::string> sorted;
  for (const auto& [k, v] : params) {
    if (k != "sign" && !k.empty() && !v.empty()) sorted[k] = v;
  }
  std::string text;
  for (const auto& [k, v] : sorted) text += k + v;
  text += body;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (sign_method_ == "hmac") {
    HMAC(EVP_md5(), secret_.data(), static_cast<int>(secret_.size()), reinterpret_cast<const unsigned char*>(text.data()),
         text.size(), digest, &n);
  } else {
    const std::string all = secret_ + text + secret_;
    EVP_Digest(all.data(), all.size(), digest, &n, EVP_md5(), nullptr);
  }
  return UpperHex(digest, n);
}

std::string QimenWmsSimulator::SignedQuery(const std::string& method, const std::string& body,
                                           const std::string& timestamp) const {
  std::vector<std::pair<std::string, std::string>> params = {
      {"method", method}, {"timestamp", timestamp}, {"format", "xml"},          {"app_key", app_key_},
      {"v", "2.0"},       {"sign_method", sign_method_}, {"customerId", customer_id_}};
  std::string q;
  for (const auto& [k, v] : params) q += (q.empty() ? "?" : "&") + k + "=" + Encode(v);
  return q + "&sign=" + Sign(params, body);
}

void QimenWmsSimulator::FailNext(int n) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_next_ = n;
}

void QimenWmsSimulator::RefuseNext(std::string code, std::string message) {
  std::lock_guard<std::mutex> lock(mu_);
  refusals_.emplace_back(std::move(code), std::move(message));
}

ScriptedReply QimenWmsSimulator::Handle(const RecordedRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_;
  ScriptedReply reply;
  reply.headers = {{"Content-Type", "text/xml;charset=utf-8"}};
  if (fail_next_ > 0) {
    --fail_next_;
    reply.status = 503;
    reply.body = "<html><body>503 Service Temporarily Unavailable</body></html>";
    return reply;
  }
  std::vector<std::pair<std::string, std::string>> params;
  std::map<std::string, std::string> by;
  const std::size_t q = request.target.find('?');
  std::string query = q == std::string::npos ? "" : request.target.substr(q + 1);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string part = query.substr(0, amp);
    query = amp == std::string::npos ? "" : query.substr(amp + 1);
    const std::size_t eq = part.find('=');
    std::string k = Decode(part.substr(0, eq));
    std::string v = eq == std::string::npos ? "" : Decode(part.substr(eq + 1));
    by[k] = v;
    params.emplace_back(std::move(k), std::move(v));
  }
  if (request.method != "POST" || by["app_key"] != app_key_ || by["sign_method"] != sign_method_ ||
      by["customerId"] != customer_id_ || by["v"] != "2.0" || by["timestamp"].size() != 19 ||
      by["sign"] != Sign(params, request.body)) {
    ++sign_failures_;
    reply.body = Answer(false, "sign-check-failure", "Illegal request");
    return reply;
  }
  if (by["method"] != "taobao.qimen.deliveryorder.create") {
    reply.body = Answer(false, "isv.invalid-method", "不支持的方法 " + by["method"]);
    return reply;
  }
  const std::string code = XmlElementText(request.body, "deliveryOrderCode");
  if (code.empty() || XmlElementText(request.body, "itemCode").empty()) {
    reply.body = Answer(false, "isv.missing-parameter", "deliveryOrderCode / orderLines 不能为空");
    return reply;
  }
  if (!refusals_.empty()) {
    auto [c, m] = refusals_.front();
    refusals_.erase(refusals_.begin());
    reply.body = Answer(false, c, m);
    return reply;
  }
  // The WMS is idempotent on deliveryOrderCode: a repeat is answered success, not stored twice.
  const bool known = std::any_of(orders_.begin(), orders_.end(), [&](const Order& o) { return o.code == code; });
  if (!known) orders_.push_back({code, request.body, by});
  reply.body = Answer(true, "0", known ? "单据已存在" : "创建成功");
  return reply;
}

std::vector<QimenWmsSimulator::Order> QimenWmsSimulator::Orders() const {
  std::lock_guard<std::mutex> lock(mu_);
  return orders_;
}

int QimenWmsSimulator::SignFailures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sign_failures_;
}

int QimenWmsSimulator::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

}  // namespace channelhub::e2e
