#include "audit/merkle.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "common/strings.h"

namespace steward::audit {
namespace {

boost::json::object LoadVectors() {
  std::ifstream in("../shared/datasets/vectors/rfc6962_vectors.json");
  EXPECT_TRUE(in.good()) << "run from the repository root";
  std::stringstream ss;
  ss << in.rdbuf();
  return boost::json::parse(ss.str()).as_object();
}

Hash H(const boost::json::value& v) { return *HashFromHex(v.as_string()); }

std::vector<Hash> Hashes(const boost::json::value& v) {
  std::vector<Hash> out;
  for (const auto& e : v.as_array()) out.push_back(H(e));
  return out;
}

MemoryTree TreeOf(const boost::json::object& vec, int n) {
  MemoryTree t;
  const auto& leaves = vec.at("leaves_hex").as_array();
  for (int i = 0; i < n; ++i) {
    std::string raw;
    EXPECT_TRUE(HexDecode(leaves[i].as_string(), &raw));
    t.Append(LeafHash(raw));
  }
  return t;
}

TEST(MerkleVectors, LeafHashesAndRoots) {
  auto vec = LoadVectors();
  EXPECT_EQ(ToHex(EmptyRoot()), vec.at("empty_tree_root").as_string());
  const auto& leaves = vec.at("leaves_hex").as_array();
  const auto& hashes = vec.at("leaf_hashes").as_array();
  for (size_t i = 0; i < leaves.size(); ++i) {
    std::string raw;
    ASSERT_TRUE(HexDecode(leaves[i].as_string(), &raw));
    EXPECT_EQ(ToHex(LeafHash(raw)), hashes[i].as_string()) << i;
  }
  for (const auto& [size, root] : vec.at("roots_by_size").as_object()) {
    int n = std::stoi(std::string(size));
    MemoryTree t = TreeOf(vec, n);
    EXPECT_EQ(ToHex(t.Root()), root.as_string()) << "size " << n;
  }
}

TEST(MerkleVectors, HasherVectors) {
  auto vec = LoadVectors();
  for (const auto& v : vec.at("hasher_vectors").as_array()) {
    const auto& o = v.as_object();
    if (o.at("type").as_string() == "leaf") {
      std::string raw;
      if (o.contains("data_hex")) {
        ASSERT_TRUE(HexDecode(o.at("data_hex").as_string(), &raw));
      } else {
        raw = std::string(o.at("data_ascii").as_string());
      }
      EXPECT_EQ(ToHex(LeafHash(raw)), o.at("hash").as_string());
    } else {
      std::string l, r;
      if (o.contains("left_hex")) {
        ASSERT_TRUE(HexDecode(o.at("left_hex").as_string(), &l));
        ASSERT_TRUE(HexDecode(o.at("right_hex").as_string(), &r));
        EXPECT_EQ(ToHex(NodeHash(*HashFromBytes(l), *HashFromBytes(r))), o.at("hash").as_string());
      } else {
        l = std::string(o.at("left_ascii").as_string());
        r = std::string(o.at("right_ascii").as_string());
      }
      EXPECT_EQ(ToHex(NodeHashRaw(l, r)), o.at("hash").as_string());
    }
  }
}

void CheckInclusion(const boost::json::object& vec, const char* key) {
  int checked = 0;
  for (const auto& v : vec.at(key).as_array()) {
    const auto& o = v.as_object();
    int64_t index = o.at("leaf_index").to_number<int64_t>();
    int64_t size = o.at("tree_size").to_number<int64_t>();
    Hash leaf = H(o.at("leaf_hash"));
    Hash root = H(o.at("root"));
    std::vector<Hash> want = Hashes(o.at("proof"));
    MemoryTree t = TreeOf(vec, static_cast<int>(size));
    auto got = InclusionProof(t, index, size);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, want) << key << " " << index << "/" << size;
    EXPECT_TRUE(VerifyInclusion(index, size, leaf, want, root).ok()) << index << "/" << size;
    // Corruptions the verifier must reject.
    EXPECT_FALSE(VerifyInclusion(index + 1, size, leaf, want, root).ok());
    EXPECT_FALSE(VerifyInclusion(index, size * 2, leaf, want, root).ok());
    EXPECT_FALSE(VerifyInclusion(index, size, EmptyRoot(), want, root).ok());
    std::vector<Hash> extra = want;
    extra.push_back(leaf);
    EXPECT_FALSE(VerifyInclusion(index, size, leaf, extra, root).ok());
    for (size_t i = 0; i < want.size(); ++i) {
      std::vector<Hash> flipped = want;
      flipped[i][5] ^= 0x10;
      EXPECT_FALSE(VerifyInclusion(index, size, leaf, flipped, root).ok());
      std::vector<Hash> removed = want;
      removed.erase(removed.begin() + static_cast<long>(i));
      EXPECT_FALSE(VerifyInclusion(index, size, leaf, removed, root).ok());
    }
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST(MerkleVectors, InclusionProofs) {
  auto vec = LoadVectors();
  CheckInclusion(vec, "inclusion_proofs_published");
  CheckInclusion(vec, "inclusion_proofs_all_derived");
}

void CheckConsistency(const boost::json::object& vec, const char* key) {
  int checked = 0;
  for (const auto& v : vec.at(key).as_array()) {
    const auto& o = v.as_object();
    int64_t s1 = o.at("size1").to_number<int64_t>();
    int64_t s2 = o.at("size2").to_number<int64_t>();
    Hash r1 = H(o.at("root1"));
    Hash r2 = H(o.at("root2"));
    std::vector<Hash> want = Hashes(o.at("proof"));
    MemoryTree t = TreeOf(vec, static_cast<int>(s2));
    auto got = ConsistencyProof(t, s1, s2);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, want) << key << " " << s1 << "->" << s2;
    EXPECT_TRUE(VerifyConsistency(s1, s2, r1, r2, want).ok()) << s1 << "->" << s2;
    if (s1 < s2 && s1 > 0) {
      EXPECT_FALSE(VerifyConsistency(s1, s2, r2, r1, want).ok());
      EXPECT_FALSE(VerifyConsistency(s1, s2, r1, r2, {}).ok());
      EXPECT_FALSE(VerifyConsistency(s2, s1, r1, r2, want).ok());
      for (size_t i = 0; i < want.size(); ++i) {
        std::vector<Hash> flipped = want;
        flipped[i][0] ^= 1;
        EXPECT_FALSE(VerifyConsistency(s1, s2, r1, r2, flipped).ok()) << s1 << "->" << s2;
      }
    }
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST(MerkleVectors, ConsistencyProofs) {
  auto vec = LoadVectors();
  CheckConsistency(vec, "consistency_proofs_published");
  CheckConsistency(vec, "consistency_proofs_all_derived");
}

TEST(Merkle, EdgeCases) {
  MemoryTree t;
  EXPECT_FALSE(InclusionProof(t, 0, 0).ok());
  t.Append(LeafHash("a"));
  EXPECT_FALSE(InclusionProof(t, 1, 1).ok());
  EXPECT_FALSE(ConsistencyProof(t, 2, 1).ok());
  EXPECT_TRUE(InclusionProof(t, 0, 1)->empty());
}

TEST(Merkle, FrontierMatchesMemoryTreeAndLoads) {
  MemoryTree t;
  Frontier f;
  for (int i = 0; i < 1000; ++i) {
    Hash h = LeafHash("leaf " + std::to_string(i));
    t.Append(h);
    f.Append(h);
    ASSERT_EQ(f.Root(), t.Root()) << i;
    if (i % 97 == 0) {
      auto loaded = Frontier::Load(t, f.size());
      ASSERT_TRUE(loaded.ok());
      EXPECT_EQ(loaded->Root(), f.Root());
    }
  }
  // Proofs over a larger tree verify against the roots of every prefix.
  for (int64_t size : {1, 2, 3, 7, 64, 65, 999, 1000}) {
    auto root = RangeHash(t, 0, size);
    ASSERT_TRUE(root.ok());
    for (int64_t idx : {int64_t{0}, size / 2, size - 1}) {
      auto proof = InclusionProof(t, idx, size);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifyInclusion(idx, size, *t.Subtree(0, idx), *proof, *root).ok());
    }
    for (int64_t old : {int64_t{1}, size / 3 + 1, size}) {
      if (old > size) continue;
      auto proof = ConsistencyProof(t, old, size);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifyConsistency(old, size, *RangeHash(t, 0, old), *root, *proof).ok())
          << old << "->" << size;
    }
  }
}

}  // namespace
}  // namespace steward::audit
