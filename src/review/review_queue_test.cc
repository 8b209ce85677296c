#include "review/review_queue.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "config/config.h"

namespace steward::review {
namespace {

class ReviewQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("steward-review-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    auto db = OpenDatabase("sqlite:" + (dir_ / "steward.db").string());
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_ = std::move(*db);
    ReviewOptions options;
    options.ttl_ms = 60'000;
    queue_ = std::make_unique<ReviewQueue>(*db_, clock_, options);
    ASSERT_TRUE(queue_->Init().ok());
  }
  void TearDown() override {
    queue_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  static NewReview Held(const std::string& key_id = "key_a", const std::string& hash = "h1") {
    NewReview n;
    n.key_id = key_id;
    n.key_name = "alice-app";
    n.role = "user";
    n.subject = "subj_pseudonym";
    n.model = "sim-small";
    n.endpoint = "chat.completions";
    n.reasons = {"needs-review"};
    n.message = "large transfers need a person";
    n.request_hash = hash;
    n.request_id = "req_1";
    return n;
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<ReviewQueue> queue_;
};

TEST_F(ReviewQueueTest, CreateStoresEveryFieldAndReadsBack) {
  auto r = queue_->Create(Held());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->id.rfind("rev_", 0), 0u);
  EXPECT_EQ(r->id.size(), 4u + 24u);
  auto got = queue_->Get(r->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, "pending");
  EXPECT_EQ(got->key_id, "key_a");
  EXPECT_EQ(got->key_name, "alice-app");
  EXPECT_EQ(got->subject, "subj_pseudonym");
  EXPECT_EQ(got->reasons, std::vector<std::string>{"needs-review"});
  EXPECT_EQ(got->message, "large transfers need a person");
  EXPECT_EQ(got->request_hash, "h1");
  EXPECT_EQ(got->request_id, "req_1");
  EXPECT_EQ(got->created_ms, clock_.NowUnixMs());
  EXPECT_EQ(got->expires_ms, clock_.NowUnixMs() + 60'000);
  EXPECT_EQ(queue_->Get("rev_nope").status().code(), StatusCode::kNotFound);
  auto second = queue_->Create(Held());
  ASSERT_TRUE(second.ok());
  EXPECT_NE(second->id, r->id);
  EXPECT_EQ(*queue_->CountPending(), 2);
}

TEST_F(ReviewQueueTest, ListFiltersByStatusNewestFirst) {
  auto a = queue_->Create(Held());
  clock_.AdvanceMs(10);
  auto b = queue_->Create(Held());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(queue_->Decide(a->id, false, "cli:rita", "no").ok());
  auto all = queue_->List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, b->id);
  auto pending = queue_->List("pending");
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].id, b->id);
  auto rejected = queue_->List("rejected");
  ASSERT_EQ(rejected->size(), 1u);
  EXPECT_EQ((*rejected)[0].id, a->id);
  EXPECT_EQ(queue_->List("maybe").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ReviewQueueTest, DecideOnlyOnceAndRecordsWhoAndWhy) {
  auto r = queue_->Create(Held());
  ASSERT_TRUE(r.ok());
  clock_.AdvanceMs(500);
  auto approved = queue_->Decide(r->id, true, "key:adm1", "checked with legal");
  ASSERT_TRUE(approved.ok()) << approved.status().message();
  EXPECT_EQ(approved->status, "approved");
  auto got = queue_->Get(r->id);
  EXPECT_EQ(got->decided_by, "key:adm1");
  EXPECT_EQ(got->decided_ms, clock_.NowUnixMs());
  EXPECT_EQ(got->note, "checked with legal");
  auto again = queue_->Decide(r->id, false, "key:adm2", "");
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("is approved (by key:adm1)"), std::string::npos)
      << again.status().message();
  EXPECT_EQ(queue_->Get(r->id)->status, "approved");
  EXPECT_EQ(queue_->Decide("rev_unknown", true, "x", "").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*queue_->CountPending(), 0);
}

