// libFuzzer: the config loader must answer any input with a Config or an
// error naming a place — never a crash or an exception.
#include <cstdint>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto c = steward::config::LoadConfigString(text, "fuzz.yaml");
  if (!c.ok() && c.status().message().rfind("fuzz.yaml", 0) != 0) __builtin_trap();
  return 0;
}
