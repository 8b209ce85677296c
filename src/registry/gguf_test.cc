#include "registry/gguf.h"

#include <gtest/gtest.h>

#include "registry/testing/model_files.h"

namespace steward::registry {
namespace {

using testing::GgufWriter;
using testing::TinyGguf;

Result<GgufInfo> Parse(const std::string& bytes) { return ReadGguf(MemorySource(bytes)); }

void ExpectRejected(const std::string& bytes, const std::string& message_part) {
  auto info = Parse(bytes);
  ASSERT_FALSE(info.ok()) << "accepted a hostile file";
  EXPECT_EQ(info.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(info.status().message().find(message_part), std::string::npos)
      << info.status().message();
}

TEST(GgufTest, ReadsTinyModel) {
  auto info = Parse(TinyGguf());
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->version, 3u);
  EXPECT_EQ(info->name, "tiny-llama");
  EXPECT_EQ(info->architecture, "llama");
  EXPECT_EQ(info->license, "apache-2.0");
  EXPECT_EQ(info->source_url, "https://example.org/tiny-llama");
  EXPECT_EQ(info->file_type, "Q4_K_M");
  EXPECT_EQ(info->context_length, 2048);
  ASSERT_EQ(info->base_models.size(), 1u);
  EXPECT_EQ(info->base_models[0].name, "Base Llama");
  ASSERT_EQ(info->tensors.size(), 2u);
  EXPECT_EQ(info->tensors[0].nbytes, 128u);
  EXPECT_EQ(info->parameter_count, 40u);
  EXPECT_EQ(info->data_offset % 32, 0u);
}

TEST(GgufTest, ReadsEveryScalarTypeAndArrays) {
  GgufWriter w;
  w.Magic().U32(2).U64(0).U64(13);
  w.Str("u8").U32(0).U8(7);
  w.Str("i8").U32(1).U8(0xff);
  w.Str("u16").U32(2).U8(1).U8(1);
  w.Str("i16").U32(3).U8(0xfe).U8(0xff);
  w.Str("u32").U32(4).U32(123456);
  w.Str("i32").U32(5).U32(0xfffffffe);
  w.Str("f32").U32(6).F32(1.5f);
  w.Str("bool").U32(7).U8(1);
  w.Str("str").U32(8).Str("héllo");
  w.Str("u64").U32(10).U64(1ull << 40);
  w.Str("i64").U32(11).U64(static_cast<uint64_t>(-5));
  w.Str("f64").U32(12).U64(0x4000000000000000ull);  // 2.0
  w.KvStringArray("arr", {"a", "b", "c"});
  auto info = Parse(w.bytes());
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->metadata["u8"].AsInt(), 7);
  EXPECT_EQ(info->metadata["i8"].AsInt(), -1);
  EXPECT_EQ(info->metadata["u16"].AsInt(), 257);
  EXPECT_EQ(info->metadata["i16"].AsInt(), -2);
  EXPECT_EQ(info->metadata["u32"].AsInt(), 123456);
  EXPECT_EQ(info->metadata["i32"].AsInt(), -2);
  EXPECT_DOUBLE_EQ(std::get<double>(info->metadata["f32"].scalar), 1.5);
  EXPECT_TRUE(std::get<bool>(info->metadata["bool"].scalar));
  EXPECT_EQ(info->metadata["str"].AsString(), "héllo");
  EXPECT_EQ(info->metadata["u64"].AsInt(), int64_t{1} << 40);
  EXPECT_EQ(info->metadata["i64"].AsInt(), -5);
  EXPECT_DOUBLE_EQ(std::get<double>(info->metadata["f64"].scalar), 2.0);
  EXPECT_EQ(info->metadata["arr"].array_length, 3u);
  ASSERT_EQ(info->metadata["arr"].elements.size(), 3u);
  EXPECT_EQ(info->metadata["arr"].elements[2].AsString(), "c");
}

TEST(GgufTest, LongArraysAreCountedNotKept) {
  std::vector<std::string> vocab(1000, "tok");
  GgufWriter w;
  w.Magic().U32(3).U64(0).U64(2);
  w.KvStringArray("tokenizer.ggml.tokens", vocab);
  w.Str("scores").U32(9).U32(6).U64(500);
  for (int i = 0; i < 500; ++i) w.F32(0.0f);
  auto info = Parse(w.bytes());
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->metadata["tokenizer.ggml.tokens"].array_length, 1000u);
  EXPECT_TRUE(info->metadata["tokenizer.ggml.tokens"].elements.empty());
  EXPECT_EQ(info->metadata["scores"].array_length, 500u);
}

TEST(GgufTest, RejectsBadMagicAndVersion) {
  ExpectRejected("GGML", "bad magic");
  GgufWriter v1;
  v1.Magic().U32(1).U64(0).U64(0);
  ExpectRejected(v1.bytes(), "unsupported GGUF version 1");
  ExpectRejected("", "truncated");
}

