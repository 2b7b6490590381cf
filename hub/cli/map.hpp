// `channelhub map`: tries a mapping file on a sample, or checks mapping files against the
// golden fixtures beside them.
#pragma once

#include <string>

namespace channelhub::cli {

struct MapOptions {
  std::string mapping;     // --mapping FILE
  std::string input;       // --input FILE
  std::string check;       // --check FILE|DIR
  std::string schema_dir;  // --schema-dir DIR; default: the nearest schema/ above the mapping
  std::string direction;   // --direction in|out: must match the file's (a guard for scripts)
};

// Returns the exit code: 0 ok, 1 a mapping run or a fixture failed, 2 a mapping file is invalid.
int Map(const MapOptions& options);

}  // namespace channelhub::cli
