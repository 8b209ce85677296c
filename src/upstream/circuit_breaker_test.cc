#include "upstream/circuit_breaker.h"

#include <gtest/gtest.h>

namespace steward::upstream {
namespace {

TEST(CircuitBreakerTest, OpensAfterThresholdAndProbesAfterCooldown) {
  FakeClock clock;
  CircuitBreaker b({.failure_threshold = 3, .open_ms = 1000, .half_open_probes = 1}, clock);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(b.Allow());
    b.OnFailure();
  }
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
  ASSERT_TRUE(b.Allow());
  b.OnFailure();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(b.Allow());
  EXPECT_EQ(b.RetryAfterMs(), 1000);
  clock.AdvanceMs(999);
  EXPECT_FALSE(b.Allow());
  clock.AdvanceMs(1);
  EXPECT_TRUE(b.Allow());   // the probe
  EXPECT_FALSE(b.Allow());  // only one probe at a time
  EXPECT_EQ(b.state(), CircuitBreaker::State::kHalfOpen);
  b.OnSuccess();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(b.Allow());
}

TEST(CircuitBreakerTest, FailedProbeReopens) {
  FakeClock clock;
  CircuitBreaker b({.failure_threshold = 1, .open_ms = 500, .half_open_probes = 1}, clock);
  b.OnFailure();
  clock.AdvanceMs(500);
  ASSERT_TRUE(b.Allow());
  b.OnFailure();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(b.Allow());
}

TEST(CircuitBreakerTest, SuccessResetsConsecutiveCount) {
  FakeClock clock;
  CircuitBreaker b({.failure_threshold = 2, .open_ms = 500, .half_open_probes = 1}, clock);
  b.OnFailure();
  b.OnSuccess();
  b.OnFailure();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
}

}  // namespace
}  // namespace steward::upstream
