#include "identity/key_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace steward::identity {
namespace {

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("steward_keys_" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = std::move(*OpenDatabase((dir_ / "s.db").string()));
    auto ks = KeyStore::Open(*db_, dir_.string(), clock_);
    ASSERT_TRUE(ks.ok()) << ks.status().ToString();
    keys_ = std::move(*ks);
  }
  void TearDown() override {
    keys_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  FakeClock clock_;
  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<KeyStore> keys_;
};

TEST_F(KeyStoreTest, CreateAuthenticateRevoke) {
  auto k = keys_->Create({.name = "app", .role = "user", .rpm = 10});
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(k->secret.rfind("sk-stw-", 0), 0u);
  auto who = keys_->Authenticate(k->secret);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->id, k->record.id);
  EXPECT_EQ(who->role, "user");
  EXPECT_EQ(who->rpm, 10);
  EXPECT_FALSE(keys_->Authenticate(k->secret + "x").ok());
  ASSERT_TRUE(keys_->Revoke(k->record.id).ok());
  EXPECT_FALSE(keys_->Authenticate(k->secret).ok());
  EXPECT_EQ(keys_->Revoke("key_nope").code(), StatusCode::kNotFound);
}

TEST_F(KeyStoreTest, SecretIsStoredOnlyAsKeyedHash) {
  auto k = keys_->Create({.name = "app"});
  ASSERT_TRUE(k.ok());
  auto rows = db_->Query("SELECT secret_hash, prefix FROM api_keys");
  ASSERT_TRUE(rows.ok());
  std::string hash = (*rows)[0].Text(0);
  EXPECT_EQ(hash.find(k->secret), std::string::npos);
  EXPECT_EQ(hash.size(), 64u);
  struct stat st;
  ASSERT_EQ(::stat((dir_ / "keys.pepper").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST_F(KeyStoreTest, SeesKeysCreatedByAnotherProcess) {
  // A second KeyStore on the same file stands in for the CLI.
  auto db2 = std::move(*OpenDatabase((dir_ / "s.db").string()));
  auto cli = std::move(*KeyStore::Open(*db2, dir_.string(), clock_));
  auto k = cli->Create({.name = "late"});
  ASSERT_TRUE(k.ok());
  clock_.AdvanceMs(KeyStore::kRefreshMs + 1);
  EXPECT_TRUE(keys_->Authenticate(k->secret).ok());
  ASSERT_TRUE(cli->Revoke(k->record.id).ok());
  clock_.AdvanceMs(KeyStore::kRefreshMs + 1);
  EXPECT_FALSE(keys_->Authenticate(k->secret).ok());
}

TEST_F(KeyStoreTest, RejectsBadSpecs) {
  EXPECT_EQ(keys_->Create({.name = ""}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(keys_->Create({.name = "a", .role = "Admin!"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(keys_->Create({.name = "a", .rpm = -1}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace steward::identity
