#include "hub/dispatch/connector_client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "hub/common/time.hpp"

namespace channelhub::dispatch {
namespace {

// A token is renewed this long before it expires, or a tenth of its life before when that is
// shorter: the saved expiry is already the renewal time.
constexpr int64_t kRenewAheadMs = 60000;

std::string Origin(const Url& u) { return u.scheme + "://" + u.host + ":" + u.port; }

}  // namespace

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
                                 std::chrono::milliseconds timeout, StateStore* state)
    : owner_(std::move(owner)), connector_(std::move(connector)), base_(std::move(base)), timeout_(timeout),
      state_(state) {}

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
  if (!client) client = std::make_unique<HttpClient>(url);
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
  const std::string name = "token:" + owner_;
  if (!token_loaded_ && state_) {
    auto saved = state_->Load(name);
    if (saved.ok()) token_ = *saved;
    token_loaded_ = true;
  }
  const int64_t now = NowUnixMillis();
  if (token_ && !token_->value.empty() && (token_->expires_at_ms == 0 || now < token_->expires_at_ms)) {
    return token_->value;
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
  token_ = fresh;
  spdlog::info("{}: new token, valid for {}s", owner_, ttl / 1000);
  return fresh.value;
}

void ConnectorClient::InvalidateToken() {
  token_.reset();
  token_loaded_ = true;  // do not reload the stale one
}

}  // namespace channelhub::dispatch
