#include "hub/common/json.hpp"

#include <algorithm>

#include <rapidjson/error/en.h>

#include "hub/common/bounded_walk.hpp"

namespace channelhub::json {

std::string LineColumn(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  std::size_t line = 1, start = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      start = i + 1;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(offset - start + 1);
}

Status Parse(std::string_view text, rapidjson::Document* doc) {
  if (text.empty()) return Status::Invalid("invalid JSON: empty text");
  if (bounded::JsonNestingDepth(text, kMaxDepth) > static_cast<std::size_t>(kMaxDepth)) {
    return Status::Invalid("invalid JSON: nested deeper than " + std::to_string(kMaxDepth) +
                           " levels");
  }
  doc->Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  if (doc->HasParseError()) {
    std::string m = "invalid JSON at offset ";
    m += std::to_string(doc->GetErrorOffset());
    m += " (" + LineColumn(text, doc->GetErrorOffset()) + ")";
    m += ": ";
    m += rapidjson::GetParseError_En(doc->GetParseError());
    return Status::Invalid(std::move(m));
  }
  return Status::Ok();
}

std::string_view TypeName(const rapidjson::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
      return "false";
    case rapidjson::kTrueType:
      return "true";
    case rapidjson::kObjectType:
      return "object";
    case rapidjson::kArrayType:
      return "array";
    case rapidjson::kStringType:
      return "string";
    case rapidjson::kNumberType:
      return "number";
  }
  return "unknown";
}

