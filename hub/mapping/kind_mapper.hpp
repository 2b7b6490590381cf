// A Mapper that chooses mappings by the payload's kind: the platform's topic header
// (X-Shopify-Topic: orders/create) or, for XML, the root element's name (ORDERS05, DEBMAS07).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hub/mapping/mapper.hpp"

namespace channelhub::mapping {

// "kind" -> the mappers whose events are all emitted, in order; "*" serves every other kind.
// A kind with no mapper and no "*" fails with a message listing the configured kinds.
std::unique_ptr<Mapper> MakeKindMapper(
    std::map<std::string, std::vector<std::unique_ptr<Mapper>>> by_kind);

// The kind of a payload as MakeKindMapper sees it: the topic when given, else the root element
// of an XML body, else "".
std::string PayloadKind(const InboundPayload& in);

}  // namespace channelhub::mapping
