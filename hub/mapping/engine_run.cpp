// Running compiled mappings. Inbound, the payload is parsed into a per-thread memory pool, the
// rules read it through compiled paths, and the canonical entity is written straight to JSON in
// the model's key order (the plan built at load), each value checked against the canonical
// schema as it is written: no intermediate document, no second parse.
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/internal/dtoa.h>
#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <unordered_set>
#include <pugixml.hpp>

#include "hub/common/json.hpp"
#include "hub/common/xml_limits.hpp"
#include "hub/mapping/engine_internal.hpp"
#include "hub/mapping/transform_internal.hpp"

namespace channelhub::mapping {

using namespace internal;  // NOLINT: this file implements the internal types

namespace {

using rapidjson::Value;
using Pool = rapidjson::MemoryPoolAllocator<>;
// A document whose values and parse stack both live in per-thread pools.
using PoolDocument = rapidjson::GenericDocument<rapidjson::UTF8<>, Pool, Pool>;
static_assert(std::is_same_v<PoolDocument::ValueType, Value>);

// Per-thread memory for parsing payloads: kept between events, so a payload of up to
// kPoolBytes parses without touching malloc. Larger ones spill into chunks freed at the next
// event.
class Scratch {
 public:
  static constexpr std::size_t kPoolBytes = 256 * 1024;
  static constexpr std::size_t kStackBytes = 16 * 1024;

  Scratch()
      : values_mem_(new char[kPoolBytes]),
        stack_mem_(new char[kStackBytes]),
        values_(values_mem_.get(), kPoolBytes),
        stack_(stack_mem_.get(), kStackBytes) {}

  // The pools for one run; nested runs on the same thread (none today) get fresh ones.
  class Lease {
   public:
    explicit Lease(Scratch& s) : s_(s.busy_ ? nullptr : &s) {
      if (s_) {
        s_->busy_ = true;
        s_->values_.Clear();
        s_->stack_.Clear();
      }
    }
    ~Lease() {
      if (s_) s_->busy_ = false;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Pool* values() { return s_ ? &s_->values_ : &own_values_; }
    Pool* stack() { return s_ ? &s_->stack_ : &own_stack_; }

   private:
    Scratch* s_;
    Pool own_values_;
    Pool own_stack_;
  };

 private:
  std::unique_ptr<char[]> values_mem_;
  std::unique_ptr<char[]> stack_mem_;
  Pool values_;
  Pool stack_;
  bool busy_ = false;
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

// ------------------------------------------------------------------------------------------
// JSON text

// Whether all of s[0, n) is printable ASCII other than '"' and '\\': what a JSON string holds
// as it is. Eight bytes at a time: a byte is flagged when its top bit is set, or it is below
// 0x20, or equal to '"' or '\\' (exact per byte: no borrow crosses bytes with these masks).
bool PlainAscii(const char* s, std::size_t n) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  auto zero_byte = [](uint64_t x) { return (x - kOnes) & ~x & kHigh; };  // flags bytes that are 0
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, s + i, 8);
    // Below 0x20: (w & ~kHigh) + (0x80 - 0x20) per byte has its top bit clear (no carry out of
    // a byte since each byte is at most 0x7F + 0x60); top-bit bytes are caught by w & kHigh.
    const uint64_t below = ~((w & ~kHigh) + 0x6060606060606060ULL) & kHigh;
    if (((w & kHigh) | below | zero_byte(w ^ (kOnes * '"')) | zero_byte(w ^ (kOnes * '\\'))) != 0) return false;
  }
  for (; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') return false;
  }
  return true;
}

// Appends "s" as a JSON string. False when it is not valid UTF-8 (nothing sensible to write).
bool AppendString(std::string* out, const char* s, std::size_t n) {
  static const char kHex[] = "0123456789abcdef";
  if (PlainAscii(s, n)) {  // most values: the bytes as they are, in one copy
    const std::size_t at = out->size();
    out->resize(at + n + 2);
    char* p = out->data() + at;
    p[0] = '"';
    std::memcpy(p + 1, s, n);
    p[n + 1] = '"';
    return true;
  }
  out->push_back('"');
  std::size_t run = 0;  // start of the bytes not yet appended
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {  // validate one UTF-8 sequence (RFC 3629: no overlongs, no surrogates)
      std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
      if (len == 0 || c > 0xF4 || i + len > n) return false;
      const unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) ||
          (c == 0xF4 && c1 > 0x8F)) {
        return false;
      }
      for (std::size_t k = 1; k < len; ++k) {
        if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
      }
      i += len;
      continue;
    }
    out->append(s + run, i - run);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
    run = ++i;
  }
  out->append(s + run, n - run);
  out->push_back('"');
  return true;
}

bool AppendString(std::string* out, std::string_view s) { return AppendString(out, s.data(), s.size()); }

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

// ------------------------------------------------------------------------------------------
// Numbers as the sender wrote them

// The payload is parsed in place, so every string of its tree points into its text. A number
// that is not a 64-bit integer ("12.50", 20 digits) is kept as the sender's digits in a string
// copied elsewhere: such a string is told by where it points. While a run is mapping a JSON
// payload on this thread, t_payload_text is that text.
thread_local std::string_view t_payload_text;

bool IsRawNumber(const Value& v) {
  if (!v.IsString() || t_payload_text.data() == nullptr) return false;
  const char* p = v.GetString();
  return p < t_payload_text.data() || p >= t_payload_text.data() + t_payload_text.size();
}

class PayloadText {  // sets t_payload_text for the scope of one run
 public:
  explicit PayloadText(std::string_view text) : outer_(t_payload_text) { t_payload_text = text; }
  ~PayloadText() { t_payload_text = outer_; }
  PayloadText(const PayloadText&) = delete;
  PayloadText& operator=(const PayloadText&) = delete;

 private:
  std::string_view outer_;
};

// The document's SAX handler, with numbers read exactly (kParseNumbersAsStringsFlag): 64-bit
// integers as integers, exponent forms as doubles, any other number as its digits (copied, so
// it is told from the payload's strings; see IsRawNumber). A double would turn "12.50" into
// 12.5 and cut "1234567890.123456789012" to 17 digits.
struct ExactNumbers {
  PoolDocument& doc;

  bool Null() { return doc.Null(); }
  bool Bool(bool b) { return doc.Bool(b); }
  bool Int(int i) { return doc.Int(i); }
  bool Uint(unsigned u) { return doc.Uint(u); }
  bool Int64(int64_t i) { return doc.Int64(i); }
  bool Uint64(uint64_t u) { return doc.Uint64(u); }
  bool Double(double d) { return doc.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    const std::string_view t(s, n);
    bool point = false, exponent = false;
    for (char c : t) {
      point |= c == '.';
      exponent |= (c | 0x20) == 'e';
    }
    if (!point && !exponent) {
      int64_t i = 0;
      if (auto r = std::from_chars(s, s + n, i); r.ec == std::errc() && r.ptr == s + n) return doc.Int64(i);
      uint64_t u = 0;
      if (auto r = std::from_chars(s, s + n, u); r.ec == std::errc() && r.ptr == s + n) return doc.Uint64(u);
    } else if (exponent) {
      return doc.Double(std::strtod(std::string(t).c_str(), nullptr));
    }
    return doc.String(s, n, true);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return doc.String(s, n, copy); }
  bool StartObject() { return doc.StartObject(); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return doc.Key(s, n, copy); }
  bool EndObject(rapidjson::SizeType n) { return doc.EndObject(n); }
  bool StartArray() { return doc.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return doc.EndArray(n); }
};

