#include "injection/features.h"

#include <algorithm>
#include <array>
#include <bit>
#include <climits>
#include <cmath>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace steward::injection {
namespace {

constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
// N-gram groups are scaled by count^-kLengthExponent: 1 would be a plain
// average (length-blind), 0.5 the L2-style norm. Long benign documents must
// not drift towards "injection" just because the attack corpus is long.
constexpr double kLengthExponent = 1.0;
constexpr size_t kMinCharNgrams = 150;
constexpr size_t kMinWordNgrams = 30;

inline uint32_t Bucket(uint64_t h, int bits) {
  h ^= h >> 29;
  h *= kMul;
  return static_cast<uint32_t>(h >> (64 - bits));
}

// FNV-1a continued from state `h` (start: kFnvBasis ^ seed).
constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ull;
uint64_t Fnv1aFrom(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t Fnv1a(std::string_view s, uint64_t seed) { return Fnv1aFrom(kFnvBasis ^ seed, s); }

// The bucket of the k-byte n-gram ending the window (k = 3, 4 or 5).
inline uint32_t CharNgramBucket(uint64_t window, unsigned k, int bits) {
  return Bucket((window & ((uint64_t{1} << (8 * k)) - 1)) ^ (uint64_t{k} << 56), bits);
}

void AddCharNgrams(std::string_view s, int bits, std::vector<uint32_t>& out) {
  // Pad with spaces so word starts/ends form their own n-grams.
  uint64_t window = ' ';
  size_t n = 1;
  auto emit = [&](uint64_t w, size_t count) {
    if (count >= 3) out.push_back(CharNgramBucket(w, 3, bits));
    if (count >= 4) out.push_back(CharNgramBucket(w, 4, bits));
    if (count >= 5) out.push_back(CharNgramBucket(w, 5, bits));
  };
  for (unsigned char c : s) {
    window = (window << 8) | c;
    ++n;
    emit(window, n);
  }
  window = (window << 8) | ' ';
  ++n;
  emit(window, n);
}

constexpr bool IsTokenByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80 || c == '\'' || c == '_';
}

// Calls emit(bucket) for each word unigram and bigram, in text order.
template <typename Emit>
void ForEachWordNgram(std::string_view s, int bits, Emit&& emit) {
  uint64_t prev = 0;
  bool has_prev = false;
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == ' ') {
      ++i;
      continue;
    }
    size_t j = i;
    if (IsTokenByte(c)) {
      while (j < s.size() && IsTokenByte(static_cast<unsigned char>(s[j]))) ++j;
    } else {
      j = i + 1;  // punctuation is a token of its own: "###", "<|" matter
    }
    uint64_t h = Fnv1a(s.substr(i, j - i), 0x77);
    emit(Bucket(h, bits));
    if (has_prev) emit(Bucket(prev * 31 + h + 0x5bd1e995, bits));
    prev = h;
    has_prev = true;
    i = j;
  }
}

void AddWordNgrams(std::string_view s, int bits, std::vector<uint32_t>& out) {
  ForEachWordNgram(s, bits, [&](uint32_t bucket) { out.push_back(bucket); });
}

// Weighted sums over the same n-grams as AddCharNgrams / AddWordNgrams, in
// the same order, accumulated in double like LinearModel::GroupLogit.
struct GroupSum {
  double sum = 0.0;
  size_t count = 0;
};

inline void AddWeight(uint32_t idx, const float* w, size_t n, GroupSum& g) {
  if (idx < n) g.sum += w[idx];
  ++g.count;
}

