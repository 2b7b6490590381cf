#include "hub/pipeline/ingest.hpp"

#include "hub/common/log.hpp"

#include <array>

#include "hub/common/metrics.hpp"

#include <pugixml.hpp>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/pointer.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <charconv>
#include <unordered_set>
#include <deque>
#include <cmath>
#include <mutex>
#include <thread>
#include <cctype>
#include <cstring>

#include "hub/common/ids.hpp"
#include "hub/common/ip_range.hpp"
#include "hub/common/json.hpp"
#include "hub/common/xml_limits.hpp"
#include "hub/common/time.hpp"
#include "spdlog/spdlog.h"

namespace channelhub::pipeline {

using server::HttpRequest;
using server::HttpResponse;
using server::Reply;

namespace {

constexpr std::size_t kMaxEventIdLength = 200;
constexpr std::string_view kWebhookPrefix = "/webhooks/";

// Platform headers that name the event's topic, checked in order.
constexpr const char* kTopicHeaders[] = {"X-Shopify-Topic", "X-Event-Type", "X-Event-Topic"};

enum class BodyKind { kJson, kXml, kUnsupported };

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

BodyKind KindOf(std::string_view content_type, std::string_view body) {
  std::string ct = Lower(content_type.substr(0, content_type.find(';')));
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  if (ct == "application/json" || (ct.size() > 5 && ct.ends_with("+json")) || ct == "text/json") {
    return BodyKind::kJson;
  }
  if (ct == "application/xml" || ct == "text/xml" || (ct.size() > 4 && ct.ends_with("+xml"))) {
    return BodyKind::kXml;
  }
  if (ct.empty()) {  // no Content-Type: look at the first byte that is not white space
    for (char c : body) {
      if (std::isspace(static_cast<unsigned char>(c))) continue;
      if (c == '{' || c == '[') return BodyKind::kJson;
      if (c == '<') return BodyKind::kXml;
      break;
    }
  }
  return BodyKind::kUnsupported;
}

bool ValidEventId(std::string_view id) {
  if (id.empty() || id.size() > kMaxEventIdLength) return false;
  for (unsigned char c : id) {
    if (c < 0x21 || c == 0x7f) return false;
  }
  return true;
}

// Counts nesting while RapidJSON checks the syntax; stops the parse past json::kMaxDepth.
struct DepthCounter : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, DepthCounter> {
  int depth = 0;
  bool too_deep = false;
  bool Push() {
    too_deep = ++depth > json::kMaxDepth;
    return !too_deep;
  }
  bool StartObject() { return Push(); }
  bool StartArray() { return Push(); }
  bool Pop() {
    --depth;
    return true;
  }
  bool EndObject(rapidjson::SizeType) { return Pop(); }
  bool EndArray(rapidjson::SizeType) { return Pop(); }
};

// Why a body is refused: a 4xx status (0 when it is fine), the error code and a message that
// names the offset where it can.
struct BodyCheck {
  int status = 0;
  std::string code;
  std::string message;
};

BodyCheck CheckJson(std::string_view body) {
  // A NUL can only be an unescaped control character; RapidJSON would take it for the end.
  if (const void* nul = std::memchr(body.data(), '\0', body.size())) {
    const auto at = static_cast<const char*>(nul) - body.data();
    return {400, "malformed_body",
            "JSON parse error at offset " + std::to_string(at) + ": a NUL byte (control characters must be escaped)"};
  }
  if (body.starts_with("\xEF\xBB\xBF")) {  // RapidJSON would say "Invalid value at offset 0"
    return {400, "malformed_body",
            "JSON parse error at offset 0: the body starts with a UTF-8 byte order mark (EF BB BF), which JSON "
            "does not allow; send the JSON without it"};
  }
  rapidjson::MemoryStream ms(body.data(), body.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> is(ms);
  DepthCounter counter;
  rapidjson::Reader reader;
  // Iterative: the depth is checked by the counter, not paid for with native stack.
  rapidjson::ParseResult pr =
      reader.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(is, counter);
  if (counter.too_deep) {
    return {400, "body_too_complex",
            "JSON nested deeper than " + std::to_string(json::kMaxDepth) + " levels at offset " +
                std::to_string(pr.Offset())};
  }
  if (pr.IsError()) {
    return {400, "malformed_body",
            std::string("JSON parse error at offset ") + std::to_string(pr.Offset()) + " (" +
                json::LineColumn(body, pr.Offset()) + "): " + rapidjson::GetParseError_En(pr.Code())};
  }
  return {};
}

BodyCheck CheckBody(BodyKind kind, std::string_view body, const xml::Limits& limits) {
  if (kind == BodyKind::kJson) return CheckJson(body);
  pugi::xml_document doc;
  Status st = xml::ParseBounded(body, &doc, limits);
  if (st.ok()) return {};
  return {400, st.code() == StatusCode::kResourceExhausted ? "body_too_complex" : "malformed_body", st.message()};
}

xml::Limits XmlLimitsOf(const config::Config& c) {
  return xml::Limits{c.server.xml_max_depth, c.server.xml_max_nodes};
}

HttpResponse Accepted(std::string_view event_id, std::string_view trace_id, bool duplicate) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("event_id");
  w.String(event_id.data(), static_cast<rapidjson::SizeType>(event_id.size()));
  w.Key("trace_id");
  w.String(trace_id.data(), static_cast<rapidjson::SizeType>(trace_id.size()));
  w.Key("duplicate");
  w.Bool(duplicate);
  w.EndObject();
  HttpResponse r = HttpResponse::Json(202, std::string(sb.GetString(), sb.GetSize()));
  r.headers.emplace_back("X-Trace-Id", std::string(trace_id));
  return r;
}

}  // namespace

// A token bucket: "rate" tokens a second, at most "burst" saved up.
class TokenBucket {
 public:
  TokenBucket(double rate, int burst) : rate_(rate), burst_(std::max(1, burst)), tokens_(burst_) {}
  // Takes a token if there is one; else the seconds until the next one.
  bool Take(int* retry_after_s) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    tokens_ = std::min<double>(burst_, tokens_ + elapsed * rate_);
    if (tokens_ >= 1) {
      tokens_ -= 1;
      return true;
    }
    *retry_after_s = std::max(1, static_cast<int>(std::ceil((1 - tokens_) / rate_)));
    return false;
  }

