#include "audit/leaf_hash_batch.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace steward::audit {
namespace {

constexpr uint32_t kRoundConstants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr uint32_t kInitialState[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

bool CpuHasAvx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}

std::atomic<bool> vector_path_enabled{true};

#define STEWARD_AVX512 __attribute__((target("avx512f,avx512bw")))

// Rotate and shift by the maskz forms: the plain ones start from an
// undefined vector that GCC 12 warns about (-Wmaybe-uninitialized) once
// inlined; an all-ones mask compiles to the same instruction.
template <int N>
STEWARD_AVX512 inline __m512i Ror(__m512i x) {
  return _mm512_maskz_ror_epi32(0xFFFF, x, N);
}

template <int N>
STEWARD_AVX512 inline __m512i Shr(__m512i x) {
  return _mm512_maskz_srli_epi32(0xFFFF, x, N);
}

STEWARD_AVX512 inline __m512i Xor3(__m512i a, __m512i b, __m512i c) {
  return _mm512_ternarylogic_epi32(a, b, c, 0x96);
}

// Sixteen messages (`lanes` of them present), each `blocks[i]` whole padded
// blocks at base + offsets[i], hashed side by side (FIPS 180-4 SHA-256, one
// message per 32-bit lane); digests[i] receives the digest of message i.
STEWARD_AVX512 void HashSixteen(const uint8_t* base, const uint32_t* offsets,
                                const uint32_t* blocks, size_t lanes, Hash* digests) {
  alignas(64) int32_t lane_offsets[16] = {};
  alignas(64) uint32_t lane_blocks[16] = {};
  uint32_t most_blocks = 0;
  for (size_t i = 0; i < lanes; ++i) {
    lane_offsets[i] = static_cast<int32_t>(offsets[i]);
    lane_blocks[i] = blocks[i];
    if (blocks[i] > most_blocks) most_blocks = blocks[i];
  }
  const __m512i block_counts = _mm512_load_si512(lane_blocks);
  // Big-endian message and digest words: the bytes of each 32-bit word reversed.
  alignas(64) static constexpr uint8_t kByteSwap[64] = {
      3,  2,  1,  0,  7, 6, 5,  4,  11, 10, 9, 8, 15, 14, 13, 12, 3,  2,  1,  0,  7, 6,
      5,  4,  11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1,  0,  7,  6,  5,  4,  11, 10, 9, 8,
      15, 14, 13, 12, 3, 2, 1,  0,  7,  6,  5, 4, 11, 10, 9,  8,  15, 14, 13, 12};
  const __m512i byte_swap = _mm512_load_si512(kByteSwap);
  __m512i state[8];
  for (int k = 0; k < 8; ++k) state[k] = _mm512_set1_epi32(static_cast<int>(kInitialState[k]));
  __m512i word_offsets = _mm512_load_si512(lane_offsets);
  for (uint32_t block = 0; block < most_blocks; ++block) {
    const __mmask16 active =
        _mm512_cmpgt_epu32_mask(block_counts, _mm512_set1_epi32(static_cast<int>(block)));
    __m512i w[16];
    for (int t = 0; t < 16; ++t) {
      const __m512i words = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), active,
                                                        word_offsets, base + 4 * t, 1);
      w[t] = _mm512_shuffle_epi8(words, byte_swap);
    }
    __m512i a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5],
            g = state[6], h = state[7];
    for (int t = 0; t < 64; ++t) {
      if (t >= 16) {
        const __m512i w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
        const __m512i s0 = Xor3(Ror<7>(w15), Ror<18>(w15), Shr<3>(w15));
        const __m512i s1 = Xor3(Ror<17>(w2), Ror<19>(w2), Shr<10>(w2));
        w[t & 15] = _mm512_add_epi32(_mm512_add_epi32(w[t & 15], s0),
                                     _mm512_add_epi32(w[(t - 7) & 15], s1));
      }
      const __m512i sigma1 = Xor3(Ror<6>(e), Ror<11>(e), Ror<25>(e));
      const __m512i choose = _mm512_ternarylogic_epi32(e, f, g, 0xCA);
      const __m512i t1 = _mm512_add_epi32(
          _mm512_add_epi32(h, sigma1),
          _mm512_add_epi32(choose, _mm512_add_epi32(w[t & 15], _mm512_set1_epi32(static_cast<int>(
                                                                   kRoundConstants[t])))));
      const __m512i sigma0 = Xor3(Ror<2>(a), Ror<13>(a), Ror<22>(a));
      const __m512i majority = _mm512_ternarylogic_epi32(a, b, c, 0xE8);
      const __m512i t2 = _mm512_add_epi32(sigma0, majority);
      h = g;
      g = f;
      f = e;
      e = _mm512_add_epi32(d, t1);
      d = c;
      c = b;
      b = a;
      a = _mm512_add_epi32(t1, t2);
    }
    const __m512i rounds[8] = {a, b, c, d, e, f, g, h};
    for (int k = 0; k < 8; ++k) {
      state[k] = _mm512_mask_add_epi32(state[k], active, state[k], rounds[k]);
    }
    word_offsets = _mm512_add_epi32(word_offsets, _mm512_set1_epi32(64));
  }
  alignas(64) uint32_t words[8][16];
  for (int k = 0; k < 8; ++k) {
    _mm512_store_si512(words[k], _mm512_shuffle_epi8(state[k], byte_swap));
  }
  for (size_t i = 0; i < lanes; ++i) {
    for (int k = 0; k < 8; ++k) std::memcpy(digests[i].data() + 4 * k, &words[k][i], 4);
  }
}

}  // namespace

