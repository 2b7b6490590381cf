#include "hub/cli/serve.hpp"

#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <tuple>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "hub/common/log.hpp"
#include "hub/common/metrics.hpp"
#include "hub/common/time.hpp"
#include "hub/config/config.hpp"
#include "hub/dispatch/dispatcher.hpp"
#include "hub/dispatch/sink.hpp"
#include "hub/journal/journal.hpp"
#include "hub/mapping/engine.hpp"
#include "hub/mapping/kind_mapper.hpp"
#include "hub/mapping/mapper.hpp"
#include "hub/pipeline/admin_api.hpp"
#include "hub/pipeline/event_bus.hpp"
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
  mapping::MappingLoadResult loaded =
      mapping::LoadMapping((dir / file).string(), (dir / "schema").string());
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
bool CheckWiring(const config::Config& cfg,
                 std::map<std::string, std::unique_ptr<mapping::Mapper>>* mappers,
                 DestinationMappings* destination_mappings, plugin::Connectors* connectors) {
  std::vector<config::Diagnostic> diags;
  // Plugins first: a source's connector decides what it can do.
  plugin::Connectors loaded;
  for (auto& d : plugin::LoadConnectors(cfg, &loaded)) diags.push_back(std::move(d));
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
    PrintDiagnostics(diags);
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
  const config::Config& cfg = *loaded.config;
  SetUpLogging(cfg.log_level, cfg.log_format == "json" ? LogFormat::kJson : LogFormat::kText);

  std::map<std::string, std::unique_ptr<mapping::Mapper>> mappers;
  DestinationMappings destination_mappings;
  plugin::Connectors connectors;
  if (!CheckWiring(cfg, &mappers, &destination_mappings, &connectors)) return 2;
  for (const auto& info : connectors.registry->List()) {
    spdlog::info("plugin {} {}: connector {} ({}) from {}", info.plugin, info.plugin_version, info.name,
                 plugin::CapabilityNames(info.capabilities), info.file);
  }

  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  if (ec) {
    spdlog::critical("cannot create data_dir {}: {}", cfg.data_dir, ec.message());
    return 1;
  }

  journal::JournalOptions jo;
  jo.path = (std::filesystem::path(cfg.data_dir) / "journal.db").string();
  jo.max_batch = cfg.journal.max_batch;
  jo.queue_limit = cfg.journal.queue_limit;
  jo.synchronous_full = cfg.journal.synchronous_full;
  auto journal = journal::Journal::Open(jo);
  if (!journal.ok()) {
    spdlog::critical("{}", journal.status().ToString());
    return 1;
  }
  journal::Journal& j = **journal;

  std::unique_ptr<pipeline::EventBus> bus;
  if (!cfg.bus_publish.empty()) {
    auto b = pipeline::EventBus::Bind(cfg.bus_publish);
    if (!b.ok()) {
      spdlog::critical("{}", b.status().message());
      return 1;
    }
    bus = std::move(b).value();
    spdlog::info("event bus: every canonical event is published on {} (topic = event type)", bus->endpoint());
    if (!options.bus_ready_file.empty()) WriteReadyFile(options.bus_ready_file, bus->endpoint());
  }
  // The master customer record: its store, its sink, and the source "master" its changes come from.
  std::unique_ptr<master::MasterStore> master_store;
  if (!cfg.master_destination.empty()) {
    auto mo = pipeline::MasterOptionsFrom(cfg);
    if (!mo.ok()) {
      spdlog::critical("{}", mo.status().message());
      return 2;
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto store = master::MasterStore::Open(*mo);
    if (!store.ok()) {
      spdlog::critical("master record: {}", store.status().ToString());
      return 1;
    }
    master_store = std::move(store).value();
    spdlog::info("master record {}: {} source record(s) indexed in {} ms", mo->path, master_store->indexed(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
    mappers["master"] = pipeline::MakeGoldenMapper();
  }
  pipeline::Processor processor(cfg, j, std::move(mappers));
  dispatch::Dispatcher dispatcher(cfg, j, std::move(destination_mappings), connectors.destinations);
  if (master_store) {
    dispatcher.SetSink(cfg.master_destination,
                       std::make_unique<pipeline::MasterSink>(cfg.destinations.at(cfg.master_destination),
                                                              *master_store, j));
  }
  pipeline::Poller poller(cfg, j, connectors.sources);
  if (bus) processor.SetBus(bus.get());
  j.AddCommitListener([&processor, &dispatcher] {
    processor.Wake();
    dispatcher.Wake();
  });
  // On every way out, the journal's threads stop before the processor and dispatcher that its
  // commit listener points at are destroyed.
  struct JournalShutdown {
    journal::Journal& j;
    ~JournalShutdown() { j.Shutdown(); }
  } journal_shutdown{j};
  if (Status st = processor.Start(); !st.ok()) {
    spdlog::critical("pipeline: {}", st.ToString());
    return 1;
  }
  if (Status st = dispatcher.Start(); !st.ok()) {
    spdlog::critical("dispatcher: {}", st.ToString());
    return 1;
  }
  if (Status st = poller.Start(); !st.ok()) {
    spdlog::critical("poller: {}", st.ToString());
    return 1;
  }

  pipeline::Ingest ingest(cfg, j, pipeline::IngestOptions{options.bare_endpoint}, connectors.sources);
  server::ServerOptions so;
  so.host = cfg.server.listen.host;
  so.port = cfg.server.listen.port;
  so.threads = cfg.server.threads > 0 ? cfg.server.threads
                                      : static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  so.body_limit = cfg.server.body_limit;
  so.read_timeout = cfg.server.read_timeout;
  so.idle_timeout = cfg.server.idle_timeout;
  so.max_connections = cfg.server.max_connections;
  so.max_connections_per_client = cfg.server.max_connections_per_client;
  so.tls_cert = cfg.server.tls.cert;
  so.tls_key = cfg.server.tls.key;
  so.tls_client_ca = cfg.server.tls.client_ca;
  server::HttpServer http(so, [&ingest](server::HttpRequest&& req, server::Reply reply) {
    ingest.Handle(std::move(req), std::move(reply));
  });
  if (Status st = http.Start(); !st.ok()) {
    spdlog::critical("{}", st.message());
    poller.Stop();
    processor.Stop(false);
    dispatcher.Stop(std::chrono::milliseconds(0));
    return 1;
  }
  // The admin API: its own listener and threads (its handlers may block on the journal).
  std::unique_ptr<pipeline::AdminApi> admin;
  std::unique_ptr<server::HttpServer> admin_http;
  if (cfg.admin.enabled) {
    std::function<std::string()> status_json = [&cfg, &dispatcher, &connectors] {
      rapidjson::StringBuffer sb;
      rapidjson::Writer<rapidjson::StringBuffer> w(sb);
      w.StartObject();
      w.Key("destinations");
      w.StartArray();
      for (const auto& [name, d] : cfg.destinations) {
        w.StartObject();
        w.Key("name");
        w.String(name);
        w.Key("breaker");
        const auto b = dispatcher.breaker(name);
        w.String(b == dispatch::Dispatcher::BreakerState::kOpen       ? "open"
                 : b == dispatch::Dispatcher::BreakerState::kHalfOpen ? "half-open"
                                                                       : "closed");
        w.EndObject();
      }
      w.EndArray();
      w.Key("plugins");
      w.StartArray();
      for (const auto& info : connectors.registry->List()) {
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
      w.EndObject();
      return std::string(sb.GetString(), sb.GetSize());
    };
    admin = std::make_unique<pipeline::AdminApi>(
        cfg, j, std::move(status_json), [&ingest, &dispatcher, &poller, &cfg, &processor, &master_store, &j] {
          std::string m;
          auto counter = [&m](const std::string& name, const std::string& help, const std::vector<std::pair<std::string, uint64_t>>& rows,
                              const char* type = "counter") {
            m += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
            for (const auto& [labels, v] : rows) m += name + labels + " " + std::to_string(v) + "\n";
          };
          const auto& c = ingest.counters();
          counter("channelhub_webhooks_total", "Webhook requests by outcome.",
                  {{"{outcome=\"accepted\"}", c.accepted.load()},
                   {"{outcome=\"duplicate\"}", c.duplicates.load()},
                   {"{outcome=\"rejected\"}", c.rejected.load()},
                   {"{outcome=\"overloaded\"}", c.overloaded.load()},
                   {"{outcome=\"rate_limited\"}", c.rate_limited.load()}});
          counter("channelhub_auth_failures_total", "Webhook requests refused for authentication or address.",
                  {{"", c.auth_failures.load()}});
          counter("channelhub_mapped_total", "Journaled payloads mapped and routed.", {{"", processor.processed()}});
          counter("channelhub_delivered_total", "Events delivered, all destinations.", {{"", dispatcher.delivered()}});
          counter("channelhub_polled_total", "New payloads journaled by polling sources.", {{"", poller.journaled()}});
          std::vector<std::pair<std::string, uint64_t>> breakers;
          for (const auto& [name, d] : cfg.destinations) {
            breakers.emplace_back("{destination=\"" + name + "\"}", static_cast<uint64_t>(dispatcher.breaker(name)));
          }
          counter("channelhub_breaker_state", "Circuit breaker per destination: 0 closed, 1 open, 2 half-open.", breakers,
                  "gauge");
          m += ingest.MetricsText();
          m += dispatcher.MetricsText();
          m += j.SyncMetricsText();
          if (auto reader = j.NewReader(); reader.ok()) {
            if (auto backlogs = (*reader)->Backlogs(); backlogs.ok()) {
              std::map<std::string, journal::JournalReader::Backlog> by_dest;
              for (const auto& b : *backlogs) by_dest[b.destination] = b;
              std::string depth = metrics::Header("channelhub_queue_depth", "Undelivered events per destination.", "gauge");
              std::string age = metrics::Header("channelhub_queue_oldest_age_seconds",
                                                "Age of the oldest undelivered event per destination (0 when none).",
                                                "gauge");
              const int64_t now = NowUnixMillis();
              for (const auto& [name, d] : cfg.destinations) {
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
          if (master_store) {
            if (auto ms = master_store->Stats(); ms.ok()) {
              counter("channelhub_master_records", "Source records linked in the master customer record.",
                      {{"", static_cast<uint64_t>(ms->records)}}, "gauge");
              counter("channelhub_master_golden_records", "Golden customer records.",
                      {{"", static_cast<uint64_t>(ms->goldens)}}, "gauge");
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
        });
    admin->SetMaster(master_store.get());
    server::ServerOptions ao = so;
    ao.host = cfg.admin.listen.host;
    ao.port = cfg.admin.listen.port;
    ao.threads = 2;
    ao.tls_cert = cfg.admin.tls.cert;
    ao.tls_key = cfg.admin.tls.key;
    ao.tls_client_ca = cfg.admin.tls.client_ca;
    admin_http = std::make_unique<server::HttpServer>(ao, [&admin](server::HttpRequest&& req, server::Reply reply) {
      admin->Handle(std::move(req), std::move(reply));
    });
    if (Status st = admin_http->Start(); !st.ok()) {
      spdlog::critical("admin API: {}", st.message());
      http.Stop(std::chrono::milliseconds(0));
      poller.Stop();
      processor.Stop(false);
      dispatcher.Stop(std::chrono::milliseconds(0));
      return 1;
    }
    spdlog::info("admin API on http://{}/api/v1/ ({} token(s))", admin_http->address(), cfg.admin.tokens.size());
    if (!options.admin_ready_file.empty()) WriteReadyFile(options.admin_ready_file, admin_http->address());
  }
  ingest.SetReady(true);
  spdlog::info("channelhub listening on {}://{} (config {}, journal {}, {} source(s), {} destination(s))",
               cfg.server.tls.enabled() ? "https" : "http", http.address(), cfg.file, jo.path, cfg.sources.size(),
               cfg.destinations.size());
  if (!options.ready_file.empty() && !WriteReadyFile(options.ready_file, http.address())) {
    spdlog::error("cannot write the ready file {}", options.ready_file);
  }

  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    // SIGHUP: certificates renewed on disk are taken for new connections; a bad file keeps the
    // old ones in use.
    for (auto [server, what, on] : {std::tuple{&http, "webhook listener", cfg.server.tls.enabled()},
                                    {admin_http.get(), "admin listener", cfg.admin.tls.enabled()}}) {
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
  ingest.SetReady(false);
  http.Stop(kHttpGrace);
  if (admin_http) admin_http->Stop(std::chrono::seconds(2));
  poller.Stop();
  processor.Stop(/*drain=*/true);
  dispatcher.Stop(kDeliveryDrain);
  j.Shutdown();  // no journal callback may reach the processor or dispatcher after this
  const auto& c = ingest.counters();
  spdlog::info(
      "stopped cleanly: {} accepted, {} duplicates, {} rejected, {} mapped, {} delivered; "
      "journal: {} transactions carried {} writes",
      c.accepted.load(), c.duplicates.load(), c.rejected.load(), processor.processed(),
      dispatcher.delivered(), j.commits(), j.committed_ops());
  return 0;
}

}  // namespace channelhub::cli