 private:
  std::mutex mu_;
  double rate_;
  int burst_;
  double tokens_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// Signatures seen within their window: a signed request is accepted once.
class ReplayCache {
 public:
  static constexpr std::size_t kMaxEntries = 200000;
  // True the first time "key" is seen within "window_ms".
  bool FirstSeen(const std::string& key, int64_t window_ms) {
    const int64_t now = NowUnixMillis();
    std::lock_guard<std::mutex> lock(mu_);
    while (!order_.empty() && (order_.front().first <= now || order_.size() > kMaxEntries)) {
      seen_.erase(order_.front().second);
      order_.pop_front();
    }
    if (!seen_.insert(key).second) return false;
    order_.emplace_back(now + window_ms, key);
    return true;
  }

 private:
  std::mutex mu_;
  std::unordered_set<std::string> seen_;
  std::deque<std::pair<int64_t, std::string>> order_;  // expiry, key; oldest first
};

struct Ingest::SourceState {
  const config::SourceConfig* config = nullptr;
  std::vector<IpRange> allow;                      // allow_from; empty: anyone
  std::unique_ptr<ReplayCache> replays = std::make_unique<ReplayCache>();
  std::unique_ptr<TokenBucket> bucket;  // rate_limit, if any
  std::unique_ptr<rapidjson::Pointer> id_pointer;  // compiled event_id.field, if any
  std::shared_ptr<plugin::Instance> connector;     // a plugin connector's source
  // Answers by HTTP status (index = status - 100) and their latency, for /metrics.
  std::array<std::atomic<uint64_t>, 500> responses{};
  std::mutex refusals_mu;
  std::map<std::string, uint64_t> refusals;  // by error code; GUARDED_BY(refusals_mu)
  metrics::Histogram latency;
};

Ingest::Ingest(const config::Config& config, journal::Journal& journal, IngestOptions options,
               std::map<std::string, std::shared_ptr<plugin::Instance>> connectors)
    : config_(config), journal_(journal), options_(options) {
  for (const auto& [name, src] : config_.sources) {
    auto state = std::make_unique<SourceState>();
    state->config = &src;
    if (auto it = connectors.find(name); it != connectors.end()) state->connector = it->second;
    for (const std::string& r : src.allow_from) {
      if (auto range = IpRange::Parse(r); range.ok()) state->allow.push_back(std::move(range).value());
    }
    if (src.rate_limit.rate > 0) {
      state->bucket = std::make_unique<TokenBucket>(src.rate_limit.rate, src.rate_limit.burst);
    }
    if (!src.event_id_field.empty()) {
      state->id_pointer = std::make_unique<rapidjson::Pointer>(src.event_id_field.c_str());
    }
    sources_.emplace(name, std::move(state));
  }
  watcher_ = std::thread([this] { WatchBacklog(); });
}

Ingest::~Ingest() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    watch_stop_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

void Ingest::WatchBacklog() {
  auto reader = journal_.NewReader();
  if (!reader.ok()) {
    spdlog::error("ingest: cannot watch the backlog: {}", reader.status().ToString());
    return;
  }
  bool was_over = false;
  std::unique_lock<std::mutex> lock(watch_mu_);
  while (!watch_stop_) {
    lock.unlock();
    auto stats = (*reader)->Stats();
    if (stats.ok()) {
      backlog_ = stats->inbox_pending + stats->outbox_pending;
      const bool over = backlog_ > static_cast<int64_t>(config_.journal.backlog_limit);
      if (over != was_over) {
        if (over) {
          spdlog::warn("ingest: {} undelivered events, above journal.backlog_limit {}: webhooks are answered 503 "
                       "until deliveries catch up", backlog_.load(), config_.journal.backlog_limit);
        } else {
          spdlog::info("ingest: the backlog is down to {}: accepting webhooks again", backlog_.load());
        }
        was_over = over;
      }
    }
    lock.lock();
    watch_cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return watch_stop_; });
  }
}

