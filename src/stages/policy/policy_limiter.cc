#include "stages/policy/policy_limiter.h"

namespace steward::stages {

std::string PolicyLimiter::BucketKey(const std::string& kind, const Limit& limit,
                                     const std::string& caller) {
  // NUL separators: rule ids and key ids cannot contain one.
  std::string key;
  key.reserve(kind.size() + limit.rule_id.size() + caller.size() + 2);
  key += kind;
  key += '\0';
  key += limit.rule_id;
  key += '\0';
  key += caller;
  return key;
}

identity::TokenBucket& PolicyLimiter::BucketFor(Shard& shard, const std::string& key,
                                                int64_t per_minute, int64_t now_ns) {
  auto it = shard.buckets.find(key);
  if (it == shard.buckets.end()) {
    it = shard.buckets.emplace(key, identity::TokenBucket(static_cast<double>(per_minute), now_ns))
             .first;
  } else {
    // A reloaded bundle may have changed the rule's number.
    it->second.SetCapacity(static_cast<double>(per_minute));
  }
  return it->second;
}

PolicyLimiter::Admission PolicyLimiter::Admit(const std::string& caller, const Limit& rpm,
                                              const Limit& tpm, int64_t prompt_tokens,
                                              int64_t now_ns) {
  Admission out;
  identity::TokenBucket* requests = nullptr;
  std::unique_lock<std::mutex> rpm_lock;
  std::string rpm_key;
  if (rpm.per_minute > 0) {
    rpm_key = BucketKey("rpm", rpm, caller);
    Shard& shard = ShardFor(rpm_key);
    rpm_lock = std::unique_lock<std::mutex>(shard.mu);
    requests = &BucketFor(shard, rpm_key, rpm.per_minute, now_ns);
    if (int64_t wait = requests->TryTake(1, now_ns); wait > 0) {
      return {false, "rpm", wait};
    }
  }
  if (tpm.per_minute > 0) {
    std::string tpm_key = BucketKey("tpm", tpm, caller);
    Shard& shard = ShardFor(tpm_key);
    // Both buckets may live in one shard; never lock it twice.
    std::unique_lock<std::mutex> tpm_lock(shard.mu, std::defer_lock);
    if (!rpm_lock.owns_lock() || rpm_lock.mutex() != &shard.mu) tpm_lock.lock();
    identity::TokenBucket& tokens = BucketFor(shard, tpm_key, tpm.per_minute, now_ns);
    if (int64_t wait = tokens.TryTake(static_cast<double>(prompt_tokens), now_ns); wait > 0) {
      if (requests) requests->Charge(-1, now_ns);  // refused: give the request back
      return {false, "tpm", wait};
    }
  }
  return out;
}

void PolicyLimiter::ChargeTokens(const std::string& caller, const Limit& tpm, int64_t delta,
                                 int64_t now_ns) {
  if (tpm.per_minute <= 0 || delta == 0) return;
  std::string key = BucketKey("tpm", tpm, caller);
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  BucketFor(shard, key, tpm.per_minute, now_ns).Charge(static_cast<double>(delta), now_ns);
}

size_t PolicyLimiter::bucket_count() {
  size_t n = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    n += shard.buckets.size();
  }
  return n;
}

}  // namespace steward::stages
