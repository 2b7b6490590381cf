#include "hub/mapping/engine.hpp"

#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <pugixml.hpp>
#include <set>
#include <sstream>
#include <variant>

#include "hub/common/json.hpp"
#include "hub/mapping/json_path.hpp"
#include "hub/mapping/transform.hpp"
#include "hub/model/customer.hpp"
#include "hub/model/order.hpp"
#include "hub/model/stock_level.hpp"

namespace channelhub::mapping {
namespace {

// ------------------------------------------------------------------------------------------
// What the canonical schema says a target key holds.

enum class Leaf { kText, kDecimal, kTime, kInteger, kBoolean, kTextArray, kObjectArray, kObject, kFree };

std::string_view LeafName(Leaf l) {
  switch (l) {
    case Leaf::kText: return "a text";
    case Leaf::kDecimal: return "a decimal";
    case Leaf::kTime: return "a date-time";
    case Leaf::kInteger: return "an integer";
    case Leaf::kBoolean: return "a boolean";
    case Leaf::kTextArray: return "a list of texts";
    case Leaf::kObjectArray: return "a list of objects (map it with each: and rules:)";
    case Leaf::kObject: return "an object (map its fields, e.g. buyer.name)";
    case Leaf::kFree: return "free-form (ext)";
  }
  return "a value";
}

// Whether a rule yielding "kind" can fill a "leaf" (a string is checked when the event runs).
bool Compatible(Scalar::Kind kind, Leaf leaf) {
  using K = Scalar::Kind;
  if (kind == K::kNull || kind == K::kString) return true;
  switch (leaf) {
    case Leaf::kText:
    case Leaf::kTextArray:
    case Leaf::kFree: return true;
    case Leaf::kDecimal: return kind == K::kDecimal || kind == K::kInteger;
    case Leaf::kTime: return kind == K::kTime;
    case Leaf::kInteger: return kind == K::kInteger;
    case Leaf::kBoolean: return kind == K::kBoolean;
    default: return false;
  }
}

class Schema {
 public:
  Status Load(const std::string& file) {
    std::ifstream in(file);
    if (!in) return Status::NotFound("cannot read the canonical schema " + file);
    std::stringstream ss;
    ss << in.rdbuf();
    return json::Parse(ss.str(), &doc_).Prepend(file + ": ");
  }
  const rapidjson::Value& root() const { return doc_; }

  // Follows a local "$ref": "#/definitions/name"; "*def" gets the name.
  const rapidjson::Value& Resolve(const rapidjson::Value& v, std::string* def) const {
    const rapidjson::Value* cur = &v;
    for (int i = 0; i < 8 && cur->IsObject() && cur->HasMember("$ref"); ++i) {
      std::string ref = (*cur)["$ref"].GetString();
      const std::string prefix = "#/definitions/";
      if (ref.rfind(prefix, 0) != 0) break;
      *def = ref.substr(prefix.size());
      auto& defs = doc_["definitions"];
      auto it = defs.FindMember(def->c_str());
      if (it == defs.MemberEnd()) break;
      cur = &it->value;
    }
    return *cur;
  }

  Leaf Classify(const rapidjson::Value& node) const {
    std::string def;
    const rapidjson::Value& v = Resolve(node, &def);
    if (def == "decimal") return Leaf::kDecimal;
    if (def == "date_time") return Leaf::kTime;
    std::string type = v.HasMember("type") && v["type"].IsString() ? v["type"].GetString() : "";
    if (type == "integer") return Leaf::kInteger;
    if (type == "boolean") return Leaf::kBoolean;
    if (type == "array") {
      std::string d2;
      const rapidjson::Value& items = Resolve(v["items"], &d2);
      std::string it = items.HasMember("type") && items["type"].IsString() ? items["type"].GetString() : "";
      return it == "object" ? Leaf::kObjectArray : Leaf::kTextArray;
    }
    if (type == "object") return Leaf::kObject;
    return Leaf::kText;
  }

  // The schema node of "path" below "object" (an object schema), or an error naming what exists.
  Result<const rapidjson::Value*> Find(const rapidjson::Value& object,
                                       const std::vector<std::string>& path) const {
    const rapidjson::Value* cur = &object;
    for (std::size_t i = 0; i < path.size(); ++i) {
      std::string def;
      const rapidjson::Value& o = Resolve(*cur, &def);
      if (!o.IsObject() || !o.HasMember("properties")) {
        return Status::Invalid("\"" + path[i - 1] + "\" holds no fields");
      }
      const auto& props = o["properties"];
      auto it = props.FindMember(path[i].c_str());
      if (it == props.MemberEnd()) {
        std::string known;
        for (const auto& m : props.GetObject()) {
          if (!known.empty()) known += ", ";
          known += m.name.GetString();
        }
        return Status::Invalid("no field \"" + path[i] + "\" in the canonical model here; fields: " + known);
      }
      cur = &it->value;
    }
    return cur;
  }

  // The object schema of an array-of-objects node's items.
  const rapidjson::Value& Items(const rapidjson::Value& node) const {
    std::string def;
    const rapidjson::Value& v = Resolve(node, &def);
    return Resolve(v["items"], &def);
  }

 private:
  rapidjson::Document doc_;
};

std::vector<std::string> SplitDots(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == '.') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::vector<std::string> SplitSlashes(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == '/') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// ------------------------------------------------------------------------------------------
// Compiled rules

enum class Format { kJson, kXml };

// One compiled path: JSON path or XPath.
struct Selector {
  std::optional<JsonPath> json;
  std::shared_ptr<pugi::xpath_query> xpath;
  std::string text;
};

// A node of the input: a JSON value or an XML node.
struct Node {
  const rapidjson::Value* json = nullptr;
  pugi::xpath_node xml;
};

struct Part {  // of a concat: a literal or a selector
  std::optional<Selector> selector;
  std::string literal;
};

// One operand of a math: expression, and the operator before it ('+' for the first).
struct Term {
  char op = '+';
  std::optional<Selector> selector;  // else the literal
  std::string literal;
};

struct Rule {
  std::string target;               // dotted, as written
  std::vector<std::string> path;    // target split at dots
  Leaf leaf = Leaf::kText;
  int line = 0;

