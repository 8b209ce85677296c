// libFuzzer target: the normaliser and the full detector on arbitrary bytes.
// Checks the invariants every caller relies on: the folded text is valid
// UTF-8, the score is a probability, and nothing crashes or hangs.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/strings.h"
#include "injection/detector.h"
#include "injection/normalize.h"

// Compiling the signature database and parsing the model take seconds under
// ASan: do it once up front, outside the per-input timeout.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  steward::injection::Detector::Default().Screen("warm up");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  steward::injection::NormalizedText norm = steward::injection::Normalize(input);
  if (!steward::IsValidUtf8(norm.text)) std::abort();
  for (const auto& d : norm.decoded) {
    if (!steward::IsValidUtf8(d)) std::abort();
  }
  steward::injection::Screening s = steward::injection::Detector::Default().Screen(input);
  if (!(s.score >= 0.0 && s.score <= 1.0) || std::isnan(s.score)) std::abort();
  return 0;
}
