// libFuzzer target: the GGUF reader must reject any input cleanly.
#include <cstddef>
#include <cstdint>

#include "registry/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  steward::registry::MemorySource source(
      std::string_view(reinterpret_cast<const char*>(data), size));
  auto info = steward::registry::ReadGguf(source);
  if (info.ok()) {
    // Accepted files must be self-consistent.
    for (const auto& t : info->tensors) {
      if (info->data_offset + t.offset + t.nbytes > size) __builtin_trap();
    }
  }
  return 0;
}
