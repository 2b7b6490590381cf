// Checks a loaded configuration against the plugins it names, and creates the connector
// instances the hub runs with. `channelhub check` and `channelhub serve` both go through here,
// so a configuration that checks is one that starts.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hub/config/config.hpp"
#include "hub/plugin/plugin_host.hpp"

namespace channelhub::plugin {

struct Connectors {
  std::unique_ptr<Registry> registry;
  std::map<std::string, std::shared_ptr<Instance>> sources;       // by source name
  std::map<std::string, std::shared_ptr<Instance>> destinations;  // by destination name
};

// Loads config.plugins and, for every source or destination that uses a plugin connector:
// that a loaded plugin offers it (with "did you mean"), that it can do what the entry asks
// (take webhooks, poll, deliver), that every setting is one the connector reads, and that the
// connector accepts its settings. Every problem is a diagnostic with the file, line and key.
// The out-of-process connectors the configuration declares (remote_connectors:) are added to the
// registry; their instances call them through "link" (null under `channelhub check`).
std::vector<config::Diagnostic> LoadConnectors(const config::Config& config, Connectors* out,
                                               std::shared_ptr<RemoteLink> link = nullptr);

}  // namespace channelhub::plugin
