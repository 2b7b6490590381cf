// Shared by the transform implementations (transform_*.cpp); not part of the mapping API.
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/mapping/transform.hpp"

namespace channelhub::mapping::internal {

// The checked arguments of one transform, read by its factory. Built by CompileTransform() from
// the transform's documented ArgInfo list, after it has rejected unknown names, a doubly given
// argument, too many positional values, a missing required argument and a table given to a
// transform that takes none.
class ArgReader {
 public:
  static Result<ArgReader> Make(const TransformInfo& info, const TransformArgs& args);

  // The given value, else the documented default, else nothing.
  std::optional<std::string> Get(std::string_view arg) const;
  bool Has(std::string_view arg) const;  // given in the mapping file (not a default)

  // An integer in lo..hi: 'argument "scale" must be an integer 0..18, got "two"'.
  Result<int> Int(std::string_view arg, int lo, int hi) const;
  // One of "choices": 'argument "rounding" must be one of half_up, half_even, got "x"'.
  Result<std::string> OneOf(std::string_view arg,
                            std::initializer_list<std::string_view> choices) const;
  // "true" or "false".
  Result<bool> Bool(std::string_view arg) const;

  // InvalidArgument '<transform>: argument "<arg>" must be <expected>, got "<value>"'.
  Status Error(std::string_view arg, std::string_view expected) const;
  // InvalidArgument '<transform>: <message>'.
  Status Fail(std::string_view message) const;

  const std::string& transform() const { return transform_; }
  const std::map<std::string, std::string>& table() const { return table_; }

 private:
  std::string transform_;
  std::map<std::string, std::string> values_;    // given, by name
  std::map<std::string, std::string> defaults_;  // documented defaults, by name
  std::map<std::string, std::string> table_;
};

using Factory = Result<std::unique_ptr<Transform>> (*)(const ArgReader& args,
                                                       const std::string& base_dir);

// One registry entry.
struct Registration {
  TransformInfo info;
  Factory factory;
};

// The registrations of each source file.
std::vector<Registration> TextTransforms();    // transform_text.cpp
std::vector<Registration> NumberTransforms();  // transform_number.cpp
std::vector<Registration> TimeTransforms();    // transform_time.cpp
std::vector<Registration> LookupTransforms();  // transform_lookup.cpp

// The value in double quotes, with control characters and quotes escaped and at most 64 bytes
// shown ("..." marks the cut), for error messages.
std::string Quote(std::string_view value);

// Decodes one UTF-8 sequence at "*pos", advancing it. Returns -1 for invalid UTF-8 (a bad lead
// or continuation byte, a truncated, overlong or surrogate sequence, or a value > U+10FFFF).
int32_t DecodeUtf8(std::string_view s, size_t* pos);
void AppendUtf8(int32_t cp, std::string* out);
// Nothing for valid UTF-8, else "is not valid UTF-8 (at byte N)" for Transform::ValueError().
std::optional<std::string> Utf8Problem(std::string_view s);

// A fixed UTC offset from "+08:00" / "Z" or one of the supported fixed-offset zone names.
Result<std::chrono::minutes> ResolveZone(const ArgReader& args, std::string_view arg);

}  // namespace channelhub::mapping::internal
