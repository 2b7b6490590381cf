#include "hub/common/xml_limits.hpp"

#include "hub/common/json.hpp"
#include "hub/common/xml_charset.hpp"

#include "hub/common/bounded_walk.hpp"

#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace channelhub::xml {
namespace {

std::atomic<std::size_t> g_max_depth{Limits{}.max_depth};
std::atomic<std::size_t> g_max_nodes{Limits{}.max_nodes};

std::string At(const pugi::xml_node& n) {
  const std::ptrdiff_t off = n.offset_debug();
  return off >= 0 ? " at offset " + std::to_string(off) : std::string();
}

// The refusals a walk can meet, in the words ParseBounded's comment promises.
Status DoctypeRefused(const pugi::xml_node& n) {
  return Status::Invalid("XML with a DOCTYPE is refused (DTDs and entities are not accepted)" + At(n));
}
Status TooDeep(std::size_t max_depth, const pugi::xml_node& n) {
  return Status::Exhausted("XML nested deeper than " + std::to_string(max_depth) + " levels" + At(n) +
                           " (the limit is server.xml_max_depth)");
}

// Checks one name or value; "what" names it in the message.
Status CheckText(const char* s, const pugi::xml_node& n, std::string_view what) {
  if (s == nullptr || *s == '\0') return Status::Ok();
  if (IsValidUtf8(std::string_view(s, std::strlen(s)))) return Status::Ok();
  return Status::Invalid("XML is not valid UTF-8 in the " + std::string(what) + " of the node" + At(n));
}

// How many bytes of "s" are '<' and how many '=': bounds of what pugixml can build from it (see
// BoundsOf). Sixteen bytes at a time where SSE2 is there (every x86-64), eight otherwise.
struct MarkupCounts {
  std::size_t lt = 0;
  std::size_t eq = 0;
};

MarkupCounts CountMarkup(std::string_view s) {
  MarkupCounts c;
  const char* p = s.data();
  std::size_t n = s.size();
#if defined(__SSE2__)
  // Matches are counted in byte lanes (each compare gives 0 or -1 per byte), folded into 64-bit
  // sums with SAD every 255 blocks, before a lane can overflow.
  const __m128i lt = _mm_set1_epi8('<');
  const __m128i eq = _mm_set1_epi8('=');
  const __m128i zero = _mm_setzero_si128();
  __m128i lt_sum = zero;
  __m128i eq_sum = zero;
  while (n >= 16) {
    __m128i lt_lanes = zero;
    __m128i eq_lanes = zero;
    for (int block = 0; block < 255 && n >= 16; ++block, p += 16, n -= 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      lt_lanes = _mm_sub_epi8(lt_lanes, _mm_cmpeq_epi8(v, lt));
      eq_lanes = _mm_sub_epi8(eq_lanes, _mm_cmpeq_epi8(v, eq));
    }
    lt_sum = _mm_add_epi64(lt_sum, _mm_sad_epu8(lt_lanes, zero));
    eq_sum = _mm_add_epi64(eq_sum, _mm_sad_epu8(eq_lanes, zero));
  }
  auto total = [](__m128i sums) {
    return static_cast<std::size_t>(_mm_cvtsi128_si64(sums)) +
           static_cast<std::size_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums)));
  };
  c.lt += total(lt_sum);
  c.eq += total(eq_sum);
#else
  // Bytes equal to "b" in a word, each marked by its top bit (exact: no borrow between bytes).
  auto equal = [](uint64_t w, unsigned char b) {
    const uint64_t x = w ^ (0x0101010101010101ULL * b);
    const uint64_t low = 0x7F7F7F7F7F7F7F7FULL;
    return ~(((x & low) + low) | x | low);
  };
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    c.lt += static_cast<std::size_t>(std::popcount(equal(w, '<')));
    c.eq += static_cast<std::size_t>(std::popcount(equal(w, '=')));
  }
#endif
  for (; n > 0; ++p, --n) {
    c.lt += *p == '<';
    c.eq += *p == '=';
  }
  return c;
}

