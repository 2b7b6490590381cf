// Typed hub configuration. Built once by LoadConfig() from one YAML file, checked completely, then
// immutable: the per-event path only ever sees a const Config.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hub/common/seal.hpp"
#include "hub/common/status.hpp"

namespace channelhub::config {

using Millis = std::chrono::milliseconds;

// One problem found in a configuration file: "hub.yaml:12:5: sources.webshop.auth.secret: message".
struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
  std::string key; // dotted path of the key, e.g. "destinations.erp.retry.initial"
  std::string message;  // says what was found and what was expected

  // "file:line:column: key: message". The position is left out when line is 0 ("file: key:
  // message", e.g. for a file that cannot be read or a command-line override) and "key: " when the
  // problem is not about one key (a YAML syntax error).
  std::string ToString() const;
};

struct ListenAddress {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 = an ephemeral port (tests)
};

// TLS for a listener: a PEM certificate chain and its key; with client_ca, clients must present a
// certificate signed by it (mutual TLS, for dealer systems).
struct TlsSettings {
  std::string cert;
  std::string key;
  std::string client_ca;
  bool enabled() const { return !cert.empty(); }
};

struct ServerSettings {
  ListenAddress listen;
  TlsSettings tls;
  int threads = 0;                     // 0 = number of cores
  std::size_t body_limit = 1 << 20;    // bytes of one request body; larger is answered 413
  Millis read_timeout{10000};          // for reading one request (header and body)
  Millis idle_timeout{60000};          // keep-alive: how long an idle connection stays open
  std::size_t max_connections = 1024;  // beyond this, new connections are closed at once
  std::size_t max_connections_per_client = 256;  // from one IP address
  std::size_t header_limit = 16 * 1024;  // bytes of a request's start line and headers; larger is answered 431
  std::size_t max_headers = 100;         // header fields in one request; more are answered 431
  // Inbound XML (webhook bodies, connector payloads, mapping input): element nesting, and
  // elements + attributes + text nodes of one document. Beyond either the body is refused (400).
  std::size_t xml_max_depth = 256;
  std::size_t xml_max_nodes = 200000;
};

struct JournalSettings {
  std::size_t max_batch = 512;       // appends that share one transaction at most
  std::size_t queue_limit = 10000;   // appends waiting for the writer; beyond: 503 + Retry-After
  bool synchronous_full = true;      // true: fsync on every commit (durable across power loss)
  // Undelivered events (inbox not yet mapped plus outbox not yet delivered) beyond which
  // webhooks are answered 503 with Retry-After: the disk never fills because an ERP is down.
  std::size_t backlog_limit = 1000000;
};

struct SourceAuth {
  enum class Kind { kNone, kBearer, kHmacSha256 };
  enum class Encoding { kHex, kBase64 };
  Kind kind = Kind::kNone;
  std::string token_sha256;  // kBearer: hex SHA-256 of the expected token (the token itself is not kept)
  std::string secret;   // kHmacSha256: the key (resolved secret)
  std::string header;   // kHmacSha256: the header carrying the signature, e.g. X-Shopify-Hmac-Sha256
  Encoding encoding = Encoding::kHex;
  std::string prefix;   // kHmacSha256: a prefix stripped from the header value, e.g. "sha256="
  // kHmacSha256 with a timestamp: the signature covers "<timestamp>.<body>", the timestamp (Unix
  // seconds) comes from this header and must be within "window" of now, and a signature is
  // accepted once within the window (replays are refused).
  std::string timestamp_header;
  Millis window{300000};
};

// One value of a connector's "settings:" map, with where it was written (for checks that run
// once the plugins are loaded).
struct Setting {
  std::string value;    // after ${env:...} / ${file:...} substitution
  bool secret = false;  // came from ${env:...} or ${file:...}: never shown
  int line = 0;
  int column = 0;
};

// A source's rate limit (a token bucket): beyond "rate" requests per second, with bursts of up
// to "burst", webhooks are answered 429 with Retry-After. rate 0: no limit.
struct RateLimit {
  double rate = 0;
  int burst = 0;
};

// A source whose connector pulls from a system instead of waiting for webhooks.
struct PollSettings {
  bool enabled = false;
  Millis interval{60000};  // between polls when nothing more is waiting
  Millis timeout{30000};   // one request, connect to last byte
};

struct SourceConfig {
  std::string name;           // the key under sources:, also the URL: POST /webhooks/<name>
  std::string connector;      // e.g. "shopify", "generic"
  std::string mapping;        // mapping reference, e.g. "builtin:shopify.order", or a file
                              // relative to mappings_dir; "" when mapping_by_kind is used
  // mapping: as a list or a map: payload kind (the topic header, or an XML payload's root
  // element) -> the mappings whose events are all emitted; "*" for every other kind.
  std::map<std::string, std::vector<std::string>> mapping_by_kind;
  SourceAuth auth;
  std::string event_id_header;  // take the event id from this header (e.g. X-Shopify-Event-Id)
  std::string event_id_field;   // or from this JSON Pointer into the body (e.g. /id)
  // Plugin connectors (any connector but "generic"): their settings, the system's URL (for
  // polling) and the polling schedule.
  std::map<std::string, Setting> settings;
  std::string url;
  PollSettings poll;
  RateLimit rate_limit;
  // Only these addresses may post (empty: any): "10.0.0.0/8", "203.0.113.7", "2001:db8::/32".
  std::vector<std::string> allow_from;
  int line = 0;                 // where the source is declared in the file
  int connector_line = 0;       // where connector: is written (0 when defaulted)
  int connector_column = 0;

