#include "hub/plugin/plugin_host.hpp"

#include <channelhub/plugin.h>
#include <dlfcn.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <optional>

#include "hub/common/time.hpp"

namespace channelhub::plugin {
namespace {

namespace fs = std::filesystem;

std::string_view View(chub_str s) { return s.data ? std::string_view(s.data, s.size) : std::string_view(); }
chub_str Str(std::string_view s) { return chub_str{s.data(), s.size()}; }

std::string Text(const char* s) { return s ? std::string(s) : std::string(); }

std::vector<chub_kv> ToKv(const HeaderList& list) {
  std::vector<chub_kv> kv;
  kv.reserve(list.size());
  for (const auto& [k, v] : list) kv.push_back({Str(k), Str(v)});
  return kv;
}

HeaderList FromKv(const chub_kv* kv, std::size_t n) {
  HeaderList out;
  for (std::size_t i = 0; i < n; ++i) out.emplace_back(std::string(View(kv[i].key)), std::string(View(kv[i].value)));
  return out;
}

// Collects a connector's request (chub_request_sink).
struct RequestCollector {
  bool got = false;
  bool failed = false;
  std::string reason;
  OutRequest request;

  static void OnRequest(void* ctx, chub_str method, chub_str target, const chub_kv* headers,
                        size_t header_count, chub_str body) {
    auto* self = static_cast<RequestCollector*>(ctx);
    self->got = true;
    self->request.method = std::string(View(method));
    self->request.target = std::string(View(target));
    self->request.headers = FromKv(headers, header_count);
    self->request.body = std::string(View(body));
  }
  static void OnFail(void* ctx, chub_str reason) {
    auto* self = static_cast<RequestCollector*>(ctx);
    self->failed = true;
    self->reason = std::string(View(reason));
  }
  chub_request_sink Sink() { return chub_request_sink{this, &OnRequest, &OnFail}; }

  Result<OutRequest> Take(const std::string& who, const char* what) {
    if (failed) return Status::Invalid(who + ": " + reason);
    if (!got) return Status::Internal(who + ": the connector built no " + what + " request");
    if (request.method.empty()) request.method = "POST";
    return std::move(request);
  }
};

Payload MakePayload(chub_str event_id, chub_str kind, chub_str content_type, chub_str body) {
  return Payload{std::string(View(event_id)), std::string(View(kind)), std::string(View(content_type)),
                 std::string(View(body))};
}

// The host services every instance gets.
void HostLog(void* ctx, int level, chub_str message) {
  const std::string& owner = *static_cast<const std::string*>(ctx);
  const std::string_view m = View(message);
  switch (level) {
    case 0: spdlog::debug("{}: {}", owner, m); break;
    case 1: spdlog::info("{}: {}", owner, m); break;
    case 2: spdlog::warn("{}: {}", owner, m); break;
    default: spdlog::error("{}: {}", owner, m); break;
  }
}
int64_t HostNow(void*) { return NowUnixMillis(); }
void HostRandom(void*, unsigned char* buffer, size_t size) {
  if (RAND_bytes(buffer, static_cast<int>(size)) != 1) {
    // Never hand out predictable bytes silently.
    spdlog::critical("plugin host: the system random generator failed");
    std::abort();
  }
}

Result<std::vector<std::string>> ExpandPaths(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(p, ec)) {
        if (e.path().extension() == ".so") found.push_back(e.path().string());
      }
      std::sort(found.begin(), found.end());
      if (found.empty()) {
        return Status::NotFound(p + " holds no plugin (*.so); build them with scripts/build.sh, "
                                "or correct the path");
      }
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(p, ec)) {
      files.push_back(p);
    } else {
      return Status::NotFound(p + " does not exist (relative paths start from the folder "
                              "channelhub runs in: " + fs::current_path(ec).string() + ")");
    }
  }
  return files;
}

}  // namespace

std::string CapabilityNames(uint32_t c) {
  std::string out;
  auto add = [&](uint32_t bit, const char* name) {
    if (!(c & bit)) return;
    if (!out.empty()) out += ", ";
    out += name;
  };
  add(kInbound, "inbound");
  add(kOutbound, "outbound");
  add(kPoll, "poll");
  add(kToken, "token");
  return out.empty() ? "none" : out;
}

