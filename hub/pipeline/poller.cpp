#include "hub/pipeline/poller.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>

#include "hub/common/ids.hpp"
#include "hub/common/time.hpp"
#include "hub/dispatch/connector_client.hpp"

namespace channelhub::pipeline {
namespace {

constexpr int64_t kFirstBackoffMs = 1000;
// After a failure the connector calls permanent (a revoked session, a bad setting), polling
// pauses this many intervals: the admin has time to fix it, and the log is not flooded.
constexpr int64_t kPermanentPauseIntervals = 10;
constexpr std::size_t kMaxEventIdLength = 200;

}  // namespace

struct Poller::Worker {
  const config::SourceConfig* source = nullptr;
  std::unique_ptr<journal::JournalReader> reader;  // for the backlog
  std::shared_ptr<plugin::Instance> connector;
  std::unique_ptr<dispatch::JournalStateStore> state;
  std::unique_ptr<dispatch::ConnectorClient> client;
  std::thread thread;
};

Poller::Poller(const config::Config& config, journal::Journal& journal,
               std::map<std::string, std::shared_ptr<plugin::Instance>> connectors)
    : config_(config), journal_(journal), connectors_(std::move(connectors)) {}

Poller::~Poller() { Stop(); }

Status Poller::Start() {
  for (const auto& [name, src] : config_.sources) {
    if (!src.poll.enabled) continue;
    auto it = connectors_.find(name);
    if (it == connectors_.end()) return Status::Invalid("sources." + name + ": its connector is not loaded");
    auto url = dispatch::Url::Parse(src.url);
    if (!url.ok()) return url.status().Prepend("sources." + name + ".url: ");
    auto w = std::make_unique<Worker>();
    w->source = &src;
    w->connector = it->second;
    w->state = std::make_unique<dispatch::JournalStateStore>(journal_);
    auto reader = journal_.NewReader();
    if (!reader.ok()) return reader.status();
    w->reader = std::move(reader).value();
    w->client = std::make_unique<dispatch::ConnectorClient>("sources." + name, it->second, std::move(url).value(),
                                                            src.poll.timeout, w->state.get(),
                                                            dispatch::TokenKey(src.connector, src.settings, src.url));
    workers_.push_back(std::move(w));
  }
  for (auto& w : workers_) {
    Worker* p = w.get();
    p->thread = std::thread([this, p] {
      std::string tname = ("chub-p-" + p->source->name).substr(0, 15);
      pthread_setname_np(pthread_self(), tname.c_str());
      Run(*p);
    });
  }
  return Status::Ok();
}

void Poller::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

bool Poller::Sleep(int64_t ms) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(ms, 0)), [this] { return stopping_; });
  return !stopping_;
}

