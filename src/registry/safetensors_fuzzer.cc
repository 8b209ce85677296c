// libFuzzer target: the safetensors reader must reject any input cleanly.
#include <cstddef>
#include <cstdint>

#include "registry/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  steward::registry::MemorySource source(
      std::string_view(reinterpret_cast<const char*>(data), size));
  auto info = steward::registry::ReadSafetensors(source);
  if (info.ok()) {
    for (const auto& t : info->tensors) {
      if (8 + info->header_size + t.end > size) __builtin_trap();
    }
  }
  return 0;
}