bool Ingest::Overloaded(Reply& reply) {
  if (backlog_ <= static_cast<int64_t>(config_.journal.backlog_limit)) return false;
  ++counters_.overloaded;
  auto resp = HttpResponse::Error(503, "backlog_full",
                                  std::to_string(backlog_.load()) + " events wait for delivery (limit " +
                                      std::to_string(config_.journal.backlog_limit) +
                                      "); the event was not stored, send it again later");
  resp.headers.emplace_back("Retry-After", "30");
  reply(std::move(resp));
  return true;
}

std::string Ingest::MetricsText() const {
  std::string out = metrics::Header("channelhub_webhook_responses_total",
                                    "Webhook answers per source and HTTP status (202 accepted or duplicate; 4xx "
                                    "refused: 400 malformed, 401/403 authentication, 413 too large, 415 content "
                                    "type, 429 rate limit; 503 overloaded).",
                                    "counter");
  for (const auto& [name, state] : sources_) {
    for (std::size_t i = 0; i < state->responses.size(); ++i) {
      const uint64_t n = state->responses[i].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += "channelhub_webhook_responses_total{source=\"" + metrics::Escape(name) + "\",code=\"" +
             std::to_string(i + 100) + "\"} " + std::to_string(n) + "\n";
    }
  }
  out += metrics::Header("channelhub_webhook_refusals_total",
                         "Webhook requests refused per source and reason (the error code of the answer: malformed_body, "
                         "unauthorized, rate_limited, body_too_complex, unsupported_media_type, ...).",
                         "counter");
  for (const auto& [name, state] : sources_) {
    std::lock_guard lock(state->refusals_mu);
    for (const auto& [reason, n] : state->refusals) {
      out += "channelhub_webhook_refusals_total{source=\"" + metrics::Escape(name) + "\",reason=\"" +
             metrics::Escape(reason) + "\"} " + std::to_string(n) + "\n";
    }
  }
  out += metrics::Header("channelhub_webhook_duration_seconds",
                         "Time from a webhook request read to its answer (journaled and fsynced for a 202), per source.",
                         "histogram");
  for (const auto& [name, state] : sources_) {
    out += state->latency.Render("channelhub_webhook_duration_seconds", "source=\"" + metrics::Escape(name) + "\"");
  }
  return out;
}

