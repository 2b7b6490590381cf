// Bounded JSON for the built-in connectors: a partner's body or a system's answer is parsed only
// when it nests at most kJsonMaxDepth levels deep. RapidJSON's recursive parser, its Writer
// (Accept) and its deep copy (Value(v, allocator)) use one stack frame per level, so a body of a
// few hundred kilobytes of "[[[[..." would otherwise overflow the stack of the hub's thread and
// take the whole process down. The hub's own reader (hub/common/json.hpp) has the same rule;
// the plugins cannot link the hub, so this is a header of their own, sharing the depth count
// (hub/common/bounded_walk.hpp, header-only).
#pragma once

#include <rapidjson/document.h>

#include <cstddef>
#include <string_view>

#include "hub/common/bounded_walk.hpp"

namespace channelhub::connectors {

// Deeper than any real payload or answer of the systems we speak to (they stay below ten).
inline constexpr std::size_t kJsonMaxDepth = 64;

using bounded::JsonNestingDepth;  // hub/common/bounded_walk.hpp, header-only

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
