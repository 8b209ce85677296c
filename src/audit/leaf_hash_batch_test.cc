#include "audit/leaf_hash_batch.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace steward::audit {
namespace {

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Batches of every size up to three vectors' worth, leaves of lengths around
// every padding edge (55/56 and 119/120 message bytes, whole blocks) and
// random ones up to 3000 bytes: every hash must be LeafHash's.
void ExpectSameAsLeafHash(bool vector_path) {
  LeafHashBatch::SetVectorPathEnabled(vector_path);
  std::mt19937_64 rng(7);
  LeafHashBatch batch;
  const size_t edges[] = {0, 1, 53, 54, 55, 56, 62, 63, 64, 117, 118, 119, 120, 127, 128, 1201};
  for (size_t n = 0; n <= 3 * LeafHashBatch::kLanes + 1; ++n) {
    batch.Clear();
    std::vector<std::string> leaves;
    for (size_t i = 0; i < n; ++i) {
      const size_t len = (i + n) % 3 == 0 ? edges[(i * 7 + n) % std::size(edges)] : rng() % 3000;
      leaves.push_back(RandomBytes(rng, len));
      batch.Add(leaves.back());
    }
    const std::vector<Hash>& hashes = batch.Compute();
    ASSERT_EQ(hashes.size(), n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(hashes[i], LeafHash(leaves[i]))
          << "batch of " << n << ", leaf " << i << " (" << leaves[i].size() << " bytes)";
    }
  }
  LeafHashBatch::SetVectorPathEnabled(true);
}

TEST(LeafHashBatch, VectorPathEqualsLeafHash) {
  if (!LeafHashBatch::VectorPathAvailable()) GTEST_SKIP() << "this CPU has no AVX-512";
  ExpectSameAsLeafHash(true);
}

TEST(LeafHashBatch, OneAtATimePathEqualsLeafHash) { ExpectSameAsLeafHash(false); }

// Every parent count up to three vectors' worth, random children: the
// batched nodes must be NodeHash's on both paths.
void ExpectNodeHashesSameAsNodeHash(bool vector_path) {
  LeafHashBatch::SetVectorPathEnabled(vector_path);
  std::mt19937_64 rng(11);
  for (size_t parents = 0; parents <= 3 * LeafHashBatch::kLanes + 1; ++parents) {
    std::vector<Hash> children(2 * parents);
    for (Hash& h : children) {
      for (uint8_t& b : h) b = static_cast<uint8_t>(rng());
    }
    std::vector<Hash> got(parents + 1);
    got[parents].fill(0xAB);  // must stay untouched
    NodeHashes(children.data(), parents, got.data());
    for (size_t i = 0; i < parents; ++i) {
      ASSERT_EQ(got[i], NodeHash(children[2 * i], children[2 * i + 1]))
          << parents << " parents, parent " << i;
    }
    Hash untouched;
    untouched.fill(0xAB);
    ASSERT_EQ(got[parents], untouched);
  }
  LeafHashBatch::SetVectorPathEnabled(true);
}

TEST(LeafHashBatch, VectorNodeHashesEqualNodeHash) {
  if (!LeafHashBatch::VectorPathAvailable()) GTEST_SKIP() << "this CPU has no AVX-512";
  ExpectNodeHashesSameAsNodeHash(true);
}

TEST(LeafHashBatch, OneAtATimeNodeHashesEqualNodeHash) { ExpectNodeHashesSameAsNodeHash(false); }

TEST(LeafHashBatch, RFC6962NodeVector) {
  // RFC 6962 test vectors: the root of the first two leaves (the empty leaf
  // and 0x00) is the node hash of their leaf hashes.
  Hash children[2] = {LeafHash(""), LeafHash(std::string_view("\0", 1))};
  Hash parent;
  NodeHashes(children, 1, &parent);
  EXPECT_EQ(ToHex(parent), "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125");
}

TEST(LeafHashBatch, RFC6962LeafVector) {
  // The empty leaf of the certificate-transparency test vectors.
  LeafHashBatch batch;
  for (size_t i = 0; i < LeafHashBatch::kLanes; ++i) batch.Add("");
  for (const Hash& h : batch.Compute()) {
    EXPECT_EQ(ToHex(h), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  }
}

}  // namespace
}  // namespace steward::audit
