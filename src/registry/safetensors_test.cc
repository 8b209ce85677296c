#include "registry/safetensors.h"

#include <gtest/gtest.h>

#include "registry/testing/model_files.h"

namespace steward::registry {
namespace {

using testing::Safetensors;
using testing::SafetensorsRaw;

Result<SafetensorsInfo> Parse(const std::string& bytes) {
  return ReadSafetensors(MemorySource(bytes));
}

void ExpectRejected(const std::string& bytes, const std::string& message_part) {
  auto info = Parse(bytes);
  ASSERT_FALSE(info.ok()) << "accepted a hostile file";
  EXPECT_EQ(info.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(info.status().message().find(message_part), std::string::npos)
      << info.status().message();
}

TEST(SafetensorsTest, ReadsTinyFile) {
  auto info = Parse(testing::TinySafetensors());
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_EQ(info->tensors.size(), 2u);
  EXPECT_EQ(info->tensors[0].name, "a.weight");
  EXPECT_EQ(info->tensors[0].dtype, "F16");
  EXPECT_EQ(info->parameter_count, 20u);
  EXPECT_EQ(info->dtype_parameters["F16"], 16u);
  EXPECT_EQ(info->metadata["format"], "pt");
}

TEST(SafetensorsTest, AcceptsPaddedHeaderAndScalars) {
  std::string header = R"({"s":{"dtype":"I64","shape":[],"data_offsets":[0,8]}})";
  header.append(5, ' ');
  auto info = Parse(SafetensorsRaw(header, 8));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->parameter_count, 1u);
}

TEST(SafetensorsTest, RejectsBadHeaderLengths) {
  ExpectRejected("", "truncated");
  ExpectRejected(std::string("\xff\xff\xff\xff\xff\xff\xff\xff{}", 10), "truncated");
  std::string huge(8, '\0');
  huge[0] = 1;  // 1 byte header "{" ... too short
  ExpectRejected(huge + "{", "too short");
}

TEST(SafetensorsTest, RejectsBadJsonAndUtf8) {
  ExpectRejected(SafetensorsRaw("{\"a\":", 0), "not valid JSON");
  ExpectRejected(SafetensorsRaw("[1,2]", 0), "does not start");
  ExpectRejected(SafetensorsRaw(std::string("{\"\xff\":1}", 7), 0), "UTF-8");
  std::string deep(40, '[');
  ExpectRejected(SafetensorsRaw("{\"a\":" + deep + std::string(40, ']') + "}", 0),
                 "not valid JSON");
}

TEST(SafetensorsTest, RejectsLyingTensors) {
  ExpectRejected(Safetensors({{"w", "F99", {2}, 0, 8}}, 8), "unknown dtype");
  ExpectRejected(Safetensors({{"w", "F32", {2}, 0, 4}}, 8), "shape needs 8 bytes");
  ExpectRejected(Safetensors({{"w", "F32", {2}, 0, 8}}, 4), "outside");
  ExpectRejected(Safetensors({{"w", "F32", {2}, 8, 0}}, 8), "end before begin");
  ExpectRejected(Safetensors({{"a", "F32", {2}, 0, 8}, {"b", "F32", {2}, 4, 12}}, 16), "overlap");
  ExpectRejected(Safetensors({{"w", "F32", {1ull << 40, 1ull << 40, 1ull << 40}, 0, 8}}, 8),
                 "overflows");
  ExpectRejected(SafetensorsRaw(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4),
                 "non-negative");
  ExpectRejected(SafetensorsRaw(R"({"w":{"dtype":"F32","shape":[1]}})", 4), "data_offsets");
  ExpectRejected(SafetensorsRaw(R"({"__metadata__":{"k":1}})", 0), "not a string");
}

TEST(SafetensorsTest, TruncationNeverCrashes) {
  std::string good = testing::TinySafetensors();
  for (size_t len = 0; len < good.size(); ++len) {
    auto info = Parse(good.substr(0, len));
    EXPECT_FALSE(info.ok()) << "accepted a file truncated to " << len;
  }
}

}  // namespace
}  // namespace steward::registry