  std::vector<Selector> from;       // first that yields a value
  std::vector<Part> concat;
  std::vector<Term> math;           // decimal arithmetic: "price * quantity - total_discount"
  std::optional<std::string> constant;
  std::optional<int> index_base;    // index: N
  std::optional<std::string> default_value;
  bool required = false;
  std::optional<Selector> when;
  std::optional<std::string> when_equals;
  std::vector<std::unique_ptr<Transform>> transforms;

  std::optional<Selector> each;     // lists of objects
  std::vector<Rule> children;
};

const std::set<std::string> kTargets = {"order", "customer", "stock_level"};

}  // namespace

class CompiledMapping {
 public:
  std::string file;
  Format format = Format::kJson;
  std::string target;
  bool keep_unmapped = false;
  std::optional<Selector> when;   // no entity unless this path has a value
  std::optional<Selector> split;  // one entity per selected element
  bool outbound = false;          // direction: out: target is the canonical entity read
  std::string root_element;       // outbound XML
  std::vector<Rule> rules;
  std::set<std::string> read_members;  // top-level JSON members some rule reads
};

// ------------------------------------------------------------------------------------------
// Loading

namespace {

struct Where {
  int line = 0;
  int column = 0;
};

Where WhereOf(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return {};
  return {m.line + 1, m.column + 1};
}

class Compiler {
 public:
  Compiler(std::string file, std::string dir, const Schema& schema)
      : file_(std::move(file)), dir_(std::move(dir)), schema_(schema) {}

  void Error(const YAML::Node& at, const std::string& key, std::string message) {
    Where w = WhereOf(at);
    diags_.push_back({file_, w.line, w.column, key, std::move(message)});
  }
  void Error(Where w, const std::string& key, std::string message) {
    diags_.push_back({file_, w.line, w.column, key, std::move(message)});
  }

  std::optional<Selector> CompileSelector(const YAML::Node& n, const std::string& key) {
    if (!n.IsScalar()) {
      Error(n, key, "expected a path");
      return std::nullopt;
    }
    Selector s;
    s.text = n.Scalar();
    if (format_ == Format::kJson || out_) {
      auto p = JsonPath::Compile(s.text);
      if (!p.ok()) {
        Error(n, key, "bad JSON path \"" + s.text + "\": " + p.status().message());
        return std::nullopt;
      }
      s.json = std::move(p).value();
      if (out_ && !CheckSourcePath(n, key, *s.json)) return std::nullopt;
      if (top_level_ && !s.json->from_root() && !s.json->head().empty()) {
        mapping_->read_members.insert(s.json->head());
      }
      if (top_level_ && s.json->head().empty()) all_read_ = true;
    } else {
      try {
        s.xpath = std::make_shared<pugi::xpath_query>(s.text.c_str());
      } catch (const pugi::xpath_exception& e) {
        Error(n, key, "bad XPath \"" + s.text + "\" at offset " +
                          std::to_string(e.result().offset) + ": " + e.what());
        return std::nullopt;
      }
    }
    return s;
  }

  // Outbound: a path must name fields of the canonical entity (ext is free-form). On success,
  // "*items" (if given) gets the schema of the elements a list path selects.
  bool CheckSourcePath(const YAML::Node& n, const std::string& key, const JsonPath& path,
                       const rapidjson::Value** items = nullptr) {
    const rapidjson::Value* cur = path.from_root() ? &schema_.root() : source_scope_;
    std::string where;
    for (const std::string& step : path.StepNames()) {
      std::string def;
      const rapidjson::Value& node = schema_.Resolve(*cur, &def);
      if (step.empty()) {  // an index or wildcard
        if (!node.IsObject() || !node.HasMember("items")) {
          Error(n, key, "\"" + path.text() + "\": " + (where.empty() ? "the entity" : where) + " is not a list");
          return false;
        }
        cur = &schema_.Items(*cur);
        continue;
      }
      if (where == "ext" || where.rfind("ext.", 0) == 0) return true;
      auto found = schema_.Find(*cur, {step});
      if (!found.ok()) {
        Error(n, key, "\"" + path.text() + "\": " + found.status().message());
        return false;
      }
      cur = *found;
      where = where.empty() ? step : where + "." + step;
    }
    if (items) *items = cur;
    return true;
  }

  std::unique_ptr<Transform> CompileOneTransform(const YAML::Node& n, const std::string& key) {
    std::string name;
    TransformArgs args;
    if (n.IsScalar()) {
      name = n.Scalar();
    } else if (n.IsMap() && n.size() == 1) {
      auto it = n.begin();
      const YAML::Node k = it->first;
      const YAML::Node v = it->second;
      name = k.Scalar();
      if (v.IsScalar()) {
        args.positional.push_back(v.Scalar());
      } else if (v.IsSequence()) {
        for (const auto& e : v) {
          if (!e.IsScalar()) {
            Error(e, key, name + ": positional arguments must be plain values");
            return nullptr;
          }
          args.positional.push_back(e.Scalar());
        }
      } else if (v.IsMap()) {
        for (auto a = v.begin(); a != v.end(); ++a) {
          const YAML::Node ak = a->first;
          const YAML::Node av = a->second;
          if (ak.Scalar() == "table" && av.IsMap()) {
            for (auto t = av.begin(); t != av.end(); ++t) {
              const YAML::Node tk = t->first;
              const YAML::Node tv = t->second;
              args.table[tk.Scalar()] = tv.IsNull() ? "" : tv.Scalar();
            }
          } else if (av.IsScalar() || av.IsNull()) {
            args.named[ak.Scalar()] = av.IsNull() ? "" : av.Scalar();
          } else {
            Error(av, key, name + ": argument \"" + ak.Scalar() + "\" must be a plain value");
            return nullptr;
          }
        }
      }
    } else {
      Error(n, key, "expected a transform name (trim) or one name with its arguments ({decimal: {scale: 2}})");
      return nullptr;
    }
    auto t = CompileTransform(name, args, dir_);
    if (!t.ok()) {
      Error(n, key, t.status().message());
      return nullptr;
    }
    return std::move(t).value();
  }

