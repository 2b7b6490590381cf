#include "hub/plugin/remote.hpp"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "hub/common/json.hpp"
#include "hub/common/metrics.hpp"
#include "hub/common/time.hpp"

namespace channelhub::plugin {
namespace {

constexpr std::chrono::milliseconds kPollEvery{100};

std::string Compact(const rapidjson::Value& v) { return json::ToCompact(v); }

std::string Message(const char* key, const std::string& text) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key(key);
  w.String(text);
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace

struct RemoteLink::Impl {
  struct Pending {
    std::string connector;
    std::string identity;
    bool done = false;
    Result<std::string> result = Status::Unavailable("no answer yet");
  };
  struct Outgoing {
    std::string identity;
    std::string body;
    uint64_t id = 0;
  };
  struct Peer {
    RemotePeerStatus status;
    std::string identity;
    std::chrono::steady_clock::time_point last_seen;
    std::chrono::steady_clock::time_point lost_at;
  };

  RemoteOptions options;
  zmq::context_t context{1};
  zmq::socket_t router{context, zmq::socket_type::router};
  int wake_fd = -1;
  std::thread thread;
  std::atomic<bool> stopping{false};

  mutable std::mutex mu;
  std::condition_variable answered;
  std::map<std::string, ConnectorInfo> declared;  // GUARDED_BY(mu)
  std::map<std::string, Peer> peers;              // by connector; GUARDED_BY(mu)
  std::map<uint64_t, Pending*> pending;           // GUARDED_BY(mu)
  std::deque<Outgoing> outgoing;                  // GUARDED_BY(mu)
  uint64_t next_id = 1;                           // GUARDED_BY(mu)
  std::set<std::string> delimited_;               // identities that send an empty first frame; GUARDED_BY(mu)

  ~Impl() {
    stopping = true;
    Wake();
    if (thread.joinable()) thread.join();
    if (wake_fd >= 0) close(wake_fd);
  }

  void Wake() const {
    const uint64_t one = 1;
    if (wake_fd >= 0) (void)!write(wake_fd, &one, sizeof one);
  }

  // Every call waiting on "identity" fails now. Caller holds mu.
  void FailCallsTo(const std::string& identity, const std::string& why) {
    for (auto& [id, p] : pending) {
      if (p->identity == identity && !p->done) {
        p->done = true;
        p->result = Status::Unavailable(why);
      }
    }
    answered.notify_all();
  }

