// Payload retention: payload texts past their data class's retention are
// shredded (ciphertext deleted, shredded_ms set). Leaves, hashes, tree nodes
// and signed heads are never touched, so every proof stays valid.
#pragma once

#include <cstdint>

#include "audit/options.h"
#include "steward/store.h"

namespace steward::audit {

// Returns how many payload parts were shredded.
Result<int64_t> ShredExpiredPayloads(Database& db, const RetentionPolicy& policy, int64_t now_ms);

}  // namespace steward::audit
