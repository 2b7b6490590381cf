// `channelhub serve` and `channelhub check`.
#pragma once

#include <cstdint>
#include <vector>

#include "hub/config/config.hpp"

#include <optional>
#include <string>

namespace channelhub::cli {

struct ServeOptions {
  std::string config_path;
  std::optional<std::string> listen;
  std::optional<std::string> data_dir;
  std::string ready_file;
  std::string admin_ready_file;  // once the admin API listens, HOST:PORT goes here
  std::string bus_ready_file;    // once the event bus is bound, its endpoint goes here
  std::string connectors_ready_file;  // once remote_connectors.endpoint is bound, its endpoint goes here
  bool bare_endpoint = false;
};

// Runs until SIGTERM or SIGINT; returns the exit code (0 after a clean stop, 2 for a bad
// configuration, 1 when the hub cannot start).
int Serve(const ServeOptions& options);

struct DlqOptions {
  std::string action = "list";  // list, show, replay, drop, audit
  std::string config_path;
  std::optional<std::string> data_dir;
  std::size_t limit = 100;
  bool with_payload = false;
  // replay / drop / show: which dead letters.
  std::optional<int64_t> id;
  std::string destination;
  std::string source;
  std::string stage;
  bool all = false;
  std::string reason;  // drop: why (goes to the audit log)
  std::string actor;   // who, for the audit log; default: cli:<user>@<host>
};

// `channelhub dlq ...`: lists the dead letters as JSON lines (oldest first), shows one with its
// attempts, replays or drops a filtered set (audited), or prints the audit log.
int DeadLetters(const DlqOptions& options);

struct CustomersOptions {
  std::string action;  // show, search, history, reviews, accept, reject, merge, unmerge, audit
  std::string config_path;
  std::optional<std::string> data_dir;
  std::string id;  // show, history: G42, a merged-away id or system/id; accept/reject: the review id
  std::string phone, email, name, credit_code, source;  // search
  std::string state = "open";                           // reviews
  std::string into, from;                               // merge
  std::string record;                                   // unmerge: system/id
  std::string reason;
  std::string actor;
  bool json = false;  // show: the JSON of the admin API instead of the terminal layout
  std::size_t limit = 20;
};

// `channelhub customers ...`: the master customer record from a terminal (the same store the
// admin API serves; changes are audited and sent on by the running hub within a second).
int Customers(const CustomersOptions& options);

struct ResendOptions {
  std::string config_path;
  std::optional<std::string> data_dir;
  std::string destination;
  std::string since;  // RFC 3339
  std::string until;
  std::vector<std::string> event_ids;
  std::string type;   // "order", "customer", "stock" or a full "order.upserted"
  std::string source;
  std::string actor;
};

// `channelhub resend`: queues already processed events again for one destination (re-sync).
int Resend(const ResendOptions& options);

struct BackupOptions {
  std::string config_path;
  std::optional<std::string> data_dir;
  std::string to;  // the folder the copies go to
};

// `channelhub backup`: consistent, checked copies of the journal and the master record, made
// while the hub runs.
int Backup(const BackupOptions& options);

struct TraceOptions {
  std::string config_path;
  std::optional<std::string> data_dir;
  std::string source;
  std::string event_id;  // "" = list the latest events instead
  std::size_t limit = 20;
};

// `channelhub trace`: one inbound event's way through the hub (received, mapped, delivered per
// destination, with timings), or the latest events when no id is given.
int Trace(const TraceOptions& options);

// Prints configuration problems and the closing line.
void PrintDiagnostics(const std::vector<config::Diagnostic>& diags);

// The configuration for a command that works on the data directory ("data_dir" overrides the
// file's), or nullopt after printing its problems.
std::optional<config::Config> LoadForCommand(const std::string& config_path, const std::optional<std::string>& data_dir);

// Loads and checks a configuration; prints every problem as "file:line:column: key: message".
int Check(const std::string& config_path);

// Loads the configuration's plugins and lists their connectors: name, capabilities, plugin and
// version, file, and the settings each reads.
int ListPlugins(const std::string& config_path);

}  // namespace channelhub::cli
