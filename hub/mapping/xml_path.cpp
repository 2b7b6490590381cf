// Simple XPaths evaluated directly on pugixml nodes (see XmlPath in engine_internal.hpp).
// pugixml's XPath engine builds node sets in a private allocator on every evaluation; the paths
// mapping files use are nearly all of the form //SEGMENT[QUALF='002']/FIELD, which a direct walk
// answers without any allocation.
#include <optional>
#include <string>
#include <string_view>

#include "hub/mapping/engine_internal.hpp"

namespace channelhub::mapping::internal {
namespace {

bool NameStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool NameChar(char c) {
  return NameStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':';
}

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  bool AtEnd() const { return i_ == s_.size(); }
  bool Eat(std::string_view t) {
    if (s_.substr(i_, t.size()) != t) return false;
    i_ += t.size();
    return true;
  }
  std::optional<std::string> Name() {
    if (AtEnd() || !NameStart(s_[i_])) return std::nullopt;
    std::size_t start = i_;
    while (i_ < s_.size() && NameChar(s_[i_])) ++i_;
    std::string name(s_.substr(start, i_ - start));
    if (name.find("::") != std::string::npos || name.back() == ':') return std::nullopt;  // an axis
    return name;
  }
  std::optional<int> Number() {
    std::size_t start = i_;
    int n = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9' && i_ - start < 6) n = n * 10 + (s_[i_++] - '0');
    if (i_ == start || n == 0) return std::nullopt;
    return n;
  }
  std::optional<std::string> Quoted() {
    if (AtEnd() || (s_[i_] != '\'' && s_[i_] != '"')) return std::nullopt;
    const char q = s_[i_++];
    std::size_t end = s_.find(q, i_);
    if (end == std::string_view::npos) return std::nullopt;
    std::string v(s_.substr(i_, end - i_));
    i_ = end + 1;
    return v;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

// [N] or [CHILD='v'] or [@a='v'].
bool Predicate(Parser& p, XmlStep* step) {
  if (!p.Eat("[")) return true;
  if (auto n = p.Number()) {
    step->nth = *n;
    return p.Eat("]");
  }
  step->equals_attribute = p.Eat("@");
  auto name = p.Name();
  if (!name || !p.Eat("=")) return false;
  auto value = p.Quoted();
  if (!value || !p.Eat("]")) return false;
  step->has_equals = true;
  step->equals_name = *name;
  step->equals_value = *value;
  return true;
}

// The n-th (1-based) among the element's same-name siblings?
bool IsNth(pugi::xml_node e, int nth) {
  int pos = 1;
  for (pugi::xml_node s = e.previous_sibling(e.name()); s; s = s.previous_sibling(e.name())) {
    if (++pos > nth) return false;
  }
  return pos == nth;
}

bool IsText(pugi::xml_node n) { return n.type() == pugi::node_pcdata || n.type() == pugi::node_cdata; }

bool PredicateHolds(const XmlStep& step, pugi::xml_node e) {
  if (!step.has_equals) return true;
  if (step.equals_attribute) {
    pugi::xml_attribute a = e.attribute(step.equals_name.c_str());
    return a && step.equals_value == a.value();
  }
  for (pugi::xml_node c = e.child(step.equals_name.c_str()); c; c = c.next_sibling(step.equals_name.c_str())) {
    if (XmlStringValueIs(c, step.equals_value)) return true;
  }
  return false;
}

// Applies steps[i..] to "node"; returns false once "first_only" is satisfied.
bool Walk(const XmlPath& path, std::size_t i, pugi::xml_node doc, pugi::xml_node node,
          XmlIndex* index, bool first_only, std::vector<pugi::xpath_node>* out, const XmlItem* item) {
  if (i == path.steps.size()) {
    out->push_back(pugi::xpath_node(node));
    return !first_only;
  }
  const XmlStep& step = path.steps[i];
  switch (step.kind) {
    case XmlStep::Kind::kSelf:
      return Walk(path, i + 1, doc, node, index, first_only, out, item);
    case XmlStep::Kind::kAttribute: {
      pugi::xml_attribute a = node.attribute(step.name.c_str());
      if (!a) return true;
      out->push_back(pugi::xpath_node(a, node));
      return !first_only;
    }
    case XmlStep::Kind::kText: {
      for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
        if (c.type() != pugi::node_pcdata && c.type() != pugi::node_cdata) continue;
        out->push_back(pugi::xpath_node(c));
        if (first_only) return false;
      }
      return true;
    }
    case XmlStep::Kind::kDescendant: {
      for (pugi::xml_node e : index->Get(doc, step.index_slot)) {
        if (step.nth && !IsNth(e, step.nth)) continue;
        if (!PredicateHolds(step, e)) continue;
        if (!Walk(path, i + 1, doc, e, index, first_only, out, item)) return false;
      }
      return true;
    }
    case XmlStep::Kind::kChild: {
      int pos = 0;
      const bool indexed = i == 0 && step.item_slot >= 0 && item != nullptr && item->element == node;
      pugi::xml_node c = indexed ? item->first[static_cast<std::size_t>(step.item_slot)] : node.child(step.name.c_str());
      for (; c; c = c.next_sibling(step.name.c_str())) {
        ++pos;
        if (step.nth && pos != step.nth) continue;
        if (PredicateHolds(step, c) && !Walk(path, i + 1, doc, c, index, first_only, out, item)) return false;
        if (step.nth) break;
      }
      return true;
    }
  }
  return true;
}

}  // namespace

const char* XmlValue(const pugi::xpath_node& n, std::string* joined) {
  if (n.attribute()) return n.attribute().value();
  const pugi::xml_node node = n.node();
  if (IsText(node)) return node.value();
  pugi::xml_node first = node.first_child();
  while (first && !IsText(first)) first = first.next_sibling();
  if (!first) return "";
  pugi::xml_node more = first.next_sibling();
  while (more && !IsText(more)) more = more.next_sibling();
  if (!more) return first.value();  // the usual case: one piece, read in place
  joined->assign(first.value());
  for (; more; more = more.next_sibling()) {
    if (IsText(more)) joined->append(more.value());
  }
  return joined->c_str();
}

bool XmlStringValueIs(pugi::xml_node e, std::string_view value) {
  const pugi::xml_node only = e.first_child();
  if (!only) return value.empty();
  if (IsText(only) && !only.next_sibling()) return value == only.value();  // the usual case
  std::string text;  // the text of every descendant, in document order
  for (pugi::xml_node n = only; n && n != e;) {
    if (IsText(n)) text += n.value();
    if (n.first_child()) {
      n = n.first_child();
      continue;
    }
    while (n != e && !n.next_sibling()) n = n.parent();
    if (n != e) n = n.next_sibling();
  }
  return text == value;
}

std::optional<XmlPath> CompileXmlPath(std::string_view text, NameTable* index_names) {
  XmlPath path;
  Parser p(text);
  bool descendant = false;
  if (p.Eat("//")) {
    path.absolute = true;
    descendant = true;
  } else if (p.Eat("/")) {
    path.absolute = true;
  }
  while (true) {
    XmlStep step;
    if (p.Eat("@")) {
      auto name = p.Name();
      if (!name || !p.AtEnd()) return std::nullopt;  // an attribute ends the path
      step.kind = XmlStep::Kind::kAttribute;
      step.name = *name;
    } else if (p.Eat("text()")) {
      if (!p.AtEnd()) return std::nullopt;
      step.kind = XmlStep::Kind::kText;
    } else if (p.Eat(".")) {
      if (p.Eat(".")) return std::nullopt;  // ".." is left to pugixml
      step.kind = XmlStep::Kind::kSelf;
    } else {
      auto name = p.Name();
      if (!name) return std::nullopt;
      step.kind = descendant ? XmlStep::Kind::kDescendant : XmlStep::Kind::kChild;
      step.name = *name;
      if (!Predicate(p, &step)) return std::nullopt;
      if (descendant) step.index_slot = index_names->Add(step.name);
    }
    if (descendant && step.kind != XmlStep::Kind::kDescendant) return std::nullopt;
    descendant = false;
    path.steps.push_back(std::move(step));
    if (p.AtEnd()) break;
    if (p.Eat("//")) return std::nullopt;  // a descendant step after the first: pugixml's
    if (!p.Eat("/")) return std::nullopt;
  }
  if (path.steps.empty()) return std::nullopt;
  return path;
}

void XmlIndex::Start() {
  built_ = true;
  lists_.assign(names_->size(), {});
}

void XmlIndex::Element(pugi::xml_node n) {
  if (const int slot = names_->Find(n.name()); slot >= 0) lists_[static_cast<std::size_t>(slot)].push_back(n);
}

const std::vector<pugi::xml_node>& XmlIndex::Get(pugi::xml_node doc, int slot) {
  if (!built_) {
    Start();
    pugi::xml_node n = doc.first_child();
    while (n) {
      if (n.type() == pugi::node_element) {
        Element(n);
        if (pugi::xml_node c = n.first_child()) {
          n = c;
          continue;
        }
      }
      while (n != doc && !n.next_sibling()) n = n.parent();
      if (n == doc) break;
      n = n.next_sibling();
    }
  }
  return lists_[static_cast<std::size_t>(slot)];
}

void SelectXml(const XmlPath& path, pugi::xml_node doc, pugi::xml_node context, XmlIndex* index,
               bool first_only, std::vector<pugi::xpath_node>* out, const XmlItem* item) {
  Walk(path, 0, doc, path.absolute ? doc : context, index, first_only, out, item);
}

}  // namespace channelhub::mapping::internal