void Ingest::Handle(HttpRequest&& req, Reply reply) {
  const std::string& path = req.path;
  if (path == "/healthz") {
    if (req.method != "GET" && req.method != "HEAD") {
      return reply(HttpResponse::Error(405, "method_not_allowed", "use GET /healthz"));
    }
    return reply(HttpResponse::Json(200, R"({"status":"alive"})"));
  }
  if (path == "/readyz") {
    if (req.method != "GET" && req.method != "HEAD") {
      return reply(HttpResponse::Error(405, "method_not_allowed", "use GET /readyz"));
    }
    if (!ready_) return reply(HttpResponse::Json(503, R"({"status":"not_ready"})"));
    return reply(HttpResponse::Json(200, R"({"status":"ready"})"));
  }
  if (path.starts_with(kWebhookPrefix)) {
    std::string name = path.substr(kWebhookPrefix.size());
    return HandleWebhook(name, std::move(req), std::move(reply));
  }
  if (options_.bare_endpoint && path == "/_bench/bare") {
    return reply(HttpResponse::Json(202, R"({"event_id":"bare"})"));
  }
  reply(HttpResponse::Error(404, "not_found",
                            "no endpoint at " + path +
                                "; webhooks are posted to /webhooks/<source>, health is at "
                                "/healthz and /readyz"));
}