// What the bytes alone prove about any document pugixml builds from them:
//  - every node but an attribute or a text starts at a '<' (elements, CDATA, comments,
//    processing instructions, the declaration, a DOCTYPE); a text node ends at a '<' or at the end
//    of the input, so there are at most as many of them as '<' plus one; every attribute has its
//    '='. Nodes <= 2 * lt + 1 + eq.
//  - an element at depth d has d - 1 open elements around it, each with a start and an end tag:
//    2 * (d - 1) + 1 <= lt, so d <= (lt + 1) / 2.
// In every encoding pugixml reads (UTF-8/16/32, Latin-1) a '<' or '=' character holds a byte of
// that value, so counting bytes over-counts at worst. The bounds are loose (the depth bound
// clears only small documents); a document outside the node bound is walked and checked in full.
struct Bounds {
  bool nodes_ok = false;
  bool depth_ok = false;
};

Bounds BoundsOf(std::string_view text, const Limits& limits) {
  const MarkupCounts c = CountMarkup(text);
  return {2 * c.lt + 1 + c.eq <= limits.max_nodes, (c.lt + 1) / 2 <= limits.max_depth};
}

// A DOCTYPE can only be a child of the document itself: pugixml refuses one inside an element
// ("Error parsing document type declaration").
Status CheckNoDoctype(const pugi::xml_document& doc) {
  for (pugi::xml_node n = doc.first_child(); n; n = n.next_sibling()) {
    if (n.type() == pugi::node_doctype) return DoctypeRefused(n);
  }
  return Status::Ok();
}

// Checks that no node is a DOCTYPE and no element deeper than "max_depth", and shows "visitor"
// (optional) each element, in document order, stopping at the first problem. pugixml's own
// traversal (iterative: no stack spent on depth) steps through the nodes inside the library: one
// call per node here instead of the three or four accessor calls of a walk by hand.
Status WalkElements(pugi::xml_document& doc, std::size_t max_depth, ElementVisitor* visitor) {
  struct Walker final : pugi::xml_tree_walker {
    bool for_each(pugi::xml_node& n) override {
      const pugi::xml_node_type type = n.type();
      if (type == pugi::node_doctype) {
        status = DoctypeRefused(n);
        return false;
      }
      if (type != pugi::node_element) return true;
      // depth() is 0 for the document's children, where CheckDocument counts 1.
      if (static_cast<std::size_t>(depth()) + 1 > max_depth) {
        status = TooDeep(max_depth, n);
        return false;
      }
      if (visitor) visitor->Element(n);
      return true;
    }
    std::size_t max_depth = SIZE_MAX;
    ElementVisitor* visitor = nullptr;
    Status status;
  } walker;
  walker.max_depth = max_depth;
  walker.visitor = visitor;
  doc.traverse(walker);
  return walker.status;
}

}  // namespace

bool IsValidUtf8(std::string_view s, std::size_t* bad_at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  auto fail = [&] {
    if (bad_at != nullptr) *bad_at = i;
    return false;
  };
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      // ASCII runs (most of any XML or JSON payload) eight bytes at a time.
      while (n - i >= 8) {
        uint64_t word;
        std::memcpy(&word, p + i, 8);
        if ((word & 0x8080808080808080ULL) != 0) break;
        i += 8;
      }
      continue;
    }
    std::size_t len;
    uint32_t cp;
    uint32_t min;
    if (c >= 0xC2 && c <= 0xDF) {  // 0xC0 and 0xC1 only start overlong forms
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return fail();
    }
    if (n - i < len) return fail();
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return fail();
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return fail();
    i += len;
  }
  return true;
}

Status CheckDocument(const pugi::xml_document& doc, const Limits& limits, bool check_text,
                     ElementVisitor* visitor) {
  std::size_t nodes = 0;
  Status status;
  // The node's own problem, if any.
  auto check = [&](pugi::xml_node n, std::size_t depth) -> Status {
    const pugi::xml_node_type type = n.type();
    if (type == pugi::node_doctype) return DoctypeRefused(n);
    if (type == pugi::node_element && depth > limits.max_depth) return TooDeep(limits.max_depth, n);
    if (visitor && type == pugi::node_element) visitor->Element(n);
    ++nodes;
    if (check_text) {
      CHUB_RETURN_IF_ERROR(CheckText(n.name(), n, "name"));
      CHUB_RETURN_IF_ERROR(CheckText(n.value(), n, "text"));
    }
    for (pugi::xml_attribute a = n.first_attribute(); a; a = a.next_attribute()) {
      ++nodes;
      if (check_text) {
        CHUB_RETURN_IF_ERROR(CheckText(a.name(), n, "attribute name"));
        CHUB_RETURN_IF_ERROR(CheckText(a.value(), n, "attribute value"));
      }
    }
    if (nodes > limits.max_nodes) {
      return Status::Exhausted("XML has more than " + std::to_string(limits.max_nodes) +
                               " nodes (elements, attributes and text; the limit is server.xml_max_nodes)");
    }
    return Status::Ok();
  };
  bounded::WalkXml(doc, [&](pugi::xml_node n, std::size_t depth) {
    status = check(n, depth);
    return status.ok();
  });
  return status;
}