// A payload value as JSON (ext): InvalidArgument for text that is not UTF-8 or nesting deeper
// than json::kMaxDepth.
Status AppendValue(std::string* out, const Value& v, int depth) {
  if (depth > json::kMaxDepth) {
    return Status::Invalid("nested deeper than " + std::to_string(json::kMaxDepth) + " levels");
  }
  switch (v.GetType()) {
    case rapidjson::kNullType: out->append("null"); break;
    case rapidjson::kFalseType: out->append("false"); break;
    case rapidjson::kTrueType: out->append("true"); break;
    case rapidjson::kStringType:
      if (IsRawNumber(v)) {  // a number, as the sender wrote it
        out->append(v.GetString(), v.GetStringLength());
      } else if (!AppendString(out, v.GetString(), v.GetStringLength())) {
        return Status::Invalid("not valid UTF-8");
      }
      break;
    case rapidjson::kNumberType:
      if (v.IsInt64()) {
        AppendInt(out, v.GetInt64());
      } else if (v.IsUint64()) {
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, v.GetUint64());
        out->append(buf, r.ptr);
      } else {
        char buf[32];
        char* end = rapidjson::internal::dtoa(v.GetDouble(), buf);
        out->append(buf, end);
      }
      break;
    case rapidjson::kArrayType: {
      out->push_back('[');
      bool first = true;
      for (const auto& e : v.GetArray()) {
        if (!first) out->push_back(',');
        first = false;
        CHUB_RETURN_IF_ERROR(AppendValue(out, e, depth + 1));
      }
      out->push_back(']');
      break;
    }
    case rapidjson::kObjectType: {
      out->push_back('{');
      bool first = true;
      for (const auto& m : v.GetObject()) {
        if (!first) out->push_back(',');
        first = false;
        if (!AppendString(out, m.name.GetString(), m.name.GetStringLength())) {
          return Status::Invalid("a member name is not valid UTF-8");
        }
        out->push_back(':');
        CHUB_RETURN_IF_ERROR(AppendValue(out, m.value, depth + 1));
      }
      out->push_back('}');
      break;
    }
  }
  return Status::Ok();
}

// ------------------------------------------------------------------------------------------
// Reading the payload

// A node of the input: a JSON value or an XML node (element, attribute or text).
struct Node {
  const Value* json = nullptr;
  pugi::xpath_node xml;
};

Scalar ScalarOf(const Value& v) {
  if (v.IsString()) return Scalar::String(std::string(v.GetString(), v.GetStringLength()));
  if (v.IsBool()) return Scalar::Boolean(v.GetBool());
  if (v.IsInt64()) return Scalar::Integer(v.GetInt64());
  if (v.IsUint64()) return Scalar::String(std::to_string(v.GetUint64()));
  if (v.IsNumber()) {
    // The shortest text that reads back as the same double: the digits the sender wrote for
    // any amount of up to 15 significant digits.
    char buf[32];
    char* end = rapidjson::internal::dtoa(v.GetDouble(), buf);
    return Scalar::String(std::string(buf, end));
  }
  if (v.IsNull()) return Scalar::Null();
  // An empty object or list has no value, as null and "" have none: a from: list reads on.
  if ((v.IsObject() && v.MemberCount() == 0) || (v.IsArray() && v.Empty())) return Scalar::Null();
  std::string text;  // an object or array, as compact JSON with its numbers as written
  if (!AppendValue(&text, v, 1).ok()) return Scalar::String(json::ToCompact(v));
  return Scalar::String(std::move(text));
}

Scalar ScalarOfNode(const Node& n) {
  if (n.json) return ScalarOf(*n.json);
  std::string joined;
  const char* text = XmlValue(n.xml, &joined);
  if (*text == '\0') return Scalar::Null();
  return Scalar::String(text);
}

bool Present(const Scalar& s) { return !s.is_null() && !s.text().empty(); }

// Where in the output a rule runs, for error messages: the chain of list elements.
struct Where {
  const Where* parent = nullptr;
  const std::string* list = nullptr;  // the list's target ("lines")
  std::size_t index = 0;

  std::string Name(const std::string& target) const {
    std::string prefix;
    if (list) prefix = (parent ? parent->Name(*list) : *list) + "[" + std::to_string(index) + "]";
    return prefix.empty() ? target : prefix + "." + target;
  }
};

// Where each name of "names" first appears among the members of the object "obj" (the first
// wins, as in FindMember): one pass over the members, "*out" by slot.
void IndexMembers(const NameTable& names, const Value& obj, std::vector<const Value*>* out) {
  out->assign(names.size(), nullptr);
  for (const auto& member : obj.GetObject()) {
    const int slot = names.Find(std::string_view(member.name.GetString(), member.name.GetStringLength()));
    if (slot >= 0 && !(*out)[static_cast<std::size_t>(slot)]) (*out)[static_cast<std::size_t>(slot)] = &member.value;
  }
}

class Runner {
 public:
  Runner(const CompiledMapping& m, Node root, XmlIndex* index) : m_(m), root_(root), index_(index) {
    if (root_.json && root_.json->IsObject() && m.root_names.size() > 0) {
      IndexMembers(m.root_names, *root_.json, &root_members_);
    }
  }

  const CompiledMapping& mapping() const { return m_; }

  // The list element being mapped, with the per-element index of its each: rule (see
  // Rule::item_names): while an Item is alive, paths with an item slot read at that element find
  // their first member or child there. Items nest (a list inside a list element).
  class Item {
   public:
    // "buffers" holds the index between elements of one list, so that its memory is reused.
    struct Buffers {
      std::vector<const Value*> json_members;  // by item slot
      XmlItem xml;
    };
    Item(const Runner& runner, const Rule& each, const Node& element, Buffers* buffers)
        : runner_(runner), outer_(runner.item_), json_members_(buffers->json_members), xml_(buffers->xml) {
      if (!each.item_names) return;
      const NameTable& names = *each.item_names;
      if (element.json) {
        if (!element.json->IsObject()) return;
        IndexMembers(names, *element.json, &json_members_);
        json_ = element.json;
      } else {
        const pugi::xml_node e = element.xml.node();
        xml_.element = pugi::xml_node();
        if (!e || element.xml.attribute()) return;
        xml_.element = e;
        xml_.first.assign(names.size(), pugi::xml_node());
        for (pugi::xml_node c = e.first_child(); c; c = c.next_sibling()) {
          if (c.type() != pugi::node_element) continue;
          const int slot = names.Find(c.name());
          if (slot >= 0 && !xml_.first[static_cast<std::size_t>(slot)]) xml_.first[static_cast<std::size_t>(slot)] = c;
        }
      }
      runner_.item_ = this;
    }
    ~Item() { runner_.item_ = outer_; }
    Item(const Item&) = delete;
    Item& operator=(const Item&) = delete;

   private:
    friend class Runner;
    const Runner& runner_;
    const Item* outer_;
    const Value* json_ = nullptr;
    std::vector<const Value*>& json_members_;  // by item slot
    XmlItem& xml_;
  };

