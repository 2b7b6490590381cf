// The C++ side of the plugin SDK: write a connector as a class with plain C++ types, register it
// with Describe<T>(), and export the plugin with CHUB_PLUGIN. Header-only; needs C++17.
//
//   class Echo : public channelhub::sdk::Connector {
//    public:
//     Echo(const sdk::Host& host, const sdk::Settings& settings)
//         : Connector(host), token_(settings.Require("token")) {}
//     sdk::InboundResult Inbound(const sdk::Request& req) override {
//       if (req.Header("X-Token") != token_) return sdk::InboundResult::Reject(401, "unauthorised");
//       sdk::InboundResult r;
//       r.payloads.push_back({"", "", "application/json", std::string(req.body)});
//       return r;
//     }
//    private:
//     std::string token_;
//   };
//   static const char* const kEchoSettings[] = {"token", nullptr};
//   CHUB_PLUGIN("my-plugin", "1.0.0",
//               channelhub::sdk::Describe<Echo>("echo", "accepts JSON with a token", CHUB_CAP_INBOUND,
//                                               kEchoSettings))
//
// Errors: throw sdk::Failure (or any std::exception) from a constructor for a bad setting, from
// Build* for a payload that cannot be sent (a permanent failure), from ParseToken for a refused
// login. The wrapper turns every exception into the ABI's error path; none crosses into the hub.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "channelhub/plugin.h"

namespace channelhub::sdk {

inline std::string_view View(chub_str s) { return s.data ? std::string_view(s.data, s.size) : std::string_view(); }
inline chub_str Str(std::string_view s) { return chub_str{s.data(), s.size()}; }

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Percent-decoding; "+" is a space when "plus_is_space" (form and query encoding). Invalid
// escapes are kept as they are.
inline std::string UrlDecode(std::string_view s, bool plus_is_space = true) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Percent-encoding of everything but the RFC 3986 unreserved characters (A-Z a-z 0-9 - _ . ~).
inline std::string UrlEncode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// "a=1&b=x%20y" -> {{"a","1"},{"b","x y"}}, in order.
inline std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!q.empty()) {
    std::size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    std::size_t eq = part.find('=');
    out.emplace_back(UrlDecode(part.substr(0, eq)),
                     eq == std::string_view::npos ? std::string() : UrlDecode(part.substr(eq + 1)));
  }
  return out;
}

// A failure the connector reports: a bad setting, a payload that cannot be sent.
class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// Read-only headers of a request or response.
class HeaderView {
 public:
  HeaderView() = default;
  HeaderView(const chub_kv* kv, std::size_t n) : kv_(kv), n_(n) {}
  // The first header of that name (case-insensitive), or "".
  std::string_view Get(std::string_view name) const {
    for (std::size_t i = 0; i < n_; ++i) {
      if (EqualsIgnoreCase(View(kv_[i].key), name)) return View(kv_[i].value);
    }
    return {};
  }
  bool Has(std::string_view name) const {
    for (std::size_t i = 0; i < n_; ++i) {
      if (EqualsIgnoreCase(View(kv_[i].key), name)) return true;
    }
    return false;
  }
  // Every header of that name (Set-Cookie comes several times).
  std::vector<std::string_view> All(std::string_view name) const {
    std::vector<std::string_view> out;
    for (std::size_t i = 0; i < n_; ++i) {
      if (EqualsIgnoreCase(View(kv_[i].key), name)) out.push_back(View(kv_[i].value));
    }
    return out;
  }
  std::size_t size() const { return n_; }
  std::pair<std::string_view, std::string_view> at(std::size_t i) const {
    return {View(kv_[i].key), View(kv_[i].value)};
  }

 private:
  const chub_kv* kv_ = nullptr;
  std::size_t n_ = 0;
};

struct Request {
  std::string_view method, path, query, body, remote_address;
  HeaderView headers;
  std::string_view Header(std::string_view name) const { return headers.Get(name); }
  // A query parameter, decoded; nullopt when absent.
  std::optional<std::string> QueryParam(std::string_view name) const {
    for (auto& [k, v] : ParseQuery(query)) {
      if (k == name) return v;
    }
    return std::nullopt;
  }
};

struct Response {
  int status = 0;
  HeaderView headers;
  std::string_view body;
  std::string_view Header(std::string_view name) const { return headers.Get(name); }
};

