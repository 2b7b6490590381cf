// The compiled form of a mapping file, shared by the compiler (engine.cpp), the runtime
// (engine_run.cpp) and the simple-XPath evaluator (xml_path.cpp). Not part of the mapping API.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <pugixml.hpp>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hub/common/xml_limits.hpp"
#include "hub/mapping/engine.hpp"
#include "hub/mapping/json_path.hpp"
#include "hub/mapping/transform.hpp"

namespace channelhub::mapping {
namespace internal {

// What the canonical schema says a target key holds.
enum class Leaf { kText, kDecimal, kTime, kInteger, kBoolean, kTextArray, kObjectArray, kObject, kFree };

enum class Format { kJson, kXml };

// Names with a slot each, filled when a mapping loads, so that the runtime finds a name's slot
// with one hash lookup instead of comparing names one by one. Three tables use it: the JSON
// root's member names that paths start with (once per payload the runtime notes where each
// first appears: a Shopify order has 60-odd members, and 25 rules read them), the first steps
// read at a list's element (Rule::item_names), and the "//NAME" steps of XPaths (XmlIndex).
class NameTable {
 public:
  // The slot of "name", adding it when new.
  int Add(const std::string& name) {
    if (const int s = Find(name); s >= 0) return s;
    const int slot = static_cast<int>(names_.size());
    names_.push_back(name);
    buckets_[Bucket(name)].push_back(slot);
    if (!name.empty()) first_bytes_[static_cast<unsigned char>(name.front())] = true;
    return slot;
  }
  // Marks a name as read by a rule (keep_unmapped leaves it out of ext).
  void MarkRead(int slot) {
    read_.resize(names_.size());
    read_[static_cast<std::size_t>(slot)] = true;
  }
  // False for -1 (a name not in the table).
  bool IsRead(int slot) const {
    return slot >= 0 && static_cast<std::size_t>(slot) < read_.size() && read_[static_cast<std::size_t>(slot)];
  }
  // The slot of "name", or -1.
  int Find(std::string_view name) const {
    for (const int slot : buckets_[Bucket(name)]) {
      if (names_[static_cast<std::size_t>(slot)] == name) return slot;
    }
    return -1;
  }
  // The same for a NUL-terminated name (an XML element's): most names that are not in the table
  // are told by their first byte alone, before their length is measured.
  int Find(const char* name) const {
    if (!first_bytes_[static_cast<unsigned char>(name[0])]) return -1;
    return Find(std::string_view(name));
  }
  std::size_t size() const { return names_.size(); }

 private:
  static std::size_t Bucket(std::string_view s) {
    if (s.empty()) return 0;
    return (s.size() * 31u + static_cast<unsigned char>(s.front()) * 7u + static_cast<unsigned char>(s.back())) & 255u;
  }
  std::vector<std::string> names_;
  std::vector<bool> read_;
  std::array<std::vector<int>, 256> buckets_;
  std::array<bool, 256> first_bytes_{};  // the first bytes of the names
};

// An XPath of the common, simple shape, evaluated directly on pugixml nodes without building
// XPath node sets:  //NAME/CHILD, /A/B, CHILD/@attr, NAME[2], NAME[CHILD='v'], NAME[@a='v'],
// text(), "." . Anything else (functions, unions, axes, "//" after the first step) is left to
// pugixml's XPath engine. "//NAME" as the first step reads a per-document index of the
// elements of that name, built in one pass the first time a payload needs it.
struct XmlStep {
  enum class Kind { kChild, kDescendant, kAttribute, kText, kSelf } kind = Kind::kChild;
  std::string name;
  int nth = 0;                 // [N] (1-based), 0 for none
  bool has_equals = false;     // [CHILD='v'] or [@a='v']
  bool equals_attribute = false;
  std::string equals_name;
  std::string equals_value;
  int index_slot = -1;         // kDescendant: the slot of "name" in the document index
  int item_slot = -1;          // kChild, first step of a path read at a list element: the slot
                               // of "name" in that list's per-element index (Rule::item_names)
};

struct XmlPath {
  bool absolute = false;       // starts at the document ("/" or "//")
  std::vector<XmlStep> steps;
};

// Parses "text" as a simple XPath, or returns nullopt when it is not one. Names of "//NAME"
// steps are added to "*index_names" (once each) and their slots recorded in the steps.
std::optional<XmlPath> CompileXmlPath(std::string_view text, NameTable* index_names);

// The elements named in a mapping's "//NAME" steps, in document order, one list per slot.
class XmlIndex final : public xml::ElementVisitor {
 public:
  explicit XmlIndex(const NameTable* names) : names_(names) {}
  // The elements named in slot "slot" of the names in "doc", building the index on first use
  // (unless it was fed: see Feed).
  const std::vector<pugi::xml_node>& Get(pugi::xml_node doc, int slot);
  // Prepares the index to be filled by the document's check (xml::ParseBounded's visitor), which
  // then sees every element: one walk of the document instead of two. Null when there are no
  // "//NAME" steps.
  xml::ElementVisitor* Feed() {
    if (names_->size() == 0) return nullptr;
    Start();
    return this;
  }
  void Element(pugi::xml_node element) override;

 private:
  void Start();