  // "object_schema": where the rule's target keys are looked up.
  void CompileRules(const YAML::Node& rules, const std::string& key,
                    const rapidjson::Value& object_schema, std::vector<Rule>* out) {
    if (!rules.IsMap()) {
      Error(rules, key, "expected a map of \"target: rule\" lines");
      return;
    }
    for (auto it = rules.begin(); it != rules.end(); ++it) {
      const YAML::Node k = it->first;
      const YAML::Node v = it->second;
      Rule r;
      r.target = k.Scalar();
      r.path = SplitDots(r.target);
      r.line = WhereOf(k).line;
      const std::string rkey = key + "." + r.target;
      if (out_) {  // target keys are places in the output: a.b for JSON, A/B[2]/@c for XML
        r.path = format_ == Format::kXml ? SplitSlashes(r.target) : r.path;
        if (v.IsMap() && v["each"]) {
          CompileOutEach(v, rkey, &r);
        } else if (!CompileRule(v, rkey, &r)) {
          continue;
        }
        out->push_back(std::move(r));
        continue;
      }
      if (r.path[0] == "ext") {
        r.leaf = Leaf::kFree;
      } else {
        auto node = schema_.Find(object_schema, r.path);
        if (!node.ok()) {
          Error(k, rkey, node.status().message());
          continue;
        }
        r.leaf = schema_.Classify(**node);
        if (r.leaf == Leaf::kObject) {
          Error(k, rkey, "\"" + r.target + "\" is " + std::string(LeafName(r.leaf)));
          continue;
        }
        if (r.leaf == Leaf::kObjectArray) {
          CompileEach(v, rkey, schema_.Items(**node), &r);
          out->push_back(std::move(r));
          continue;
        }
      }
      if (CompileRule(v, rkey, &r)) out->push_back(std::move(r));
    }
  }

  void CompileEach(const YAML::Node& v, const std::string& key, const rapidjson::Value& items, Rule* r) {
    if (!v.IsMap() || !v["each"] || !v["rules"]) {
      Error(v, key, "a list of objects is mapped with each: PATH and rules: { ... }");
      return;
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      const YAML::Node k = it->first;
      if (k.Scalar() != "each" && k.Scalar() != "rules") {
        Error(k, key + "." + k.Scalar(), "unknown key \"" + k.Scalar() + "\"; a list takes each: and rules:");
      }
    }
    r->each = CompileSelector(v["each"], key + ".each");
    const bool outer = top_level_;
    top_level_ = false;
    CompileRules(v["rules"], key + ".rules", items, &r->children);
    top_level_ = outer;
  }

  void CompileOutEach(const YAML::Node& v, const std::string& key, Rule* r) {
    if (!v["rules"]) {
      Error(v, key, "each: needs rules: for the fields of every element");
      return;
    }
    if (!v["each"].IsScalar()) {
      Error(v["each"], key + ".each", "expected a path to a list, like $.lines[*]");
      return;
    }
    auto p = JsonPath::Compile(v["each"].Scalar());
    if (!p.ok()) {
      Error(v["each"], key + ".each", "bad JSON path: " + p.status().message());
      return;
    }
    const rapidjson::Value* items = nullptr;
    if (!CheckSourcePath(v["each"], key + ".each", *p, &items)) return;
    Selector s;
    s.text = v["each"].Scalar();
    s.json = std::move(p).value();
    r->each = std::move(s);
    const rapidjson::Value* outer = source_scope_;
    source_scope_ = items;
    CompileRules(v["rules"], key + ".rules", *items, &r->children);
    source_scope_ = outer;
  }