Registry::~Registry() {
  for (void* h : handles_) dlclose(h);
}

std::unique_ptr<Registry> Registry::Empty() { return std::unique_ptr<Registry>(new Registry()); }

Result<std::unique_ptr<Registry>> Registry::Load(const std::vector<std::string>& paths) {
  auto files = ExpandPaths(paths);
  if (!files.ok()) return files.status();
  std::unique_ptr<Registry> reg(new Registry());
  for (const std::string& file : *files) {
    // RTLD_LOCAL: a plugin's symbols never satisfy another plugin's.
    void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = dlerror();
      return Status::Invalid("plugin " + file + " cannot be loaded: " + Text(why));
    }
    reg->handles_.push_back(handle);
    dlerror();
    void* sym = dlsym(handle, CHUB_PLUGIN_ENTRY_SYMBOL);
    if (!sym) {
      return Status::Invalid("plugin " + file + " is not a channelhub plugin: it has no " +
                             std::string(CHUB_PLUGIN_ENTRY_SYMBOL) + " function (build it with plugins/sdk)");
    }
    chub_plugin_entry_fn entry = nullptr;
    static_assert(sizeof(entry) == sizeof(sym));
    std::memcpy(&entry, &sym, sizeof entry);
    const chub_plugin* p = entry();
    if (!p) return Status::Invalid("plugin " + file + ": its entry function returned nothing");
    if (p->abi_version != CHUB_PLUGIN_ABI_VERSION) {
      return Status::Invalid("plugin " + file + " (" + Text(p->name) + " " + Text(p->version) +
                             ") was built for plugin ABI version " + std::to_string(p->abi_version) +
                             "; this channelhub speaks version " + std::to_string(CHUB_PLUGIN_ABI_VERSION) +
                             ": rebuild the plugin against this channelhub's plugins/sdk");
    }
    for (std::size_t i = 0; i < p->connector_count; ++i) {
      const chub_connector& c = p->connectors[i];
      const std::string name = Text(c.name);
      if (name.empty() || !c.create || !c.destroy) {
        return Status::Invalid("plugin " + file + ": connector #" + std::to_string(i) +
                               " has no name or no create/destroy function");
      }
      if (const Entry* other = reg->FindEntry(name)) {
        return Status::Invalid("plugin " + file + " offers connector \"" + name + "\", which " +
                               other->info.file + " already offers: load only one of them");
      }
      if (name == "generic") {
        return Status::Invalid("plugin " + file + ": \"generic\" is the hub's built-in connector; rename it");
      }
      Entry e;
      e.abi = &c;
      e.info.name = name;
      e.info.description = Text(c.description);
      e.info.capabilities = c.capabilities;
      for (const char* const* s = c.settings; s && *s; ++s) e.info.settings.emplace_back(*s);
      e.info.plugin = Text(p->name);
      e.info.plugin_version = Text(p->version);
      e.info.file = file;
      auto missing = [&](bool needed, void* fn, const char* what) -> std::optional<Status> {
        if (needed && !fn) {
          return Status::Invalid("plugin " + file + ": connector \"" + name + "\" claims " + what +
                                 " but has no function for it");
        }
        return std::nullopt;
      };
      const uint32_t caps = c.capabilities;
      for (auto st : {missing(caps & kInbound, reinterpret_cast<void*>(c.inbound), "inbound"),
                      missing(caps & kOutbound, reinterpret_cast<void*>(c.build_delivery), "outbound"),
                      missing(caps & kOutbound, reinterpret_cast<void*>(c.judge_delivery), "outbound"),
                      missing(caps & kPoll, reinterpret_cast<void*>(c.build_poll), "poll"),
                      missing(caps & kPoll, reinterpret_cast<void*>(c.parse_poll), "poll"),
                      missing(caps & kToken, reinterpret_cast<void*>(c.build_token), "token"),
                      missing(caps & kToken, reinterpret_cast<void*>(c.parse_token), "token")}) {
        if (st) return *st;
      }
      reg->entries_.push_back(std::move(e));
    }
  }
  std::sort(reg->entries_.begin(), reg->entries_.end(),
            [](const Entry& a, const Entry& b) { return a.info.name < b.info.name; });
  return reg;
}

