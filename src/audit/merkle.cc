#include "audit/merkle.h"

// The one-shot SHA256_* API is deprecated in OpenSSL 3 but is the fastest
// path (no EVP context allocation, SHA-NI when present) for 33/65-byte
// Merkle inputs hashed millions of times by `audit verify`.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <bit>

#include "common/strings.h"

namespace steward::audit {

// SHA256_Init/Update/Final go straight to the SHA-NI code; the one-shot
// SHA256() of OpenSSL 3 fetches and frees an EVP_MD on every call, which
// costs more than hashing a 65-byte node.
Hash Sha256Of(std::string_view data) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data.data(), data.size());
  Hash h;
  SHA256_Final(h.data(), &ctx);
  return h;
}

Hash LeafHash(std::string_view leaf) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  const unsigned char prefix = 0x00;
  SHA256_Update(&ctx, &prefix, 1);
  SHA256_Update(&ctx, leaf.data(), leaf.size());
  Hash h;
  SHA256_Final(h.data(), &ctx);
  return h;
}

Hash NodeHash(const Hash& left, const Hash& right) {
  unsigned char buf[65];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, buf, sizeof buf);
  Hash h;
  SHA256_Final(h.data(), &ctx);
  return h;
}

Hash NodeHashRaw(std::string_view left, std::string_view right) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  const unsigned char prefix = 0x01;
  SHA256_Update(&ctx, &prefix, 1);
  SHA256_Update(&ctx, left.data(), left.size());
  SHA256_Update(&ctx, right.data(), right.size());
  Hash h;
  SHA256_Final(h.data(), &ctx);
  return h;
}

Hash EmptyRoot() { return Sha256Of(""); }

std::string ToHex(const Hash& h) { return HexEncode(AsBytes(h)); }

std::string_view AsBytes(const Hash& h) {
  return std::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}

Result<Hash> HashFromBytes(std::string_view bytes, std::string_view what) {
  if (bytes.size() != 32) {
    return InvalidArgument(std::string(what) + ": expected 32 bytes, got " +
                           std::to_string(bytes.size()));
  }
  Hash h;
  std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(h.data()));
  return h;
}

Result<Hash> HashFromHex(std::string_view hex, std::string_view what) {
  std::string raw;
  if (hex.size() != 64 || !HexDecode(hex, &raw)) {
    return InvalidArgument(std::string(what) + ": expected 64 hex digits");
  }
  return HashFromBytes(raw, what);
}

namespace {

// Largest power of two strictly smaller than n (n >= 2).
int64_t SplitPoint(int64_t n) {
  return static_cast<int64_t>(std::bit_floor(static_cast<uint64_t>(n - 1)));
}

bool IsAlignedPowerOfTwo(int64_t begin, int64_t n) {
  return std::has_single_bit(static_cast<uint64_t>(n)) && (begin % n) == 0;
}

Status PathInto(SubtreeSource& src, int64_t m, int64_t begin, int64_t end,
                std::vector<Hash>* out) {
  int64_t n = end - begin;
  if (n <= 1) return Status::Ok();
  int64_t k = SplitPoint(n);
  if (m < k) {
    STEWARD_RETURN_IF_ERROR(PathInto(src, m, begin, begin + k, out));
    STEWARD_ASSIGN_OR_RETURN(Hash h, RangeHash(src, begin + k, end));
    out->push_back(h);
  } else {
    STEWARD_RETURN_IF_ERROR(PathInto(src, m - k, begin + k, end, out));
    STEWARD_ASSIGN_OR_RETURN(Hash h, RangeHash(src, begin, begin + k));
    out->push_back(h);
  }
  return Status::Ok();
}

Status SubproofInto(SubtreeSource& src, int64_t m, int64_t begin, int64_t end, bool complete,
                    std::vector<Hash>* out) {
  int64_t n = end - begin;
  if (m == n) {
    if (!complete) {
      STEWARD_ASSIGN_OR_RETURN(Hash h, RangeHash(src, begin, end));
      out->push_back(h);
    }
    return Status::Ok();
  }
  int64_t k = SplitPoint(n);
  if (m <= k) {
    STEWARD_RETURN_IF_ERROR(SubproofInto(src, m, begin, begin + k, complete, out));
    STEWARD_ASSIGN_OR_RETURN(Hash h, RangeHash(src, begin + k, end));
    out->push_back(h);
  } else {
    STEWARD_RETURN_IF_ERROR(SubproofInto(src, m - k, begin + k, end, false, out));
    STEWARD_ASSIGN_OR_RETURN(Hash h, RangeHash(src, begin, begin + k));
    out->push_back(h);
  }
  return Status::Ok();
}

}  // namespace

Result<Hash> RangeHash(SubtreeSource& src, int64_t begin, int64_t end) {
  int64_t n = end - begin;
  if (n <= 0) return EmptyRoot();
  if (IsAlignedPowerOfTwo(begin, n)) {
    int level = std::countr_zero(static_cast<uint64_t>(n));
    return src.Subtree(level, begin >> level);
  }
  int64_t k = SplitPoint(n);
  STEWARD_ASSIGN_OR_RETURN(Hash left, RangeHash(src, begin, begin + k));
  STEWARD_ASSIGN_OR_RETURN(Hash right, RangeHash(src, begin + k, end));
  return NodeHash(left, right);
}