  bool CompileRule(const YAML::Node& v, const std::string& key, Rule* r) {
    if (v.IsScalar()) {  // shorthand: target: PATH
      auto s = CompileSelector(v, key);
      if (!s) return false;
      r->from.push_back(std::move(*s));
      return true;
    }
    if (!v.IsMap()) {
      Error(v, key, "expected a path or a rule map { from: ..., transform: [...] }");
      return false;
    }
    static const std::vector<std::string> kKeys = {"from", "concat", "math", "const", "index",
                                                   "default", "required", "when", "equals",
                                                   "transform", "type"};
    bool ok = true;
    int sources = 0;
    for (auto it = v.begin(); it != v.end(); ++it) {
      const YAML::Node k = it->first;
      const YAML::Node val = it->second;
      const std::string name = k.Scalar();
      const std::string sub = key + "." + name;
      if (std::find(kKeys.begin(), kKeys.end(), name) == kKeys.end()) {
        std::string known;
        for (const auto& s : kKeys) known += (known.empty() ? "" : ", ") + s;
        Error(k, sub, "unknown rule key \"" + name + "\"; expected one of " + known);
        ok = false;
        continue;
      }
      if (name == "type") {
        const std::string t = val.IsScalar() ? val.Scalar() : "";
        if (!out_ || format_ != Format::kJson) {
          Error(k, sub, "type: sets the JSON type of an outbound field; here the model decides");
          ok = false;
        } else if (t == "string") {
          r->leaf = Leaf::kText;
        } else if (t == "number") {
          r->leaf = Leaf::kDecimal;
        } else if (t == "integer") {
          r->leaf = Leaf::kInteger;
        } else if (t == "boolean") {
          r->leaf = Leaf::kBoolean;
        } else {
          Error(val, sub, "expected string, number, integer or boolean, got \"" + t + "\"");
          ok = false;
        }
        continue;
      }
      if (name == "from") {
        ++sources;
        if (val.IsSequence()) {
          for (const auto& e : val) {
            auto s = CompileSelector(e, sub);
            if (s) r->from.push_back(std::move(*s)); else ok = false;
          }
        } else {
          auto s = CompileSelector(val, sub);
          if (s) r->from.push_back(std::move(*s)); else ok = false;
        }
      } else if (name == "concat") {
        ++sources;
        if (!val.IsSequence()) {
          Error(val, sub, "expected a list of paths and literal texts");
          ok = false;
          continue;
        }
        for (const auto& e : val) {
          Part p;
          const std::string text = e.IsScalar() ? e.Scalar() : "";
          const bool is_path = format_ == Format::kJson || out_ ? text.rfind('$', 0) == 0
                                                        : (text.rfind('/', 0) == 0 || text.rfind("./", 0) == 0);
          if (is_path) {
            p.selector = CompileSelector(e, sub);
            if (!p.selector) ok = false;
          } else {
            p.literal = text;
          }
          r->concat.push_back(std::move(p));
        }
      } else if (name == "math") {
        ++sources;
        // "a * b - c": operands (paths or decimal literals) separated by spaced + - * operators.
        std::istringstream words(val.IsScalar() ? val.Scalar() : "");
        std::string w;
        char op = '+';
        bool expect_operand = true;
        while (words >> w) {
          if (!expect_operand) {
            if (w != "+" && w != "-" && w != "*") {
              Error(val, sub, "expected +, - or * between operands, got \"" + w + "\"");
              ok = false;
              break;
            }
            op = w[0];
            expect_operand = true;
            continue;
          }
          Term t;
          t.op = op;
          if (Decimal::Parse(w).ok()) {
            t.literal = w;
          } else {
            YAML::Node path(w);
            t.selector = CompileSelector(path, sub);
            if (!t.selector) ok = false;
          }
          r->math.push_back(std::move(t));
          expect_operand = false;
        }
        if (r->math.empty() || expect_operand) {
          Error(val, sub, "expected an expression like \"price * quantity - total_discount\"");
          ok = false;
        }
      } else if (name == "const") {
        ++sources;
        r->constant = val.IsNull() ? "" : val.Scalar();
      } else if (name == "index") {
        ++sources;
        try {
          r->index_base = val.as<int>();
        } catch (const YAML::Exception&) {
          Error(val, sub, "expected the number of the first element, e.g. 1");
          ok = false;
        }
      } else if (name == "default") {
        r->default_value = val.Scalar();
      } else if (name == "required") {
        try {
          r->required = val.as<bool>();
        } catch (const YAML::Exception&) {
          Error(val, sub, "expected true or false");
          ok = false;
        }
      } else if (name == "when") {
        r->when = CompileSelector(val, sub);
        if (!r->when) ok = false;
      } else if (name == "equals") {
        r->when_equals = val.Scalar();
      } else if (name == "transform") {
        std::vector<YAML::Node> items;
        if (val.IsSequence()) {
          for (const auto& e : val) items.push_back(e);
        } else {
          items.push_back(val);
        }
        for (std::size_t i = 0; i < items.size(); ++i) {
          auto t = CompileOneTransform(items[i], sub + "[" + std::to_string(i) + "]");
          if (!t) {
            ok = false;
            continue;
          }
          if (!r->transforms.empty() && !t->input_kinds().Contains(r->transforms.back()->output_kind())) {
            Error(items[i], sub + "[" + std::to_string(i) + "]",
                  t->name() + " takes " + t->input_kinds().ToString() + ", but " +
                      r->transforms.back()->name() + " gives " +
                      std::string(KindName(r->transforms.back()->output_kind())));
            ok = false;
          }
          r->transforms.push_back(std::move(t));
        }
      }
    }
    if (r->when_equals && !r->when) {
      Error(v, key, "equals: needs a when: path to compare");
      ok = false;
    }
    if (sources != 1 && (ok || sources > 1)) {  // after an unknown key, this would be noise
      Error(v, key, sources == 0 ? "a rule needs one of from:, concat:, math:, const: or index:"
                                 : "a rule takes only one of from:, concat:, math:, const: and index:");
      return false;
    }
    if (ok && !r->transforms.empty() && !Compatible(r->transforms.back()->output_kind(), r->leaf)) {
      Error(v, key, "the rule gives " + std::string(KindName(r->transforms.back()->output_kind())) +
                        ", but \"" + r->target + "\" is " + std::string(LeafName(r->leaf)));
      ok = false;
    }
    return ok;
  }

  MappingLoadResult Compile(const YAML::Node& root) {
    MappingLoadResult out;
    mapping_ = std::make_shared<CompiledMapping>();
    mapping_->file = file_;
    if (!root.IsMap()) {
      Error(root, "", "expected a mapping file: format:, target:, rules:");
      out.diagnostics = std::move(diags_);
      return out;
    }
    const std::string direction = root["direction"] ? root["direction"].Scalar() : "in";
    out_ = direction == "out";
    mapping_->outbound = out_;
    if (direction != "in" && direction != "out") {
      Error(root["direction"], "direction",
            "expected in (a payload to the canonical model) or out (the canonical model to a "
            "payload), got \"" + direction + "\"");
    }
    const std::vector<std::string> kTop =
        out_ ? std::vector<std::string>{"description", "direction", "format", "source", "root", "rules"}
             : std::vector<std::string>{"description", "direction", "format", "target", "when",
                                        "split", "keep_unmapped", "rules"};
    for (auto it = root.begin(); it != root.end(); ++it) {
      const YAML::Node k = it->first;
      if (std::find(kTop.begin(), kTop.end(), k.Scalar()) == kTop.end()) {
        std::string known;
        for (const auto& t : kTop) known += (known.empty() ? "" : ", ") + t;
        Error(k, k.Scalar(), "unknown key \"" + k.Scalar() + "\" in a direction: " + direction +
                                 " mapping; expected " + known);
      }
    }
    const std::string format = root["format"] ? root["format"].Scalar() : "";
    if (format == "json") {
      format_ = Format::kJson;
    } else if (format == "xml") {
      format_ = Format::kXml;
    } else {
      Error(root["format"] ? root["format"] : root, "format", "expected json or xml, got \"" + format + "\"");
    }
    mapping_->format = format_;
    const char* entity_key = out_ ? "source" : "target";
    mapping_->target = root[entity_key] ? root[entity_key].Scalar() : "";
    if (!kTargets.count(mapping_->target)) {
      Error(root[entity_key] ? root[entity_key] : root, entity_key,
            "expected order, customer or stock_level, got \"" + mapping_->target + "\"");
      out.diagnostics = std::move(diags_);
      return out;
    }
    if (out_) {
      source_scope_ = &schema_.root();
      if (format_ == Format::kXml) {
        mapping_->root_element = root["root"] && root["root"].IsScalar() ? root["root"].Scalar() : "";
        if (mapping_->root_element.empty()) {
          Error(root, "root", "an XML output needs root: the name of its root element, like ORDERS05");
        }
      }
    }
    if (root["keep_unmapped"]) {
      try {
        mapping_->keep_unmapped = root["keep_unmapped"].as<bool>();
      } catch (const YAML::Exception&) {
        Error(root["keep_unmapped"], "keep_unmapped", "expected true or false");
      }
      if (mapping_->keep_unmapped && format_ == Format::kXml) {
        Error(root["keep_unmapped"], "keep_unmapped", "keep_unmapped works on JSON payloads only");
      }
    }
    if (root["when"] && !out_) {
      // Only payloads where this path has a value make an entity; others make none.
      top_level_ = false;
      mapping_->when = CompileSelector(root["when"], "when");
      top_level_ = true;
    }
    if (root["split"]) {
      // The rules then read each element, and keep_unmapped keeps the elements' members.
      top_level_ = false;
      mapping_->split = CompileSelector(root["split"], "split");
      top_level_ = true;
    }
    if (!root["rules"]) {
      Error(root, "rules", "missing rules:");
    } else {
      CompileRules(root["rules"], "rules", schema_.root(), &mapping_->rules);
    }
    if (all_read_) mapping_->keep_unmapped = false;
    if (diags_.empty()) out.mapping = mapping_;
    out.diagnostics = std::move(diags_);
    return out;
  }

