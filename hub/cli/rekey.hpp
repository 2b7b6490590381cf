// `channelhub rekey`: seals every stored payload again with the current data key, so that an
// older key can leave data_protection.previous_key_files (see SECURITY.md, "Encryption at rest").
#pragma once

#include <optional>
#include <string>

namespace channelhub::cli {

struct RekeyOptions {
  std::string config_path;
  std::optional<std::string> data_dir;
  bool vacuum = false;  // then VACUUM both files (the hub must be stopped)
};

int Rekey(const RekeyOptions& options);

}  // namespace channelhub::cli
