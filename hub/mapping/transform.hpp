// Transforms: the value functions mapping rules call (trim, decimal, datetime_parse, lookup, ...).
//
// A mapping file names a transform and its arguments; the mapping compiler calls
// CompileTransform() once at load, which checks every argument (and reads any CSV file), and
// keeps the returned Transform. On the per-event path only Transform::Apply() runs: it never
// throws and never does I/O. ListTransforms() documents every transform for the README and
// `channelhub map --help`.
//
// Example:
//   TransformArgs args;
//   args.named = {{"scale", "2"}, {"rounding", "half_even"}};
//   Result<std::unique_ptr<Transform>> t = CompileTransform("decimal", args, mapping_dir);
//   if (!t.ok()) return t.status();  // 'decimal: argument "scale" must be ...'
//   Result<Scalar> v = (*t)->Apply(Scalar::String("2.345"));  // decimal "2.34"
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hub/common/decimal.hpp"
#include "hub/common/status.hpp"
#include "hub/common/time.hpp"

namespace channelhub::mapping {

// A Scalar is one typed value flowing through transforms. Its text is always canonical for its
// kind, which the factory functions guarantee (the constructor is private):
//   kNull     ""                        no value (a missing or JSON null field)
//   kString   any valid or invalid bytes  (transforms that read characters check UTF-8)
//   kDecimal  Decimal::ToString():      "388.00", "-1.5"
//   kInteger  decimal digits:           "42", "-7"
//   kBoolean  "true" or "false"
//   kTime     FormatRfc3339() in UTC:   "2024-01-05T02:00:00Z", "2024-01-05T02:00:00.120Z"
// A plain value type: cheap to move, safe to share between threads.
class Scalar {
 public:
  enum class Kind { kNull, kString, kDecimal, kInteger, kBoolean, kTime };

  // A null scalar.
  Scalar() = default;

  static Scalar Null() { return Scalar(); }
  static Scalar String(std::string text) { return Scalar(Kind::kString, std::move(text)); }
  static Scalar FromDecimal(const Decimal& d) { return Scalar(Kind::kDecimal, d.ToString()); }
  static Scalar Integer(int64_t v) { return Scalar(Kind::kInteger, std::to_string(v)); }
  static Scalar Boolean(bool v) { return Scalar(Kind::kBoolean, v ? "true" : "false"); }
  // REQUIRES: "t" lies in the years 0000..9999 (as every time a transform produces does).
  static Scalar Time(UtcTime t) { return Scalar(Kind::kTime, FormatRfc3339(t)); }

  // Builds a scalar of "kind" from text as a mapping file or a payload spells it, checking and
  // canonicalising it: ("decimal", "1.50") keeps "1.50"; ("integer", "+7") gives "7";
  // ("boolean", "TRUE") gives "true"; ("time", "2024-01-05 10:00:00") reads the local time as
  // Asia/Shanghai. InvalidArgument saying what was expected otherwise. Null ignores "text".
  static Result<Scalar> Parse(Kind kind, std::string_view text);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  const std::string& text() const { return text_; }

  bool operator==(const Scalar& other) const = default;

 private:
  Scalar(Kind kind, std::string text) : kind_(kind), text_(std::move(text)) {}

  Kind kind_ = Kind::kNull;
  std::string text_;
};

// "null", "string", "decimal", "integer", "boolean", "time".
std::string_view KindName(Scalar::Kind kind);
// The inverse of KindName(); InvalidArgument for any other word.
Result<Scalar::Kind> KindFromName(std::string_view name);

// A set of kinds, for the inputs a transform accepts.
class KindSet {
 public:
  constexpr KindSet() = default;
  constexpr KindSet(std::initializer_list<Scalar::Kind> kinds) {
    for (Scalar::Kind k : kinds) bits_ |= Bit(k);
  }
  static constexpr KindSet AllNonNull() {
    return {Scalar::Kind::kString, Scalar::Kind::kDecimal, Scalar::Kind::kInteger,
            Scalar::Kind::kBoolean, Scalar::Kind::kTime};
  }

  constexpr bool Contains(Scalar::Kind k) const { return (bits_ & Bit(k)) != 0; }
  bool operator==(const KindSet& other) const = default;
  // "string, integer" in the order of Scalar::Kind.
  std::string ToString() const;

