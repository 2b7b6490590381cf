// Bounded XML for the built-in connectors: parse a partner's document, refusing a DOCTYPE (no
// DTD or entity is ever read), and documents nested too deep or holding too many nodes, before
// the connector walks or copies it. The plugins cannot link the hub, so this is a header of
// their own; the hub checks every payload they emit again against its configured limits
// (hub/common/xml_limits.hpp, server.xml_max_depth / xml_max_nodes).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <pugixml.hpp>

#include "hub/common/bounded_walk.hpp"
#include "hub/common/xml_charset.hpp"

namespace channelhub::connectors {

struct XmlGuardLimits {
  std::size_t max_depth = 256;     // element nesting; the root element is 1
  std::size_t max_nodes = 200000;  // elements, attributes and text nodes
};

// The defaults plus parse_doctype, so that a DOCTYPE is seen (and refused), not skipped.
inline constexpr unsigned kXmlGuardParseOptions = pugi::parse_default | pugi::parse_doctype;

// Why "doc" is refused, or "" when it is within "limits". Iterative: any depth costs no stack.
inline std::string XmlGuardProblem(const pugi::xml_document& doc, XmlGuardLimits limits = {}) {
  std::size_t nodes = 0;
  std::string problem;
  bounded::WalkXml(doc, [&](pugi::xml_node n, std::size_t depth) {
    if (n.type() == pugi::node_doctype) {
      problem = "XML with a DOCTYPE is refused";
    } else if (n.type() == pugi::node_element && depth > limits.max_depth) {
      problem = "XML nested deeper than " + std::to_string(limits.max_depth) + " levels";
    } else {
      ++nodes;
      for (pugi::xml_attribute a = n.first_attribute(); a; a = a.next_attribute()) ++nodes;
      if (nodes > limits.max_nodes) problem = "XML has more than " + std::to_string(limits.max_nodes) + " nodes";
    }
    return problem.empty();
  });
  return problem;
}

// Parses "text" into "*doc" and checks it. "" when it is well-formed and within "limits", else
// why not ("... at offset N" for a syntax error).
// A document in GBK (or another encoding pugixml does not read) that says so in its
// declaration is converted to UTF-8 first (xml_charset.hpp). A second root element, text beside
// the root, or no root at all is refused (pugixml alone keeps the first root and drops the rest).
inline std::string ParseXmlGuarded(std::string_view text, pugi::xml_document* doc,
                                   pugi::xml_encoding encoding = pugi::encoding_auto, XmlGuardLimits limits = {}) {
  std::string utf8;
  if (encoding == pugi::encoding_auto) {
    std::string error;
    switch (xml::ToUtf8FromDeclared(text, &utf8, &error)) {
      case xml::Charset::kAsIs: break;
      case xml::Charset::kFailed: return error;
      case xml::Charset::kConverted:
        text = utf8;
        encoding = pugi::encoding_utf8;
        break;
    }
  }
  pugi::xml_parse_result parsed =
      doc->load_buffer(text.data(), text.size(), kXmlGuardParseOptions | pugi::parse_fragment, encoding);
  if (!parsed) {
    return std::string("not well-formed XML: ") + parsed.description() + " at offset " + std::to_string(parsed.offset);
  }
  bool rooted = false;
  for (pugi::xml_node n = doc->first_child(); n; n = n.next_sibling()) {
    if (n.type() == pugi::node_element) {
      if (rooted) return "not well-formed XML: a second root element at offset " + std::to_string(n.offset_debug());
      rooted = true;
    } else if (n.type() == pugi::node_pcdata || n.type() == pugi::node_cdata) {
      return "not well-formed XML: text outside the root element at offset " + std::to_string(n.offset_debug());
    }
  }
  if (!rooted) return "not well-formed XML: no root element";
  return XmlGuardProblem(*doc, limits);
}

}  // namespace channelhub::connectors
