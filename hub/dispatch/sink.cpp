#include "hub/dispatch/sink.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "hub/common/time.hpp"
#include "hub/dispatch/connector_client.hpp"
#include "hub/dispatch/http_client.hpp"
#include "spdlog/spdlog.h"

namespace channelhub::dispatch {

using journal::DeliveryOutcome;
using journal::DeliveryResult;
using journal::OutboxRow;

std::chrono::milliseconds Backoff(const config::RetryPolicy& policy, int attempts) {
  double base = static_cast<double>(policy.initial.count()) *
                std::pow(std::max(policy.multiplier, 1.0), std::min(attempts, 60));
  base = std::min(base, static_cast<double>(policy.max.count()));
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  double ms = std::min(base * jitter(rng), static_cast<double>(policy.max.count()));
  return std::chrono::milliseconds(std::max<int64_t>(1, static_cast<int64_t>(ms)));
}

DeliveryResult RetryOrDead(const config::RetryPolicy& policy, const OutboxRow& row, int64_t now_ms,
                           std::string error, std::chrono::milliseconds at_least) {
  DeliveryResult r;
  r.seq = row.seq;
  r.error = std::move(error);
  if (now_ms - row.created_at_ms >= policy.max_age.count()) {
    r.outcome = DeliveryOutcome::kDead;
    r.error += " (gave up after " + std::to_string(row.attempts + 1) + " attempts: older than max_age)";
    r.next_attempt_at_ms = now_ms;
    return r;
  }
  if (policy.max_attempts > 0 && row.attempts + 1 >= policy.max_attempts) {
    r.outcome = DeliveryOutcome::kDead;
    r.error += " (gave up after " + std::to_string(row.attempts + 1) + " attempts: max_attempts)";
    r.next_attempt_at_ms = now_ms;
    return r;
  }
  r.outcome = DeliveryOutcome::kRetry;
  r.next_attempt_at_ms = now_ms + std::max(Backoff(policy, row.attempts), at_least).count();
  return r;
}

namespace {

// The request body for one outbox row: the CloudEvent, or its data in the destination's
// format (content type, body). An event the mapping cannot take is an error that no retry can fix.
Result<std::pair<std::string, std::string>> DestinationBody(const config::DestinationConfig& dest,
                                                          const mapping::CompiledMapping* mapping,
                                                          const OutboxRow& row) {
  if (!mapping) return std::make_pair(std::string("application/cloudevents+json"), row.payload);
  const std::string& entity = mapping::MappingTarget(*mapping);
  const std::string prefix = "com.channelhub." + (entity == "stock_level" ? std::string("stock") : entity) + ".";
  if (!row.type.starts_with(prefix)) {
    return Status::Invalid("destination " + dest.name + " maps " + entity + " events (" +
                           mapping::MappingFile(*mapping) + "); a " + row.type +
                           " event cannot be sent to it: check routes:");
  }
  rapidjson::Document ce;
  if (ce.Parse(row.payload.data(), row.payload.size()).HasParseError() || !ce.IsObject() ||
      !ce.HasMember("data")) {
    return Status::Invalid("the outbox row is not a CloudEvent with data");
  }
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  ce["data"].Accept(w);
  auto mapped = mapping::RunMapping(*mapping, std::string_view(sb.GetString(), sb.GetSize()));
  if (!mapped.ok()) return mapped.status();
  const bool xml = !mapped->empty() && mapped->front() == '<';
  return std::make_pair(std::string(xml ? "application/xml; charset=utf-8" : "application/json"),
                        std::move(mapped).value());
}

// Appends CloudEvents as JSON lines and syncs the file before reporting them delivered.
class FileSink final : public Sink {
 public:
  explicit FileSink(const config::DestinationConfig& d) : dest_(d) {}
  ~FileSink() override {
    if (fd_ >= 0) ::close(fd_);
  }

