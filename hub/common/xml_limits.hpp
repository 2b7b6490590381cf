// Bounded XML: every XML document that reaches the hub from outside (webhook bodies, connector
// payloads, polled answers, mapping input) is parsed through ParseBounded, which refuses a
// DOCTYPE (so no DTD, internal or external entity is ever read, let alone expanded), text that
// is not UTF-8, and documents nested too deep or holding too many nodes.
//
// pugixml itself parses without recursion and never expands entities; the limits protect what
// runs over the document afterwards (the mapping engine, indexes, copies) and memory.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <pugixml.hpp>

#include "hub/common/status.hpp"

namespace channelhub::xml {

// Limits of one inbound XML document. Plain values; copy freely.
struct Limits {
  // Element nesting: the root element is depth 1. Real documents stay far below it (a SAP IDoc
  // is about 6 deep, QiMen and WeCom XML 3 to 5).
  std::size_t max_depth = 256;
  // Elements, attributes and text nodes together. pugixml spends about 60 bytes on each, so the
  // default caps one document near 12 MB of tree; a dense 1 MiB IDoc (the default body limit)
  // holds under 100,000.
  std::size_t max_nodes = 200000;
};

// pugixml options for inbound documents: the defaults, plus parse_doctype so that a DOCTYPE
// becomes a node that CheckDocument sees (and refuses) rather than being skipped silently.
inline constexpr unsigned kParseOptions = pugi::parse_default | pugi::parse_doctype;

// Sees every element of a document as CheckDocument walks it, in document order, so that a
// reader that needs a pass over the elements (the mapping runtime's index of "//NAME" steps)
// shares the check's instead of making its own. A document that fails a check is not walked to
// the end.
class ElementVisitor {
 public:
  virtual void Element(pugi::xml_node element) = 0;

 protected:
  ~ElementVisitor() = default;
};

// Parses "text" into "*doc" with kParseOptions | "extra_options" and checks it as CheckDocument
// does (leaving out what the bytes alone prove). InvalidArgument with a message that names the byte offset where it can:
//   "XML parse error at offset 12: Start-end tags mismatch"
//   "XML with a DOCTYPE is refused (DTDs and entities are not accepted)"
//   "XML nested deeper than 256 levels at offset 3120"
//   "XML has more than 200000 nodes (elements, attributes and text)"
//   "XML is not valid UTF-8 at offset 40"
// "*doc" holds the parsed document afterwards, also when a limit was exceeded. "visitor"
// (optional) sees every element, as CheckDocument's does.
Status ParseBounded(std::string_view text, pugi::xml_document* doc, const Limits& limits,
                    unsigned extra_options = 0, pugi::xml_encoding encoding = pugi::encoding_auto,
                    ElementVisitor* visitor = nullptr);

// Checks a parsed document (see ParseBounded): no DOCTYPE, depth, node count, and (unless
// "check_text" is false: the caller knows them to be valid) UTF-8 names and values. Iterative:
// any depth costs no native stack.
Status CheckDocument(const pugi::xml_document& doc, const Limits& limits, bool check_text = true,
                     ElementVisitor* visitor = nullptr);

// True when "s" is well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
// "*bad_at" (optional) receives the offset of the first bad byte.
bool IsValidUtf8(std::string_view s, std::size_t* bad_at = nullptr);

// The limits of this process, for readers that have no configuration at hand (the mapping
// engine). `serve` sets them once from server.xml_max_depth / xml_max_nodes before it starts
// any worker; until then they are the defaults. Thread-safe.
void SetProcessLimits(const Limits& limits);
Limits ProcessLimits();

}  // namespace channelhub::xml
