#include "identity/token_bucket.h"

#include <gtest/gtest.h>

namespace steward::identity {
namespace {

constexpr int64_t kSec = 1'000'000'000;

TEST(TokenBucketTest, AllowsBurstThenRefillsPerSecond) {
  TokenBucket b(60, 0);  // one per second
  for (int i = 0; i < 60; ++i) EXPECT_EQ(b.TryTake(1, 0), 0) << i;
  int64_t wait = b.TryTake(1, 0);
  EXPECT_GT(wait, 0);
  EXPECT_LE(wait, kSec);
  EXPECT_GT(b.TryTake(1, kSec / 2), 0);
  EXPECT_EQ(b.TryTake(1, kSec), 0);
}

TEST(TokenBucketTest, ChargeCanGoNegativeAndDelaysNextCall) {
  TokenBucket b(600, 0);  // ten per second
  b.Charge(1200, 0);      // a reply that used twice the minute's budget
  EXPECT_NEAR(b.tokens(), -600, 1e-6);
  int64_t wait = b.WaitNs(0);
  EXPECT_NEAR(static_cast<double>(wait) / kSec, 60.1, 0.01);
  EXPECT_EQ(b.WaitNs(61 * kSec), 0);
}

TEST(TokenBucketTest, NeverExceedsCapacity) {
  TokenBucket b(10, 0);
  b.TryTake(5, 0);
  (void)b.WaitNs(3600 * kSec);
  EXPECT_DOUBLE_EQ(b.tokens(), 10);
}

}  // namespace
}  // namespace steward::identity