 private:
  std::string file_;
  std::string dir_;
  const Schema& schema_;
  Format format_ = Format::kJson;
  std::shared_ptr<CompiledMapping> mapping_;
  std::vector<MappingDiagnostic> diags_;
  bool top_level_ = true;
  bool all_read_ = false;
  bool out_ = false;                                // direction: out
  const rapidjson::Value* source_scope_ = nullptr;  // outbound: the schema paths start from
};

}  // namespace

std::string MappingDiagnostic::ToString() const {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line) + ":" + std::to_string(column);
  s += ": ";
  if (!key.empty()) s += key + ": ";
  return s + message;
}

MappingLoadResult LoadMapping(const std::string& path, const std::string& schema_dir) {
  MappingLoadResult out;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    out.diagnostics.push_back({path, 0, 0, "", "cannot read the mapping file"});
    return out;
  } catch (const YAML::ParserException& e) {
    out.diagnostics.push_back({path, e.mark.line + 1, e.mark.column + 1, "", "invalid YAML: " + e.msg});
    return out;
  }
  const bool outbound = root.IsMap() && root["direction"] && root["direction"].IsScalar() &&
                        root["direction"].Scalar() == "out";
  const char* entity_key = outbound ? "source" : "target";
  std::string target = root.IsMap() && root[entity_key] && root[entity_key].IsScalar()
                           ? root[entity_key].Scalar()
                           : "";
  Schema schema;
  if (kTargets.count(target)) {
    Status st = schema.Load((std::filesystem::path(schema_dir) / (target + ".schema.json")).string());
    if (!st.ok()) {
      out.diagnostics.push_back({path, 0, 0, entity_key, st.message()});
      return out;
    }
  }
  try {
    Compiler c(path, std::filesystem::path(path).parent_path().string(), schema);
    return c.Compile(root);
  } catch (const YAML::Exception& e) {
    out.diagnostics.push_back({path, e.mark.line + 1, e.mark.column + 1, "", e.msg});
    return out;
  }
}

const std::string& MappingTarget(const CompiledMapping& m) { return m.target; }
const std::string& MappingFile(const CompiledMapping& m) { return m.file; }

// ------------------------------------------------------------------------------------------
// Running

namespace {

using rapidjson::Value;
using Alloc = rapidjson::Document::AllocatorType;

Scalar ScalarOf(const rapidjson::Value& v) {
  if (v.IsString()) return Scalar::String(std::string(v.GetString(), v.GetStringLength()));
  if (v.IsBool()) return Scalar::Boolean(v.GetBool());
  if (v.IsInt64()) return Scalar::Integer(v.GetInt64());
  if (v.IsUint64()) return Scalar::String(std::to_string(v.GetUint64()));
  if (v.IsNumber()) {
    // The shortest text that reads back as the same double: the digits the sender wrote for
    // any amount of up to 15 significant digits.
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    w.Double(v.GetDouble());
    return Scalar::String(sb.GetString());
  }
  if (v.IsNull()) return Scalar::Null();
  return Scalar::String(json::ToCompact(v));
}

class Runner {
 public:
  Runner(const CompiledMapping& m, Node root) : m_(m), root_(root) {}

  std::vector<Node> Select(const Selector& s, const Node& at) const {
    std::vector<Node> out;
    if (s.json) {
      std::vector<const rapidjson::Value*> found;
      s.json->Select(*root_.json, *at.json, &found);
      for (const auto* v : found) out.push_back(Node{v, {}});
    } else {
      // Elements are the only contexts: "each" selects elements, and the root is the document.
      pugi::xpath_node_set set = s.xpath->evaluate_node_set(at.xml);
      for (const auto& n : set) out.push_back(Node{nullptr, n});
    }
    return out;
  }

  static Scalar ScalarOfNode(const Node& n) {
    if (n.json) return ScalarOf(*n.json);
    std::string text = n.xml.attribute() ? n.xml.attribute().value() : n.xml.node().text().get();
    if (text.empty()) return Scalar::Null();
    return Scalar::String(std::move(text));
  }

  static bool Present(const Scalar& s) {
    return !s.is_null() && !s.text().empty();
  }

