// Reading a yaml-cpp document with positions and dotted key paths, collecting diagnostics instead
// of throwing. Internal to hub/config: the only header there that includes yaml-cpp.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/config/config.hpp"

namespace channelhub::config::detail {

// A 1-based place in the file; 0 when unknown.
struct Position {
  int line = 0;
  int column = 0;
};

// yaml-cpp marks are 0-based and -1 when the node has no place (an empty value).
Position PositionOf(const YAML::Mark& mark);

// Collects the diagnostics of one file. Not thread-safe.
class DiagnosticSink {
 public:
  explicit DiagnosticSink(std::string file) : file_(std::move(file)) {}

  void Add(Position where, std::string key, std::string message);
  bool empty() const { return diagnostics_.empty(); }
  const std::string& file() const { return file_; }

  // The diagnostics in file order (those without a position first); leaves the sink empty.
  std::vector<Diagnostic> Take();

 private:
  std::string file_;
  std::vector<Diagnostic> diagnostics_;
};

// One value of the document, with its dotted key and where it is written.
struct Value {
  YAML::Node node;  // may be Null (absent or empty)
  std::string key;  // "destinations.erp.retry.initial", "routes[0].to[1]"; "" for the root
  Position where;   // of the value; of its key when the value is empty
  Position
      key_where;  // of its key (of the item, for a list item); missing sub-keys are reported here
};

// "a map", "a list", "nothing", or the quoted scalar as written (never a substituted value).
std::string Describe(const YAML::Node& node);

// "parent.child", or "child" for the root.
std::string ChildKey(std::string_view parent, std::string_view child);

// One entry of a map whose keys are names chosen by the user (sources, destinations, headers).
struct NamedValue {
  std::string name;
  Value value;
};

// The entries of "map" in file order. Reports (and skips) keys that are not plain names and
// duplicated names. A Null "map" has no entries; a list or scalar is reported as not a map.
std::vector<NamedValue> MapEntries(const Value& map, DiagnosticSink& sink);

// The entries of "list" in file order, keyed "key[i]". Null has no entries; a map or scalar is
// reported as not a list, with "example" showing the expected form.
std::vector<Value> ListItems(const Value& list, std::string_view example, DiagnosticSink& sink);

// A map of fixed settings. Reports keys not in "allowed" (with a "did you mean"), duplicated keys,
// and a value that is not a map at all; an empty (Null) value is an empty map.
class MapReader {
 public:
  MapReader(const Value& map, std::vector<std::string> allowed, DiagnosticSink& sink);

  // The value under "key", or nullopt when the key is absent.
  std::optional<Value> Get(std::string_view key) const;

  // False when the value was neither a map nor empty (and that has been reported): the caller
  // should not report its keys as missing too.
  bool valid() const { return valid_; }

  // The map itself, for reporting a missing key at its place.
  const Value& self() const { return self_; }

 private:
  Value self_;
  bool valid_ = true;
  std::vector<NamedValue> entries_;
};

}  // namespace channelhub::config::detail