void Poller::Run(Worker& w) {
  const std::string& name = w.source->name;
  const std::string key = "poll:" + name;
  const int64_t interval = w.source->poll.interval.count();
  int64_t backoff = kFirstBackoffMs;
  bool renewed = false;
  auto failed = [&](const std::string& what) {
    spdlog::warn("source {}: poll failed: {}; next try in {}s", name, what, backoff / 1000);
    const int64_t wait = backoff;
    backoff = std::min(backoff * 2, std::max<int64_t>(interval, kFirstBackoffMs));
    return Sleep(wait);
  };
  spdlog::info("source {}: polling {} every {}s with connector {}", name, w.source->url, interval / 1000,
               w.connector->info().name);
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    // Back-pressure: while the undelivered backlog is above its limit, take nothing new in.
    if (auto stats = w.reader->Stats();
        stats.ok() && stats->inbox_pending + stats->outbox_pending > static_cast<int64_t>(config_.journal.backlog_limit)) {
      spdlog::warn("source {}: {} events wait for delivery (journal.backlog_limit {}): not polling for now", name,
                   stats->inbox_pending + stats->outbox_pending, config_.journal.backlog_limit);
      if (!Sleep(std::max<int64_t>(interval, 5000))) return;
      continue;
    }
    auto saved = w.state->Load(key);
    if (!saved.ok()) {
      if (!failed("reading the cursor: " + saved.status().message())) return;
      continue;
    }
    const std::string cursor = *saved ? (*saved)->value : std::string();
    auto token = w.client->Token();
    if (!token.ok()) {
      if (!failed(token.status().message())) return;
      continue;
    }
    auto req = w.connector->BuildPoll(cursor, *token);
    if (!req.ok() && req.status().code() == StatusCode::kUnavailable) {
      if (!failed(req.status().message())) return;  // a connector process that is not running
      continue;
    }
    if (!req.ok()) {
      spdlog::error("source {}: the connector cannot build a poll: {}", name, req.status().message());
      if (!Sleep(interval * kPermanentPauseIntervals)) return;
      continue;
    }
    auto reply = w.client->Execute(*req);
    if (!reply.ok()) {
      if (!failed(reply.status().message())) return;
      continue;
    }
    plugin::PollOutcome out = w.connector->ParsePoll(cursor, *reply);
    if (out.failed) {
      if (out.verdict == plugin::Verdict::kTokenExpired && !renewed) {
        w.client->InvalidateToken();
        renewed = true;
        continue;
      }
      if (out.verdict == plugin::Verdict::kPermanent) {
        spdlog::error("source {}: polling stopped for {}s: {}", name, interval * kPermanentPauseIntervals / 1000,
                      out.message);
        if (!Sleep(interval * kPermanentPauseIntervals)) return;
        continue;
      }
      if (!failed(out.message)) return;
      continue;
    }
    renewed = false;
    // Journal every payload, and wait until each is durable, before moving the cursor.
    bool stored = true;
    std::vector<std::future<Result<journal::AppendOutcome>>> waits;
    for (plugin::Payload& p : out.payloads) {
      journal::InboxEntry e;
      e.source = name;
      e.event_id = p.event_id.empty() ? Sha256Hex(p.body).substr(0, 32) : p.event_id.substr(0, kMaxEventIdLength);
      e.content_type = p.content_type.empty() ? "application/json" : p.content_type;
      e.topic = p.kind.substr(0, 200);
      e.body = std::move(p.body);
      e.received_at_ms = NowUnixMillis();
      auto promise = std::make_shared<std::promise<Result<journal::AppendOutcome>>>();
      waits.push_back(promise->get_future());
      Status st;
      for (int tries = 0; tries < 100; ++tries) {  // a full queue drains in milliseconds
        st = journal_.Append(e, [promise](Result<journal::AppendOutcome> r) { promise->set_value(std::move(r)); });
        if (st.ok() || st.code() != StatusCode::kResourceExhausted) break;
        if (!Sleep(20)) return;
      }
      if (!st.ok()) {
        promise->set_value(st);
        stored = false;
        break;
      }
    }
    uint64_t fresh = 0;
    for (auto& f : waits) {
      Result<journal::AppendOutcome> r = f.get();
      if (!r.ok()) {
        stored = false;
        spdlog::error("source {}: journaling a polled payload failed: {}", name, r.status().message());
      } else if (*r == journal::AppendOutcome::kAppended) {
        ++fresh;
      }
    }
    journaled_ += fresh;
    if (!stored) {
      if (!failed("the journal did not store the payloads")) return;
      continue;
    }
    if (Status st = w.state->Save(key, out.cursor, 0); !st.ok()) {
      if (!failed("saving the cursor: " + st.message())) return;
      continue;
    }
    backoff = kFirstBackoffMs;
    if (!out.payloads.empty()) {
      spdlog::info("source {}: {} payload(s) polled, {} new", name, out.payloads.size(), fresh);
    }
    if (!out.more && !Sleep(interval)) return;
  }
}

}  // namespace channelhub::pipeline