// A request for the hub to send. target: a path (resolved against the configured url) or an
// absolute URL.
struct OutRequest {
  std::string method = "POST";
  std::string target;
  Headers headers;
  std::string body;
};

struct Delivery {
  std::string_view event_id, event_type, subject, content_type, body, token, step;
  int attempt = 1;
};

struct Verdict {
  int kind = CHUB_VERDICT_DONE;
  std::string message;
  std::string step;
  int64_t retry_after_ms = 0;

  static Verdict Done() { return {}; }
  static Verdict Retry(std::string message, int64_t retry_after_ms = 0) {
    return {CHUB_VERDICT_RETRY, std::move(message), {}, retry_after_ms};
  }
  static Verdict Permanent(std::string message) { return {CHUB_VERDICT_PERMANENT, std::move(message), {}, 0}; }
  static Verdict TokenExpired(std::string message) {
    return {CHUB_VERDICT_TOKEN_EXPIRED, std::move(message), {}, 0};
  }
  // This step worked; the hub calls BuildDelivery again with delivery.step == step.
  static Verdict Next(std::string step, std::string message = {}) {
    return {CHUB_VERDICT_NEXT, std::move(message), std::move(step), 0};
  }
};

struct Payload {
  std::string event_id;      // "" = the hub uses the SHA-256 of the body
  std::string kind;          // picks the mapping; "" = none
  std::string content_type;  // "application/json" or "application/xml"
  std::string body;
};

struct InboundResult {
  std::vector<Payload> payloads;
  int status = 200;          // the answer once the payloads are durable
  std::string content_type;
  std::string body;
  bool rejected = false;     // Reject(): nothing is journaled
  std::string reason;

  static InboundResult Reject(int status, std::string reason) {
    InboundResult r;
    r.rejected = true;
    r.status = status;
    r.reason = std::move(reason);
    return r;
  }
};

struct PollResult {
  std::vector<Payload> payloads;
  std::string cursor;  // to keep once the payloads are durable
  bool more = false;   // poll again at once
  // Set to fail the poll instead: CHUB_VERDICT_RETRY, _TOKEN_EXPIRED or _PERMANENT.
  int fail = -1;
  std::string message;

  static PollResult Fail(int verdict, std::string message) {
    PollResult r;
    r.fail = verdict;
    r.message = std::move(message);
    return r;
  }
};

struct Token {
  std::string value;
  int64_t expires_in_ms = 0;
};

class Settings {
 public:
  explicit Settings(const chub_settings& s) : s_(s) {}
  std::optional<std::string> Get(std::string_view key) const {
    for (std::size_t i = 0; i < s_.count; ++i) {
      if (View(s_.items[i].key) == key) return std::string(View(s_.items[i].value));
    }
    return std::nullopt;
  }
  std::string GetOr(std::string_view key, std::string fallback) const {
    auto v = Get(key);
    return v ? *v : std::move(fallback);
  }
  // Throws Failure('missing setting "key"') when absent or empty.
  std::string Require(std::string_view key) const {
    auto v = Get(key);
    if (!v || v->empty()) throw Failure("missing setting \"" + std::string(key) + "\"");
    return *v;
  }
  // "true"/"false"/"1"/"0"/"yes"/"no"; fallback when absent; Failure otherwise.
  bool Bool(std::string_view key, bool fallback) const {
    auto v = Get(key);
    if (!v || v->empty()) return fallback;
    if (*v == "true" || *v == "1" || *v == "yes") return true;
    if (*v == "false" || *v == "0" || *v == "no") return false;
    throw Failure("setting \"" + std::string(key) + "\": expected true or false, got \"" + *v + "\"");
  }

 private:
  chub_settings s_;
};

class Host {
 public:
  Host() = default;
  explicit Host(const chub_host& h) : h_(h) {}
  void Log(int level, std::string_view message) const {
    if (h_.log) h_.log(h_.ctx, level, Str(message));
  }
  int64_t NowMs() const { return h_.now_ms ? h_.now_ms(h_.ctx) : 0; }
  std::string Random(std::size_t n) const {
    std::string out(n, '\0');
    if (h_.random) h_.random(h_.ctx, reinterpret_cast<unsigned char*>(out.data()), n);
    return out;
  }

