#include "hub/dispatch/connector_client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "hub/common/ids.hpp"

#include "hub/common/time.hpp"

namespace channelhub::dispatch {
namespace {

// A token is renewed this long before it expires, or a tenth of its life before when that is
// shorter: the saved expiry is already the renewal time.
constexpr int64_t kRenewAheadMs = 60000;

std::string Origin(const Url& u) { return u.scheme + "://" + u.host + ":" + u.port; }

// Tokens shared by every client of the process that logs in the same way: one login, one
// renewal, however many lanes, sources and destinations use it.
struct SharedTokens {
  std::mutex mu;
  std::map<std::string, journal::ConnectorState> tokens;            // GUARDED_BY(mu)
  std::map<std::string, std::shared_ptr<std::mutex>> fetching;      // GUARDED_BY(mu): one login at a time per key
};

SharedTokens& Tokens() {
  static SharedTokens t;
  return t;
}

bool Fresh(const journal::ConnectorState& t, int64_t now) {
  return !t.value.empty() && (t.expires_at_ms == 0 || now < t.expires_at_ms);
}

}  // namespace

std::string TokenKey(const std::string& connector, const std::map<std::string, config::Setting>& settings,
                     const std::string& url) {
  std::string material = connector + "\n" + url + "\n";
  for (const auto& [k, v] : settings) material += k + "=" + v.value + "\n";  // std::map: sorted
  return "token:" + connector + ":" + Sha256Hex(material).substr(0, 16);
}

Result<std::optional<journal::ConnectorState>> JournalStateStore::Load(const std::string& name) {
  if (!reader_) {
    auto r = journal_.NewReader();
    if (!r.ok()) return r.status();
    reader_ = std::move(r).value();
  }
  return reader_->LoadState(name);
}

Status JournalStateStore::Save(const std::string& name, const std::string& value, int64_t expires_at_ms) {
  return journal_.SaveState(name, value, expires_at_ms);
}

ConnectorClient::ConnectorClient(std::string owner, std::shared_ptr<plugin::Instance> connector, Url base,
                                 std::chrono::milliseconds timeout, StateStore* state, std::string token_key,
                                 config::OutboundTls tls)
    : owner_(std::move(owner)),
      token_key_(token_key.empty() ? "token:" + owner_ : std::move(token_key)),
      connector_(std::move(connector)),
      base_(std::move(base)),
      timeout_(timeout),
      state_(state),
      tls_(std::move(tls)) {}

Result<plugin::HttpReply> ConnectorClient::Execute(const plugin::OutRequest& request) {
  Url url = base_;
  std::string target = request.target;
  if (target.starts_with("http://") || target.starts_with("https://")) {
    auto parsed = Url::Parse(target);
    if (!parsed.ok()) return Status::Invalid(owner_ + ": the connector built a bad URL: " + parsed.status().message());
    url = std::move(parsed).value();
    target = url.target;
  } else if (target.empty()) {
    target = base_.target;
  } else if (target.front() != '/') {
    // Relative to the configured url's path: "Service.common.kdsvc" under ".../k3cloud/".
    std::string dir = base_.target.substr(0, base_.target.find('?'));
    dir = dir.substr(0, dir.rfind('/') + 1);
    target = dir + target;
  }
  const std::string origin = Origin(url);
  auto& client = clients_[origin];
  if (!client) client = std::make_unique<HttpClient>(url, tls_);
  auto res = client->SendTo(request.method, target, request.headers, request.body, timeout_);
  if (!res.ok()) return res.status();
  plugin::HttpReply reply;
  reply.status = res->status;
  reply.headers = std::move(res->headers);
  reply.body = std::move(res->body);
  return reply;
}

Result<std::string> ConnectorClient::Token() {
  if (!connector_->Has(plugin::kToken)) return std::string();
  const std::string& name = token_key_;
  SharedTokens& shared = Tokens();
  std::shared_ptr<std::mutex> login;
  {
    std::lock_guard<std::mutex> lock(shared.mu);
    auto it = shared.tokens.find(name);
    if (it != shared.tokens.end() && Fresh(it->second, NowUnixMillis())) {
      token_ = it->second;
      return it->second.value;
    }
    auto& m = shared.fetching[name];
    if (!m) m = std::make_shared<std::mutex>();
    login = m;
  }
  // One login per key at a time; whoever waited finds the fresh token.
  std::lock_guard<std::mutex> one_login(*login);
  const int64_t now = NowUnixMillis();
  {
    std::lock_guard<std::mutex> lock(shared.mu);
    auto it = shared.tokens.find(name);
    if (it != shared.tokens.end() && Fresh(it->second, now)) {
      token_ = it->second;
      return it->second.value;
    }
  }
  if (!token_loaded_ && state_) {  // after a restart: the token saved before it, if still good
    token_loaded_ = true;
    auto saved = state_->Load(name);
    if (saved.ok() && *saved && Fresh(**saved, now)) {
      std::lock_guard<std::mutex> lock(shared.mu);
      shared.tokens[name] = **saved;
      token_ = **saved;
      return (*saved)->value;
    }
  }
  auto req = connector_->BuildToken();
  if (!req.ok()) return req.status();
  auto reply = Execute(*req);
  if (!reply.ok()) return Status::Unavailable("fetching a token: " + reply.status().message());
  plugin::TokenOutcome t = connector_->ParseToken(*reply);
  if (!t.ok) {
    return Status::Unavailable("the system refused the login (HTTP " + std::to_string(reply->status) +
                               "): " + t.message);
  }
  const int64_t ttl = std::max<int64_t>(t.expires_in_ms, 0);
  journal::ConnectorState fresh{t.token, ttl > 0 ? now + ttl - std::min(kRenewAheadMs, ttl / 10) : 0};
  if (state_) {
    Status st = state_->Save(name, fresh.value, fresh.expires_at_ms);
    if (!st.ok()) spdlog::warn("{}: the new token was not saved ({}); it is used anyway", owner_, st.message());
  }
  {
    std::lock_guard<std::mutex> lock(shared.mu);
    shared.tokens[name] = fresh;
  }
  token_ = fresh;
  spdlog::info("{}: new token, valid for {}s", owner_, ttl / 1000);
  return fresh.value;
}

void ConnectorClient::InvalidateToken() {
  // Drop the shared token only if it is still the one this client was refused with; another
  // client may have renewed it meanwhile.
  SharedTokens& shared = Tokens();
  std::lock_guard<std::mutex> lock(shared.mu);
  auto it = shared.tokens.find(token_key_);
  if (it != shared.tokens.end() && (!token_ || it->second.value == token_->value)) shared.tokens.erase(it);
  token_.reset();
  token_loaded_ = true;  // do not reload the stale one from the journal
}

}  // namespace channelhub::dispatch