  // Appends every node "s" selects at "at", in document order.
  void Select(const Selector& s, const Node& at, std::vector<Node>* out) const {
    if (s.json) {
      std::vector<const Value*> found;
      s.json->Select(*root_.json, *at.json, &found);
      for (const auto* v : found) out->push_back(Node{v, {}});
    } else if (s.fast_xml) {
      std::vector<pugi::xpath_node> found;
      SelectXml(*s.fast_xml, root_.xml.node(), at.xml.node(), index_, false, &found, ItemXml());
      for (const auto& n : found) out->push_back(Node{nullptr, n});
    } else {
      pugi::xpath_node_set set = s.xpath->evaluate_node_set(at.xml);
      set.sort();  // document order, as XPath 1.0 has it (pugixml leaves a union as evaluated)
      for (const auto& n : set) out->push_back(Node{nullptr, n});
    }
  }

  // A single JSON path's value, or nullptr.
  const Value* FirstJson(const Selector& s, const Node& at) const {
    const JsonPath& p = *s.json;
    if (p.head_slot() >= 0 && (p.from_root() || at.json == root_.json)) {
      if (root_members_.empty()) return nullptr;  // the root is not an object
      const Value* head = root_members_[static_cast<std::size_t>(p.head_slot())];
      return head ? p.FirstAfterHead(*head) : nullptr;
    }
    if (p.item_slot() >= 0 && item_ && item_->json_ == at.json && at.json) {
      const Value* head = item_->json_members_[static_cast<std::size_t>(p.item_slot())];
      return head ? p.FirstAfterHead(*head) : nullptr;
    }
    return p.First(*root_.json, *at.json);
  }

  // The text of the first node a fast XPath selects at "at" (as ScalarOfNode reads it), or
  // nullptr when it selects none.
  const char* FirstXmlText(const Selector& s, const Node& at) const {
    xml_scratch_.clear();
    SelectXml(*s.fast_xml, root_.xml.node(), at.xml.node(), index_, true, &xml_scratch_, ItemXml());
    if (xml_scratch_.empty()) return nullptr;
    return XmlValue(xml_scratch_.front(), &joined_scratch_);
  }

  // The first value "s" selects at "at" that is present (not null, not empty), or null.
  Scalar FirstPresent(const Selector& s, const Node& at) const {
    if (s.json && s.json->single()) {
      const Value* v = FirstJson(s, at);
      return v ? ScalarOf(*v) : Scalar::Null();
    }
    if (s.fast_xml) {  // usually the first node is the one: try it before collecting all
      xml_scratch_.clear();
      SelectXml(*s.fast_xml, root_.xml.node(), at.xml.node(), index_, true, &xml_scratch_, ItemXml());
      if (xml_scratch_.empty()) return Scalar::Null();
      Scalar v = ScalarOfNode(Node{nullptr, xml_scratch_.front()});
      if (Present(v)) return v;
    }
    std::vector<Node> all;
    Select(s, at, &all);
    for (const Node& n : all) {
      Scalar v = ScalarOfNode(n);
      if (Present(v)) return v;
    }
    return Scalar::Null();
  }

  // Whether a rule's (or a mapping's) when: holds at "at".
  bool Holds(const Selector& when, const std::optional<std::string>& equals, const Node& at) const {
    Scalar w = FirstPresent(when, at);
    if (equals) return w.text() == *equals;
    if (!Present(w) || w.text() == "false") return false;
    auto d = Decimal::Parse(w.text());  // 0, 0.0, -0: a zero flag reads as no
    return !(d.ok() && d->IsZero());
  }

  // The values a rule yields into "*vals": one, or several for a wildcard into a list of texts;
  // none when it has no value.
  Status Values(const Rule& r, const Node& at, std::size_t index, std::vector<Scalar>* vals) const {
    vals->clear();
    if (r.constant) {
      vals->push_back(Scalar::String(*r.constant));
    } else if (r.index_base) {
      vals->push_back(Scalar::Integer(static_cast<int64_t>(index) + *r.index_base));
    } else if (!r.math.empty()) {
      auto v = Math(r, at);
      if (!v.ok()) return v.status();
      vals->push_back(std::move(v).value());
    } else if (!r.concat.empty()) {
      std::string text;
      bool any = false;
      bool first = true;
      for (const Part& p : r.concat) {
        std::string_view piece = p.literal;
        Scalar s;
        if (p.selector) {
          s = FirstPresent(*p.selector, at);
          if (!Present(s)) continue;  // nothing, not even a separator
          piece = s.text();
          any = true;
        }
        if (r.separator && !first) text += *r.separator;
        text += piece;
        first = false;
      }
      const bool literals_only = std::none_of(r.concat.begin(), r.concat.end(), [](const Part& p) { return p.selector.has_value(); });
      vals->push_back(any || literals_only ? Scalar::String(std::move(text)) : Scalar::Null());
    } else if (r.leaf == Leaf::kTextArray) {
      std::vector<Node> nodes;
      for (const Selector& s : r.from) {
        nodes.clear();
        Select(s, at, &nodes);
        for (const Node& n : nodes) {
          Scalar v = ScalarOfNode(n);
          if (Present(v)) vals->push_back(std::move(v));
        }
        if (!vals->empty()) break;
      }
    } else {
      for (const Selector& s : r.from) {
        Scalar v = FirstPresent(s, at);
        if (Present(v)) {
          vals->push_back(std::move(v));
          break;
        }
      }
    }
    if (vals->empty()) vals->push_back(Scalar::Null());
    for (Scalar& v : *vals) {
      for (const auto& t : r.transforms) {
        auto out = t->Apply(v);
        if (!out.ok()) return out.status();
        v = std::move(out).value();
      }
      if (!Present(v) && r.default_value) v = Scalar::String(*r.default_value);
    }
    vals->erase(std::remove_if(vals->begin(), vals->end(), [](const Scalar& s) { return !Present(s); }),
                vals->end());
    return Status::Ok();
  }

 private:
  // A sum of products: "a * b - c * d" is (a*b) - (c*d). An operand without a value makes the
  // result null.
  Result<Scalar> Math(const Rule& r, const Node& at) const {
    std::optional<Decimal> d;
    CHUB_RETURN_IF_ERROR(MathDecimal(r, at, &d));
    return d ? Scalar::FromDecimal(*d) : Scalar::Null();
  }

 public:
  // The same as a decimal: "*out" is left empty when an operand has no value.
  Status MathDecimal(const Rule& r, const Node& at, std::optional<Decimal>* out) const {
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
    for (const Term& t : r.math) {
      Scalar s;
      std::string_view text = t.literal;
      std::optional<Decimal> whole;  // an integer read straight from the payload
      if (t.selector && t.selector->json && t.selector->json->single()) {
        // A string or an integer is read where it is, without a Scalar of its own.
        const Value* v = FirstJson(*t.selector, at);
        if (!v || v->IsNull() || (v->IsString() && v->GetStringLength() == 0)) return Status::Ok();
        if (v->IsString()) {
          text = std::string_view(v->GetString(), v->GetStringLength());
        } else if (v->IsInt64()) {
          whole = Decimal::FromInteger(v->GetInt64());
        } else {
          s = ScalarOf(*v);
          text = s.text();
        }
      } else if (t.selector) {
        s = FirstPresent(*t.selector, at);
        if (!Present(s)) return Status::Ok();
        text = s.text();
      }
      auto d = whole ? Result<Decimal>(*whole) : Decimal::Parse(text);
      if (!d.ok()) return Status::Invalid("math: " + Quote(text) + " is not a decimal");
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
    CHUB_RETURN_IF_ERROR(add_product());
    *out = sum;
    return Status::Ok();
  }

 private:

  const XmlItem* ItemXml() const { return item_ && item_->xml_.element ? &item_->xml_ : nullptr; }

  const CompiledMapping& m_;
  Node root_;
  XmlIndex* index_;
  mutable const Item* item_ = nullptr;  // the innermost list element being mapped
  mutable std::vector<pugi::xpath_node> xml_scratch_;
  mutable std::string joined_scratch_;  // an element value of several text pieces (XmlValue)
  std::vector<const Value*> root_members_;  // by CompiledMapping::root_names slot
};

// ------------------------------------------------------------------------------------------
// Inbound: writing the canonical entity

struct Entity {
  std::string json;
  std::array<std::string, kCaptureCount> keys;
};

bool UpperRun(std::string_view s, std::size_t n, bool digits) {
  if (s.size() != n) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (digits && c >= '0' && c <= '9'))) return false;
  }
  return true;
}