 private:
  chub_host h_{};
};

// Base class of a connector; override what its capabilities promise.
class Connector {
 public:
  explicit Connector(const Host& host) : host_(host) {}
  virtual ~Connector() = default;

  virtual InboundResult Inbound(const Request&) { throw Failure("this connector takes no webhooks"); }
  virtual OutRequest BuildDelivery(const Delivery&) { throw Failure("this connector delivers nothing"); }
  virtual Verdict JudgeDelivery(const Delivery&, const Response&) { return Verdict::Permanent("not supported"); }
  virtual OutRequest BuildPoll(std::string_view /*cursor*/, std::string_view /*token*/) {
    throw Failure("this connector does not poll");
  }
  virtual PollResult ParsePoll(std::string_view /*cursor*/, const Response&) {
    return PollResult::Fail(CHUB_VERDICT_PERMANENT, "this connector does not poll");
  }
  virtual OutRequest BuildToken() { throw Failure("this connector needs no token"); }
  virtual Token ParseToken(const Response&) { throw Failure("this connector needs no token"); }

 protected:
  const Host& host() const { return host_; }

 private:
  Host host_;
};

namespace detail {

inline void CopyError(const char* what, char* error, std::size_t size) {
  if (!error || size == 0) return;
  std::size_t n = std::min(std::strlen(what), size - 1);
  std::memcpy(error, what, n);
  error[n] = '\0';
}

inline void SendRequest(const OutRequest& r, const chub_request_sink* out) {
  std::vector<chub_kv> kv;
  kv.reserve(r.headers.size());
  for (const auto& [k, v] : r.headers) kv.push_back({Str(k), Str(v)});
  out->request(out->ctx, Str(r.method), Str(r.target), kv.data(), kv.size(), Str(r.body));
}

inline Request ToRequest(const chub_http_request* r) {
  Request q;
  q.method = View(r->method);
  q.path = View(r->path);
  q.query = View(r->query);
  q.body = View(r->body);
  q.remote_address = View(r->remote_address);
  q.headers = HeaderView(r->headers, r->header_count);
  return q;
}

inline Response ToResponse(const chub_http_response* r) {
  Response s;
  s.status = r->status;
  s.headers = HeaderView(r->headers, r->header_count);
  s.body = View(r->body);
  return s;
}

inline Delivery ToDelivery(const chub_delivery* d) {
  Delivery x;
  x.event_id = View(d->event_id);
  x.event_type = View(d->event_type);
  x.subject = View(d->subject);
  x.content_type = View(d->content_type);
  x.body = View(d->body);
  x.token = View(d->token);
  x.step = View(d->step);
  x.attempt = d->attempt;
  return x;
}

template <class T>
struct Trampolines {
  static T& Self(void* instance) { return *static_cast<T*>(instance); }

  static void* Create(const chub_host* host, const chub_settings* settings, char* error, std::size_t size) {
    try {
      return new T(Host(*host), Settings(*settings));
    } catch (const std::exception& e) {
      CopyError(e.what(), error, size);
    } catch (...) {
      CopyError("unknown error", error, size);
    }
    return nullptr;
  }
  static void Destroy(void* instance) { delete static_cast<T*>(instance); }

  static void Inbound(void* instance, const chub_http_request* request, const chub_inbound_sink* out) {
    try {
      InboundResult r = Self(instance).Inbound(ToRequest(request));
      if (r.rejected) {
        out->reject(out->ctx, r.status, Str(r.reason));
        return;
      }
      for (const Payload& p : r.payloads) {
        out->payload(out->ctx, Str(p.event_id), Str(p.kind), Str(p.content_type), Str(p.body));
      }
      out->respond(out->ctx, r.status, Str(r.content_type), Str(r.body));
    } catch (const std::exception& e) {
      out->reject(out->ctx, 400, Str(e.what()));
    } catch (...) {
      out->reject(out->ctx, 500, Str("connector error"));
    }
  }

  static void BuildDelivery(void* instance, const chub_delivery* d, const chub_request_sink* out) {
    try {
      SendRequest(Self(instance).BuildDelivery(ToDelivery(d)), out);
    } catch (const std::exception& e) {
      out->fail(out->ctx, Str(e.what()));
    } catch (...) {
      out->fail(out->ctx, Str("connector error"));
    }
  }

