// The shipped inbound mappings (mappings/<family>/*.to_canon.yaml) of one format, loaded once for
// the mapping fuzz targets. A shipped mapping that does not load is a bug: the target traps.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "hub/mapping/engine.hpp"

namespace channelhub::fuzz {

inline std::vector<std::shared_ptr<const mapping::CompiledMapping>> LoadInboundMappings(bool xml) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(CHUB_SOURCE_DIR) / "mappings";
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || !name.ends_with(".to_canon.yaml")) continue;
    std::ifstream in(e.path());
    bool is_xml = false;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("format: xml", 0) == 0) is_xml = true;
    }
    if (is_xml == xml) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());  // the same order on every run
  std::vector<std::shared_ptr<const mapping::CompiledMapping>> out;
  for (const fs::path& f : files) {
    auto loaded = mapping::LoadMapping(f.string(), (root / "schema").string());
    if (!loaded.mapping) __builtin_trap();
    out.push_back(std::move(loaded.mapping));
  }
  if (out.empty()) __builtin_trap();
  return out;
}

}  // namespace channelhub::fuzz