Status ParseBounded(std::string_view text, pugi::xml_document* doc, const Limits& limits, unsigned extra_options,
                    pugi::xml_encoding encoding, ElementVisitor* visitor) {
  if (encoding == pugi::encoding_auto) {  // GBK and the like, declared: read as UTF-8 once converted
    std::string utf8, error;
    switch (ToUtf8FromDeclared(text, &utf8, &error)) {
      case Charset::kAsIs: break;
      case Charset::kFailed: return Status::Invalid(error);
      case Charset::kConverted:
        return ParseBounded(utf8, doc, limits, extra_options, pugi::encoding_utf8, visitor);
    }
  }
  // A NUL is never XML; pugixml would take one after the root element for the end. (UTF-16 and
  // UTF-32 documents, told by their BOM or first character, hold NULs of their own.)
  if (encoding == pugi::encoding_auto || encoding == pugi::encoding_utf8) {
    const bool wide = text.size() >= 2 && (text[0] == '\0' || text[1] == '\0' || text.starts_with("\xFF\xFE") ||
                                           text.starts_with("\xFE\xFF"));
    if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos && !wide) {
      return Status::Invalid("XML parse error at offset " + std::to_string(nul) + ": a NUL byte");
    }
  }
  // As a fragment: pugixml then keeps text outside the root element (which it drops without a
  // word otherwise) for the check below, and leaves it to us to ask for a root.
  pugi::xml_parse_result pr =
      doc->load_buffer(text.data(), text.size(), kParseOptions | pugi::parse_fragment | extra_options, encoding);
  if (!pr) {
    return Status::Invalid("XML parse error at offset " + std::to_string(pr.offset) + " (" +
                           json::LineColumn(text, static_cast<std::size_t>(pr.offset)) + "): " + pr.description());
  }
  // pugixml reads a document with several root elements, or text beside the root, without a
  // word; XML has exactly one root and nothing but markup around it.
  bool rooted = false;
  for (pugi::xml_node n = doc->first_child(); n; n = n.next_sibling()) {
    if (n.type() == pugi::node_element) {
      if (rooted) return Status::Invalid("XML has a second root element <" + std::string(n.name()) + ">" + At(n));
      rooted = true;
    } else if (n.type() == pugi::node_pcdata || n.type() == pugi::node_cdata) {
      return Status::Invalid("XML has text outside its root element" + At(n));
    }
  }
  if (!rooted) return Status::Invalid("XML has no root element (the document is empty or only comments)");
  // Names and values need no check of their own when the text was UTF-8 (pugixml read it as
  // such), valid, and without character references ("&#...;", the only way to put other bytes
  // into the tree: the named entities are ASCII): every one is then a piece of that text. One
  // pass over the bytes instead of a strlen and a check per name and value.
  const bool text_valid = pr.encoding == pugi::encoding_utf8 &&
                          text.find("&#") == std::string_view::npos && IsValidUtf8(text);
  // Most documents are far inside the node limit, provably so from their bytes: then only the
  // document's own children can hold a DOCTYPE, and the tree is walked only for the depth (unless
  // the bytes prove that too) and the visitor.
  if (text_valid) {
    const Bounds bounds = BoundsOf(text, limits);
    if (bounds.nodes_ok) {
      if (!bounds.depth_ok || visitor) {
        return WalkElements(*doc, bounds.depth_ok ? SIZE_MAX : limits.max_depth, visitor);
      }
      return CheckNoDoctype(*doc);
    }
  }
  return CheckDocument(*doc, limits, /*check_text=*/!text_valid, visitor);
}

void SetProcessLimits(const Limits& limits) {
  g_max_depth = limits.max_depth;
  g_max_nodes = limits.max_nodes;
}

Limits ProcessLimits() {
  Limits l;
  l.max_depth = g_max_depth;
  l.max_nodes = g_max_nodes;
  return l;
}

}  // namespace channelhub::xml