TEST_F(ReviewQueueTest, PendingReviewsExpireAfterTheTtl) {
  auto r = queue_->Create(Held());
  ASSERT_TRUE(r.ok());
  clock_.AdvanceMs(59'999);
  EXPECT_EQ(queue_->Get(r->id)->status, "pending");
  EXPECT_EQ(*queue_->CountPending(), 1);
  clock_.AdvanceMs(1);
  EXPECT_EQ(queue_->Get(r->id)->status, "expired");
  EXPECT_EQ(*queue_->CountPending(), 0);
  auto late = queue_->Decide(r->id, true, "key:adm1", "");
  EXPECT_EQ(late.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(late.status().message().find("expired"), std::string::npos);
  EXPECT_EQ(*queue_->ExpireOverdue(), 1);
  EXPECT_EQ(queue_->List("expired")->size(), 1u);
  EXPECT_EQ(queue_->List("pending")->size(), 0u);
  auto redeem = queue_->Redeem(r->id, "key_a", "h1", "req_2");
  ASSERT_TRUE(redeem.ok());
  EXPECT_EQ(redeem->outcome, Redemption::Outcome::kRefused);
  EXPECT_NE(redeem->message.find("expired"), std::string::npos);
}

TEST_F(ReviewQueueTest, RedeemLetsOneIdenticalCallOfTheSameKeyThrough) {
  auto r = queue_->Create(Held("key_a", "hash_a"));
  ASSERT_TRUE(r.ok());
  using Outcome = Redemption::Outcome;
  auto pending = queue_->Redeem(r->id, "key_a", "hash_a", "req_2");
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->outcome, Outcome::kPending);
  ASSERT_TRUE(queue_->Decide(r->id, true, "key:adm1", "").ok());
  // Another key, another body, an unknown id: refused, and nothing used up.
  auto other_key = queue_->Redeem(r->id, "key_b", "hash_a", "req_3");
  EXPECT_EQ(other_key->outcome, Outcome::kRefused);
  EXPECT_NE(other_key->message.find("does not exist for this API key"), std::string::npos);
  auto other_body = queue_->Redeem(r->id, "key_a", "hash_b", "req_4");
  EXPECT_EQ(other_body->outcome, Outcome::kRefused);
  EXPECT_NE(other_body->message.find("differs"), std::string::npos);
  EXPECT_EQ(queue_->Redeem("rev_000", "key_a", "hash_a", "req_5")->outcome, Outcome::kRefused);
  EXPECT_EQ(queue_->Get(r->id)->status, "approved");

  // A call that used the approval but was not served gives it back; only
  // the call that holds it can.
  auto failed = queue_->Redeem(r->id, "key_a", "hash_a", "req_failed");
  ASSERT_EQ(failed->outcome, Outcome::kProceed);
  ASSERT_TRUE(queue_->Release(r->id, "req_other").ok());
  EXPECT_EQ(queue_->Get(r->id)->status, "used");
  ASSERT_TRUE(queue_->Release(r->id, "req_failed").ok());
  EXPECT_EQ(queue_->Get(r->id)->status, "approved");
  EXPECT_TRUE(queue_->Get(r->id)->used_request_id.empty());

  auto used = queue_->Redeem(r->id, "key_a", "hash_a", "req_6");
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(used->outcome, Outcome::kProceed);
  auto got = queue_->Get(r->id);
  EXPECT_EQ(got->status, "used");
  EXPECT_EQ(got->used_request_id, "req_6");
  auto twice = queue_->Redeem(r->id, "key_a", "hash_a", "req_7");
  EXPECT_EQ(twice->outcome, Outcome::kRefused);
  EXPECT_NE(twice->message.find("already used by request req_6"), std::string::npos);
}

// Two processes (the CLI and a gateway) or two workers race: one approval
// lets one call through, one review gets one decision.
TEST_F(ReviewQueueTest, ConcurrentRedeemsAndDecisionsOnTwoConnectionsTakeOneEach) {
  auto other_db = OpenDatabase("sqlite:" + (dir_ / "steward.db").string());
  ASSERT_TRUE(other_db.ok());
  ReviewQueue other(**other_db, clock_, queue_->options());
  for (int round = 0; round < 5; ++round) {
    auto r = queue_->Create(Held("key_a", "hash_a"));
    ASSERT_TRUE(r.ok());
    std::atomic<int> decided{0}, not_pending{0};
    std::vector<std::thread> deciders;
    for (int t = 0; t < 4; ++t) {
      deciders.emplace_back([&, t] {
        ReviewQueue& q = t % 2 ? other : *queue_;
        auto d = q.Decide(r->id, true, "key:adm" + std::to_string(t), "");
        if (d.ok()) ++decided;
        if (d.status().code() == StatusCode::kFailedPrecondition) ++not_pending;
      });
    }
    for (auto& t : deciders) t.join();
    EXPECT_EQ(decided.load(), 1);
    EXPECT_EQ(not_pending.load(), 3);

    std::atomic<int> proceeded{0}, refused{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 6; ++t) {
      callers.emplace_back([&, t] {
        ReviewQueue& q = t % 2 ? other : *queue_;
        auto x = q.Redeem(r->id, "key_a", "hash_a", "req_t" + std::to_string(t));
        ASSERT_TRUE(x.ok()) << x.status().message();
        if (x->outcome == Redemption::Outcome::kProceed) ++proceeded;
        if (x->outcome == Redemption::Outcome::kRefused) ++refused;
      });
    }
    for (auto& t : callers) t.join();
    EXPECT_EQ(proceeded.load(), 1);
    EXPECT_EQ(refused.load(), 5);
    EXPECT_EQ(queue_->Get(r->id)->status, "used");
  }
}

TEST_F(ReviewQueueTest, RejectedReviewsNameTheReviewerAndNote) {
  auto r = queue_->Create(Held());
  ASSERT_TRUE(queue_->Decide(r->id, false, "cli:rita", "contains customer data").ok());
  auto redeem = queue_->Redeem(r->id, "key_a", "h1", "req_2");
  EXPECT_EQ(redeem->outcome, Redemption::Outcome::kRejected);
  EXPECT_NE(redeem->message.find("rejected by cli:rita: contains customer data"), std::string::npos)
      << redeem->message;
  AdminEvent e = DecisionEvent(*queue_->Get(r->id), "cli:rita", {"cli:rita"});
  EXPECT_EQ(e.action, "review.reject");
  EXPECT_EQ(e.target, r->id);
  EXPECT_EQ(e.details.at("request_id").as_string(), "req_1");
  EXPECT_EQ(e.details.at("note").as_string(), "contains customer data");
}

TEST_F(ReviewQueueTest, JsonHasEveryFieldAndNullsForUndecided) {
  auto r = queue_->Create(Held());
  boost::json::object j = ReviewToJson(*r);
  EXPECT_EQ(j.at("review_id").as_string(), r->id);
  EXPECT_EQ(j.at("status").as_string(), "pending");
  EXPECT_TRUE(j.at("decided_by").is_null());
  EXPECT_TRUE(j.at("used_ms").is_null());
  EXPECT_EQ(j.at("reasons").as_array().size(), 1u);
}

TEST(ReviewOptionsTest, ReadsTtlAndRejectsBadValues) {
  auto ok = ReadReviewOptions("c.yaml", YAML::Load("review:\n  ttl_hours: 0.5\n"));
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->ttl_ms, 1'800'000);
  auto absent = ReadReviewOptions("c.yaml", YAML::Load("listen: 127.0.0.1:1\n"));
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(absent->ttl_ms, 24 * 3600 * 1000);
  auto zero = ReadReviewOptions("c.yaml", YAML::Load("review:\n  ttl_hours: 0\n"));
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("c.yaml:2:"), std::string::npos)
      << zero.status().message();
  auto unknown = ReadReviewOptions("c.yaml", YAML::Load("review:\n  ttl: 3\n"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown key `review.ttl`"), std::string::npos);
  EXPECT_FALSE(ReadReviewOptions("c.yaml", YAML::Load("review: [1]\n")).ok());
  EXPECT_FALSE(ReadReviewOptions("c.yaml", YAML::Load("review:\n  ttl_hours: soon\n")).ok());
}

}  // namespace
}  // namespace steward::review
