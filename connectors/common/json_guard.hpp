// Bounded JSON for the built-in connectors: a partner's body or a system's answer is parsed only
// when it nests at most kJsonMaxDepth levels deep. RapidJSON's recursive parser, its Writer
// (Accept) and its deep copy (Value(v, allocator)) use one stack frame per level, so a body of a
// few hundred kilobytes of "[[[[..." would otherwise overflow the stack of the hub's thread and
// take the whole process down. The hub's own reader (hub/common/json.hpp) has the same rule;
// the plugins cannot link the hub, so this is a header of their own.
#pragma once

#include <rapidjson/document.h>

#include <cstddef>
#include <string_view>

namespace channelhub::connectors {

// Deeper than any real payload or answer of the systems we speak to (they stay below ten).
inline constexpr std::size_t kJsonMaxDepth = 64;

// The nesting depth of "text": brackets outside strings. Counting stops past "limit".
inline std::size_t JsonNestingDepth(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  std::size_t max_depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, which may be a quote
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        max_depth = depth;
        if (max_depth > limit) break;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return max_depth;
}

// Parses "text" into "*doc" with RapidJSON's iterative parser. Text nested deeper than
// "max_depth" is not parsed: "*doc" then holds a parse error, as for text that is not JSON, so
// callers check doc->HasParseError() either way. Returns !doc->HasParseError().
inline bool ParseJsonBounded(std::string_view text, rapidjson::Document* doc,
                             std::size_t max_depth = kJsonMaxDepth) {
  if (JsonNestingDepth(text, max_depth) > max_depth) {
    doc->Parse("");  // kParseErrorDocumentEmpty: refused like any other text that is not JSON
    return false;
  }
  doc->Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  return !doc->HasParseError();
}

}  // namespace channelhub::connectors