std::string ToCompact(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string JoinKey(std::string_view path, std::string_view key) {
  std::string s(path);
  if (!s.empty()) s += '.';
  s.append(key);
  return s;
}

std::string JoinIndex(std::string_view path, size_t index) {
  std::string s(path);
  s += '[';
  s += std::to_string(index);
  s += ']';
  return s;
}

Status ErrorAt(std::string_view path, std::string_view message) {
  std::string m(path);
  if (!m.empty()) m += ": ";
  m.append(message);
  return Status::Invalid(std::move(m));
}

Status TypeErrorAt(std::string_view path, std::string_view expected, const rapidjson::Value& v) {
  std::string m = "expected ";
  m.append(expected);
  m += ", got ";
  m.append(TypeName(v));
  return ErrorAt(path, m);
}

Status ReadString(const rapidjson::Value& v, std::string_view path, std::string* out) {
  if (!v.IsString()) return TypeErrorAt(path, "a string", v);
  out->assign(v.GetString(), v.GetStringLength());
  return Status::Ok();
}

Status ReadDecimal(const rapidjson::Value& v, std::string_view path, Decimal* out) {
  if (!v.IsString()) return TypeErrorAt(path, "a decimal string", v);
  Result<Decimal> d = Decimal::Parse(std::string_view(v.GetString(), v.GetStringLength()));
  if (!d.ok()) return ErrorAt(path, d.status().message());
  *out = *d;
  return Status::Ok();
}

Status ReadTime(const rapidjson::Value& v, std::string_view path, UtcTime* out,
                std::chrono::minutes default_offset) {
  if (!v.IsString()) return TypeErrorAt(path, "an RFC 3339 time string", v);
  Result<UtcTime> t =
      ParseRfc3339(std::string_view(v.GetString(), v.GetStringLength()), default_offset);
  if (!t.ok()) return ErrorAt(path, t.status().message());
  *out = *t;
  return Status::Ok();
}

Result<ObjectReader> ObjectReader::Open(const rapidjson::Value& value, std::string path,
                                        Nulls nulls) {
  if (!value.IsObject())
    return TypeErrorAt(path, path.empty() ? "a JSON object" : "an object", value);
  return ObjectReader(&value, std::move(path), nulls);
}

const rapidjson::Value* ObjectReader::Find(std::string_view key) const {
  const auto it = value_->FindMember(rapidjson::StringRef(key.data(), key.size()));
  if (it == value_->MemberEnd()) return nullptr;
  if (it->value.IsNull() && nulls_ == Nulls::kAbsent) return nullptr;
  return &it->value;
}

Status ObjectReader::Missing(std::string_view key) const {
  return ErrorAt(PathOf(key), "required");
}

Status ObjectReader::GetString(std::string_view key, std::string* out) const {
  const rapidjson::Value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  return ReadString(*v, PathOf(key), out);
}

Status ObjectReader::RequireString(std::string_view key, std::string* out) const {
  const rapidjson::Value* v = Find(key);
  if (v == nullptr) return Missing(key);
  CHUB_RETURN_IF_ERROR(ReadString(*v, PathOf(key), out));
  if (out->empty()) return ErrorAt(PathOf(key), "must not be empty");
  return Status::Ok();
}

Status ObjectReader::GetDecimal(std::string_view key, std::optional<Decimal>* out) const {
  const rapidjson::Value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  Decimal d;
  CHUB_RETURN_IF_ERROR(ReadDecimal(*v, PathOf(key), &d));
  *out = d;
  return Status::Ok();
}

Status ObjectReader::RequireDecimal(std::string_view key, Decimal* out) const {
  const rapidjson::Value* v = Find(key);
  if (v == nullptr) return Missing(key);
  return ReadDecimal(*v, PathOf(key), out);
}

Status ObjectReader::GetTime(std::string_view key, std::optional<UtcTime>* out) const {
  const rapidjson::Value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  UtcTime t;
  CHUB_RETURN_IF_ERROR(ReadTime(*v, PathOf(key), &t));
  *out = t;
  return Status::Ok();
}

Status ObjectReader::GetBool(std::string_view key, std::optional<bool>* out) const {
  const rapidjson::Value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  if (!v->IsBool()) return TypeErrorAt(PathOf(key), "true or false", *v);
  *out = v->GetBool();
  return Status::Ok();
}

Status ObjectReader::GetInt(std::string_view key, std::optional<int64_t>* out) const {
  const rapidjson::Value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  if (!v->IsInt64()) {
    if (v->IsNumber())
      return ErrorAt(PathOf(key), "expected an integer, got a fraction or a number out of range");
    return TypeErrorAt(PathOf(key), "an integer", *v);
  }
  *out = v->GetInt64();
  return Status::Ok();
}

Status ObjectReader::GetStringArray(std::string_view key, std::vector<std::string>* out) const {
  const rapidjson::Value* a = nullptr;
  CHUB_RETURN_IF_ERROR(GetArray(key, &a));
  if (a == nullptr) return Status::Ok();
  const std::string path = PathOf(key);
  std::vector<std::string> items;
  items.reserve(a->Size());
  for (rapidjson::SizeType i = 0; i < a->Size(); ++i) {
    std::string s;
    CHUB_RETURN_IF_ERROR(ReadString((*a)[i], JoinIndex(path, i), &s));
    items.push_back(std::move(s));
  }
  *out = std::move(items);
  return Status::Ok();
}

Status ObjectReader::GetObject(std::string_view key, std::optional<ObjectReader>* out) const {
  const rapidjson::Value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  Result<ObjectReader> r = Open(*v, PathOf(key), nulls_);
  if (!r.ok()) return r.status();
  out->emplace(std::move(r).value());
  return Status::Ok();
}

Status ObjectReader::RequireObject(std::string_view key, std::optional<ObjectReader>* out) const {
  CHUB_RETURN_IF_ERROR(GetObject(key, out));
  if (!out->has_value()) return Missing(key);
  return Status::Ok();
}

Status ObjectReader::GetArray(std::string_view key, const rapidjson::Value** out) const {
  const rapidjson::Value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  if (!v->IsArray()) return TypeErrorAt(PathOf(key), "an array", *v);
  *out = v;
  return Status::Ok();
}

Status ObjectReader::CheckKeys(std::initializer_list<std::string_view> known) const {
  for (auto it = value_->MemberBegin(); it != value_->MemberEnd(); ++it) {
    const std::string_view name(it->name.GetString(), it->name.GetStringLength());
    bool found = false;
    for (std::string_view k : known) {
      if (k == name) {
        found = true;
        break;
      }
    }
    if (!found) return ErrorAt(PathOf(name), "unknown key");
  }
  return Status::Ok();
}

void JsonWriter::Key(std::string_view key) {
  writer_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void JsonWriter::String(std::string_view s) {
  writer_.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void JsonWriter::Raw(std::string_view json) {
  // The type argument only steers RapidJSON's bookkeeping for the root; any value type will do.
  writer_.RawValue(json.data(), json.size(), rapidjson::kObjectType);
}

void JsonWriter::MemberString(std::string_view key, std::string_view s) {
  if (s.empty()) return;
  Key(key);
  String(s);
}

void JsonWriter::MemberDecimal(std::string_view key, const Decimal& d) {
  Key(key);
  String(d.ToString());
}

void JsonWriter::MemberDecimal(std::string_view key, const std::optional<Decimal>& d) {
  if (d) MemberDecimal(key, *d);
}

void JsonWriter::MemberTime(std::string_view key, UtcTime t) {
  Key(key);
  String(FormatRfc3339(t));
}

void JsonWriter::MemberTime(std::string_view key, const std::optional<UtcTime>& t) {
  if (t) MemberTime(key, *t);
}

void JsonWriter::MemberStrings(std::string_view key, const std::vector<std::string>& v) {
  if (v.empty()) return;
  Key(key);
  StartArray();
  for (const std::string& s : v) String(s);
  EndArray();
}

}  // namespace channelhub::json