bool MatchesPattern(const LeafCheck& check, std::string_view s) {
  switch (check.pattern) {
    case LeafCheck::Pattern::kNone: return true;
    case LeafCheck::Pattern::kUpper2: return UpperRun(s, 2, false);
    case LeafCheck::Pattern::kUpper3: return UpperRun(s, 3, false);
    case LeafCheck::Pattern::kCreditCode: return UpperRun(s, 18, true);
    case LeafCheck::Pattern::kE164: {
      if (s.size() < 8 || s.size() > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9') return false;
      return std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
    }
    case LeafCheck::Pattern::kEmail: {
      auto at = s.find('@');
      if (at == 0 || at == std::string_view::npos || at + 1 == s.size()) return false;
      if (s.find('@', at + 1) != std::string_view::npos) return false;
      return s.find_first_of(" \t\r\n") == std::string_view::npos;
    }
    case LeafCheck::Pattern::kRegex:
      return std::regex_search(s.begin(), s.end(), *check.regex);
  }
  return true;
}

// The text check of the canonical schema: enum and pattern. "" when it passes.
std::string CheckText(const LeafCheck& check, std::string_view s) {
  if (!check.enum_values.empty() &&
      std::find(check.enum_values.begin(), check.enum_values.end(), s) == check.enum_values.end()) {
    std::string known;
    for (const auto& e : check.enum_values) known += (known.empty() ? "" : ", ") + e;
    return Quote(s) + " is not one of " + known;
  }
  if (!MatchesPattern(check, s)) {
    return Quote(s) + " does not match the canonical pattern " + check.pattern_text;
  }
  return "";
}

class Emitter {
 public:
  Emitter(const CompiledMapping& m, const Runner& runner, Entity* entity)
      : m_(m), runner_(runner), entity_(entity), out_(&entity->json) {}

  // Writes the members of "obj" read at "at" (without braces). "*count" counts the members
  // written.
  // The keys the model requires are checked when the object is written ("always": the
  // entity and list items), or once it has any member; an object left empty is omitted.
  Status Members(const PlanNode& obj, const Node& at, std::size_t index, const Where* where, int* count,
                 bool always) {
    uint64_t missing = 0;  // required members not written (bit per member; plans are small)
    std::size_t bit = 0;
    for (const PlanNode& n : obj.members) {
      const std::size_t mark = out_->size();
      bool wrote = false;
      switch (n.kind) {
        case PlanNode::Kind::kLeaf:
          CHUB_RETURN_IF_ERROR(Leaf(n, at, index, where, *count, &wrote));
          break;
        case PlanNode::Kind::kList:
          CHUB_RETURN_IF_ERROR(List(n, at, where, *count, &wrote));
          break;
        case PlanNode::Kind::kObject: {
          Key(n, *count);
          out_->push_back('{');
          int inner = 0;
          CHUB_RETURN_IF_ERROR(Members(n, at, index, where, &inner, false));
          if (n.is_ext) CHUB_RETURN_IF_ERROR(Unmapped(at, &inner));
          wrote = inner > 0;
          if (wrote) {
            out_->push_back('}');
          } else {
            out_->resize(mark);
          }
          break;
        }
      }
      if (wrote) {
        ++*count;
      } else if (n.required_here && bit < 64) {
        missing |= uint64_t{1} << bit;
      }
      ++bit;
    }
    if (missing && (always || *count > 0)) {
      for (std::size_t i = 0; i < obj.members.size() && i < 64; ++i) {
        if (missing & (uint64_t{1} << i)) return Missing(obj.members[i], where);
      }
    }
    return Status::Ok();
  }

 private:
  Status Fail(const Rule& r, const Where* where, const std::string& msg) const {
    return Status::Invalid(m_.file + ":" + std::to_string(r.line) + ": " +
                           (where ? where->Name(r.target) : r.target) + ": " + msg);
  }

  // A key the canonical model requires got no value: name it, at the line of its rule (or of
  // the first rule inside it).
  Status Missing(const PlanNode& n, const Where* where) const {
    const PlanNode* first = &n;
    while (!first->rule && !first->members.empty()) first = &first->members.front();
    std::string msg = m_.file;
    if (first->rule) msg += ":" + std::to_string(first->rule->line);
    msg += ": the mapped " + m_.target + " is not valid: ";
    if (first != &n || !n.rule) {
      std::string name = n.key;
      if (first->rule) {  // the object's dotted name: the first rule's target up to its key
        const std::string& t = first->rule->target;
        auto pos = ("." + t + ".").find("." + n.key + ".");
        if (pos != std::string::npos) name = t.substr(0, pos + n.key.size());
      }
      return Status::Invalid(msg + (where ? where->Name(name) : name) +
                             ": required, but no rule gives any of its fields a value");
    }
    return Status::Invalid(msg + (where ? where->Name(n.rule->target) : n.rule->target) +
                           ": required, but the rule gives no value");
  }

  // The member's key, after a comma unless it is the object's first.
  void Key(const PlanNode& n, int count) { out_->append(count ? n.comma_key_json : n.key_json); }

  // Writes one value as the leaf's type. "" on success, else what is wrong.
  std::string Value1(const PlanNode& n, const Scalar& v) {
    const Rule& r = *n.rule;
    switch (r.leaf) {
      case Leaf::kInteger: {
        auto s = v.kind() == Scalar::Kind::kInteger ? Result<Scalar>(v) : Scalar::Parse(Scalar::Kind::kInteger, v.text());
        if (!s.ok()) return "expected an integer, got " + Quote(v.text());
        int64_t i = 0;
        std::from_chars(s->text().data(), s->text().data() + s->text().size(), i);
        if ((n.check.minimum && i < *n.check.minimum) || (n.check.maximum && i > *n.check.maximum)) {
          return "must be between " + std::to_string(n.check.minimum.value_or(INT64_MIN)) + " and " +
                 std::to_string(n.check.maximum.value_or(INT64_MAX)) + ", got " + s->text();
        }
        if (line_nos_ && n.key == "line_no") line_nos_->push_back(i);
        out_->append(s->text());
        Capture(n, s->text());
        return "";
      }
      case Leaf::kBoolean: {
        auto s = v.kind() == Scalar::Kind::kBoolean ? Result<Scalar>(v) : Scalar::Parse(Scalar::Kind::kBoolean, v.text());
        if (!s.ok()) return "expected true or false, got " + Quote(v.text());
        out_->append(s->text());
        return "";
      }
      case Leaf::kDecimal: {
        if (v.kind() == Scalar::Kind::kDecimal || v.kind() == Scalar::Kind::kInteger) {
          out_->push_back('"');
          out_->append(v.text());
          out_->push_back('"');
          Capture(n, v.text());
          return "";
        }
        auto d = Decimal::Parse(v.text());
        if (!d.ok()) return "expected a decimal, got " + Quote(v.text());
        const std::string text = d->ToString();
        AppendString(out_, text);
        Capture(n, text);
        return "";
      }
      case Leaf::kTime: {
        if (v.kind() == Scalar::Kind::kTime) {
          AppendString(out_, v.text());
          return "";
        }
        auto s = Scalar::Parse(Scalar::Kind::kTime, v.text());
        if (!s.ok()) return s.status().message();
        AppendString(out_, s->text());
        return "";
      }
      default: {
        std::string bad = CheckText(n.check, v.text());
        if (!bad.empty()) return bad;
        if (!AppendString(out_, v.text())) return Quote(v.text()) + " is not valid UTF-8";
        Capture(n, v.text());
        return "";
      }
    }
  }

  // What Value1 says of "v" for the leaf "n", writing nothing that stays: "" when it may be
  // written.
 public:
  std::string Check(const PlanNode& n, const Scalar& v) {
    std::vector<int64_t>* line_nos = line_nos_;
    line_nos_ = nullptr;
    const std::size_t mark = out_->size();
    std::string bad = Value1(n, v);
    out_->resize(mark);
    line_nos_ = line_nos;
    return bad;
  }

 private:
  void Capture(const PlanNode& n, std::string_view text) {
    if (n.capture >= 0) entity_->keys[static_cast<std::size_t>(n.capture)] = text;
  }

  // The first value of a rule's paths as text, for the fast paths below: kText with "*text"
  // set; kNone when no path has a value; kGeneral when the general path must decide (a value of
  // another type, or an XML node with empty text, after which it looks at the next nodes).
  enum class Got { kNone, kText, kGeneral };
  Got FirstText(const Rule& r, const Node& at, bool integers, char (&digits)[24], std::string_view* text) {
    for (const Selector& s : r.from) {
      if (s.json) {
        const Value* v = runner_.FirstJson(s, at);
        if (!v || v->IsNull() || (v->IsString() && v->GetStringLength() == 0)) continue;
        if (v->IsString()) {
          *text = std::string_view(v->GetString(), v->GetStringLength());
          return Got::kText;
        }
        if (integers && v->IsInt64()) {
          auto end = std::to_chars(digits, digits + sizeof digits, v->GetInt64()).ptr;
          *text = std::string_view(digits, static_cast<std::size_t>(end - digits));
          return Got::kText;
        }
        return Got::kGeneral;
      }
      const char* t = runner_.FirstXmlText(s, at);
      if (t == nullptr) continue;
      if (*t == '\0') return Got::kGeneral;
      *text = t;
      return Got::kText;
    }
    return Got::kNone;
  }

  // A text rule reading strings (JSON strings, XML text) as they are: checked and written
  // without a Scalar. False when the general path must run.
  bool Direct(const PlanNode& n, const Node& at, int count, const Where* where, Status* st) {
    char digits[24];
    std::string_view text;
    if (FirstText(*n.rule, at, false, digits, &text) != Got::kText) return false;
    std::string bad = CheckText(n.check, text);
    const std::size_t mark = out_->size();
    Key(n, count);
    if (bad.empty() && !AppendString(out_, text)) bad = Quote(text) + " is not valid UTF-8";
    if (!bad.empty()) {
      out_->resize(mark);
      *st = Fail(*n.rule, where, bad);
    }
    Capture(n, text);
    return true;
  }

  // A decimal rule whose one transform has a text fast path: the payload's string (a JSON string
  // or integer, XML text) goes through Transform::AppendFromText straight into the output. False, having written
  // nothing, when the general path must run (no value, another type, a value in error).
  bool Fused(const PlanNode& n, const Node& at, int count) {
    char digits[24];
    std::string_view text;
    if (FirstText(*n.rule, at, true, digits, &text) != Got::kText) return false;
    return Quoted(n, count, [&] { return n.rule->transforms.front()->AppendFromText(text, out_); });
  }

  // A math: rule's decimal through its one decimal transform (or none) straight into the output.
  // False, having written nothing, when the transform refuses it (the general path says why).
  bool MathFused(const PlanNode& n, const Decimal& d, int count) {
    return Quoted(n, count, [&] {
      if (n.rule->transforms.empty()) {
        d.AppendTo(out_);
        return true;
      }
      return n.rule->transforms.front()->AppendFromDecimal(d, out_);
    });
  }

  // Writes the member with the text "append" appends (true) as a JSON string that needs no
  // escaping (a decimal), captured for the subject; nothing when "append" fails (false).
  template <typename Append>
  bool Quoted(const PlanNode& n, int count, Append&& append) {
    const std::size_t mark = out_->size();
    Key(n, count);
    out_->push_back('"');
    const std::size_t start = out_->size();
    if (!append()) {
      out_->resize(mark);
      return false;
    }
    if (n.capture >= 0) Capture(n, std::string_view(out_->data() + start, out_->size() - start));
    out_->push_back('"');
    return true;
  }

  Status Leaf(const PlanNode& n, const Node& at, std::size_t index, const Where* where, int count,
              bool* wrote) {
    const Rule& r = *n.rule;
    if (r.when && !runner_.Holds(*r.when, r.when_equals, at)) return Status::Ok();
    if (n.direct) {
      Status direct;
      if (Direct(n, at, count, where, &direct)) {
        *wrote = direct.ok();
        return direct;
      }
    }
    if (n.fused && Fused(n, at, count)) {
      *wrote = true;
      return Status::Ok();
    }
    if (n.math_fused) {
      std::optional<Decimal> d;
      if (runner_.MathDecimal(r, at, &d).ok() && d && MathFused(n, *d, count)) {
        *wrote = true;
        return Status::Ok();
      }  // no value, or an error: the general path decides and says what is wrong
    }
    if (r.transforms.empty() && !r.from.empty() && r.leaf != Leaf::kTextArray) {
      // An object or a list: kept as JSON under ext; refused for a field of the model, which
      // would otherwise hold it as JSON text.
      const Selector* by = nullptr;
      const Value* v = FirstPresentJson(r, at, &by);
      if (v != nullptr && (v->IsObject() || v->IsArray())) {
        if (r.leaf != Leaf::kFree) {
          return Fail(r, where, by->text + " is " + (v->IsObject() ? "an object" : "a list") +
                                    ", not a single value; map one of its " +
                                    (v->IsObject() ? "fields (" + by->text + ".name)" : "elements (" + by->text + "[0])"));
        }
        const std::size_t mark = out_->size();
        Key(n, count);
        if (Status st = AppendValue(out_, *v, 1); !st.ok()) {
          out_->resize(mark);
          return Fail(r, where, st.message());
        }
        *wrote = true;
        return Status::Ok();
      }
    }
    if (r.index_base && r.transforms.empty() && r.leaf == Leaf::kInteger) {  // line_no: { index: 1 }
      const int64_t i = static_cast<int64_t>(index) + *r.index_base;
      if ((!n.check.minimum || i >= *n.check.minimum) && (!n.check.maximum || i <= *n.check.maximum)) {
        if (line_nos_ && n.key == "line_no") line_nos_->push_back(i);
        Key(n, count);
        const std::size_t start = out_->size();
        AppendInt(out_, i);
        if (n.capture >= 0) Capture(n, std::string_view(out_->data() + start, out_->size() - start));
        *wrote = true;
        return Status::Ok();
      }  // out of range: the general path says so
    }
    Status st = runner_.Values(r, at, index, &vals_);
    if (!st.ok()) return Fail(r, where, st.message());
    if (vals_.empty()) {
      if (r.required) {
        std::string what = !r.from.empty() ? r.from.front().text : "the rule";
        return Fail(r, where, "required, but " + what + " has no value");
      }
      return Status::Ok();
    }
    Key(n, count);
    if (r.leaf == Leaf::kTextArray) {
      out_->push_back('[');
      for (std::size_t i = 0; i < vals_.size(); ++i) {
        if (i) out_->push_back(',');
        std::string bad = CheckText(n.check, vals_[i].text());
        if (bad.empty() && !AppendString(out_, vals_[i].text())) bad = "not valid UTF-8";
        if (!bad.empty()) return Fail(r, where, "[" + std::to_string(i) + "]: " + bad);
      }
      out_->push_back(']');
    } else {
      std::string bad = Value1(n, vals_.front());
      if (!bad.empty()) return Fail(r, where, bad);
    }
    *wrote = true;
    return Status::Ok();
  }

  // The first value of a rule's paths that has one (not null, "", {} or []), with the path that
  // found it, when every path is a single JSON path; nullptr otherwise (the general path decides).
  const Value* FirstPresentJson(const Rule& r, const Node& at, const Selector** by) const {
    for (const Selector& s : r.from) {
      if (!s.json || !s.json->single()) return nullptr;
      const Value* v = runner_.FirstJson(s, at);
      if (!v || v->IsNull() || (v->IsString() && v->GetStringLength() == 0) ||
          (v->IsObject() && v->MemberCount() == 0) || (v->IsArray() && v->Empty())) {
        continue;
      }
      *by = &s;
      return v;
    }
    return nullptr;
  }

  Status List(const PlanNode& n, const Node& at, const Where* where, int count, bool* wrote) {
    if (!n.rule) {  // a list the model requires and no rule fills: empty
      Key(n, count);
      out_->append("[]");
      *wrote = true;
      return Status::Ok();
    }
    const Rule& r = *n.rule;
    if (r.when && !runner_.Holds(*r.when, r.when_equals, at)) return Status::Ok();
    std::vector<Node> elems;
    runner_.Select(*r.each, at, &elems);
    if (elems.empty() && !n.keep_empty_list) return Status::Ok();
    Key(n, count);
    out_->push_back('[');
    std::vector<int64_t> line_nos;
    Runner::Item::Buffers item_buffers;
    std::vector<int64_t>* outer = line_nos_;
    line_nos_ = n.unique_line_no ? &line_nos : nullptr;
    for (std::size_t i = 0; i < elems.size(); ++i) {
      if (i) out_->push_back(',');
      out_->push_back('{');
      Where here{where, &r.target, i};
      int inner = 0;
      Runner::Item item(runner_, r, elems[i], &item_buffers);
      Status st = Members(n, elems[i], i, &here, &inner, true);
      if (!st.ok()) {
        line_nos_ = outer;
        return st;
      }
      out_->push_back('}');
      if (n.unique_line_no && line_nos.size() > 1 &&
          std::find(line_nos.begin(), line_nos.end() - 1, line_nos.back()) != line_nos.end() - 1) {
        line_nos_ = outer;
        const PlanNode* ln = nullptr;
        for (const PlanNode& c : n.members) {
          if (c.key == "line_no") ln = &c;
        }
        return Fail(ln && ln->rule ? *ln->rule : r, &here, std::to_string(line_nos.back()) + " is used twice");
      }
    }
    line_nos_ = outer;
    out_->push_back(']');
    *wrote = true;
    return Status::Ok();
  }

  // keep_unmapped: the members of the payload object no rule read, after the ext rules' own.
  Status Unmapped(const Node& at, int* count) {
    if (!m_.keep_unmapped || !at.json || !at.json->IsObject()) return Status::Ok();
    // A name the payload repeats is kept once, the first, as paths read it.
    constexpr std::size_t kLinear = 64;  // names compared one by one up to here, then hashed
    std::array<std::string_view, kLinear> kept;
    std::size_t kept_count = 0;
    std::unordered_set<std::string_view> kept_set;  // once there are many
    auto seen = [&](std::string_view name) {
      if (kept_count < kLinear) {
        if (std::find(kept.begin(), kept.begin() + kept_count, name) != kept.begin() + kept_count) return true;
        kept[kept_count++] = name;
        if (kept_count == kLinear) kept_set.insert(kept.begin(), kept.end());
        return false;
      }
      return !kept_set.insert(name).second;
    };
    for (const auto& member : at.json->GetObject()) {
      if (member.value.IsNull()) continue;
      std::string_view name(member.name.GetString(), member.name.GetStringLength());
      if (seen(name)) continue;
      if (m_.split ? m_.read_members.find(name) != m_.read_members.end() : m_.root_names.IsRead(m_.root_names.Find(name))) {
        continue;  // (without split:, every name some rule reads is in root_names)
      }
      // An ext rule of the same name wins.
      std::string key;
      if (!AppendString(&key, name)) continue;
      key.push_back(':');
      if (ExtRuleKey(key)) continue;
      if (*count) out_->push_back(',');
      out_->append(key);
      Status st = AppendValue(out_, member.value, 1);
      if (!st.ok()) return Status::Invalid(m_.file + ": ext." + std::string(name) + ": " + st.message());
      ++*count;
    }
    return Status::Ok();
  }

  bool ExtRuleKey(const std::string& key) const {
    for (const PlanNode& n : ext_plan_->members) {
      if (n.key_json == key) return true;
    }
    return false;
  }

 public:
  void SetExtPlan(const PlanNode* ext) { ext_plan_ = ext; }

 private:
  const CompiledMapping& m_;
  const Runner& runner_;
  Entity* entity_;
  std::string* out_;
  std::vector<Scalar> vals_;
  std::vector<int64_t>* line_nos_ = nullptr;
  const PlanNode* ext_plan_ = nullptr;
};

}  // namespace