  bool builtin() const { return connector == "generic"; }
};

struct RetryPolicy {
  Millis initial{1000};
  Millis max{600000};
  Millis max_age{86400000};  // after this age an undelivered event goes to the dead letters
  double multiplier = 2.0;
  int max_attempts = 0;      // after this many failed attempts too (0: no limit but max_age)
};


// The circuit breaker of a destination: after "failures" attempts in a row that fail for the
// destination's own reasons (unreachable, 5xx, timeouts), no attempt is made for "open_for";
// then one probe decides whether it closes (success) or stays open.
struct BreakerPolicy {
  int failures = 5;
  Millis open_for{30000};
};

// How an outbound HTTPS connection checks the system it talks to. By default: the system's trust
// store and the host name.
struct OutboundTls {
  std::string ca;  // a PEM file of CA certificates trusted in addition (an in-house CA)
  // Lab systems with self-signed certificates only: no verification at all. Logged loudly at
  // every start.
  bool insecure_skip_verify = false;
};

struct DestinationConfig {
  // kMaster: the master customer record (hub/master) — customer and order events routed here
  // are matched into golden records; see MasterSettings.
  enum class Type { kFile, kHttp, kConnector, kMaster };
  std::string name;
  Type type = Type::kFile;
  // The system this destination writes to ("kingdee"), compared with the source.system of
  // canonical customers: a golden-record change caused by a record from that system is not sent
  // back to it (no echo, no loop between two systems). Default: the connector's name for
  // connector destinations, else the destination's name.
  std::string system;
  std::string path;                              // kFile: JSON-lines file (created with its dirs)
  std::string url;                               // kHttp: http:// or https:// URL
  std::map<std::string, std::string> headers;    // kHttp: extra request headers (resolved)
  OutboundTls tls;                               // kHttp, kConnector: https:// peers
  Millis timeout{10000};                         // kHttp: one attempt, connect to last byte
  // kHttp: an outbound mapping file (relative to mappings_dir): the body becomes the mapped
  // payload in the destination's own format instead of the CloudEvent. "" = CloudEvents.
  std::string mapping;
  // kConnector: a plugin connector builds the requests (to url) and judges the answers.
  std::string connector;
  std::map<std::string, Setting> settings;
  RetryPolicy retry;
  BreakerPolicy breaker;
  // Events of different subjects in flight at once (http and connector destinations); events of
  // one subject always go one after the other, in order.
  int concurrency = 4;
  int line = 0;
  int connector_line = 0;
  int connector_column = 0;
};

struct RouteConfig {
  std::vector<std::string> from;   // source names, or "*"
  std::vector<std::string> types;  // event type patterns without the "com.channelhub." prefix:
                                   // "order.*", "customer.upserted", "*"
  std::vector<std::string> to;     // destination names
  int line = 0;
};

// The admin API (/api/v1/...): its own listener, and who may use it. Tokens are kept as SHA-256
// hashes once loaded; a request names itself with "Authorization: Bearer <token>".
struct AdminToken {
  std::string name;    // who, for the audit log ("ops-anna")
  std::string sha256;  // hex SHA-256 of the token
  enum class Role { kViewer, kOperator, kAdmin } role = Role::kViewer;
};

struct AdminSettings {
  bool enabled = false;
  ListenAddress listen{"127.0.0.1", 8081};
  TlsSettings tls;
  std::vector<AdminToken> tokens;
};

// The master customer record (`master:`): how records are matched and how golden attributes
// are chosen. Everything has a default; the section is optional even with a master destination.
struct MatchComparisonSetting {
  std::string method;  // exact, jaro_winkler, edit, name; "" = the comparison's default
  std::vector<std::pair<double, double>> levels;  // (min similarity, weight), highest first; empty = default
  std::optional<double> else_weight;
};
struct SurvivorshipSetting {
  // source_priority, most_recent, most_frequent, non_empty (the value of the oldest linked record
  // that has one), union (lists: every value of every record)
  std::string rule;
  std::vector<std::string> sources;  // source_priority: systems, most trusted first
};
struct MasterSettings {
  std::string path;  // the master database; default ${data_dir}/master.db
  std::optional<double> match_threshold;
  std::optional<double> review_threshold;
  // Deterministic keys by name (credit_code_conflict, same_credit_code, same_unionid,
  // same_external_userid) -> on/off; absent = on.
  std::map<std::string, bool> deterministic;
  // Weighted comparisons by name (name, mobile, email, address, city, district, postcode,
  // credit_code, wecom_unionid, wecom_external_userid); absent = the built-in defaults.
  std::map<std::string, MatchComparisonSetting> comparisons;
  std::vector<std::vector<std::string>> blocking;  // empty = the built-in defaults
  std::string default_rule = "most_recent";
  // By golden attribute: kind, name, mobiles, emails, wecom, credit_code, addresses, region,
  // tier, credit, tags.
  std::map<std::string, SurvivorshipSetting> survivorship;
  std::string wecom_corp;  // the WeCom corp id customers' WeCom ids belong to ("" = one corp)
};

