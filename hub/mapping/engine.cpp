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
#include "hub/mapping/engine_internal.hpp"
#include "hub/mapping/json_path.hpp"
#include "hub/mapping/transform.hpp"
#include "hub/model/customer.hpp"
#include "hub/model/order.hpp"
#include "hub/model/stock_level.hpp"

namespace channelhub::mapping {

using namespace internal;  // NOLINT: this file builds the internal types

namespace {

// ------------------------------------------------------------------------------------------
// What the canonical schema says a target key holds.

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

const std::set<std::string> kTargets = {"order", "customer", "stock_level"};

}  // namespace

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

  // "text" (when given) is the path, a part of the scalar "n" (a math: operand); else n's text.
  std::optional<Selector> CompileSelector(const YAML::Node& n, const std::string& key,
                                          const std::string* text = nullptr) {
    if (!n.IsScalar()) {
      Error(n, key, "expected a path");
      return std::nullopt;
    }
    Selector s;
    s.text = text ? *text : n.Scalar();
    if (format_ == Format::kJson || out_) {
      auto p = JsonPath::Compile(s.text);
      if (!p.ok()) {
        const bool xpath = s.text.starts_with("/") || s.text.starts_with("./");
        Error(n, key, "bad JSON path \"" + s.text + "\": " + p.status().message() +
                          (xpath && !out_ ? " (this mapping reads JSON, format: json; XPath is for format: xml)" : ""));
        return std::nullopt;
      }
      s.json = std::move(p).value();
      if (out_) {
        const rapidjson::Value* field = nullptr;
        if (!CheckSourcePath(n, key, *s.json, &field)) return std::nullopt;
        if (field != nullptr) s.source = schema_.Classify(*field);
      }
      if (top_level_ && !s.json->from_root() && !s.json->head().empty()) {
        mapping_->read_members.insert(s.json->head());
        if (!mapping_->split) mapping_->root_names.MarkRead(mapping_->root_names.Add(s.json->head()));
      }
      if (top_level_ && s.json->head().empty()) all_read_ = true;
      // Paths read at the root (top-level rules, unless split: makes them read elements; and
      // $$ paths) find their first member through the per-payload index.
      if (!out_ && s.json->single() && !s.json->head().empty() &&
          (s.json->from_root() || (top_level_ && !mapping_->split))) {
        s.json->set_head_slot(mapping_->root_names.Add(s.json->head()));
      }
      // Relative paths read at a list's element find their first member through the
      // per-element index.
      if (!out_ && item_names_ && s.json->single() && !s.json->head().empty() && !s.json->from_root()) {
        s.json->set_item_slot(item_names_->Add(s.json->head()));
      }
    } else {
      try {
        s.xpath = std::make_shared<pugi::xpath_query>(s.text.c_str());
        if (const pugi::xpath_value_type type = s.xpath->return_type(); type != pugi::xpath_type_node_set) {
          const char* gives = type == pugi::xpath_type_number    ? "a number"
                              : type == pugi::xpath_type_boolean ? "true or false"
                                                                 : "a string";
          Error(n, key, "XPath \"" + s.text + "\" gives " + gives +
                            ", not nodes: a path selects elements, attributes or text(); keep functions "
                            "inside a predicate (//A[normalize-space(B)='x']/C) and use transforms (trim, "
                            "decimal, ...) on the value");
          return std::nullopt;
        }
        s.fast_xml = CompileXmlPath(s.text, &mapping_->xml_index_names);
        if (s.fast_xml && item_names_ && !s.fast_xml->absolute &&
            s.fast_xml->steps.front().kind == XmlStep::Kind::kChild) {
          s.fast_xml->steps.front().item_slot = item_names_->Add(s.fast_xml->steps.front().name);
        }
      } catch (const pugi::xpath_exception& e) {
        std::string hint;
        if (s.text.starts_with("$")) {
          hint = " (this mapping reads XML, format: xml: write XPath, like //ORDER/NO; $ paths are for JSON)";
        } else if (std::count(s.text.begin(), s.text.end(), '\'') % 2 == 1 ||
                   std::count(s.text.begin(), s.text.end(), '"') % 2 == 1) {
          hint = " (a quote is not closed)";
        }
        Error(n, key, "bad XPath \"" + s.text + "\" at offset " +
                          std::to_string(e.result().offset) + ": " + e.what() + hint);
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
    std::vector<Placed> placed;  // this map's targets so far, to refuse two rules for one place
    for (auto it = rules.begin(); it != rules.end(); ++it) {
      const YAML::Node k = it->first;
      const YAML::Node v = it->second;
      Rule r;
      r.target = k.Scalar();
      r.path = SplitDots(r.target);
      r.line = WhereOf(k).line;
      const std::string rkey = key + "." + r.target;
      const bool xml_out = out_ && format_ == Format::kXml;
      if (xml_out) r.path = SplitSlashes(r.target);
      if (std::string bad = BadTarget(r.target, r.path, xml_out); !bad.empty()) {
        Error(k, rkey, bad);
        continue;
      }
      if (std::string clash = Clash(&placed, r, xml_out); !clash.empty()) {
        Error(k, rkey, clash);
        continue;
      }
      if (out_) {  // target keys are places in the output: a.b for JSON, A/B[2]/@c for XML
        if (v.IsMap() && v["each"]) {
          CompileOutEach(v, rkey, &r);
        } else if (!CompileRule(v, rkey, &r)) {
          continue;
        } else if (std::string bad = OutboundSampleProblem(r); !bad.empty()) {
          Error(k, rkey, bad);
          continue;
        }
        out->push_back(std::move(r));
        continue;
      }
      if (r.path[0] == "ext") {
        if (r.path.size() == 1) {
          Error(k, rkey, "\"ext\" is an object; map its fields, e.g. ext.note: $.note (keep_unmapped: true "
                         "keeps every member no rule reads)");
          continue;
        }
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

  // Where a rule writes, as written (for messages) and compared: XML steps without a "[1]".
  struct Placed {
    std::vector<std::string> path;
    std::string target;
    int line = 0;
  };

  // What is wrong with a rule's target as a place in the output, or "".
  static std::string BadTarget(const std::string& target, const std::vector<std::string>& path, bool xml) {
    if (!xml) {
      for (const std::string& part : path) {
        if (part.empty()) {
          return "\"" + target + "\" has an empty part; write the field's dotted name, like buyer.name";
        }
      }
      return "";
    }
    if (path.empty()) return "expected an element path, like E1EDK01/BELNR or E1EDP01/@SEGMENT";
    for (std::size_t i = 0; i < path.size(); ++i) {
      std::string_view step = path[i];
      const bool attribute = !step.empty() && step.front() == '@';
      if (attribute) {
        step.remove_prefix(1);
        if (i + 1 != path.size()) return "\"@" + std::string(step) + "\": an attribute can only be the last step";
      }
      if (const auto open = step.find('['); !attribute && open != std::string_view::npos) {
        const std::string_view n = step.substr(open + 1);
        if (n.size() < 2 || n.back() != ']' || n.front() == '0' ||
            !std::all_of(n.begin(), n.end() - 1, [](char c) { return c >= '0' && c <= '9'; })) {
          return "\"" + std::string(step) + "\": a step's position is written [N], N from 1";
        }
        step = step.substr(0, open);
      }
      if (!XmlName(step)) {
        return "\"" + std::string(step) + "\" is not an XML " + (attribute ? "attribute" : "element") +
               " name (a letter or _ first, then letters, digits, -, _, . or :)";
      }
    }
    return "";
  }

  // An XML Name, as XML 1.0 allows it (any non-ASCII byte taken as a name character).
  static bool XmlName(std::string_view s) {
    auto start = [](unsigned char c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || c >= 0x80;
    };
    if (s.empty() || !start(static_cast<unsigned char>(s.front()))) return false;
    return std::all_of(s.begin() + 1, s.end(), [&](char ch) {
      const auto c = static_cast<unsigned char>(ch);
      return start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
    });
  }

  // Two rules of one map that write to the same place, or one inside the other's value: an
  // error naming the first. XML may put attributes on an element that has text ("A" and "A/@x").
  static std::string Clash(std::vector<Placed>* placed, const Rule& r, bool xml) {
    Placed p{r.path, r.target, r.line};
    if (xml) {
      for (std::string& step : p.path) {
        if (step.size() > 3 && step.compare(step.size() - 3, 3, "[1]") == 0) step.resize(step.size() - 3);
      }
    }
    for (const Placed& q : *placed) {
      const auto& shorter = q.path.size() <= p.path.size() ? q.path : p.path;
      const auto& longer = q.path.size() <= p.path.size() ? p.path : q.path;
      if (!std::equal(shorter.begin(), shorter.end(), longer.begin())) continue;
      if (shorter.size() == longer.size()) {
        return "\"" + q.target + "\" is already mapped at line " + std::to_string(q.line) +
               "; a field gets one rule (use from: [a, b] for a first non-empty, concat: to join)";
      }
      if (xml && longer.size() == shorter.size() + 1 && longer.back().front() == '@') continue;
      return "\"" + r.target + "\" and \"" + q.target + "\" (line " + std::to_string(q.line) +
             ") overlap: one is written inside the other's value; map the inner fields only";
    }
    placed->push_back(std::move(p));
    return "";
  }

  // Outbound: what every event would fail with, told now. The model fixes the form of its
  // decimal, date-time, integer and boolean fields, so a sample of that form goes through the
  // rule's transforms and its type: (a const: goes as it is). Text fields hold anything and are
  // not sampled. "" when the rule can work.
  std::string OutboundSampleProblem(const Rule& r) {
    Scalar sample;
    std::string what;
    Leaf source = Leaf::kText;
    if (r.constant) {
      sample = Scalar::String(*r.constant);
      what = "const: \"" + *r.constant + "\"";
    } else if (r.from.size() == 1 && r.from.front().json && r.concat.empty() && r.math.empty()) {
      source = r.from.front().source;
      switch (source) {
        case Leaf::kDecimal: sample = Scalar::String("12.50"); break;
        case Leaf::kTime: sample = Scalar::String("2025-06-18T01:30:00Z"); break;
        case Leaf::kInteger: sample = Scalar::Integer(7); break;
        case Leaf::kBoolean: sample = Scalar::Boolean(true); break;
        default: return "";
      }
      what = r.from.front().text + " (" + std::string(LeafName(source)) + ", like \"" + sample.text() + "\")";
    } else {
      return "";
    }
    for (const auto& t : r.transforms) {
      auto out = t->Apply(sample);
      if (!out.ok()) return "every value of " + what + " would fail: " + out.status().message();
      sample = std::move(out).value();
    }
    if (sample.is_null()) return "";
    const bool as_is = r.transforms.empty() && !r.constant;
    switch (r.leaf) {
      case Leaf::kDecimal:
        if (!Decimal::Parse(sample.text()).ok()) {
          return "type: number, but " + what + (r.transforms.empty() ? "" : " after the transforms") + " gives \"" +
                 sample.text() + "\", which is not a number";
        }
        break;
      case Leaf::kInteger:
        // A decimal field may hold whole numbers only: not decided by a sample.
        if (!(as_is && source == Leaf::kDecimal) && !Scalar::Parse(Scalar::Kind::kInteger, sample.text()).ok()) {
          return "type: integer, but " + what + (r.transforms.empty() ? "" : " after the transforms") + " gives \"" +
                 sample.text() + "\", which is not an integer";
        }
        break;
      case Leaf::kBoolean:
        if (!Scalar::Parse(Scalar::Kind::kBoolean, sample.text()).ok()) {
          return "type: boolean, but " + what + " gives \"" + sample.text() + "\"; expected true or false";
        }
        break;
      default: break;
    }
    return "";
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
    NameTable* outer_items = item_names_;
    top_level_ = false;
    auto names = std::make_shared<NameTable>();
    item_names_ = names.get();
    CompileRules(v["rules"], key + ".rules", items, &r->children);
    top_level_ = outer;
    item_names_ = outer_items;
    if (names->size() > 0) r->item_names = std::move(names);
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
    static const std::vector<std::string> kKeys = {"from", "concat", "separator", "math", "const", "index",
                                                   "default", "required", "when", "equals",
                                                   "transform", "type"};
    bool ok = true;
    int sources = 0;
    for (auto it = v.begin(); it != v.end(); ++it) {
      const YAML::Node k = it->first;
      const YAML::Node val = it->second;
      const std::string name = k.Scalar();
      const std::string sub = key + "." + name;
      if (name == "rules" && !out_ && v["each"]) continue;  // told once, at each:
      if ((name == "each" || name == "rules") && !out_) {
        Error(k, sub, "\"" + r->target + "\" is " + std::string(LeafName(r->leaf)) +
                          ", not a list of objects: each: and rules: map lists like lines; " +
                          (r->leaf == Leaf::kTextArray ? "a wildcard path in from: collects every value ($.tags[*])"
                                                       : "give it one value with from:"));
        ok = false;
        continue;
      }
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
          Error(k, sub, out_ ? "type: sets the JSON type of a field, and XML has only text: leave it out (format "
                               "the value with a transform, e.g. decimal_to_cents or datetime_format)"
                             : "type: sets the JSON type of an outbound field; here the model decides");
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
          if (e.IsMap()) {  // { text: "/" }: literal text that would otherwise read as a path
            if (e.size() != 1 || !e["text"] || !e["text"].IsScalar()) {
              Error(e, sub, "expected a path, a literal text, or { text: \"...\" } for a literal that starts "
                            "like a path");
              ok = false;
              continue;
            }
            p.literal = e["text"].Scalar();
            r->concat.push_back(std::move(p));
            continue;
          }
          const std::string text = e.IsScalar() ? e.Scalar() : "";
          const bool is_path = format_ == Format::kJson || out_ ? text.rfind('$', 0) == 0
                                                        : (text.rfind('/', 0) == 0 || text.rfind("./", 0) == 0);
          if (is_path && (text == "/" || text == "$")) {
            Error(e, sub, "\"" + text + "\" reads as the whole payload, not as text; write { text: \"" + text +
                              "\" } for the character itself");
            ok = false;
            continue;
          }
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
          if (w.find_first_of("()/") != std::string::npos && (format_ == Format::kJson || out_)) {
            Error(val, sub, "math has +, - and * over paths and numbers, without parentheses or /; got \"" + w +
                                "\" (split the sum into products, or use cents_to_decimal for minor units)");
            ok = false;
            break;
          }
          if (Decimal::Parse(w).ok()) {
            t.literal = w;
          } else if (w.size() > 1 && (w[0] == '-' || w[0] == '+')) {
            Error(val, sub, "\"" + w + "\" reads as a path named " + w + "; math has no sign before a path: write "
                                "\"0 - " + w.substr(1) + "\" (or put the minus between two operands)");
            ok = false;
            break;
          } else {
            t.selector = CompileSelector(val, sub, &w);
            if (!t.selector) ok = false;
          }
          r->math.push_back(std::move(t));
          expect_operand = false;
        }
        if (ok && (r->math.empty() || expect_operand)) {
          Error(val, sub, "expected an expression like \"price * quantity - total_discount\"");
          ok = false;
        }
      } else if (name == "const") {
        ++sources;
        r->constant = val.IsNull() ? "" : val.Scalar();
        r->constant_at = {WhereOf(val).line, WhereOf(val).column};
      } else if (name == "index") {
        ++sources;
        if (!out_ && top_level_ && !mapping_->split) {
          Error(val, sub, "index: numbers the elements of a list; use it inside each: (or with split:)");
          ok = false;
          continue;
        }
        r->index_at = {WhereOf(val).line, WhereOf(val).column};
        try {
          r->index_base = val.as<int>();
        } catch (const YAML::Exception&) {
          Error(val, sub, "expected the number of the first element, e.g. 1");
          ok = false;
        }
      } else if (name == "separator") {
        if (!v["concat"]) {
          Error(k, sub, "separator: goes with concat: (it is put between the parts that have a value)");
          ok = false;
          continue;
        }
        if (!val.IsScalar()) {
          Error(val, sub, "expected a text, like \" \" or \", \"");
          ok = false;
          continue;
        }
        r->separator = val.Scalar();
      } else if (name == "default") {
        r->default_value = val.Scalar();
        r->default_at = {WhereOf(val).line, WhereOf(val).column};
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
          const Scalar::Kind before = r->transforms.empty() ? Scalar::Kind::kNull : r->transforms.back()->output_kind();
          const bool as_text = before == Scalar::Kind::kInteger && t->input_kinds().Contains(Scalar::Kind::kString);
          if (!r->transforms.empty() && !t->input_kinds().Contains(before) && !as_text) {
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

  // ---- The output plan (inbound): rules laid out as the entity's JSON.

  static PlanNode* ObjectMember(PlanNode* obj, const std::string& key) {
    for (PlanNode& m : obj->members) {
      if (m.key == key && m.kind == PlanNode::Kind::kObject) return &m;
    }
    PlanNode n;
    n.key = key;
    obj->members.push_back(std::move(n));
    return &obj->members.back();
  }

  static PlanNode* ExtNode(PlanNode* root) {
    PlanNode* ext = ObjectMember(root, "ext");
    ext->is_ext = true;
    return ext;
  }

  static void BuildPlan(const std::vector<Rule>& rules, PlanNode* obj) {
    for (const Rule& r : rules) {
      PlanNode* parent = obj;
      for (std::size_t i = 0; i + 1 < r.path.size(); ++i) {
        parent = i == 0 && r.path[0] == "ext" && obj->key.empty() ? ExtNode(obj) : ObjectMember(parent, r.path[i]);
      }
      PlanNode n;
      n.key = r.path.back();
      n.rule = &r;
      n.kind = r.each ? PlanNode::Kind::kList : PlanNode::Kind::kLeaf;
      n.direct = !r.each && (r.leaf == Leaf::kText || r.leaf == Leaf::kFree) && !r.from.empty() &&
                 r.transforms.empty() && !r.default_value &&
                 std::all_of(r.from.begin(), r.from.end(), FastSelector);
      n.fused = !r.each && r.leaf == Leaf::kDecimal && !r.from.empty() && r.concat.empty() && r.math.empty() &&
                !r.constant && !r.index_base && r.transforms.size() == 1 &&
                std::all_of(r.from.begin(), r.from.end(), FastSelector);
      n.math_fused = !r.each && r.leaf == Leaf::kDecimal && !r.math.empty() && r.transforms.size() <= 1;
      if (r.each) BuildPlan(r.children, &n);
      parent->members.push_back(std::move(n));
    }
  }

  // A path the emitter's fast paths read: a single JSON path, or an XPath of the simple shape.
  static bool FastSelector(const Selector& s) { return (s.json && s.json->single()) || s.fast_xml; }

  static std::string KeyJson(const std::string& key) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    w.Key(key.c_str(), static_cast<rapidjson::SizeType>(key.size()));
    return std::string(sb.GetString(), sb.GetSize()) + ":";
  }

  static std::optional<int64_t> IntMember(const rapidjson::Value& v, const char* name) {
    if (!v.IsObject() || !v.HasMember(name) || !v[name].IsInt64()) return std::nullopt;
    return v[name].GetInt64();
  }

  // The enum, pattern and bounds of a schema node.
  LeafCheck CheckOf(const rapidjson::Value& node) {
    std::string def;
    const rapidjson::Value& v = schema_.Resolve(node, &def);
    LeafCheck c;
    if (v.IsObject() && v.HasMember("enum") && v["enum"].IsArray()) {
      for (const auto& e : v["enum"].GetArray()) {
        if (e.IsString()) c.enum_values.emplace_back(e.GetString(), e.GetStringLength());
      }
    }
    c.minimum = IntMember(v, "minimum");
    c.maximum = IntMember(v, "maximum");
    if (def == "decimal" || def == "date_time") return c;  // canonical by construction
    if (v.IsObject() && v.HasMember("pattern") && v["pattern"].IsString()) {
      c.pattern_text = v["pattern"].GetString();
      static const std::vector<std::pair<std::string, LeafCheck::Pattern>> kKnown = {
          {"^[A-Z]{2}$", LeafCheck::Pattern::kUpper2},
          {"^[A-Z]{3}$", LeafCheck::Pattern::kUpper3},
          {"^[0-9A-Z]{18}$", LeafCheck::Pattern::kCreditCode},
          {"^\\+[1-9][0-9]{6,14}$", LeafCheck::Pattern::kE164},
          {"^[^@ \\t\\r\\n]+@[^@ \\t\\r\\n]+$", LeafCheck::Pattern::kEmail},
      };
      c.pattern = LeafCheck::Pattern::kRegex;
      for (const auto& [text, kind] : kKnown) {
        if (text == c.pattern_text) c.pattern = kind;
      }
      if (c.pattern == LeafCheck::Pattern::kRegex) {
        try {
          c.regex = std::make_shared<const std::regex>(c.pattern_text, std::regex::ECMAScript);
        } catch (const std::regex_error&) {
          c.pattern = LeafCheck::Pattern::kNone;  // the schema's own problem; the model checks it
        }
      }
    }
    return c;
  }

  // Orders "obj"'s members as the schema lists them, fills in what the schema demands of each,
  // and reports keys the schema requires that no rule fills. "at" locates such reports.
  void Annotate(PlanNode* obj, const rapidjson::Value& object_schema, Where at,
                const std::string& prefix) {
    std::string def;
    const rapidjson::Value& o = schema_.Resolve(object_schema, &def);
    if (!o.IsObject() || !o.HasMember("properties")) return;
    const rapidjson::Value& props = o["properties"];
    std::vector<std::string> order;
    for (const auto& p : props.GetObject()) order.emplace_back(p.name.GetString(), p.name.GetStringLength());
    auto rank = [&order](const std::string& key) {
      return std::find(order.begin(), order.end(), key) - order.begin();
    };
    std::stable_sort(obj->members.begin(), obj->members.end(),
                     [&](const PlanNode& a, const PlanNode& b) { return rank(a.key) < rank(b.key); });
    if (o.HasMember("required") && o["required"].IsArray()) {
      for (const auto& rq : o["required"].GetArray()) obj->required.emplace_back(rq.GetString(), rq.GetStringLength());
    }
    for (const std::string& key : obj->required) {
      const bool present = std::any_of(obj->members.begin(), obj->members.end(),
                                       [&key](const PlanNode& m) { return m.key == key; });
      if (present) continue;
      const rapidjson::Value& node = props[key.c_str()];
      std::string d;
      const rapidjson::Value& resolved = schema_.Resolve(node, &d);
      if (schema_.Classify(node) == Leaf::kObjectArray && !IntMember(resolved, "minItems")) {
        PlanNode empty;  // a list that may be empty: written as []
        empty.kind = PlanNode::Kind::kList;
        empty.key = key;
        obj->members.push_back(std::move(empty));
        continue;
      }
      Error(at, prefix.empty() ? "rules" : prefix,
            "the canonical " + mapping_->target + " requires \"" + (prefix.empty() ? "" : prefix + ".") + key +
                "\"; add a rule for it (a const: or a default: when the payload may lack it)");
    }
    std::stable_sort(obj->members.begin(), obj->members.end(),
                     [&](const PlanNode& a, const PlanNode& b) { return rank(a.key) < rank(b.key); });
    for (PlanNode& m : obj->members) {
      m.key_json = KeyJson(m.key);
      m.comma_key_json = "," + m.key_json;
      m.required_here = std::find(obj->required.begin(), obj->required.end(), m.key) != obj->required.end();
      if (m.is_ext) {
        FreeKeys(&m);
        continue;
      }
      const rapidjson::Value& node = props[m.key.c_str()];
      const std::string name = prefix.empty() ? m.key : prefix + "." + m.key;
      switch (m.kind) {
        case PlanNode::Kind::kObject:
          Annotate(&m, node, at, name);
          break;
        case PlanNode::Kind::kList: {
          std::string d;
          const rapidjson::Value& resolved = schema_.Resolve(node, &d);
          m.keep_empty_list = !IntMember(resolved, "minItems");
          const rapidjson::Value& items = schema_.Items(node);
          m.unique_line_no = items.IsObject() && items.HasMember("properties") &&
                             items["properties"].HasMember("line_no");
          if (m.rule) Annotate(&m, items, Where{m.rule->line, 1}, name + "[]");
          break;
        }
        case PlanNode::Kind::kLeaf:
          if (m.rule->leaf == Leaf::kTextArray) {
            std::string d;
            m.check = CheckOf(schema_.Resolve(node, &d)["items"]);
          } else {
            m.check = CheckOf(node);
          }
          // A const: or default: is known now: one outside the model would fail every event.
          if (m.rule->constant) {
            if (std::string bad = CheckFixedValue(*mapping_, m, *m.rule->constant, true); !bad.empty()) {
              Error(Where{m.rule->constant_at.first, m.rule->constant_at.second}, "rules." + name + ".const", bad);
            }
          }
          if (m.rule->default_value) {
            if (std::string bad = CheckFixedValue(*mapping_, m, *m.rule->default_value, false); !bad.empty()) {
              Error(Where{m.rule->default_at.first, m.rule->default_at.second}, "rules." + name + ".default", bad);
            }
          }
          if (m.rule->index_base && m.check.minimum && *m.rule->index_base < *m.check.minimum) {
            Error(Where{m.rule->index_at.first, m.rule->index_at.second}, "rules." + name + ".index",
                  "the first " + m.key + " would be " + std::to_string(*m.rule->index_base) + ", but it must be at least " +
                      std::to_string(*m.check.minimum));
          }
          break;
      }
    }
  }

  // ext and what is under it: any key, no schema.
  static void FreeKeys(PlanNode* obj) {
    for (PlanNode& m : obj->members) {
      m.key_json = KeyJson(m.key);
      m.comma_key_json = "," + m.key_json;
      if (m.kind == PlanNode::Kind::kObject) FreeKeys(&m);
    }
  }

  // The top-level values an event's subject is made of.
  static void Captures(PlanNode* n, const std::string& prefix) {
    const std::string name = prefix.empty() ? n->key : prefix + "." + n->key;
    if (n->kind == PlanNode::Kind::kObject && !n->is_ext) {
      for (PlanNode& m : n->members) Captures(&m, name);
      return;
    }
    if (name == "source.id") n->capture = kCaptureSourceId;
    if (name == "order_no") n->capture = kCaptureOrderNo;
    if (name == "warehouse") n->capture = kCaptureWarehouse;
    if (name == "sku") n->capture = kCaptureSku;
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
        } else if (!XmlName(mapping_->root_element)) {
          Error(root["root"], "root", "\"" + mapping_->root_element +
                                          "\" is not an XML element name (a letter or _ first, then "
                                          "letters, digits, -, _, . or :)");
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
    if (!out_ && diags_.empty()) {
      BuildPlan(mapping_->rules, &mapping_->plan);
      if (mapping_->keep_unmapped) ExtNode(&mapping_->plan);
      Annotate(&mapping_->plan, schema_.root(), WhereOf(root["rules"]), "");
      for (PlanNode& n : mapping_->plan.members) Captures(&n, "");
    }
    if (diags_.empty()) out.mapping = mapping_;
    // In file order: the checks against the model run in the model's order, not the file's.
    std::stable_sort(diags_.begin(), diags_.end(), [](const MappingDiagnostic& a, const MappingDiagnostic& b) {
      return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
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
  NameTable* item_names_ = nullptr;  // compiling an each:'s rules: that list's element index
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
    // yaml-cpp's words, with what usually causes them in a mapping file.
    std::string line;
    {
      std::ifstream in(path);
      for (int i = 0; i <= e.mark.line && std::getline(in, line); ++i) {
      }
    }
    std::string hint;
    if (line.find('\t') != std::string::npos) {
      hint = " (line " + std::to_string(e.mark.line + 1) + " has a tab: YAML is indented with spaces)";
    } else if (e.msg.find("flow") != std::string::npos &&
               (line.find('[') != std::string::npos || line.find('\'') != std::string::npos)) {
      hint = " (inside { } or [ ], a path with [ ], quotes or a colon must be in double quotes, like "
             "from: \"$.items[*].sku\" or \"//E1EDKA1[PARVW='AG']/PARTN\"; or the { } above is not closed)";
    } else if (e.msg == "illegal map value") {
      hint = " (a value that contains \": \" must be quoted)";
    } else if (e.msg.find("alias") != std::string::npos || e.msg.find("anchor") != std::string::npos) {
      hint = " (a value that starts with \"*\" or \"&\" must be quoted, like \"*\")";
    }
    out.diagnostics.push_back({path, e.mark.line + 1, e.mark.column + 1, "", "invalid YAML: " + e.msg + hint});
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
      out.diagnostics.push_back(
          {path, 0, 0, entity_key,
           st.message() + " (the canonical schemas are looked for in a schema/ folder above the mapping; give "
                          "their folder with --schema-dir DIR, or keep the mapping under mappings/)"});
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

}  // namespace channelhub::mapping