  DeliveryBatch Deliver(const std::vector<OutboxRow>& rows, int64_t now_ms) override {
    DeliveryBatch out;
    std::string error = Open();
    if (error.empty()) {
      std::string buf;
      for (const auto& r : rows) {
        buf += r.payload;
        buf += '\n';
      }
      error = WriteAll(buf);
      if (error.empty() && ::fdatasync(fd_) != 0) error = std::string("fdatasync: ") + std::strerror(errno);
    }
    if (!error.empty()) {
      error = dest_.path + ": " + error;
      spdlog::warn("destination {}: {}", dest_.name, error);
      if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
      }
      for (const auto& r : rows) out.results.push_back(RetryOrDead(dest_.retry, r, now_ms, error));
      out.pause_until_ms = out.results.empty() ? 0 : out.results.front().next_attempt_at_ms;
      return out;
    }
    for (const auto& r : rows) {
      DeliveryResult d;
      d.seq = r.seq;
      d.outcome = DeliveryOutcome::kDelivered;
      out.results.push_back(d);
    }
    return out;
  }

 private:
  std::string Open() {
    if (fd_ >= 0) return {};
    std::error_code ec;
    auto parent = std::filesystem::path(dest_.path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) return "cannot create directory " + parent.string() + ": " + ec.message();
    fd_ = ::open(dest_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd_ < 0) return std::string("cannot open: ") + std::strerror(errno);
    return {};
  }

  std::string WriteAll(const std::string& buf) {
    std::size_t off = 0;
    while (off < buf.size()) {
      ssize_t n = ::write(fd_, buf.data() + off, buf.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return std::string("write: ") + std::strerror(errno);
      }
      off += static_cast<std::size_t>(n);
    }
    return {};
  }

  config::DestinationConfig dest_;
  int fd_ = -1;
};

// POSTs each CloudEvent (structured mode) with its id as the Idempotency-Key.
class HttpSink final : public Sink {
 public:
  HttpSink(const config::DestinationConfig& d, Url url,
           std::shared_ptr<const mapping::CompiledMapping> mapping)
      : dest_(d), client_(std::move(url), d.tls), mapping_(std::move(mapping)) {
    for (const auto& [k, v] : d.headers) headers_.emplace_back(k, v);
  }

  Result<std::pair<std::string, std::string>> Body(const OutboxRow& row) const {
    return DestinationBody(dest_, mapping_.get(), row);
  }

  DeliveryBatch Deliver(const std::vector<OutboxRow>& rows, int64_t /*batch_start_ms*/) override {
    DeliveryBatch out;
    std::set<std::string> held;  // subjects with a failed row in this batch: later rows wait
    for (const auto& row : rows) {
      if (held.count(row.subject)) continue;
      auto log_context = RowLogContext(row);
      auto body = Body(row);
      if (!body.ok()) {
        DeliveryResult d;
        d.seq = row.seq;
        d.outcome = DeliveryOutcome::kDead;
        d.error = body.status().message();
        d.next_attempt_at_ms = NowUnixMillis();
        spdlog::error("destination {}: event {} cannot be mapped: {}", dest_.name, row.event_id, d.error);
        out.results.push_back(std::move(d));
        continue;
      }
      auto headers = headers_;
      headers.emplace_back("Content-Type", body->first);
      headers.emplace_back("Idempotency-Key", row.event_id);
      auto res = client_.Send("POST", headers, body->second, dest_.timeout);
      const int64_t now_ms = NowUnixMillis();  // backoff counts from the answer, not the batch start
      if (!res.ok()) {
        // The destination is unreachable: back off the whole destination, not row by row.
        auto r = RetryOrDead(dest_.retry, row, now_ms, res.status().message());
        spdlog::warn("destination {}: {} (event {}, attempt {})", dest_.name, r.error, row.event_id,
                     row.attempts + 1);
        out.pause_until_ms = r.next_attempt_at_ms;
        out.results.push_back(std::move(r));
        break;
      }
      const int code = res->status;
      if (code >= 200 && code < 300) {
        DeliveryResult d;
        d.seq = row.seq;
        d.outcome = DeliveryOutcome::kDelivered;
        out.results.push_back(std::move(d));
        continue;
      }
      std::string error = "HTTP " + std::to_string(code);
      if (!res->body.empty()) error += ": " + res->body.substr(0, 300);
      if (code == 408 || code == 429 || code >= 500) {
        auto at_least = std::chrono::milliseconds(ParseRetryAfter(res->retry_after));
        auto r = RetryOrDead(dest_.retry, row, now_ms, error, at_least);
        spdlog::warn("destination {}: {} (event {}, attempt {})", dest_.name, error, row.event_id,
                     row.attempts + 1);
        held.insert(row.subject);
        if (code == 429 || code == 503) {  // the destination asks us to slow down
          out.pause_until_ms = r.next_attempt_at_ms;
          out.results.push_back(std::move(r));
          break;
        }
        out.results.push_back(std::move(r));
        continue;
      }
      // Any other answer is permanent: retrying the same request cannot change it.
      DeliveryResult d;
      d.seq = row.seq;
      d.outcome = DeliveryOutcome::kDead;
      d.error = error + " (permanent: not retried)";
      d.next_attempt_at_ms = now_ms;
      spdlog::error("destination {}: event {} rejected: {}", dest_.name, row.event_id, d.error);
      out.results.push_back(std::move(d));
    }
    return out;
  }