  static void JudgeDelivery(void* instance, const chub_delivery* d, const chub_http_response* response,
                            const chub_verdict_sink* out) {
    Verdict v;
    try {
      v = Self(instance).JudgeDelivery(ToDelivery(d), ToResponse(response));
    } catch (const std::exception& e) {
      v = Verdict::Permanent(e.what());
    } catch (...) {
      v = Verdict::Permanent("connector error");
    }
    out->verdict(out->ctx, v.kind, Str(v.message), Str(v.step), v.retry_after_ms);
  }

  static void BuildPoll(void* instance, chub_str cursor, chub_str token, const chub_request_sink* out) {
    try {
      SendRequest(Self(instance).BuildPoll(View(cursor), View(token)), out);
    } catch (const std::exception& e) {
      out->fail(out->ctx, Str(e.what()));
    } catch (...) {
      out->fail(out->ctx, Str("connector error"));
    }
  }

  static void ParsePoll(void* instance, chub_str cursor, const chub_http_response* response,
                        const chub_poll_sink* out) {
    PollResult r;
    try {
      r = Self(instance).ParsePoll(View(cursor), ToResponse(response));
    } catch (const std::exception& e) {
      r = PollResult::Fail(CHUB_VERDICT_RETRY, e.what());
    } catch (...) {
      r = PollResult::Fail(CHUB_VERDICT_RETRY, "connector error");
    }
    if (r.fail >= 0) {
      out->fail(out->ctx, r.fail, Str(r.message));
      return;
    }
    for (const Payload& p : r.payloads) {
      out->payload(out->ctx, Str(p.event_id), Str(p.kind), Str(p.content_type), Str(p.body));
    }
    out->cursor(out->ctx, Str(r.cursor), r.more ? 1 : 0);
  }

  static void BuildToken(void* instance, const chub_request_sink* out) {
    try {
      SendRequest(Self(instance).BuildToken(), out);
    } catch (const std::exception& e) {
      out->fail(out->ctx, Str(e.what()));
    } catch (...) {
      out->fail(out->ctx, Str("connector error"));
    }
  }

  static void ParseToken(void* instance, const chub_http_response* response, const chub_token_sink* out) {
    try {
      Token t = Self(instance).ParseToken(ToResponse(response));
      out->token(out->ctx, Str(t.value), t.expires_in_ms);
    } catch (const std::exception& e) {
      out->fail(out->ctx, Str(e.what()));
    } catch (...) {
      out->fail(out->ctx, Str("connector error"));
    }
  }
};

}  // namespace detail

// The ABI description of connector class T (constructible from (const Host&, const Settings&)).
// "settings": the keys it reads, NULL-terminated, with static storage.
template <class T>
chub_connector Describe(const char* name, const char* description, uint32_t capabilities,
                        const char* const* settings) {
  using Tr = detail::Trampolines<T>;
  chub_connector c{};
  c.name = name;
  c.description = description;
  c.capabilities = capabilities;
  c.settings = settings;
  c.create = &Tr::Create;
  c.destroy = &Tr::Destroy;
  c.inbound = &Tr::Inbound;
  c.build_delivery = &Tr::BuildDelivery;
  c.judge_delivery = &Tr::JudgeDelivery;
  c.build_poll = &Tr::BuildPoll;
  c.parse_poll = &Tr::ParsePoll;
  c.build_token = &Tr::BuildToken;
  c.parse_token = &Tr::ParseToken;
  return c;
}

}  // namespace channelhub::sdk

// Exports the plugin: its name, version and connectors (Describe<T>(...) expressions).
#define CHUB_PLUGIN(plugin_name, plugin_version, ...)                                          \
  extern "C" __attribute__((visibility("default"))) const chub_plugin* chub_plugin_entry_v1(void) { \
    static const chub_connector kChubConnectors[] = {__VA_ARGS__};                             \
    static const chub_plugin kChubPlugin = {CHUB_PLUGIN_ABI_VERSION, plugin_name, plugin_version, \
                                            kChubConnectors,                                   \
                                            sizeof(kChubConnectors) / sizeof(kChubConnectors[0])}; \
    return &kChubPlugin;                                                                       \
  }