Status Registry::AddRemote(const std::vector<ConnectorInfo>& connectors, std::shared_ptr<RemoteLink> link) {
  for (const ConnectorInfo& c : connectors) {
    if (c.name == "generic") {
      return Status::Invalid("\"generic\" is the hub's built-in connector; give the remote connector another name");
    }
    if (const Entry* other = FindEntry(c.name)) {
      return Status::Invalid("remote connector \"" + c.name + "\" has the name of a connector " + other->info.file +
                             " offers; rename one of them");
    }
    Entry e;
    e.info = c;
    e.info.remote = true;
    entries_.push_back(std::move(e));
  }
  std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.info.name < b.info.name; });
  remote_ = std::move(link);
  return Status::Ok();
}

const Registry::Entry* Registry::FindEntry(std::string_view connector) const {
  for (const Entry& e : entries_) {
    if (e.info.name == connector) return &e;
  }
  return nullptr;
}

const ConnectorInfo* Registry::Find(std::string_view connector) const {
  const Entry* e = FindEntry(connector);
  return e ? &e->info : nullptr;
}

std::vector<ConnectorInfo> Registry::List() const {
  std::vector<ConnectorInfo> out;
  for (const Entry& e : entries_) out.push_back(e.info);
  return out;
}

std::vector<std::string> Registry::Names() const {
  std::vector<std::string> out;
  for (const Entry& e : entries_) out.push_back(e.info.name);
  return out;
}

// ---- Instance

namespace {

// The host services handed to one instance; "ctx" points at the owner's name.
struct HostBlock {
  chub_host host;
};

}  // namespace

Result<std::shared_ptr<Instance>> Instance::Create(const Registry& registry, const std::string& connector,
                                                   const std::map<std::string, std::string>& settings,
                                                   const std::string& owner) {
  const Registry::Entry* e = registry.FindEntry(connector);
  if (!e) return Status::NotFound(owner + ": no loaded plugin offers connector \"" + connector + "\"");
  std::shared_ptr<Instance> inst(new Instance());
  inst->info_ = e->info;
  inst->abi_ = e->abi;
  inst->owner_ = owner + " (" + connector + ")";
  if (e->info.remote) {
    // Its settings travel with every call: a connector process that restarts needs no set-up.
    inst->is_remote_ = true;
    inst->remote_ = registry.remote_;
    inst->settings_ = settings;
    inst->owner_ = owner;
    return inst;
  }
  std::vector<chub_kv> kv;
  for (const auto& [k, v] : settings) kv.push_back({Str(k), Str(v)});
  const chub_settings s{kv.data(), kv.size()};
  // The host struct must outlive the plugin's instance: the Instance owns it.
  auto* block = new HostBlock{chub_host{CHUB_PLUGIN_ABI_VERSION, &inst->owner_, &HostLog, &HostNow, &HostRandom}};
  inst->host_block_ = block;
  char error[512] = {0};
  inst->handle_ = inst->abi_->create(&block->host, &s, error, sizeof error);
  if (!inst->handle_) {
    std::string why = error[0] ? std::string(error) : "it gave no reason";
    return Status::Invalid(owner + ": connector \"" + connector + "\" refused its settings: " + why);
  }
  return inst;
}

Instance::~Instance() {
  if (handle_ && abi_) abi_->destroy(handle_);
  delete static_cast<HostBlock*>(host_block_);
}