// Out-of-process connectors (`remote_connectors:`): connector processes in any language link to
// the hub over ZeroMQ (a ROUTER bound at "endpoint"; plugins/REMOTE.md). Each is declared here
// so that the configuration can be checked while they are not running.
struct RemoteConnectorDecl {
  std::string name;
  std::string description;
  std::vector<std::string> can;       // inbound, outbound, poll, token
  std::vector<std::string> settings;  // the keys it reads
  int line = 0;
  int column = 0;
};
struct RemoteConnectorsSettings {
  std::string endpoint;  // "" = none
  std::chrono::milliseconds call_timeout{10000};
  std::chrono::milliseconds heartbeat_timeout{3000};
  std::vector<RemoteConnectorDecl> connectors;
  int line = 0;
};

// Encryption at rest (`data_protection:`): journal payloads and the master record's customer data
// are sealed with AES-256-GCM (hub/common/seal.hpp). Absent: nothing is encrypted. Each file holds
// one key as 64 hex digits (`openssl rand -hex 32`) and must not be readable by every user.
struct DataProtection {
  std::string key_file;                         // seals new data; also opens it
  std::vector<std::string> previous_key_files;  // open older data only (until `channelhub rekey`)
  std::shared_ptr<const seal::Keyring> keyring;  // the keys, loaded and checked; null when off
  bool enabled() const { return keyring != nullptr; }
};

struct Config {
  std::string file;      // the path it was loaded from
  std::string data_dir;  // absolute or relative to the working directory
  // Where mapping files named by sources.<name>.mapping live (their canonical schemas in
  // <mappings_dir>/schema); absolute or relative to the working directory.
  std::string mappings_dir = "mappings";
  ServerSettings server;
  JournalSettings journal;
  AdminSettings admin;
  // bus.publish: the ZeroMQ endpoint every canonical event is published on ("" = no bus).
  std::string bus_publish;
  RemoteConnectorsSettings remote;
  std::string log_level = "info";
  std::string log_format = "text";  // text, or json (one JSON object per line)
  // Plugin files or folders of them (relative to the working directory), loaded before use.
  std::vector<std::string> plugins;
  int plugins_line = 0;
  std::map<std::string, SourceConfig> sources;
  std::map<std::string, DestinationConfig> destinations;
  std::vector<RouteConfig> routes;
  MasterSettings master;
  DataProtection data_protection;
  // The destination of type master, "" when there is none.
  std::string master_destination;
};

struct LoadResult {
  std::optional<Config> config;          // set when diagnostics is empty
  std::vector<Diagnostic> diagnostics;   // every problem found, in file order
};

// Overrides given on the command line; they replace the file's values before the check.
struct Overrides {
  std::optional<std::string> listen;    // "HOST:PORT"
  std::optional<std::string> data_dir;
};

// Loads and checks "path". Never throws. Every problem is reported, not only the first.
LoadResult LoadConfig(const std::string& path, const Overrides& overrides = {});

// True when "type" (e.g. "com.channelhub.order.upserted") matches "pattern" ("order.*").
// "*" alone matches every type. Otherwise the pattern is matched, part by part, against the type
// without its "com.channelhub." prefix: a "*" part matches any one part, and a "*" at the end any
// one or more parts ("customer.*" matches "com.channelhub.customer.golden.updated"). Does not
// allocate; safe to call from any thread.
bool TypeMatches(const std::string& pattern, const std::string& type);

// The value parsers LoadConfig uses, for the CLI and for tests. On failure they return
// InvalidArgument whose message is the one a configuration diagnostic shows, e.g.
// `expected a duration like 500ms, 10s, 5m, 1h; got "10 seconds"`.

// A duration: one or more parts of a whole number and a unit, ms, s, m, h or d ("500ms", "10s",
// "1h30m"); a bare "0" is zero. Negative values, fractions and numbers without a unit are refused.
Result<Millis> ParseDuration(std::string_view text);

// A duration in the shortest form ParseDuration reads back: "1h30m", "500ms", "0s".
std::string FormatDuration(Millis duration);

// A size in bytes: a whole number of bytes ("1048576"), or a whole number with one unit: B,
// KB (1000), KiB (1024), MB (1000^2), MiB (1024^2), e.g. "1MiB", "512KB".
Result<std::size_t> ParseSize(std::string_view text);

// "HOST:PORT": "127.0.0.1:8080", "localhost:0", "[::1]:8080" (the host is kept without brackets).
// Port 0 asks for an ephemeral port.
Result<ListenAddress> ParseListenAddress(std::string_view text);

}  // namespace channelhub::config
