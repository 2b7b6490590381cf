#include "hub/mapping/json_path.hpp"

#include <cctype>

namespace channelhub::mapping {
namespace {

bool IsNameChar(unsigned char c) {
  // Letters, digits, '_' and '-', and every byte of a multi-byte UTF-8 character (Chinese keys).
  return std::isalnum(c) || c == '_' || c == '-' || c >= 0x80;
}

Status ErrorAt(std::size_t pos, std::string_view what) {
  return Status::Invalid("column " + std::to_string(pos + 1) + ": " + std::string(what));
}

}  // namespace

Result<JsonPath> JsonPath::Compile(std::string_view text) {
  JsonPath p;
  p.text_ = std::string(text);
  std::size_t i = 0;
  const std::size_t n = text.size();
  if (n == 0) return Status::Invalid("empty path: write $ for the whole value, or $.member");
  if (text.substr(0, 2) == "$$") {
    p.from_root_ = true;
    i = 2;
  } else if (text[0] == '$') {
    i = 1;
  } else if (IsNameChar(static_cast<unsigned char>(text[0]))) {
    i = 0;  // "sku": a member of the current value; parsed below as if after a '.'
    std::size_t start = i;
    while (i < n && IsNameChar(static_cast<unsigned char>(text[i]))) ++i;
    p.steps_.push_back({Step::Kind::kMember, std::string(text.substr(start, i - start)), 0});
  } else {
    return ErrorAt(0, "a path starts with $, $$ or a member name");
  }
  while (i < n) {
    const char c = text[i];
    if (c == '.') {
      ++i;
      if (i < n && text[i] == '*') {
        p.steps_.push_back({Step::Kind::kWildcard, "", 0});
        p.single_ = false;
        ++i;
        continue;
      }
      std::size_t start = i;
      while (i < n && IsNameChar(static_cast<unsigned char>(text[i]))) ++i;
      if (i == start) {
        return ErrorAt(start, "expected a member name after \".\" (quote other names: $['a b'])");
      }
      p.steps_.push_back({Step::Kind::kMember, std::string(text.substr(start, i - start)), 0});
    } else if (c == '[') {
      ++i;
      if (i < n && text[i] == '*') {
        ++i;
        if (i >= n || text[i] != ']') return ErrorAt(i, "expected \"]\" after \"[*\"");
        ++i;
        p.steps_.push_back({Step::Kind::kWildcard, "", 0});
        p.single_ = false;
      } else if (i < n && (text[i] == '\'' || text[i] == '"')) {
        const char quote = text[i++];
        std::string name;
        while (i < n && text[i] != quote) {
          if (text[i] == '\\' && i + 1 < n) ++i;
          name += text[i++];
        }
        if (i >= n) return ErrorAt(i, std::string("unclosed quote: expected ") + quote);
        ++i;
        if (i >= n || text[i] != ']') return ErrorAt(i, "expected \"]\" after a quoted name");
        ++i;
        p.steps_.push_back({Step::Kind::kMember, std::move(name), 0});
      } else {
        std::size_t start = i;
        if (i < n && text[i] == '-') ++i;
        while (i < n && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
        if (i == start || (i == start + 1 && text[start] == '-')) {
          return ErrorAt(start, "expected an index, * or a quoted name inside [ ]");
        }
        if (i - start > 10) return ErrorAt(start, "index is too large");
        if (i >= n || text[i] != ']') return ErrorAt(i, "expected \"]\" after an index");
        int64_t index = std::stoll(std::string(text.substr(start, i - start)));
        ++i;
        p.steps_.push_back({Step::Kind::kIndex, "", index});
      }
    } else {
      return ErrorAt(i, std::string("unexpected \"") + c + "\": expected \".\" or \"[\"");
    }
  }
  return p;
}

std::vector<std::string> JsonPath::StepNames() const {
  std::vector<std::string> out;
  for (const Step& s : steps_) out.push_back(s.kind == Step::Kind::kMember ? s.name : std::string());
  return out;
}

const std::string& JsonPath::head() const {
  static const std::string kNone;
  return !steps_.empty() && steps_[0].kind == Step::Kind::kMember ? steps_[0].name : kNone;
}

void JsonPath::Walk(const rapidjson::Value& v, std::size_t step,
                    std::vector<const rapidjson::Value*>* out) const {
  if (step == steps_.size()) {
    out->push_back(&v);
    return;
  }
  const Step& s = steps_[step];
  switch (s.kind) {
    case Step::Kind::kMember: {
      if (!v.IsObject()) return;
      auto it = v.FindMember(rapidjson::StringRef(s.name.data(), s.name.size()));
      if (it != v.MemberEnd()) Walk(it->value, step + 1, out);
      return;
    }
    case Step::Kind::kIndex: {
      if (!v.IsArray()) return;
      const int64_t size = v.Size();
      const int64_t at = s.index < 0 ? size + s.index : s.index;
      if (at >= 0 && at < size) Walk(v[static_cast<rapidjson::SizeType>(at)], step + 1, out);
      return;
    }
    case Step::Kind::kWildcard: {
      if (v.IsArray()) {
        for (const auto& e : v.GetArray()) Walk(e, step + 1, out);
      } else if (v.IsObject()) {
        for (const auto& m : v.GetObject()) Walk(m.value, step + 1, out);
      }
      return;
    }
  }
}

void JsonPath::Select(const rapidjson::Value& root, const rapidjson::Value& current,
                      std::vector<const rapidjson::Value*>* out) const {
  Walk(from_root_ ? root : current, 0, out);
}

const rapidjson::Value* JsonPath::First(const rapidjson::Value& root,
                                        const rapidjson::Value& current) const {
  if (!single_) {
    std::vector<const rapidjson::Value*> found;
    Select(root, current, &found);
    return found.empty() ? nullptr : found.front();
  }
  // No wildcard: one step at a time, without collecting.
  return FirstFrom(from_root_ ? &root : &current, 0);
}

const rapidjson::Value* JsonPath::FirstFrom(const rapidjson::Value* v, std::size_t step) const {
  for (std::size_t i = step; i < steps_.size(); ++i) {
    const Step& s = steps_[i];
    if (s.kind == Step::Kind::kMember) {
      if (!v->IsObject()) return nullptr;
      auto it = v->FindMember(rapidjson::StringRef(s.name.data(), s.name.size()));
      if (it == v->MemberEnd()) return nullptr;
      v = &it->value;
    } else {
      if (!v->IsArray()) return nullptr;
      const int64_t size = v->Size();
      const int64_t at = s.index < 0 ? size + s.index : s.index;
      if (at < 0 || at >= size) return nullptr;
      v = &(*v)[static_cast<rapidjson::SizeType>(at)];
    }
  }
  return v;
}

}  // namespace channelhub::mapping
