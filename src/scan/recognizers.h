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

// How the scanner finds where a match starts. Vectorscan reports only match
// ends in the fast path (start-of-match tracking costs 5-10x on dense
// patterns), so each recognizer says how to recover the start:
//   kSomWindow  re-run this pattern alone with leftmost-start tracking over
//               a window of at most `max_len` bytes before the match end —
//               right for sparse patterns (keys, e-mails, URLs, words);
//   kCharset    walk back over `charset` bytes (at most `max_len`) from the
//               first match end — for dense digit/hex patterns whose
//               validators trim or retry without leading groups;
//   kFixed      the match is exactly `max_len` bytes long.
enum class StartRule { kSomWindow, kCharset, kFixed };

struct Recognizer {
  std::string_view type;
  const char* regex;
  bool caseless = false;
  double score = 0.5;          // validated, no context word nearby
  double context_score = 0.0;  // with a context word nearby (0: same as score)
  Validator validate = nullptr;
  std::vector<std::string_view> context;   // lower-case words/phrases that raise
  std::vector<std::string_view> negative;  // lower-case words that lower (by 0.45)
  StartRule start = StartRule::kSomWindow;
  const char* charset = "";  // kCharset: bytes a match may contain
  size_t max_len = 256;      // bound for the start search (bytes)
  // The validator rejects every span with fewer digits than this: the
  // scanner skips a candidate whose whole region has fewer (a necessary
  // condition checked before start recovery and validation).
  size_t min_digits = 0;
  // Another necessary condition of the validator, on the candidate's whole
  // region (its start to its last match end: every span the validator is
  // given lies inside it); the scanner skips a candidate that fails it.
  // It must be monotone (a region containing one that passes passes too):
  // with `region_byte` the scanner checks it on whole runs of `charset`.
  bool (*region_filter)(std::string_view region) = nullptr;
  // A byte every region that passes region_filter contains (0: none
  // known). For a kCharset pattern with both, the scanner scans its own
  // database only when some maximal run of `charset` bytes holding this
  // byte passes region_filter: every candidate's region lies inside one
  // such run, so otherwise none could pass (IPv6 matches every clock time).
  char region_byte = 0;
  // A necessary condition of the validator on a span's end alone (it
  // never moves the end before checking): a candidate none of whose match
  // ends passes it is skipped before its start is recovered.
  bool (*end_filter)(std::string_view text, size_t end) = nullptr;
};

// Bytes validators walked beyond their candidate span (value extension,
// PEM bodies), per thread; Scanner adds it to ScanStats::validated_bytes.
// Inline with a constant initialiser, so every use reads the variable
// directly; an `extern thread_local` goes through a TLS wrapper that UBSan
// flags as a null load.
inline thread_local uint64_t g_validator_work = 0;
// Incremented by every Scanner::Scan: validators' per-text caches key on it.
inline thread_local uint64_t g_scan_generation = 0;

// The recognizer table, in a stable order (the index is the pattern id).
const std::vector<Recognizer>& PatternRecognizers();
// The same table with start rules applied: what the Scanner uses.
const std::vector<Recognizer>& Recognizers();

}  // namespace steward::scan
