#include "hub/pipeline/router.hpp"

#include <algorithm>

namespace channelhub::pipeline {

Router::Router(const config::Config& config) : routes_(config.routes), master_(config.master_destination) {
  for (const auto& [name, d] : config.destinations) systems_[name] = d.system;
}

std::vector<std::string> Router::Destinations(const std::string& source, const std::string& type,
                                              const std::string& origin_system) const {
  std::vector<std::string> out;
  for (const auto& r : routes_) {
    bool from = std::any_of(r.from.begin(), r.from.end(),
                            [&](const std::string& f) { return f == "*" || f == source; });
    if (!from) continue;
    bool typed = std::any_of(r.types.begin(), r.types.end(),
                             [&](const std::string& p) { return config::TypeMatches(p, type); });
    if (!typed) continue;
    for (const auto& d : r.to) {
      if (!master_.empty() && d == master_ && source == "master") continue;  // no loop through the master
      if (!origin_system.empty()) {
        auto it = systems_.find(d);
        if (it != systems_.end() && it->second == origin_system) continue;  // no echo to its origin
      }
      if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
    }
  }
  return out;
}

}  // namespace channelhub::pipeline