void Ingest::HandleWebhook(const std::string& name, HttpRequest&& req, Reply reply) {
  auto it = sources_.find(name);
  if (it != sources_.end()) {
    // Every answer of a configured source is counted by status, with its latency.
    SourceState* counted = it->second.get();
    reply = [counted, t0 = std::chrono::steady_clock::now(), inner = std::move(reply)](HttpResponse r) {
      if (r.status >= 100 && r.status < 600) counted->responses[r.status - 100].fetch_add(1, std::memory_order_relaxed);
      if (r.status >= 400 && !r.error.empty()) {
        std::lock_guard lock(counted->refusals_mu);
        ++counted->refusals[r.error];
      }
      counted->latency.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      inner(std::move(r));
    };
  }
  if (it == sources_.end()) {
    ++counters_.rejected;
    return reply(HttpResponse::Error(
        404, "unknown_source",
        "no source named \"" + name +
            "\" is configured; each key under sources: in the hub configuration is one "
            "endpoint POST /webhooks/<name>"));
  }
  const SourceState& state = *it->second;
  if (!state.allow.empty()) {
    const std::string ip = req.remote.substr(0, req.remote.rfind(':'));
    bool allowed = false;
    for (const IpRange& r : state.allow) allowed = allowed || r.Contains(ip);
    if (!allowed) {
      ++counters_.rejected;
      ++counters_.auth_failures;
      spdlog::info("ingest: {} refused a request from {}: not in allow_from", name, req.remote);
      return reply(HttpResponse::Error(403, "forbidden", "this address may not post to source \"" + name + "\""));
    }
  }
  if (int wait = 0; state.bucket && !state.bucket->Take(&wait)) {
    ++counters_.rate_limited;
    auto resp = HttpResponse::Error(429, "rate_limited",
                                    "source \"" + name + "\" takes at most " +
                                        std::to_string(static_cast<int>(state.config->rate_limit.rate)) +
                                        " requests a second; send it again later");
    resp.headers.emplace_back("Retry-After", std::to_string(wait));
    return reply(std::move(resp));
  }
  if (Overloaded(reply)) return;
  if (state.connector) return HandleConnector(name, *state.connector, std::move(req), std::move(reply));
  if (state.config->poll.enabled) {
    ++counters_.rejected;
    return reply(HttpResponse::Error(405, "method_not_allowed", "source \"" + name + "\" polls its system; it takes no webhooks"));
  }
  if (req.method != "POST") {
    ++counters_.rejected;
    auto r = HttpResponse::Error(405, "method_not_allowed", "webhooks take POST");
    r.headers.emplace_back("Allow", "POST");
    return reply(std::move(r));
  }
  const config::SourceConfig& src = *state.config;

  // 1. Who sent it: the source's bearer token or body signature, in constant time. A failure
  // says no more than that (which check failed would help an attacker, not a partner).
  const config::SourceAuth& auth = src.auth;
  auto refuse = [&](const std::string& why) {
    ++counters_.rejected;
    ++counters_.auth_failures;
    spdlog::info("ingest: {} refused a request from {}: {}", name, req.remote, why);
    return reply(HttpResponse::Error(401, "unauthorized",
                                     "the request is not authenticated as source \"" + name + "\" requires"));
  };
  if (auth.kind == config::SourceAuth::Kind::kBearer) {
    std::string_view h = req.Header("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (h.size() <= kBearer.size() || Lower(h.substr(0, kBearer.size())) != "bearer " ||
        !ConstantTimeEquals(Sha256Hex(h.substr(kBearer.size())), auth.token_sha256)) {
      return refuse(h.empty() ? "no bearer token" : "wrong bearer token");
    }
  } else if (auth.kind == config::SourceAuth::Kind::kHmacSha256) {
    std::string_view sig = req.Header(auth.header);
    if (sig.empty()) return refuse("no " + auth.header + " header");
    if (!auth.prefix.empty() && sig.starts_with(auth.prefix)) sig.remove_prefix(auth.prefix.size());
    std::string signed_text;
    const std::string* message = &req.body;
    if (!auth.timestamp_header.empty()) {
      // The signature covers "<timestamp>.<body>"; an old or future timestamp is refused.
      const std::string_view ts = req.Header(auth.timestamp_header);
      int64_t seconds = 0;
      auto [end, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), seconds);
      if (ts.empty() || ec != std::errc() || end != ts.data() + ts.size()) return refuse("no valid timestamp");
      const int64_t skew = NowUnixMillis() - seconds * 1000;
      if (skew > auth.window.count() || -skew > auth.window.count()) return refuse("timestamp outside the window");
      signed_text.reserve(ts.size() + 1 + req.body.size());
      signed_text.append(ts).append(".").append(req.body);
      message = &signed_text;
    }
    std::string expected = auth.encoding == config::SourceAuth::Encoding::kBase64
                               ? HmacSha256Base64(auth.secret, *message)
                               : HmacSha256Hex(auth.secret, *message);
    std::string given(sig);
    if (auth.encoding == config::SourceAuth::Encoding::kHex) given = Lower(given);
    if (!ConstantTimeEquals(given, expected)) return refuse("signature mismatch");
    if (!auth.timestamp_header.empty() && !state.replays->FirstSeen(expected, auth.window.count())) {
      return refuse("a replayed signature");
    }
  }

  // 2. The body must parse: a payload we could never map is refused now, not dead-lettered later.
  std::string_view content_type = req.Header("Content-Type");
  BodyKind kind = KindOf(content_type, req.body);
  rapidjson::Document doc;
  if (kind == BodyKind::kUnsupported) {
    ++counters_.rejected;
    return reply(HttpResponse::Error(
        415, "unsupported_media_type",
        "Content-Type \"" + std::string(content_type) +
            "\" is not accepted; send application/json or application/xml"));
  }
  // Invalid UTF-8, NUL bytes, nesting beyond the limits and (XML) a DOCTYPE are refused here:
  // everything after the inbox assumes they never get in.
  if (BodyCheck bad = CheckBody(kind, req.body, XmlLimitsOf(config_)); bad.status != 0) {
    ++counters_.rejected;
    return reply(HttpResponse::Error(bad.status, bad.code, bad.message));
  }
  if (kind == BodyKind::kJson && state.id_pointer) {  // the event id is in the body: keep the document
    doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(req.body.data(),
                                                                                       req.body.size());
  }

  // 3. The event id: the platform's (so that its redeliveries are recognised), else the content's.
  std::string event_id;
  if (!src.event_id_header.empty()) {
    std::string_view h = req.Header(src.event_id_header);
    if (!h.empty()) {
      if (!ValidEventId(h)) {
        ++counters_.rejected;
        return reply(HttpResponse::Error(400, "bad_event_id",
                                         src.event_id_header +
                                             " must be 1 to 200 printable characters without "
                                             "spaces"));
      }
      event_id = std::string(h);
    }
  }
  if (event_id.empty() && state.id_pointer) {
    if (kind != BodyKind::kJson) {
      ++counters_.rejected;
      return reply(HttpResponse::Error(400, "bad_event_id",
                                       "this source takes its event id from the JSON field " +
                                           src.event_id_field + ", but the body is not JSON"));
    }
    const rapidjson::Value* v = state.id_pointer->Get(doc);
    if (v && v->IsString()) {
      event_id.assign(v->GetString(), v->GetStringLength());
    } else if (v && v->IsUint64()) {
      event_id = std::to_string(v->GetUint64());
    } else if (v && v->IsInt64()) {
      event_id = std::to_string(v->GetInt64());
    }
    if (!ValidEventId(event_id)) {
      ++counters_.rejected;
      return reply(HttpResponse::Error(
          400, "bad_event_id",
          "the event id field " + src.event_id_field +
              (v ? " must be a string of 1 to 200 printable characters or an integer"
                 : " is missing from the body")));
    }
  }
  if (event_id.empty()) {
    // No id configured, or the configured header is absent: the content's hash, so that a
    // byte-identical redelivery is still recognised.
    event_id = Sha256Hex(req.body).substr(0, 32);
  }

  // 4. Durable append; answer only when it is on disk.
  journal::InboxEntry entry;
  entry.source = name;
  entry.event_id = event_id;
  entry.content_type = kind == BodyKind::kJson ? "application/json" : "application/xml";
  for (const char* th : kTopicHeaders) {
    std::string_view t = req.Header(th);
    if (!t.empty()) {
      entry.topic = std::string(t.substr(0, 200));
      break;
    }
  }
  entry.body = std::move(req.body);
  entry.received_at_ms = NowUnixMillis();

  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  std::string trace_id = TraceIdFor(name, event_id);
  Status st = journal_.Append(
      std::move(entry), [this, shared_reply, event_id, trace_id, name](Result<journal::AppendOutcome> r) {
        LogContext log_context(event_id, trace_id);
        if (!r.ok()) {
          spdlog::error("ingest: journal append of {} failed: {}", event_id, r.status().ToString());
          auto resp = HttpResponse::Error(503, "journal_unavailable",
                                          "the event was not stored; send it again later");
          resp.headers.emplace_back("Retry-After", "5");
          (*shared_reply)(std::move(resp));
          return;
        }
        bool dup = *r == journal::AppendOutcome::kDuplicate;
        ++(dup ? counters_.duplicates : counters_.accepted);
        spdlog::debug("ingest: event {} from {} {}", event_id, name, dup ? "was a duplicate" : "is journaled");
        (*shared_reply)(Accepted(event_id, trace_id, dup));
      });
  if (!st.ok()) {
    ++counters_.overloaded;
    auto resp = HttpResponse::Error(503, "overloaded",
                                    "the hub is busy or stopping (" + st.message() +
                                        "); the event was not stored, send it again later");
    resp.headers.emplace_back("Retry-After", "1");
    (*shared_reply)(std::move(resp));
  }
}

