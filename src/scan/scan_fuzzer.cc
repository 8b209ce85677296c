// libFuzzer: the scanner on arbitrary bytes (invalid UTF-8 included). Checks
// the output contract: sorted, non-overlapping, in-bounds spans with scores
// in (0, 1].
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "scan/scanner.h"

using steward::scan::Scanner;

namespace {
// Built once in LLVMFuzzerInitialize: compiling the pattern database takes
// seconds under ASan and must not count against the per-input timeout.
const Scanner* g_scanner = nullptr;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_scanner = [] {
    std::string dir = steward::scan::FindScanDataDir();
    auto s = Scanner::Create(dir);
    if (!s.ok()) s = Scanner::Create("");
    return s.ok() ? s->release() : nullptr;
  }();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Scanner* scanner = g_scanner;
  if (!scanner) std::abort();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto findings = scanner->Scan(text);
  size_t last_end = 0;
  for (const auto& f : findings) {
    if (f.start < last_end || f.end <= f.start || f.end > size) std::abort();
    if (!(f.score > 0.0 && f.score <= 1.0)) std::abort();
    last_end = f.end;
  }
  return 0;
}
