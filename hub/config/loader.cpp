// LoadConfig: reads one YAML file into a Config, checking every value and collecting every problem
// as a Diagnostic with file, line, column and dotted key.
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <utility>

#include "hub/common/ids.hpp"
#include "hub/common/ip_range.hpp"
#include "hub/config/config.hpp"
#include "hub/config/secrets.hpp"
#include "hub/config/text.hpp"
#include "hub/config/yaml_reader.hpp"

namespace channelhub::config {

namespace {

using detail::ChildKey;
using detail::Describe;
using detail::DiagnosticSink;
using detail::DidYouMean;
using detail::Join;
using detail::MapReader;
using detail::NamedValue;
using detail::Position;
using detail::Quote;
using detail::Value;

constexpr std::size_t kMaxConfigBytes = 4 << 20;
constexpr std::size_t kMaxNameLength = 64;

// The mappings this build knows (channelhub::mapping::KnownMappers()); kept here so that the config
// library does not link the mapping engine.
const std::vector<std::string> kBuiltinMappings = {
    "builtin:canonical.customer", "builtin:canonical.order", "builtin:shopify.order"};
const std::vector<std::string> kLogLevels = {"trace", "debug", "info", "warn", "error"};
const std::vector<std::string> kAuthTypes = {"none", "bearer", "hmac_sha256"};
const std::vector<std::string> kEncodings = {"hex", "base64"};
const std::vector<std::string> kDestinationTypes = {"file", "http", "connector", "master"};
// Golden-record changes are journaled as events of this source (routes: from: [master]).
constexpr std::string_view kMasterSource = "master";
const std::vector<std::string> kMasterComparisons = {"name", "mobile", "email", "address", "city", "district",
                                                     "postcode", "credit_code", "wecom_unionid",
                                                     "wecom_external_userid"};
const std::vector<std::string> kMasterDeterministic = {"credit_code_conflict", "same_credit_code", "same_unionid",
                                                       "same_external_userid"};
const std::vector<std::string> kMasterMethods = {"exact", "jaro_winkler", "edit", "name"};
const std::vector<std::string> kMasterBlockingFields = {"mobile", "email", "credit_code", "wecom_unionid",
                                                        "wecom_external_userid", "name_key", "city", "district",
                                                        "postcode"};
const std::vector<std::string> kGoldenAttributes = {"kind", "name", "mobiles", "emails", "wecom", "credit_code",
                                                    "addresses", "region", "tier", "credit", "tags"};
const std::vector<std::string> kGoldenListAttributes = {"mobiles", "emails", "addresses", "tags"};
const std::vector<std::string> kSurvivorshipRules = {"source_priority", "most_recent", "most_frequent", "non_empty",
                                                     "union"};
const std::vector<std::string> kSyncModes = {"full", "normal"};
const std::vector<std::string> kEntities = {"order", "customer", "stock"};


// Headers the HTTP client sets itself.
const std::vector<std::string> kReservedHeaders = {"connection", "content-length", "host",
                                                   "transfer-encoding"};

std::string Lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool Contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// "a, b or c".
std::string Alternatives(const std::vector<std::string>& names) {
  if (names.size() < 2) return Join(names);
  std::vector<std::string> head(names.begin(), names.end() - 1);
  return Join(head) + " or " + names.back();
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// Source and destination names: [a-z0-9][a-z0-9_-]*, at most kMaxNameLength.
bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength || !IsLowerAlnum(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsLowerAlnum(c) || c == '_' || c == '-'; });
}

// An HTTP header name (an RFC 9110 token).
bool IsHeaderName(std::string_view name) {
  if (name.empty()) return false;
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kSymbols.find(c) != std::string_view::npos;
  });
}

// A JSON Pointer (RFC 6901) to a member, e.g. "/id": starts with "/", "~" only as "~0" or "~1".
bool IsJsonPointer(std::string_view pointer) {
  if (pointer.size() < 2 || pointer.front() != '/') return false;
  for (std::size_t i = 0; i < pointer.size(); ++i) {
    if (pointer[i] == '~' &&
        (i + 1 == pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1'))) {
      return false;
    }
  }
  return true;
}

// Returns why "url" is not an http(s) URL with a host, or nullopt when it is.
std::optional<std::string> CheckUrl(std::string_view url) {
  const std::string lowered = Lowered(url.substr(0, 8));
  std::string_view rest;
  if (lowered.starts_with("http://")) {
    rest = url.substr(7);
  } else if (lowered.starts_with("https://")) {
    rest = url.substr(8);
  } else {
    return "";
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return "";
  }
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) {
    return "a user name or password in the URL is not supported; send credentials with headers, "
           "e.g. headers: { Authorization: \"Bearer ${env:ERP_TOKEN}\" }";
  }
  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return "";
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "";
      has_port = true;
      port = after.substr(1);
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    has_port = true;
  }
  if (host.empty()) return "";
  if (has_port) {
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return "";
    }
    const int number = std::stoi(std::string(port));
    if (number < 1 || number > 65535)
      return "port " + std::string(port) + " is out of range 1-65535";
  }
  return std::nullopt;
}