namespace {

// Why "body" of "kind" cannot be journaled, or "" when it can.
std::string BodyProblem(BodyKind kind, std::string_view body, const xml::Limits& limits) {
  if (kind == BodyKind::kUnsupported) return "not JSON or XML";
  return CheckBody(kind, body, limits).message;
}

}  // namespace

void Ingest::HandleConnector(const std::string& name, plugin::Instance& connector, HttpRequest&& req,
                             Reply reply) {
  plugin::HttpIn in;
  in.method = req.method;
  in.path = req.path;
  in.query = req.query;
  in.headers = req.headers;
  in.body = std::move(req.body);
  in.remote_address = req.remote.substr(0, req.remote.rfind(':'));
  plugin::InboundOutcome out = connector.Inbound(in);
  if (out.rejected) {
    ++counters_.rejected;
    spdlog::info("ingest: {} refused a request from {}: {} {}", name, req.remote, out.status, out.reason);
    HttpResponse refused = HttpResponse::Error(
        out.status, out.status == 401 || out.status == 403 ? "unauthorized" : "rejected", out.reason);
    // Unavailable (a connector process that is not running): the sender is told when to retry.
    if (out.status == 503) refused.headers.emplace_back("Retry-After", "5");
    return reply(std::move(refused));
  }
  HttpResponse answer;
  answer.status = out.status;
  answer.content_type = out.content_type.empty() ? "text/plain; charset=utf-8" : out.content_type;
  answer.body = out.body;
  if (out.payloads.empty()) return reply(std::move(answer));  // a probe, a verification
  // Every payload must be storable before any is stored: all or nothing for one request.
  std::vector<journal::InboxEntry> entries;
  for (std::size_t i = 0; i < out.payloads.size(); ++i) {
    plugin::Payload& p = out.payloads[i];
    BodyKind kind = KindOf(p.content_type, p.body);
    std::string problem = BodyProblem(kind, p.body, XmlLimitsOf(config_));
    if (problem.empty() && !p.event_id.empty() && !ValidEventId(p.event_id)) {
      problem = "the connector gave an event id that is not 1 to 200 printable characters";
    }
    if (!problem.empty()) {
      ++counters_.rejected;
      return reply(HttpResponse::Error(400, "malformed_body",
                                       out.payloads.size() > 1 ? "payload " + std::to_string(i + 1) + ": " + problem : problem));
    }
    journal::InboxEntry e;
    e.source = name;
    e.event_id = p.event_id.empty() ? Sha256Hex(p.body).substr(0, 32) : std::move(p.event_id);
    e.content_type = kind == BodyKind::kJson ? "application/json" : "application/xml";
    e.topic = p.kind.substr(0, 200);
    e.body = std::move(p.body);
    e.received_at_ms = NowUnixMillis();
    entries.push_back(std::move(e));
  }
  // Answer once every payload is durable (or at the first failure).
  struct Pending {
    std::mutex mu;
    std::size_t left;
    bool answered = false;
    Reply reply;
    HttpResponse answer;
  };
  auto pending = std::make_shared<Pending>();
  pending->left = entries.size();
  pending->reply = std::move(reply);
  pending->answer = std::move(answer);
  auto fail = [pending](HttpResponse resp) {
    std::lock_guard<std::mutex> lock(pending->mu);
    if (pending->answered) return;
    pending->answered = true;
    pending->reply(std::move(resp));
  };
  for (journal::InboxEntry& e : entries) {
    const std::string id = e.event_id;
    Status st = journal_.Append(std::move(e), [this, pending, fail, id, name](Result<journal::AppendOutcome> r) {
      auto log_context = LogContext::ForEvent(name, id);
      if (!r.ok()) {
        spdlog::error("ingest: journal append of {} failed: {}", id, r.status().ToString());
        auto resp = HttpResponse::Error(503, "journal_unavailable", "the event was not stored; send it again later");
        resp.headers.emplace_back("Retry-After", "5");
        return fail(std::move(resp));
      }
      const bool dup = *r == journal::AppendOutcome::kDuplicate;
      ++(dup ? counters_.duplicates : counters_.accepted);
      spdlog::debug("ingest: event {} from {} {}", id, name, dup ? "was a duplicate" : "is journaled");
      std::lock_guard<std::mutex> lock(pending->mu);
      if (--pending->left == 0 && !pending->answered) {
        pending->answered = true;
        pending->reply(std::move(pending->answer));
      }
    });
    if (!st.ok()) {
      ++counters_.overloaded;
      auto resp = HttpResponse::Error(503, "overloaded", "the hub is busy or stopping (" + st.message() +
                                                             "); the event was not stored, send it again later");
      resp.headers.emplace_back("Retry-After", "1");
      fail(std::move(resp));
      return;
    }
  }
}

}  // namespace channelhub::pipeline
