#include "hub/config/yaml_reader.hpp"

#include <algorithm>
#include <utility>

#include "hub/config/text.hpp"

namespace channelhub::config::detail {

Position PositionOf(const YAML::Mark& mark) {
  if (mark.line < 0 || mark.column < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

void DiagnosticSink::Add(Position where, std::string key, std::string message) {
  diagnostics_.push_back(
      Diagnostic{file_, where.line, where.column, std::move(key), std::move(message)});
}

std::vector<Diagnostic> DiagnosticSink::Take() {
  std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::pair(a.line, a.column) < std::pair(b.line, b.column);
                   });
  return std::exchange(diagnostics_, {});
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return Quote(node.Scalar());
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

std::string ChildKey(std::string_view parent, std::string_view child) {
  if (parent.empty()) return std::string(child);
  std::string key(parent);
  key += '.';
  key += child;
  return key;
}

namespace {

// Where a value is written: empty values have no useful mark of their own, so use the key's.
Position ValuePosition(const YAML::Node& value, Position key_where) {
  if (value.IsNull()) return key_where;
  const Position where = PositionOf(value.Mark());
  return where.line > 0 ? where : key_where;
}

}  // namespace

std::vector<NamedValue> MapEntries(const Value& map, DiagnosticSink& sink) {
  std::vector<NamedValue> entries;
  if (map.node.IsNull()) return entries;
  if (!map.node.IsMap()) {
    sink.Add(map.where, map.key,
             "expected a map of \"name: value\" lines; got " + Describe(map.node));
    return entries;
  }
  for (auto it = map.node.begin(); it != map.node.end(); ++it) {
    // Copies: "it->" yields a temporary pair, and yaml-cpp nodes are cheap handles.
    const YAML::Node key_node = it->first;
    const YAML::Node value_node = it->second;
    Position key_where = PositionOf(key_node.Mark());
    if (key_where.line == 0) key_where = map.where;
    if (!key_node.IsScalar()) {
      sink.Add(key_where, map.key, "expected a name as key; got " + Describe(key_node));
      continue;
    }
    const std::string name = key_node.Scalar();
    const std::string key = ChildKey(map.key, name);
    const bool duplicate = std::any_of(entries.begin(), entries.end(),
                                       [&](const NamedValue& e) { return e.name == name; });
    if (duplicate) {
      // yaml-cpp keeps both; lookups would silently use the first one.
      sink.Add(key_where, key, "duplicate key " + Quote(name) + "; it is already set above");
      continue;
    }
    entries.push_back(
        NamedValue{name, Value{value_node, key, ValuePosition(value_node, key_where), key_where}});
  }
  return entries;
}

std::vector<Value> ListItems(const Value& list, std::string_view example, DiagnosticSink& sink) {
  std::vector<Value> items;
  if (list.node.IsNull()) return items;
  if (!list.node.IsSequence()) {
    sink.Add(list.where, list.key,
             "expected a list like " + std::string(example) + "; got " + Describe(list.node));
    return items;
  }
  std::size_t index = 0;
  for (const YAML::Node& item : list.node) {
    const std::string key = list.key + "[" + std::to_string(index++) + "]";
    Position where = PositionOf(item.Mark());
    if (item.IsNull() || where.line == 0) where = list.where;
    items.push_back(Value{item, key, where, where});
  }
  return items;
}

MapReader::MapReader(const Value& map, std::vector<std::string> allowed, DiagnosticSink& sink)
    : self_(map) {
  if (map.node.IsNull()) return;
  if (!map.node.IsMap()) {
    std::vector<std::string> shown = allowed;
    if (shown.size() > 4) {
      shown.resize(4);
      shown.push_back("...");
    }
    sink.Add(map.where, map.key,
             "expected a map of settings (" + Join(shown) + "); got " + Describe(map.node));
    valid_ = false;
    return;
  }
  for (NamedValue& entry : MapEntries(map, sink)) {
    if (std::find(allowed.begin(), allowed.end(), entry.name) == allowed.end()) {
      std::string message = "unknown key " + Quote(entry.name);
      std::string suggestion = DidYouMean(entry.name, allowed);
      message += suggestion.empty() ? "; expected one of " + Join(allowed) : suggestion;
      sink.Add(entry.value.key_where, entry.value.key, std::move(message));
      continue;
    }
    entries_.push_back(std::move(entry));
  }
}

std::optional<Value> MapReader::Get(std::string_view key) const {
  for (const NamedValue& entry : entries_) {
    if (entry.name == key) return entry.value;
  }
  return std::nullopt;
}

}  // namespace channelhub::config::detail