  const NameTable* names_;
  bool built_ = false;
  std::vector<std::vector<pugi::xml_node>> lists_;
};

// A list element and, by XmlStep::item_slot, the first child element of each name its rules'
// paths start with (null where it has none).
struct XmlItem {
  pugi::xml_node element;
  std::vector<pugi::xml_node> first;
};

// Appends what "path" selects from "context" (document order); stops after the first when
// "first_only". "item" (optional) is the index of the list element being mapped: a first step
// with an item_slot read at that element starts from it.
void SelectXml(const XmlPath& path, pugi::xml_node doc, pugi::xml_node context, XmlIndex* index,
               bool first_only, std::vector<pugi::xpath_node>* out, const XmlItem* item = nullptr);

// The value of a node a path selects: an attribute's or a text node's value, or an element's
// text: its text and CDATA children joined in order (a comment or a CDATA section splits an
// element's text into several), into "*joined" when there is more than one; "" when it has
// none (an element with only child elements).
const char* XmlValue(const pugi::xpath_node& n, std::string* joined);

// XPath's string-value of an element (all text below it, in document order) equals "value".
bool XmlStringValueIs(pugi::xml_node e, std::string_view value);

// One compiled path: a JSON path, or an XPath (fast form when it has one, pugixml's otherwise).
struct Selector {
  std::optional<JsonPath> json;
  std::optional<XmlPath> fast_xml;
  std::shared_ptr<pugi::xpath_query> xpath;
  std::string text;
  Leaf source = Leaf::kText;  // outbound: what the canonical field it reads holds
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
  std::optional<std::string> separator;  // concat: put between the parts that have a value
  // Where const:, default: and index: values are in the file (line, column), for load errors.
  std::pair<int, int> constant_at{0, 0}, default_at{0, 0}, index_at{0, 0};
  bool required = false;
  std::optional<Selector> when;
  std::optional<std::string> when_equals;
  std::vector<std::unique_ptr<Transform>> transforms;

  std::optional<Selector> each;     // lists of objects
  std::vector<Rule> children;
  // each: the first member (JSON) or child element (XML) names that the children's paths read
  // at an element; the runtime finds them all in one pass over each element's members instead
  // of one search per rule. Null when there are none.
  std::shared_ptr<NameTable> item_names;
};

// What the canonical schema demands of one value beyond its type.
struct LeafCheck {
  enum class Pattern { kNone, kUpper2, kUpper3, kCreditCode, kE164, kEmail, kRegex };
  std::vector<std::string> enum_values;  // empty: any
  Pattern pattern = Pattern::kNone;
  std::string pattern_text;              // as the schema writes it
  std::shared_ptr<const std::regex> regex;  // kRegex
  std::optional<int64_t> minimum;
  std::optional<int64_t> maximum;
};

// The output of an inbound mapping, laid out in the canonical model's key order at load time,
// so that running it writes the entity's JSON directly, checked as it goes.
struct PlanNode {
  enum class Kind { kObject, kLeaf, kList } kind = Kind::kObject;
  std::string key;                  // member name
  std::string key_json;             // "\"key\":", escaped once
  std::string comma_key_json;       // ",\"key\":", for every member after the first
  const Rule* rule = nullptr;       // kLeaf, kList
  std::vector<PlanNode> members;    // kObject members; kList: the item object's members
  std::vector<std::string> required;  // kObject/kList items: keys the schema requires
  bool required_here = false;       // the parent requires this key
  bool keep_empty_list = false;     // kList/text list: written as [] when empty (no minItems)
  bool unique_line_no = false;      // kList: items' line_no must differ
  bool is_ext = false;              // the "ext" object (free-form, plus keep_unmapped)
  int capture = -1;                 // top-level key fields the subject is built from
  bool direct = false;              // kLeaf: text copied straight from the payload when it is
                                    // a string (no transform, default, concat, ...)
  bool fused = false;               // kLeaf: a decimal from the payload through one transform with a
                                    // text fast path (Transform::AppendFromText)
  bool math_fused = false;          // kLeaf: a decimal math: through at most one transform with a
                                    // decimal fast path (Transform::AppendFromDecimal)
  LeafCheck check;                  // kLeaf (text lists: each item)
};

// Capture slots (PlanNode::capture) for the event subject.
enum Capture { kCaptureSourceId = 0, kCaptureOrderNo, kCaptureWarehouse, kCaptureSku, kCaptureCount };

}  // namespace internal

class CompiledMapping;

namespace internal {
// What is wrong with the fixed text "text" (a const:, through the rule's transforms when
// "transformed", or a default:) as the value of the leaf "n", as the runtime would say it, or "".
std::string CheckFixedValue(const CompiledMapping& m, const PlanNode& n, const std::string& text, bool transformed);
}  // namespace internal

class CompiledMapping {
 public:
  std::string file;
  internal::Format format = internal::Format::kJson;
  std::string target;
  bool keep_unmapped = false;
  std::optional<internal::Selector> when;   // no entity unless this path has a value
  std::optional<internal::Selector> split;  // one entity per selected element
  bool outbound = false;          // direction: out: target is the canonical entity read
  std::string root_element;       // outbound XML
  std::vector<internal::Rule> rules;
  std::set<std::string, std::less<>> read_members;  // top-level JSON members some rule reads
  internal::PlanNode plan;              // inbound: the entity's layout
  internal::NameTable xml_index_names;  // names of "//NAME" steps
  internal::NameTable root_names;       // JSON: first steps of paths read at the root
};

}  // namespace channelhub::mapping
