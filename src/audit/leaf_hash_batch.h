#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "audit/merkle.h"

namespace steward::audit {

// RFC 9162 leaf hashes, SHA-256(0x00 || leaf), of many leaves at once. Where
// the CPU has AVX-512 (F and BW), sixteen leaves are hashed side by side, one
// per 32-bit lane, which on such CPUs is faster than hashing them one after
// the other even with the SHA extensions (one message's rounds form a chain;
// sixteen independent ones fill the vector units). Elsewhere each leaf goes
// through LeafHash. Either way the hashes are LeafHash's, bit for bit.
//
// Add copies the leaf (its bytes need not outlive the call); Compute()
// hashes what was added since the last Clear(), in order.
class LeafHashBatch {
 public:
  static constexpr size_t kLanes = 16;

  void Add(std::string_view leaf);
  size_t size() const { return offsets_.size(); }
  void Clear();
  // The leaf hashes of the added leaves, in the order they were added.
  const std::vector<Hash>& Compute();

  // Tests: whether the vector path is used (the CPU has it and it is not
  // switched off), and a switch to the one-at-a-time path.
  static bool VectorPathAvailable();
  static void SetVectorPathEnabled(bool enabled);

 private:
  // Each leaf as its padded SHA-256 message (0x00, leaf, 0x80, zeros, bit
  // length): whole 64-byte blocks, so lanes load their blocks directly.
  std::vector<uint8_t> padded_;
  std::vector<uint32_t> offsets_;  // of each message in padded_
  std::vector<uint32_t> blocks_;   // of each message
  std::vector<uint32_t> lengths_;  // of each leaf (at its offset + 1)
  std::vector<Hash> hashes_;
};

// Interior nodes of one tree level: parents[i] = NodeHash(children[2i],
// children[2i+1]) for i < parent_count, sixteen at a time on the vector path
// (a node is a two-block message), else through NodeHash. `audit verify`
// builds about one node per leaf; one at a time through OpenSSL they were
// 9% of its CPU.
void NodeHashes(const Hash* children, size_t parent_count, Hash* parents);

}  // namespace steward::audit