InboundOutcome Instance::Inbound(const HttpIn& req) {
  struct Collector {
    InboundOutcome out;
    bool responded = false;
    static void OnPayload(void* ctx, chub_str id, chub_str kind, chub_str ct, chub_str body) {
      static_cast<Collector*>(ctx)->out.payloads.push_back(MakePayload(id, kind, ct, body));
    }
    static void OnRespond(void* ctx, int status, chub_str ct, chub_str body) {
      auto* self = static_cast<Collector*>(ctx);
      self->responded = true;
      self->out.status = status;
      self->out.content_type = std::string(View(ct));
      self->out.body = std::string(View(body));
    }
    static void OnReject(void* ctx, int status, chub_str reason) {
      auto* self = static_cast<Collector*>(ctx);
      self->out.rejected = true;
      self->out.status = status;
      self->out.reason = std::string(View(reason));
      self->out.payloads.clear();
    }
  } c;
  if (!Has(kInbound)) {
    c.out.rejected = true;
    c.out.status = 405;
    c.out.reason = "this source polls; it takes no webhooks";
    return c.out;
  }
  if (is_remote_) return RemoteInbound(req);
  std::vector<chub_kv> headers = ToKv(req.headers);
  chub_http_request r{Str(req.method), Str(req.path), Str(req.query), headers.data(), headers.size(),
                      Str(req.body), Str(req.remote_address)};
  chub_inbound_sink sink{&c, &Collector::OnPayload, &Collector::OnRespond, &Collector::OnReject};
  {
    std::lock_guard<std::mutex> lock(mu_);
    abi_->inbound(handle_, &r, &sink);
  }
  if (c.out.rejected) {
    if (c.out.status < 400 || c.out.status > 599) c.out.status = 400;
    c.out.payloads.clear();
  } else if (c.out.status < 200 || c.out.status > 299) {
    c.out.status = 200;  // an acknowledgement is a 2xx; anything else would make the sender retry
  }
  return c.out;
}

namespace {

chub_delivery ToAbi(const Delivery& d) {
  return chub_delivery{Str(d.event_id), Str(d.event_type), Str(d.subject), Str(d.content_type),
                       Str(d.body), d.attempt, Str(d.token), Str(d.step)};
}

}  // namespace

Result<OutRequest> Instance::BuildDelivery(const Delivery& delivery) {
  if (!Has(kOutbound)) return Status::Invalid(owner_ + ": this connector delivers nothing");
  if (is_remote_) return RemoteBuildDelivery(delivery);
  RequestCollector c;
  chub_request_sink sink = c.Sink();
  chub_delivery d = ToAbi(delivery);
  {
    std::lock_guard<std::mutex> lock(mu_);
    abi_->build_delivery(handle_, &d, &sink);
  }
  return c.Take(owner_, "delivery");
}

VerdictOutcome Instance::JudgeDelivery(const Delivery& delivery, const HttpReply& reply) {
  if (is_remote_) return RemoteJudge(delivery, reply);
  struct Collector {
    VerdictOutcome out;
    bool got = false;
    static void OnVerdict(void* ctx, int verdict, chub_str message, chub_str step, int64_t retry_after_ms) {
      auto* self = static_cast<Collector*>(ctx);
      self->got = true;
      self->out.verdict = verdict >= 0 && verdict <= 4 ? static_cast<Verdict>(verdict) : Verdict::kPermanent;
      self->out.message = std::string(View(message));
      self->out.step = std::string(View(step));
      self->out.retry_after_ms = retry_after_ms;
      if (verdict < 0 || verdict > 4) self->out.message = "the connector gave an unknown verdict " + std::to_string(verdict);
    }
  } c;
  std::vector<chub_kv> headers = ToKv(reply.headers);
  chub_http_response r{reply.status, headers.data(), headers.size(), Str(reply.body)};
  chub_verdict_sink sink{&c, &Collector::OnVerdict};
  chub_delivery d = ToAbi(delivery);
  {
    std::lock_guard<std::mutex> lock(mu_);
    abi_->judge_delivery(handle_, &d, &r, &sink);
  }
  if (!c.got) {
    c.out.verdict = Verdict::kRetry;
    c.out.message = "the connector gave no verdict on HTTP " + std::to_string(reply.status);
  }
  return c.out;
}