// Returns why "pattern" is not an event type pattern, or nullopt when it is.
std::optional<std::string> CheckTypePattern(std::string_view pattern) {
  const std::string expected =
      "expected an event type pattern like \"order.*\", \"customer.upserted\" or \"*\"; got " +
      Quote(pattern);
  if (pattern == "*") return std::nullopt;
  if (pattern.starts_with("com.channelhub.")) {
    return expected + " (leave out the \"com.channelhub.\" prefix)";
  }
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = pattern.find('.', start);
    parts.push_back(pattern.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  for (std::string_view part : parts) {
    if (part == "*") continue;
    if (part.empty() || !std::all_of(part.begin(), part.end(),
                                     [](char c) { return IsLowerAlnum(c) || c == '_'; })) {
      return expected;
    }
  }
  const std::string entity(parts.front());
  if (entity != "*" && !Contains(kEntities, entity)) {
    return "unknown entity " + Quote(entity) + " in " + Quote(pattern) + "; expected " +
           Alternatives({"order", "customer", "stock", "*"}) + DidYouMean(entity, kEntities);
  }
  if (parts.size() == 1) {
    return expected + " (it names no event; " + Quote(entity + ".*") + " means all " + entity +
           " events)";
  }
  return std::nullopt;
}

// The 0-based line "index" of "text", or "" when there is none.
std::string_view LineAt(std::string_view text, int index) {
  for (int i = 0; i < index; ++i) {
    const std::size_t newline = text.find('\n');
    if (newline == std::string_view::npos) return {};
    text.remove_prefix(newline + 1);
  }
  return text.substr(0, text.find('\n'));
}

// A string value after ${...} substitution.
struct Text {
  std::string value;
  std::string shown;  // for messages: as written, and the result only when it holds no secret
  bool substituted = false;  // a ${...} was replaced: "value" may differ from what is written
  bool secret = false;       // the value holds an ${env:...} or ${file:...}
};

class Loader {
 public:
  Loader(std::string path, const Overrides& overrides)
      : sink_(path), path_(std::move(path)), overrides_(overrides) {}

  LoadResult Run();

 private:
  // --- values ---
  void Report(const Value& v, std::string message) {
    sink_.Add(v.where, v.key, std::move(message));
  }
  void Missing(const Value& parent, std::string_view key, std::string_view expected) {
    sink_.Add(parent.key_where, ChildKey(parent.key, key),
              "missing; expected " + std::string(expected));
  }
  // "key" under "parent", or an empty value placed at the parent when it is absent.
  static Value GetOrEmpty(const MapReader& parent, std::string_view key) {
    if (std::optional<Value> v = parent.Get(key)) return *v;
    const Value& self = parent.self();
    return Value{YAML::Node(), ChildKey(self.key, key), self.key_where, self.key_where};
  }
  std::optional<Text> ReadString(const Value& v, std::string_view expected);
  std::optional<Text> ReadNonEmpty(const Value& v, std::string_view expected);
  std::optional<std::string> ReadChoice(const Value& v, const std::vector<std::string>& choices);
  std::optional<uint64_t> ReadCount(const Value& v, uint64_t min, uint64_t max);
  std::optional<Millis> ReadDuration(const Value& v);
  std::optional<std::size_t> ReadSize(const Value& v, std::size_t min, std::size_t max);
  std::optional<std::string> ReadHeaderName(const Value& v);
  std::vector<std::string> ReadNameList(
      const MapReader& parent, std::string_view key, std::string_view what,
      std::string_view example,
      const std::function<std::optional<std::string>(const std::string&)>& check);

  // --- sections ---
  void ReadTop(const Value& root);
  void ReadDataDir(const MapReader& top);
  void ReadListen(const MapReader& top);
  void ReadServer(const Value& v);
  void ReadJournal(const Value& v);
  void ReadSources(const Value& v);
  SourceConfig ReadSource(const NamedValue& entry);
  void ReadMapping(const Value& v, SourceConfig* source);
  void ReadAuth(const Value& v, SourceAuth* auth);
  void ReadEventId(const Value& v, SourceConfig* source);
  std::optional<std::string> ReadConnectorName(const Value& v, int* line, int* column);
  void ReadSettings(const Value& v, std::map<std::string, Setting>* settings);
  std::optional<std::string> ReadUrl(const Value& v, std::string_view example);
  void ReadPoll(const Value& v, PollSettings* poll);
  void ReadPlugins(const Value& v);
  void ReadRemoteConnectors(const Value& v);
  void ReadAdmin(const Value& v);
  void ReadTls(const Value& v, TlsSettings* tls);
  void ReadOutboundMapping(const Value& v, DestinationConfig* d);
  void ReadDestinations(const Value& v);
  DestinationConfig ReadDestination(const NamedValue& entry);
  void ReadHeaders(const Value& v, std::map<std::string, std::string>* headers);
  void ReadRetry(const Value& v, RetryPolicy* retry);
  void ReadRoutes(const Value& v);
  void ReadMaster(const Value& v);
  void ReadDataProtection(const Value& v);
  std::optional<double> ReadNumber(const Value& v, double min, double max);

  // Reports "key" under "parent" as not belonging to the chosen type.
  void NotUsed(const MapReader& parent, std::string_view key, std::string_view used_with,
               std::string_view what, std::string_view type) {
    if (std::optional<Value> v = parent.Get(key)) {
      sink_.Add(v->key_where, v->key,
                Quote(key) + " is only used with type " + std::string(used_with) + "; this " +
                    std::string(what) + " has type " + std::string(type));
    }
  }

  LoadResult Finish();

  DiagnosticSink sink_;
  std::string path_;
  Overrides overrides_;
  detail::SubstitutionContext substitution_;
  Config config_;
};

std::optional<Text> Loader::ReadString(const Value& v, std::string_view expected) {
  if (!v.node.IsScalar()) {
    Report(v, "expected " + std::string(expected) + "; got " + Describe(v.node));
    return std::nullopt;
  }
  const std::string& raw = v.node.Scalar();
  detail::Substituted result = detail::Substitute(raw, substitution_);
  if (!result.errors.empty()) {
    for (std::string& error : result.errors) Report(v, std::move(error));
    return std::nullopt;
  }
  Text text{std::move(result.value), Quote(raw), result.changed, result.secret};
  if (result.changed && !result.secret) text.shown += " (that is " + Quote(text.value) + ")";
  return text;
}

std::optional<Text> Loader::ReadNonEmpty(const Value& v, std::string_view expected) {
  std::optional<Text> text = ReadString(v, expected);
  if (text && text->value.empty()) {
    Report(v, "expected " + std::string(expected) + "; got \"\"");
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> Loader::ReadChoice(const Value& v,
                                              const std::vector<std::string>& choices) {
  const std::string expected = Alternatives(choices);
  std::optional<Text> text = ReadString(v, expected);
  if (!text) return std::nullopt;
  if (!Contains(choices, text->value)) {
    Report(v, "expected " + expected + "; got " + text->shown + DidYouMean(text->value, choices));
    return std::nullopt;
  }
  return text->value;
}

std::optional<uint64_t> Loader::ReadCount(const Value& v, uint64_t min, uint64_t max) {
  const std::string expected =
      "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
  std::optional<Text> text = ReadString(v, expected);
  if (!text) return std::nullopt;
  const std::string& s = text->value;
  uint64_t number = 0;
  const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), number);
  if (s.empty() || s.front() == '+' || error != std::errc() || end != s.data() + s.size() ||
      number < min || number > max) {
    Report(v, "expected " + expected + "; got " + text->shown);
    return std::nullopt;
  }
  return number;
}

std::optional<Millis> Loader::ReadDuration(const Value& v) {
  std::optional<Text> text = ReadString(v, "a duration like 500ms, 10s, 5m, 1h");
  if (!text) return std::nullopt;
  Result<Millis> duration = ParseDuration(text->value);
  if (!duration.ok()) {
    // ParseDuration's message quotes the value; after a substitution it could be a secret.
    Report(v, text->substituted ? "expected a duration like 500ms, 10s, 5m, 1h; got " + text->shown
                                : duration.status().message());
    return std::nullopt;
  }
  if (duration->count() <= 0) {
    Report(v, "expected a duration longer than 0, like 10s; got " + text->shown);
    return std::nullopt;
  }
  return *duration;
}

std::optional<std::size_t> Loader::ReadSize(const Value& v, std::size_t min, std::size_t max) {
  std::optional<Text> text = ReadString(v, "a size like 1048576, 512KiB or 1MiB");
  if (!text) return std::nullopt;
  Result<std::size_t> size = ParseSize(text->value);
  if (!size.ok()) {
    Report(v, text->substituted ? "expected a size like 1048576, 512KiB or 1MiB; got " + text->shown
                                : size.status().message());
    return std::nullopt;
  }
  if (*size < min || *size > max) {
    Report(v, "expected a size from " + std::to_string(min) + "B to " + std::to_string(max >> 20) +
                  "MiB; got " + text->shown);
    return std::nullopt;
  }
  return *size;
}

std::optional<std::string> Loader::ReadHeaderName(const Value& v) {
  std::optional<Text> text = ReadString(v, "an HTTP header name like X-Signature");
  if (!text) return std::nullopt;
  if (!IsHeaderName(text->value)) {
    Report(v, "expected an HTTP header name like X-Signature; got " + text->shown);
    return std::nullopt;
  }
  return text->value;
}

std::vector<std::string> Loader::ReadNameList(
    const MapReader& parent, std::string_view key, std::string_view what, std::string_view example,
    const std::function<std::optional<std::string>(const std::string&)>& check) {
  std::vector<std::string> names;
  std::optional<Value> list = parent.Get(key);
  const std::string expected = "a list of " + std::string(what) + "s like " + std::string(example);
  if (!list) {
    Missing(parent.self(), key, expected);
    return names;
  }
  if (list->node.IsNull() || (list->node.IsSequence() && list->node.size() == 0)) {
    Report(*list, "expected at least one " + std::string(what) + "; use a list like " +
                      std::string(example));
    return names;
  }
  for (const Value& item : detail::ListItems(*list, example, sink_)) {
    std::optional<Text> text = ReadNonEmpty(item, "a name");
    if (!text) continue;
    if (Contains(names, text->value)) {
      Report(item, Quote(text->value) + " is listed twice");
      continue;
    }
    if (std::optional<std::string> problem = check(text->value)) {
      Report(item, std::move(*problem));
      continue;
    }
    names.push_back(text->value);
  }
  return names;
}

// --- sections ---

void Loader::ReadTop(const Value& root) {
  MapReader top(
      root,
{"listen", "data_dir", "mappings_dir", "log_level", "log_format", "tls", "plugins", "server", "journal", "admin",
       "bus", "sources", "destinations", "routes", "master", "data_protection", "remote_connectors"},
      sink_);
  if (!top.valid()) return;  // a list or a scalar: every key would be reported missing
  // First: every ${data_dir} below depends on it.
  ReadDataDir(top);
  substitution_.data_dir = config_.data_dir;
  ReadListen(top);
  if (std::optional<Value> v = top.Get("mappings_dir")) {
    if (std::optional<Text> text = ReadNonEmpty(*v, "a directory like ./mappings")) {
      config_.mappings_dir = std::move(text->value);
    }
  }
  if (std::optional<Value> v = top.Get("log_format")) {
    if (std::optional<std::string> f = ReadChoice(*v, {"text", "json"})) config_.log_format = *f;
  }
  if (std::optional<Value> v = top.Get("log_level")) {
    if (std::optional<std::string> level = ReadChoice(*v, kLogLevels)) config_.log_level = *level;
  }
  if (std::optional<Value> v = top.Get("plugins")) ReadPlugins(*v);
  if (std::optional<Value> v = top.Get("remote_connectors")) ReadRemoteConnectors(*v);
  ReadServer(GetOrEmpty(top, "server"));
  ReadJournal(GetOrEmpty(top, "journal"));
  if (std::optional<Value> v = top.Get("admin")) ReadAdmin(*v);
  if (std::optional<Value> v = top.Get("tls")) ReadTls(*v, &config_.server.tls);
  if (std::optional<Value> v = top.Get("bus")) {
    MapReader b(*v, {"publish"}, sink_);
    if (b.valid()) {
      if (auto x = b.Get("publish")) {
        if (auto text = ReadNonEmpty(*x, "a ZeroMQ endpoint like tcp://127.0.0.1:5556")) {
          const std::string& e = text->value;
          if (!e.starts_with("tcp://") && !e.starts_with("ipc://")) {
            Report(*x, "expected a ZeroMQ endpoint like tcp://127.0.0.1:5556 or ipc:///run/channelhub/bus; got " +
                           text->shown);
          } else {
            config_.bus_publish = e;
          }
        }
      } else {
        Missing(b.self(), "publish", "the endpoint to publish events on, like publish: tcp://127.0.0.1:5556");
      }
    }
  }
  ReadSources(GetOrEmpty(top, "sources"));
  ReadDestinations(GetOrEmpty(top, "destinations"));
  if (std::optional<Value> v = top.Get("master")) {
    if (config_.master_destination.empty()) {
      sink_.Add(v->key_where, v->key,
                "the master record is configured but no destination has type master; add one, like "
                "destinations: {golden: {type: master}}, and route customer events to it");
    }
    ReadMaster(*v);
  }
  if (!config_.master_destination.empty() && config_.master.path.empty()) {
    config_.master.path = config_.data_dir + "/master.db";
  }
  if (std::optional<Value> v = top.Get("data_protection")) ReadDataProtection(*v);
  // Last: routes name sources and destinations.
  ReadRoutes(GetOrEmpty(top, "routes"));
}

void Loader::ReadDataDir(const MapReader& top) {
  std::string dir;
  if (overrides_.data_dir) {
    dir = *overrides_.data_dir;  // taken as given: the shell has expanded it already
    if (dir.empty()) {
      sink_.Add({}, "data_dir", "the data directory given on the command line is empty");
      return;
    }
  } else if (std::optional<Value> v = top.Get("data_dir")) {
    // substitution_.data_dir is still unset here: ${data_dir} cannot define itself.
    std::optional<Text> text = ReadNonEmpty(*v, "a directory like ./var");
    if (!text) return;
    dir = std::move(text->value);
    substitution_.data_dir_secret = text->secret;
  } else {
    Missing(top.self(), "data_dir",
            "the directory where channelhub keeps its journal and files, like data_dir: ./var");
    return;
  }
  // "./var/" and "./var" are the same directory; keep ${data_dir}/out free of "//".
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  config_.data_dir = std::move(dir);
}

void Loader::ReadListen(const MapReader& top) {
  if (overrides_.listen) {
    Result<ListenAddress> address = ParseListenAddress(*overrides_.listen);
    if (!address.ok()) {
      sink_.Add({}, "listen", address.status().message() + " (given on the command line)");
      return;
    }
    config_.server.listen = *address;
    return;
  }
  std::optional<Value> v = top.Get("listen");
  if (!v) return;
  std::optional<Text> text = ReadString(*v, "HOST:PORT like 127.0.0.1:8080");
  if (!text) return;
  Result<ListenAddress> address = ParseListenAddress(text->value);
  if (!address.ok()) {
    Report(*v, text->substituted ? "expected HOST:PORT like 127.0.0.1:8080; got " + text->shown
                                 : address.status().message());
    return;
  }
  config_.server.listen = *address;
}

void Loader::ReadServer(const Value& v) {
  MapReader m(v, {"threads", "body_limit", "read_timeout", "idle_timeout", "max_connections",
                  "max_connections_per_client", "header_limit", "max_headers", "xml_max_depth", "xml_max_nodes"},
              sink_);
  ServerSettings& s = config_.server;
  if (auto x = m.Get("threads")) {
    if (auto n = ReadCount(*x, 0, 1024)) s.threads = static_cast<int>(*n);
  }
  if (auto x = m.Get("body_limit")) {
    if (auto n = ReadSize(*x, 1, std::size_t{1} << 30)) s.body_limit = *n;
  }
  if (auto x = m.Get("read_timeout")) {
    if (auto d = ReadDuration(*x)) s.read_timeout = *d;
  }
  if (auto x = m.Get("idle_timeout")) {
    if (auto d = ReadDuration(*x)) s.idle_timeout = *d;
  }
  if (auto x = m.Get("max_connections")) {
    if (auto n = ReadCount(*x, 1, 1000000)) s.max_connections = *n;
  }
  if (auto x = m.Get("max_connections_per_client")) {
    if (auto n = ReadCount(*x, 1, 1000000)) s.max_connections_per_client = *n;
  }
  if (auto x = m.Get("header_limit")) {
    if (auto n = ReadSize(*x, 1024, std::size_t{1} << 20)) s.header_limit = *n;
  }
  if (auto x = m.Get("max_headers")) {
    if (auto n = ReadCount(*x, 8, 10000)) s.max_headers = *n;
  }
  if (auto x = m.Get("xml_max_depth")) {
    if (auto n = ReadCount(*x, 1, 100000)) s.xml_max_depth = *n;
  }
  if (auto x = m.Get("xml_max_nodes")) {
    if (auto n = ReadCount(*x, 1, 100000000)) s.xml_max_nodes = *n;
  }
}

void Loader::ReadJournal(const Value& v) {
  MapReader m(v, {"max_batch", "queue_limit", "sync", "backlog_limit"}, sink_);
  JournalSettings& j = config_.journal;
  if (auto x = m.Get("backlog_limit")) {
    if (auto n = ReadCount(*x, 100, 1000000000)) j.backlog_limit = *n;
  }
  if (auto x = m.Get("max_batch")) {
    if (auto n = ReadCount(*x, 1, 100000)) j.max_batch = *n;
  }
  if (auto x = m.Get("queue_limit")) {
    if (auto n = ReadCount(*x, 1, 10000000)) j.queue_limit = *n;
  }
  if (auto x = m.Get("sync")) {
    if (auto mode = ReadChoice(*x, kSyncModes)) j.synchronous_full = *mode == "full";
  }
}

void Loader::ReadSources(const Value& v) {
  for (const NamedValue& entry : detail::MapEntries(v, sink_)) {
    if (!IsValidName(entry.name)) {
      sink_.Add(entry.value.key_where, entry.value.key,
                "expected a source name of lower-case letters, digits, \"_\" and \"-\" (it "
                "becomes the URL /webhooks/<name>); got " +
                    Quote(entry.name));
    }
    if (entry.name == kMasterSource) {
      sink_.Add(entry.value.key_where, entry.value.key,
                "\"master\" is reserved: golden-record changes are events of the source \"master\"; "
                "choose another name");
    }
    // Kept even when its name is wrong, so that routes naming it are not reported too.
    config_.sources[entry.name] = ReadSource(entry);
  }
}

SourceConfig Loader::ReadSource(const NamedValue& entry) {
  MapReader m(entry.value,
              {"connector", "mapping", "auth", "event_id", "settings", "url", "poll", "rate_limit", "allow_from"},
              sink_);
  SourceConfig source;
  source.name = entry.name;
  source.line = entry.value.key_where.line;
  if (!m.valid()) return source;
  source.connector = "generic";
  if (auto x = m.Get("connector")) {
    if (auto connector = ReadConnectorName(*x, &source.connector_line, &source.connector_column)) {
      source.connector = *connector;
    }
  }
  if (auto x = m.Get("allow_from")) {
    for (const Value& item : detail::ListItems(*x, "[10.0.0.0/8, 203.0.113.7]", sink_)) {
      if (auto text = ReadNonEmpty(item, "an IP address or ADDRESS/PREFIX like 10.0.0.0/8")) {
        auto range = IpRange::Parse(text->value);
        if (range.ok()) {
          source.allow_from.push_back(text->value);
        } else {
          Report(item, range.status().message());
        }
      }
    }
  }
  if (auto x = m.Get("rate_limit")) {
    MapReader r(*x, {"rate", "burst"}, sink_);
    if (r.valid()) {
      if (auto rate = r.Get("rate")) {
        if (auto n = ReadCount(*rate, 1, 1000000)) source.rate_limit.rate = static_cast<double>(*n);
      } else {
        Missing(r.self(), "rate", "requests per second, like rate: 100");
      }
      source.rate_limit.burst = static_cast<int>(source.rate_limit.rate);
      if (auto burst = r.Get("burst")) {
        if (auto n = ReadCount(*burst, 1, 10000000)) source.rate_limit.burst = static_cast<int>(*n);
      }
    }
  }
  if (auto x = m.Get("mapping")) {
    ReadMapping(*x, &source);
  } else {
    Missing(m.self(), "mapping",
            "the mapping that turns what this source posts into events, like mapping: "
            "shopify/orders_create.to_canon.yaml");
  }
  if (source.builtin()) {
    for (const char* key : {"settings", "url", "poll"}) {
      if (std::optional<Value> v = m.Get(key)) {
        sink_.Add(v->key_where, v->key,
                  Quote(key) + " is for plugin connectors; connector generic is configured with "
                  "auth: and event_id:");
      }
    }
    ReadAuth(GetOrEmpty(m, "auth"), &source.auth);
    ReadEventId(GetOrEmpty(m, "event_id"), &source);
    return source;
  }
  for (const char* key : {"auth", "event_id"}) {
    if (std::optional<Value> v = m.Get(key)) {
      sink_.Add(v->key_where, v->key,
                Quote(key) + " is only used with connector generic; connector " + source.connector +
                    " checks requests itself and takes its secrets under settings:, like "
                    "settings: { secret: ${env:SHOPIFY_WEBHOOK_SECRET} }");
    }
  }
  if (auto x = m.Get("settings")) ReadSettings(*x, &source.settings);
  if (auto x = m.Get("url")) {
    if (auto url = ReadUrl(*x, "http://erp.example.local/k3cloud/")) source.url = *url;
  }
  if (auto x = m.Get("poll")) {
    ReadPoll(*x, &source.poll);
    if (source.poll.enabled && source.url.empty()) {
      Missing(m.self(), "url", "the address of the system to poll, like url: http://erp.example.local/k3cloud/");
    }
  }
  return source;
}

std::optional<std::string> Loader::ReadConnectorName(const Value& v, int* line, int* column) {
  auto name = ReadNonEmpty(v, "a connector name: generic, or one a plugin offers (channelhub plugins lists them)");
  if (!name) return std::nullopt;
  if (!IsValidName(name->value)) {
    Report(v, "expected a connector name of lower-case letters, digits, \"_\" and \"-\"; got " + name->shown);
    return std::nullopt;
  }
  *line = v.where.line;
  *column = v.where.column;
  return name->value;
}

void Loader::ReadSettings(const Value& v, std::map<std::string, Setting>* settings) {
  for (const NamedValue& entry : detail::MapEntries(v, sink_)) {
    if (!entry.value.node.IsScalar() && entry.value.node.IsDefined() && !entry.value.node.IsNull()) {
      Report(entry.value, "expected a plain value (a text, a number or true/false); got " + Describe(entry.value.node));
      continue;
    }
    std::string value;
    bool secret = false;
    if (entry.value.node.IsScalar()) {
      auto text = ReadString(entry.value, "a plain value");
      if (!text) continue;
      value = std::move(text->value);
      secret = text->secret;
    }
    (*settings)[entry.name] = Setting{std::move(value), secret, entry.value.key_where.line, entry.value.key_where.column};
  }
}

std::optional<std::string> Loader::ReadUrl(const Value& v, std::string_view example) {
  const std::string expected = "an http:// or https:// URL with a host, like " + std::string(example);
  auto url = ReadString(v, expected);
  if (!url) return std::nullopt;
  if (std::optional<std::string> problem = CheckUrl(url->value)) {
    Report(v, problem->empty() ? "expected " + expected + "; got " + url->shown : *problem);
    return std::nullopt;
  }
  return url->value;
}

void Loader::ReadPoll(const Value& v, PollSettings* poll) {
  MapReader m(v, {"interval", "timeout"}, sink_);
  if (!m.valid()) return;
  poll->enabled = true;
  if (auto x = m.Get("interval")) {
    if (auto d = ReadDuration(*x)) {
      if (*d < Millis(1000)) {
        Report(*x, "expected an interval of at least 1s; got " + FormatDuration(*d));
      } else {
        poll->interval = *d;
      }
    }
  }
  if (auto x = m.Get("timeout")) {
    if (auto d = ReadDuration(*x)) poll->timeout = *d;
  }
}

void Loader::ReadOutboundMapping(const Value& v, DestinationConfig* d) {
  const std::string expected =
      "a relative path to an outbound mapping file, like kingdee/sal_saleorder.from_canon.yaml";
  if (auto text = ReadString(v, expected)) {
    const std::string& mapping = text->value;
    if (mapping.empty() || mapping.front() == '/' ||
        (!mapping.ends_with(".yaml") && !mapping.ends_with(".yml"))) {
      Report(v, "expected " + expected + "; got " + text->shown);
    } else {
      d->mapping = mapping;
    }
  }
}

void Loader::ReadTls(const Value& v, TlsSettings* tls) {
  MapReader m(v, {"cert", "key", "client_ca"}, sink_);
  if (!m.valid()) return;
  auto file = [&](const char* key, std::string_view example, std::string* out, bool required) {
    std::optional<Value> x = m.Get(key);
    if (!x) {
      if (required) Missing(m.self(), key, std::string(example));
      return;
    }
    auto text = ReadNonEmpty(*x, "a PEM file");
    if (!text) return;
    std::string content;
    if (std::optional<std::string> failure = detail::ReadFileText(text->value, 1 << 20, &content)) {
      Report(*x, "cannot read " + text->value + ": " + *failure);
      return;
    }
    if (content.find("-----BEGIN ") == std::string::npos) {
      Report(*x, text->value + " is not a PEM file (no -----BEGIN line)");
      return;
    }
    *out = text->value;
  };
  file("cert", "the certificate chain, like cert: /etc/channelhub/tls/hub.crt", &tls->cert, true);
  file("key", "its private key, like key: /etc/channelhub/tls/hub.key", &tls->key, true);
  file("client_ca", "", &tls->client_ca, false);
}

void Loader::ReadAdmin(const Value& v) {
  MapReader m(v, {"listen", "tls", "tokens"}, sink_);
  if (!m.valid()) return;
  AdminSettings& a = config_.admin;
  a.enabled = true;
  if (auto x = m.Get("tls")) ReadTls(*x, &a.tls);
  if (auto x = m.Get("listen")) {
    if (auto text = ReadString(*x, "HOST:PORT like 127.0.0.1:8081")) {
      Result<ListenAddress> address = ParseListenAddress(text->value);
      if (address.ok()) {
        a.listen = *address;
      } else {
        Report(*x, address.status().message());
      }
    }
  }
  const std::string example = "[{name: ops, token: ${env:CHANNELHUB_ADMIN_TOKEN}, role: operator}]";
  std::optional<Value> tokens = m.Get("tokens");
  if (!tokens) {
    Missing(m.self(), "tokens", "who may use the admin API, like tokens: " + example);
    return;
  }
  for (const Value& item : detail::ListItems(*tokens, example, sink_)) {
    MapReader t(item, {"name", "token", "role"}, sink_);
    if (!t.valid()) continue;
    AdminToken tok;
    if (auto x = t.Get("name")) {
      if (auto name = ReadNonEmpty(*x, "a name for the audit log, like ops-anna")) tok.name = name->value;
    } else {
      Missing(t.self(), "name", "a name for the audit log, like name: ops-anna");
    }
    if (auto x = t.Get("token")) {
      if (auto token = ReadNonEmpty(*x, "the token, like ${env:CHANNELHUB_ADMIN_TOKEN}")) {
        if (token->value.size() < 16) {
          Report(*x, "a token of at least 16 characters is needed (generate one with: openssl rand -hex 24)");
        } else {
          if (!token->secret) {
            Report(*x, "write the token as ${env:NAME} or ${file:/path}, not in the file itself");
          }
          tok.sha256 = Sha256Hex(token->value);
        }
      }
    } else {
      Missing(t.self(), "token", "the token, like token: ${env:CHANNELHUB_ADMIN_TOKEN}");
    }
    if (auto x = t.Get("role")) {
      if (auto role = ReadChoice(*x, {"viewer", "operator", "admin"})) {
        tok.role = *role == "admin" ? AdminToken::Role::kAdmin
                   : *role == "operator" ? AdminToken::Role::kOperator
                                         : AdminToken::Role::kViewer;
      }
    }
    a.tokens.push_back(std::move(tok));
  }
}

void Loader::ReadPlugins(const Value& v) {
  config_.plugins_line = v.key_where.line;
  for (const Value& item : detail::ListItems(v, "[./build/plugins]", sink_)) {
    if (auto path = ReadNonEmpty(item, "a plugin file (.so) or a folder of them, like ./build/plugins")) {
      config_.plugins.push_back(std::move(path->value));
    }
  }
}

void Loader::ReadRemoteConnectors(const Value& v) {
  RemoteConnectorsSettings& r = config_.remote;
  r.line = v.key_where.line;
  MapReader m(v, {"endpoint", "call_timeout", "heartbeat_timeout", "connectors"}, sink_);
  if (!m.valid()) return;
  if (auto x = m.Get("endpoint")) {
    if (auto text = ReadNonEmpty(*x, "a ZeroMQ endpoint like tcp://127.0.0.1:5557")) {
      if (!text->value.starts_with("tcp://") && !text->value.starts_with("ipc://")) {
        Report(*x, "expected a ZeroMQ endpoint like tcp://127.0.0.1:5557 or ipc:///run/channelhub/connectors; got " +
                       text->shown);
      } else {
        r.endpoint = text->value;
      }
    }
  } else {
    Missing(m.self(), "endpoint",
            "the endpoint the hub binds for connector processes, like endpoint: tcp://127.0.0.1:5557");
  }
  if (auto x = m.Get("call_timeout")) {
    if (auto d = ReadDuration(*x)) r.call_timeout = *d;
  }
  if (auto x = m.Get("heartbeat_timeout")) {
    if (auto d = ReadDuration(*x)) r.heartbeat_timeout = *d;
  }
  std::optional<Value> list = m.Get("connectors");
  if (!list) {
    Missing(m.self(), "connectors",
            "the connectors that run out of process, like connectors: {pyshop: {can: [inbound], settings: [token]}}");
    return;
  }
  static const std::vector<std::string> kCan = {"inbound", "outbound", "poll", "token"};
  for (const NamedValue& entry : detail::MapEntries(*list, sink_)) {
    RemoteConnectorDecl d;
    d.name = entry.name;
    d.line = entry.value.key_where.line;
    d.column = entry.value.key_where.column;
    if (!IsValidName(entry.name)) {
      sink_.Add(entry.value.key_where, entry.value.key,
                "expected a connector name of lower-case letters, digits, \"_\" and \"-\"; got " + Quote(entry.name));
    }
    MapReader c(entry.value, {"can", "settings", "description"}, sink_);
    if (!c.valid()) continue;
    d.can = ReadNameList(c, "can", "capabilitie", "[inbound, outbound]", [](const std::string& cap) -> std::optional<std::string> {
      if (std::find(kCan.begin(), kCan.end(), cap) != kCan.end()) return std::nullopt;
      return "expected one of inbound, outbound, poll, token; got " + Quote(cap);
    });
    if (auto x = c.Get("settings")) {
      for (const Value& item : detail::ListItems(*x, "[token, shop]", sink_)) {
        if (auto name = ReadNonEmpty(item, "a setting name")) d.settings.push_back(std::move(name->value));
      }
    }
    if (auto x = c.Get("description")) {
      if (auto text = ReadNonEmpty(*x, "a line saying what the connector does")) d.description = text->value;
    }
    r.connectors.push_back(std::move(d));
  }
}

void Loader::ReadMapping(const Value& v, SourceConfig* source) {
  // A list: several mappings for every payload; a map: the mappings by payload kind.
  auto read_list = [&](const Value& item, std::vector<std::string>* files) {
    if (item.node.IsSequence()) {
      for (const Value& one : detail::ListItems(item, "[shopify/orders_create.to_canon.yaml]", sink_)) {
        SourceConfig tmp;
        ReadMapping(one, &tmp);
        if (!tmp.mapping.empty()) files->push_back(tmp.mapping);
      }
      return;
    }
    SourceConfig tmp;
    ReadMapping(item, &tmp);
    if (!tmp.mapping.empty()) files->push_back(tmp.mapping);
  };
  // An empty list maps nothing: every event would become a dead letter, so it is refused here.
  auto none_empty = [&](const Value& at, const std::vector<std::string>& files, const std::string& kind) {
    if (!files.empty() || !at.node.IsSequence() || at.node.size() > 0) return;  // (items say their own problems)
    Report(at, "no mapping file" + (kind.empty() ? std::string() : " for payload kind " + Quote(kind)) +
                   "; give one or more, like [shopify/orders_create.to_canon.yaml]");
  };
  if (v.node.IsSequence()) {
    read_list(v, &source->mapping_by_kind["*"]);
    none_empty(v, source->mapping_by_kind["*"], "");
    return;
  }
  if (v.node.IsMap()) {
    const std::vector<NamedValue> entries = detail::MapEntries(v, sink_);
    if (entries.empty()) {
      Report(v, "no payload kind; map kinds to mapping files, like { orders/create: shopify/orders_create.to_canon.yaml }");
    }
    for (const NamedValue& entry : entries) {
      read_list(entry.value, &source->mapping_by_kind[entry.name]);
      none_empty(entry.value, source->mapping_by_kind[entry.name], entry.name);
    }
    return;
  }
  const std::string expected = "builtin:<name> or a relative path to a mapping file";
  std::optional<Text> text = ReadString(v, expected);
  if (!text) return;
  const std::string& mapping = text->value;
  if (mapping.starts_with("builtin:")) {
    if (!Contains(kBuiltinMappings, mapping)) {
      Report(v, "unknown built-in mapping " + text->shown + DidYouMean(mapping, kBuiltinMappings) +
                    " (known: " + Join(kBuiltinMappings) + ")");
      return;
    }
  } else if (mapping.empty() || mapping.front() == '/') {
    Report(v, "expected " + expected + "; got " + text->shown);
    return;
  } else if (!mapping.ends_with(".yaml") && !mapping.ends_with(".yml")) {
    // Probably a built-in name without its prefix ("shopify.order").
    Report(v, "expected " + expected + " (.yaml); got " + text->shown +
                  DidYouMean("builtin:" + mapping, kBuiltinMappings));
    return;
  }
  source->mapping = mapping;
}

void Loader::ReadAuth(const Value& v, SourceAuth* auth) {
  MapReader m(v, {"type", "token", "secret", "header", "encoding", "prefix", "timestamp_header", "window"}, sink_);
  if (!m.valid()) return;
  std::string type = "none";
  if (auto x = m.Get("type")) {
    std::optional<std::string> chosen = ReadChoice(*x, kAuthTypes);
    if (!chosen) return;  // which keys belong here depends on the type
    type = *chosen;
  }
  if (type == "none") {
    auth->kind = SourceAuth::Kind::kNone;
    NotUsed(m, "token", "bearer", "auth", type);
    for (const char* key : {"secret", "header", "encoding", "prefix", "timestamp_header", "window"}) {
      NotUsed(m, key, "hmac_sha256", "auth", type);
    }
    return;
  }
  if (type == "bearer") {
    auth->kind = SourceAuth::Kind::kBearer;
    for (const char* key : {"secret", "header", "encoding", "prefix", "timestamp_header", "window"}) {
      NotUsed(m, key, "hmac_sha256", "auth", type);
    }
    if (auto x = m.Get("token")) {
      if (auto token = ReadNonEmpty(*x, "the token")) auth->token_sha256 = Sha256Hex(token->value);
    } else {
      Missing(m.self(), "token",
              "the token senders put in \"Authorization: Bearer <token>\", like token: "
              "${env:WEBSHOP_TOKEN}");
    }
    return;
  }
  auth->kind = SourceAuth::Kind::kHmacSha256;
  NotUsed(m, "token", "bearer", "auth", type);
  if (auto x = m.Get("secret")) {
    if (auto secret = ReadNonEmpty(*x, "the signing secret"))
      auth->secret = std::move(secret->value);
  } else {
    Missing(m.self(), "secret", "the signing secret, like secret: ${env:WEBHOOK_SECRET}");
  }
  if (auto x = m.Get("header")) {
    if (auto header = ReadHeaderName(*x)) auth->header = *header;
  } else {
    Missing(m.self(), "header",
            "the request header that carries the signature, like header: "
            "X-Signature");
  }
  auth->encoding = SourceAuth::Encoding::kHex;
  if (auto x = m.Get("encoding")) {
    if (auto encoding = ReadChoice(*x, kEncodings)) {
      auth->encoding =
          *encoding == "hex" ? SourceAuth::Encoding::kHex : SourceAuth::Encoding::kBase64;
    }
  }
  if (auto x = m.Get("prefix")) {
    if (auto prefix = ReadString(*x, "the text before the signature, like \"sha256=\"")) {
      auth->prefix = std::move(prefix->value);
    }
  }
  if (auto x = m.Get("timestamp_header")) {
    if (auto header = ReadHeaderName(*x)) auth->timestamp_header = *header;
  }
  if (auto x = m.Get("window")) {
    if (auto d = ReadDuration(*x)) {
      if (d->count() < 1000 || d->count() > 86400000) {
        Report(*x, "expected a window of 1s to 24h, like 5m; got " + FormatDuration(*d));
      } else {
        auth->window = *d;
      }
    }
    if (auth->timestamp_header.empty()) {
      Report(*x, "\"window\" needs timestamp_header: the header with the request's Unix time");
    }
  }
}

void Loader::ReadEventId(const Value& v, SourceConfig* source) {
  MapReader m(v, {"header", "field"}, sink_);
  if (!m.valid()) return;
  std::optional<Value> header = m.Get("header");
  std::optional<Value> field = m.Get("field");
  if (header) {
    if (auto name = ReadHeaderName(*header)) source->event_id_header = *name;
  }
  if (field) {
    const std::string expected = "a JSON Pointer into the body like /id or /order/id";
    if (auto pointer = ReadString(*field, expected)) {
      if (IsJsonPointer(pointer->value)) {
        source->event_id_field = pointer->value;
      } else {
        Report(*field, "expected " + expected + "; got " + pointer->shown);
      }
    }
  }
  // With both, the header is used when a request has it and the field otherwise.
}

void Loader::ReadDestinations(const Value& v) {
  for (const NamedValue& entry : detail::MapEntries(v, sink_)) {
    if (!IsValidName(entry.name)) {
      sink_.Add(entry.value.key_where, entry.value.key,
                "expected a destination name of lower-case letters, digits, \"_\" and \"-\"; "
                "got " +
                    Quote(entry.name));
    }
    config_.destinations[entry.name] = ReadDestination(entry);
  }
}

DestinationConfig Loader::ReadDestination(const NamedValue& entry) {
  MapReader m(entry.value,
              {"type", "path", "url", "headers", "timeout", "retry", "mapping", "connector", "settings", "breaker",
               "concurrency", "system", "tls"},
              sink_);
  DestinationConfig d;
  d.name = entry.name;
  d.line = entry.value.key_where.line;
  if (!m.valid()) return d;
  std::optional<std::string> type;
  if (auto x = m.Get("type")) {
    type = ReadChoice(*x, kDestinationTypes);
  } else {
    Missing(m.self(), "type",
            "file (append events to a file), http (post them to a URL), connector (a plugin "
            "connector such as kingdee builds the requests) or master (the master customer record), "
            "like type: http");
  }
  if (auto x = m.Get("system")) {
    if (auto text = ReadNonEmpty(*x, "the system this destination writes to, like system: kingdee")) {
      d.system = text->value;
    }
  }
  if (type != "connector") {
    for (const char* key : {"connector", "settings"}) NotUsed(m, key, "connector", "destination", type.value_or("?"));
  }
  if (type == "master") {
    d.type = DestinationConfig::Type::kMaster;
    for (const char* key : {"path", "url", "headers", "timeout", "mapping", "concurrency"}) {
      if (std::optional<Value> v = m.Get(key)) {
        sink_.Add(v->key_where, v->key,
                  Quote(key) + " is not used with type master; the master record is set up under master:");
      }
    }
    if (!config_.master_destination.empty()) {
      sink_.Add(m.self().key_where, m.self().key,
                "only one destination can have type master; " + Quote(config_.master_destination) +
                    " has it already");
    } else {
      config_.master_destination = d.name;
    }
  } else if (type == "file") {
    d.type = DestinationConfig::Type::kFile;
    for (const char* key : {"url", "headers", "timeout", "mapping"}) {
      NotUsed(m, key, "http", "destination", *type);
    }
    if (auto x = m.Get("path")) {
      if (auto path = ReadNonEmpty(*x, "a file path like ${data_dir}/out/events.jsonl")) {
        d.path = std::move(path->value);
      }
    } else {
      Missing(m.self(), "path",
              "the file to append events to, like path: ${data_dir}/out/events.jsonl");
    }
  } else if (type == "connector") {
    d.type = DestinationConfig::Type::kConnector;
    NotUsed(m, "path", "file", "destination", *type);
    if (std::optional<Value> v = m.Get("headers")) {
      sink_.Add(v->key_where, v->key, "\"headers\" is only used with type http; a connector builds its own "
                "requests (set what it needs under settings:)");
    }
    if (auto x = m.Get("connector")) {
      if (auto c = ReadConnectorName(*x, &d.connector_line, &d.connector_column)) {
        if (*c == "generic") {
          Report(*x, "generic is a source connector; a destination names a plugin connector such as kingdee");
        } else {
          d.connector = *c;
        }
      }
    } else {
      Missing(m.self(), "connector", "the plugin connector that delivers, like connector: kingdee");
    }
    if (auto x = m.Get("url")) {
      if (auto url = ReadUrl(*x, "http://erp.example.local/k3cloud/")) d.url = *url;
    } else {
      Missing(m.self(), "url", "the system's address, like url: http://erp.example.local/k3cloud/");
    }
    if (auto x = m.Get("settings")) ReadSettings(*x, &d.settings);
    if (auto x = m.Get("timeout")) {
      if (auto timeout = ReadDuration(*x)) d.timeout = *timeout;
    }
    if (auto x = m.Get("mapping")) ReadOutboundMapping(*x, &d);
  } else if (type == "http") {
    d.type = DestinationConfig::Type::kHttp;
    NotUsed(m, "path", "file", "destination", *type);
    const std::string expected =
        "an http:// or https:// URL with a host, like http://127.0.0.1:9000/events";
    if (auto x = m.Get("url")) {
      if (auto url = ReadString(*x, expected)) {
        if (std::optional<std::string> problem = CheckUrl(url->value)) {
          Report(*x, problem->empty() ? "expected " + expected + "; got " + url->shown : *problem);
        } else {
          d.url = std::move(url->value);
        }
      }
    } else {
      Missing(m.self(), "url", expected);
    }
    if (auto x = m.Get("headers")) ReadHeaders(*x, &d.headers);
    if (auto x = m.Get("timeout")) {
      if (auto timeout = ReadDuration(*x)) d.timeout = *timeout;
    }
    if (auto x = m.Get("mapping")) ReadOutboundMapping(*x, &d);
  }
  ReadRetry(GetOrEmpty(m, "retry"), &d.retry);
  if (auto x = m.Get("breaker")) {
    MapReader b(*x, {"failures", "open_for"}, sink_);
    if (b.valid()) {
      if (auto f = b.Get("failures")) {
        if (auto n = ReadCount(*f, 1, 1000)) d.breaker.failures = static_cast<int>(*n);
      }
      if (auto o = b.Get("open_for")) {
        if (auto dur = ReadDuration(*o)) d.breaker.open_for = *dur;
      }
    }
  }
  if (auto x = m.Get("tls")) {
    if (d.type != DestinationConfig::Type::kHttp && d.type != DestinationConfig::Type::kConnector) {
      sink_.Add(x->key_where, x->key, "\"tls\" is for http and connector destinations");
    } else {
      MapReader t(*x, {"ca", "insecure_skip_verify"}, sink_);
      if (t.valid()) {
        if (auto ca = t.Get("ca")) {
          if (auto text = ReadNonEmpty(*ca, "a PEM file of CA certificates, like /etc/channelhub/erp-ca.pem")) {
            std::string problem;
            if (std::optional<std::string> failure = detail::ReadFileText(text->value, 1 << 20, &problem)) {
              Report(*ca, "cannot read " + text->shown + ": " + *failure);
            } else if (problem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
              Report(*ca, text->shown + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
            } else {
              d.tls.ca = text->value;
            }
          }
        }
        if (auto v = t.Get("insecure_skip_verify")) {
          if (auto c = ReadChoice(*v, {"true", "false"})) d.tls.insecure_skip_verify = *c == "true";
        }
      }
    }
  }
  if (auto x = m.Get("concurrency")) {
    if (d.type == DestinationConfig::Type::kFile) {
      sink_.Add(x->key_where, x->key, "\"concurrency\" is for http and connector destinations; a file is written in order");
    } else if (auto n = ReadCount(*x, 1, 64)) {
      d.concurrency = static_cast<int>(*n);
    }
  }
  if (d.type == DestinationConfig::Type::kFile || d.type == DestinationConfig::Type::kMaster) d.concurrency = 1;
  if (d.system.empty()) d.system = d.type == DestinationConfig::Type::kConnector && !d.connector.empty() ? d.connector : d.name;
  return d;
}

void Loader::ReadHeaders(const Value& v, std::map<std::string, std::string>* headers) {
  std::vector<std::string> seen;  // lower-cased: HTTP header names ignore case
  for (const NamedValue& entry : detail::MapEntries(v, sink_)) {
    const Value& value = entry.value;
    if (!IsHeaderName(entry.name)) {
      sink_.Add(value.key_where, value.key,
                "expected an HTTP header name like X-Api-Key; got " + Quote(entry.name));
      continue;
    }
    const std::string lowered = Lowered(entry.name);
    if (Contains(kReservedHeaders, lowered)) {
      sink_.Add(value.key_where, value.key,
                "header " + Quote(entry.name) + " is set by channelhub itself");
      continue;
    }
    if (Contains(seen, lowered)) {
      sink_.Add(value.key_where, value.key,
                "header " + Quote(entry.name) + " is already set above (names ignore case)");
      continue;
    }
    seen.push_back(lowered);
    std::optional<Text> text = ReadString(value, "a header value");
    if (!text) continue;
    if (text->value.find_first_of("\r\n", 0) != std::string::npos ||
        text->value.find('\0') != std::string::npos) {
      Report(value, "expected a header value on one line; this one has a line break");
      continue;
    }
    (*headers)[entry.name] = std::move(text->value);
  }
}

void Loader::ReadRetry(const Value& v, RetryPolicy* retry) {
  MapReader m(v, {"initial", "max", "max_age", "multiplier", "max_attempts"}, sink_);
  if (!m.valid()) return;
  if (auto x = m.Get("max_attempts")) {
    if (auto n = ReadCount(*x, 1, 1000000)) retry->max_attempts = static_cast<int>(*n);
  }
  std::optional<Value> initial = m.Get("initial");
  std::optional<Value> max = m.Get("max");
  std::optional<Value> max_age = m.Get("max_age");
  bool ok = true;
  auto read = [&](const std::optional<Value>& x, Millis* out) {
    if (!x) return;
    if (auto d = ReadDuration(*x)) {
      *out = *d;
    } else {
      ok = false;
    }
  };
  read(initial, &retry->initial);
  read(max, &retry->max);
  read(max_age, &retry->max_age);
  if (auto x = m.Get("multiplier")) {
    const std::string expected = "a number of at least 1, like 2 or 1.5";
    if (auto text = ReadString(*x, expected)) {
      const std::string& s = text->value;
      double number = 0;
      const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), number);
      if (s.empty() || error != std::errc() || end != s.data() + s.size() ||
          !std::isfinite(number) || number < 1 || number > 1000) {
        Report(*x, "expected " + expected + "; got " + text->shown);
      } else {
        retry->multiplier = number;
      }
    }
  }
  if (!ok) return;  // compare only what was read
  // A bound is reported where it is written; when both are defaults nothing can be wrong.
  auto check_at_least_initial = [&](const std::optional<Value>& bound, Millis value,
                                    std::string_view name) {
    if (value >= retry->initial) return;
    if (bound) {
      Report(*bound, "expected at least initial (" + FormatDuration(retry->initial) + "); got " +
                         Quote(bound->node.Scalar()));
    } else if (initial) {
      Report(*initial, "expected at most " + std::string(name) + " (" + FormatDuration(value) +
                           " by default); got " + Quote(initial->node.Scalar()));
    }
  };
  check_at_least_initial(max, retry->max, "max");
  check_at_least_initial(max_age, retry->max_age, "max_age");
}

