// A token bucket: capacity `per_minute`, refilled continuously at
// per_minute/60 tokens per second. Not thread-safe (RateLimiter locks).
#pragma once

#include <cstdint>

namespace steward::identity {

class TokenBucket {
 public:
  TokenBucket() = default;
  TokenBucket(double per_minute, int64_t now_ns) : capacity_(per_minute), tokens_(per_minute), last_ns_(now_ns) {}

  // Takes `n` tokens if the bucket holds at least min(n, capacity);
  // otherwise returns the nanoseconds until it will.
  int64_t TryTake(double n, int64_t now_ns);
  // Takes `n` tokens unconditionally (the bucket may go negative: usage
  // reported after the fact is charged in full).
  void Charge(double n, int64_t now_ns);
  // Nanoseconds until the bucket holds at least one token (0 if it does).
  int64_t WaitNs(int64_t now_ns);
  double tokens() const { return tokens_; }
  void SetCapacity(double per_minute) { capacity_ = per_minute; }

 private:
  void Refill(int64_t now_ns);
  double capacity_ = 0;
  double tokens_ = 0;
  int64_t last_ns_ = 0;
};

}  // namespace steward::identity