Result<OutRequest> Instance::BuildPoll(const std::string& cursor, const std::string& token) {
  if (!Has(kPoll)) return Status::Invalid(owner_ + ": this connector does not poll");
  if (is_remote_) return RemoteBuildPoll(cursor, token);
  RequestCollector c;
  chub_request_sink sink = c.Sink();
  {
    std::lock_guard<std::mutex> lock(mu_);
    abi_->build_poll(handle_, Str(cursor), Str(token), &sink);
  }
  return c.Take(owner_, "poll");
}

PollOutcome Instance::ParsePoll(const std::string& cursor, const HttpReply& reply) {
  if (is_remote_) return RemoteParsePoll(cursor, reply);
  struct Collector {
    PollOutcome out;
    bool got = false;
    static void OnPayload(void* ctx, chub_str id, chub_str kind, chub_str ct, chub_str body) {
      static_cast<Collector*>(ctx)->out.payloads.push_back(MakePayload(id, kind, ct, body));
    }
    static void OnCursor(void* ctx, chub_str next, int more) {
      auto* self = static_cast<Collector*>(ctx);
      self->got = true;
      self->out.cursor = std::string(View(next));
      self->out.more = more != 0;
    }
    static void OnFail(void* ctx, int verdict, chub_str message) {
      auto* self = static_cast<Collector*>(ctx);
      self->got = true;
      self->out.failed = true;
      self->out.verdict = verdict == CHUB_VERDICT_PERMANENT ? Verdict::kPermanent
                          : verdict == CHUB_VERDICT_TOKEN_EXPIRED ? Verdict::kTokenExpired
                                                                  : Verdict::kRetry;
      self->out.message = std::string(View(message));
    }
  } c;
  std::vector<chub_kv> headers = ToKv(reply.headers);
  chub_http_response r{reply.status, headers.data(), headers.size(), Str(reply.body)};
  chub_poll_sink sink{&c, &Collector::OnPayload, &Collector::OnCursor, &Collector::OnFail};
  {
    std::lock_guard<std::mutex> lock(mu_);
    abi_->parse_poll(handle_, Str(cursor), &r, &sink);
  }
  if (!c.got) {
    c.out.failed = true;
    c.out.verdict = Verdict::kRetry;
    c.out.message = "the connector gave neither a cursor nor an error";
  }
  if (c.out.failed) c.out.payloads.clear();  // a failed poll journals nothing
  return c.out;
}

Result<OutRequest> Instance::BuildToken() {
  if (!Has(kToken)) return Status::Invalid(owner_ + ": this connector needs no token");
  if (is_remote_) return RemoteBuildToken();
  RequestCollector c;
  chub_request_sink sink = c.Sink();
  {
    std::lock_guard<std::mutex> lock(mu_);
    abi_->build_token(handle_, &sink);
  }
  return c.Take(owner_, "token");
}

TokenOutcome Instance::ParseToken(const HttpReply& reply) {
  if (is_remote_) return RemoteParseToken(reply);
  struct Collector {
    TokenOutcome out;
    bool got = false;
    static void OnToken(void* ctx, chub_str token, int64_t expires_in_ms) {
      auto* self = static_cast<Collector*>(ctx);
      self->got = true;
      self->out.ok = true;
      self->out.token = std::string(View(token));
      self->out.expires_in_ms = expires_in_ms;
    }
    static void OnFail(void* ctx, chub_str message) {
      auto* self = static_cast<Collector*>(ctx);
      self->got = true;
      self->out.ok = false;
      self->out.message = std::string(View(message));
    }
  } c;
  std::vector<chub_kv> headers = ToKv(reply.headers);
  chub_http_response r{reply.status, headers.data(), headers.size(), Str(reply.body)};
  chub_token_sink sink{&c, &Collector::OnToken, &Collector::OnFail};
  {
    std::lock_guard<std::mutex> lock(mu_);
    abi_->parse_token(handle_, &r, &sink);
  }
  if (!c.got) c.out.message = "the connector gave neither a token nor an error";
  if (c.out.ok && c.out.token.empty()) {
    c.out.ok = false;
    c.out.message = "the connector returned an empty token";
  }
  return c.out;
}

}  // namespace channelhub::plugin