void Loader::ReadRoutes(const Value& v) {
  std::vector<std::string> sources;
  for (const auto& [name, source] : config_.sources) sources.push_back(name);
  std::vector<std::string> destinations;
  for (const auto& [name, destination] : config_.destinations) destinations.push_back(name);
  auto configured = [](const std::vector<std::string>& names, std::string_view what) {
    return names.empty() ? " (no " + std::string(what) + " are configured)"
                         : " (configured: " + Join(names) + ")";
  };
  const std::string example = "[{from: [webshop], types: [\"order.*\"], to: [archive]}]";
  for (const Value& item : detail::ListItems(v, example, sink_)) {
    if (item.node.IsNull()) {  // a lone "-"
      Report(item,
             "expected a route like " + example.substr(1, example.size() - 2) + "; got nothing");
      continue;
    }
    MapReader m(item, {"from", "types", "to"}, sink_);
    RouteConfig route;
    route.line = item.key_where.line;
    if (!m.valid()) continue;
    route.from =
        ReadNameList(m, "from", "source name", "[webshop] or [\"*\"]",
                     [&](const std::string& name) -> std::optional<std::string> {
                       if (name == "*" || Contains(sources, name)) return std::nullopt;
                       if (name == kMasterSource && !config_.master_destination.empty()) return std::nullopt;
                       if (name == kMasterSource) {
                         return std::string("\"master\" (golden-record changes) needs a destination of type master");
                       }
                       return "unknown source " + Quote(name) + configured(sources, "sources");
                     });
    route.types =
        ReadNameList(m, "types", "event type pattern", "[\"order.*\", \"customer.*\"]",
                     [](const std::string& pattern) { return CheckTypePattern(pattern); });
    route.to = ReadNameList(m, "to", "destination name", "[archive]",
                            [&](const std::string& name) -> std::optional<std::string> {
                              if (Contains(destinations, name)) return std::nullopt;
                              return "unknown destination " + Quote(name) +
                                     configured(destinations, "destinations");
                            });
    config_.routes.push_back(std::move(route));
  }
}

