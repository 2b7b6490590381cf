// libFuzzer target: the log masker runs on every log line, including text quoted from payloads.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hub/common/log.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto out = channelhub::MaskPii(std::string_view(reinterpret_cast<const char*>(data), size));
  (void)out;
  return 0;
}
