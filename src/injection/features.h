// Feature extraction for the linear injection model: hashed character 3/4/5-
// grams and word 1/2-grams of every normalised view, the fired signatures and
// the normaliser's flags. The trainer and the detector share this code, so
// what is learnt is exactly what is scored.
//
// Features are not de-duplicated (a repeated n-gram counts again) and each
// n-gram family is scaled by 1/sqrt(count), which keeps long prompts from
// dominating through sheer length while a short injection inside a long
// document still weighs in.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "injection/normalize.h"
#include "injection/signatures.h"

namespace steward::injection {

inline constexpr int kDefaultHashBits = 18;

struct FeatureGroup {
  std::vector<uint32_t> indices;  // bucket per occurrence
  float scale = 1.0f;             // applied to every occurrence
};

struct Features {
  FeatureGroup char_ngrams;
  FeatureGroup word_ngrams;
  FeatureGroup indicators;  // signatures and normaliser flags (scale 1)
};

// Bucket of a named indicator feature ("sig:<name>", "flag:<name>").
uint32_t IndicatorBucket(std::string_view name, int hash_bits);

void ExtractFeatures(const NormalizedText& text, const SignatureSet& signatures,
                     const SignatureHits& hits, int hash_bits, Features* out);

// The linear model's n-gram terms for `text`, computed in one pass without
// materialising feature indices: bit-identical to ExtractFeatures followed by
// summing `weights` over each group (same order, double accumulation) and
// scaling. `weights` has 2^hash_bits entries.
struct NgramTerms {
  double char_ngrams = 0.0;  // sum of char n-gram weights * group scale
  double word_ngrams = 0.0;
};
//
// `exact_term_limit` (from ExactSumTermLimit) lets the char n-gram sum run in
// several independent accumulators instead of one long chain of dependent
// additions: when every weight is a multiple of one power of two q and a group
// has at most that many terms, every partial sum is a multiple of q below
// 2^53 * q, so every double addition is exact and the order cannot change a
// bit of the result. Groups with more terms (or limit 0) use the sequential
// sum.
NgramTerms ScoreNgrams(const NormalizedText& text, const float* weights, size_t weight_count,
                       int hash_bits, size_t exact_term_limit = 0);

// The largest term count for which sums of `weights` are exact in double in
// any order (see ScoreNgrams); 0 if there is none worth using.
size_t ExactSumTermLimit(const float* weights, size_t weight_count);

// Sum of the indicator weights of the fired signatures and normaliser flags
// (the `indicators` group of ExtractFeatures, scale 1).
double ScoreIndicators(const NormalizedText& text, const SignatureSet& signatures,
                       const SignatureHits& hits, const float* weights, size_t weight_count,
                       int hash_bits);

}  // namespace steward::injection