void SumCharNgrams(std::string_view s, int bits, const float* w, size_t n, GroupSum& g) {
  uint64_t window = ' ';
  size_t len = 1;
  auto emit = [&](uint64_t win, size_t count) {
    if (count >= 3) AddWeight(CharNgramBucket(win, 3, bits), w, n, g);
    if (count >= 4) AddWeight(CharNgramBucket(win, 4, bits), w, n, g);
    if (count >= 5) AddWeight(CharNgramBucket(win, 5, bits), w, n, g);
  };
  const unsigned char* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  // The first bytes form fewer than three n-grams each.
  for (; i < s.size() && len < 5; ++i) {
    window = (window << 8) | p[i];
    ++len;
    emit(window, len);
  }
  if (i < s.size() && n >= (size_t{1} << bits)) {
    // Steady state: every byte ends a 3-, 4- and 5-gram, and every bucket
    // is inside the table (same additions, same order, no checks).
    double sum = g.sum;
    const size_t start = i;
    for (; i < s.size(); ++i) {
      window = (window << 8) | p[i];
      sum += w[CharNgramBucket(window, 3, bits)];
      sum += w[CharNgramBucket(window, 4, bits)];
      sum += w[CharNgramBucket(window, 5, bits)];
    }
    g.sum = sum;
    g.count += 3 * (i - start);
    len += i - start;
  }
  for (; i < s.size(); ++i) {
    window = (window << 8) | p[i];
    ++len;
    emit(window, len);
  }
  window = (window << 8) | ' ';
  ++len;
  emit(window, len);
}

#if defined(__x86_64__)
#define STEWARD_AVX512_GATHER __attribute__((target("avx512f,avx512dq,avx512bw,avx512vbmi")))

// Bucket() of the k-byte n-grams (mask/tag for k) of eight windows.
STEWARD_AVX512_GATHER inline __m512i Buckets8(__m512i window, __m512i mask, __m512i tag,
                                              __m512i mul, unsigned shift) {
  __m512i h = _mm512_xor_si512(_mm512_and_si512(window, mask), tag);
  h = _mm512_xor_si512(h, _mm512_srli_epi64(h, 29));
  return _mm512_srli_epi64(_mm512_mullo_epi64(h, mul), shift);
}

// The char n-gram steady state eight positions at a time with AVX-512: one
// byte permute (VBMI) builds the eight windows, the 3-, 4- and 5-gram
// buckets are hashed in 64-bit lanes (the same Bucket() arithmetic) and their
// weights gathered. Only for exact sums (the order of additions is free).
// Handles positions [i, end) with i >= 8, (end - i) % 8 == 0, end <= size;
// returns the sum of their 3 * (end - i) weights.
STEWARD_AVX512_GATHER double SumCharNgramsAvx512(const unsigned char* p, size_t i, size_t end,
                                                 int bits, const float* w) {
  // Lane j (position i + j) gets bytes p[i+j], p[i+j-1], ... p[i+j-4] from low to
  // high: source byte 8 + j - t of the 16 bytes loaded at p + i - 8.
  alignas(64) uint8_t permute[64];
  for (int j = 0; j < 8; ++j) {
    for (int t = 0; t < 8; ++t) permute[8 * j + t] = static_cast<uint8_t>(t < 5 ? 8 + j - t : 0);
  }
  const __m512i index = _mm512_load_si512(permute);
  const __m512i mul = _mm512_set1_epi64(static_cast<long long>(kMul));
  const __m512i mask3 = _mm512_set1_epi64(0xFFFFFF);
  const __m512i mask4 = _mm512_set1_epi64(0xFFFFFFFF);
  const __m512i mask5 = _mm512_set1_epi64(0xFFFFFFFFFF);
  const __m512i tag3 = _mm512_set1_epi64(static_cast<long long>(uint64_t{3} << 56));
  const __m512i tag4 = _mm512_set1_epi64(static_cast<long long>(uint64_t{4} << 56));
  const __m512i tag5 = _mm512_set1_epi64(static_cast<long long>(uint64_t{5} << 56));
  const unsigned shift = 64 - static_cast<unsigned>(bits);
  __m512d acc3 = _mm512_setzero_pd();
  __m512d acc4 = _mm512_setzero_pd();
  __m512d acc5 = _mm512_setzero_pd();
  for (; i < end; i += 8) {
    __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i - 8));
    __m512i window = _mm512_permutexvar_epi8(index, _mm512_zextsi128_si512(bytes));
    acc3 = _mm512_add_pd(acc3, _mm512_cvtps_pd(_mm512_i64gather_ps(
                                   Buckets8(window, mask3, tag3, mul, shift), w, 4)));
    acc4 = _mm512_add_pd(acc4, _mm512_cvtps_pd(_mm512_i64gather_ps(
                                   Buckets8(window, mask4, tag4, mul, shift), w, 4)));
    acc5 = _mm512_add_pd(acc5, _mm512_cvtps_pd(_mm512_i64gather_ps(
                                   Buckets8(window, mask5, tag5, mul, shift), w, 4)));
  }
  alignas(64) double lanes[8];
  _mm512_store_pd(lanes, _mm512_add_pd(_mm512_add_pd(acc3, acc4), acc5));
  double sum = 0.0;
  for (double lane : lanes) sum += lane;
  return sum;
}

