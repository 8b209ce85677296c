#include "stages/rate_limit/rate_limiter.h"

namespace steward::stages {

RateLimiter::KeyState& RateLimiter::StateFor(Shard& shard, const std::string& key, int64_t rpm, int64_t tpm,
                                             int64_t now_ns) {
  auto& st = shard.keys[key];
  // A changed limit (key edited, config reloaded) starts a fresh bucket.
  if (st.rpm != rpm) {
    st.requests = identity::TokenBucket(static_cast<double>(rpm), now_ns);
    st.rpm = rpm;
  }
  if (st.tpm != tpm) {
    st.tokens = identity::TokenBucket(static_cast<double>(tpm), now_ns);
    st.tpm = tpm;
  }
  return st;
}

RateLimiter::Decision RateLimiter::Admit(const std::string& key, int64_t rpm, int64_t tpm, int64_t now_ns) {
  if (rpm <= 0 && tpm <= 0) return {};
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  KeyState& st = StateFor(shard, key, rpm, tpm, now_ns);
  if (tpm > 0) {
    int64_t wait = st.tokens.WaitNs(now_ns);
    if (wait > 0) return {false, (wait + 999'999) / 1'000'000, "tpm"};
  }
  if (rpm > 0) {
    int64_t wait = st.requests.TryTake(1, now_ns);
    if (wait > 0) return {false, (wait + 999'999) / 1'000'000, "rpm"};
  }
  return {};
}

void RateLimiter::ChargeTokens(const std::string& key, int64_t tpm, int64_t tokens, int64_t now_ns) {
  if (tpm <= 0 || tokens <= 0) return;
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.keys.find(key);
  if (it == shard.keys.end() || it->second.tpm != tpm) return;
  it->second.tokens.Charge(static_cast<double>(tokens), now_ns);
}

}  // namespace steward::stages
