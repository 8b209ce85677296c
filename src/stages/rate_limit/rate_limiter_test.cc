#include "stages/rate_limit/rate_limiter.h"

#include <gtest/gtest.h>

namespace steward::stages {
namespace {

constexpr int64_t kSec = 1'000'000'000;

TEST(RateLimiterTest, RequestsPerMinute) {
  RateLimiter rl;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(rl.Admit("k", 3, 0, 0).allowed);
  auto d = rl.Admit("k", 3, 0, 0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit, "rpm");
  EXPECT_EQ(d.retry_after_ms, 20'000);
  EXPECT_TRUE(rl.Admit("other", 3, 0, 0).allowed);  // keys are independent
  EXPECT_TRUE(rl.Admit("k", 3, 0, 20 * kSec).allowed);
}

TEST(RateLimiterTest, TokensChargedAfterwardsBlockUntilRepaid) {
  RateLimiter rl;
  EXPECT_TRUE(rl.Admit("k", 0, 600, 0).allowed);
  rl.ChargeTokens("k", 600, 900, 0);  // 300 over budget
  auto d = rl.Admit("k", 0, 600, 0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit, "tpm");
  EXPECT_NEAR(d.retry_after_ms, 30'100, 5);
  EXPECT_TRUE(rl.Admit("k", 0, 600, 31 * kSec).allowed);
}

TEST(RateLimiterTest, UnlimitedWhenZero) {
  RateLimiter rl;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(rl.Admit("k", 0, 0, 0).allowed);
}

}  // namespace
}  // namespace steward::stages