bool HasAvx512Gather() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vbmi");
  return has;
}
#endif

// SumCharNgrams for a table of 2^bits weights whose sums are exact in any
// order (the caller checked ExactSumTermLimit): six accumulators (n = 3, 4,
// 5 on even and odd bytes) instead of one dependent chain of additions.
void SumCharNgramsExact(std::string_view s, int bits, const float* w, GroupSum& g) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  uint64_t window = ' ';
  size_t len = 1;
  double acc[6] = {g.sum, 0, 0, 0, 0, 0};
  size_t count = g.count;
  auto emit = [&](uint64_t win, size_t have) {
    if (have >= 3) acc[0] += w[CharNgramBucket(win, 3, bits)];
    if (have >= 4) acc[1] += w[CharNgramBucket(win, 4, bits)];
    if (have >= 5) acc[2] += w[CharNgramBucket(win, 5, bits)];
    count += (have >= 3) + (have >= 4) + (have >= 5);
  };
  size_t i = 0;
  for (; i < n && len < 5; ++i) {
    window = (window << 8) | p[i];
    ++len;
    emit(window, len);
  }
  // Steady state: every byte ends a 3-, 4- and 5-gram.
  const size_t start = i;
#if defined(__x86_64__)
  if (HasAvx512Gather() && n >= 16) {
    for (; i < 8; ++i) {
      window = (window << 8) | p[i];
      acc[0] += w[CharNgramBucket(window, 3, bits)];
      acc[1] += w[CharNgramBucket(window, 4, bits)];
      acc[2] += w[CharNgramBucket(window, 5, bits)];
    }
    const size_t end = i + (n - i) / 8 * 8;
    acc[3] += SumCharNgramsAvx512(p, i, end, bits, w);
    i = end;
    // The window as the byte loop would have it (its low five bytes matter).
    window = 0;
    for (size_t k = i - 5; k < i; ++k) window = (window << 8) | p[k];
  }
#endif
  for (; i + 2 <= n; i += 2) {
    window = (window << 8) | p[i];
    acc[0] += w[CharNgramBucket(window, 3, bits)];
    acc[1] += w[CharNgramBucket(window, 4, bits)];
    acc[2] += w[CharNgramBucket(window, 5, bits)];
    window = (window << 8) | p[i + 1];
    acc[3] += w[CharNgramBucket(window, 3, bits)];
    acc[4] += w[CharNgramBucket(window, 4, bits)];
    acc[5] += w[CharNgramBucket(window, 5, bits)];
  }
  for (; i < n; ++i) {
    window = (window << 8) | p[i];
    acc[0] += w[CharNgramBucket(window, 3, bits)];
    acc[1] += w[CharNgramBucket(window, 4, bits)];
    acc[2] += w[CharNgramBucket(window, 5, bits)];
  }
  count += 3 * (i - start);
  len += i - start;
  window = (window << 8) | ' ';
  ++len;
  emit(window, len);
  g.sum = ((acc[0] + acc[3]) + (acc[1] + acc[4])) + (acc[2] + acc[5]);
  g.count = count;
}