  void Send(const std::string& identity, const char* type, const std::string& body) {
    bool delimited = false;
    {
      std::lock_guard lock(mu);
      delimited = delimited_.count(identity) > 0;
    }
    try {
      if (delimited) {  // a REQ-style peer: an empty frame before the message, as it sent
        std::array<zmq::const_buffer, 4> frames{zmq::buffer(identity), zmq::const_buffer(),
                                                zmq::buffer(std::string_view(type)), zmq::buffer(body)};
        (void)zmq::send_multipart(router, frames, zmq::send_flags::dontwait);
        return;
      }
      std::array<zmq::const_buffer, 3> frames{zmq::buffer(identity), zmq::buffer(std::string_view(type)),
                                              zmq::buffer(body)};
      (void)zmq::send_multipart(router, frames, zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
      // ROUTER_MANDATORY: the peer is gone (EHOSTUNREACH) or its queue is full.
      std::lock_guard lock(mu);
      for (auto& [connector, peer] : peers) {
        if (peer.identity == identity && peer.status.connected) {
          peer.status.connected = false;
          ++peer.status.losses;
          peer.lost_at = std::chrono::steady_clock::now();
          spdlog::warn("remote connector {}: cannot be reached ({}); calls fail until it says HELLO again",
                       connector, e.what());
        }
      }
      FailCallsTo(identity, "the connector cannot be reached: " + std::string(e.what()));
    }
  }

  void OnHello(const std::string& identity, const std::string& body) {
    rapidjson::Document doc;
    std::string name, version, refusal;
    int64_t pid = 0;
    std::vector<std::string> caps;
    if (Status st = json::Parse(body, &doc); !st.ok() || !doc.IsObject()) {
      refusal = "HELLO must carry a JSON object like {\"connector\": \"name\"}";
    } else {
      if (doc.HasMember("connector") && doc["connector"].IsString()) name = doc["connector"].GetString();
      if (doc.HasMember("version") && doc["version"].IsString()) version = doc["version"].GetString();
      if (doc.HasMember("pid") && doc["pid"].IsInt64()) pid = doc["pid"].GetInt64();
      if (doc.HasMember("capabilities") && doc["capabilities"].IsArray()) {
        for (const auto& c : doc["capabilities"].GetArray()) {
          if (c.IsString()) caps.emplace_back(c.GetString());
        }
      }
      if (name.empty()) refusal = "HELLO has no \"connector\" name";
    }
    std::unique_lock lock(mu);
    if (refusal.empty()) {
      auto d = declared.find(name);
      if (d == declared.end()) {
        std::string known;
        for (const auto& [n, info] : declared) known += (known.empty() ? "" : ", ") + n;
        refusal = "connector \"" + name + "\" is not declared under remote_connectors.connectors in the hub's "
                  "configuration (declared: " + (known.empty() ? "none" : known) + ")";
      } else if (doc.HasMember("capabilities")) {
        // It must do everything the configuration says it does.
        const std::string declared_caps = CapabilityNames(d->second.capabilities);
        for (auto [bit, cap] : {std::pair{kInbound, "inbound"}, {kOutbound, "outbound"}, {kPoll, "poll"}, {kToken, "token"}}) {
          if ((d->second.capabilities & bit) && std::find(caps.begin(), caps.end(), cap) == caps.end()) {
            refusal = "connector \"" + name + "\" is declared with " + declared_caps + " but says it cannot do " + cap;
            break;
          }
        }
      }
    }
    if (!refusal.empty()) {
      lock.unlock();
      spdlog::error("remote connector: a HELLO was refused: {}", refusal);
      Send(identity, "REFUSED", Message("message", refusal));
      return;
    }
    Peer& peer = peers[name];
    const auto now = std::chrono::steady_clock::now();
    if (peer.status.connected && peer.identity != identity) {
      ++peer.status.losses;
      FailCallsTo(peer.identity, "the connector was replaced by a new process mid-call");
    }
    const bool again = peer.status.connects > 0;
    const double down_s =
        again && !peer.status.connected ? std::chrono::duration<double>(now - peer.lost_at).count() : 0.0;
    peer.identity = identity;
    peer.last_seen = now;
    peer.status.connector = name;
    peer.status.connected = true;
    peer.status.version = version;
    peer.status.pid = pid;
    peer.status.last_seen_ms = NowUnixMillis();
    ++peer.status.connects;
    lock.unlock();
    if (again) {
      spdlog::info("remote connector {} reconnected (pid {}, version {}{})", name, pid, version,
                   down_s > 0 ? fmt::format(", after {:.1f} s away", down_s) : std::string());
    } else {
      spdlog::info("remote connector {} connected (pid {}, version {})", name, pid, version);
    }
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    w.StartObject();
    w.Key("heartbeat_ms");
    w.Int64(std::max<int64_t>(100, options.heartbeat_timeout.count() / 3));
    w.EndObject();
    Send(identity, "WELCOME", std::string(sb.GetString(), sb.GetSize()));
  }

  // The connector a known identity belongs to ("" when unknown). Caller holds mu.
  Peer* PeerOf(const std::string& identity) {
    for (auto& [name, peer] : peers) {
      if (peer.identity == identity && peer.status.connected) return &peer;
    }
    return nullptr;
  }

  void OnMessage(const std::string& identity, const std::string& type, const std::string& body) {
    if (type == "HELLO") {
      OnHello(identity, body);
      return;
    }
    std::unique_lock lock(mu);
    Peer* peer = PeerOf(identity);
    if (!peer) {
      lock.unlock();
      // A connector the hub does not know (the hub restarted, or it was declared gone): it says HELLO again.
      if (type != "BYE") Send(identity, "WHO", "{}");
      return;
    }
    peer->last_seen = std::chrono::steady_clock::now();
    peer->status.last_seen_ms = NowUnixMillis();
    if (type == "PING") {
      lock.unlock();
      Send(identity, "PONG", "{}");
      return;
    }
    if (type == "BYE") {
      peer->status.connected = false;
      ++peer->status.losses;
      peer->lost_at = std::chrono::steady_clock::now();
      spdlog::info("remote connector {} said BYE; calls fail until it says HELLO again", peer->status.connector);
      FailCallsTo(identity, "the connector stopped (BYE) mid-call");
      return;
    }
    if (type != "RESULT") {
      spdlog::warn("remote connector {}: unknown message type \"{}\" ignored", peer->status.connector, type);
      return;
    }
    rapidjson::Document doc;
    if (Status st = json::Parse(body, &doc); !st.ok() || !doc.IsObject() || !doc.HasMember("id") ||
                                              !doc["id"].IsUint64()) {
      spdlog::warn("remote connector {}: a RESULT without a numeric id was ignored", peer->status.connector);
      return;
    }
    auto it = pending.find(doc["id"].GetUint64());
    if (it == pending.end() || it->second->done) return;  // answered too late: the caller gave up
    if (it->second->identity != identity) {
      // Only the process the call went to may answer it.
      spdlog::warn("remote connector {}: a RESULT for a call it was not sent was ignored", peer->status.connector);
      return;
    }
    Pending& p = *it->second;
    p.done = true;
    if (doc.HasMember("error")) {
      ++peers[p.connector].status.failed_calls;
      p.result = Status::Invalid(doc["error"].IsString() ? std::string(doc["error"].GetString())
                                                         : Compact(doc["error"]));
    } else {
      p.result = std::string(body);
    }
    answered.notify_all();
  }

  void CheckHeartbeats() {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu);
    for (auto& [name, peer] : peers) {
      if (!peer.status.connected || now - peer.last_seen <= options.heartbeat_timeout) continue;
      peer.status.connected = false;
      ++peer.status.losses;
      peer.lost_at = now;
      const double silent = std::chrono::duration<double>(now - peer.last_seen).count();
      spdlog::error("remote connector {} (pid {}) has been silent for {:.1f} s: taken as gone; webhooks get 503 "
                    "and deliveries wait until it says HELLO again", name, peer.status.pid, silent);
      FailCallsTo(peer.identity, fmt::format("the connector went silent mid-call ({:.1f} s)", silent));
    }
  }