std::optional<double> Loader::ReadNumber(const Value& v, double min, double max) {
  char range[96];
  std::snprintf(range, sizeof range, "a number from %g to %g", min, max);
  std::optional<Text> text = ReadString(v, range);
  if (!text) return std::nullopt;
  const std::string& s = text->value;
  double number = 0;
  const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), number);
  if (s.empty() || error != std::errc() || end != s.data() + s.size() || !(number >= min && number <= max)) {
    Report(v, "expected " + std::string(range) + "; got " + text->shown);
    return std::nullopt;
  }
  return number;
}

void Loader::ReadDataProtection(const Value& v) {
  MapReader m(v, {"key_file", "previous_key_files"}, sink_);
  if (!m.valid()) return;
  DataProtection& dp = config_.data_protection;
  // One key file: readable, not open to every user of the host, 64 hex digits. Its contents
  // never appear in a message.
  auto read_key = [&](const Value& x, std::string* path) -> std::optional<std::string> {
    auto text = ReadNonEmpty(x, "a key file like /etc/channelhub/data.key");
    if (!text) return std::nullopt;
    *path = text->value;
    struct stat info {};
    if (::stat(path->c_str(), &info) != 0) {
      Report(x, "cannot read " + text->shown + ": " + std::strerror(errno));
      return std::nullopt;
    }
    if (!S_ISREG(info.st_mode)) {
      Report(x, text->shown + " is not a regular file");
      return std::nullopt;
    }
    // The key opens every customer's data: a copy readable by any user of the host would make the
    // encryption pointless, so this is an error, not a warning (like an admin token in the file).
    if (info.st_mode & (S_IROTH | S_IWOTH)) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
      Report(x, text->shown + " can be read or written by every user of the host (mode " + mode +
                    "); restrict it: chmod 600 (or 640 with the hub's group)");
      return std::nullopt;
    }
    std::string content;
    if (std::optional<std::string> failure = detail::ReadFileText(*path, 4096, &content)) {
      Report(x, "cannot read " + text->shown + ": " + *failure);
      return std::nullopt;
    }
    Result<std::string> key = seal::ParseKey(content);
    if (!key.ok()) {
      Report(x, text->shown + ": " + key.status().message());
      return std::nullopt;
    }
    return std::move(key).value();
  };
  std::optional<std::string> current;
  std::optional<Value> key_file = m.Get("key_file");
  if (key_file) {
    current = read_key(*key_file, &dp.key_file);
  } else {
    Missing(m.self(), "key_file",
            "the file with the data key (64 hex digits, made with: openssl rand -hex 32), like key_file: "
            "/etc/channelhub/data.key");
  }
  std::vector<std::string> previous;
  bool all_read = current.has_value();
  if (auto x = m.Get("previous_key_files")) {
    for (const Value& item : detail::ListItems(*x, "[/etc/channelhub/data.key.old]", sink_)) {
      std::string path;
      std::optional<std::string> key = read_key(item, &path);
      if (!key) {
        all_read = false;
        continue;
      }
      dp.previous_key_files.push_back(path);
      previous.push_back(std::move(*key));
    }
  }
  if (!all_read) return;
  Result<std::shared_ptr<const seal::Keyring>> ring = seal::Keyring::Create(std::move(*current), std::move(previous));
  if (!ring.ok()) {
    Report(*key_file, ring.status().message());
    return;
  }
  dp.keyring = std::move(ring).value();
}

