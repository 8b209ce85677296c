// Enforces the rate obligations of policy rules: `limit("rpm", N)` and
// `limit("tpm", N)`. Each (rule id, caller) pair has its own token buckets,
// so a rule that limits a team or a model to N requests per minute counts
// exactly the calls that rule applied to, independently of the key's own
// limits (the rate_limit stage) and of other rules.
//
// Tokens: at admission the prompt estimate is taken from the tokens bucket;
// when the call finishes, the difference between the actual usage and that
// estimate is charged (or refunded). Thread-safe, sharded by bucket key.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "identity/token_bucket.h"

namespace steward::stages {

class PolicyLimiter {
 public:
  struct Limit {
    std::string rule_id;  // the rule whose limit applies (the smallest one)
    int64_t per_minute = 0;
  };
  struct Admission {
    bool allowed = true;
    std::string limit;  // "rpm" | "tpm" when refused
    int64_t retry_after_ns = 0;
  };

  // Takes one request from the rpm bucket and `prompt_tokens` from the tpm
  // bucket of `caller`. A limit with per_minute <= 0 is off. When refused,
  // nothing is taken.
  Admission Admit(const std::string& caller, const Limit& rpm, const Limit& tpm,
                  int64_t prompt_tokens, int64_t now_ns);
  // Charges `delta` more tokens (negative: a refund) to the tpm bucket.
  void ChargeTokens(const std::string& caller, const Limit& tpm, int64_t delta, int64_t now_ns);

  size_t bucket_count();  // for tests

 private:
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, identity::TokenBucket> buckets;
  };
  static std::string BucketKey(const std::string& kind, const Limit& limit,
                               const std::string& caller);
  identity::TokenBucket& BucketFor(Shard& shard, const std::string& key, int64_t per_minute,
                                   int64_t now_ns);
  Shard& ShardFor(const std::string& key) {
    return shards_[std::hash<std::string>{}(key) % shards_.size()];
  }
  std::array<Shard, 16> shards_;
};

}  // namespace steward::stages