  // The values a rule yields: one, or several for a wildcard into a list of texts.
  Result<std::vector<Scalar>> Values(const Rule& r, const Node& at, std::size_t index) const {
    std::vector<Scalar> vals;
    if (r.constant) {
      vals.push_back(Scalar::String(*r.constant));
    } else if (r.index_base) {
      vals.push_back(Scalar::Integer(static_cast<int64_t>(index) + *r.index_base));
    } else if (!r.math.empty()) {
      // A sum of products: "a * b - c * d" is (a*b) - (c*d).
      Decimal sum;
      std::optional<Decimal> product;
      char sign = '+';
      auto add_product = [&]() -> Status {
        if (!product) return Status::Ok();
        auto next = sign == '-' ? sum.Sub(*product) : sum.Add(*product);
        if (!next.ok()) return next.status();
        sum = *next;
        return Status::Ok();
      };
      bool missing = false;
      for (const Term& t : r.math) {
        std::string text = t.literal;
        if (t.selector) {
          auto found = Select(*t.selector, at);
          Scalar s = found.empty() ? Scalar::Null() : ScalarOfNode(found.front());
          if (!Present(s)) {
            missing = true;  // an operand without a value: the result has none either
            break;
          }
          text = s.text();
        }
        auto d = Decimal::Parse(text);
        if (!d.ok()) return Status::Invalid("math: \"" + text + "\" is not a decimal");
        if (t.op == '*') {
          auto p = product->Mul(*d);
          if (!p.ok()) return p.status();
          product = *p;
        } else {
          CHUB_RETURN_IF_ERROR(add_product());
          sign = t.op;
          product = *d;
        }
      }
      if (!missing) CHUB_RETURN_IF_ERROR(add_product());
      vals.push_back(missing ? Scalar::Null() : Scalar::FromDecimal(sum));
    } else if (!r.concat.empty()) {
      std::string text;
      bool any = false;
      for (const Part& p : r.concat) {
        if (!p.selector) {
          text += p.literal;
          continue;
        }
        for (const Node& n : Select(*p.selector, at)) {
          Scalar s = ScalarOfNode(n);
          if (Present(s)) {
            text += s.text();
            any = true;
          }
          break;
        }
      }
      vals.push_back(any ? Scalar::String(text) : Scalar::Null());
    } else {
      for (const Selector& s : r.from) {
        for (const Node& n : Select(s, at)) {
          Scalar v = ScalarOfNode(n);
          if (Present(v)) vals.push_back(std::move(v));
          if (r.leaf != Leaf::kTextArray && !vals.empty()) break;
        }
        if (!vals.empty()) break;
      }
      if (vals.empty()) vals.push_back(Scalar::Null());
    }
    for (Scalar& v : vals) {
      for (const auto& t : r.transforms) {
        auto out = t->Apply(v);
        if (!out.ok()) return out.status();
        v = std::move(out).value();
      }
      if (!Present(v) && r.default_value) v = Scalar::String(*r.default_value);
    }
    vals.erase(std::remove_if(vals.begin(), vals.end(), [](const Scalar& s) { return !Present(s); }),
               vals.end());
    return vals;
  }

  static Value& Slot(Value& obj, const std::vector<std::string>& path, Alloc& a) {
    Value* cur = &obj;
    for (const std::string& seg : path) {
      if (!cur->IsObject()) cur->SetObject();
      auto it = cur->FindMember(seg.c_str());
      if (it == cur->MemberEnd()) {
        cur->AddMember(Value(seg.c_str(), a), Value(), a);
        it = cur->FindMember(seg.c_str());
      }
      cur = &it->value;
    }
    return *cur;
  }

  Status Write(const Rule& r, const std::vector<Scalar>& vals, Value& obj, Alloc& a) const {
    Value& slot = Slot(obj, r.path, a);
    if (r.leaf == Leaf::kTextArray) {
      if (!slot.IsArray()) slot.SetArray();
      for (const Scalar& v : vals) slot.PushBack(Value(v.text().c_str(), a), a);
      return Status::Ok();
    }
    const Scalar& v = vals.front();
    if (r.leaf == Leaf::kInteger) {
      auto s = Scalar::Parse(Scalar::Kind::kInteger, v.text());
      if (!s.ok()) return Status::Invalid("expected an integer, got \"" + v.text() + "\"");
      slot.SetInt64(std::stoll(s->text()));
    } else if (r.leaf == Leaf::kBoolean) {
      auto s = Scalar::Parse(Scalar::Kind::kBoolean, v.text());
      if (!s.ok()) return Status::Invalid("expected true or false, got \"" + v.text() + "\"");
      slot.SetBool(s->text() == "true");
    } else if (r.leaf == Leaf::kTime && v.kind() != Scalar::Kind::kTime) {
      auto s = Scalar::Parse(Scalar::Kind::kTime, v.text());
      if (!s.ok()) return s.status();
      slot.SetString(s->text().c_str(), a);
    } else {
      slot.SetString(v.text().c_str(), a);
    }
    return Status::Ok();
  }

  Status Apply(const std::vector<Rule>& rules, const Node& at, std::size_t index, Value& obj,
               Alloc& a, const std::string& where) const {
    for (const Rule& r : rules) {
      const std::string name = where.empty() ? r.target : where + "." + r.target;
      auto fail = [&](const std::string& msg) {
        return Status::Invalid(m_.file + ":" + std::to_string(r.line) + ": " + name + ": " + msg);
      };
      if (r.when) {
        auto found = Select(*r.when, at);
        Scalar w = found.empty() ? Scalar::Null() : ScalarOfNode(found.front());
        bool holds = r.when_equals ? w.text() == *r.when_equals
                                   : Present(w) && w.text() != "false" && w.text() != "0";
        if (!holds) continue;
      }
      if (r.each) {
        auto elems = Select(*r.each, at);
        Value list(rapidjson::kArrayType);
        for (std::size_t i = 0; i < elems.size(); ++i) {
          Value item(rapidjson::kObjectType);
          CHUB_RETURN_IF_ERROR(Apply(r.children, elems[i], i, item, a,
                                     r.target + "[" + std::to_string(i) + "]"));
          list.PushBack(item, a);
        }
        Slot(obj, r.path, a) = list;
        continue;
      }
      auto vals = Values(r, at, index);
      if (!vals.ok()) return fail(vals.status().message());
      if (vals->empty()) {
        if (r.required) {
          std::string what = !r.from.empty() ? r.from.front().text : "the rule";
          return fail("required, but " + what + " has no value");
        }
        continue;
      }
      Status st = Write(r, *vals, obj, a);
      if (!st.ok()) return fail(st.message());
    }
    return Status::Ok();
  }

