#include "connectors/ecommerce/shopify.hpp"

#include <charconv>
#include <chrono>

#include "connectors/common/crypto.hpp"

namespace channelhub::connectors::ecommerce {
namespace {

// Reads exactly "n" digits at "*pos" into "*out".
bool Digits(std::string_view s, std::size_t* pos, std::size_t n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view s, std::size_t* pos, char c) {
  if (*pos >= s.size() || s[*pos] != c) return false;
  ++*pos;
  return true;
}

}  // namespace

std::optional<int64_t> ParseIso8601Ms(std::string_view s) {
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!Digits(s, &pos, 4, &year) || !Expect(s, &pos, '-') || !Digits(s, &pos, 2, &month) ||
      !Expect(s, &pos, '-') || !Digits(s, &pos, 2, &day)) {
    return std::nullopt;
  }
  if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')) return std::nullopt;
  ++pos;
  if (!Digits(s, &pos, 2, &hour) || !Expect(s, &pos, ':') || !Digits(s, &pos, 2, &minute) ||
      !Expect(s, &pos, ':') || !Digits(s, &pos, 2, &second)) {
    return std::nullopt;
  }
  int64_t millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t first = pos;
    int64_t scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == first) return std::nullopt;
  }
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0;
    if (!Digits(s, &pos, 2, &oh)) return std::nullopt;
    if (pos < s.size() && s[pos] == ':') ++pos;
    if (!Digits(s, &pos, 2, &om) || oh > 23 || om > 59) return std::nullopt;
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;  // a time without a zone is ambiguous
  }
  if (pos != s.size()) return std::nullopt;
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  const int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  return secs * 1000 + millis;
}

Shopify::Shopify(const sdk::Host& host, const sdk::Settings& settings)
    : Connector(host), secret_(settings.Require("secret")) {
  if (auto v = settings.Get("max_age"); v && !v->empty()) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || end != v->data() + v->size() || n <= 0) {
      throw sdk::Failure("setting \"max_age\": expected a positive number of seconds, got \"" + *v + "\"");
    }
    max_age_s_ = n;
  }
}

sdk::InboundResult Shopify::Inbound(const sdk::Request& req) {
  // Authenticate the raw bytes first: nothing about the body is looked at before this.
  std::string given;
  const std::string_view header = req.Header("X-Shopify-Hmac-Sha256");
  const std::string expected = HmacSha256(secret_, req.body);
  if (header.empty() || !Base64Decode(header, &given) || !ConstantTimeEquals(given, expected)) {
    return sdk::InboundResult::Reject(401, "invalid signature");
  }

  const std::string_view topic = req.Header("X-Shopify-Topic");
  if (topic.empty()) return sdk::InboundResult::Reject(400, "missing X-Shopify-Topic header");

  if (max_age_s_) {
    const std::string_view triggered = req.Header("X-Shopify-Triggered-At");
    if (triggered.empty()) return sdk::InboundResult::Reject(400, "missing X-Shopify-Triggered-At header");
    const std::optional<int64_t> at = ParseIso8601Ms(triggered);
    if (!at) return sdk::InboundResult::Reject(400, "invalid X-Shopify-Triggered-At header");
    if (host().NowMs() - *at > *max_age_s_ * 1000) {
      return sdk::InboundResult::Reject(400, "stale delivery: triggered more than " +
                                                 std::to_string(*max_age_s_) + " s ago");
    }
  }

  std::size_t first = req.body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || req.body[first] != '{') {
    return sdk::InboundResult::Reject(400, "body is not a JSON object");
  }

  std::string event_id(req.Header("X-Shopify-Event-Id"));
  if (event_id.empty()) event_id = std::string(req.Header("X-Shopify-Webhook-Id"));

  sdk::InboundResult r;
  r.payloads.push_back({std::move(event_id), std::string(topic), "application/json", std::string(req.body)});
  r.status = 200;
  return r;
}

}  // namespace channelhub::connectors::ecommerce