void Loader::ReadMaster(const Value& v) {
  MapReader m(v, {"path", "match", "survivorship", "wecom_corp"}, sink_);
  if (!m.valid()) return;
  MasterSettings& ms = config_.master;
  if (auto x = m.Get("path")) {
    if (auto text = ReadNonEmpty(*x, "a file path like ${data_dir}/master.db")) ms.path = text->value;
  }
  if (auto x = m.Get("wecom_corp")) {
    if (auto text = ReadNonEmpty(*x, "the WeCom corp id (corpid) like ww0123456789abcdef")) ms.wecom_corp = text->value;
  }
  if (auto x = m.Get("match")) {
    MapReader mm(*x, {"threshold", "review_threshold", "deterministic", "comparisons", "blocking"}, sink_);
    if (mm.valid()) {
      if (auto t = mm.Get("threshold")) ms.match_threshold = ReadNumber(*t, -1000, 1000);
      if (auto t = mm.Get("review_threshold")) ms.review_threshold = ReadNumber(*t, -1000, 1000);
      if (ms.match_threshold && ms.review_threshold && *ms.review_threshold > *ms.match_threshold) {
        char shown[32];
        std::snprintf(shown, sizeof shown, "%g", *ms.match_threshold);
        Report(*mm.Get("review_threshold"),
               "expected a review threshold at or below the match threshold (" + std::string(shown) + ")");
      }
      if (auto d = mm.Get("deterministic")) {
        MapReader dm(*d, kMasterDeterministic, sink_);
        if (dm.valid()) {
          for (const std::string& key : kMasterDeterministic) {
            if (auto b = dm.Get(key)) {
              if (auto c = ReadChoice(*b, {"true", "false"})) ms.deterministic[key] = *c == "true";
            }
          }
        }
      }
      if (auto c = mm.Get("comparisons")) {
        MapReader cm(*c, kMasterComparisons, sink_);
        if (cm.valid()) {
          for (const std::string& name : kMasterComparisons) {
            auto cv = cm.Get(name);
            if (!cv) continue;
            MapReader one(*cv, {"method", "levels", "else"}, sink_);
            if (!one.valid()) continue;
            MatchComparisonSetting setting;
            if (auto x2 = one.Get("method")) {
              if (auto method = ReadChoice(*x2, kMasterMethods)) setting.method = *method;
            }
            if (auto x2 = one.Get("else")) setting.else_weight = ReadNumber(*x2, -1000, 1000);
            if (auto x2 = one.Get("levels")) {
              const std::string example = "[[0.97, 5], [0.9, 3]] (similarity at least, weight)";
              double previous = 2.0;
              for (const Value& level : detail::ListItems(*x2, example, sink_)) {
                if (!level.node.IsSequence() || level.node.size() != 2) {
                  Report(level, "expected a pair [similarity, weight] like [0.9, 3]; got " + Describe(level.node));
                  continue;
                }
                auto items = detail::ListItems(level, example, sink_);
                auto sim = ReadNumber(items[0], 0, 1);
                auto weight = ReadNumber(items[1], -1000, 1000);
                if (!sim || !weight) continue;
                if (*sim >= previous) {
                  Report(items[0], "expected levels with the highest similarity first; this one is not below the one before");
                  continue;
                }
                previous = *sim;
                setting.levels.emplace_back(*sim, *weight);
              }
            }
            ms.comparisons[name] = std::move(setting);
          }
        }
      }
      if (auto b = mm.Get("blocking")) {
        const std::string example = "[[mobile], [email], [name_key, city]]";
        for (const Value& rule : detail::ListItems(*b, example, sink_)) {
          std::vector<std::string> fields;
          bool written = false;
          if (rule.node.IsScalar()) {
            Report(rule, "expected a list of fields like [name_key, city]; got " + Describe(rule.node));
            continue;
          }
          for (const Value& f : detail::ListItems(rule, example, sink_)) {
            written = true;
            auto text = ReadNonEmpty(f, "a blocking field");
            if (!text) continue;
            if (!Contains(kMasterBlockingFields, text->value) && !text->value.starts_with("attr:")) {
              Report(f, "expected a blocking field, " + Alternatives(kMasterBlockingFields) + " or attr:<name>; got " +
                            text->shown + DidYouMean(text->value, kMasterBlockingFields));
              continue;
            }
            fields.push_back(text->value);
          }
          if (fields.empty()) {
            if (!written) Report(rule, "expected at least one field, like [mobile]");
            continue;
          }
          ms.blocking.push_back(std::move(fields));
        }
      }
    }
  }
  if (auto x = m.Get("survivorship")) {
    std::vector<std::string> keys = kGoldenAttributes;
    keys.push_back("default");
    MapReader sm(*x, keys, sink_);
    if (sm.valid()) {
      if (auto d = sm.Get("default")) {
        if (auto rule = ReadChoice(*d, {"most_recent", "most_frequent", "non_empty"})) ms.default_rule = *rule;
      }
      for (const std::string& attr : kGoldenAttributes) {
        auto av = sm.Get(attr);
        if (!av) continue;
        SurvivorshipSetting setting;
        std::optional<Value> rule_value;
        if (av->node.IsScalar()) {
          rule_value = *av;
        } else {
          MapReader one(*av, {"rule", "sources"}, sink_);
          if (!one.valid()) continue;
          rule_value = one.Get("rule");
          if (!rule_value) {
            Missing(one.self(), "rule", Alternatives(kSurvivorshipRules) + ", like rule: source_priority");
            continue;
          }
          setting.sources = one.Get("sources") ? ReadNameList(one, "sources", "system", "[kingdee, shopify]",
                                                              [](const std::string&) { return std::nullopt; })
                                               : std::vector<std::string>{};
        }
        auto rule = ReadChoice(*rule_value, kSurvivorshipRules);
        if (!rule) continue;
        setting.rule = *rule;
        if (*rule == "union" && !Contains(kGoldenListAttributes, attr)) {
          Report(*rule_value, "union is for list attributes (" + Join(kGoldenListAttributes) + "); " + Quote(attr) +
                                  " has one value: use source_priority, most_recent, most_frequent or non_empty");
          continue;
        }
        if (*rule == "source_priority" && setting.sources.empty()) {
          Report(*rule_value, "source_priority needs the systems in order of trust, like {rule: source_priority, "
                              "sources: [kingdee, shopify]}");
          continue;
        }
        ms.survivorship[attr] = std::move(setting);
      }
    }
  }
}

