#include "registry/hash.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/strings.h"
#include "registry/testing/model_files.h"

namespace steward::registry {
namespace {

using testing::MakeTempDir;
using testing::WriteFile;

class HashTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir("steward-hash"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(HashTest, FileDigestMatchesOneShotSha256) {
  // Larger than one 4 MiB read so the streaming loop runs more than once.
  std::string data(9u << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 131) ^ (i >> 9));
  ASSERT_TRUE(WriteFile(dir_ + "/big.bin", data));
  uint64_t size = 0;
  uint64_t last_progress = 0;
  auto digest =
      Sha256File(dir_ + "/big.bin", &size, [&](uint64_t done, uint64_t) { last_progress = done; });
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();
  EXPECT_EQ(*digest, Sha256Hex(data));
  EXPECT_EQ(size, data.size());
  EXPECT_EQ(last_progress, data.size());
}

TEST_F(HashTest, KnownVectorForAbc) {
  ASSERT_TRUE(WriteFile(dir_ + "/abc", "abc"));
  uint64_t size = 0;
  auto digest = Sha256File(dir_ + "/abc", &size);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(*digest, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(HashTest, MissingFileIsNotFound) {
  uint64_t size = 0;
  auto digest = Sha256File(dir_ + "/nope", &size);
  ASSERT_FALSE(digest.ok());
  EXPECT_EQ(digest.status().code(), StatusCode::kNotFound);
}

TEST_F(HashTest, ListsFilesSortedAndSkipsGitAndSignature) {
  ASSERT_TRUE(WriteFile(dir_ + "/b.bin", "b"));
  ASSERT_TRUE(WriteFile(dir_ + "/a/z.bin", "z"));
  ASSERT_TRUE(WriteFile(dir_ + "/a/c.bin", "c"));
  ASSERT_TRUE(WriteFile(dir_ + "/.git/HEAD", "ref"));
  ASSERT_TRUE(WriteFile(dir_ + "/model.sig", "{}"));
  auto files = ListModelFiles(dir_);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_EQ(files->size(), 3u);
  EXPECT_EQ((*files)[0].rel_path, "a/c.bin");
  EXPECT_EQ((*files)[1].rel_path, "a/z.bin");
  EXPECT_EQ((*files)[2].rel_path, "b.bin");
}

TEST_F(HashTest, SingleFileUsesItsName) {
  ASSERT_TRUE(WriteFile(dir_ + "/m.gguf", "x"));
  auto files = ListModelFiles(dir_ + "/m.gguf");
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].rel_path, "m.gguf");
}

TEST_F(HashTest, ManifestDigestIsShaOfSortedRawDigests) {
  ASSERT_TRUE(WriteFile(dir_ + "/b", "second"));
  ASSERT_TRUE(WriteFile(dir_ + "/a", "first"));
  auto files = ListModelFiles(dir_);
  ASSERT_TRUE(files.ok());
  auto digests = HashModelFiles(*files);
  ASSERT_TRUE(digests.ok());
  std::string expected = Sha256Hex(Sha256("first") + Sha256("second"));
  EXPECT_EQ(ManifestDigest(*digests), expected);
  // Order of the input does not matter: the manifest sorts by path.
  std::vector<FileDigest> reversed(digests->rbegin(), digests->rend());
  EXPECT_EQ(ManifestDigest(reversed), expected);
  // Changing one byte of one file changes the manifest.
  ASSERT_TRUE(WriteFile(dir_ + "/b", "secone"));
  auto changed = HashModelFiles(*files);
  ASSERT_TRUE(changed.ok());
  EXPECT_NE(ManifestDigest(*changed), expected);
}

TEST_F(HashTest, EmptyDirectoryIsAnError) {
  auto files = ListModelFiles(dir_);
  EXPECT_FALSE(files.ok());
}

}  // namespace
}  // namespace steward::registry