  void Run() {
    zmq::pollitem_t items[2] = {{router.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, wake_fd, ZMQ_POLLIN, 0}};
    while (!stopping) {
      try {
        zmq::poll(items, 2, kPollEvery);
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) continue;
        spdlog::error("remote connectors: poll failed: {}", e.what());
        std::this_thread::sleep_for(kPollEvery);
      }
      if (items[1].revents & ZMQ_POLLIN) {
        uint64_t n = 0;
        (void)!read(wake_fd, &n, sizeof n);
      }
      std::deque<Outgoing> send;
      {
        std::lock_guard lock(mu);
        send.swap(outgoing);
      }
      for (const Outgoing& o : send) Send(o.identity, "CALL", o.body);
      for (int i = 0; i < 1000; ++i) {  // drain what arrived, then look at the queue again
        std::vector<zmq::message_t> frames;
        try {
          if (!zmq::recv_multipart(router, std::back_inserter(frames), zmq::recv_flags::dontwait)) break;
        } catch (const zmq::error_t& e) {
          if (e.num() == EINTR) continue;
          break;
        }
        if (frames.size() < 2) continue;
        const std::string identity = frames[0].to_string();
        // A peer that puts an empty delimiter frame first (as REQ sockets and many examples do)
        // is answered the same way.
        std::size_t first = 1;
        if (frames[1].size() == 0 && frames.size() > 2) {
          first = 2;
          std::lock_guard lock(mu);
          delimited_.insert(identity);
        }
        const std::string type = frames[first].to_string();
        const std::string body = frames.size() > first + 1 ? frames[first + 1].to_string() : std::string();
        OnMessage(identity, type, body);
      }
      CheckHeartbeats();
    }
  }
};

Result<std::shared_ptr<RemoteLink>> RemoteLink::Bind(const RemoteOptions& options) {
  std::shared_ptr<RemoteLink> link(new RemoteLink());
  link->impl_ = std::make_unique<Impl>();
  Impl& im = *link->impl_;
  im.options = options;
  try {
    im.router.set(zmq::sockopt::linger, 0);
    im.router.set(zmq::sockopt::router_mandatory, 1);
    // A message bigger than this (a runaway or hostile peer) closes that peer's connection.
    im.router.set(zmq::sockopt::maxmsgsize, int64_t{256} << 20);
    // The transport notices a dead TCP peer too; the application heartbeat decides "gone".
    im.router.set(zmq::sockopt::heartbeat_ivl, 1000);
    im.router.set(zmq::sockopt::heartbeat_timeout, 3000);
    im.router.bind(options.endpoint);
    link->endpoint_ = im.router.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Invalid("remote_connectors.endpoint: cannot bind " + options.endpoint + ": " + e.what());
  }
  im.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (im.wake_fd < 0) return Status::IoError("remote connectors: eventfd failed");
  im.thread = std::thread([&im] { im.Run(); });
  return link;
}

RemoteLink::~RemoteLink() = default;

void RemoteLink::Declare(const std::vector<ConnectorInfo>& connectors) {
  std::lock_guard lock(impl_->mu);
  impl_->declared.clear();
  for (const auto& c : connectors) impl_->declared[c.name] = c;
}

Result<std::string> RemoteLink::Call(const std::string& connector, const std::string& op, const std::string& request) {
  Impl& im = *impl_;
  Impl::Pending p;
  p.connector = connector;
  uint64_t id = 0;
  {
    std::lock_guard lock(im.mu);
    auto it = im.peers.find(connector);
    if (it == im.peers.end() || !it->second.status.connected) {
      if (it != im.peers.end()) {
        ++it->second.status.calls;
        ++it->second.status.failed_calls;
      }
      return Status::Unavailable("remote connector " + connector + " is not connected to " + endpoint_ +
                                 (it == im.peers.end() ? " (it never said HELLO)" : " (it went away; waiting for it to reconnect)"));
    }
    ++it->second.status.calls;
    p.identity = it->second.identity;
    id = im.next_id++;
    // {"id":N,"op":"...", ...request's members}
    std::string body = "{\"id\":" + std::to_string(id) + ",\"op\":\"" + op + "\"";
    if (request.size() > 2) body += "," + request.substr(1);  // request is "{...}"
    else body += "}";
    im.pending[id] = &p;
    im.outgoing.push_back({p.identity, std::move(body), id});
  }
  im.Wake();
  std::unique_lock lock(im.mu);
  const bool done = im.answered.wait_for(lock, im.options.call_timeout, [&p] { return p.done; });
  im.pending.erase(id);
  if (!done) {
    ++im.peers[connector].status.failed_calls;
    return Status::Unavailable("remote connector " + connector + " gave no answer to " + op + " within " +
                               std::to_string(im.options.call_timeout.count()) + " ms");
  }
  if (!p.result.ok() && p.result.status().code() == StatusCode::kUnavailable) ++im.peers[connector].status.failed_calls;
  return std::move(p.result);
}

std::vector<RemotePeerStatus> RemoteLink::Peers() const {
  std::lock_guard lock(impl_->mu);
  std::vector<RemotePeerStatus> out;
  for (const auto& [name, info] : impl_->declared) {
    auto it = impl_->peers.find(name);
    if (it != impl_->peers.end()) {
      out.push_back(it->second.status);
    } else {
      RemotePeerStatus s;
      s.connector = name;
      out.push_back(s);
    }
  }
  return out;
}

std::string RemoteLink::MetricsText() const {
  const auto peers = Peers();
  std::string up = metrics::Header("channelhub_remote_connector_up",
                                   "Out-of-process connector linked to the hub (1) or not (0).", "gauge");
  std::string connects = metrics::Header("channelhub_remote_connector_connects_total",
                                         "HELLOs accepted per out-of-process connector (first connection and reconnections).",
                                         "counter");
  std::string losses = metrics::Header("channelhub_remote_connector_losses_total",
                                       "Times an out-of-process connector went silent, said BYE or was replaced.", "counter");
  std::string calls = metrics::Header("channelhub_remote_connector_calls_total",
                                      "Calls to out-of-process connectors by outcome.", "counter");
  for (const auto& p : peers) {
    const std::string l = "connector=\"" + metrics::Escape(p.connector) + "\"";
    up += "channelhub_remote_connector_up{" + l + "} " + (p.connected ? "1" : "0") + "\n";
    connects += "channelhub_remote_connector_connects_total{" + l + "} " + std::to_string(p.connects) + "\n";
    losses += "channelhub_remote_connector_losses_total{" + l + "} " + std::to_string(p.losses) + "\n";
    calls += "channelhub_remote_connector_calls_total{" + l + ",outcome=\"ok\"} " +
             std::to_string(p.calls - std::min(p.calls, p.failed_calls)) + "\n";
    calls += "channelhub_remote_connector_calls_total{" + l + ",outcome=\"failed\"} " +
             std::to_string(p.failed_calls) + "\n";
  }
  return up + connects + losses + calls;
}

}  // namespace channelhub::plugin