TEST(GgufTest, RejectsTruncatedFileAtEveryLength) {
  std::string good = TinyGguf();
  // Cutting inside the header or the tensor data must be an error, never a crash.
  for (size_t len = 0; len + 1 < good.size(); len += 7) {
    auto info = Parse(good.substr(0, len));
    EXPECT_FALSE(info.ok()) << "accepted a file truncated to " << len << " bytes";
  }
}

TEST(GgufTest, RejectsHugeCountsWithoutAllocating) {
  GgufWriter kv;
  kv.Magic().U32(3).U64(0).U64(UINT64_MAX);
  ExpectRejected(kv.bytes(), "metadata count");
  GgufWriter tensors;
  tensors.Magic().U32(3).U64(1ull << 60).U64(0);
  ExpectRejected(tensors.bytes(), "tensor count");
  GgufWriter array;
  array.Magic().U32(3).U64(0).U64(1).Str("a").U32(9).U32(8).U64(1ull << 62);
  ExpectRejected(array.bytes(), "array elements");
  GgufWriter str;
  str.Magic().U32(3).U64(0).U64(1).Str("k").U32(8).U64(UINT64_MAX);
  ExpectRejected(str.bytes(), "truncated");
}

TEST(GgufTest, RejectsNonUtf8Strings) {
  GgufWriter w;
  w.Magic().U32(3).U64(0).U64(1).KvString("general.name", std::string("bad\xff\xfe", 5));
  ExpectRejected(w.bytes(), "not valid UTF-8");
  GgufWriter key;
  key.Magic().U32(3).U64(0).U64(1).KvString(std::string("k\xc0\x80", 3), "v");
  ExpectRejected(key.bytes(), "not valid UTF-8");
}

TEST(GgufTest, RejectsUnknownTypes) {
  GgufWriter w;
  w.Magic().U32(3).U64(0).U64(1).Str("k").U32(99).U32(0);
  ExpectRejected(w.bytes(), "unknown type 99");
  GgufWriter t;
  t.Magic().U32(3).U64(1).U64(0).Tensor("x", {32}, 200, 0).Align().Zeros(512);
  ExpectRejected(t.bytes(), "unknown ggml type 200");
}

TEST(GgufTest, RejectsOutOfRangeAndOverlappingTensors) {
  GgufWriter out;
  out.Magic().U32(3).U64(1).U64(0).Tensor("w", {8}, 0, 0).Align().Zeros(16);
  ExpectRejected(out.bytes(), "outside");
  GgufWriter far;
  far.Magic().U32(3).U64(1).U64(0).Tensor("w", {8}, 0, 1ull << 40).Align().Zeros(64);
  ExpectRejected(far.bytes(), "outside");
  GgufWriter wrap;  // offset + size wraps around 2^64
  wrap.Magic().U32(3).U64(1).U64(0).Tensor("w", {8}, 0, UINT64_MAX - 31).Align().Zeros(64);
  ExpectRejected(wrap.bytes(), "outside");
  GgufWriter overlap;
  overlap.Magic().U32(3).U64(2).U64(0);
  overlap.Tensor("a", {16}, 0, 0).Tensor("b", {16}, 0, 32).Align().Zeros(128);
  ExpectRejected(overlap.bytes(), "overlap");
  GgufWriter misaligned;
  misaligned.Magic().U32(3).U64(1).U64(0).Tensor("w", {8}, 0, 4).Align().Zeros(64);
  ExpectRejected(misaligned.bytes(), "not aligned");
}

TEST(GgufTest, RejectsOverflowingDims) {
  GgufWriter w;
  w.Magic().U32(3).U64(1).U64(0).Tensor("w", {1ull << 40, 1ull << 40}, 0, 0).Align().Zeros(64);
  ExpectRejected(w.bytes(), "overflows");
  GgufWriter dims;
  dims.Magic().U32(3).U64(1).U64(0).Str("w").U32(9).Zeros(64);
  ExpectRejected(dims.bytes(), "dimensions");
}

TEST(GgufTest, RejectsDeeplyNestedArrays) {
  GgufWriter w;
  w.Magic().U32(3).U64(0).U64(1).Str("nest").U32(9);
  for (int i = 0; i < 10; ++i) w.U32(9).U64(1);
  w.U32(0).U64(1).U8(1);
  ExpectRejected(w.bytes(), "nests arrays");
}

TEST(GgufTest, RejectsBadAlignment) {
  GgufWriter w;
  w.Magic().U32(3).U64(0).U64(1).KvU32("general.alignment", 24);
  ExpectRejected(w.bytes(), "power of two");
}

TEST(GgufTest, QuantizedTensorSizes) {
  // Q4_K: 256 elements per 144-byte block.
  GgufWriter w;
  w.Magic().U32(3).U64(1).U64(0).Tensor("q", {512, 2}, 12, 0).Align().Zeros(4 * 144);
  auto info = Parse(w.bytes());
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->tensors[0].nbytes, 4u * 144u);
  EXPECT_EQ(info->parameter_count, 1024u);
  GgufWriter bad_row;
  bad_row.Magic().U32(3).U64(1).U64(0).Tensor("q", {100}, 12, 0).Align().Zeros(1024);
  ExpectRejected(bad_row.bytes(), "block size");
}

}  // namespace
}  // namespace steward::registry
