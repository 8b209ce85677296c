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
