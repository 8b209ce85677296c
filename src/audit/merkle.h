// The Merkle tree of RFC 9162 §2.1 (SHA-256): hashes, inclusion and
// consistency proofs, their verification, and the compact "frontier" that
// lets a log append in O(log n) without rereading the tree.
//
// Subtrees are addressed as (level, index): the complete subtree of 2^level
// leaves that starts at leaf `index << level`. Level 0 is a leaf hash. A
// store only has to answer those lookups (SubtreeSource); every proof needs
// O(log n) of them (O(log^2 n) in the worst case for ragged right edges).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "steward/status.h"

namespace steward::audit {

using Hash = std::array<uint8_t, 32>;

Hash Sha256Of(std::string_view data);
Hash LeafHash(std::string_view leaf);             // SHA-256(0x00 || leaf)
Hash NodeHash(const Hash& left, const Hash& right);  // SHA-256(0x01 || left || right)
// The same over raw child bytes of any length (RFC 6962 hasher form).
Hash NodeHashRaw(std::string_view left, std::string_view right);
Hash EmptyRoot();                                  // SHA-256("")

std::string ToHex(const Hash& h);
// Parses 64 hex digits; fails naming `what` otherwise.
Result<Hash> HashFromHex(std::string_view hex, std::string_view what = "hash");
std::string_view AsBytes(const Hash& h);
Result<Hash> HashFromBytes(std::string_view bytes, std::string_view what = "hash");

// Looks up complete subtree hashes.
class SubtreeSource {
 public:
  virtual ~SubtreeSource() = default;
  virtual Result<Hash> Subtree(int level, int64_t index) = 0;
};

// MTH(D[begin:end]) built from complete subtrees.
Result<Hash> RangeHash(SubtreeSource& source, int64_t begin, int64_t end);

// RFC 9162 §2.1.3.1: the audit path of leaf `index` in the tree of `size`.
Result<std::vector<Hash>> InclusionProof(SubtreeSource& source, int64_t index, int64_t size);
// RFC 9162 §2.1.4.1: the consistency proof between sizes `first` <= `second`.
Result<std::vector<Hash>> ConsistencyProof(SubtreeSource& source, int64_t first, int64_t second);

// The root an inclusion proof leads to (RFC 9162 §2.1.3.2 without the final
// comparison); fails when the proof's length does not fit the tree.
Result<Hash> RootFromInclusionProof(int64_t index, int64_t size, const Hash& leaf_hash,
                                    const std::vector<Hash>& proof);
// RFC 9162 §2.1.3.2. Fails with a message if the proof does not verify.
Status VerifyInclusion(int64_t index, int64_t size, const Hash& leaf_hash,
                       const std::vector<Hash>& proof, const Hash& root);
// RFC 9162 §2.1.4.2; also accepts first == second with an empty proof and
// equal roots, and first == 0 with an empty proof.
Status VerifyConsistency(int64_t first, int64_t second, const Hash& first_root,
                         const Hash& second_root, const std::vector<Hash>& proof);

// The right edge of a tree: the roots of its maximal complete subtrees,
// largest first. Appending a leaf creates the new complete subtrees it
// closes, reported through `on_node(level, index, hash)` (level >= 1) so a
// store can keep them.
class Frontier {
 public:
  using NodeSink = std::function<void(int level, int64_t index, const Hash& hash)>;

  int64_t size() const { return size_; }
  void Append(const Hash& leaf_hash, const NodeSink& on_node = nullptr);
  // Appends a whole complete subtree of 2^level leaves at once (its root
  // `hash`); the size must be a multiple of 2^level. Reports only the nodes
  // above `level` it closes.
  Status AppendSubtree(int level, const Hash& hash, const NodeSink& on_node = nullptr);
  Hash Root() const;
  const std::vector<Hash>& nodes() const { return nodes_; }

  // Loads the frontier of a tree of `size` leaves from `source`.
  static Result<Frontier> Load(SubtreeSource& source, int64_t size);

 private:
  int64_t size_ = 0;
  std::vector<Hash> nodes_;
};

// An in-memory tree over leaf hashes (tests, offline export verification).
class MemoryTree final : public SubtreeSource {
 public:
  void Append(const Hash& leaf_hash);
  int64_t size() const { return levels_.empty() ? 0 : static_cast<int64_t>(levels_[0].size()); }
  Result<Hash> Subtree(int level, int64_t index) override;
  Hash Root() const { return frontier_.Root(); }

 private:
  std::vector<std::vector<Hash>> levels_;  // levels_[l][i]: complete subtree (l, i)
  Frontier frontier_;
};

}  // namespace steward::audit
