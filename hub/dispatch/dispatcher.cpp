#include "hub/dispatch/dispatcher.hpp"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <functional>

#include "hub/common/metrics.hpp"
#include "hub/common/time.hpp"
#include "spdlog/spdlog.h"

namespace channelhub::dispatch {
namespace {

constexpr std::size_t kBatch = 128;
constexpr int64_t kIdlePollMs = 1000;

}  // namespace

struct Dispatcher::Worker {
  const config::DestinationConfig* dest = nullptr;
  std::vector<std::unique_ptr<Sink>> sinks;  // one per lane
  std::atomic<BreakerState> breaker{BreakerState::kClosed};
  // Attempts by outcome, and how long a Deliver call took, for /metrics.
  std::atomic<uint64_t> delivered{0}, retried{0}, dead{0};
  metrics::Histogram attempt_seconds;
  int failures_in_a_row = 0;   // worker thread only
  int64_t open_until_ms = 0;   // worker thread only
  std::unique_ptr<journal::JournalReader> reader;
  std::mutex mu;
  std::condition_variable cv;
  bool wake = false;              // GUARDED_BY(mu)
  bool stopping = false;          // GUARDED_BY(mu)
  int64_t drain_deadline_ms = 0;  // GUARDED_BY(mu); 0: stop at once
  std::thread thread;
};

Dispatcher::Dispatcher(const config::Config& config, journal::Journal& journal,
                       std::map<std::string, std::shared_ptr<const mapping::CompiledMapping>> mappings,
                       std::map<std::string, std::shared_ptr<plugin::Instance>> connectors)
    : config_(config), journal_(journal), mappings_(std::move(mappings)), connectors_(std::move(connectors)) {}

Dispatcher::~Dispatcher() { Stop(std::chrono::milliseconds(0)); }

Status Dispatcher::Start() {
  for (const auto& [name, dest] : config_.destinations) {
    if (dest.tls.insecure_skip_verify) {
      spdlog::warn("destination {}: TLS CERTIFICATES ARE NOT VERIFIED (tls.insecure_skip_verify): anyone on the path "
                   "can read and change what is sent; use it for a lab system only",
                   name);
    }
    auto w = std::make_unique<Worker>();
    w->dest = &dest;
    auto m = mappings_.find(name);
    auto c = connectors_.find(name);
    if (auto custom = custom_.find(name); custom != custom_.end()) {
      w->sinks.push_back(std::move(custom->second));
      custom_.erase(custom);
    }
    for (int lane = static_cast<int>(w->sinks.size()); lane < std::max(1, dest.concurrency); ++lane) {
      auto sink = CreateSink(dest, m == mappings_.end() ? nullptr : m->second,
                             c == connectors_.end() ? nullptr : c->second,
                             std::make_unique<JournalStateStore>(journal_));
      if (!sink.ok()) return sink.status();
      w->sinks.push_back(std::move(sink).value());
    }
    auto reader = journal_.NewReader();
    if (!reader.ok()) return reader.status();
    w->reader = std::move(reader).value();
    workers_.push_back(std::move(w));
  }
  for (auto& w : workers_) {
    Worker* p = w.get();
    p->thread = std::thread([this, p] {
      std::string name = ("chub-d-" + p->dest->name).substr(0, 15);
      pthread_setname_np(pthread_self(), name.c_str());
      Run(*p);
    });
  }
  return Status::Ok();
}

void Dispatcher::Wake() {
  for (auto& w : workers_) {
    std::lock_guard lock(w->mu);
    w->wake = true;
    w->cv.notify_one();
  }
}

void Dispatcher::Stop(std::chrono::milliseconds drain_for) {
  for (auto& w : workers_) {
    std::lock_guard lock(w->mu);
    if (!w->stopping) {
      w->stopping = true;
      w->drain_deadline_ms = drain_for.count() > 0 ? NowUnixMillis() + drain_for.count() : 0;
    }
    w->cv.notify_one();
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

namespace {

// A subject's lane: the same subject always in the same lane, so its events stay in order.
std::size_t LaneOf(const std::string& subject, std::size_t lanes) {
  return std::hash<std::string>{}(subject) % lanes;
}

}  // namespace

DeliveryBatch Dispatcher::Deliver(Worker& w, const std::vector<journal::OutboxRow>& rows, int64_t now) {
  const std::size_t lanes = w.sinks.size();
  if (lanes == 1 || rows.size() == 1) return w.sinks[rows.size() == 1 ? LaneOf(rows[0].subject, lanes) : 0]->Deliver(rows, now);
  std::vector<std::vector<journal::OutboxRow>> groups(lanes);
  for (const auto& r : rows) groups[LaneOf(r.subject, lanes)].push_back(r);
  std::vector<DeliveryBatch> results(lanes);
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < lanes; ++i) {
    if (groups[i].empty()) continue;
    threads.emplace_back([&, i] { results[i] = w.sinks[i]->Deliver(groups[i], now); });
  }
  if (!groups[0].empty()) results[0] = w.sinks[0]->Deliver(groups[0], now);
  for (auto& t : threads) t.join();
  DeliveryBatch out;
  for (auto& b : results) {
    out.pause_until_ms = std::max(out.pause_until_ms, b.pause_until_ms);
    out.connector_down = out.connector_down || b.connector_down;
    for (auto& r : b.results) out.results.push_back(std::move(r));
  }
  return out;
}

void Dispatcher::UpdateBreaker(Worker& w, const DeliveryBatch& batch) {
  // A delivery, or a refusal of one event (the system answered), shows the destination is up;
  // retries of every attempted row show it is not.
  bool any_answer = false;
  bool any_failure = false;
  for (const auto& r : batch.results) {
    if (r.outcome == journal::DeliveryOutcome::kRetry) {
      any_failure = true;
    } else {
      any_answer = true;
    }
  }
  const std::string& name = w.dest->name;
  if (any_answer) {
    if (w.breaker != BreakerState::kClosed) spdlog::info("destination {}: circuit closed: it answers again", name);
    w.breaker = BreakerState::kClosed;
    w.failures_in_a_row = 0;
    return;
  }
  if (!any_failure || batch.connector_down) return;
  const config::BreakerPolicy& p = w.dest->breaker;
  ++w.failures_in_a_row;
  if (w.breaker == BreakerState::kHalfOpen || w.failures_in_a_row >= p.failures) {
    w.open_until_ms = NowUnixMillis() + p.open_for.count();
    if (w.breaker != BreakerState::kOpen) {
      spdlog::warn("destination {}: circuit open for {}s after {} failed attempt(s) in a row: its queue waits", name,
                   p.open_for.count() / 1000, w.failures_in_a_row);
    }
    w.breaker = BreakerState::kOpen;
  }
}

std::string Dispatcher::MetricsText() const {
  std::string out = metrics::Header("channelhub_deliveries_total",
                                    "Delivery attempts per destination and outcome (delivered, retry, dead_letter).",
                                    "counter");
  for (const auto& w : workers_) {
    const std::string d = metrics::Escape(w->dest->name);
    for (auto [outcome, n] : {std::pair{"delivered", w->delivered.load()}, {"retry", w->retried.load()},
                              {"dead_letter", w->dead.load()}}) {
      out += "channelhub_deliveries_total{destination=\"" + d + "\",outcome=\"" + outcome + "\"} " +
             std::to_string(n) + "\n";
    }
  }
  out += metrics::Header("channelhub_delivery_batch_duration_seconds",
                         "Time one batch of deliveries to a destination took (its requests, or the master record's "
                         "transactions).",
                         "histogram");
  for (const auto& w : workers_) {
    out += w->attempt_seconds.Render("channelhub_delivery_batch_duration_seconds",
                                     "destination=\"" + metrics::Escape(w->dest->name) + "\"");
  }
  return out;
}

Dispatcher::BreakerState Dispatcher::breaker(const std::string& destination) const {
  for (const auto& w : workers_) {
    if (w->dest->name == destination) return w->breaker;
  }
  return BreakerState::kClosed;
}

void Dispatcher::Run(Worker& w) {
  const std::string& name = w.dest->name;
  int64_t pause_until = 0;
  for (;;) {
    const int64_t now = NowUnixMillis();
    bool stopping;
    int64_t deadline;
    {
      std::lock_guard lock(w.mu);
      stopping = w.stopping;
      deadline = w.drain_deadline_ms;
    }
    if (stopping && now >= deadline) return;

    std::vector<journal::OutboxRow> rows;
    if (now >= pause_until) {
      auto due = w.reader->DueOutbox(name, now, kBatch);
      if (due.ok()) {
        rows = std::move(due).value();
      } else {
        spdlog::error("destination {}: reading the outbox failed: {}", name, due.status().ToString());
      }
    }
    if (rows.empty()) {
      if (stopping) return;  // drained what was due
      for (auto& sink : w.sinks) sink->Idle(now);
      // Sleep until woken, the next retry is due, or the poll interval passes.
      // While paused (a failed destination, an open breaker), rows already due wait too.
      int64_t wake_at = now + kIdlePollMs;
      const int64_t not_before = std::max(pause_until, now + 1);
      if (pause_until > now) wake_at = std::min(wake_at, pause_until);
      auto next = w.reader->NextAttemptAt(name);
      if (next.ok() && next->has_value()) wake_at = std::min(wake_at, std::max(**next, not_before));
      std::unique_lock lock(w.mu);
      w.cv.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(1, wake_at - now)),
                    [&w] { return w.wake || w.stopping; });
      w.wake = false;
      continue;
    }

    // The breaker: open -> no attempt until open_until; then one row as a probe.
    if (w.breaker == BreakerState::kOpen) {
      if (now < w.open_until_ms) {
        pause_until = w.open_until_ms;
        continue;
      }
      w.breaker = BreakerState::kHalfOpen;
      spdlog::info("destination {}: circuit half-open: one probe", name);
    }
    if (w.breaker == BreakerState::kHalfOpen && rows.size() > 1) rows.resize(1);

    const auto t0 = std::chrono::steady_clock::now();
    DeliveryBatch batch = Deliver(w, rows, now);
    w.attempt_seconds.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    for (const auto& r : batch.results) {
      (r.outcome == journal::DeliveryOutcome::kDelivered ? w.delivered
       : r.outcome == journal::DeliveryOutcome::kRetry   ? w.retried
                                                         : w.dead)
          .fetch_add(1, std::memory_order_relaxed);
    }
    pause_until = batch.pause_until_ms;
    UpdateBreaker(w, batch);
    if (w.breaker == BreakerState::kOpen) pause_until = std::max(pause_until, w.open_until_ms);
    uint64_t ok = 0;
    for (const auto& r : batch.results) ok += r.outcome == journal::DeliveryOutcome::kDelivered;
    if (spdlog::should_log(spdlog::level::debug)) {
      for (const auto& r : batch.results) {
        if (r.outcome != journal::DeliveryOutcome::kDelivered) continue;
        for (const auto& row : rows) {
          if (row.seq != r.seq) continue;
          auto log_context = RowLogContext(row);
          spdlog::debug("destination {}: delivered {} (attempt {})", name, row.event_id, row.attempts + 1);
          break;
        }
      }
    }
    if (!batch.results.empty()) {
      Status st = journal_.RecordDeliveries(name, std::move(batch.results));
      if (!st.ok()) {
        // The rows stay pending and are delivered again: at-least-once.
        spdlog::error("destination {}: recording deliveries failed: {}", name, st.ToString());
        pause_until = NowUnixMillis() + 1000;
        continue;
      }
    }
    delivered_ += ok;
  }
}

}  // namespace channelhub::dispatch
