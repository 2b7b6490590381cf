// Header-only pieces shared by the hub and the connector plugins (which cannot link hub code but
// may include headers that need nothing but RapidJSON's and pugixml's): the nesting depth of JSON
// text, counted before any recursive parser sees it, and an iterative walk over an XML document.
#pragma once

#include <cstddef>
#include <string_view>

#include <pugixml.hpp>

namespace channelhub::bounded {

// The nesting depth of JSON "text": brackets outside strings. Counting stops past "limit".
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

// Visits every node of "doc" depth first, without recursion (any depth costs no stack):
// visit(node, depth) with depth 1 for the root's level; a visit returning false stops the walk.
template <typename Visit>
void WalkXml(const pugi::xml_document& doc, Visit&& visit) {
  std::size_t depth = 1;
  pugi::xml_node n = doc.first_child();
  while (n) {
    if (!visit(n, depth)) return;
    // Down, else along, else up until a sibling is found.
    if (pugi::xml_node child = n.first_child()) {
      n = child;
      ++depth;
      continue;
    }
    for (;;) {
      if (pugi::xml_node next = n.next_sibling()) {
        n = next;
        break;
      }
      n = n.parent();
      --depth;
      if (!n || n == doc) {
        n = pugi::xml_node();
        break;
      }
    }
  }
}

}  // namespace channelhub::bounded
