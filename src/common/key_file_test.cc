#include "common/key_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

namespace steward {
namespace {

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("steward_key_file_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  size_t FilesInDir() const {
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir_),
                                             std::filesystem::directory_iterator()));
  }
  std::filesystem::path dir_;
};

TEST_F(KeyFileTest, CreatesOnceThenReadsTheSameKey) {
  auto first = LoadOrCreateKeyFile(Path("k"), 32, true);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->size(), 32u);
  auto again = LoadOrCreateKeyFile(Path("k"), 32, true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);
  struct stat st {};
  ASSERT_EQ(::stat(Path("k").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(FilesInDir(), 1u);  // nothing left aside
}

TEST_F(KeyFileTest, MissingWithoutCreateIsNotFound) {
  auto r = LoadOrCreateKeyFile(Path("absent"), 32, false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not exist"), std::string::npos);
}

// Two processes starting on a fresh data dir (`steward keys create` beside
// a starting `serve`) must end up with one key: every racer gets the key
// that was published, none reads a half-written file.
TEST_F(KeyFileTest, ConcurrentCreatorsAllGetThePublishedKey) {
  constexpr int kRounds = 50, kRacers = 8;
  for (int round = 0; round < kRounds; ++round) {
    const std::string path = Path("race" + std::to_string(round));
    std::vector<Result<std::string>> keys(kRacers, Internal("not run"));
    std::vector<std::thread> threads;
    for (int i = 0; i < kRacers; ++i) {
      threads.emplace_back([&, i] { keys[i] = LoadOrCreateKeyFile(path, 32, true); });
    }
    for (auto& t : threads) t.join();
    std::set<std::string> distinct;
    for (const auto& k : keys) {
      ASSERT_TRUE(k.ok()) << "round " << round << ": " << k.status().ToString();
      distinct.insert(*k);
    }
    EXPECT_EQ(distinct.size(), 1u) << "round " << round;
    auto on_disk = LoadOrCreateKeyFile(path, 32, false);
    ASSERT_TRUE(on_disk.ok());
    EXPECT_EQ(*on_disk, *distinct.begin());
  }
  EXPECT_EQ(FilesInDir(), static_cast<size_t>(kRounds));
}

TEST_F(KeyFileTest, PublishNewFileNeverReplaces) {
  auto first = PublishNewFile(Path("f"), "one\n");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(*first);
  auto second = PublishNewFile(Path("f"), "two\n");
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  std::ifstream in(Path("f"));
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "one");
  EXPECT_EQ(FilesInDir(), 1u);
}

TEST_F(KeyFileTest, PublishIntoMissingDirectoryNamesThePath) {
  auto r = PublishNewFile(Path("no/such/dir/f"), "x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no/such/dir"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace steward