std::string internal::CheckFixedValue(const CompiledMapping& m, const PlanNode& n, const std::string& text,
                                      bool transformed) {
  Scalar v = Scalar::String(text);
  if (transformed) {
    for (const auto& t : n.rule->transforms) {
      auto out = t->Apply(v);
      if (!out.ok()) return out.status().message();
      v = std::move(out).value();
    }
  }
  if (!Present(v)) return "";
  Entity entity;
  Runner runner(m, Node{}, nullptr);
  Emitter e(m, runner, &entity);
  return e.Check(n, v);
}

namespace {

// The plan node a rule writes, under "obj" (objects searched through; lists are not entered:
// their rules are searched from the list's own node).
const PlanNode* PlanNodeOf(const PlanNode& obj, const Rule* r) {
  for (const PlanNode& n : obj.members) {
    if (n.rule == r) return &n;
    if (n.kind == PlanNode::Kind::kObject) {
      if (const PlanNode* found = PlanNodeOf(n, r)) return found;
    }
  }
  return nullptr;
}

// The first rule, in file order, whose value fails: a transform error, required: without a
// value, or a value the model refuses (the entity is written in the model's order, so the
// error it stopped at may come from a later line). OK when none does.
Status FirstRuleError(const CompiledMapping& m, const Runner& runner, const PlanNode& plan,
                      const std::vector<Rule>& rules, const Node& at, std::size_t index, const Where* where) {
  std::vector<Scalar> vals;
  Entity scratch;
  Emitter checker(m, runner, &scratch);
  for (const Rule& r : rules) {
    if (r.when && !runner.Holds(*r.when, r.when_equals, at)) continue;
    const std::string name = where ? where->Name(r.target) : r.target;
    const PlanNode* node = PlanNodeOf(plan, &r);
    if (r.each) {
      if (node == nullptr) continue;
      std::vector<Node> elems;
      runner.Select(*r.each, at, &elems);
      for (std::size_t i = 0; i < elems.size(); ++i) {
        Where here{where, &r.target, i};
        Runner::Item::Buffers buffers;
        Runner::Item item(runner, r, elems[i], &buffers);
        CHUB_RETURN_IF_ERROR(FirstRuleError(m, runner, *node, r.children, elems[i], i, &here));
      }
      continue;
    }
    Status st = runner.Values(r, at, index, &vals);
    if (!st.ok()) {
      return Status::Invalid(m.file + ":" + std::to_string(r.line) + ": " + name + ": " + st.message());
    }
    if (vals.empty() && r.required) {
      std::string what = !r.from.empty() ? r.from.front().text : "the rule";
      return Status::Invalid(m.file + ":" + std::to_string(r.line) + ": " + name + ": required, but " +
                             what + " has no value");
    }
    if (!vals.empty() && node != nullptr && node->kind == PlanNode::Kind::kLeaf && r.leaf != Leaf::kTextArray) {
      if (std::string bad = checker.Check(*node, vals.front()); !bad.empty()) {
        return Status::Invalid(m.file + ":" + std::to_string(r.line) + ": " + name + ": " + bad);
      }
    }
  }
  return Status::Ok();
}

// Maps one entity from "at" (the payload's root, or one element of split:).
Status MapEntity(const CompiledMapping& m, const Runner& runner, const Node& at, std::size_t index,
                 const Where* where, std::size_t size_hint, Entity* entity) {
  entity->json.reserve(size_hint);
  Emitter e(m, runner, entity);
  for (const PlanNode& n : m.plan.members) {
    if (n.is_ext) e.SetExtPlan(&n);
  }
  entity->json.push_back('{');
  int count = 0;
  Status st = e.Members(m.plan, at, index, where, &count, true);
  if (!st.ok()) {
    // The entity is written in the model's key order; an admin reads the file top-down. Of
    // several rules that fail, name the first in the file.
    Status first = FirstRuleError(m, runner, m.plan, m.rules, at, index, where);
    return first.ok() ? st : first;
  }
  entity->json.push_back('}');
  return Status::Ok();
}

Status RunInbound(const CompiledMapping& m, std::string_view payload, std::vector<Entity>* out) {
  Scratch::Lease lease(ThreadScratch());
  std::optional<PayloadText> payload_text;  // declared before the document it tells about
  PoolDocument in(lease.values(), 1024, lease.stack());
  pugi::xml_document doc;
  XmlIndex index(&m.xml_index_names);
  Node root;
  if (m.format == Format::kJson) {
    // Iterative: nesting depth costs no native stack. Encoding is checked where text is
    // written out (AppendString), which is all that reaches the canonical entity.
    // In place, in a copy in the pool: strings are then not copied one by one.
    if (const auto first = payload.find_first_not_of(" \t\r\n");
        first != std::string_view::npos && payload[first] == '<') {
      return Status::Invalid(m.file + ": the payload looks like XML, but the mapping reads JSON (format: json)");
    }
    if (payload.starts_with("\xEF\xBB\xBF")) {
      return Status::Invalid(m.file + ": the payload is not JSON: it starts with a UTF-8 byte order mark (EF BB "
                                      "BF), which JSON does not allow (the hub answers 400 to such a body); save "
                                      "the sample without it");
    }
    char* text = static_cast<char*>(lease.values()->Malloc(payload.size() + 1));
    std::memcpy(text, payload.data(), payload.size());
    text[payload.size()] = '\0';
    rapidjson::ParseResult parsed;
    auto parse = [&](PoolDocument& doc) {
      rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>, Pool> reader(lease.stack());
      rapidjson::InsituStringStream stream(text);
      ExactNumbers handler{doc};
      parsed = reader.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseIterativeFlag |
                            rapidjson::kParseNumbersAsStringsFlag>(stream, handler);
      return !parsed.IsError();
    };
    in.Populate(parse);
    if (parsed.IsError()) {
      return Status::Invalid(m.file + ": the payload is not JSON: invalid JSON at offset " +
                             std::to_string(parsed.Offset()) + " (" + json::LineColumn(payload, parsed.Offset()) +
                             "): " + rapidjson::GetParseError_En(parsed.Code()));
    }
    payload_text.emplace(std::string_view(text, payload.size() + 1));
    if (!in.IsObject() && !in.IsArray()) {  // "42", "null": no path finds anything in it
      return Status::Invalid(m.file + ": the payload is a single JSON value (" +
                             std::string(in.IsString() ? "a string" : in.IsNull() ? "null" : in.IsBool() ? "true or false" : "a number") +
                             "), not an object");
    }
    root.json = &in;
  } else {
    if (const auto first = payload.find_first_not_of(" \t\r\n");
        first != std::string_view::npos && (payload[first] == '{' || payload[first] == '[')) {
      return Status::Invalid(m.file + ": the payload looks like JSON, but the mapping reads XML (format: xml)");
    }
    // No DOCTYPE, UTF-8, and the process's depth and node limits: the same checks as at the door.
    if (Status st = xml::ParseBounded(payload, &doc, xml::ProcessLimits(), 0, pugi::encoding_auto, index.Feed());
        !st.ok()) {
      return Status::Invalid(m.file + ": the payload is not accepted XML: " + st.message());
    }
    root.xml = pugi::xpath_node(doc);
  }
  Runner runner(m, root, &index);
  if (m.when && !runner.Holds(*m.when, std::nullopt, root)) return Status::Ok();
  const std::size_t hint = payload.size() + 256;
  if (!m.split) {
    out->emplace_back();
    return MapEntity(m, runner, root, 0, nullptr, hint, &out->back());
  }
  std::vector<Node> elements;
  runner.Select(*m.split, root, &elements);
  static const std::string kNone;
  for (std::size_t i = 0; i < elements.size(); ++i) {
    Where here{nullptr, &kNone, i};
    out->emplace_back();
    CHUB_RETURN_IF_ERROR(MapEntity(m, runner, elements[i], i, &here, 256, &out->back()));
  }
  return Status::Ok();
}

// ------------------------------------------------------------------------------------------
// Outbound: the canonical entity to a destination's JSON or XML

// The output of an outbound mapping: a JSON value or an XML element to fill.
struct OutNode {
  rapidjson::Value* json = nullptr;
  pugi::xml_node xml;
};

using Alloc = rapidjson::Document::AllocatorType;

Value& Slot(Value& obj, const std::vector<std::string>& path, Alloc& a) {
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

// What XML 1.0 cannot carry in "text" (a control character, U+FFFE, U+FFFF; pugixml would
// write &#1;, which no XML parser reads), said for the rule's error; "" when it is fine.
std::string NotXmlText(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool control = c < 0x20 && c != '\t' && c != '\n' && c != '\r';
    const bool nonchar = c == 0xEF && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0xBF &&
                         (static_cast<unsigned char>(text[i + 2]) & 0xFE) == 0xBE;
    if (control || nonchar) {
      char code[8];
      std::snprintf(code, sizeof code, "U+%04X", control ? c : 0xFFFE + (static_cast<unsigned char>(text[i + 2]) & 1));
      return std::string(code) + " at byte " + std::to_string(i) +
             " cannot be written in XML 1.0; remove it first, e.g. regex_replace: { pattern: "
             "'[\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F]', replacement: '' }";
    }
  }
  return "";
}

class OutRunner {
 public:
  OutRunner(const CompiledMapping& m, const Runner& runner, Alloc& a) : m_(m), runner_(runner), a_(a) {}

