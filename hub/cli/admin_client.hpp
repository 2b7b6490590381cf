// `channelhub admin …`: the admin API from the command line (hub/cli/admin_client.cpp).
#pragma once

#include <string>
#include <vector>

namespace channelhub::cli {

struct AdminClientOptions {
  std::string config_path;  // where admin.listen is read from, when no --url
  std::string url;          // the admin listener, e.g. http://127.0.0.1:8081
  std::string token_file;   // else CHANNELHUB_TOKEN
  std::string ca;           // a PEM file trusted for an https admin listener
  int timeout_ms = 30000;
  std::vector<std::string> words;  // the command and its arguments
};

// Sends the request the words name and prints the answer (JSON indented). 0 on a 2xx answer,
// 1 on another answer or a network failure, 2 on a usage error.
int AdminClient(const AdminClientOptions& options);

}  // namespace channelhub::cli
