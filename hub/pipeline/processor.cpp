#include "hub/pipeline/processor.hpp"

#include "hub/common/log.hpp"
#include "hub/common/metrics.hpp"

#include "hub/pipeline/event_bus.hpp"

#include <pthread.h>

#include <chrono>

#include "hub/common/time.hpp"
#include "hub/model/cloudevent.hpp"
#include "spdlog/spdlog.h"

namespace channelhub::pipeline {
namespace {

constexpr std::size_t kBatch = 256;
constexpr auto kIdlePoll = std::chrono::seconds(1);

}  // namespace

journal::ProcessedEvent ProcessOne(const journal::InboxRow& row, const mapping::Mapper* mapper,
                                   const Router& router) {
  journal::ProcessedEvent out;
  out.inbox_seq = row.seq;
  auto dead = [&](std::string stage, std::string reason) {
    journal::DeadLetter d;
    d.stage = std::move(stage);
    d.source = row.source;
    d.event_id = row.event_id;
    d.reason = std::move(reason);
    d.payload = row.body;
    d.created_at_ms = row.received_at_ms;
    out.outbox.clear();
    out.dead = std::move(d);
    return out;
  };
  if (!mapper) {
    return dead("mapping", "source \"" + row.source +
                               "\" is no longer configured; the event was kept as a dead letter");
  }
  mapping::InboundPayload in{row.source, row.event_id, row.content_type, row.body, row.topic};
  Result<std::vector<mapping::MappedEvent>> mapped = Status::Internal("mapper did not run");
  try {
    mapped = mapper->Map(in);
  } catch (const std::exception& e) {  // one bad message is a dead letter, never a crash
    mapped = Status::Internal(std::string("mapper threw: ") + e.what());
  }
  if (!mapped.ok()) return dead("mapping", mapped.status().message());

  const auto received = UtcTime(std::chrono::milliseconds(row.received_at_ms));
  std::size_t n = 0;
  for (const mapping::MappedEvent& ev : *mapped) {
    model::CloudEvent ce;
    ce.id = row.event_id + ":" + std::to_string(n++);
    ce.source = "/connectors/" + row.source;
    ce.type = ev.type;
    ce.time = received;
    ce.subject = ev.subject;
    ce.datacontenttype = "application/json";
    ce.data_json = ev.data_json;
    std::string payload = model::ToJson(ce);
    out.published.emplace_back(ce.type, payload);
    for (const std::string& dest : router.Destinations(row.source, ev.type, ev.origin_system)) {
      journal::OutboxEntry o;
      o.destination = dest;
      o.event_id = ce.id;
      o.subject = ce.subject;
      o.type = ce.type;
      o.payload = payload;
      o.created_at_ms = row.received_at_ms;
      out.outbox.push_back(std::move(o));
    }
  }
  return out;
}

Processor::Processor(const config::Config& config, journal::Journal& journal,
                     std::map<std::string, std::unique_ptr<mapping::Mapper>> mappers)
    : config_(config), journal_(journal), mappers_(std::move(mappers)), router_(config) {}

Processor::~Processor() { Stop(false); }

Status Processor::Start() {
  auto reader = journal_.NewReader();
  if (!reader.ok()) return reader.status();
  reader_ = std::move(reader).value();
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "chub-pipeline");
    Loop();
  });
  return Status::Ok();
}

void Processor::Wake() {
  std::lock_guard lock(mu_);
  wake_ = true;
  cv_.notify_one();
}

void Processor::Stop(bool drain) {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    drain_ = drain;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

std::string Processor::MetricsText() const {
  std::string out = metrics::Header("channelhub_mapping_failures_total",
                                    "Payloads that became dead letters while mapped or routed, per source and stage.",
                                    "counter");
  std::lock_guard lock(failures_mu_);
  for (const auto& [key, n] : failures_) {
    out += "channelhub_mapping_failures_total{source=\"" + metrics::Escape(key.first) + "\",stage=\"" +
           metrics::Escape(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  return out;
}

void Processor::Loop() {
  int64_t after = 0;  // rows up to here are processed or being committed
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (stopping_ && !drain_) return;
      if (!stopping_) cv_.wait_for(lock, kIdlePoll, [this] { return wake_ || stopping_; });
      wake_ = false;
      if (stopping_ && !drain_) return;
    }
    for (;;) {
      auto rows = reader_->PendingInbox(after, kBatch);
      if (!rows.ok()) {
        spdlog::error("pipeline: reading the inbox failed: {}", rows.status().ToString());
        break;
      }
      if (rows->empty()) break;
      std::vector<journal::ProcessedEvent> batch;
      batch.reserve(rows->size());
      for (const journal::InboxRow& row : *rows) {
        auto log_context = LogContext::ForEvent(row.source, row.event_id);
        auto it = mappers_.find(row.source);
        batch.push_back(ProcessOne(row, it == mappers_.end() ? nullptr : it->second.get(), router_));
        if (batch.back().dead) {
          {
            std::lock_guard lock(failures_mu_);
            ++failures_[{row.source, batch.back().dead->stage}];
          }
          spdlog::warn("pipeline: event {} from {} is a dead letter: {}", row.event_id, row.source,
                       batch.back().dead->reason);
        } else {
          spdlog::debug("pipeline: event {} from {} mapped into {} canonical event(s), {} delivery(ies) queued",
                        row.event_id, row.source, batch.back().published.size(), batch.back().outbox.size());
        }
      }
      int64_t last = rows->back().seq;
      std::size_t count = batch.size();
      std::vector<std::pair<std::string, std::string>> published;
      if (bus_) {
        for (auto& ev : batch) {
          for (auto& p : ev.published) published.push_back(std::move(p));
        }
      }
      Status st = journal_.CommitProcessed(std::move(batch));
      if (!st.ok()) {
        // Nothing was marked: the same rows are read again on the next wake.
        spdlog::error("pipeline: storing mapped events failed: {}", st.ToString());
        break;
      }
      // Only what is committed goes on the bus (after a crash, at most the last batch again).
      if (bus_) {
        for (const auto& [type, payload] : published) bus_->Publish(type, payload);
      }
      after = last;
      processed_ += count;
    }
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;  // drained
    }
  }
}

}  // namespace channelhub::pipeline
