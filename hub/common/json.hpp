// Small RapidJSON helpers: strict parsing, readers that name the failing field, a compact writer.
// This is the one header that exposes RapidJSON; model headers use std types only.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/common/decimal.hpp"
#include "hub/common/status.hpp"
#include "hub/common/time.hpp"

namespace channelhub::json {

// Documents nested deeper than this are refused before parsing: RapidJSON's value destructor
// and writer recurse, so unbounded nesting from a partner could exhaust the stack.
inline constexpr int kMaxDepth = 64;

// Parses "text" (UTF-8, validated) as one JSON document into "*doc". InvalidArgument with the
// byte offset and RapidJSON's reason, or when nesting exceeds kMaxDepth.
Status Parse(std::string_view text, rapidjson::Document* doc);

// Where byte "offset" of "text" is, for people: "line 3, column 12" (columns count bytes, from 1).
std::string LineColumn(std::string_view text, std::size_t offset);

// "null", "true", "false", "object", "array", "string" or "number", for error messages.
std::string_view TypeName(const rapidjson::Value& v);

// The value as compact JSON text.
std::string ToCompact(const rapidjson::Value& v);

// Field paths in messages: JoinKey("lines[1]", "quantity") is "lines[1].quantity",
// JoinKey("", "id") is "id", JoinIndex("lines", 1) is "lines[1]".
std::string JoinKey(std::string_view path, std::string_view key);
std::string JoinIndex(std::string_view path, size_t index);

// InvalidArgument "<path>: <message>" (just "<message>" for the empty root path).
Status ErrorAt(std::string_view path, std::string_view message);
// InvalidArgument "<path>: expected <expected>, got <type of v>".
Status TypeErrorAt(std::string_view path, std::string_view expected, const rapidjson::Value& v);

// Conversions of single values; every error names "path".
Status ReadString(const rapidjson::Value& v, std::string_view path, std::string* out);
// A decimal written as a JSON string ("388.00"); a JSON number is refused so that no value ever
// passes through a double.
Status ReadDecimal(const rapidjson::Value& v, std::string_view path, Decimal* out);
// An RFC 3339 string (see ParseRfc3339; local times are read at "default_offset").
Status ReadTime(const rapidjson::Value& v, std::string_view path, UtcTime* out,
                std::chrono::minutes default_offset = kDefaultUtcOffset);

// How a reader treats members whose value is null.
enum class Nulls {
  kAbsent,  // null means "not given" (partner payloads: Shopify sends "sku": null)
  kError,   // null is a type error (canonical JSON omits absent values instead)
};

// ObjectReader is a read-only view of one JSON object that reports every problem as
// "<path>.<key>: <what is wrong>". Optional getters leave "*out" untouched when the member is
// absent. "value" must outlive the reader. Cheap to copy.
class ObjectReader {
 public:
  // InvalidArgument "<path>: expected an object, got ..." when "value" is not an object.
  static Result<ObjectReader> Open(const rapidjson::Value& value, std::string path, Nulls nulls);

  const std::string& path() const { return path_; }
  std::string PathOf(std::string_view key) const { return JoinKey(path_, key); }
  const rapidjson::Value& value() const { return *value_; }

  // The member, or nullptr when it is absent (or null, under Nulls::kAbsent).
  // Under Nulls::kError a null member is returned, and the typed getters reject it.
  const rapidjson::Value* Find(std::string_view key) const;

  Status GetString(std::string_view key, std::string* out) const;
  // A string that must be present and not empty.
  Status RequireString(std::string_view key, std::string* out) const;
  Status GetDecimal(std::string_view key, std::optional<Decimal>* out) const;
  Status RequireDecimal(std::string_view key, Decimal* out) const;
  Status GetTime(std::string_view key, std::optional<UtcTime>* out) const;
  Status GetBool(std::string_view key, std::optional<bool>* out) const;
  Status GetInt(std::string_view key, std::optional<int64_t>* out) const;
  Status GetStringArray(std::string_view key, std::vector<std::string>* out) const;
  // A nested object: *out is set when present, left empty when absent.
  Status GetObject(std::string_view key, std::optional<ObjectReader>* out) const;
  Status RequireObject(std::string_view key, std::optional<ObjectReader>* out) const;
  // An array: *out points at it when present, stays nullptr when absent.
  Status GetArray(std::string_view key, const rapidjson::Value** out) const;

  // InvalidArgument "<path>.<key>: unknown key" for the first member not in "known".
  Status CheckKeys(std::initializer_list<std::string_view> known) const;

 private:
  ObjectReader(const rapidjson::Value* value, std::string path, Nulls nulls)
      : value_(value), path_(std::move(path)), nulls_(nulls) {}

  Status Missing(std::string_view key) const;

  const rapidjson::Value* value_;
  std::string path_;
  Nulls nulls_;
};

// JsonWriter builds compact JSON. The Member* helpers skip absent values (empty strings, empty
// vectors, empty optionals), which is how canonical JSON represents them. Not thread-safe.
class JsonWriter {
 public:
  JsonWriter() : writer_(buffer_) {}
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  void StartObject() { writer_.StartObject(); }
  void EndObject() { writer_.EndObject(); }
  void StartArray() { writer_.StartArray(); }
  void EndArray() { writer_.EndArray(); }
  void Key(std::string_view key);
  void String(std::string_view s);
  void Int(int64_t v) { writer_.Int64(v); }
  void Uint(uint64_t v) { writer_.Uint64(v); }
  void Bool(bool v) { writer_.Bool(v); }
  void Null() { writer_.Null(); }
  void Value(const rapidjson::Value& v) { v.Accept(writer_); }
  // Inserts JSON text as it is. REQUIRES: "json" is one valid JSON value.
  void Raw(std::string_view json);

  void MemberString(std::string_view key, std::string_view s);  // skipped when empty
  void MemberDecimal(std::string_view key, const Decimal& d);
  void MemberDecimal(std::string_view key, const std::optional<Decimal>& d);
  void MemberTime(std::string_view key, UtcTime t);
  void MemberTime(std::string_view key, const std::optional<UtcTime>& t);
  void MemberStrings(std::string_view key,
                     const std::vector<std::string>& v);  // skipped when empty

  // The text written so far. REQUIRES: every object and array has been closed.
  std::string Take() const { return std::string(buffer_.GetString(), buffer_.GetSize()); }

 private:
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
};

}  // namespace channelhub::json
