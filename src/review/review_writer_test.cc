#include "review/review_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>

namespace steward::review {
namespace {

class ReviewWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("steward-review-writer-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    auto db = OpenDatabase("sqlite:" + (dir_ / "steward.db").string());
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
    queue_ = std::make_unique<ReviewQueue>(*db_, clock_, ReviewOptions{});
    ASSERT_TRUE(queue_->Init().ok());
  }
  void TearDown() override {
    queue_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  Review Prepared(const std::string& request_id) {
    NewReview in;
    in.key_id = "key_a";
    in.request_hash = std::string(64, 'a');
    in.request_id = request_id;
    auto r = queue_->Prepare(in);
    EXPECT_TRUE(r.ok());
    return *r;
  }
  static Status Await(Barrier& b) {
    std::promise<Status> done;
    b.Wait([&done](Status s) { done.set_value(std::move(s)); });
    return done.get_future().get();
  }
  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<ReviewQueue> queue_;
};

TEST_F(ReviewWriterTest, PrepareTouchesNoStore) {
  Review r = Prepared("req_1");
  EXPECT_EQ(r.id.rfind("rev_", 0), 0u);
  EXPECT_EQ(r.status, "pending");
  EXPECT_EQ(queue_->Get(r.id).status().code(), StatusCode::kNotFound);
  NewReview no_hash;
  EXPECT_EQ(queue_->Prepare(no_hash).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ReviewWriterTest, EveryQueuedReviewIsStoredBeforeItsBarrierCompletes) {
  std::atomic<int> stored{0};
  ReviewWriter writer(*queue_, [&stored] { ++stored; });
  std::vector<std::string> ids;
  std::vector<std::shared_ptr<Barrier>> barriers;
  for (int i = 0; i < 50; ++i) {
    Review r = Prepared("req_" + std::to_string(i));
    ids.push_back(r.id);
    barriers.push_back(writer.Enqueue(std::move(r)));
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(Await(*barriers[i]).ok());
    auto got = queue_->Get(ids[i]);
    ASSERT_TRUE(got.ok()) << ids[i];
    EXPECT_EQ(got->request_id, "req_" + std::to_string(i));
  }
  EXPECT_EQ(stored.load(), 50);
  // Waiting again on a completed barrier answers at once, with the same result.
  EXPECT_TRUE(Await(*barriers[0]).ok());
}

TEST_F(ReviewWriterTest, OneRowTheStoreRefusesFailsOnlyItsOwnBarrier) {
  // Rows for request "req_bad" are refused; the others of the same batch
  // must still be stored.
  ASSERT_TRUE(db_->Exec("CREATE TRIGGER refuse_bad BEFORE INSERT ON reviews "
                        "WHEN NEW.request_id = 'req_bad' "
                        "BEGIN SELECT RAISE(ABORT, 'refused (test)'); END")
                  .ok());
  std::vector<std::shared_ptr<Barrier>> barriers;
  std::vector<std::string> ids;
  {
    ReviewWriter writer(*queue_);
    for (const char* rid : {"req_1", "req_bad", "req_2", "req_bad", "req_3"}) {
      Review r = Prepared(rid);
      ids.push_back(r.id);
      barriers.push_back(writer.Enqueue(std::move(r)));
    }
  }  // the destructor stores what is queued before it stops
  for (size_t i = 0; i < ids.size(); ++i) {
    Status s = Await(*barriers[i]);
    const bool bad = i == 1 || i == 3;
    EXPECT_EQ(s.ok(), !bad) << i << " " << s.message();
    EXPECT_EQ(queue_->Get(ids[i]).ok(), !bad) << i;
    if (bad) {
      EXPECT_NE(s.message().find(ids[i] + " was not stored"), std::string::npos) << s.message();
    }
  }
}

}  // namespace
}  // namespace steward::review
