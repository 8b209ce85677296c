#include "audit/log_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "audit/canonical_json.h"
#include "steward/admin_events.h"

namespace steward::audit {
namespace {

class LogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("audit_store_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto db = OpenDatabase("sqlite:" + (dir_ / "steward.db").string());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Migrate(AuditMigrations()).ok());
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(LogStoreTest, AppendsMatchMemoryTreeAndProofsComeFromStore) {
  MemoryTree mem;
  int64_t next = 0;
  for (int batch = 0; batch < 20; ++batch) {
    std::vector<LeafToAppend> leaves;
    for (int i = 0; i < batch * 7 + 1; ++i) {
      LeafToAppend l;
      l.leaf = "{\"n\":" + std::to_string(next + i) + "}";
      l.kind = "test";
      leaves.push_back(l);
      mem.Append(LeafHash(l.leaf));
    }
    auto first = AppendLeaves(*db_, leaves, nullptr);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_EQ(*first, next);
    next += static_cast<int64_t>(leaves.size());
  }
  EXPECT_EQ(*StoredTreeSize(Sql(db_.get())), next);
  StoreSubtreeSource source{Sql(db_.get())};
  EXPECT_EQ(*RangeHash(source, 0, next), mem.Root());
  for (int64_t idx : {int64_t{0}, int64_t{5}, next / 2, next - 1}) {
    EXPECT_EQ(*InclusionProof(source, idx, next), *InclusionProof(mem, idx, next));
  }
  EXPECT_EQ(*ConsistencyProof(source, 13, next), *ConsistencyProof(mem, 13, next));
}

TEST_F(LogStoreTest, RecordAdminEventAppendsCanonicalRecord) {
  AdminEvent e;
  e.action = "keys.create";
  e.actor = "cli:test";
  e.target = "key_123";
  e.details["role"] = "admin";
  auto i0 = RecordAdminEvent(*db_, dir_.string(), e);
  ASSERT_TRUE(i0.ok()) << i0.status().ToString();
  EXPECT_EQ(*i0, 0);
  auto i1 = RecordAdminEvent(*db_, dir_.string(), e);
  ASSERT_TRUE(i1.ok());
  EXPECT_EQ(*i1, 1);
  auto rows = db_->Query("SELECT leaf FROM audit_leaves WHERE idx = 0");
  ASSERT_TRUE(rows.ok());
  auto parsed = ParseCanonicalJson(rows->at(0).Text(0));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->at("action").as_string(), "keys.create");
  EXPECT_EQ(parsed->at("kind").as_string(), "admin");
  AdminEvent bad;
  EXPECT_FALSE(RecordAdminEvent(*db_, dir_.string(), bad).ok());
}

}  // namespace
}  // namespace steward::audit
