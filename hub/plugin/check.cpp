#include "hub/plugin/check.hpp"

#include <algorithm>

#include "hub/config/text.hpp"

namespace channelhub::plugin {
namespace {

using config::Diagnostic;

std::map<std::string, std::string> Values(const std::map<std::string, config::Setting>& settings,
                                          const std::string& url) {
  std::map<std::string, std::string> out;
  for (const auto& [k, s] : settings) out[k] = s.value;
  if (!url.empty()) out["url"] = url;  // the hub hands the system's address to the connector
  return out;
}

class Checker {
 public:
  Checker(const config::Config& c, Connectors* out, std::shared_ptr<RemoteLink> link)
      : c_(c), out_(out), link_(std::move(link)) {}

  std::vector<Diagnostic> Run() {
    const bool any = std::any_of(c_.sources.begin(), c_.sources.end(), [](const auto& s) { return !s.second.builtin(); }) ||
                     std::any_of(c_.destinations.begin(), c_.destinations.end(), [](const auto& d) {
                       return d.second.type == config::DestinationConfig::Type::kConnector;
                     });
    if (c_.plugins.empty()) {
      out_->registry = Registry::Empty();
    } else {
      auto reg = Registry::Load(c_.plugins);
      if (!reg.ok()) {
        diags_.push_back({c_.file, c_.plugins_line, 1, "plugins", reg.status().message()});
        return std::move(diags_);
      }
      out_->registry = std::move(reg).value();
    }
    if (!c_.remote.connectors.empty()) {
      std::vector<ConnectorInfo> infos;
      for (const auto& d : c_.remote.connectors) {
        ConnectorInfo info;
        info.name = d.name;
        info.description = d.description;
        for (const auto& cap : d.can) {
          info.capabilities |= cap == "inbound" ? kInbound : cap == "outbound" ? kOutbound : cap == "poll" ? kPoll : kToken;
        }
        info.settings = d.settings;
        info.plugin = "remote";
        info.plugin_version = "-";
        info.file = "remote: " + c_.remote.endpoint;
        infos.push_back(std::move(info));
      }
      if (Status st = out_->registry->AddRemote(infos, link_); !st.ok()) {
        diags_.push_back({c_.file, c_.remote.line, 1, "remote_connectors.connectors", st.message()});
        return std::move(diags_);
      }
    }
    if (!any) return std::move(diags_);
    for (const auto& [name, s] : c_.sources) {
      if (s.builtin()) continue;
      const std::string key = "sources." + name;
      const ConnectorInfo* info = Connector(s.connector, key, s.connector_line, s.connector_column);
      if (!info) continue;
      if (s.poll.enabled && !(info->capabilities & kPoll)) {
        Add(s.connector_line, s.connector_column, key + ".poll",
            "connector " + s.connector + " cannot poll (it can: " + CapabilityNames(info->capabilities) +
                "); remove poll: to take its webhooks");
        continue;
      }
      if (!s.poll.enabled && !(info->capabilities & kInbound)) {
        Add(s.connector_line, s.connector_column, key + ".connector",
            "connector " + s.connector + " takes no webhooks (it can: " + CapabilityNames(info->capabilities) +
                ")" + (info->capabilities & kPoll ? "; add poll: { interval: 1m } and url: to pull from it" : ""));
        continue;
      }
      if (!Settings(*info, s.settings, key)) continue;
      auto inst = Instance::Create(*out_->registry, s.connector, Values(s.settings, s.url), key);
      if (!inst.ok()) {
        Add(s.connector_line, s.connector_column, key + ".settings", inst.status().message());
        continue;
      }
      out_->sources[name] = std::move(inst).value();
    }
    for (const auto& [name, d] : c_.destinations) {
      if (d.type != config::DestinationConfig::Type::kConnector || d.connector.empty()) continue;
      const std::string key = "destinations." + name;
      const ConnectorInfo* info = Connector(d.connector, key, d.connector_line, d.connector_column);
      if (!info) continue;
      if (!(info->capabilities & kOutbound)) {
        Add(d.connector_line, d.connector_column, key + ".connector",
            "connector " + d.connector + " cannot deliver (it can: " + CapabilityNames(info->capabilities) + ")");
        continue;
      }
      if (!Settings(*info, d.settings, key)) continue;
      auto inst = Instance::Create(*out_->registry, d.connector, Values(d.settings, d.url), key);
      if (!inst.ok()) {
        Add(d.connector_line, d.connector_column, key + ".settings", inst.status().message());
        continue;
      }
      out_->destinations[name] = std::move(inst).value();
    }
    return std::move(diags_);
  }

 private:
  void Add(int line, int column, std::string key, std::string message) {
    diags_.push_back({c_.file, line, column, std::move(key), std::move(message)});
  }

  const ConnectorInfo* Connector(const std::string& name, const std::string& key, int line, int column) {
    if (const ConnectorInfo* info = out_->registry->Find(name)) return info;
    std::vector<std::string> names = out_->registry->Names();
    names.push_back("generic");
    std::string msg = "no loaded plugin offers connector \"" + name + "\"" + config::detail::DidYouMean(name, names);
    if (c_.plugins.empty()) {
      msg += " (no plugins are loaded: list them under plugins:, like plugins: [./build/plugins], or declare "
             "a connector process under remote_connectors:)";
    } else {
      msg += " (known: " + config::detail::Join(names) + ")";
    }
    Add(line, column, key + ".connector", msg);
    return nullptr;
  }

  bool Settings(const ConnectorInfo& info, const std::map<std::string, config::Setting>& settings,
                const std::string& key) {
    bool ok = true;
    for (const auto& [k, s] : settings) {
      if (std::find(info.settings.begin(), info.settings.end(), k) != info.settings.end()) continue;
      if (k == "url") {
        Add(s.line, s.column, key + ".settings.url", "url is written beside settings:, not inside it");
        ok = false;
        continue;
      }
      Add(s.line, s.column, key + ".settings." + k,
          "connector " + info.name + " has no setting \"" + k + "\"" + config::detail::DidYouMean(k, info.settings) +
              " (it reads: " + config::detail::Join(info.settings) + ")");
      ok = false;
    }
    return ok;
  }

  const config::Config& c_;
  Connectors* out_;
  std::shared_ptr<RemoteLink> link_;
  std::vector<Diagnostic> diags_;
};

}  // namespace

std::vector<config::Diagnostic> LoadConnectors(const config::Config& config, Connectors* out,
                                               std::shared_ptr<RemoteLink> link) {
  return Checker(config, out, std::move(link)).Run();
}

}  // namespace channelhub::plugin
