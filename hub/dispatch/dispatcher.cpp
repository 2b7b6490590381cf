#include "hub/dispatch/dispatcher.hpp"

#include <pthread.h>

#include <chrono>

#include "hub/common/time.hpp"
#include "spdlog/spdlog.h"

namespace channelhub::dispatch {
namespace {

constexpr std::size_t kBatch = 128;
constexpr int64_t kIdlePollMs = 1000;

}  // namespace

struct Dispatcher::Worker {
  const config::DestinationConfig* dest = nullptr;
  std::unique_ptr<Sink> sink;
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
    auto w = std::make_unique<Worker>();
    w->dest = &dest;
    auto m = mappings_.find(name);
    auto c = connectors_.find(name);
    auto sink = CreateSink(dest, m == mappings_.end() ? nullptr : m->second,
                           c == connectors_.end() ? nullptr : c->second,
                           std::make_unique<JournalStateStore>(journal_));
    if (!sink.ok()) return sink.status();
    w->sink = std::move(sink).value();
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
      // Sleep until woken, the next retry is due, or the poll interval passes.
      int64_t wake_at = now + kIdlePollMs;
      if (pause_until > now) wake_at = std::min(wake_at, pause_until);
      auto next = w.reader->NextAttemptAt(name);
      if (next.ok() && next->has_value()) wake_at = std::min(wake_at, std::max(**next, now + 1));
      std::unique_lock lock(w.mu);
      w.cv.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(1, wake_at - now)),
                    [&w] { return w.wake || w.stopping; });
      w.wake = false;
      continue;
    }

    DeliveryBatch batch = w.sink->Deliver(rows, now);
    pause_until = batch.pause_until_ms;
    uint64_t ok = 0;
    for (const auto& r : batch.results) ok += r.outcome == journal::DeliveryOutcome::kDelivered;
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