bool LeafHashBatch::VectorPathAvailable() {
  static const bool has = CpuHasAvx512();
  return has && vector_path_enabled.load(std::memory_order_relaxed);
}

void LeafHashBatch::SetVectorPathEnabled(bool enabled) {
  vector_path_enabled.store(enabled, std::memory_order_relaxed);
}

void LeafHashBatch::Add(std::string_view leaf) {
  // 0x00, the leaf, 0x80, then zeros up to 8 bytes before a block's end,
  // where the message's length in bits goes (big-endian).
  const uint64_t message_bytes = leaf.size() + 1;
  const uint64_t blocks = (message_bytes + 1 + 8 + 63) / 64;
  const size_t offset = padded_.size();
  padded_.resize(offset + blocks * 64);
  uint8_t* m = padded_.data() + offset;
  m[0] = 0x00;
  if (!leaf.empty()) std::memcpy(m + 1, leaf.data(), leaf.size());
  m[message_bytes] = 0x80;
  std::memset(m + message_bytes + 1, 0, blocks * 64 - message_bytes - 1 - 8);
  const uint64_t bits = message_bytes * 8;
  for (int k = 0; k < 8; ++k) m[blocks * 64 - 1 - k] = static_cast<uint8_t>(bits >> (8 * k));
  offsets_.push_back(static_cast<uint32_t>(offset));
  blocks_.push_back(static_cast<uint32_t>(blocks));
  lengths_.push_back(static_cast<uint32_t>(leaf.size()));
}

void LeafHashBatch::Clear() {
  padded_.clear();
  offsets_.clear();
  blocks_.clear();
  lengths_.clear();
}

const std::vector<Hash>& LeafHashBatch::Compute() {
  const size_t n = offsets_.size();
  hashes_.resize(n);
  size_t done = 0;
  // Gathers address the messages by 32-bit offsets: the vector path only
  // while they fit (a batch is a few MB in practice).
  if (VectorPathAvailable() && padded_.size() < (size_t{1} << 31)) {
    for (; n - done >= kLanes / 2; done += std::min(kLanes, n - done)) {
      HashSixteen(padded_.data(), offsets_.data() + done, blocks_.data() + done,
                  std::min(kLanes, n - done), hashes_.data() + done);
    }
  }
  // A short tail (fewer than half the lanes) costs less one at a time.
  for (; done < n; ++done) {
    hashes_[done] = LeafHash(std::string_view(
        reinterpret_cast<const char*>(padded_.data()) + offsets_[done] + 1, lengths_[done]));
  }
  return hashes_;
}

void NodeHashes(const Hash* children, size_t parent_count, Hash* parents) {
  size_t done = 0;
  if (LeafHashBatch::VectorPathAvailable()) {
    // 0x01 ‖ left ‖ right is 65 bytes: two blocks, the second holding the
    // right hash's last byte, 0x80 and the length (520 bits). The padding
    // is written once; each group only copies its hashes in.
    constexpr size_t kNodeBytes = 128;
    alignas(64) uint8_t messages[LeafHashBatch::kLanes * kNodeBytes] = {};
    uint32_t offsets[LeafHashBatch::kLanes];
    uint32_t blocks[LeafHashBatch::kLanes];
    for (size_t lane = 0; lane < LeafHashBatch::kLanes; ++lane) {
      uint8_t* m = messages + lane * kNodeBytes;
      m[0] = 0x01;
      m[65] = 0x80;
      m[kNodeBytes - 2] = 0x02;  // 520 = 0x0208, big-endian
      m[kNodeBytes - 1] = 0x08;
      offsets[lane] = static_cast<uint32_t>(lane * kNodeBytes);
      blocks[lane] = 2;
    }
    for (; parent_count - done >= LeafHashBatch::kLanes / 2;
         done += std::min(LeafHashBatch::kLanes, parent_count - done)) {
      const size_t lanes = std::min(LeafHashBatch::kLanes, parent_count - done);
      for (size_t lane = 0; lane < lanes; ++lane) {
        uint8_t* m = messages + lane * kNodeBytes;
        std::memcpy(m + 1, children[2 * (done + lane)].data(), 32);
        std::memcpy(m + 33, children[2 * (done + lane) + 1].data(), 32);
      }
      HashSixteen(messages, offsets, blocks, lanes, parents + done);
    }
  }
  for (; done < parent_count; ++done) {
    parents[done] = NodeHash(children[2 * done], children[2 * done + 1]);
  }
}

}  // namespace steward::audit