 private:
  static constexpr unsigned Bit(Scalar::Kind k) { return 1u << static_cast<unsigned>(k); }
  unsigned bits_ = 0;
};

// The arguments of one transform as written in a mapping file, not yet checked.
struct TransformArgs {
  // name -> value, e.g. {"scale", "2"}. Unknown names are compile errors.
  std::map<std::string, std::string> named;
  // Values given by position; they fill the transform's arguments in the order ListTransforms()
  // documents them. Naming an argument both ways is an error.
  std::vector<std::string> positional;
  // An inline key -> value table; only "lookup" takes one.
  std::map<std::string, std::string> table;
};

// A compiled transform: immutable, and safe to call from several threads at once.
//
// Null handling is uniform: every transform except "default" turns a null input into a null
// output without looking at it, so nulls are always accepted. A non-null output has
// output_kind(); a null output is possible when the input is null or an argument asks for one
// (lookup's on_missing: null, split's on_missing: null).
class Transform {
 public:
  virtual ~Transform() = default;
  Transform(const Transform&) = delete;
  Transform& operator=(const Transform&) = delete;

  // Applies the transform to one value. Errors are InvalidArgument naming the transform and
  // the value ('decimal: "12,5" is not a decimal: ...'); an input of a kind outside
  // input_kinds() is such an error too. Never throws: an unexpected exception inside (out of
  // memory) comes back as Internal.
  Result<Scalar> Apply(const Scalar& in) const;

  // A fast path for a string value, for the mapping runtime: appends to "*out" the text of what
  // Apply(Scalar::String(in)) gives, without building Scalars, and returns true. Returns false,
  // appending nothing, when the transform has no such path or the value would be an error or
  // null (Apply then says what is wrong). Only "decimal" has one today.
  virtual bool AppendFromText(std::string_view in, std::string* out) const;
  // The same for a decimal value (the result of a math: rule): appends the text of what
  // Apply(Scalar::FromDecimal(in)) gives. Only "decimal" has one today.
  virtual bool AppendFromDecimal(const Decimal& in, std::string* out) const;

  // The registered name, e.g. "decimal".
  const std::string& name() const { return name_; }
  // The kind of every non-null output.
  Scalar::Kind output_kind() const { return output_kind_; }
  // The non-null kinds Apply() accepts (null is always accepted).
  KindSet input_kinds() const { return input_kinds_; }

 protected:
  Transform(std::string name, KindSet input_kinds, Scalar::Kind output_kind)
      : name_(std::move(name)), input_kinds_(input_kinds), output_kind_(output_kind) {}

  // The work of Apply(). REQUIRES: "in" is null only if HandlesNull(), and otherwise of a kind
  // in input_kinds().
  virtual Result<Scalar> ApplyValue(const Scalar& in) const = 0;
  // True for a transform that gives nulls a value ("default").
  virtual bool HandlesNull() const { return false; }

  // InvalidArgument '<name>: "<value>" <reason>', with the value quoted, escaped and shortened.
  Status ValueError(std::string_view value, std::string_view reason) const;

 private:
  std::string name_;
  KindSet input_kinds_;
  Scalar::Kind output_kind_;
};

// The documentation of one argument.
struct ArgInfo {
  std::string name;
  bool required = false;
  std::string default_value;  // "" when there is none
  std::string doc;            // one sentence, e.g. "digits after the point, 0..18"
};

// The documentation of one transform.
struct TransformInfo {
  std::string name;
  std::string signature;      // input kinds -> output kind: "string, integer -> string"
  std::string summary;        // one line
  std::vector<ArgInfo> args;  // in positional order
  bool takes_table = false;   // true only for "lookup"
};

// Every transform, sorted by name.
std::vector<TransformInfo> ListTransforms();

// Checks "args" for the transform "name" and builds it. Relative file names in the arguments
// (lookup's "file") are resolved against "base_dir", normally the mapping file's folder.
// Errors:
//   NotFound         an unknown name: 'unknown transform "trimm"; did you mean "trim"? known: ...'
//   InvalidArgument  a bad argument: 'decimal: argument "scale" must be an integer 0..18, got
//   "two"' IoError          an unreadable file, with its path and the OS reason
// Thread-safe. May do file I/O: call it at load, never per event.
Result<std::unique_ptr<Transform>> CompileTransform(std::string_view name,
                                                    const TransformArgs& args,
                                                    const std::string& base_dir);

}  // namespace channelhub::mapping