  Status Apply(const std::vector<Rule>& rules, const Node& at, std::size_t index, OutNode out,
               const Where* where) {
    for (const Rule& r : rules) {
      auto fail = [&](const std::string& msg) {
        return Status::Invalid(m_.file + ":" + std::to_string(r.line) + ": " +
                               (where ? where->Name(r.target) : r.target) + ": " + msg);
      };
      if (r.when && !runner_.Holds(*r.when, r.when_equals, at)) continue;
      if (r.each) {
        std::vector<Node> elems;
        runner_.Select(*r.each, at, &elems);
        if (out.json) {
          Value list(rapidjson::kArrayType);
          for (std::size_t i = 0; i < elems.size(); ++i) {
            Value item(rapidjson::kObjectType);
            Where here{where, &r.target, i};
            CHUB_RETURN_IF_ERROR(Apply(r.children, elems[i], i, OutNode{&item, {}}, &here));
            list.PushBack(item, a_);
          }
          Slot(*out.json, r.path, a_) = list;
        } else {
          for (std::size_t i = 0; i < elems.size(); ++i) {
            pugi::xml_node parent = out.xml;
            for (std::size_t s = 0; s + 1 < r.path.size(); ++s) parent = XmlChild(parent, r.path[s], false);
            pugi::xml_node item = XmlChild(parent, r.path.back(), /*fresh=*/true);
            Where here{where, &r.target, i};
            CHUB_RETURN_IF_ERROR(Apply(r.children, elems[i], i, OutNode{nullptr, item}, &here));
          }
        }
        continue;
      }
      Status st = runner_.Values(r, at, index, &vals_);
      if (!st.ok()) return fail(st.message());
      if (vals_.empty()) {
        if (r.required) return fail("required, but " + (r.from.empty() ? std::string("the rule") : r.from.front().text) + " has no value");
        continue;
      }
      const Scalar v = vals_.front();
      if (out.json) {
        Value& slot = Slot(*out.json, r.path, a_);
        if (r.leaf == Leaf::kDecimal) {
          auto d = Decimal::Parse(v.text());
          if (!d.ok()) return fail("expected a number, got " + Quote(v.text()));
          // The decimal's own digits, as a JSON number (a double would round beyond 15 to 17
          // digits; a receiver reading decimals, as ERPs do, gets them all).
          numbers_.push_back(d->ToString());
          slot.SetString(rapidjson::StringRef(numbers_.back().data(), numbers_.back().size()));
          raw_numbers_.insert(numbers_.back().data());
        } else if (r.leaf == Leaf::kInteger) {
          auto s = Scalar::Parse(Scalar::Kind::kInteger, v.text());
          if (!s.ok()) return fail("expected an integer, got " + Quote(v.text()));
          slot.SetInt64(std::stoll(s->text()));
        } else if (r.leaf == Leaf::kBoolean) {
          auto s = Scalar::Parse(Scalar::Kind::kBoolean, v.text());
          if (!s.ok()) return fail("expected true or false, got " + Quote(v.text()));
          slot.SetBool(s->text() == "true");
        } else {
          slot.SetString(v.text().c_str(), a_);
        }
      } else {
        if (std::string bad = NotXmlText(v.text()); !bad.empty()) return fail(bad);
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
  Alloc& a_;
  std::vector<Scalar> vals_;

 public:
  // Decimals written as numbers: strings of the output whose characters are these, written
  // without quotes (see RawNumberWriter). A deque: the characters never move.
  std::deque<std::string> numbers_;
  std::unordered_set<const char*> raw_numbers_;
};

// Compact JSON, with the strings OutRunner made of decimals written as numbers.
struct RawNumberWriter : rapidjson::Writer<rapidjson::StringBuffer> {
  RawNumberWriter(rapidjson::StringBuffer& sb, const std::unordered_set<const char*>& raw)
      : Writer(sb), raw_(raw) {}
  bool String(const char* s, rapidjson::SizeType n, bool copy = false) {
    if (raw_.count(s)) return RawValue(s, n, rapidjson::kNumberType);
    return Writer::String(s, n, copy);
  }
  const std::unordered_set<const char*>& raw_;
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
  Runner runner(m, root, nullptr);
  rapidjson::Document json_out(rapidjson::kObjectType);
  OutRunner out(m, runner, json_out.GetAllocator());
  if (m.format == Format::kJson) {
    CHUB_RETURN_IF_ERROR(out.Apply(m.rules, root, 0, OutNode{&json_out, {}}, nullptr));
    rapidjson::StringBuffer sb;
    RawNumberWriter w(sb, out.raw_numbers_);
    json_out.Accept(w);
    return std::string(sb.GetString(), sb.GetSize());
  }
  pugi::xml_document doc;
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  pugi::xml_node top = doc.append_child(m.root_element.c_str());
  CHUB_RETURN_IF_ERROR(out.Apply(m.rules, root, 0, OutNode{nullptr, top}, nullptr));
  XmlText text;
  doc.save(text, "  ", pugi::format_default, pugi::encoding_utf8);
  return text.out;
}

}  // namespace

bool MappingIsOutbound(const CompiledMapping& m) { return m.outbound; }

bool MappingWritesXml(const CompiledMapping& m) { return m.outbound && m.format == Format::kXml; }

Result<std::vector<std::string>> RunMappingEntities(const CompiledMapping& m, std::string_view payload) {
  if (m.outbound) {
    auto one = RunOutbound(m, payload);
    if (!one.ok()) return one.status();
    return std::vector<std::string>{std::move(one).value()};
  }
  std::vector<Entity> entities;
  CHUB_RETURN_IF_ERROR(RunInbound(m, payload, &entities));
  std::vector<std::string> out;
  out.reserve(entities.size());
  for (Entity& e : entities) out.push_back(std::move(e.json));
  return out;
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
    std::vector<MappedEvent> out;
    if (m_->outbound) return Status::Invalid(m_->file + ": an outbound mapping cannot map inbound events");
    std::vector<Entity> entities;
    CHUB_RETURN_IF_ERROR(RunInbound(*m_, in.body, &entities));
    for (Entity& e : entities) out.push_back(Event(in, e));
    return out;
  }

 private:
  MappedEvent Event(const InboundPayload& in, Entity& e) const {
    MappedEvent ev;
    const std::string source(in.source);
    if (m_->target == "order") {
      ev.type = "com.channelhub.order.upserted";
      const std::string& id = e.keys[kCaptureSourceId].empty() ? e.keys[kCaptureOrderNo] : e.keys[kCaptureSourceId];
      ev.subject = "order/" + source + "/" + id;
    } else if (m_->target == "customer") {
      ev.type = "com.channelhub.customer.upserted";
      ev.subject = "customer/" + source + "/" + e.keys[kCaptureSourceId];
    } else {
      ev.type = "com.channelhub.stock.updated";
      ev.subject = "stock/" + source + "/" + e.keys[kCaptureWarehouse] + "/" + e.keys[kCaptureSku];
    }
    ev.data_json = std::move(e.json);
    return ev;
  }

  std::shared_ptr<const CompiledMapping> m_;
};

}  // namespace

std::unique_ptr<Mapper> MakeFileMapper(std::shared_ptr<const CompiledMapping> mapping) {
  return std::make_unique<FileMapper>(std::move(mapping));
}

}  // namespace channelhub::mapping
