#include "hub/pipeline/master_sink.hpp"

#include <condition_variable>
#include <mutex>

#include "hub/common/json.hpp"
#include "hub/common/time.hpp"
#include "hub/model/cloudevent.hpp"
#include "spdlog/spdlog.h"

namespace channelhub::pipeline {
namespace {

constexpr std::size_t kFlushBatch = 256;
constexpr std::size_t kApplyBatch = 32;

master::SimilarityMethod MethodOf(const std::string& name, master::SimilarityMethod fallback) {
  if (name == "exact") return master::SimilarityMethod::kExact;
  if (name == "jaro_winkler") return master::SimilarityMethod::kJaroWinkler;
  if (name == "edit") return master::SimilarityMethod::kEdit;
  if (name == "name") return master::SimilarityMethod::kName;
  return fallback;
}

}  // namespace

Result<master::MasterOptions> MasterOptionsFrom(const config::Config& config) {
  const config::MasterSettings& s = config.master;
  master::MasterOptions o;
  o.path = s.path;
  o.wecom_corp = s.wecom_corp;
  o.synchronous_full = config.journal.synchronous_full;
  o.keyring = config.data_protection.keyring;  // encryption at rest, when configured
  master::MatchConfig& m = o.match;
  if (s.match_threshold) m.match_threshold = *s.match_threshold;
  if (s.review_threshold) m.review_threshold = *s.review_threshold;
  for (const auto& [key, on] : s.deterministic) {
    if (key == "credit_code_conflict") m.credit_code_conflict_separates = on;
    if (key == "same_credit_code") m.same_credit_code_matches = on;
    if (key == "same_unionid") m.same_unionid_matches = on;
    if (key == "same_external_userid") m.same_external_userid_matches = on;
  }
  std::map<std::string, master::Comparison*> comparisons = {
      {"name", &m.name},         {"mobile", &m.mobile},
      {"email", &m.email},       {"address", &m.address},
      {"city", &m.city},         {"district", &m.district},
      {"postcode", &m.postcode}, {"credit_code", &m.credit_code},
      {"wecom_unionid", &m.wecom_unionid}, {"wecom_external_userid", &m.wecom_external_userid}};
  for (const auto& [name, setting] : s.comparisons) {
    auto it = comparisons.find(name);
    if (it == comparisons.end()) continue;  // the loader reports unknown names
    master::Comparison& c = *it->second;
    c.method = MethodOf(setting.method, c.method);
    if (!setting.levels.empty()) {
      c.levels.clear();
      for (const auto& [sim, weight] : setting.levels) c.levels.push_back({sim, weight});
    }
    if (setting.else_weight) c.else_weight = *setting.else_weight;
  }
  if (!s.blocking.empty()) {
    m.blocking.clear();
    for (const auto& fields : s.blocking) m.blocking.push_back({fields});
  }
  if (std::string problem = m.Check(); !problem.empty()) {
    return Status::Invalid("master.match: " + problem);
  }
  auto rule = master::ParseSurvivorshipRule(s.default_rule);
  if (rule) o.survivorship.default_rule = *rule;
  for (const auto& [attr, setting] : s.survivorship) {
    master::AttributeSurvivorship a;
    if (auto r = master::ParseSurvivorshipRule(setting.rule)) a.rule = *r;
    a.sources = setting.sources;
    o.survivorship.by_attribute[attr] = std::move(a);
  }
  return o;
}

MasterSink::MasterSink(const config::DestinationConfig& destination, master::MasterStore& store,
                       journal::Journal& journal)
    : destination_(destination), store_(store), journal_(journal) {}

dispatch::DeliveryBatch MasterSink::Deliver(const std::vector<journal::OutboxRow>& rows, int64_t now_ms) {
  dispatch::DeliveryBatch out;
  std::vector<master::MasterInput> inputs;
  std::vector<std::size_t> input_row;  // inputs[i] comes from rows[input_row[i]]
  std::vector<std::optional<journal::DeliveryResult>> results(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto ce = model::CloudEventFromJson(rows[i].payload);
    if (!ce.ok()) {
      results[i] = journal::DeliveryResult{rows[i].seq, journal::DeliveryOutcome::kDead, 0,
                                           "not a CloudEvent: " + ce.status().message()};
      continue;
    }
    inputs.push_back({ce->id, ce->type, ce->data_json, ce->time.time_since_epoch().count()});
    input_row.push_back(i);
  }
  // In transactions of kApplyBatch events: each is durable (one fsync) when its transaction
  // commits, so an upsert waits for at most that many others (bench/master_store_bench).
  for (std::size_t begin = 0; begin < inputs.size(); begin += kApplyBatch) {
    const std::size_t end = std::min(inputs.size(), begin + kApplyBatch);
    std::vector<master::MasterInput> part(inputs.begin() + static_cast<std::ptrdiff_t>(begin),
                                          inputs.begin() + static_cast<std::ptrdiff_t>(end));
    auto applied = store_.Apply(part);
    if (!applied.ok()) {
      // The store's database failed: nothing of this part was applied; its rows wait and are
      // tried again (those after it too).
      spdlog::error("master record: {}", applied.status().ToString());
      for (std::size_t k = begin; k < inputs.size(); ++k) {
        results[input_row[k]] = dispatch::RetryOrDead(destination_.retry, rows[input_row[k]], now_ms,
                                                      "master record: " + applied.status().message());
      }
      out.pause_until_ms = now_ms + 1000;
      break;
    } else {
      for (std::size_t k = begin; k < end; ++k) {
        const Status& st = (*applied)[k - begin];
        const journal::OutboxRow& row = rows[input_row[k]];
        if (st.ok()) {
          results[input_row[k]] = journal::DeliveryResult{row.seq, journal::DeliveryOutcome::kDelivered, 0, ""};
        } else {
          spdlog::warn("master record: event {} refused: {}", row.event_id, st.message());
          results[input_row[k]] = journal::DeliveryResult{row.seq, journal::DeliveryOutcome::kDead, 0, st.message()};
        }
      }
    }
  }
  for (auto& r : results) {
    if (r) out.results.push_back(std::move(*r));
  }
  Flush();
  return out;
}

void MasterSink::Idle(int64_t /*now_ms*/) { Flush(); }

std::size_t MasterSink::Flush() {
  std::size_t total = 0;
  for (;;) {
    auto pending = store_.PendingEmissions(kFlushBatch);
    if (!pending.ok()) {
      spdlog::error("master record: reading pending golden-record changes: {}", pending.status().ToString());
      return total;
    }
    if (pending->empty()) return total;
    std::mutex mu;
    std::condition_variable cv;
    std::size_t waiting = 0;
    std::vector<int64_t> done;
    const int64_t now = NowUnixMillis();
    for (const master::Emission& e : *pending) {
      journal::InboxEntry entry;
      entry.source = "master";
      entry.event_id = e.event_id();
      entry.content_type = "application/json";
      entry.topic = std::string(model::kCustomerGoldenUpdated);
      entry.body = e.payload;
      entry.received_at_ms = now;
      {
        std::lock_guard lock(mu);
        ++waiting;
      }
      const int64_t seq = e.seq;
      Status st = journal_.Append(std::move(entry), [&, seq](Result<journal::AppendOutcome> r) {
        std::lock_guard lock(mu);
        if (r.ok()) done.push_back(seq);
        --waiting;
        cv.notify_all();
      });
      if (!st.ok()) {
        std::lock_guard lock(mu);
        --waiting;
        break;  // the journal is full or closing: the rest waits for the next flush
      }
    }
    std::vector<int64_t> handed;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return waiting == 0; });
      handed = done;
    }
    if (!handed.empty()) {
      if (Status st = store_.MarkEmitted(handed); !st.ok()) {
        // They are journaled; marking them again later finds them there (duplicates are ignored).
        spdlog::error("master record: {}", st.ToString());
        return total;
      }
    }
    total += handed.size();
    if (handed.size() < pending->size()) return total;
  }
}

