// Per-key request and token limits: two token buckets per key (requests per
// minute, tokens per minute). A request is admitted when its key has a
// request token and a non-negative token balance; the tokens a reply used
// (from the upstream's `usage`, or estimated for streams without it) are
// charged afterwards. Thread-safe, sharded by key.
#pragma once

#include <array>
#include <mutex>
#include <string>
#include <unordered_map>

#include "identity/token_bucket.h"

namespace steward::stages {

class RateLimiter {
 public:
  struct Decision {
    bool allowed = true;
    int64_t retry_after_ms = 0;
    std::string limit;  // "rpm" | "tpm"
  };

  // rpm/tpm <= 0: that limit is off.
  Decision Admit(const std::string& key, int64_t rpm, int64_t tpm, int64_t now_ns);
  void ChargeTokens(const std::string& key, int64_t tpm, int64_t tokens, int64_t now_ns);

 private:
  struct KeyState {
    identity::TokenBucket requests;
    identity::TokenBucket tokens;
    int64_t rpm = -1;
    int64_t tpm = -1;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, KeyState> keys;
  };
  KeyState& StateFor(Shard& shard, const std::string& key, int64_t rpm, int64_t tpm, int64_t now_ns);
  Shard& ShardFor(const std::string& key) { return shards_[std::hash<std::string>{}(key) % shards_.size()]; }
  std::array<Shard, 16> shards_;
};

}  // namespace steward::stages
