#include "identity/token_bucket.h"

#include <algorithm>
#include <cmath>

namespace steward::identity {

void TokenBucket::Refill(int64_t now_ns) {
  if (now_ns <= last_ns_) return;
  double rate_per_ns = capacity_ / 60e9;
  tokens_ = std::min(capacity_, tokens_ + (now_ns - last_ns_) * rate_per_ns);
  last_ns_ = now_ns;
}

int64_t TokenBucket::TryTake(double n, int64_t now_ns) {
  Refill(now_ns);
  double need = std::min(n, capacity_);
  if (tokens_ >= need) {
    tokens_ -= n;
    return 0;
  }
  double rate_per_ns = capacity_ / 60e9;
  return static_cast<int64_t>(std::ceil((need - tokens_) / rate_per_ns));
}

void TokenBucket::Charge(double n, int64_t now_ns) {
  Refill(now_ns);
  tokens_ -= n;
}

int64_t TokenBucket::WaitNs(int64_t now_ns) {
  Refill(now_ns);
  if (tokens_ >= 1.0 || capacity_ <= 0) return 0;
  double rate_per_ns = capacity_ / 60e9;
  return static_cast<int64_t>(std::ceil((std::min(1.0, capacity_) - tokens_) / rate_per_ns));
}

}  // namespace steward::identity
