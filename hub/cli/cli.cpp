#include "hub/cli/cli.hpp"
#include "hub/cli/admin_client.hpp"

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <pthread.h>
#include <thread>

#include "hub/cli/map.hpp"
#include "hub/cli/rekey.hpp"
#include "hub/cli/serve.hpp"
#include "hub/config/config.hpp"
#include "spdlog/spdlog.h"

namespace channelhub::cli {

int Main(int argc, char** argv) {
  CLI::App app{"channelhub: the integration gateway for your sales channels"};
  app.require_subcommand(1);
#ifndef CHUB_VERSION_INFO
#define CHUB_VERSION_INFO "0.1.0"
#endif
  app.set_version_flag("--version", std::string("channelhub ") + CHUB_VERSION_INFO);

  ServeOptions serve;
  auto* serve_cmd = app.add_subcommand("serve", "Run the hub: webhooks in, canonical events out");
  serve_cmd->add_option("-c,--config", serve.config_path, "Configuration file (YAML)")->required();
  serve_cmd->add_option("--listen", serve.listen, "Override listen: HOST:PORT (port 0: ephemeral)");
  serve_cmd->add_option("--data-dir", serve.data_dir, "Override data_dir: where the journal lives");
  serve_cmd->add_option("--ready-file", serve.ready_file,
                        "Once listening, write HOST:PORT to this file (for scripts and tests)");
  serve_cmd->add_option("--admin-ready-file", serve.admin_ready_file,
                        "Once the admin API listens, write its HOST:PORT to this file");
  serve_cmd->add_option("--bus-ready-file", serve.bus_ready_file,
                        "Once the event bus is bound, write its endpoint to this file");
  serve_cmd->add_option("--connectors-ready-file", serve.connectors_ready_file,
                        "Once the endpoint for connector processes is bound, write it to this file");
  serve_cmd->add_flag("--bare-endpoint", serve.bare_endpoint,
                      "Also answer POST /_bench/bare with 202 and no journal (benchmark baseline)");

  std::string check_path;
  auto* check_cmd = app.add_subcommand("check", "Check a configuration file and exit");
  check_cmd->add_option("-c,--config", check_path, "Configuration file (YAML)")->required();

  MapOptions map;
  auto* map_cmd = app.add_subcommand(
      "map", "Try a mapping file on a sample payload, or check mapping files against their fixtures");
  map_cmd->add_option("-m,--mapping", map.mapping, "Mapping file (YAML)");
  map_cmd->add_option("-i,--input", map.input, "Sample payload (JSON or XML)");
  map_cmd->add_option("--check", map.check, "A mapping file or a folder of them: run every fixture");
  map_cmd->add_option("--direction", map.direction,
                      "in or out: fail unless the mapping file has this direction")
      ->check(CLI::IsMember({"in", "out"}));
  map_cmd->add_option("--schema-dir", map.schema_dir,
                      "Canonical schemas (default: the nearest schema/ folder above the mapping)");

  std::string plugins_path;
  auto* plugins_cmd = app.add_subcommand("plugins", "List the connectors the configuration's plugins offer");
  plugins_cmd->add_option("-c,--config", plugins_path, "Configuration file (YAML)")->required();

  DlqOptions dlq;
  auto* dlq_cmd = app.add_subcommand(
      "dlq", "Dead letters: events that could not be mapped or delivered (list, show, replay, drop, audit)");
  dlq_cmd->require_subcommand(0, 1);
  auto add_common = [&dlq](CLI::App* c) {
    c->add_option("-c,--config", dlq.config_path, "Configuration file (YAML)");
    c->add_option("--data-dir", dlq.data_dir, "Override data_dir");
  };
  auto add_filter = [&dlq](CLI::App* c) {
    c->add_option("--id", dlq.id, "One dead letter, by the id dlq list shows");
    c->add_option("--destination", dlq.destination, "Those of one destination");
    c->add_option("--source", dlq.source, "Those of one source");
    c->add_option("--stage", dlq.stage, "Those of one stage: mapping, routing or delivery");
  };
  // `channelhub dlq --config FILE` alone lists, as before.
  add_common(dlq_cmd);
  dlq_cmd->add_option("--limit", dlq.limit, "How many at most (oldest first)")->check(CLI::PositiveNumber);
  dlq_cmd->add_flag("--payload", dlq.with_payload, "Include each event's payload");
  auto* dlq_list = dlq_cmd->add_subcommand("list", "List them as JSON lines, oldest first");
  auto* dlq_show = dlq_cmd->add_subcommand("show", "One dead letter with its payload and every delivery attempt");
  auto* dlq_replay = dlq_cmd->add_subcommand(
      "replay", "Send them again: deliveries to their destination (with its current outbound mapping), "
                "mapping failures through the current mapping");
  auto* dlq_drop = dlq_cmd->add_subcommand("drop", "Remove them for good, with a reason in the audit log");
  auto* dlq_audit = dlq_cmd->add_subcommand("audit", "Who replayed or dropped what, and when");
  for (CLI::App* c : {dlq_list, dlq_show, dlq_replay, dlq_drop, dlq_audit}) {
    c->add_option("-c,--config", dlq.config_path, "Configuration file (YAML)");
    c->add_option("--data-dir", dlq.data_dir, "Override data_dir");
    c->add_option("--actor", dlq.actor, "Who does it, for the audit log (default cli:<user>@<host>)");
  }
  dlq_list->add_option("--limit", dlq.limit, "How many at most (oldest first)")->check(CLI::PositiveNumber);
  dlq_list->add_flag("--payload", dlq.with_payload, "Include each event's payload");
  dlq_list->add_option("--destination", dlq.destination, "Only those of one destination");
  dlq_list->add_option("--source", dlq.source, "Only those of one source");
  dlq_show->add_option("--id", dlq.id, "The id dlq list shows")->required();
  add_filter(dlq_replay);
  dlq_replay->add_flag("--all", dlq.all, "Every dead letter");
  add_filter(dlq_drop);
  dlq_drop->add_flag("--all", dlq.all, "Every dead letter");
  dlq_drop->add_option("--reason", dlq.reason, "Why (written to the audit log)")->required();
  dlq_audit->add_option("--limit", dlq.limit, "The last N entries")->check(CLI::PositiveNumber);

  TraceOptions trace;
  auto* trace_cmd = app.add_subcommand(
      "trace", "One event's way through the hub (received, mapped, delivered, with timings), or the latest events");
  trace_cmd->add_option("-c,--config", trace.config_path, "Configuration file (YAML)")->required();
  trace_cmd->add_option("--data-dir", trace.data_dir, "Override data_dir");
  trace_cmd->add_option("--source", trace.source, "The source the event came from");
  trace_cmd->add_option("--event", trace.event_id, "The inbound event id (without it: the latest events)");
  trace_cmd->add_option("--limit", trace.limit, "How many of the latest events")->check(CLI::PositiveNumber);

  ResendOptions resend;
  auto* resend_cmd = app.add_subcommand(
      "resend", "Send processed events again to one destination (a new system, an ERP restored from backup)");
  resend_cmd->add_option("-c,--config", resend.config_path, "Configuration file (YAML)")->required();
  resend_cmd->add_option("--data-dir", resend.data_dir, "Override data_dir");
  resend_cmd->add_option("--destination", resend.destination, "The destination to send them to")->required();
  resend_cmd->add_option("--since", resend.since, "Events created at or after this time (RFC 3339)");
  resend_cmd->add_option("--until", resend.until, "... and before this time (RFC 3339)");
  resend_cmd->add_option("--event", resend.event_ids, "Exactly these CloudEvent ids (repeatable)");
  resend_cmd->add_option("--type", resend.type, "Only this entity (order, customer, stock) or type (order.upserted)");
  resend_cmd->add_option("--source", resend.source, "Only events of this source");
  resend_cmd->add_option("--actor", resend.actor, "Who does it, for the audit log (default cli:<user>@<host>)");

  BackupOptions backup;
  auto* backup_cmd = app.add_subcommand(
      "backup", "Copy the journal and the master record while the hub runs (consistent, checked)");
  backup_cmd->add_option("-c,--config", backup.config_path, "Configuration file (YAML)")->required();
  backup_cmd->add_option("--data-dir", backup.data_dir, "Override data_dir");
  backup_cmd->add_option("--to", backup.to, "The folder to write the copies to")->required();

  RekeyOptions rekey;
  auto* rekey_cmd = app.add_subcommand(
      "rekey", "Seal every stored payload again with the current data key (data_protection), e.g. after a rotation");
  rekey_cmd->add_option("-c,--config", rekey.config_path, "Configuration file (YAML)")->required();
  rekey_cmd->add_option("--data-dir", rekey.data_dir, "Override data_dir");
  rekey_cmd->add_flag("--vacuum", rekey.vacuum, "Then rewrite the files without free pages (stop the hub first)");

  CustomersOptions cust;
  auto* cust_cmd = app.add_subcommand(
      "customers", "The master customer record: show, search, history, reviews, accept, reject, merge, unmerge, audit");
  cust_cmd->require_subcommand(1);
  auto cust_sub = [&](const char* name, const char* help) {
    auto* c = cust_cmd->add_subcommand(name, help);
    c->add_option("-c,--config", cust.config_path, "Configuration file (YAML)")->required();
    c->add_option("--data-dir", cust.data_dir, "Override data_dir");
    c->callback([&cust, name] { cust.action = name; });
    return c;
  };
  auto* c_show = cust_sub("show", "The 360° view of one customer: golden record, origins, linked records, credit, orders");
  c_show->add_option("id", cust.id, "G42, a merged-away id, or a source record as system/id")->required();
  c_show->add_flag("--json", cust.json, "Print the JSON the admin API serves");
  auto* c_search = cust_sub("search", "Find golden records by phone, e-mail, name (prefix), credit code or source id");
  c_search->add_option("--phone", cust.phone, "A phone number in any common format");
  c_search->add_option("--email", cust.email, "An e-mail address");
  c_search->add_option("--name", cust.name, "A name or its beginning");
  c_search->add_option("--credit-code", cust.credit_code, "A unified social credit code");
  c_search->add_option("--source", cust.source, "A source record as system/id");
  c_search->add_option("--limit", cust.limit, "How many at most")->check(CLI::PositiveNumber);
  auto* c_history = cust_sub("history", "Every version of a golden record with its cause");
  c_history->add_option("id", cust.id, "G42 or system/id")->required();
  auto* c_reviews = cust_sub("reviews", "Review items: pairs the matcher was unsure of");
  c_reviews->add_option("--state", cust.state, "open, resolved, accepted, rejected or all")
      ->check(CLI::IsMember({"open", "resolved", "accepted", "rejected", "all"}));
  c_reviews->add_option("--limit", cust.limit, "How many at most")->check(CLI::PositiveNumber);
  for (auto [name, help] : {std::pair{"accept", "Accept a review item: the two records become one customer"},
                            {"reject", "Reject a review item: the two records stay apart for good"}}) {
    auto* c = cust_sub(name, help);
    c->add_option("id", cust.id, "The review item's id")->required();
    c->add_option("--reason", cust.reason, "Why (written to the audit trail)");
    c->add_option("--actor", cust.actor, "Who does it (default cli:<user>@<host>)");
  }
  auto* c_merge = cust_sub("merge", "Merge two golden records into one");
  c_merge->add_option("--into", cust.into, "The golden record that stays")->required();
  c_merge->add_option("--from", cust.from, "The golden record merged into it")->required();
  c_merge->add_option("--reason", cust.reason, "Why (written to the audit trail)")->required();
  c_merge->add_option("--actor", cust.actor, "Who does it (default cli:<user>@<host>)");
  auto* c_unmerge = cust_sub("unmerge", "Split one source record out of its golden record");
  c_unmerge->add_option("--record", cust.record, "The source record as system/id")->required();
  c_unmerge->add_option("--reason", cust.reason, "Why (written to the audit trail)")->required();
  c_unmerge->add_option("--actor", cust.actor, "Who does it (default cli:<user>@<host>)");
  auto* c_erase = cust_sub("erase", "A deletion request (PIPL): remove a person from the master record and the journal");
  c_erase->add_option("id", cust.id, "G42 or a source record as system/id")->required();
  c_erase->add_option("--reason", cust.reason, "The request's reference (written to the audit trail)")->required();
  c_erase->add_option("--actor", cust.actor, "Who does it (default cli:<user>@<host>)");
  auto* c_audit = cust_sub("audit", "Who merged, unmerged, erased or decided what, and when");
  c_audit->add_option("--limit", cust.limit, "The last N entries")->check(CLI::PositiveNumber);

  AdminClientOptions admin;
  auto* admin_cmd = app.add_subcommand(
      "admin", "Talk to a running hub's admin API (status, events, trace, dlq, customers, config check/reload, "
               "log-level): `channelhub admin --config FILE status`");
  admin_cmd->add_option("-c,--config", admin.config_path, "Configuration file: the admin API's address is read from it");
  admin_cmd->add_option("--url", admin.url, "The admin API, like http://127.0.0.1:8081 (or CHANNELHUB_ADMIN_URL)");
  admin_cmd->add_option("--token-file", admin.token_file, "A file holding the token (or set CHANNELHUB_TOKEN)");
  admin_cmd->add_option("--ca", admin.ca, "A PEM file to trust for an https admin listener");
  admin_cmd->add_option("--timeout-ms", admin.timeout_ms, "How long to wait for the answer")->check(CLI::PositiveNumber);
  admin_cmd->add_option("words", admin.words,
                        "status | metrics | audit | events | trace SOURCE ID | dlq [show ID|replay|drop] | resend | "
                        "customers [show ID|history ID|reviews|merge|unmerge|erase] | config check|reload | "
                        "log-level LEVEL | get PATH | post PATH; then key=value pairs");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  try {
    if (*serve_cmd) return Serve(serve);
    if (*check_cmd) return Check(check_path);
    if (*plugins_cmd) return ListPlugins(plugins_path);
    if (*resend_cmd) return Resend(resend);
    if (*trace_cmd) return Trace(trace);
    if (*dlq_cmd) {
      for (auto [cmd, action] : {std::pair{dlq_list, "list"}, {dlq_show, "show"}, {dlq_replay, "replay"},
                                 {dlq_drop, "drop"}, {dlq_audit, "audit"}}) {
        if (*cmd) dlq.action = action;
      }
      if (dlq.config_path.empty()) {
        std::fprintf(stderr, "channelhub: dlq %s needs --config FILE\n", dlq.action.c_str());
        return 2;
      }
      return DeadLetters(dlq);
    }
    if (*map_cmd) return Map(map);
    if (*cust_cmd) return Customers(cust);
    if (*backup_cmd) return Backup(backup);
    if (*rekey_cmd) return Rekey(rekey);
    if (*admin_cmd) return AdminClient(admin);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "channelhub: fatal: %s\n", e.what());
    return 1;
  }
  return 2;
}

}  // namespace channelhub::cli
