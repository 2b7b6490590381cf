#include "hub/cli/serve.hpp"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>
#include <tuple>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "hub/common/log.hpp"
#include "hub/common/metrics.hpp"
#include "hub/common/time.hpp"
#include "hub/common/xml_limits.hpp"
#include "hub/config/config.hpp"
#include "hub/dispatch/dispatcher.hpp"
#include "hub/dispatch/sink.hpp"
#include "hub/journal/journal.hpp"
#include "hub/mapping/engine.hpp"
#include "hub/mapping/kind_mapper.hpp"
#include "hub/mapping/mapper.hpp"
#include "hub/pipeline/admin_api.hpp"
#include "hub/pipeline/event_bus.hpp"
#include "hub/plugin/remote.hpp"
#include "hub/master/store.hpp"
#include "hub/pipeline/ingest.hpp"
#include "hub/pipeline/master_sink.hpp"
#include "hub/pipeline/poller.hpp"
#include "hub/plugin/check.hpp"
#include "hub/pipeline/processor.hpp"
#include "hub/server/http_server.hpp"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace channelhub::cli {
namespace {

constexpr auto kHttpGrace = std::chrono::seconds(10);
constexpr auto kDeliveryDrain = std::chrono::seconds(5);

}  // namespace

void PrintDiagnostics(const std::vector<config::Diagnostic>& diags) {
  for (const auto& d : diags) std::fprintf(stderr, "%s\n", d.ToString().c_str());
  std::fprintf(stderr, "channelhub: %zu problem%s in the configuration; nothing was started\n",
               diags.size(), diags.size() == 1 ? "" : "s");
}

std::optional<config::Config> LoadForCommand(const std::string& config_path, const std::optional<std::string>& data_dir) {
  config::Overrides overrides;
  overrides.data_dir = data_dir;
  config::LoadResult loaded = config::LoadConfig(config_path, overrides);
  if (!loaded.config) PrintDiagnostics(loaded.diagnostics);
  return std::move(loaded.config);
}

