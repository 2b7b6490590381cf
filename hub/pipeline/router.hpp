// The router: which destinations receive an event, from the configured routes.
#pragma once

#include <string>
#include <vector>

#include "hub/config/config.hpp"

namespace channelhub::pipeline {

// Immutable after construction; safe to use from any thread.
class Router {
 public:
  explicit Router(const std::vector<config::RouteConfig>& routes) : routes_(routes) {}

  // The destinations, each once, in the order routes name them, for an event of "type"
  // (full CloudEvents type) from "source".
  std::vector<std::string> Destinations(const std::string& source, const std::string& type) const;

 private:
  std::vector<config::RouteConfig> routes_;
};

}  // namespace channelhub::pipeline
