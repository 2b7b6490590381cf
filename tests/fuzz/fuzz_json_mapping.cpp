// libFuzzer target: a partner's JSON through every shipped JSON inbound mapping
// (mappings/*/*.to_canon.yaml: Shopify, Taobao, Youzan, Kingdee, WeCom, finance), the path every
// webhook body takes. Any crash, leak or sanitizer report is a bug; errors are fine.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/inbound_mappings.hpp"

namespace mp = channelhub::mapping;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto mappings = channelhub::fuzz::LoadInboundMappings(/*xml=*/false);
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (const auto& m : mappings) (void)mp::RunMappingEntities(*m, in);
  return 0;
}
