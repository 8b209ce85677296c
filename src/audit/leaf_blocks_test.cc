#include "audit/leaf_blocks.h"

#include <gtest/gtest.h>

#include "common/strings.h"

namespace steward::audit {
namespace {

std::vector<BlockLeaf> SampleLeaves(std::vector<std::string>& storage, int n) {
  storage.clear();
  for (int i = 0; i < n; ++i) {
    storage.push_back("{\"kind\":\"request\",\"n\":" + std::to_string(i) + ",\"subject\":\"s_" +
                      std::to_string(i % 3) + "\"}");
  }
  static constexpr std::string_view kSubjects[] = {"", "s_1", "s_2"};
  std::vector<BlockLeaf> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({storage[static_cast<size_t>(i)], i % 5 ? "request" : "admin", kSubjects[i % 3],
                   1'790'000'000'000 - 7 * i});
  }
  return out;
}

TEST(LeafBlockTest, RoundTripsLeavesAndColumnsWithAndWithoutDictionary) {
  std::vector<std::string> storage;
  for (int n : {1, 6, 64}) {
    auto leaves = SampleLeaves(storage, n);
    for (uint8_t dict : {kLeafDictionaryNone, kLeafDictionaryV1}) {
      auto body = EncodeLeafBlock(leaves, dict);
      ASSERT_TRUE(body.ok()) << body.status().ToString();
      EXPECT_EQ((*body)[0], kLeafBlockFormat);
      EXPECT_EQ(static_cast<uint8_t>((*body)[1]), dict);
      DecodedLeafBlock block;
      ASSERT_TRUE(block.Decode(100, n, *body).ok());
      ASSERT_EQ(block.leaves().size(), static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) {
        const BlockLeaf& got = block.leaves()[static_cast<size_t>(i)];
        EXPECT_EQ(got.leaf, leaves[static_cast<size_t>(i)].leaf);
        EXPECT_EQ(got.kind, leaves[static_cast<size_t>(i)].kind);
        EXPECT_EQ(got.subject, leaves[static_cast<size_t>(i)].subject);
        EXPECT_EQ(got.time_ms, leaves[static_cast<size_t>(i)].time_ms);
      }
    }
  }
  std::vector<BlockLeaf> none;
  EXPECT_FALSE(EncodeLeafBlock(none).ok());
  std::vector<BlockLeaf> too_many(static_cast<size_t>(kMaxBlockLeaves) + 1, BlockLeaf{"{}", "k", "", 0});
  EXPECT_FALSE(EncodeLeafBlock(too_many).ok());
}

// The dictionary is part of the stored format: blocks written with it must
// decode the same forever, so its bytes must never change.
TEST(LeafBlockTest, DictionaryV1IsPinned) {
  EXPECT_EQ(Sha256Hex(LeafDictionaryV1()),
            "791c7e130bf019ac2362548f8bd0c5c636ca2754f5df5ac91ba4170f8c9b4621");
}

TEST(LeafBlockTest, MalformedBodiesAreRefusedByName) {
  std::vector<std::string> storage;
  auto leaves = SampleLeaves(storage, 6);
  for (auto& l : leaves) l.subject = "";
  const std::string body = *EncodeLeafBlock(leaves);
  DecodedLeafBlock block;
  auto refused = [&](int64_t entries, const std::string& bad, const std::string& why) {
    Status s = block.Decode(10, entries, bad);
    EXPECT_FALSE(s.ok()) << why;
    EXPECT_NE(s.message().find("records 10.."), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(why), std::string::npos) << s.message();
    EXPECT_TRUE(block.leaves().empty());
  };
  refused(6, "", "unknown format");
  refused(6, std::string("\x02") + body.substr(1), "unknown format");
  refused(6, body.substr(0, 1) + "\x05" + body.substr(2), "unknown dictionary");
  refused(6, body.substr(0, body.size() - 3), "zstd frame");
  refused(6, body + "junk", "zstd frame");
  refused(0, body, "record count");
  refused(kMaxBlockLeaves + 1, body, "record count");
  refused(7, body, "truncated");
  refused(5, body, "trailing bytes");
  EXPECT_TRUE(block.Decode(10, 6, body).ok());
}

}  // namespace
}  // namespace steward::audit
