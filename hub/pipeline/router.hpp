// The router: which destinations receive an event, from the configured routes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "hub/config/config.hpp"

namespace channelhub::pipeline {

// Immutable after construction; safe to use from any thread.
class Router {
 public:
  explicit Router(const std::vector<config::RouteConfig>& routes) : routes_(routes) {}
  // With the destinations' systems: golden-record changes are not echoed to the system that
  // caused them, and never go back to the master record.
  explicit Router(const config::Config& config);

  // The destinations, each once, in the order routes name them, for an event of "type"
  // (full CloudEvents type) from "source". "origin_system": the system whose record caused a
  // golden-record change; destinations writing to that system are left out.
  std::vector<std::string> Destinations(const std::string& source, const std::string& type,
                                        const std::string& origin_system = "") const;

 private:
  std::vector<config::RouteConfig> routes_;
  std::map<std::string, std::string> systems_;  // destination -> system
  std::string master_;                          // the master destination, if any
};

}  // namespace channelhub::pipeline