 private:
  static int64_t ParseRetryAfter(const std::string& v) {
    if (v.empty() || v.size() > 6) return 0;
    int64_t s = 0;
    for (char c : v) {
      if (c < '0' || c > '9') return 0;  // the HTTP-date form is ignored
      s = s * 10 + (c - '0');
    }
    return std::min<int64_t>(s, 3600) * 1000;
  }

  config::DestinationConfig dest_;
  HttpClient client_;
  std::shared_ptr<const mapping::CompiledMapping> mapping_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

// A plugin connector builds each request and judges each answer; the hub sends, holds the
// token and decides when to try again. Multi-step deliveries (Kingdee Save, Submit, Audit) run
// step after step within one attempt.
class ConnectorSink final : public Sink {
 public:
  static constexpr int kMaxSteps = 16;

  ConnectorSink(const config::DestinationConfig& d, Url url, std::shared_ptr<const mapping::CompiledMapping> mapping,
                std::shared_ptr<plugin::Instance> connector, std::unique_ptr<StateStore> state)
      : dest_(d),
        mapping_(std::move(mapping)),
        state_(std::move(state)),
        client_("destinations." + d.name, std::move(connector), std::move(url), d.timeout, state_.get(),
                TokenKey(d.connector, d.settings, d.url), d.tls) {}

  DeliveryBatch Deliver(const std::vector<OutboxRow>& rows, int64_t /*batch_start_ms*/) override {
    DeliveryBatch out;
    std::set<std::string> held;  // subjects with a failed row in this batch: later rows wait
    for (const auto& row : rows) {
      if (held.count(row.subject)) continue;
      auto log_context = RowLogContext(row);
      auto body = DestinationBody(dest_, mapping_.get(), row);
      if (!body.ok()) {
        out.results.push_back(Dead(row, body.status().message(), "cannot be mapped"));
        continue;
      }
      plugin::Delivery d;
      d.event_id = row.event_id;
      d.event_type = row.type;
      d.subject = row.subject;
      d.content_type = body->first;
      d.body = std::move(body->second);
      d.attempt = row.attempts + 1;
      Attempt a = Run(row, d);
      if (a.pause) {
        out.pause_until_ms = a.result.next_attempt_at_ms;
        out.connector_down = a.connector_down;
        out.results.push_back(std::move(a.result));
        break;
      }
      if (a.result.outcome == DeliveryOutcome::kRetry) held.insert(row.subject);
      out.results.push_back(std::move(a.result));
    }
    return out;
  }

 private:
  struct Attempt {
    DeliveryResult result;
    bool pause = false;  // the destination itself failed: try nothing else before the retry
    bool connector_down = false;  // an out-of-process connector is not running
  };

  DeliveryResult Dead(const OutboxRow& row, const std::string& error, const char* what) {
    DeliveryResult r;
    r.seq = row.seq;
    r.outcome = DeliveryOutcome::kDead;
    r.error = error;
    r.next_attempt_at_ms = NowUnixMillis();
    spdlog::error("destination {}: event {} {}: {}", dest_.name, row.event_id, what, error);
    return r;
  }

  Attempt Retry(const OutboxRow& row, const std::string& error, bool pause, int64_t at_least_ms = 0) {
    Attempt a;
    a.result = RetryOrDead(dest_.retry, row, NowUnixMillis(), error, std::chrono::milliseconds(at_least_ms));
    a.pause = pause;
    spdlog::warn("destination {}: {} (event {}, attempt {})", dest_.name, a.result.error, row.event_id,
                 row.attempts + 1);
    return a;
  }