Result<std::vector<Hash>> InclusionProof(SubtreeSource& src, int64_t index, int64_t size) {
  if (size <= 0) return InvalidArgument("inclusion proof: the tree is empty");
  if (index < 0 || index >= size) {
    return InvalidArgument("inclusion proof: leaf index " + std::to_string(index) +
                           " is not below tree size " + std::to_string(size));
  }
  std::vector<Hash> out;
  STEWARD_RETURN_IF_ERROR(PathInto(src, index, 0, size, &out));
  return out;
}

Result<std::vector<Hash>> ConsistencyProof(SubtreeSource& src, int64_t first, int64_t second) {
  if (first < 0 || first > second) {
    return InvalidArgument("consistency proof: first size " + std::to_string(first) +
                           " must be between 0 and second size " + std::to_string(second));
  }
  std::vector<Hash> out;
  if (first == 0 || first == second) return out;
  STEWARD_RETURN_IF_ERROR(SubproofInto(src, first, 0, second, true, &out));
  return out;
}

Status VerifyInclusion(int64_t index, int64_t size, const Hash& leaf_hash,
                       const std::vector<Hash>& proof, const Hash& root) {
  STEWARD_ASSIGN_OR_RETURN(Hash r, RootFromInclusionProof(index, size, leaf_hash, proof));
  if (r != root) return DataLoss("inclusion proof does not lead to the root hash");
  return Status::Ok();
}

Result<Hash> RootFromInclusionProof(int64_t index, int64_t size, const Hash& leaf_hash,
                                    const std::vector<Hash>& proof) {
  if (index < 0 || index >= size) return DataLoss("leaf index is not below the tree size");
  uint64_t fn = static_cast<uint64_t>(index);
  uint64_t sn = static_cast<uint64_t>(size - 1);
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return DataLoss("inclusion proof is longer than the tree is deep");
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return DataLoss("inclusion proof is shorter than the tree is deep");
  return r;
}

Status VerifyConsistency(int64_t first, int64_t second, const Hash& first_root,
                         const Hash& second_root, const std::vector<Hash>& proof) {
  if (first < 0 || second < first) return DataLoss("consistency: first size exceeds second");
  if (first == second) {
    if (!proof.empty()) return DataLoss("consistency: proof must be empty for equal sizes");
    if (first_root != second_root) return DataLoss("consistency: roots differ at equal sizes");
    return Status::Ok();
  }
  if (first == 0) {
    if (!proof.empty()) return DataLoss("consistency: proof must be empty from size 0");
    return Status::Ok();
  }
  if (proof.empty()) return DataLoss("consistency: empty proof");
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(static_cast<uint64_t>(first))) path.push_back(first_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = static_cast<uint64_t>(first - 1);
  uint64_t sn = static_cast<uint64_t>(second - 1);
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return DataLoss("consistency: proof is too long");
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return DataLoss("consistency: proof is too short");
  if (fr != first_root) return DataLoss("consistency: proof does not lead to the first root");
  if (sr != second_root) return DataLoss("consistency: proof does not lead to the second root");
  return Status::Ok();
}

void Frontier::Append(const Hash& leaf_hash, const NodeSink& on_node) {
  (void)AppendSubtree(0, leaf_hash, on_node);  // level 0 is always aligned
}

Status Frontier::AppendSubtree(int level, const Hash& hash, const NodeSink& on_node) {
  if (level < 0 || level > 62) return InvalidArgument("subtree level out of range");
  const int64_t width = int64_t{1} << level;
  if (size_ % width != 0) {
    return InvalidArgument("a subtree of 2^" + std::to_string(level) +
                           " leaves cannot follow a tree of " + std::to_string(size_));
  }
  uint64_t i = static_cast<uint64_t>(size_) >> level;
  Hash cur = hash;
  while (i & 1) {
    cur = NodeHash(nodes_.back(), cur);
    nodes_.pop_back();
    ++level;
    i >>= 1;
    if (on_node) on_node(level, static_cast<int64_t>(i), cur);
  }
  nodes_.push_back(cur);
  size_ += width;
  return Status::Ok();
}

Hash Frontier::Root() const {
  if (nodes_.empty()) return EmptyRoot();
  Hash r = nodes_.back();
  for (size_t j = nodes_.size() - 1; j-- > 0;) r = NodeHash(nodes_[j], r);
  return r;
}

Result<Frontier> Frontier::Load(SubtreeSource& source, int64_t size) {
  Frontier f;
  if (size < 0) return InvalidArgument("negative tree size");
  int64_t offset = 0;
  for (int level = 62; level >= 0; --level) {
    int64_t width = int64_t{1} << level;
    if (!(size & width)) continue;
    STEWARD_ASSIGN_OR_RETURN(Hash h, source.Subtree(level, offset >> level));
    f.nodes_.push_back(h);
    offset += width;
  }
  f.size_ = size;
  return f;
}

void MemoryTree::Append(const Hash& leaf_hash) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf_hash);
  frontier_.Append(leaf_hash, [this](int level, int64_t index, const Hash& h) {
    if (static_cast<int>(levels_.size()) <= level) levels_.resize(level + 1);
    levels_[level].push_back(h);
    (void)index;
  });
}

Result<Hash> MemoryTree::Subtree(int level, int64_t index) {
  if (level < 0 || level >= static_cast<int>(levels_.size()) || index < 0 ||
      index >= static_cast<int64_t>(levels_[level].size())) {
    return NotFound("no subtree (" + std::to_string(level) + ", " + std::to_string(index) + ")");
  }
  return levels_[level][index];
}

}  // namespace steward::audit