void SumWordNgrams(std::string_view s, int bits, const float* w, size_t n, GroupSum& g) {
  ForEachWordNgram(s, bits, [&](uint32_t bucket) { AddWeight(bucket, w, n, g); });
}

constexpr auto kTokenByte = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = IsTokenByte(static_cast<unsigned char>(c));
  return t;
}();

// SumWordNgrams for a full table whose sums are exact in any order: the
// token is hashed while it is found (one walk instead of two), and unigrams
// and bigrams go to separate accumulators.
void SumWordNgramsExact(std::string_view s, int bits, const float* w, GroupSum& g) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  const uint64_t basis = kFnvBasis ^ 0x77;
  double unigrams = g.sum;
  double bigrams = 0.0;
  size_t count = g.count;
  uint64_t prev = 0;
  bool has_prev = false;
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c == ' ') {
      ++i;
      continue;
    }
    uint64_t h = (basis ^ c) * 0x100000001b3ull;
    ++i;
    if (kTokenByte[c]) {
      while (i < n && kTokenByte[p[i]]) {
        h = (h ^ p[i]) * 0x100000001b3ull;
        ++i;
      }
    }  // else punctuation is a token of its own: "###", "<|" matter
    unigrams += w[Bucket(h, bits)];
    if (has_prev) {
      bigrams += w[Bucket(prev * 31 + h + 0x5bd1e995, bits)];
      ++count;
    }
    ++count;
    prev = h;
    has_prev = true;
  }
  g.sum = unigrams + bigrams;
  g.count = count;
}

}  // namespace

namespace {
// Short texts are divided by a floor count rather than their own: a
// greeting made of a few n-grams that also open many jailbreaks ("hello")
// must not get those n-grams' full average weight.
// Rounded to float like FeatureGroup::scale, the value the model was trained
// with. Kept out of line: inlined into ScoreNgrams, GCC 12 -O2 dropped the
// float rounding (divpd/mulpd straight on doubles), which moved scores in the
// 8th digit.
[[gnu::noinline]] float GroupScale(size_t n, size_t floor) {
  return static_cast<float>(std::pow(double(std::max(n, floor)), -kLengthExponent));
}

// FNV-1a of `prefix` + `name` without building the string.
uint64_t Fnv1aPair(std::string_view prefix, std::string_view name, uint64_t seed) {
  return Fnv1aFrom(Fnv1aFrom(kFnvBasis ^ seed, prefix), name);
}
}  // namespace

