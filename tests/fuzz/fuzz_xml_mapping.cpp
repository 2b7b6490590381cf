// libFuzzer target: an XML payload through every shipped XML inbound mapping (SAP ORDERS05 and
// DEBMAS, Qimen delivery confirmations and inventory reports), exercising the XML parser, the
// direct XPath walker and pugixml's XPath engine for the rest. Errors are fine; crashes are not.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/inbound_mappings.hpp"

namespace mp = channelhub::mapping;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto mappings = channelhub::fuzz::LoadInboundMappings(/*xml=*/true);
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (const auto& m : mappings) (void)mp::RunMappingEntities(*m, in);
  return 0;
}