namespace {

using DestinationMappings = std::map<std::string, std::shared_ptr<const mapping::CompiledMapping>>;

// Loads a mapping file named in the config (relative to mappings_dir, its schemas in
// mappings_dir/schema) and checks its direction; problems go to "diags".
std::shared_ptr<const mapping::CompiledMapping> LoadConfigured(
    const config::Config& cfg, const std::string& file, bool outbound, const std::string& who,
    int line, const std::string& key, std::vector<config::Diagnostic>* diags) {
  const auto dir = std::filesystem::path(cfg.mappings_dir);
  const std::filesystem::path path = dir / file;
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  std::string missing;
  if (!std::filesystem::exists(status)) {
    missing = "no such file";
  } else if (std::filesystem::is_directory(status)) {
    missing = "it is a folder, not a mapping file";
  } else if (std::ifstream probe(path); !probe) {
    missing = "it cannot be read (permissions?)";
  }
  if (!missing.empty()) {  // said at the configuration's line, where the admin named the file
    diags->push_back({cfg.file, line, 0, key,
                      "mapping file " + file + ": " + missing + " (looked for " +
                          std::filesystem::absolute(path).lexically_normal().string() +
                          "; mapping paths are relative to mappings_dir)"});
    return nullptr;
  }
  mapping::MappingLoadResult loaded = mapping::LoadMapping(path.string(), (dir / "schema").string());
  for (const auto& d : loaded.diagnostics) {
    diags->push_back({d.file, d.line, d.column, d.key, d.message + " (mapping of " + who + ")"});
  }
  if (loaded.mapping && mapping::MappingIsOutbound(*loaded.mapping) != outbound) {
    diags->push_back({cfg.file, line, 0, key,
                      file + " is a direction: " + (outbound ? "in" : "out") + " mapping; " + who +
                          " needs a direction: " + (outbound ? "out" : "in") + " one"});
    return nullptr;
  }
  return loaded.mapping;
}

// Checks what LoadConfig cannot see alone: that every mapping reference resolves and every
// destination can be built. Returns the mappers by source name and the destinations' mappings.
// "out": where the problems go (printed when null).
bool CheckWiring(const config::Config& cfg,
                 std::map<std::string, std::unique_ptr<mapping::Mapper>>* mappers,
                 DestinationMappings* destination_mappings, plugin::Connectors* connectors,
                 std::vector<config::Diagnostic>* out = nullptr,
                 std::shared_ptr<plugin::RemoteLink> remote = nullptr) {
  std::vector<config::Diagnostic> diags;
  // Plugins first: a source's connector decides what it can do.
  plugin::Connectors loaded;
  for (auto& d : plugin::LoadConnectors(cfg, &loaded, std::move(remote))) diags.push_back(std::move(d));
  for (const auto& [name, src] : cfg.sources) {
    if (!src.mapping_by_kind.empty()) {
      std::map<std::string, std::vector<std::unique_ptr<mapping::Mapper>>> by_kind;
      for (const auto& [kind, files] : src.mapping_by_kind) {
        for (const std::string& file : files) {
          if (file.starts_with("builtin:")) {
            auto m = mapping::CreateMapper(file);
            if (m.ok()) {
              by_kind[kind].push_back(std::move(m).value());
            } else {
              diags.push_back({cfg.file, src.line, 0, "sources." + name + ".mapping", m.status().message()});
            }
            continue;
          }
          auto m = LoadConfigured(cfg, file, false, "source \"" + name + "\"", src.line,
                                  "sources." + name + ".mapping", &diags);
          if (m) by_kind[kind].push_back(mapping::MakeFileMapper(m));
        }
      }
      if (mappers) mappers->emplace(name, mapping::MakeKindMapper(std::move(by_kind)));
      continue;
    }
    if (!src.mapping.starts_with("builtin:")) {
      auto m = LoadConfigured(cfg, src.mapping, false, "source \"" + name + "\"", src.line,
                              "sources." + name + ".mapping", &diags);
      if (m && mappers) mappers->emplace(name, mapping::MakeFileMapper(m));
      continue;
    }
    auto m = mapping::CreateMapper(src.mapping);
    if (!m.ok()) {
      diags.push_back({cfg.file, src.line, 0, "sources." + name + ".mapping", m.status().message()});
      continue;
    }
    if (mappers) mappers->emplace(name, std::move(m).value());
  }
  for (const auto& [name, dest] : cfg.destinations) {
    if (!dest.mapping.empty()) {
      auto m = LoadConfigured(cfg, dest.mapping, true, "destination \"" + name + "\"", dest.line,
                              "destinations." + name + ".mapping", &diags);
      if (m && destination_mappings) destination_mappings->emplace(name, m);
    }
    if (dest.type == config::DestinationConfig::Type::kConnector) continue;  // checked with the plugins
    if (dest.type == config::DestinationConfig::Type::kMaster) {
      if (auto o = pipeline::MasterOptionsFrom(cfg); !o.ok()) {
        diags.push_back({cfg.file, dest.line, 0, "master.match", o.status().message()});
      }
      continue;
    }
    auto s = dispatch::CreateSink(dest);
    if (!s.ok()) diags.push_back({cfg.file, dest.line, 0, "destinations." + name, s.status().message()});
  }
  if (!diags.empty()) {
    if (out) {
      *out = std::move(diags);
    } else {
      PrintDiagnostics(diags);
    }
    return false;
  }
  if (connectors) *connectors = std::move(loaded);
  return true;
}


bool WriteReadyFile(const std::string& path, const std::string& address) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) return false;
    f << address << "\n";
    if (!f.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int Check(const std::string& config_path) {
  config::LoadResult loaded = config::LoadConfig(config_path);
  if (!loaded.config) {
    PrintDiagnostics(loaded.diagnostics);
    return 2;
  }
  if (!CheckWiring(*loaded.config, nullptr, nullptr, nullptr)) return 2;
  const auto& c = *loaded.config;
  std::printf("%s: OK (%zu source%s, %zu destination%s, %zu route%s)\n", config_path.c_str(),
              c.sources.size(), c.sources.size() == 1 ? "" : "s", c.destinations.size(),
              c.destinations.size() == 1 ? "" : "s", c.routes.size(), c.routes.size() == 1 ? "" : "s");
  return 0;
}

int ListPlugins(const std::string& config_path) {
  config::LoadResult loaded = config::LoadConfig(config_path);
  if (!loaded.config) {
    PrintDiagnostics(loaded.diagnostics);
    return 2;
  }
  const config::Config& cfg = *loaded.config;
  if (cfg.plugins.empty()) {
    std::printf("%s loads no plugins (add plugins: [./build/plugins] to use connectors from them)\n",
                config_path.c_str());
    return 0;
  }
  auto registry = plugin::Registry::Load(cfg.plugins);
  if (!registry.ok()) {
    std::fprintf(stderr, "%s:%d: plugins: %s\n", cfg.file.c_str(), cfg.plugins_line, registry.status().message().c_str());
    return 2;
  }
  std::string last_file;
  for (const auto& info : (*registry)->List()) {
    std::printf("%-14s %-26s %s %s  (%s)\n", info.name.c_str(), plugin::CapabilityNames(info.capabilities).c_str(),
                info.plugin.c_str(), info.plugin_version.c_str(), info.file.c_str());
    std::printf("               %s\n", info.description.c_str());
    std::string keys;
    for (const auto& k : info.settings) keys += (keys.empty() ? "" : ", ") + k;
    std::printf("               settings: %s\n", keys.empty() ? "(none)" : keys.c_str());
  }
  // Which configured entries use them.
  for (const auto& [name, s] : cfg.sources) {
    if (!s.builtin()) std::printf("source %s uses %s%s\n", name.c_str(), s.connector.c_str(), s.poll.enabled ? " (polling)" : "");
  }
  for (const auto& [name, d] : cfg.destinations) {
    if (d.type == config::DestinationConfig::Type::kConnector) std::printf("destination %s uses %s\n", name.c_str(), d.connector.c_str());
  }
  return 0;
}

namespace {

// Everything built from one configuration: hot reload (SIGHUP, POST /api/v1/config/reload) builds
// the next one beside the running one and swaps them. The journal, the listeners and the bus
// stay; webhooks are answered by the generation current when they arrive.
struct Generation {
  int number = 0;
  config::Config cfg;
  plugin::Connectors connectors;
  std::shared_ptr<plugin::RemoteLink> remote;  // the process's link to connector processes, or null
  std::unique_ptr<master::MasterStore> master_store;
  std::unique_ptr<pipeline::Processor> processor;
  std::unique_ptr<dispatch::Dispatcher> dispatcher;
  std::unique_ptr<pipeline::Poller> poller;
  std::unique_ptr<pipeline::Ingest> ingest;
  std::unique_ptr<pipeline::AdminApi> admin;
  bool started = false;

  void Stop(std::chrono::milliseconds drain_for) {
    if (!started) return;
    started = false;
    poller->Stop();
    processor->Stop(/*drain=*/true);
    dispatcher->Stop(drain_for);
  }
  ~Generation() {
    if (started) Stop(std::chrono::milliseconds(0));
  }
};

std::string StatusJson(const Generation& g) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("config_generation");
  w.Int(g.number);
  w.Key("destinations");
  w.StartArray();
  for (const auto& [name, d] : g.cfg.destinations) {
    w.StartObject();
    w.Key("name");
    w.String(name);
    w.Key("breaker");
    const auto b = g.dispatcher->breaker(name);
    w.String(b == dispatch::Dispatcher::BreakerState::kOpen       ? "open"
             : b == dispatch::Dispatcher::BreakerState::kHalfOpen ? "half-open"
                                                                   : "closed");
    w.EndObject();
  }
  w.EndArray();
  w.Key("plugins");
  w.StartArray();
  for (const auto& info : g.connectors.registry->List()) {
    w.StartObject();
    w.Key("connector");
    w.String(info.name);
    w.Key("plugin");
    w.String(info.plugin);
    w.Key("version");
    w.String(info.plugin_version);
    w.Key("capabilities");
    w.String(plugin::CapabilityNames(info.capabilities));
    w.EndObject();
  }
  w.EndArray();
  if (g.remote) {
    w.Key("remote_connectors");
    w.StartArray();
    for (const auto& p : g.remote->Peers()) {
      w.StartObject();
      w.Key("connector");
      w.String(p.connector);
      w.Key("connected");
      w.Bool(p.connected);
      w.Key("version");
      w.String(p.version);
      w.Key("pid");
      w.Int64(p.pid);
      w.Key("last_seen_ms");
      w.Int64(p.last_seen_ms);
      w.Key("connects");
      w.Uint64(p.connects);
      w.Key("losses");
      w.Uint64(p.losses);
      w.Key("calls");
      w.Uint64(p.calls);
      w.Key("failed_calls");
      w.Uint64(p.failed_calls);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

std::string MetricsText(const Generation& g, journal::Journal& j, int reloads, int failed_reloads) {
  std::string m;
  auto counter = [&m](const std::string& name, const std::string& help,
                      const std::vector<std::pair<std::string, uint64_t>>& rows, const char* type = "counter") {
    m += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, v] : rows) m += name + labels + " " + std::to_string(v) + "\n";
  };
  const auto& c = g.ingest->counters();
  counter("channelhub_webhooks_total", "Webhook requests by outcome (since the last configuration reload).",
          {{"{outcome=\"accepted\"}", c.accepted.load()},
           {"{outcome=\"duplicate\"}", c.duplicates.load()},
           {"{outcome=\"rejected\"}", c.rejected.load()},
           {"{outcome=\"overloaded\"}", c.overloaded.load()},
           {"{outcome=\"rate_limited\"}", c.rate_limited.load()}});
  counter("channelhub_auth_failures_total", "Webhook requests refused for authentication or address.",
          {{"", c.auth_failures.load()}});
  counter("channelhub_mapped_total", "Journaled payloads mapped and routed.", {{"", g.processor->processed()}});
  counter("channelhub_delivered_total", "Events delivered, all destinations.", {{"", g.dispatcher->delivered()}});
  counter("channelhub_polled_total", "New payloads journaled by polling sources.", {{"", g.poller->journaled()}});
  counter("channelhub_config_reloads_total", "Configuration reloads by outcome.",
          {{"{outcome=\"applied\"}", static_cast<uint64_t>(reloads)},
           {"{outcome=\"refused\"}", static_cast<uint64_t>(failed_reloads)}});
  std::vector<std::pair<std::string, uint64_t>> breakers;
  for (const auto& [name, d] : g.cfg.destinations) {
    breakers.emplace_back("{destination=\"" + name + "\"}", static_cast<uint64_t>(g.dispatcher->breaker(name)));
  }
  counter("channelhub_breaker_state", "Circuit breaker per destination: 0 closed, 1 open, 2 half-open.", breakers,
          "gauge");
  m += g.ingest->MetricsText();
  m += g.processor->MetricsText();
  m += g.dispatcher->MetricsText();
  if (g.remote) m += g.remote->MetricsText();
  m += j.SyncMetricsText();
  if (auto reader = j.NewReader(); reader.ok()) {
    if (auto backlogs = (*reader)->Backlogs(); backlogs.ok()) {
      std::map<std::string, journal::JournalReader::Backlog> by_dest;
      for (const auto& b : *backlogs) by_dest[b.destination] = b;
      std::string depth = metrics::Header("channelhub_queue_depth", "Undelivered events per destination.", "gauge");
      std::string age = metrics::Header("channelhub_queue_oldest_age_seconds",
                                        "Age of the oldest undelivered event per destination (0 when none).", "gauge");
      const int64_t now = NowUnixMillis();
      for (const auto& [name, d] : g.cfg.destinations) {
        auto it = by_dest.find(name);
        const int64_t pending = it == by_dest.end() ? 0 : it->second.pending;
        const int64_t oldest = it == by_dest.end() ? 0 : it->second.oldest_created_ms;
        const std::string label = "{destination=\"" + metrics::Escape(name) + "\"}";
        depth += "channelhub_queue_depth" + label + " " + std::to_string(pending) + "\n";
        age += "channelhub_queue_oldest_age_seconds" + label + " " +
               std::to_string(pending > 0 ? std::max<int64_t>(0, now - oldest) / 1000 : 0) + "\n";
      }
      m += depth + age;
    }
  }
  if (g.master_store) {
    if (auto ms = g.master_store->Stats(); ms.ok()) {
      counter("channelhub_master_records", "Source records linked in the master customer record.",
              {{"", static_cast<uint64_t>(ms->records)}}, "gauge");
      counter("channelhub_master_golden_records", "Golden customer records.", {{"", static_cast<uint64_t>(ms->goldens)}},
              "gauge");
      counter("channelhub_master_merged_ids", "Golden ids merged into another (by the matcher, a review or an operator).",
              {{"", static_cast<uint64_t>(ms->merged_away)}}, "gauge");
      counter("channelhub_master_open_reviews", "Review items waiting for an operator.",
              {{"", static_cast<uint64_t>(ms->open_reviews)}}, "gauge");
      counter("channelhub_master_pending_changes", "Golden-record changes not yet journaled.",
              {{"", static_cast<uint64_t>(ms->pending_emissions)}}, "gauge");
    }
  }
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  counter("process_resident_memory_bytes", "Resident memory of the hub process.",
          {{"", static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE))}}, "gauge");
  return m;
}

