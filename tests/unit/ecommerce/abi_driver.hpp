// Drives a connector through the plugin C ABI (create, inbound, build_poll, parse_poll) with
// small recording sinks, so the tests exercise the SDK's trampolines exactly as the hub does.
#pragma once

#include <channelhub/plugin.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace channelhub::connectors::ecommerce::abi {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

inline chub_str S(const std::string& s) { return chub_str{s.data(), s.size()}; }
inline std::string T(chub_str s) { return s.data ? std::string(s.data, s.size) : std::string(); }

// The host services, with a clock the test sets.
struct FakeHost {
  int64_t now_ms = 1700000000000;
  std::vector<std::pair<int, std::string>> logs;

  chub_host Abi() {
    chub_host h{};
    h.abi_version = 1;
    h.ctx = this;
    h.log = [](void* ctx, int level, chub_str m) { static_cast<FakeHost*>(ctx)->logs.emplace_back(level, T(m)); };
    h.now_ms = [](void* ctx) { return static_cast<FakeHost*>(ctx)->now_ms; };
    h.random = [](void*, unsigned char* b, size_t n) {
      for (size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>(i * 31 + 7);
    };
    return h;
  }
};

struct RecordedPayload {
  std::string event_id, kind, content_type, body;
};

struct InboundOutcome {
  std::vector<RecordedPayload> payloads;
  bool responded = false;
  int status = 0;
  std::string content_type, body;
  bool rejected = false;
  int reject_status = 0;
  std::string reason;
};

struct RequestOutcome {
  bool built = false;
  std::string method, target, body;
  KeyValues headers;
  bool failed = false;
  std::string reason;
};

struct PollOutcome {
  std::vector<RecordedPayload> payloads;
  bool has_cursor = false;
  std::string cursor;
  bool more = false;
  bool failed = false;
  int verdict = -1;
  std::string message;
};

inline std::vector<chub_kv> ToKv(const KeyValues& kv) {
  std::vector<chub_kv> out;
  for (const auto& [k, v] : kv) out.push_back({S(k), S(v)});
  return out;
}

// One connector instance, created through the ABI and destroyed with the object.
class Instance {
 public:
  Instance(const chub_connector& c, FakeHost* host, const KeyValues& settings) : c_(c) {
    host_ = host->Abi();
    std::vector<chub_kv> kv = ToKv(settings);
    chub_settings s{kv.data(), kv.size()};
    char error[512] = {0};
    self_ = c_.create(&host_, &s, error, sizeof error);
    error_ = error;
  }
  ~Instance() {
    if (self_) c_.destroy(self_);
  }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  bool ok() const { return self_ != nullptr; }
  const std::string& error() const { return error_; }

  InboundOutcome Inbound(const KeyValues& headers, const std::string& body, const std::string& method = "POST") {
    InboundOutcome out;
    std::vector<chub_kv> h = ToKv(headers);
    const std::string path = "/webhooks/test", query, remote = "203.0.113.7";
    chub_http_request req{S(method), S(path), S(query), h.data(), h.size(), S(body), S(remote)};
    chub_inbound_sink sink{};
    sink.ctx = &out;
    sink.payload = [](void* ctx, chub_str id, chub_str kind, chub_str ct, chub_str b) {
      static_cast<InboundOutcome*>(ctx)->payloads.push_back({T(id), T(kind), T(ct), T(b)});
    };
    sink.respond = [](void* ctx, int status, chub_str ct, chub_str b) {
      auto* o = static_cast<InboundOutcome*>(ctx);
      o->responded = true;
      o->status = status;
      o->content_type = T(ct);
      o->body = T(b);
    };
    sink.reject = [](void* ctx, int status, chub_str reason) {
      auto* o = static_cast<InboundOutcome*>(ctx);
      o->rejected = true;
      o->reject_status = status;
      o->reason = T(reason);
    };
    c_.inbound(self_, &req, &sink);
    return out;
  }

  RequestOutcome BuildPoll(const std::string& cursor, const std::string& token = "") {
    RequestOutcome out;
    chub_request_sink sink{};
    sink.ctx = &out;
    sink.request = [](void* ctx, chub_str m, chub_str t, const chub_kv* h, size_t n, chub_str b) {
      auto* o = static_cast<RequestOutcome*>(ctx);
      o->built = true;
      o->method = T(m);
      o->target = T(t);
      o->body = T(b);
      for (size_t i = 0; i < n; ++i) o->headers.emplace_back(T(h[i].key), T(h[i].value));
    };
    sink.fail = [](void* ctx, chub_str reason) {
      auto* o = static_cast<RequestOutcome*>(ctx);
      o->failed = true;
      o->reason = T(reason);
    };
    c_.build_poll(self_, S(cursor), S(token), &sink);
    return out;
  }

  PollOutcome ParsePoll(const std::string& cursor, int status, const std::string& body,
                        const KeyValues& headers = {{"Content-Type", "application/json;charset=UTF-8"}}) {
    PollOutcome out;
    std::vector<chub_kv> h = ToKv(headers);
    chub_http_response res{status, h.data(), h.size(), S(body)};
    chub_poll_sink sink{};
    sink.ctx = &out;
    sink.payload = [](void* ctx, chub_str id, chub_str kind, chub_str ct, chub_str b) {
      static_cast<PollOutcome*>(ctx)->payloads.push_back({T(id), T(kind), T(ct), T(b)});
    };
    sink.cursor = [](void* ctx, chub_str next, int more) {
      auto* o = static_cast<PollOutcome*>(ctx);
      o->has_cursor = true;
      o->cursor = T(next);
      o->more = more != 0;
    };
    sink.fail = [](void* ctx, int verdict, chub_str message) {
      auto* o = static_cast<PollOutcome*>(ctx);
      o->failed = true;
      o->verdict = verdict;
      o->message = T(message);
    };
    c_.parse_poll(self_, S(cursor), &res, &sink);
    return out;
  }

 private:
  chub_connector c_;
  chub_host host_{};
  void* self_ = nullptr;
  std::string error_;
};

}  // namespace channelhub::connectors::ecommerce::abi