namespace {

class GoldenMapper : public mapping::Mapper {
 public:
  Result<std::vector<mapping::MappedEvent>> Map(const mapping::InboundPayload& in) const override {
    rapidjson::Document d;
    if (Status st = json::Parse(in.body, &d); !st.ok()) return st;
    mapping::MappedEvent ev;
    ev.type = std::string(model::kCustomerGoldenUpdated);
    std::string id;
    if (d.IsObject() && d.HasMember("source") && d["source"].IsObject() && d["source"].HasMember("id") &&
        d["source"]["id"].IsString()) {
      id = d["source"]["id"].GetString();
    }
    if (id.empty()) return Status::Invalid("source.id: a golden record names its golden id there");
    ev.subject = "customer/golden/" + id;
    if (d.HasMember("ext") && d["ext"].IsObject() && d["ext"].HasMember("golden") && d["ext"]["golden"].IsObject()) {
      const auto& g = d["ext"]["golden"];
      if (g.HasMember("changed_by") && g["changed_by"].IsString()) ev.origin_system = g["changed_by"].GetString();
    }
    ev.data_json = std::string(in.body);
    std::vector<mapping::MappedEvent> out;
    out.push_back(std::move(ev));
    return out;
  }
};

}  // namespace

std::unique_ptr<mapping::Mapper> MakeGoldenMapper() { return std::make_unique<GoldenMapper>(); }

}  // namespace channelhub::pipeline
