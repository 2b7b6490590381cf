// `channelhub serve` and `channelhub check`.
#pragma once

#include <optional>
#include <string>

namespace channelhub::cli {

struct ServeOptions {
  std::string config_path;
  std::optional<std::string> listen;
  std::optional<std::string> data_dir;
  std::string ready_file;
  bool bare_endpoint = false;
};

// Runs until SIGTERM or SIGINT; returns the exit code (0 after a clean stop, 2 for a bad
// configuration, 1 when the hub cannot start).
int Serve(const ServeOptions& options);

struct DlqOptions {
  std::string config_path;
  std::optional<std::string> data_dir;
  std::size_t limit = 100;
  bool with_payload = false;
};

// Prints the dead letters as JSON lines, oldest first.
int ListDeadLetters(const DlqOptions& options);

// Loads and checks a configuration; prints every problem as "file:line:column: key: message".
int Check(const std::string& config_path);

// Loads the configuration's plugins and lists their connectors: name, capabilities, plugin and
// version, file, and the settings each reads.
int ListPlugins(const std::string& config_path);

}  // namespace channelhub::cli