LoadResult Loader::Run() {
  std::string text;
  if (std::optional<std::string> failure = detail::ReadFileText(path_, kMaxConfigBytes, &text)) {
    sink_.Add({}, "", "cannot read the configuration file: " + *failure);
    return Finish();
  }
  if (const std::size_t slash = path_.rfind('/'); slash != std::string::npos) {
    substitution_.base_dir = slash == 0 ? "/" : path_.substr(0, slash);
  }
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text);
  } catch (const YAML::ParserException& e) {
    std::string message = "invalid YAML: " + e.msg;
    if (e.msg.find("alias") != std::string::npos || e.msg.find("anchor") != std::string::npos) {
      message += " (a value that starts with \"*\" or \"&\" must be quoted, like \"*\")";
    } else if (e.msg.find("tab") != std::string::npos) {
      message += " (indent with spaces)";
    } else if (e.msg == "illegal map value") {
      message += " (a value that contains \": \" must be quoted)";
    } else if (e.msg.find("flow") != std::string::npos &&
               LineAt(text, e.mark.line).find("${") != std::string_view::npos) {
      // Inside { } or [ ], the braces of ${...} end a plain value.
      message +=
          " (inside { } or [ ], a value with ${...} must be quoted, like path: "
          "\"${data_dir}/out/events.jsonl\")";
    }
    sink_.Add(detail::PositionOf(e.mark), "", std::move(message));
    return Finish();
  }
  YAML::Node root = documents.empty() ? YAML::Node(YAML::NodeType::Null) : documents.front();
  for (std::size_t i = 1; i < documents.size(); ++i) {
    if (documents[i].IsNull()) continue;
    sink_.Add(detail::PositionOf(documents[i].Mark()), "",
              "expected one YAML document; another one starts here (remove the \"---\" above it)");
    break;
  }
  Position start = detail::PositionOf(root.Mark());
  if (start.line == 0) start = {1, 1};
  ReadTop(Value{root, "", start, {1, 1}});
  return Finish();
}

LoadResult Loader::Finish() {
  LoadResult result;
  result.diagnostics = sink_.Take();
  if (result.diagnostics.empty()) {
    config_.file = path_;
    result.config = std::move(config_);
  }
  return result;
}

}  // namespace

LoadResult LoadConfig(const std::string& path, const Overrides& overrides) {
  try {
    return Loader(path, overrides).Run();
  } catch (const std::exception& e) {
    // yaml-cpp or the standard library failed in a way the loader did not foresee.
    LoadResult result;
    result.diagnostics.push_back(
        Diagnostic{path, 0, 0, "", std::string("internal error while loading: ") + e.what()});
    return result;
  } catch (...) {
    LoadResult result;
    result.diagnostics.push_back(
        Diagnostic{path, 0, 0, "", "internal error while loading: unknown exception"});
    return result;
  }
}

}  // namespace channelhub::config