// What a reload cannot change while the hub runs (the listeners, the journal, the bus): the keys
// that differ, for the message that says a restart is needed.
std::vector<std::string> NeedsRestart(const config::Config& a, const config::Config& b) {
  std::vector<std::string> out;
  auto tls = [](const config::TlsSettings& x, const config::TlsSettings& y) {
    return x.cert == y.cert && x.key == y.key && x.client_ca == y.client_ca;
  };
  if (a.server.listen.host != b.server.listen.host || a.server.listen.port != b.server.listen.port) out.push_back("listen");
  if (!tls(a.server.tls, b.server.tls)) out.push_back("tls");
  if (a.server.threads != b.server.threads || a.server.body_limit != b.server.body_limit ||
      a.server.read_timeout != b.server.read_timeout || a.server.idle_timeout != b.server.idle_timeout ||
      a.server.max_connections != b.server.max_connections ||
      a.server.max_connections_per_client != b.server.max_connections_per_client ||
      a.server.header_limit != b.server.header_limit || a.server.max_headers != b.server.max_headers ||
      a.server.xml_max_depth != b.server.xml_max_depth || a.server.xml_max_nodes != b.server.xml_max_nodes) {
    out.push_back("server");
  }
  if (a.data_dir != b.data_dir) out.push_back("data_dir");
  if (a.journal.max_batch != b.journal.max_batch || a.journal.queue_limit != b.journal.queue_limit ||
      a.journal.synchronous_full != b.journal.synchronous_full) {
    out.push_back("journal");
  }
  if (a.admin.enabled != b.admin.enabled || a.admin.listen.host != b.admin.listen.host ||
      a.admin.listen.port != b.admin.listen.port || !tls(a.admin.tls, b.admin.tls)) {
    out.push_back("admin.listen/tls");
  }
  if (a.bus_publish != b.bus_publish) out.push_back("bus");
  if (a.remote.endpoint != b.remote.endpoint) out.push_back("remote_connectors.endpoint");
  if (a.log_format != b.log_format) out.push_back("log_format");
  // The journal seals with the keys it was opened with: new keys need a restart.
  auto key_ids = [](const config::Config& c) {
    return c.data_protection.keyring ? c.data_protection.keyring->ids() : std::vector<seal::KeyId>{};
  };
  if (key_ids(a) != key_ids(b)) out.push_back("data_protection");
  return out;
}

}  // namespace

