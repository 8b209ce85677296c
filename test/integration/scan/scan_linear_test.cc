// Scanning stays linear on adversarial single inputs: 10 MB single lines,
// invalid UTF-8, long runs that every recognizer half-matches. Work is
// counted (pattern matches + bytes validators touch + tokens the name
// model scores), not timed: 10x the input may cost at most ~10x the work.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>

#include "scan/scanner.h"
#include "scan/stream.h"

namespace steward::scan {
namespace {

const Scanner& TheScanner() {
  static std::unique_ptr<Scanner> s = [] {
    auto r = Scanner::Create(FindScanDataDir());
    if (!r.ok()) r = Scanner::Create("");
    return std::move(*r);
  }();
  return *s;
}

std::string Repeat(const std::string& unit, size_t bytes) {
  std::string s;
  s.reserve(bytes + unit.size());
  while (s.size() < bytes) s += unit;
  s.resize(bytes);
  return s;
}

uint64_t Work(const std::string& text) {
  ScanStats st;
  TheScanner().Scan(text, {}, &st);
  return st.pattern_matches + st.validated_bytes + st.name_tokens + text.size();
}

struct Case {
  const char* name;
  std::string unit;
};

TEST(ScanLinear, AdversarialInputsScaleLinearly) {
  std::string invalid;
  for (int i = 0; i < 256; ++i) invalid.push_back(static_cast<char>(0x80 + i % 0x80));
  invalid += "\xC3\x28\xE2\x82\xF0\x9F\x92";
  const Case cases[] = {
      {"digits", "1234567890"},
      {"letters", "abcdefghijABCDEFGHIJ"},
      {"spaced digits", "1 2 3 4 5 6 7 8 9 0 "},
      {"dotted quads", "1.1.1.1."},
      {"email chain", "a@b.co"},
      {"password chain", "password="},
      {"secret chain", "api_key=abcDEF123456ghiJKL"},
      {"pem headers", "-----BEGIN RSA PRIVATE KEY-----"},
      {"jwt-like", "eyJhbGciOi.eyJzdWIi."},
      {"url", "https://a.b/"},
      {"capitalised words", "Anna Berlin "},
      {"colons", "fe80::1:"},
      {"invalid utf-8", invalid},
      {"mixed prose", "Call Ada at +44 20 7946 0958 or ada@example.org on 2024-01-02. "},
  };
  constexpr size_t kSmall = 1 << 20;   // 1 MiB
  constexpr size_t kLarge = 10 << 20;  // 10 MiB
  for (const Case& c : cases) {
    std::string small = Repeat(c.unit, kSmall);
    std::string large = Repeat(c.unit, kLarge);
    uint64_t ws = Work(small), wl = Work(large);
    double ratio = static_cast<double>(wl) / static_cast<double>(ws);
    std::printf("%-18s work 1 MiB=%llu 10 MiB=%llu ratio=%.2f\n", c.name,
                static_cast<unsigned long long>(ws), static_cast<unsigned long long>(wl), ratio);
    EXPECT_LT(ratio, 12.0) << c.name;
    // Work per byte is bounded too (no recognizer walks far per byte).
    EXPECT_LT(static_cast<double>(wl) / kLarge, 64.0) << c.name;
  }
}

TEST(ScanLinear, StreamingWorkIsBoundedPerChunk) {
  std::string text = Repeat("Call Ada at +44 20 7946 0958, key AKIAIOSFODNN7EXAMPLE. ", 1 << 20);
  StreamScanner ss(&TheScanner(), {}, [](const Finding&) { return Action::kRedact; }, {});
  for (size_t i = 0; i < text.size(); i += 64) {
    ss.Push(std::string_view(text).substr(i, 64));
    ASSERT_LE(ss.held(), StreamScanner::kMaxHold + 64);
  }
  ss.Flush();
  // Each chunk rescans at most look-back + hold + chunk bytes.
  double per_byte = static_cast<double>(ss.scanned_bytes()) / text.size();
  std::printf("stream: scanned %.1f bytes per input byte\n", per_byte);
  EXPECT_LT(per_byte, (StreamScanner::kLookBack + StreamScanner::kMaxHold + 64) / 64.0);
}

}  // namespace
}  // namespace steward::scan
