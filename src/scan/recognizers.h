// The pattern recognizers: one regex per candidate shape, compiled together
// into one Vectorscan database by Scanner. Each recognizer names its entity
// type, the score a validated candidate gets with and without a context word
// nearby, and an optional validator that runs on candidates only (checksums,
// ranges, trimming the span to the value of a `key = value` assignment).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace steward::scan {

struct Span {
  size_t start = 0;
  size_t end = 0;
};

// Validates a candidate span of `text`; may narrow `span` and adjust `score`
// (which starts at the recognizer's base score). Returns false to reject.
// Must run in time linear in the span (plus a bounded look-around).
using Validator = bool (*)(std::string_view text, Span* span, double* score);

struct Recognizer {
  std::string_view type;
  const char* regex;
  bool caseless = false;
  double score = 0.5;          // validated, no context word nearby
  double context_score = 0.0;  // with a context word nearby (0: same as score)
  Validator validate = nullptr;
  std::vector<std::string_view> context;   // lower-case words/phrases that raise
  std::vector<std::string_view> negative;  // lower-case words that lower (by 0.45)
};

// Bytes validators walked beyond their candidate span (value extension,
// PEM bodies), per thread; Scanner adds it to ScanStats::validated_bytes.
extern thread_local uint64_t g_validator_work;
// Incremented by every Scanner::Scan: validators' per-text caches key on it.
extern thread_local uint64_t g_scan_generation;

// The recognizer table, in a stable order (the index is the pattern id).
const std::vector<Recognizer>& PatternRecognizers();

}  // namespace steward::scan