  Attempt Run(const OutboxRow& row, plugin::Delivery& d) {
    plugin::Instance& c = client_.connector();
    bool renewed = false;
    for (int step = 0; step < kMaxSteps; ++step) {
      auto token = client_.Token();
      if (!token.ok()) return Retry(row, token.status().message(), /*pause=*/true);
      d.token = *token;
      auto req = c.BuildDelivery(d);
      if (!req.ok() && req.status().code() == StatusCode::kUnavailable) {
        // An out-of-process connector that is not running: the event waits for it.
        Attempt a = Retry(row, req.status().message(), /*pause=*/true);
        a.connector_down = true;
        return a;
      }
      if (!req.ok()) return Attempt{Dead(row, req.status().message(), "cannot be sent"), false};
      auto reply = client_.Execute(*req);
      if (!reply.ok()) return Retry(row, reply.status().message(), /*pause=*/true);
      plugin::VerdictOutcome v = c.JudgeDelivery(d, *reply);
      const std::string where = d.step.empty() ? "" : " (step " + d.step + ")";
      switch (v.verdict) {
        case plugin::Verdict::kDone: {
          Attempt a;
          a.result.seq = row.seq;
          a.result.outcome = DeliveryOutcome::kDelivered;
          return a;
        }
        case plugin::Verdict::kNext:
          if (v.step.empty() || v.step == d.step) {
            return Attempt{Dead(row, "the connector asked for step \"" + v.step + "\" again", "stopped"), false};
          }
          d.step = v.step;
          continue;
        case plugin::Verdict::kTokenExpired:
          client_.InvalidateToken();
          if (renewed) return Retry(row, "the token was refused again after renewal: " + v.message, true);
          renewed = true;
          --step;  // the same step again, with the new token
          continue;
        case plugin::Verdict::kRetry: {
          const bool busy = reply->status == 429 || reply->status == 503;
          return Retry(row, v.message + where, busy, v.retry_after_ms);
        }
        case plugin::Verdict::kPermanent:
          return Attempt{Dead(row, v.message + where + " (permanent: not retried)", "rejected"), false};
      }
    }
    return Attempt{Dead(row, "more than " + std::to_string(kMaxSteps) + " steps", "stopped"), false};
  }

  config::DestinationConfig dest_;
  std::shared_ptr<const mapping::CompiledMapping> mapping_;
  std::unique_ptr<StateStore> state_;
  ConnectorClient client_;
};

}  // namespace

Result<std::unique_ptr<Sink>> CreateSink(const config::DestinationConfig& d,
                                         std::shared_ptr<const mapping::CompiledMapping> mapping,
                                         std::shared_ptr<plugin::Instance> connector,
                                         std::unique_ptr<StateStore> state) {
  if (d.type == config::DestinationConfig::Type::kFile) {
    return std::unique_ptr<Sink>(new FileSink(d));
  }
  if (d.type == config::DestinationConfig::Type::kMaster) {
    return Status::Internal("destinations." + d.name + ": the master record's sink is made by the hub (Dispatcher::SetSink)");
  }
  auto url = Url::Parse(d.url);
  if (!url.ok()) return url.status().Prepend("destinations." + d.name + ".url: ");
  if (d.type == config::DestinationConfig::Type::kConnector) {
    if (!connector) return Status::Invalid("destinations." + d.name + ": connector " + d.connector + " is not loaded");
    return std::unique_ptr<Sink>(new ConnectorSink(d, std::move(url).value(), std::move(mapping), std::move(connector),
                                                   std::move(state)));
  }
  return std::unique_ptr<Sink>(new HttpSink(d, std::move(url).value(), std::move(mapping)));
}

std::string RowSource(const journal::OutboxRow& row) {
  // The hub wrote this JSON (compact, "source":"/connectors/<name>"): a scan is enough.
  static constexpr std::string_view kKey = "\"source\":\"/connectors/";
  const std::size_t at = row.payload.find(kKey);
  if (at == std::string::npos) return {};
  const std::size_t from = at + kKey.size();
  const std::size_t end = row.payload.find('"', from);
  return end == std::string::npos ? std::string() : row.payload.substr(from, end - from);
}

}  // namespace channelhub::dispatch
