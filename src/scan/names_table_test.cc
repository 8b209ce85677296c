// The names recognizer's packed tables: a frozen word table reads every
// member's value and nothing for other words; a loaded model (bitmap-ranked
// rows) scores exactly like the dense weights it was saved from.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <unordered_map>
#include <vector>

#include "scan/names.h"

namespace steward::scan {
namespace {

TEST(WordHashTable, FrozenTableReadsMembersAndNothingElse) {
  std::mt19937_64 rng(11);
  std::unordered_map<uint64_t, uint16_t> members;
  WordHashTable t;
  for (int i = 0; i < 50000; ++i) {
    uint64_t key = rng();
    if (i == 0) key = 0;  // the "empty" key is a word too
    uint16_t bits = static_cast<uint16_t>(1u << (rng() % 15));
    t.Or(key, bits);
    members[key] |= bits;
  }
  size_t unpacked_bytes = t.bytes();
  t.Freeze();
  EXPECT_LT(t.bytes(), unpacked_bytes / 2);
  for (const auto& [key, bits] : members) ASSERT_EQ(t.Get(key), bits) << key;
  size_t false_hits = 0;
  for (int i = 0; i < 200000; ++i) {
    uint64_t key = rng();
    if (!members.count(key)) false_hits += t.Get(key) != 0;
  }
  EXPECT_EQ(false_hits, 0u);
}

TEST(NameModel, LoadedRowsScoreLikeDenseWeights) {
  std::mt19937 rng(5);
  std::vector<float> dense((size_t{1} << kFeatureBits) * kNumLabels, 0.0f);
  std::vector<uint32_t> used;
  for (int i = 0; i < 3000; ++i) {
    uint32_t id = rng() & kFeatureMask;
    if (i < 2) id = i == 0 ? 0 : kFeatureMask;  // both ends of the id range
    used.push_back(id);
    for (int l = 0; l < kNumLabels; ++l)
      dense[size_t{id} * kNumLabels + l] = static_cast<float>(rng() % 2001) / 100.0f - 10.0f;
  }
  NameModel trained;
  trained.SetDense(dense);
  std::string path = ::testing::TempDir() + "names_table_test.model";
  ASSERT_TRUE(trained.Save(path).ok());
  NameModel loaded;
  ASSERT_TRUE(loaded.Load(path).ok());
  std::remove(path.c_str());
  EXPECT_LT(loaded.bytes(), size_t{1} << 20);
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<uint32_t> feats;
    for (int k = 0; k < 30; ++k)
      feats.push_back(k % 2 ? used[rng() % used.size()] : (rng() & kFeatureMask));
    float a[kNumLabels], b[kNumLabels];
    trained.Score(feats, a);
    loaded.Score(feats, b);
    for (int l = 0; l < kNumLabels; ++l) ASSERT_EQ(a[l], b[l]);
  }
}

}  // namespace
}  // namespace steward::scan

namespace steward::scan {
namespace {

// The byte-at-a-time lower-casing LowerUtf8 had before its 16-byte ASCII
// path: the reference the fast one must equal.
std::string ReferenceLower(std::string out) {
  for (size_t i = 0; i < out.size(); ++i) {
    unsigned char c = out[i];
    if (c >= 'A' && c <= 'Z') {
      out[i] = static_cast<char>(c + 32);
    } else if (c == 0xC3 && i + 1 < out.size()) {
      unsigned char d = out[i + 1];
      if (d >= 0x80 && d <= 0x9E && d != 0x97) out[i + 1] = static_cast<char>(d + 0x20);
      ++i;
    } else if (c == 0xD0 && i + 1 < out.size()) {
      unsigned char d = out[i + 1];
      if (d >= 0x90 && d <= 0x9F)
        out[i + 1] = static_cast<char>(d + 0x20);
      else if (d >= 0xA0 && d <= 0xAF) {
        out[i] = static_cast<char>(0xD1);
        out[i + 1] = static_cast<char>(d - 0x20);
      }
      ++i;
    } else if (c == 0xCE && i + 1 < out.size()) {
      unsigned char d = out[i + 1];
      if (d >= 0x91 && d <= 0x9F)
        out[i + 1] = static_cast<char>(d + 0x20);
      else if (d >= 0xA0 && d <= 0xA9) {
        out[i] = static_cast<char>(0xCF);
        out[i + 1] = static_cast<char>(d - 0x20);
      }
      ++i;
    }
  }
  return out;
}

TEST(LowerUtf8, SixteenByteAsciiPathEqualsByteLoop) {
  std::mt19937 rng(3);
  const std::string bytes = "AZaz09 _.@[`{\x7f\xc3\xd0\xce\x80\x90\x97\x9e\x9f\xa0\xa9\xaf\xbf";
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    size_t n = rng() % 70;
    bool ascii = rng() % 2;
    for (size_t k = 0; k < n; ++k) {
      char c = bytes[rng() % bytes.size()];
      s.push_back(ascii && static_cast<unsigned char>(c) >= 0x80 ? 'Q' : c);
    }
    ASSERT_EQ(LowerUtf8(s), ReferenceLower(s)) << i;
  }
}

}  // namespace
}  // namespace steward::scan