size_t ExactSumTermLimit(const float* weights, size_t weight_count) {
  // q = the smallest power of two every weight is a multiple of.
  int quantum_exp = INT_MAX;
  float max_abs = 0.0f;
  for (size_t i = 0; i < weight_count; ++i) {
    float w = weights[i];
    if (w == 0.0f) continue;
    if (!std::isfinite(w)) return 0;
    int exp = 0;
    float mantissa = std::frexp(std::fabs(w), &exp);  // |w| = mantissa * 2^exp, [0.5, 1)
    auto bits = static_cast<uint32_t>(std::ldexp(mantissa, 24));  // exact: 24-bit significand
    quantum_exp = std::min(quantum_exp, exp - 24 + std::countr_zero(bits));
    max_abs = std::max(max_abs, std::fabs(w));
  }
  if (max_abs == 0.0f) return 0;
  // N terms: every partial sum is a multiple of q with magnitude <= N * max_abs,
  // exact while that stays within 2^53 * q (one term of margin).
  double limit = std::ldexp(1.0, 53 + quantum_exp) / max_abs - 1.0;
  if (!(limit >= 1.0)) return 0;
  return limit >= 1e15 ? size_t{1'000'000'000'000'000} : static_cast<size_t>(limit);
}

NgramTerms ScoreNgrams(const NormalizedText& text, const float* weights, size_t weight_count,
                       int hash_bits, size_t exact_term_limit) {
  GroupSum chars;
  GroupSum words;
  // Upper bound of the char n-gram terms: at most three per byte plus the
  // padding's, per view.
  size_t char_terms = 3 * (text.text.size() + 2);
  for (const std::string& d : text.decoded) char_terms += 3 * (d.size() + 2);
  const bool exact = exact_term_limit != 0 && char_terms <= exact_term_limit &&
                     weight_count >= (size_t{1} << hash_bits);
  auto sum_chars = [&](std::string_view s) {
    if (exact) {
      SumCharNgramsExact(s, hash_bits, weights, chars);
    } else {
      SumCharNgrams(s, hash_bits, weights, weight_count, chars);
    }
  };
  // At most two word n-grams per byte: within the char bound.
  auto sum_words = [&](std::string_view s) {
    if (exact) {
      SumWordNgramsExact(s, hash_bits, weights, words);
    } else {
      SumWordNgrams(s, hash_bits, weights, weight_count, words);
    }
  };
  sum_chars(text.text);
  sum_words(text.text);
  for (const std::string& d : text.decoded) {
    sum_chars(d);
    sum_words(d);
  }
  NgramTerms t;
  t.char_ngrams = chars.sum * GroupScale(chars.count, kMinCharNgrams);
  t.word_ngrams = words.sum * GroupScale(words.count, kMinWordNgrams);
  return t;
}

double ScoreIndicators(const NormalizedText& text, const SignatureSet& signatures,
                       const SignatureHits& hits, const float* weights, size_t weight_count,
                       int hash_bits) {
  GroupSum g;
  for (size_t i = 0; i < hits.size() && i < signatures.size(); ++i) {
    if (hits[i]) {
      AddWeight(Bucket(Fnv1aPair("sig:", signatures.at(i).name, 0x1d1c), hash_bits), weights,
                weight_count, g);
    }
  }
  for (const std::string& f : FlagNames(text.flags)) {
    AddWeight(Bucket(Fnv1aPair("flag:", f, 0x1d1c), hash_bits), weights, weight_count, g);
  }
  return g.sum * 1.0f;
}

uint32_t IndicatorBucket(std::string_view name, int hash_bits) {
  return Bucket(Fnv1a(name, 0x1d1c), hash_bits);
}

void ExtractFeatures(const NormalizedText& text, const SignatureSet& signatures,
                     const SignatureHits& hits, int hash_bits, Features* out) {
  out->char_ngrams.indices.clear();
  out->word_ngrams.indices.clear();
  out->indicators.indices.clear();
  AddCharNgrams(text.text, hash_bits, out->char_ngrams.indices);
  AddWordNgrams(text.text, hash_bits, out->word_ngrams.indices);
  for (const std::string& d : text.decoded) {
    AddCharNgrams(d, hash_bits, out->char_ngrams.indices);
    AddWordNgrams(d, hash_bits, out->word_ngrams.indices);
  }
  out->char_ngrams.scale = GroupScale(out->char_ngrams.indices.size(), kMinCharNgrams);
  out->word_ngrams.scale = GroupScale(out->word_ngrams.indices.size(), kMinWordNgrams);
  for (size_t i = 0; i < hits.size() && i < signatures.size(); ++i) {
    if (hits[i]) {
      out->indicators.indices.push_back(IndicatorBucket("sig:" + signatures.at(i).name, hash_bits));
    }
  }
  for (const std::string& f : FlagNames(text.flags)) {
    out->indicators.indices.push_back(IndicatorBucket("flag:" + f, hash_bits));
  }
  out->indicators.scale = 1.0f;
}

}  // namespace steward::injection
