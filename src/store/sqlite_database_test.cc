#include "store/sqlite_database.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace steward::store {
namespace {

class SqliteDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("steward_store_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    auto db = OpenDatabase((dir_ / "t.db").string());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(SqliteDatabaseTest, MigrationsApplyOnceInOrder) {
  std::vector<Migration> m = {
      {"t", 1, "CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT)"},
      {"t", 2, "ALTER TABLE kv ADD COLUMN note TEXT"},
  };
  ASSERT_TRUE(db_->Migrate(m).ok());
  ASSERT_TRUE(db_->Migrate(m).ok());  // idempotent
  ASSERT_TRUE(db_->Exec("INSERT INTO kv(k, v, note) VALUES ($1, $2, $3)", {std::string("a"), int64_t{7}, std::monostate{}}).ok());
  auto rows = db_->Query("SELECT k, v, note FROM kv WHERE k = $1", {std::string("a")});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].Text(0), "a");
  EXPECT_EQ((*rows)[0].Int(1), 7);
  EXPECT_TRUE((*rows)[0].IsNull(2));
}

TEST_F(SqliteDatabaseTest, BadMigrationNamesItself) {
  Status s = db_->Migrate({{"broken", 1, "CREATE TABLE ("}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("migration broken/1"), std::string::npos) << s.message();
}

TEST_F(SqliteDatabaseTest, TransactionRollsBackUnlessCommitted) {
  ASSERT_TRUE(db_->Migrate({{"t", 1, "CREATE TABLE x (v BIGINT)"}}).ok());
  {
    auto tx = db_->Begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->Exec("INSERT INTO x VALUES ($1)", {int64_t{1}}).ok());
  }
  {
    auto tx = db_->Begin();
    ASSERT_TRUE((*tx)->Exec("INSERT INTO x VALUES ($1)", {int64_t{2}}).ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  auto rows = db_->Query("SELECT v FROM x");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].Int(0), 2);
}

TEST_F(SqliteDatabaseTest, BlobsRoundTripBinary) {
  ASSERT_TRUE(db_->Migrate({{"t", 1, "CREATE TABLE b (v BLOB)"}}).ok());
  std::string bytes("\0\xff\x01", 3);
  ASSERT_TRUE(db_->Exec("INSERT INTO b VALUES ($1)", {Blob{bytes}}).ok());
  auto rows = db_->Query("SELECT v FROM b");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].Text(0), bytes);
}

TEST_F(SqliteDatabaseTest, ParameterCountMismatchIsAnError) {
  ASSERT_TRUE(db_->Migrate({{"t", 1, "CREATE TABLE y (v BIGINT)"}}).ok());
  Status s = db_->Exec("INSERT INTO y VALUES ($1)", {});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace steward::store

namespace steward::store {
namespace {

TEST_F(SqliteDatabaseTest, CommittedTransactionReleasesTheConnection) {
  ASSERT_TRUE(db_->Migrate({{"t", 1, "CREATE TABLE z (v BIGINT)"}}).ok());
  auto tx = db_->Begin();
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE((*tx)->Exec("INSERT INTO z VALUES ($1)", {int64_t{1}}).ok());
  ASSERT_TRUE((*tx)->Commit().ok());
  // Still in scope: the database must be usable (this deadlocked once).
  auto rows = db_->Query("SELECT v FROM z");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 1u);
  EXPECT_EQ((*tx)->Exec("INSERT INTO z VALUES ($1)", {int64_t{2}}).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace steward::store

namespace steward::store {
namespace {

TEST_F(SqliteDatabaseTest, ParametersBindByNumberNotByAppearance) {
  ASSERT_TRUE(db_->Migrate({{"t", 1, "CREATE TABLE p (id TEXT PRIMARY KEY, a BIGINT, b TEXT)"}}).ok());
  ASSERT_TRUE(db_->Exec("INSERT INTO p(id, a, b) VALUES ($1, $2, $3)", {std::string("k"), int64_t{1}, std::string("x")}).ok());
  ASSERT_TRUE(db_->Exec("UPDATE p SET b = $3, a = $2 WHERE id = $1", {std::string("k"), int64_t{7}, std::string("y")}).ok());
  auto rows = db_->Query("SELECT a, b FROM p WHERE id = $1", {std::string("k")});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].Int(0), 7);
  EXPECT_EQ((*rows)[0].Text(1), "y");
  // A repeated parameter counts once.
  auto same = db_->Query("SELECT $1 || $1", {std::string("ab")});
  ASSERT_TRUE(same.ok());
  EXPECT_EQ((*same)[0].Text(0), "abab");
}

}  // namespace
}  // namespace steward::store