int Serve(const ServeOptions& options) {
  // Signals are taken by this thread alone (sigwait below): block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  config::Overrides overrides;
  overrides.listen = options.listen;
  overrides.data_dir = options.data_dir;
  config::LoadResult loaded = config::LoadConfig(options.config_path, overrides);
  if (!loaded.config) {
    PrintDiagnostics(loaded.diagnostics);
    return 2;
  }
  const config::Config boot = *loaded.config;  // what the listeners and the journal were made from
  SetUpLogging(boot.log_level, boot.log_format == "json" ? LogFormat::kJson : LogFormat::kText);
  // Before any worker runs: the mapping engine reads inbound XML within these limits too.
  xml::SetProcessLimits(xml::Limits{boot.server.xml_max_depth, boot.server.xml_max_nodes});

  std::error_code ec;
  std::filesystem::create_directories(boot.data_dir, ec);
  if (ec) {
    spdlog::critical("cannot create data_dir {}: {}", boot.data_dir, ec.message());
    return 1;
  }

  journal::JournalOptions jo;
  jo.path = (std::filesystem::path(boot.data_dir) / "journal.db").string();
  jo.max_batch = boot.journal.max_batch;
  jo.queue_limit = boot.journal.queue_limit;
  jo.synchronous_full = boot.journal.synchronous_full;
  jo.keyring = boot.data_protection.keyring;  // encryption at rest, when configured

  std::unique_ptr<pipeline::EventBus> bus;
  std::shared_ptr<plugin::RemoteLink> remote;  // connector processes (remote_connectors.endpoint)
  std::unique_ptr<journal::Journal> journal_owner;  // outlives every generation
  std::mutex gen_mu;
  std::shared_ptr<Generation> current;  // GUARDED_BY(gen_mu)
  auto Current = [&gen_mu, &current] {
    std::lock_guard lock(gen_mu);
    return current;
  };
  std::mutex reload_mu;  // one reload at a time
  std::atomic<int> reloads{0}, failed_reloads{0};
  std::function<std::string()> reload;  // set below, once the first generation runs
  std::function<std::vector<std::string>()> check;  // the file on disk checked as a reload would, not applied

  // Builds a generation from "cfg" without starting it. The master store is opened by Start, once
  // the previous generation (which may have it open and be applying events) has stopped.
  auto Build = [&](config::Config cfg, int number, std::vector<config::Diagnostic>* diags) -> std::shared_ptr<Generation> {
    auto g = std::make_shared<Generation>();
    g->number = number;
    g->cfg = std::move(cfg);
    std::map<std::string, std::unique_ptr<mapping::Mapper>> mappers;
    DestinationMappings destination_mappings;
    std::vector<config::Diagnostic> found;
    if (!CheckWiring(g->cfg, &mappers, &destination_mappings, &g->connectors, &found, remote)) {
      if (diags) *diags = std::move(found);
      return nullptr;
    }
    g->remote = remote;
    if (!g->cfg.master_destination.empty()) mappers["master"] = pipeline::MakeGoldenMapper();
    journal::Journal& j = *journal_owner;
    g->processor = std::make_unique<pipeline::Processor>(g->cfg, j, std::move(mappers));
    g->dispatcher =
        std::make_unique<dispatch::Dispatcher>(g->cfg, j, std::move(destination_mappings), g->connectors.destinations);
    g->poller = std::make_unique<pipeline::Poller>(g->cfg, j, g->connectors.sources);
    g->ingest = std::make_unique<pipeline::Ingest>(g->cfg, j, pipeline::IngestOptions{options.bare_endpoint},
                                                   g->connectors.sources);
    if (bus) g->processor->SetBus(bus.get());
    return g;
  };
  auto Start = [&](Generation& g) -> Status {
    journal::Journal& j = *journal_owner;
    if (!g.cfg.master_destination.empty()) {
      auto mo = pipeline::MasterOptionsFrom(g.cfg);
      if (!mo.ok()) return mo.status();
      const auto t0 = std::chrono::steady_clock::now();
      auto store = master::MasterStore::Open(*mo);
      if (!store.ok()) return store.status().Prepend("master record: ");
      g.master_store = std::move(store).value();
      spdlog::info("master record {}: {} source record(s) indexed in {} ms", mo->path, g.master_store->indexed(),
                   std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
      g.dispatcher->SetSink(g.cfg.master_destination,
                            std::make_unique<pipeline::MasterSink>(g.cfg.destinations.at(g.cfg.master_destination),
                                                                   *g.master_store, j));
    }
    if (g.remote) {
      std::vector<plugin::ConnectorInfo> declared;
      for (const auto& info : g.connectors.registry->List()) {
        if (info.remote) declared.push_back(info);
      }
      g.remote->Declare(declared);
    }
    for (const auto& info : g.connectors.registry->List()) {
      spdlog::info("plugin {} {}: connector {} ({}) from {}", info.plugin, info.plugin_version, info.name,
                   plugin::CapabilityNames(info.capabilities), info.file);
    }
    if (Status st = g.processor->Start(); !st.ok()) return st.Prepend("pipeline: ");
    g.started = true;  // Stop() from here on stops what started
    if (Status st = g.dispatcher->Start(); !st.ok()) return st.Prepend("dispatcher: ");
    if (Status st = g.poller->Start(); !st.ok()) return st.Prepend("poller: ");
    if (g.cfg.admin.enabled) {
      Generation* raw = &g;
      g.admin = std::make_unique<pipeline::AdminApi>(
          g.cfg, j, [raw] { return StatusJson(*raw); },
          [raw, &j, &reloads, &failed_reloads] { return MetricsText(*raw, j, reloads.load(), failed_reloads.load()); });
      g.admin->SetMaster(g.master_store.get());
      g.admin->SetReload([&reload] { return reload(); });
      g.admin->SetCheck([&check] { return check(); });
    }
    g.ingest->SetReady(true);
    return Status::Ok();
  };

  {
    auto journal = journal::Journal::Open(jo);
    if (!journal.ok()) {
      spdlog::critical("{}", journal.status().ToString());
      return 1;
    }
    journal_owner = std::move(journal).value();
  }
  journal::Journal& j = *journal_owner;
  if (!boot.bus_publish.empty()) {
    auto b = pipeline::EventBus::Bind(boot.bus_publish);
    if (!b.ok()) {
      spdlog::critical("{}", b.status().message());
      return 1;
    }
    bus = std::move(b).value();
    spdlog::info("event bus: every canonical event is published on {} (topic = event type)", bus->endpoint());
    if (!options.bus_ready_file.empty()) WriteReadyFile(options.bus_ready_file, bus->endpoint());
  }
  if (!boot.remote.endpoint.empty()) {
    plugin::RemoteOptions ro;
    ro.endpoint = boot.remote.endpoint;
    ro.call_timeout = boot.remote.call_timeout;
    ro.heartbeat_timeout = boot.remote.heartbeat_timeout;
    auto link = plugin::RemoteLink::Bind(ro);
    if (!link.ok()) {
      spdlog::critical("{}", link.status().message());
      return 1;
    }
    remote = std::move(link).value();
    spdlog::info("remote connectors: connector processes link to {} ({} declared)", remote->endpoint(),
                 boot.remote.connectors.size());
    if (!options.connectors_ready_file.empty()) WriteReadyFile(options.connectors_ready_file, remote->endpoint());
  }
  j.AddCommitListener([&Current] {
    if (auto g = Current()) {
      g->processor->Wake();
      g->dispatcher->Wake();
    }
  });
  // On every way out, the journal's threads stop before the generations its commit listener
  // reaches are destroyed.
  struct JournalShutdown {
    journal::Journal& j;
    ~JournalShutdown() { j.Shutdown(); }
  } journal_shutdown{j};

  {
    std::vector<config::Diagnostic> diags;
    auto first = Build(boot, 1, &diags);
    if (!first) {
      PrintDiagnostics(diags);
      return 2;
    }
    if (Status st = Start(*first); !st.ok()) {
      spdlog::critical("{}", st.ToString());
      return 1;
    }
    std::lock_guard lock(gen_mu);
    current = std::move(first);
  }

  // Reload: check the new configuration in full and build it beside the running one; then the
  // running one drains (the mapping of what is journaled so far, the deliveries in flight) and
  // the new one takes over from the journal's cursors, so no event is lost or handled twice. On
  // any error the running configuration stays. Returns "" or what was wrong.
  reload = [&]() -> std::string {
    std::lock_guard one(reload_mu);
    auto fail = [&](std::string why) {
      ++failed_reloads;
      spdlog::error("configuration reload refused, the running configuration stays: {}", why);
      return why;
    };
    config::LoadResult next = config::LoadConfig(options.config_path, overrides);
    if (!next.config) {
      std::string why;
      for (const auto& d : next.diagnostics) why += d.ToString() + "\n";
      return fail(why);
    }
    std::shared_ptr<Generation> old = Current();
    if (auto keys = NeedsRestart(boot, *next.config); !keys.empty()) {
      std::string list;
      for (const auto& k : keys) list += (list.empty() ? "" : ", ") + k;
      return fail("these settings only change with a restart: " + list);
    }
    std::vector<config::Diagnostic> diags;
    auto fresh = Build(*next.config, old->number + 1, &diags);
    if (!fresh) {
      std::string why;
      for (const auto& d : diags) why += d.ToString() + "\n";
      return fail(why);
    }
    // The running generation drains and stops; webhooks keep arriving (its ingest still answers
    // them and the journal keeps them) until the new one is current.
    old->Stop(kDeliveryDrain);
    if (Status st = Start(*fresh); !st.ok()) {
      // The new one could not start: the old configuration comes back.
      std::string why = st.ToString();
      fresh.reset();
      auto again = Build(old->cfg, old->number, nullptr);
      Status back = again ? Start(*again) : Status::Internal("the running configuration could not be rebuilt");
      if (again && back.ok()) {
        std::lock_guard lock(gen_mu);
        current = std::move(again);
      } else {
        spdlog::critical("the previous configuration could not be restarted either: {}", back.ToString());
      }
      return fail(why);
    }
    if (fresh->cfg.log_level != old->cfg.log_level) spdlog::set_level(spdlog::level::from_str(fresh->cfg.log_level));
    {
      std::lock_guard lock(gen_mu);
      current = fresh;
    }
    ++reloads;
    spdlog::info("configuration reloaded from {} (generation {}: {} source(s), {} destination(s), {} route(s))",
                 options.config_path, fresh->number, fresh->cfg.sources.size(), fresh->cfg.destinations.size(),
                 fresh->cfg.routes.size());
    fresh->processor->Wake();
    fresh->dispatcher->Wake();
    return "";
  };

  check = [&]() -> std::vector<std::string> {
    std::vector<std::string> problems;
    config::LoadResult next = config::LoadConfig(options.config_path, overrides);
    if (!next.config) {
      for (const auto& d : next.diagnostics) problems.push_back(d.ToString());
      return problems;
    }
    for (const auto& k : NeedsRestart(boot, *next.config)) {
      problems.push_back(k + ": differs from the running configuration and only changes with a restart");
    }
    std::vector<config::Diagnostic> found;
    if (!CheckWiring(*next.config, nullptr, nullptr, nullptr, &found)) {
      for (const auto& d : found) problems.push_back(d.ToString());
    }
    return problems;
  };

  server::ServerOptions so;
  so.host = boot.server.listen.host;
  so.port = boot.server.listen.port;
  so.threads = boot.server.threads > 0 ? boot.server.threads
                                       : static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  so.body_limit = boot.server.body_limit;
  so.read_timeout = boot.server.read_timeout;
  so.idle_timeout = boot.server.idle_timeout;
  so.max_connections = boot.server.max_connections;
  so.max_connections_per_client = boot.server.max_connections_per_client;
  so.header_limit = boot.server.header_limit;
  so.max_headers = boot.server.max_headers;
  so.tls_cert = boot.server.tls.cert;
  so.tls_key = boot.server.tls.key;
  so.tls_client_ca = boot.server.tls.client_ca;
  // A request keeps the generation it started in alive until it is answered.
  server::HttpServer http(so, [&Current](server::HttpRequest&& req, server::Reply reply) {
    std::shared_ptr<Generation> g = Current();
    pipeline::Ingest& ingest = *g->ingest;
    ingest.Handle(std::move(req), [g = std::move(g), reply = std::move(reply)](server::HttpResponse r) { reply(std::move(r)); });
  });
  if (Status st = http.Start(); !st.ok()) {
    spdlog::critical("{}", st.message());
    Current()->Stop(std::chrono::milliseconds(0));
    return 1;
  }
  // The admin API: its own listener and threads (its handlers may block on the journal).
  std::unique_ptr<server::HttpServer> admin_http;
  if (boot.admin.enabled) {
    server::ServerOptions ao = so;
    ao.host = boot.admin.listen.host;
    ao.port = boot.admin.listen.port;
    ao.threads = 2;
    ao.tls_cert = boot.admin.tls.cert;
    ao.tls_key = boot.admin.tls.key;
    ao.tls_client_ca = boot.admin.tls.client_ca;
    admin_http = std::make_unique<server::HttpServer>(
        ao, [&Current](server::HttpRequest&& req, server::Reply reply) {
          std::shared_ptr<Generation> g = Current();
          pipeline::AdminApi& admin = *g->admin;
          admin.Handle(std::move(req), [g = std::move(g), reply = std::move(reply)](server::HttpResponse r) {
            reply(std::move(r));
          });
        });
    if (Status st = admin_http->Start(); !st.ok()) {
      spdlog::critical("admin API: {}", st.message());
      http.Stop(std::chrono::milliseconds(0));
      Current()->Stop(std::chrono::milliseconds(0));
      return 1;
    }
    spdlog::info("admin API on http://{}/api/v1/ ({} token(s))", admin_http->address(), boot.admin.tokens.size());
    if (!options.admin_ready_file.empty()) WriteReadyFile(options.admin_ready_file, admin_http->address());
  }
  spdlog::info("channelhub listening on {}://{} (config {}, journal {}, {} source(s), {} destination(s))",
               boot.server.tls.enabled() ? "https" : "http", http.address(), boot.file, jo.path, boot.sources.size(),
               boot.destinations.size());
  if (!options.ready_file.empty() && !WriteReadyFile(options.ready_file, http.address())) {
    spdlog::error("cannot write the ready file {}", options.ready_file);
  }

  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    // SIGHUP: the configuration file is read again (see reload), and certificates renewed on
    // disk are taken for new connections; a bad file keeps the old ones in use.
    spdlog::info("SIGHUP: reloading {}", options.config_path);
    (void)reload();
    for (auto [server, what, on] : {std::tuple{&http, "webhook listener", boot.server.tls.enabled()},
                                    {admin_http.get(), "admin listener", boot.admin.tls.enabled()}}) {
      if (!server || !on) continue;
      if (Status st = server->ReloadTls(); !st.ok()) {
        spdlog::error("SIGHUP: {} keeps its old TLS certificate: {}", what, st.message());
      } else {
        spdlog::info("SIGHUP: {} TLS certificate reloaded", what);
      }
    }
  }
  spdlog::info("received {}: draining (no new requests; in-flight ones finish)",
               sig == SIGTERM ? "SIGTERM" : "SIGINT");
  std::shared_ptr<Generation> last = Current();
  last->ingest->SetReady(false);
  http.Stop(kHttpGrace);
  if (admin_http) admin_http->Stop(std::chrono::seconds(2));
  {
    std::lock_guard one(reload_mu);  // no reload runs while stopping
    last = Current();
    last->Stop(kDeliveryDrain);
  }
  j.Shutdown();  // no journal callback may reach a generation after this
  const auto& c = last->ingest->counters();
  spdlog::info(
      "stopped cleanly: {} accepted, {} duplicates, {} rejected, {} mapped, {} delivered; "
      "journal: {} transactions carried {} writes",
      c.accepted.load(), c.duplicates.load(), c.rejected.load(), last->processor->processed(),
      last->dispatcher->delivered(), j.commits(), j.committed_ops());
  return 0;
}

}  // namespace channelhub::cli
