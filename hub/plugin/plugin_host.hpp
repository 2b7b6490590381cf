// The plugin host: loads connector plugins (shared libraries built against plugins/sdk), checks
// their ABI, and wraps connector instances in plain C++ for the rest of the hub. The C ABI stays
// inside hub/plugin; nothing else includes channelhub/plugin.h.
//
//   auto registry = plugin::Registry::Load({"build/plugins"});   // errors name the file
//   auto shop = plugin::Instance::Create(**registry, "shopify", {{"secret", "..."}}, "sources.shop");
//   plugin::InboundOutcome out = (*shop)->Inbound(request);
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hub/common/status.hpp"

struct chub_connector;

namespace channelhub::plugin {

class RemoteLink;

// Capabilities, as in the ABI (CHUB_CAP_*).
inline constexpr uint32_t kInbound = 1;
inline constexpr uint32_t kOutbound = 2;
inline constexpr uint32_t kPoll = 4;
inline constexpr uint32_t kToken = 8;

// "inbound, outbound, poll, token" for the set bits.
std::string CapabilityNames(uint32_t capabilities);

struct ConnectorInfo {
  std::string name;
  std::string description;
  uint32_t capabilities = 0;
  std::vector<std::string> settings;  // the keys it reads
  std::string plugin;                 // the plugin's name
  std::string plugin_version;
  std::string file;                   // the shared library it came from ("remote: <endpoint>" when out of process)
  bool remote = false;                // an out-of-process connector (hub/plugin/remote.hpp)
};

// The loaded plugins. Immutable after Load; keep it alive as long as any Instance.
class Registry {
 public:
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Loads every path: a shared library, or a directory whose *.so files are all loaded (in name
  // order). A missing file, a library that does not load, a missing entry symbol, an ABI version
  // this hub does not speak, or two plugins offering the same connector name is an error naming
  // the file and saying what to do.
  static Result<std::unique_ptr<Registry>> Load(const std::vector<std::string>& paths);
  // An empty registry (no plugins configured).
  static std::unique_ptr<Registry> Empty();

  // Adds the out-of-process connectors the configuration declares; their instances call them
  // through "link" (null under `channelhub check`: the instances exist, their calls fail).
  // InvalidArgument when a name is already a plugin's or the hub's.
  Status AddRemote(const std::vector<ConnectorInfo>& connectors, std::shared_ptr<RemoteLink> link);

  const ConnectorInfo* Find(std::string_view connector) const;
  std::vector<ConnectorInfo> List() const;  // by connector name
  // The connector names, for "did you mean".
  std::vector<std::string> Names() const;

 private:
  Registry() = default;
  friend class Instance;
  struct Entry {
    ConnectorInfo info;
    const chub_connector* abi = nullptr;
  };
  const Entry* FindEntry(std::string_view connector) const;

  std::vector<void*> handles_;
  std::vector<Entry> entries_;
  std::shared_ptr<RemoteLink> remote_;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// What the hub received (inbound), or got back (a response to a connector's request).
struct HttpIn {
  std::string method;
  std::string path;
  std::string query;
  HeaderList headers;
  std::string body;
  std::string remote_address;
};

struct HttpReply {
  int status = 0;
  HeaderList headers;
  std::string body;
};

// A request a connector wants sent. "target": a path resolved against the configured url, or
// an absolute URL.
struct OutRequest {
  std::string method;
  std::string target;
  HeaderList headers;
  std::string body;
};

struct Payload {
  std::string event_id;  // "" = the hub derives one from the body
  std::string kind;
  std::string content_type;
  std::string body;
};

struct InboundOutcome {
  bool rejected = false;
  int status = 200;
  std::string reason;        // rejected: why
  std::vector<Payload> payloads;
  std::string content_type;  // the answer once the payloads are durable
  std::string body;
};

enum class Verdict { kDone = 0, kRetry = 1, kPermanent = 2, kTokenExpired = 3, kNext = 4 };

struct VerdictOutcome {
  Verdict verdict = Verdict::kPermanent;
  std::string message;
  std::string step;
  int64_t retry_after_ms = 0;
};

struct Delivery {
  std::string event_id;
  std::string event_type;
  std::string subject;
  std::string content_type;
  std::string body;
  int attempt = 1;
  std::string token;
  std::string step;
};

struct PollOutcome {
  bool failed = false;
  Verdict verdict = Verdict::kRetry;  // when failed
  std::string message;
  std::vector<Payload> payloads;
  std::string cursor;
  bool more = false;
};

struct TokenOutcome {
  bool ok = false;
  std::string token;
  int64_t expires_in_ms = 0;
  std::string message;  // when !ok
};

// One configured use of a connector: a source or a destination. Calls into the plugin are
// serialised (the ABI promises a connector one thread at a time per instance).
class Instance {
 public:
  // "owner" names the configuration entry in logs and errors, e.g. "sources.webshop".
  // Errors: an unknown connector, or the connector refusing its settings (its own message).
  static Result<std::shared_ptr<Instance>> Create(const Registry& registry, const std::string& connector,
                                                  const std::map<std::string, std::string>& settings,
                                                  const std::string& owner);
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  const ConnectorInfo& info() const { return info_; }
  bool Has(uint32_t capability) const { return (info_.capabilities & capability) != 0; }

  InboundOutcome Inbound(const HttpIn& request);
  Result<OutRequest> BuildDelivery(const Delivery& delivery);
  VerdictOutcome JudgeDelivery(const Delivery& delivery, const HttpReply& reply);
  Result<OutRequest> BuildPoll(const std::string& cursor, const std::string& token);
  PollOutcome ParsePoll(const std::string& cursor, const HttpReply& reply);
  Result<OutRequest> BuildToken();
  TokenOutcome ParseToken(const HttpReply& reply);

 private:
  Instance() = default;

  // The same operations on an out-of-process connector (hub/plugin/remote_instance.cpp).
  Result<std::string> RemoteCall(const char* op, const std::string& request);
  InboundOutcome RemoteInbound(const HttpIn& request);
  Result<OutRequest> RemoteBuildDelivery(const Delivery& delivery);
  Result<OutRequest> RemoteBuildPoll(const std::string& cursor, const std::string& token);
  Result<OutRequest> RemoteBuildToken();
  VerdictOutcome RemoteJudge(const Delivery& delivery, const HttpReply& reply);
  PollOutcome RemoteParsePoll(const std::string& cursor, const HttpReply& reply);
  TokenOutcome RemoteParseToken(const HttpReply& reply);

  ConnectorInfo info_;
  bool is_remote_ = false;
  std::shared_ptr<RemoteLink> remote_;  // null under `channelhub check`
  std::map<std::string, std::string> settings_;
  const chub_connector* abi_ = nullptr;
  void* handle_ = nullptr;
  void* host_block_ = nullptr;  // the chub_host the plugin was given; lives as long as the instance
  std::string owner_;
  std::mutex mu_;
};

}  // namespace channelhub::plugin