 private:
  const CompiledMapping& m_;
  Node root_;
};

Result<std::string> Canonicalise(const std::string& target, const std::string& json) {
  if (target == "order") {
    auto o = model::OrderFromJson(json);
    if (!o.ok()) return o.status();
    return model::ToJson(*o);
  }
  if (target == "customer") {
    auto c = model::CustomerFromJson(json);
    if (!c.ok()) return c.status();
    return model::ToJson(*c);
  }
  auto s = model::StockLevelFromJson(json);
  if (!s.ok()) return s.status();
  return model::ToJson(*s);
}

}  // namespace

namespace {

// Maps one entity from "at" (the payload's root, or one element of split:).
Result<std::string> MapEntity(const CompiledMapping& m, const Runner& runner, const Node& at,
                              std::size_t index, const std::string& where) {
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  CHUB_RETURN_IF_ERROR(runner.Apply(m.rules, at, index, out, a, where));
  if (m.keep_unmapped && at.json && at.json->IsObject()) {
    for (const auto& member : at.json->GetObject()) {
      std::string name(member.name.GetString(), member.name.GetStringLength());
      if (m.read_members.count(name) || member.value.IsNull()) continue;
      Value& ext = Runner::Slot(out, {"ext"}, a);
      if (!ext.IsObject()) ext.SetObject();
      if (ext.HasMember(name.c_str())) continue;
      ext.AddMember(Value(name.c_str(), a), Value(member.value, a), a);
    }
  }
  auto canon = Canonicalise(m.target, json::ToCompact(out));
  if (!canon.ok()) {
    return Status::Invalid(m.file + ": the mapped " + m.target + (where.empty() ? "" : " " + where) +
                           " is not valid: " + canon.status().message());
  }
  return canon;
}

}  // namespace

namespace {

// The output of an outbound mapping: a JSON value or an XML element to fill.
struct OutNode {
  rapidjson::Value* json = nullptr;
  pugi::xml_node xml;
};

// "NAME" or "NAME[n]" (the n-th element of that name, 1-based, created as needed).
pugi::xml_node XmlChild(pugi::xml_node parent, const std::string& seg, bool fresh) {
  std::string name = seg;
  int nth = 1;
  auto open = seg.find('[');
  if (open != std::string::npos && seg.back() == ']') {
    name = seg.substr(0, open);
    nth = std::max(1, std::atoi(seg.substr(open + 1).c_str()));
  }
  if (fresh) return parent.append_child(name.c_str());
  int seen = 0;
  for (pugi::xml_node c = parent.child(name.c_str()); c; c = c.next_sibling(name.c_str())) {
    if (++seen == nth) return c;
  }
  pugi::xml_node c;
  for (; seen < nth; ++seen) c = parent.append_child(name.c_str());
  return c;
}

class OutRunner {
 public:
  OutRunner(const CompiledMapping& m, const Runner& runner, rapidjson::Document::AllocatorType& a)
      : m_(m), runner_(runner), a_(a) {}

  Status Apply(const std::vector<Rule>& rules, const Node& at, std::size_t index, OutNode out,
               const std::string& where) const {
    for (const Rule& r : rules) {
      const std::string name = where.empty() ? r.target : where + "." + r.target;
      auto fail = [&](const std::string& msg) {
        return Status::Invalid(m_.file + ":" + std::to_string(r.line) + ": " + name + ": " + msg);
      };
      if (r.when) {
        auto found = runner_.Select(*r.when, at);
        Scalar w = found.empty() ? Scalar::Null() : Runner::ScalarOfNode(found.front());
        bool holds = r.when_equals ? w.text() == *r.when_equals
                                   : Runner::Present(w) && w.text() != "false" && w.text() != "0";
        if (!holds) continue;
      }
      if (r.each) {
        auto elems = runner_.Select(*r.each, at);
        if (out.json) {
          Value list(rapidjson::kArrayType);
          for (std::size_t i = 0; i < elems.size(); ++i) {
            Value item(rapidjson::kObjectType);
            CHUB_RETURN_IF_ERROR(Apply(r.children, elems[i], i, OutNode{&item, {}},
                                       r.target + "[" + std::to_string(i) + "]"));
            list.PushBack(item, a_);
          }
          Runner::Slot(*out.json, r.path, a_) = list;
        } else {
          for (std::size_t i = 0; i < elems.size(); ++i) {
            pugi::xml_node parent = out.xml;
            for (std::size_t s = 0; s + 1 < r.path.size(); ++s) parent = XmlChild(parent, r.path[s], false);
            pugi::xml_node item = XmlChild(parent, r.path.back(), /*fresh=*/true);
            CHUB_RETURN_IF_ERROR(Apply(r.children, elems[i], i, OutNode{nullptr, item},
                                       r.target + "[" + std::to_string(i) + "]"));
          }
        }
        continue;
      }
      auto vals = runner_.Values(r, at, index);
      if (!vals.ok()) return fail(vals.status().message());
      if (vals->empty()) {
        if (r.required) return fail("required, but " + (r.from.empty() ? std::string("the rule") : r.from.front().text) + " has no value");
        continue;
      }
      const Scalar& v = vals->front();
      if (out.json) {
        Value& slot = Runner::Slot(*out.json, r.path, a_);
        if (r.leaf == Leaf::kDecimal) {
          auto d = Decimal::Parse(v.text());
          if (!d.ok()) return fail("expected a number, got \"" + v.text() + "\"");
          // JSON numbers are doubles to most receivers: exact up to 15 significant digits.
          slot.SetDouble(std::strtod(v.text().c_str(), nullptr));
        } else if (r.leaf == Leaf::kInteger) {
          auto s = Scalar::Parse(Scalar::Kind::kInteger, v.text());
          if (!s.ok()) return fail("expected an integer, got \"" + v.text() + "\"");
          slot.SetInt64(std::stoll(s->text()));
        } else if (r.leaf == Leaf::kBoolean) {
          auto s = Scalar::Parse(Scalar::Kind::kBoolean, v.text());
          if (!s.ok()) return fail("expected true or false, got \"" + v.text() + "\"");
          slot.SetBool(s->text() == "true");
        } else {
          slot.SetString(v.text().c_str(), a_);
        }
      } else {
        pugi::xml_node node = out.xml;
        for (std::size_t s = 0; s < r.path.size(); ++s) {
          const std::string& seg = r.path[s];
          if (seg[0] == '@') {
            node.remove_attribute(seg.c_str() + 1);
            node.append_attribute(seg.c_str() + 1).set_value(v.text().c_str());
            break;
          }
          node = XmlChild(node, seg, false);
          if (s + 1 == r.path.size()) node.text().set(v.text().c_str());
        }
      }
    }
    return Status::Ok();
  }

