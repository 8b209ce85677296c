// libFuzzer: the streaming scanner. The first byte picks a chunk size; the
// stream is fed chunk by chunk with redaction on. Checks that the held-back
// tail stays bounded, and that with action `allow` the output is exactly
// the input (nothing lost or duplicated across chunk boundaries).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "scan/scanner.h"
#include "scan/stream.h"

using namespace steward::scan;

namespace {
// Built once in LLVMFuzzerInitialize: compiling the pattern database takes
// seconds under ASan and must not count against the per-input timeout.
const Scanner* g_scanner = nullptr;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_scanner = [] {
    auto s = Scanner::Create("");
    return s.ok() ? s->release() : nullptr;
  }();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Scanner* scanner = g_scanner;
  if (!scanner || size == 0) return 0;
  size_t chunk = 1 + data[0] % 17;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  StreamScanner redacting(scanner, {}, [](const Finding&) { return Action::kRedact; }, {});
  StreamScanner passing(scanner, {}, [](const Finding&) { return Action::kAllow; }, {});
  std::string passed;
  for (size_t i = 0; i < text.size(); i += chunk) {
    std::string_view piece = text.substr(i, chunk);
    redacting.Push(piece);
    passed += passing.Push(piece);
    if (redacting.held() > StreamScanner::kMaxHold + chunk) std::abort();
  }
  redacting.Flush();
  passed += passing.Flush();
  if (passed != text) std::abort();
  return 0;
}