 private:
  const CompiledMapping& m_;
  const Runner& runner_;
  rapidjson::Document::AllocatorType& a_;
};

struct XmlText : pugi::xml_writer {
  std::string out;
  void write(const void* data, size_t size) override { out.append(static_cast<const char*>(data), size); }
};

Result<std::string> RunOutbound(const CompiledMapping& m, std::string_view payload) {
  rapidjson::Document in;
  Status st = json::Parse(payload, &in);
  if (!st.ok()) return st.Prepend(m.file + ": the canonical " + m.target + " is not JSON: ");
  Node root{&in, {}};
  Runner runner(m, root);
  rapidjson::Document json_out(rapidjson::kObjectType);
  OutRunner out(m, runner, json_out.GetAllocator());
  if (m.format == Format::kJson) {
    CHUB_RETURN_IF_ERROR(out.Apply(m.rules, root, 0, OutNode{&json_out, {}}, ""));
    return json::ToCompact(json_out);
  }
  pugi::xml_document doc;
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  pugi::xml_node top = doc.append_child(m.root_element.c_str());
  CHUB_RETURN_IF_ERROR(out.Apply(m.rules, root, 0, OutNode{nullptr, top}, ""));
  XmlText text;
  doc.save(text, "  ", pugi::format_default, pugi::encoding_utf8);
  return text.out;
}

}  // namespace

bool MappingIsOutbound(const CompiledMapping& m) { return m.outbound; }

Result<std::vector<std::string>> RunMappingEntities(const CompiledMapping& m, std::string_view payload) {
  if (m.outbound) {
    auto one = RunOutbound(m, payload);
    if (!one.ok()) return one.status();
    return std::vector<std::string>{std::move(one).value()};
  }
  rapidjson::Document in;
  pugi::xml_document doc;
  Node root;
  if (m.format == Format::kJson) {
    Status st = json::Parse(payload, &in);
    if (!st.ok()) return st.Prepend(m.file + ": the payload is not JSON: ");
    root.json = &in;
  } else {
    pugi::xml_parse_result pr = doc.load_buffer(payload.data(), payload.size());
    if (!pr) {
      return Status::Invalid(m.file + ": the payload is not XML: " + pr.description() +
                             " at offset " + std::to_string(pr.offset));
    }
    root.xml = pugi::xpath_node(doc);
  }
  Runner runner(m, root);
  std::vector<std::string> entities;
  if (m.when) {
    auto found = runner.Select(*m.when, root);
    if (found.empty() || !Runner::Present(Runner::ScalarOfNode(found.front()))) return entities;
  }
  if (!m.split) {
    auto one = MapEntity(m, runner, root, 0, "");
    if (!one.ok()) return one.status();
    entities.push_back(std::move(one).value());
    return entities;
  }
  auto elements = runner.Select(*m.split, root);
  for (std::size_t i = 0; i < elements.size(); ++i) {
    auto one = MapEntity(m, runner, elements[i], i, "[" + std::to_string(i) + "]");
    if (!one.ok()) return one.status();
    entities.push_back(std::move(one).value());
  }
  return entities;
}

Result<std::string> RunMapping(const CompiledMapping& m, std::string_view payload) {
  auto entities = RunMappingEntities(m, payload);
  if (!entities.ok()) return entities.status();
  if (entities->empty()) return std::string("[]");
  if (!m.split || m.outbound) return std::move(entities->front());
  std::string out = "[";
  for (std::size_t i = 0; i < entities->size(); ++i) {
    if (i) out += ",";
    out += (*entities)[i];
  }
  return out + "]";
}

namespace {

class FileMapper final : public Mapper {
 public:
  explicit FileMapper(std::shared_ptr<const CompiledMapping> m) : m_(std::move(m)) {}

  Result<std::vector<MappedEvent>> Map(const InboundPayload& in) const override {
    auto entities = RunMappingEntities(*m_, in.body);
    if (!entities.ok()) return entities.status();
    std::vector<MappedEvent> out;
    for (std::string& data : *entities) out.push_back(Event(in, std::move(data)));
    return out;
  }

 private:
  MappedEvent Event(const InboundPayload& in, std::string data) const {
    rapidjson::Document d;
    (void)json::Parse(data, &d);
    auto str = [&d](const char* pointer) -> std::string {
      const Value* v = rapidjson::Pointer(pointer).Get(d);
      return v && v->IsString() ? std::string(v->GetString()) : std::string();
    };
    MappedEvent ev;
    std::string id;
    if (m_->target == "order") {
      ev.type = "com.channelhub.order.upserted";
      id = str("/source/id");
      if (id.empty()) id = str("/order_no");
      ev.subject = "order/" + std::string(in.source) + "/" + id;
    } else if (m_->target == "customer") {
      ev.type = "com.channelhub.customer.upserted";
      ev.subject = "customer/" + std::string(in.source) + "/" + str("/source/id");
    } else {
      ev.type = "com.channelhub.stock.updated";
      ev.subject = "stock/" + std::string(in.source) + "/" + str("/warehouse") + "/" + str("/sku");
    }
    ev.data_json = std::move(data);
    return ev;
  }

  std::shared_ptr<const CompiledMapping> m_;
};

}  // namespace

std::unique_ptr<Mapper> MakeFileMapper(std::shared_ptr<const CompiledMapping> mapping) {
  return std::make_unique<FileMapper>(std::move(mapping));
}

}  // namespace channelhub::mapping
